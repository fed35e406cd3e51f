//! The store: persistence through sea-orm, SQLite embedded by default,
//! PostgreSQL for scale — the tables and their migrations, the conversion
//! between the model's values and rows, loading the world, and the
//! write-behind [`persister`].
//!
//! The world lives in memory; this layer loads it, and writes changes in the
//! order they were made. Writes a player is told about are committed before
//! the telling (the runtime holds its output until then).
//!
//! **Must not import** the runtime, the commands, the test harnesses or
//! `Game`: only the model (`tests/layers.rs` checks).

pub mod entities;
mod load;
pub mod migration;
pub mod persister;
mod rows;
mod sqlite_read;
mod sqlite_write;
pub mod world_file;
mod writes;

use std::time::Duration;

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::model::locks::{character_locks, default_locks};
use crate::model::names::{name_key, normalize};
use crate::model::world::{Kind, Object};

pub use entities::{
    account, channel, channel_line, channel_subscriber, flow_instance, help_entry, object,
    server_config, timer,
};
pub use load::{
    ID_BLOCK, ObjectSnapshot, catch_up, load_object_snapshot, load_rest, load_world,
    read_missing_characters,
};
pub(crate) use rows::{attributes_column, attributes_text};
pub use rows::{flow_row, timer_row};
/// The database connection (pool) the store works on.
pub use sea_orm::DatabaseConnection as Db;

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database refused or could not be reached.
    #[error("database: {0}")]
    Db(#[from] DbErr),
    /// The persister's own SQLite connection refused.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Creating an account whose name (in any case) is taken.
    #[error("an account named '{0}' already exists")]
    NameTaken(String),
    /// A value in `server_config` that should be a number is not.
    #[error("corrupt server_config value for {0}")]
    Corrupt(&'static str),
    /// No account has that id.
    #[error("there is no account #{0}")]
    NoAccount(i64),
}

fn options(url: &str, max_connections: u32) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            // WAL lets readers run beside the writer; FULL makes every commit
            // durable before we tell anyone it happened.
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                // Statement journals (what a statement of a transaction
                // undoes if it fails halfway) in memory: on disk, a commit
                // of many rows created, wrote and closed a temporary file
                // each time. They play no part in what survives a crash.
                .pragma("temp_store", "memory")
                .create_if_missing(true)
        });
    opts
}

/// A connection of its own for the persister (one: its scripts and their
/// rollbacks go to the same connection). The schema is there already.
pub async fn connect_writer(url: &str) -> Result<DatabaseConnection, DbError> {
    open(url, 1).await
}

/// Opens a pool, trying again a few times (as the migrations are) when
/// SQLite answers "database is locked" at once. An ordinary lock held by
/// another process is waited out by the busy timeout; this was seen once
/// anyway, when `tavern account create` opened the file of a server that
/// was starting, and is not reproduced on demand.
async fn open(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbError> {
    let mut attempt = 0;
    loop {
        match Database::connect(options(url, max_connections)).await {
            Ok(db) => return Ok(db),
            Err(e) if attempt < 8 && e.to_string().contains("database is locked") => {
                attempt += 1;
                tracing::warn!(attempt, "opening the database failed, trying again: {e}");
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Opens the database named by `url`, creating an SQLite file if needed, and
/// applies every pending migration.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbError> {
    let db = open(url, max_connections).await?;
    // Two processes may migrate at once (a starting server and `tavern account
    // create`). Each migration is one transaction, so the loser rolls back
    // cleanly; trying again finds the winner's work done.
    let mut attempt = 0;
    loop {
        match migration::Migrator::up(&db, None).await {
            Ok(()) => break,
            Err(e) if attempt < 5 => {
                attempt += 1;
                tracing::warn!(attempt, "migrating the database failed, trying again: {e}");
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(db)
}

/// Begins a transaction that will write. On SQLite it takes the write lock at
/// BEGIN (IMMEDIATE): two deferred transactions that both read and then write
/// deadlock on the lock upgrade, which no busy timeout resolves.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

pub(crate) const NEXT_OBJECT_ID: &str = "next_object_id";
pub(crate) const START_ROOM: &str = "start_room";

/// Reserves `n` consecutive object ids; returns the first. Safe between
/// processes (the server and `tavern account create`): the counter moves in one statement.
pub async fn reserve_ids(db: &DatabaseConnection, n: i64) -> Result<i64, DbError> {
    let backend = db.get_database_backend();
    let txn = begin_write(db).await?;
    // Seed the counter past every existing id, once.
    let seed = Statement::from_sql_and_values(
        backend,
        match backend {
            DbBackend::Postgres => {
                "INSERT INTO server_config (key, value) \
                 SELECT $1, CAST(COALESCE(MAX(id), 0) + 1 AS TEXT) FROM objects WHERE true \
                 ON CONFLICT (key) DO NOTHING"
            }
            _ => {
                "INSERT INTO server_config (key, value) \
                 SELECT ?, CAST(COALESCE(MAX(id), 0) + 1 AS TEXT) FROM objects WHERE true \
                 ON CONFLICT (key) DO NOTHING"
            }
        },
        [NEXT_OBJECT_ID.into()],
    );
    txn.execute_raw(seed).await?;
    let bump = Statement::from_sql_and_values(
        backend,
        match backend {
            DbBackend::Postgres => {
                "UPDATE server_config SET value = CAST(CAST(value AS BIGINT) + $1 AS TEXT) \
                 WHERE key = $2 RETURNING value"
            }
            _ => {
                "UPDATE server_config SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) \
                 WHERE key = ? RETURNING value"
            }
        },
        [n.into(), NEXT_OBJECT_ID.into()],
    );
    let row = txn
        .query_one_raw(bump)
        .await?
        .ok_or(DbError::Corrupt(NEXT_OBJECT_ID))?;
    let next: String = row.try_get("", "value")?;
    txn.commit().await?;
    let next: i64 = next.parse().map_err(|_| DbError::Corrupt(NEXT_OBJECT_ID))?;
    Ok(next - n)
}

/// A value of `server_config`, the table of the server's own bookkeeping.
pub async fn get_config<C: ConnectionTrait>(db: &C, key: &str) -> Result<Option<String>, DbError> {
    Ok(server_config::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
        .map(|m| m.value))
}

/// The `server_config` key of the moment the game first started.
pub(crate) const FIRST_START: &str = "first_start";

/// When the game first started (ms since the Unix epoch): recorded the
/// first time this is asked, by whichever process asks first. Game time
/// counts from it.
pub async fn ensure_first_start<C: ConnectionTrait>(db: &C) -> Result<i64, DbError> {
    if let Some(v) = get_config(db, FIRST_START).await? {
        return v.parse().map_err(|_| DbError::Corrupt(FIRST_START));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let am = server_config::ActiveModel {
        key: Set(FIRST_START.to_string()),
        value: Set(now.to_string()),
    };
    server_config::Entity::insert(am)
        .on_conflict(
            OnConflict::column(server_config::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    get_config(db, FIRST_START)
        .await?
        .and_then(|v| v.parse().ok())
        .ok_or(DbError::Corrupt(FIRST_START))
}

/// The world ids of code-built objects that were destroyed.
pub async fn load_retired<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, DbError> {
    let rows = server_config::Entity::find()
        .filter(server_config::Column::Key.starts_with(writes::RETIRED_PREFIX))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            m.key
                .strip_prefix(writes::RETIRED_PREFIX)
                .map(str::to_string)
        })
        .collect())
}

/// The prototypes builders saved (`spawn/save`); rows that no longer read
/// as a prototype are logged and left out.
pub async fn load_stored_prototypes<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<crate::model::prototypes::Prototype>, DbError> {
    use crate::model::prototypes::{Prototype, STORED_PREFIX};
    let rows = server_config::Entity::find()
        .filter(server_config::Column::Key.starts_with(STORED_PREFIX))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|m| match serde_json::from_str::<Prototype>(&m.value) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::error!(key = %m.key, "a stored prototype does not read: {e}");
                None
            }
        })
        .collect())
}

/// Sets a value of `server_config`.
pub async fn set_config<C: ConnectionTrait>(db: &C, key: &str, value: &str) -> Result<(), DbError> {
    let am = server_config::ActiveModel {
        key: Set(key.to_string()),
        value: Set(value.to_string()),
    };
    server_config::Entity::insert(am)
        .on_conflict(
            OnConflict::column(server_config::Column::Key)
                .update_column(server_config::Column::Value)
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// The start room's id, creating the room (Limbo) the first time. Idempotent.
pub async fn ensure_start_room(db: &DatabaseConnection) -> Result<i64, DbError> {
    if let Some(id) = existing_start_room(db).await? {
        return Ok(id);
    }
    let id = reserve_ids(db, 1).await?;
    // Two processes may get here at once (a starting server and `tavern
    // account create`): claim the config key first, inside the transaction,
    // so that only one Limbo is ever made. On PostgreSQL the second insert
    // waits for the first transaction and then does nothing.
    let txn = begin_write(db).await?;
    let claim = server_config::ActiveModel {
        key: Set(START_ROOM.to_string()),
        value: Set(id.to_string()),
    };
    let claimed = server_config::Entity::insert(claim)
        .on_conflict(
            OnConflict::column(server_config::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?
        > 0;
    if !claimed {
        if let Some(existing) = existing_start_room(&txn).await? {
            txn.commit().await?;
            return Ok(existing);
        }
        // The key names a room that is gone: this one replaces it.
        set_config(&txn, START_ROOM, &id.to_string()).await?;
    }
    let mut room = Object::new(id, "Limbo", "room", Kind::Room);
    room.desc = "The space between places: grey, quiet, and not unfriendly. \
                 Builders start here, and so does every new character."
        .into();
    room.locks = default_locks(Kind::Room);
    room.created_at = tavern_shared::session::now_millis() as i64;
    save_object(&txn, object::Model::from(&room)).await?;
    txn.commit().await?;
    Ok(id)
}

/// The start room, when the config names one that exists.
async fn existing_start_room<C: ConnectionTrait>(db: &C) -> Result<Option<i64>, DbError> {
    if let Some(v) = get_config(db, START_ROOM).await?
        && let Ok(id) = v.parse::<i64>()
        && object::Entity::find_by_id(id).one(db).await?.is_some()
    {
        return Ok(Some(id));
    }
    Ok(None)
}

/// Runs writes one statement at a time, values bound, on `db` (a
/// connection or the caller's transaction).
async fn execute_writes<C: ConnectionTrait>(
    db: &C,
    writes: Vec<writes::Write>,
) -> Result<(), DbError> {
    let backend = db.get_database_backend();
    for w in writes {
        db.execute_raw(w.statement(backend)).await?;
    }
    Ok(())
}

/// Writes where objects are (their only change), many per statement.
pub async fn move_objects<C: ConnectionTrait>(
    db: &C,
    moves: &[(i64, Option<i64>)],
) -> Result<(), DbError> {
    execute_writes(db, writes::move_objects(moves)).await
}

/// Writes (inserts or replaces) objects' rows, many per statement.
pub async fn save_objects<C: ConnectionTrait>(
    db: &C,
    rows: Vec<object::Model>,
) -> Result<(), DbError> {
    execute_writes(db, writes::upsert_objects(db.get_database_backend(), rows)).await
}

/// Writes (inserts or replaces) one object's row.
pub async fn save_object<C: ConnectionTrait>(db: &C, m: object::Model) -> Result<(), DbError> {
    save_objects(db, vec![m]).await
}

/// Deletes one object's row.
pub async fn delete_object<C: ConnectionTrait>(db: &C, id: i64) -> Result<(), DbError> {
    execute_writes(db, writes::delete_objects(&[id])).await
}

/// Every object's row.
pub async fn load_objects(db: &DatabaseConnection) -> Result<Vec<object::Model>, DbError> {
    Ok(object::Entity::find().all(db).await?)
}

/// How many objects are stored.
pub async fn count_objects<C: ConnectionTrait>(db: &C) -> Result<u64, DbError> {
    use sea_orm::PaginatorTrait;
    Ok(object::Entity::find().count(db).await?)
}

/// One object's row, by id.
pub async fn load_object(
    db: &DatabaseConnection,
    id: i64,
) -> Result<Option<object::Model>, DbError> {
    Ok(object::Entity::find_by_id(id).one(db).await?)
}

/// An account's row by name, in any case (with its password hash, to check a login).
pub async fn find_account(
    db: &DatabaseConnection,
    name: &str,
) -> Result<Option<account::Model>, DbError> {
    Ok(account::Entity::find()
        .filter(account::Column::NameLower.eq(name_key(name)))
        .one(db)
        .await?)
}

/// Every account's row.
pub async fn load_accounts(db: &DatabaseConnection) -> Result<Vec<account::Model>, DbError> {
    Ok(account::Entity::find().all(db).await?)
}

/// One account's row and its characters' rows (made elsewhere: the launcher).
pub async fn load_account_and_characters(
    db: &DatabaseConnection,
    id: i64,
) -> Result<Option<(account::Model, Vec<object::Model>)>, DbError> {
    let Some(account) = account::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let characters = object::Entity::find()
        .filter(object::Column::AccountId.eq(id))
        .all(db)
        .await?;
    Ok(Some((account, characters)))
}

/// The character made together with a new account.
#[derive(Debug, Clone, Copy)]
pub struct NewCharacter<'a> {
    /// A reserved object id.
    pub id: i64,
    /// Its home and first location.
    pub room: i64,
    /// Its typeclass.
    pub typeclass: &'a str,
    /// Made outside the game (the launcher): no game code ran for it, so
    /// the game runs its creation hooks (the character's and its
    /// account's) when it first sees it.
    pub hooks_pending: bool,
}

/// Creates an account and, when `character` is given, its character in the
/// start room, in one transaction: both exist, durably, or neither does.
/// The name is stored in its normalized form ([`crate::model::names`]); a
/// name the same as another's under that rule is taken.
pub async fn create_account(
    db: &DatabaseConnection,
    name: &str,
    password_hash: String,
    is_superuser: bool,
    permission: &str,
    character: Option<NewCharacter<'_>>,
) -> Result<(account::Model, Option<object::Model>), DbError> {
    let now = tavern_shared::session::now_millis() as i64;
    let name = &normalize(name);
    let txn = begin_write(db).await?;
    if account::Entity::find()
        .filter(account::Column::NameLower.eq(name_key(name)))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(DbError::NameTaken(name.to_string()));
    }
    let am = account::ActiveModel {
        name: Set(name.to_string()),
        name_lower: Set(name_key(name)),
        password_hash: Set(password_hash),
        is_superuser: Set(is_superuser),
        created_at: Set(now),
        last_login: Set(None),
        last_puppet: Set(character.map(|c| c.id)),
        permissions: Set(if is_superuser {
            r#"["Developer"]"#.into()
        } else {
            serde_json::json!([permission]).to_string()
        }),
        attributes: Set("{}".into()),
        cmdsets: Set("[]".into()),
        ..Default::default()
    };
    let account = match account::Entity::insert(am).exec_with_returning(&txn).await {
        Ok(a) => a,
        // Two creations racing for one name: the unique index decides.
        Err(e) if is_unique_violation(&e) => return Err(DbError::NameTaken(name.to_string())),
        Err(e) => return Err(e.into()),
    };
    let mut char_model = None;
    if let Some(c) = character {
        let mut obj = Object::new(c.id, name, c.typeclass, Kind::Character);
        obj.location = Some(c.room);
        obj.home = Some(c.room);
        obj.account = Some(account.id);
        obj.locks = character_locks(c.id, account.id);
        obj.created_at = now;
        if c.hooks_pending {
            obj.set_attr(crate::model::object::CREATION_PENDING, true);
        }
        let m = object::Model::from(&obj);
        save_object(&txn, m.clone()).await?;
        char_model = Some(m);
    }
    txn.commit().await?;
    Ok((account, char_model))
}

/// The columns of an account the running server changes.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    /// The account.
    pub id: i64,
    /// Whether it passes every lock.
    pub is_superuser: bool,
    /// The character it played last.
    pub last_puppet: Option<i64>,
    /// Its permissions, a JSON list.
    pub permissions: String,
    /// Its persistent attributes, a JSON object.
    pub attributes: String,
    /// Its persistent cmdsets' names, a JSON list.
    pub cmdsets: String,
}

/// Writes the columns of an account the running server changes.
pub async fn save_account_row<C: ConnectionTrait>(db: &C, row: AccountRow) -> Result<(), DbError> {
    execute_writes(db, writes::update_accounts(vec![row])).await
}

/// Replaces an account's password hash; durable when this returns.
pub async fn set_password_hash(
    db: &DatabaseConnection,
    account_id: i64,
    hash: String,
) -> Result<(), DbError> {
    // In a transaction of its own, committed explicitly: a commit that fails
    // (a full disk) is an error here, never a silent success.
    let txn = begin_write(db).await?;
    let r = account::Entity::update_many()
        .col_expr(account::Column::PasswordHash, Expr::value(hash))
        .filter(account::Column::Id.eq(account_id))
        .exec(&txn)
        .await?;
    if r.rows_affected != 1 {
        return Err(DbError::NoAccount(account_id));
    }
    txn.commit().await?;
    Ok(())
}

/// One account's row, by id.
pub async fn load_account(
    db: &DatabaseConnection,
    id: i64,
) -> Result<Option<account::Model>, DbError> {
    Ok(account::Entity::find_by_id(id).one(db).await?)
}

/// Every stored help topic.
pub async fn load_help(db: &DatabaseConnection) -> Result<Vec<help_entry::Model>, DbError> {
    Ok(help_entry::Entity::find().all(db).await?)
}

/// Writes a help topic (replacing one of the same key); durable when this returns.
pub async fn save_help(db: &DatabaseConnection, entry: help_entry::Model) -> Result<(), DbError> {
    use help_entry::Column as C;
    let am: help_entry::ActiveModel = entry.into();
    let am = sea_orm::ActiveModelTrait::reset_all(am);
    let txn = begin_write(db).await?;
    help_entry::Entity::insert(am)
        .on_conflict(
            OnConflict::column(C::Key)
                .update_columns([C::Category, C::Text, C::Locks])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Every running flow.
pub async fn load_flows(db: &DatabaseConnection) -> Result<Vec<flow_instance::Model>, DbError> {
    Ok(flow_instance::Entity::find().all(db).await?)
}

/// Every channel.
pub async fn load_channels(db: &DatabaseConnection) -> Result<Vec<channel::Model>, DbError> {
    Ok(channel::Entity::find().all(db).await?)
}

/// Every channel's subscribers.
pub async fn load_channel_subscribers(
    db: &DatabaseConnection,
) -> Result<Vec<channel_subscriber::Model>, DbError> {
    Ok(channel_subscriber::Entity::find().all(db).await?)
}

/// The lines kept of every channel, oldest first per channel.
pub async fn load_channel_lines(
    db: &DatabaseConnection,
) -> Result<Vec<channel_line::Model>, DbError> {
    use sea_orm::QueryOrder;
    Ok(channel_line::Entity::find()
        .order_by_asc(channel_line::Column::ChannelId)
        .order_by_asc(channel_line::Column::Seq)
        .all(db)
        .await?)
}

/// Every persistent script, delay, ticker and tick group.
pub async fn load_timers(db: &DatabaseConnection) -> Result<Vec<timer::Model>, DbError> {
    Ok(timer::Entity::find().all(db).await?)
}

/// Writes flows and deletes ended ones, in one transaction; durable when this returns.
pub async fn save_flows(
    db: &DatabaseConnection,
    rows: Vec<flow_instance::Model>,
    deleted: Vec<String>,
) -> Result<(), DbError> {
    let txn = begin_write(db).await?;
    write_flows(&txn, rows, deleted).await?;
    txn.commit().await?;
    Ok(())
}

/// Writes flow rows and deletes flows, within the caller's transaction.
pub async fn write_flows<C: ConnectionTrait>(
    txn: &C,
    rows: Vec<flow_instance::Model>,
    deleted: Vec<String>,
) -> Result<(), DbError> {
    execute_writes(txn, writes::write_flows(rows, deleted)).await
}

/// Deletes a help topic; whether there was one. Durable when this returns.
pub async fn delete_help(db: &DatabaseConnection, key: &str) -> Result<bool, DbError> {
    let txn = begin_write(db).await?;
    let r = help_entry::Entity::delete_by_id(key.to_string())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(r.rows_affected > 0)
}

/// The `n` newest accounts (highest ids first): id, name, last login.
pub async fn recent_accounts(
    db: &DatabaseConnection,
    n: u64,
) -> Result<Vec<(i64, String, Option<i64>)>, DbError> {
    use sea_orm::{QueryOrder, QuerySelect};
    Ok(account::Entity::find()
        .order_by_desc(account::Column::Id)
        .limit(n)
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name, a.last_login))
        .collect())
}

/// Copies an SQLite database to `file` while it is in use (`VACUUM INTO`:
/// one consistent snapshot, compacted).
pub async fn backup_into(db: &DatabaseConnection, file: &std::path::Path) -> Result<(), DbError> {
    use sea_orm::{ConnectionTrait, Statement};
    let path = file.to_string_lossy().replace('\'', "''");
    db.execute_raw(Statement::from_string(
        db.get_database_backend(),
        format!("VACUUM INTO '{path}'"),
    ))
    .await?;
    Ok(())
}

/// Records when an account last logged in.
pub async fn record_login(db: &DatabaseConnection, account_id: i64) -> Result<(), DbError> {
    let now = tavern_shared::session::now_millis() as i64;
    account::Entity::update_many()
        .col_expr(account::Column::LastLogin, Expr::value(now))
        .filter(account::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// A database URL fit for a log line: without its password.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod redact_tests {
    #[test]
    fn database_passwords_never_reach_a_log_line() {
        assert_eq!(
            super::redact_url("postgres://tavern:hunter2@db:5432/game"),
            "postgres://tavern:***@db:5432/game"
        );
        assert_eq!(
            super::redact_url("sqlite:///data/tavern.db3?mode=rwc"),
            "sqlite:///data/tavern.db3?mode=rwc"
        );
    }
}
