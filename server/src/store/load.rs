//! Loading the world: every object, account, help topic, flow and timer, and a
//! block of reserved ids for the objects game code will create.

use std::time::Instant;

use sea_orm::DatabaseConnection;
use tracing::info;

use super::{
    DbError, ensure_start_room, load_accounts, load_flows, load_help, load_objects, load_timers,
};
use crate::model::world::{Account, HelpEntry, Object, World};

/// Ids reserved from the database at a time.
pub const ID_BLOCK: i64 = 1000;

/// Loads the world from the database (making the start room the first time).
pub async fn load_world(db: &DatabaseConnection) -> Result<World, DbError> {
    let t0 = Instant::now();
    let start_room = ensure_start_room(db).await?;
    let mut world = World::new(start_room);
    world.first_start = super::ensure_first_start(db).await?;
    // Timed apart: reading the rows, and making objects of them (JSON
    // attributes, locks, indexes) — where a big world's start goes.
    let t_rows = Instant::now();
    let rows = load_objects(db).await?;
    let rows_ms = t_rows.elapsed().as_millis() as u64;
    let t_build = Instant::now();
    for m in rows {
        world.insert_loaded(Object::from(m));
    }
    let build_ms = t_build.elapsed().as_millis() as u64;
    for a in load_accounts(db).await? {
        world.accounts.insert(a.id, Account::from(&a));
    }
    for h in load_help(db).await? {
        world.help.insert(h.key.clone(), HelpEntry::from(h));
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
        object_rows_ms = rows_ms,
        objects_built_ms = build_ms,
        "world loaded"
    );
    Ok(world)
}
