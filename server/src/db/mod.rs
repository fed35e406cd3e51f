//! Persistence through sea-orm: SQLite embedded by default, PostgreSQL for scale.
//!
//! The world lives in memory; this module loads it, and writes changes in the
//! order they were made. Writes a player is told about are awaited before the
//! telling (see [`crate::persist`]).

pub mod entities;
pub mod migration;

use std::time::Duration;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter, SqliteTransactionMode,
    Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

pub use entities::{account, object, server_config};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("an account named '{0}' already exists")]
    NameTaken(String),
    #[error("corrupt server_config value for {0}")]
    Corrupt(&'static str),
}

/// Opens the database named by `url`, creating an SQLite file if needed, and
/// applies every pending migration.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbError> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            // WAL lets readers run beside the writer; FULL makes every commit
            // durable before we tell anyone it happened.
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
        });
    let db = Database::connect(opts).await?;
    migration::Migrator::up(&db, None).await?;
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

const NEXT_OBJECT_ID: &str = "next_object_id";
const START_ROOM: &str = "start_room";

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

pub async fn get_config(db: &DatabaseConnection, key: &str) -> Result<Option<String>, DbError> {
    Ok(server_config::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
        .map(|m| m.value))
}

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
    if let Some(v) = get_config(db, START_ROOM).await?
        && let Ok(id) = v.parse::<i64>()
        && object::Entity::find_by_id(id).one(db).await?.is_some()
    {
        return Ok(id);
    }
    let id = reserve_ids(db, 1).await?;
    let txn = begin_write(db).await?;
    let room = object::Model {
        id,
        key: "Limbo".into(),
        typeclass: "room".into(),
        location_id: None,
        home_id: None,
        destination_id: None,
        account_id: None,
        description: "The space between places: grey, quiet, and not unfriendly. \
                      Builders start here, and so does every new character."
            .into(),
        attributes: "{}".into(),
        created_at: tavern_shared::session::now_millis() as i64,
    };
    save_object(&txn, room).await?;
    set_config(&txn, START_ROOM, &id.to_string()).await?;
    txn.commit().await?;
    Ok(id)
}

/// Inserts or updates one object.
pub async fn save_object<C: ConnectionTrait>(db: &C, m: object::Model) -> Result<(), DbError> {
    use object::Column as C;
    let am: object::ActiveModel = m.into();
    let am = sea_orm::ActiveModelTrait::reset_all(am);
    object::Entity::insert(am)
        .on_conflict(
            OnConflict::column(C::Id)
                .update_columns([
                    C::Key,
                    C::Typeclass,
                    C::LocationId,
                    C::HomeId,
                    C::DestinationId,
                    C::AccountId,
                    C::Description,
                    C::Attributes,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn delete_object<C: ConnectionTrait>(db: &C, id: i64) -> Result<(), DbError> {
    object::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

pub async fn load_objects(db: &DatabaseConnection) -> Result<Vec<object::Model>, DbError> {
    Ok(object::Entity::find().all(db).await?)
}

pub async fn load_object(
    db: &DatabaseConnection,
    id: i64,
) -> Result<Option<object::Model>, DbError> {
    Ok(object::Entity::find_by_id(id).one(db).await?)
}

pub async fn find_account(
    db: &DatabaseConnection,
    name: &str,
) -> Result<Option<account::Model>, DbError> {
    Ok(account::Entity::find()
        .filter(account::Column::NameLower.eq(name.to_lowercase()))
        .one(db)
        .await?)
}

pub async fn load_accounts(db: &DatabaseConnection) -> Result<Vec<account::Model>, DbError> {
    Ok(account::Entity::find().all(db).await?)
}

/// Creates an account and, when `character` is given, its character in the
/// start room, in one transaction: both exist, durably, or neither does.
pub async fn create_account(
    db: &DatabaseConnection,
    name: &str,
    password_hash: String,
    is_superuser: bool,
    character: Option<(i64, i64)>,
) -> Result<(account::Model, Option<object::Model>), DbError> {
    let now = tavern_shared::session::now_millis() as i64;
    let txn = begin_write(db).await?;
    if account::Entity::find()
        .filter(account::Column::NameLower.eq(name.to_lowercase()))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(DbError::NameTaken(name.to_string()));
    }
    let am = account::ActiveModel {
        name: Set(name.to_string()),
        name_lower: Set(name.to_lowercase()),
        password_hash: Set(password_hash),
        is_superuser: Set(is_superuser),
        created_at: Set(now),
        last_login: Set(None),
        last_puppet: Set(character.map(|(id, _)| id)),
        ..Default::default()
    };
    let account = match account::Entity::insert(am).exec_with_returning(&txn).await {
        Ok(a) => a,
        // Two creations racing for one name: the unique index decides.
        Err(e) if is_unique_violation(&e) => return Err(DbError::NameTaken(name.to_string())),
        Err(e) => return Err(e.into()),
    };
    let mut char_model = None;
    if let Some((char_id, room)) = character {
        let m = object::Model {
            id: char_id,
            key: name.to_string(),
            typeclass: "character".into(),
            location_id: Some(room),
            home_id: Some(room),
            destination_id: None,
            account_id: Some(account.id),
            description: String::new(),
            attributes: "{}".into(),
            created_at: now,
        };
        save_object(&txn, m.clone()).await?;
        char_model = Some(m);
    }
    txn.commit().await?;
    Ok((account, char_model))
}

pub async fn record_login(db: &DatabaseConnection, account_id: i64) -> Result<(), DbError> {
    let am = account::ActiveModel {
        id: Set(account_id),
        last_login: Set(Some(tavern_shared::session::now_millis() as i64)),
        ..Default::default()
    };
    account::Entity::update(am).exec(db).await?;
    Ok(())
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod tests;
