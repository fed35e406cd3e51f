//! Loading the world: every object, account, help topic, flow and timer, and a
//! block of reserved ids for the objects game code will create.

use std::time::Instant;

use sea_orm::{DatabaseConnection, TransactionTrait};
use tracing::info;

use super::rows::ObjectBuilder;
use super::{
    DbError, count_objects, ensure_start_room, load_accounts, load_flows, load_help, load_timers,
    object,
};
use crate::model::world::{Account, HelpEntry, Object, World};

/// Ids reserved from the database at a time.
pub const ID_BLOCK: i64 = 1000;

/// Loads the world from the database (making the start room the first time).
pub async fn load_world(db: &DatabaseConnection) -> Result<World, DbError> {
    let t0 = Instant::now();
    let snapshot = load_object_snapshot(db).await?;
    load_rest(db, snapshot, t0).await
}

/// The world's objects as the database holds them now (one snapshot of
/// the table), the expensive half of a load: a reload's standby server
/// reads them while the old server still serves, then catches up
/// ([`catch_up`]) and loads the rest ([`load_rest`]) once it has stopped.
pub struct ObjectSnapshot {
    world: World,
    objects_ms: u64,
    built: std::time::Duration,
}

/// Reads every object (making the start room the first time).
pub async fn load_object_snapshot(db: &DatabaseConnection) -> Result<ObjectSnapshot, DbError> {
    let start_room = ensure_start_room(db).await?;
    let mut world = World::new(start_room);
    world.first_start = super::ensure_first_start(db).await?;
    let t_objects = Instant::now();
    let (world, built) = load_objects_into(db, world).await?;
    Ok(ObjectSnapshot {
        world,
        objects_ms: t_objects.elapsed().as_millis() as u64,
        built,
    })
}

/// Rows of objects read again at a time when catching up.
const CATCH_UP_PAGE: usize = 500;

/// Brings a snapshot up to date: each of `ids` (objects the old server
/// wrote, created or deleted since the snapshot) is read again, and put in
/// place of the loaded one, or taken out when its row is gone. How many
/// were read.
pub async fn catch_up(
    db: &DatabaseConnection,
    snapshot: &mut ObjectSnapshot,
    ids: &[i64],
) -> Result<usize, DbError> {
    read_again(db, &mut snapshot.world, ids).await
}

/// Reads `ids` again into `world` (see [`catch_up`]).
async fn read_again(
    db: &DatabaseConnection,
    world: &mut World,
    ids: &[i64],
) -> Result<usize, DbError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut objects = ObjectBuilder::default();
    let mut read = 0;
    for chunk in ids.chunks(CATCH_UP_PAGE) {
        let rows = object::Entity::find()
            .filter(object::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        let mut found = std::collections::HashSet::with_capacity(rows.len());
        for m in rows {
            found.insert(m.id);
            world.replace_loaded(objects.object(m));
            read += 1;
        }
        for id in chunk.iter().filter(|id| !found.contains(id)) {
            world.unload(*id);
        }
    }
    Ok(read)
}

/// After a caught-up load: the last character of an account made outside
/// the server while the snapshot was read (`tavern account create` writes
/// the account and its character itself) is not among the objects the old
/// server noted; each account's last character missing from the world is
/// read (normally none: a look-up per account, no query). How many were.
pub async fn read_missing_characters(
    db: &DatabaseConnection,
    world: &mut World,
) -> Result<usize, DbError> {
    let mut missing: Vec<i64> = world
        .accounts
        .values()
        .filter_map(|a| a.last_puppet)
        .filter(|&c| world.get(c).is_none())
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() {
        return Ok(0);
    }
    read_again(db, world, &missing).await
}

/// Everything else a world holds (accounts, help, flows, timers, channels,
/// ...) added to a snapshot of its objects, and a block of new ids.
pub async fn load_rest(
    db: &DatabaseConnection,
    snapshot: ObjectSnapshot,
    t0: Instant,
) -> Result<World, DbError> {
    let ObjectSnapshot {
        mut world,
        objects_ms,
        built: busy,
    } = snapshot;
    for a in load_accounts(db).await? {
        world.accounts.insert(a.id, Account::from(&a));
    }
    for h in load_help(db).await? {
        world.put_help(HelpEntry::from(h));
    }
    for w in super::load_retired(db).await? {
        world.insert_retired(w);
    }
    for p in super::load_stored_prototypes(db).await? {
        world.insert_loaded_prototype(p);
    }
    if let Some(bans) = super::get_config(db, crate::model::bans::BANS_KEY).await? {
        match serde_json::from_str(&bans) {
            Ok(b) => world.insert_loaded_bans(b),
            Err(e) => tracing::error!("the stored bans cannot be read ({e}); starting with none"),
        }
    }
    for row in load_flows(db).await? {
        if let Some(f) = super::rows::flow_from_row(&row) {
            world.flows.insert(row.name, f);
        }
    }
    for row in load_timers(db).await? {
        if let Some(t) = super::rows::timer_from_row(&row) {
            world.timers.insert_loaded(t);
        }
    }
    for row in super::load_channels(db).await? {
        match serde_json::from_str(&row.data) {
            Ok(rec) => world
                .channels
                .insert_loaded(crate::model::channels::Channel::from_record(row.id, rec)),
            Err(e) => tracing::error!(channel = %row.key, "a saved channel does not load: {e}"),
        }
    }
    for row in super::load_channel_subscribers(db).await? {
        if !world
            .channels
            .insert_loaded_subscription(row.channel_id, row.account_id, row.muted)
        {
            tracing::warn!(
                channel = row.channel_id,
                account = row.account_id,
                "a subscription to a channel that is gone is ignored"
            );
        }
    }
    for row in super::load_channel_lines(db).await? {
        world
            .channels
            .insert_loaded_line(crate::model::channels::ChannelLine {
                channel: row.channel_id,
                seq: row.seq.max(0) as u64,
                at: row.at,
                sender: row.sender,
                text: row.text,
                pose: row.pose,
            });
    }
    let first = super::reserve_ids(db, ID_BLOCK).await?;
    world.add_free_ids(first..first + ID_BLOCK);
    info!(
        objects = world.len(),
        accounts = world.accounts.len(),
        took_ms = t0.elapsed().as_millis() as u64,
        objects_ms,
        objects_built_ms = busy.as_millis() as u64,
        "world loaded"
    );
    Ok(world)
}

/// Rows of objects read at a time.
const PAGE: usize = 2000;
/// Pages read ahead of the thread that makes objects of them.
const PAGES_AHEAD: usize = 4;

/// What the world's thread is handed: rows to make objects of, or objects
/// made already.
enum Page {
    Rows(Vec<object::Model>),
    Objects(Vec<Object>),
}

/// Reads every object into `world`, a page at a time, in one read
/// transaction (one snapshot of the table), while a thread of its own puts
/// the pages before in the world (its tables and indexes), so that the
/// halves of a big world's load run side by side. Only a few pages are
/// ever held: the rows of a big world never sit in memory all at once.
/// SQLite in a file is read straight from it ([`super::sqlite_read`]);
/// otherwise the rows come through the pool, and the world's thread makes
/// the objects. Also how long the world's thread was busy.
async fn load_objects_into(
    db: &DatabaseConnection,
    mut world: World,
) -> Result<(World, std::time::Duration), DbError> {
    // Only a hint, to size the tables once.
    world.reserve_objects(usize::try_from(count_objects(db).await?).unwrap_or(0));
    let (pages, mut incoming) = tokio::sync::mpsc::channel::<Page>(PAGES_AHEAD);
    let builder = tokio::task::spawn_blocking(move || {
        let mut objects = ObjectBuilder::default();
        let mut busy = std::time::Duration::ZERO;
        while let Some(page) = incoming.blocking_recv() {
            let t = Instant::now();
            match page {
                Page::Rows(rows) => {
                    for m in rows {
                        world.insert_loaded(objects.object(m));
                    }
                }
                Page::Objects(made) => {
                    for o in made {
                        world.insert_loaded(o);
                    }
                }
            }
            busy += t.elapsed();
        }
        (world, busy)
    });
    let read = match super::sqlite_read::file_of(db) {
        Some(path) => {
            let pages = pages.clone();
            tokio::task::spawn_blocking(move || {
                super::sqlite_read::read_objects(&path, PAGE, |made| {
                    pages.blocking_send(Page::Objects(made)).is_ok()
                })
            })
            .await
            .map_err(|e| DbError::Db(sea_orm::DbErr::Custom(format!("reading objects: {e}"))))
            .and_then(|r| r.map_err(|e| DbError::Db(sea_orm::DbErr::Custom(e.to_string()))))
        }
        None => read_rows(db, &pages).await,
    };
    drop(pages);
    let built = match builder.await {
        Ok(built) => built,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => {
            return Err(DbError::Db(sea_orm::DbErr::Custom(format!(
                "the thread making the world's objects did not finish: {e}"
            ))));
        }
    };
    read?;
    Ok(built)
}

/// Every object's row through the pool, by id, in one transaction: a
/// stream, not pages, so that the database's side reads the next rows
/// while this task makes models of the last ones. (Making objects of them
/// here too was slower: this task is then the slowest of the three.)
async fn read_rows(
    db: &DatabaseConnection,
    pages: &tokio::sync::mpsc::Sender<Page>,
) -> Result<(), DbError> {
    use futures::TryStreamExt;
    use sea_orm::{EntityTrait, QueryOrder};
    let txn = db.begin().await?;
    {
        let mut rows = object::Entity::find()
            .order_by_asc(object::Column::Id)
            .stream(&txn)
            .await?;
        let mut page = Vec::with_capacity(PAGE);
        while let Some(m) = rows.try_next().await? {
            page.push(m);
            if page.len() == PAGE {
                let full = std::mem::replace(&mut page, Vec::with_capacity(PAGE));
                if pages.send(Page::Rows(full)).await.is_err() {
                    break;
                }
            }
        }
        if !page.is_empty() {
            let _ = pages.send(Page::Rows(page)).await;
        }
    }
    txn.commit().await?;
    Ok(())
}
