//! World files: the whole game database as JSON lines, for backups you can
//! read and diff, and for moving a game between SQLite and PostgreSQL.
//!
//! The first line says what the file is (`{"tavern_world": 1, ...}`); each
//! line after it is one row: `{"table": "objects", "row": {...}}`, tables in
//! a fixed order, rows by key. Columns that hold JSON (attributes, tags,
//! aliases, ...) are written as JSON, not as strings of it, so a diff shows
//! what changed. Password hashes are left out unless asked for (an account
//! imported without one cannot log in until an admin sets its password).
//!
//! Both directions stream: rows are read a page at a time and written a
//! batch at a time, so a world of millions of objects needs little memory.
//! An export reads one consistent snapshot (one transaction). An import
//! goes into an empty database, or merges into a game's (rows replace the
//! rows with the same key; the file must come from the same game unless
//! asked), in one transaction: all or nothing; with `dry_run` it is
//! checked whole, reports what it would do, and is rolled back.

use std::io::{BufRead, Write};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::{Map, Value, json};

use super::DbError;
use super::entities::{
    account, channel, channel_line, channel_subscriber, flow_instance, help_entry, object,
    server_config, timer,
};

/// The format's version.
pub const WORLD_FILE_VERSION: u64 = 1;
/// Rows read per page, and inserted per statement.
const PAGE: u64 = 500;
/// The longest line an import reads (a row with large attributes).
const MAX_LINE: usize = 16 * 1024 * 1024;

/// Why an export or import failed.
#[derive(Debug, thiserror::Error)]
pub enum WorldFileError {
    /// The database.
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// Reading or writing the file.
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    /// A line of the file is not what it should be.
    #[error("line {line}: {why}")]
    Bad {
        /// Its number (1-based).
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// The target database already has a world.
    #[error("the database is not empty ({0}); import only into a new game, or merge")]
    NotEmpty(String),
    /// A merge of a file exported from another game.
    #[error(
        "the file comes from another game (ids there are not this game's ids: a merge would \
         replace whatever has the same id here); merge it anyway only if that is what you want"
    )]
    OtherGame,
}

impl From<sea_orm::DbErr> for WorldFileError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Db(DbError::from(e))
    }
}

/// How many rows of each table went through.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts(pub Vec<(&'static str, u64)>);

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(t, n)| format!("{n} {t}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// The tables, in file order, with their columns that hold JSON.
const TABLES: &[(&str, &[&str])] = &[
    ("server_config", &[]),
    ("accounts", &["permissions", "attributes", "cmdsets"]),
    (
        "objects",
        &["attributes", "aliases", "tags", "permissions", "cmdsets"],
    ),
    ("help_entries", &[]),
    ("channels", &["data"]),
    ("channel_lines", &[]),
    ("channel_subscribers", &[]),
    ("flow_instances", &["data"]),
    ("timers", &["data"]),
];

fn json_columns(table: &str) -> &'static [&'static str] {
    TABLES
        .iter()
        .find(|(t, _)| *t == table)
        .map_or(&[], |(_, c)| c)
}

/// A row as it goes in the file: JSON columns decoded.
fn to_line(table: &str, row: Value) -> Value {
    let mut row = match row {
        Value::Object(m) => m,
        other => return json!({"table": table, "row": other}),
    };
    for c in json_columns(table) {
        if let Some(Value::String(s)) = row.get(*c)
            && let Ok(v) = serde_json::from_str::<Value>(s)
        {
            row.insert((*c).to_string(), v);
        }
    }
    json!({"table": table, "row": Value::Object(row)})
}

/// A row from the file, JSON columns encoded again.
fn from_line(table: &str, mut row: Map<String, Value>) -> Map<String, Value> {
    for c in json_columns(table) {
        if let Some(v) = row.get(*c)
            && !v.is_string()
        {
            let s = v.to_string();
            row.insert((*c).to_string(), Value::String(s));
        }
    }
    row
}

macro_rules! export_table {
    // Keyset pages (`WHERE key > last ORDER BY key LIMIT n`): every page
    // costs the same, however far into the table (OFFSET would not).
    ($txn:expr, $out:expr, $counts:expr, $name:literal, $entity:ty, $col:expr, $key:ident, $fix:expr) => {{
        let mut n = 0u64;
        let mut last = None;
        loop {
            let mut q = <$entity>::find().order_by_asc($col);
            if let Some(k) = last.clone() {
                q = q.filter($col.gt(k));
            }
            let rows = q.limit(PAGE).all($txn).await?;
            let Some(tail) = rows.last() else { break };
            last = Some(tail.$key.clone());
            let full = rows.len() as u64 == PAGE;
            for mut r in rows {
                $fix(&mut r);
                let v = serde_json::to_value(&r).map_err(std::io::Error::other)?;
                serde_json::to_writer(&mut *$out, &to_line($name, v))
                    .map_err(std::io::Error::other)?;
                $out.write_all(b"\n")?;
                n += 1;
            }
            if !full {
                break;
            }
        }
        $counts.push(($name, n));
    }};
}

/// Writes a table whose key is two numbers (keyset pages, as
/// `export_table!`); how many rows.
async fn export_two_keyed<E, C>(
    txn: &C,
    out: &mut impl Write,
    name: &str,
    (first, second): (E::Column, E::Column),
    key: impl Fn(&E::Model) -> (i64, i64),
) -> Result<u64, WorldFileError>
where
    E: EntityTrait,
    E::Model: serde::Serialize,
    C: ConnectionTrait,
{
    use sea_orm::sea_query::Cond;
    let mut n = 0u64;
    let mut last: Option<(i64, i64)> = None;
    loop {
        let mut q = E::find().order_by_asc(first).order_by_asc(second);
        if let Some((a, b)) = last {
            q = q.filter(
                Cond::any()
                    .add(first.gt(a))
                    .add(Cond::all().add(first.eq(a)).add(second.gt(b))),
            );
        }
        let rows = q.limit(PAGE).all(txn).await?;
        let Some(tail) = rows.last() else { break };
        last = Some(key(tail));
        let full = rows.len() as u64 == PAGE;
        for r in rows {
            let v = serde_json::to_value(&r).map_err(std::io::Error::other)?;
            serde_json::to_writer(&mut *out, &to_line(name, v)).map_err(std::io::Error::other)?;
            out.write_all(b"\n")?;
            n += 1;
        }
        if !full {
            break;
        }
    }
    Ok(n)
}

/// Inserts rows of a table whose key is two numbers; merging, first
/// deletes the rows with the same keys (counted as replaced).
async fn flush_two_keyed<E, C>(
    txn: &C,
    rows: Vec<E::Model>,
    merge: Option<&mut Vec<(&'static str, u64)>>,
    name: &'static str,
    (first, second): (E::Column, E::Column),
    key: impl Fn(&E::Model) -> (i64, i64),
) -> Result<(), WorldFileError>
where
    E: EntityTrait,
    E::Model: Into<E::ActiveModel>,
    C: ConnectionTrait,
{
    if rows.is_empty() {
        return Ok(());
    }
    if let Some(replaced) = merge {
        use sea_orm::sea_query::Cond;
        let mut any = Cond::any();
        for r in &rows {
            let (a, b) = key(r);
            any = any.add(Cond::all().add(first.eq(a)).add(second.eq(b)));
        }
        let gone = E::delete_many().filter(any).exec(txn).await?;
        bump(replaced, name, gone.rows_affected);
    }
    E::insert_many(rows.into_iter().map(Into::<E::ActiveModel>::into))
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Writes the whole database to `out`; with `passwords`, the password
/// hashes too.
pub async fn export(
    db: &DatabaseConnection,
    out: &mut impl Write,
    passwords: bool,
) -> Result<Counts, WorldFileError> {
    let txn = db.begin().await?;
    // Which game the file comes from (when it first started): a merge
    // matches rows by id, and ids only mean the same in the same game.
    let game = super::get_config(&txn, super::FIRST_START).await?;
    let header = json!({
        "tavern_world": WORLD_FILE_VERSION,
        "game": game,
        "tables": TABLES.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        "passwords": passwords,
    });
    serde_json::to_writer(&mut *out, &header).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    let mut counts = Vec::new();
    export_table!(
        &txn,
        out,
        counts,
        "server_config",
        server_config::Entity,
        server_config::Column::Key,
        key,
        |_| {}
    );
    export_table!(
        &txn,
        out,
        counts,
        "accounts",
        account::Entity,
        account::Column::Id,
        id,
        |a: &mut account::Model| {
            if !passwords {
                a.password_hash = String::new();
            }
        }
    );
    export_table!(
        &txn,
        out,
        counts,
        "objects",
        object::Entity,
        object::Column::Id,
        id,
        |_| {}
    );
    export_table!(
        &txn,
        out,
        counts,
        "help_entries",
        help_entry::Entity,
        help_entry::Column::Key,
        key,
        |_| {}
    );
    export_table!(
        &txn,
        out,
        counts,
        "channels",
        channel::Entity,
        channel::Column::Id,
        id,
        |_| {}
    );
    let n = export_two_keyed::<channel_line::Entity, _>(
        &txn,
        out,
        "channel_lines",
        (channel_line::Column::ChannelId, channel_line::Column::Seq),
        |r| (r.channel_id, r.seq),
    )
    .await?;
    counts.push(("channel_lines", n));
    let n = export_two_keyed::<channel_subscriber::Entity, _>(
        &txn,
        out,
        "channel_subscribers",
        (
            channel_subscriber::Column::ChannelId,
            channel_subscriber::Column::AccountId,
        ),
        |r| (r.channel_id, r.account_id),
    )
    .await?;
    counts.push(("channel_subscribers", n));
    export_table!(
        &txn,
        out,
        counts,
        "flow_instances",
        flow_instance::Entity,
        flow_instance::Column::Name,
        name,
        |_| {}
    );
    export_table!(
        &txn,
        out,
        counts,
        "timers",
        timer::Entity,
        timer::Column::Key,
        key,
        |_| {}
    );
    txn.commit().await?;
    out.flush()?;
    Ok(Counts(counts))
}

/// The `server_config` key of a merge asked for in game (`worldimport`):
/// the next server process applies it before it loads the world.
pub const PENDING_IMPORT: &str = "world_import_pending";
/// The `server_config` key of what the last merge asked for in game did.
pub const LAST_IMPORT: &str = "world_import_last";

/// A merge asked for in game, applied by the next server process.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingImport {
    /// The world file.
    pub file: std::path::PathBuf,
    /// Whether a file of another game may be merged.
    pub from_other_game: bool,
    /// Who asked (an account name), for the log.
    pub by: String,
}

/// Whether a merge asked for in game waits for the next start (a standby
/// server then loads nothing ahead: the merge changes the objects first).
pub async fn import_pending(db: &DatabaseConnection) -> Result<bool, DbError> {
    Ok(super::get_config(db, PENDING_IMPORT).await?.is_some())
}

/// Applies a merge asked for in game, if one waits: called by a starting
/// server before it loads the world. The request is taken off first (a
/// file that fails is not tried again at every start); what happened is
/// logged and kept under [`LAST_IMPORT`] for `worldimport` to show.
pub async fn apply_pending_import(db: &DatabaseConnection) -> Result<(), DbError> {
    let Some(text) = super::get_config(db, PENDING_IMPORT).await? else {
        return Ok(());
    };
    server_config::Entity::delete_by_id(PENDING_IMPORT.to_string())
        .exec(db)
        .await?;
    let outcome = match serde_json::from_str::<PendingImport>(&text) {
        Err(e) => format!("the request was unreadable ({e}); nothing was merged"),
        Ok(p) => {
            let mode = ImportMode::Merge {
                from_other_game: p.from_other_game,
            };
            let shown = p.file.file_name().map_or_else(
                || p.file.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let result = match std::fs::File::open(&p.file) {
                Ok(f) => import_with(db, std::io::BufReader::new(f), mode, false)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("cannot open it: {e}")),
            };
            match result {
                Ok(done) => {
                    tracing::info!(by = %p.by, "merged the world file {}: {done}", p.file.display());
                    format!("{shown} merged (asked by {}): {done}.", p.by)
                }
                Err(e) => {
                    tracing::error!(by = %p.by, "the world file {} was not merged: {e}", p.file.display());
                    format!(
                        "{shown} was not merged (asked by {}): {e}. Nothing was changed.",
                        p.by
                    )
                }
            }
        }
    };
    super::set_config(db, LAST_IMPORT, &outcome).await
}

/// How an import treats the database it goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Only into a new game (no objects or accounts yet).
    New,
    /// Into a game that has a world (from a file of this game, unless
    /// `from_other_game`): each row of the file replaces the row
    /// with the same key (an object's or account's id, a help entry's or
    /// timer's key, ...) and the rest are added; rows of the game that are
    /// not in the file stay as they are. The game's own bookkeeping (its
    /// first start, its start room, the next free id) stays its own, and an
    /// account the file has without a password hash keeps the one it has.
    Merge {
        /// Merge a file exported from another game too.
        from_other_game: bool,
    },
}

/// What an import did (or, dry, would do).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Rows read, per table.
    pub rows: Counts,
    /// Of them, rows that replaced a row with the same key (a merge).
    pub replaced: Counts,
}

impl std::fmt::Display for Imported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .rows
            .0
            .iter()
            .map(|(t, n)| {
                let r = self
                    .replaced
                    .0
                    .iter()
                    .find(|(x, _)| x == t)
                    .map_or(0, |(_, r)| *r);
                if r > 0 {
                    format!("{n} {t} ({r} replaced, {} added)", n - r)
                } else {
                    format!("{n} {t}")
                }
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Server bookkeeping that describes one database, never merged from a file.
const OWN_CONFIG: &[&str] = &[super::FIRST_START, super::START_ROOM, super::NEXT_OBJECT_ID];

/// Rows waiting to be inserted, per table (each account with its line).
#[derive(Default)]
struct Pending {
    config: Vec<server_config::Model>,
    accounts: Vec<(usize, account::Model)>,
    objects: Vec<object::Model>,
    help: Vec<help_entry::Model>,
    channels: Vec<channel::Model>,
    lines: Vec<channel_line::Model>,
    subscribers: Vec<channel_subscriber::Model>,
    flows: Vec<flow_instance::Model>,
    timers: Vec<timer::Model>,
}

/// Inserts a table's pending rows; merging, first deletes the rows with
/// the same keys (counted as replaced).
macro_rules! flush_table {
    ($txn:expr, $rows:expr, $entity:ty, $merge:expr, $name:literal, $col:expr, $key:ident) => {
        if !$rows.is_empty() {
            let rows = std::mem::take(&mut $rows);
            if let Some(replaced) = $merge.as_deref_mut() {
                let keys: Vec<_> = rows.iter().map(|r| r.$key.clone()).collect();
                let gone = <$entity>::delete_many()
                    .filter($col.is_in(keys))
                    .exec($txn)
                    .await?;
                bump(replaced, $name, gone.rows_affected);
            }
            <$entity>::insert_many(
                rows.into_iter()
                    .map(Into::<<$entity as EntityTrait>::ActiveModel>::into),
            )
            .exec_without_returning($txn)
            .await?;
        }
    };
}

fn bump(counts: &mut [(&'static str, u64)], table: &str, n: u64) {
    if let Some(c) = counts.iter_mut().find(|(t, _)| *t == table) {
        c.1 += n;
    }
}

impl Pending {
    async fn flush<C: ConnectionTrait>(
        &mut self,
        txn: &C,
        mut merge: Option<&mut Vec<(&'static str, u64)>>,
    ) -> Result<(), WorldFileError> {
        if merge.is_some() {
            self.merge_accounts(txn).await?;
        }
        let mut accounts: Vec<account::Model> = std::mem::take(&mut self.accounts)
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        flush_table!(
            txn,
            self.config,
            server_config::Entity,
            merge,
            "server_config",
            server_config::Column::Key,
            key
        );
        flush_table!(
            txn,
            accounts,
            account::Entity,
            merge,
            "accounts",
            account::Column::Id,
            id
        );
        flush_table!(
            txn,
            self.objects,
            object::Entity,
            merge,
            "objects",
            object::Column::Id,
            id
        );
        flush_table!(
            txn,
            self.help,
            help_entry::Entity,
            merge,
            "help_entries",
            help_entry::Column::Key,
            key
        );
        flush_table!(
            txn,
            self.channels,
            channel::Entity,
            merge,
            "channels",
            channel::Column::Id,
            id
        );
        flush_two_keyed::<channel_line::Entity, _>(
            txn,
            std::mem::take(&mut self.lines),
            merge.as_deref_mut(),
            "channel_lines",
            (channel_line::Column::ChannelId, channel_line::Column::Seq),
            |r| (r.channel_id, r.seq),
        )
        .await?;
        flush_two_keyed::<channel_subscriber::Entity, _>(
            txn,
            std::mem::take(&mut self.subscribers),
            merge.as_deref_mut(),
            "channel_subscribers",
            (
                channel_subscriber::Column::ChannelId,
                channel_subscriber::Column::AccountId,
            ),
            |r| (r.channel_id, r.account_id),
        )
        .await?;
        flush_table!(
            txn,
            self.flows,
            flow_instance::Entity,
            merge,
            "flow_instances",
            flow_instance::Column::Name,
            name
        );
        flush_table!(
            txn,
            self.timers,
            timer::Entity,
            merge,
            "timers",
            timer::Column::Key,
            key
        );
        Ok(())
    }

    /// Merging accounts: a name another account of the game has is refused
    /// (with the file's line); a row without a password hash keeps the
    /// hash the game has for that account.
    async fn merge_accounts<C: ConnectionTrait>(&mut self, txn: &C) -> Result<(), WorldFileError> {
        if self.accounts.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = self
            .accounts
            .iter()
            .map(|(_, a)| a.name_lower.clone())
            .collect();
        let ids: Vec<i64> = self.accounts.iter().map(|(_, a)| a.id).collect();
        let same_name = account::Entity::find()
            .filter(account::Column::NameLower.is_in(names))
            .all(txn)
            .await?;
        for (line, a) in &self.accounts {
            if let Some(other) = same_name
                .iter()
                .find(|o| o.name_lower == a.name_lower && o.id != a.id)
            {
                return Err(WorldFileError::Bad {
                    line: *line,
                    why: format!(
                        "account '{}' is account {} in the file but the game's account {} has that name",
                        a.name, a.id, other.id
                    ),
                });
            }
        }
        let existing = account::Entity::find()
            .filter(account::Column::Id.is_in(ids))
            .all(txn)
            .await?;
        for (_, a) in &mut self.accounts {
            if a.password_hash.is_empty()
                && let Some(had) = existing.iter().find(|o| o.id == a.id)
            {
                a.password_hash = had.password_hash.clone();
            }
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.config.len()
            + self.accounts.len()
            + self.objects.len()
            + self.help.len()
            + self.channels.len()
            + self.lines.len()
            + self.subscribers.len()
            + self.flows.len()
            + self.timers.len()
    }
}

fn row<T: serde::de::DeserializeOwned>(
    line: usize,
    table: &str,
    r: Map<String, Value>,
) -> Result<T, WorldFileError> {
    serde_json::from_value(Value::Object(from_line(table, r))).map_err(|e| WorldFileError::Bad {
        line,
        why: format!("not a row of {table}: {e}"),
    })
}

/// Reads a world file into an empty database (all or nothing); with
/// `dry_run`, checks it whole and changes nothing.
pub async fn import(
    db: &DatabaseConnection,
    input: impl BufRead,
    dry_run: bool,
) -> Result<Counts, WorldFileError> {
    Ok(import_with(db, input, ImportMode::New, dry_run).await?.rows)
}

/// Reads a world file into the database as `mode` says, in one
/// transaction (all or nothing); with `dry_run`, checks it whole, says
/// what it would do, and changes nothing.
pub async fn import_with(
    db: &DatabaseConnection,
    input: impl BufRead,
    mode: ImportMode,
    dry_run: bool,
) -> Result<Imported, WorldFileError> {
    if mode == ImportMode::New {
        let objects = object::Entity::find().count(db).await?;
        let accounts = account::Entity::find().count(db).await?;
        if objects > 0 || accounts > 0 {
            return Err(WorldFileError::NotEmpty(format!(
                "{objects} objects, {accounts} accounts"
            )));
        }
    }
    let txn = super::begin_write(db).await?;
    if mode == ImportMode::New {
        // What a new database made for itself (the id reservation, the first
        // start) gives way to the file's.
        server_config::Entity::delete_many().exec(&txn).await?;
    }
    let mut pending = Pending::default();
    let mut counts: Vec<(&'static str, u64)> = TABLES.iter().map(|(t, _)| (*t, 0)).collect();
    let mut replaced = counts.clone();
    let merging = matches!(mode, ImportMode::Merge { .. });
    let mut merge = merging.then_some(&mut replaced);
    let mut lines = input.lines().enumerate();
    match lines.next() {
        Some((_, Ok(first))) => {
            let h: Value = serde_json::from_str(&first).map_err(|_| WorldFileError::Bad {
                line: 1,
                why: "not a Tavern world file".into(),
            })?;
            if h["tavern_world"] != json!(WORLD_FILE_VERSION) {
                return Err(WorldFileError::Bad {
                    line: 1,
                    why: format!("not a Tavern world file of version {WORLD_FILE_VERSION}"),
                });
            }
            if let ImportMode::Merge {
                from_other_game: false,
            } = mode
            {
                let ours = super::get_config(&txn, super::FIRST_START).await?;
                if ours.is_none() || h["game"].as_str() != ours.as_deref() {
                    return Err(WorldFileError::OtherGame);
                }
            }
        }
        Some((_, Err(e))) => return Err(e.into()),
        None => {
            return Err(WorldFileError::Bad {
                line: 1,
                why: "the file is empty".into(),
            });
        }
    }
    for (i, text) in lines {
        let n = i + 1;
        let text = text?;
        if text.trim().is_empty() {
            continue;
        }
        if text.len() > MAX_LINE {
            return Err(WorldFileError::Bad {
                line: n,
                why: "the line is longer than 16 MiB".into(),
            });
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| WorldFileError::Bad {
            line: n,
            why: format!("not JSON: {e}"),
        })?;
        let (Some(table), Some(Value::Object(r))) = (v["table"].as_str(), v.get("row").cloned())
        else {
            return Err(WorldFileError::Bad {
                line: n,
                why: "a line is {\"table\": ..., \"row\": {...}}".into(),
            });
        };
        if merging
            && table == "server_config"
            && r.get("key")
                .and_then(Value::as_str)
                .is_some_and(|k| OWN_CONFIG.contains(&k))
        {
            // This game's own bookkeeping stays its own: not merged, not counted.
            continue;
        }
        match table {
            "server_config" => pending.config.push(row(n, table, r)?),
            "accounts" => pending.accounts.push((n, row(n, table, r)?)),
            "objects" => pending.objects.push(row(n, table, r)?),
            "help_entries" => pending.help.push(row(n, table, r)?),
            "channels" => pending.channels.push(row(n, table, r)?),
            "channel_lines" => pending.lines.push(row(n, table, r)?),
            "channel_subscribers" => pending.subscribers.push(row(n, table, r)?),
            "flow_instances" => pending.flows.push(row(n, table, r)?),
            "timers" => pending.timers.push(row(n, table, r)?),
            other => {
                return Err(WorldFileError::Bad {
                    line: n,
                    why: format!("unknown table '{other}'"),
                });
            }
        }
        bump(&mut counts, table, 1);
        if pending.len() as u64 >= PAGE {
            pending.flush(&txn, merge.as_deref_mut()).await?;
        }
    }
    pending.flush(&txn, merge).await?;
    if merging {
        // The next free id moves past every object the file brought.
        let max = object::Entity::find()
            .select_only()
            .column_as(object::Column::Id.max(), "m")
            .into_tuple::<Option<i64>>()
            .one(&txn)
            .await?
            .flatten()
            .unwrap_or(0);
        let next = super::get_config(&txn, super::NEXT_OBJECT_ID)
            .await?
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        if max + 1 > next {
            super::set_config(&txn, super::NEXT_OBJECT_ID, &(max + 1).to_string()).await?;
        }
    }
    if dry_run {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
    }
    Ok(Imported {
        rows: Counts(counts),
        replaced: Counts(replaced),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Game;
    use crate::testing::TestGame;

    /// A small world with a bit of everything, exported.
    fn exported(passwords: bool) -> Vec<u8> {
        let (with, without) = exported_both();
        if passwords { with } else { without }
    }

    /// The same world exported with and without password hashes.
    fn exported_both() -> (Vec<u8>, Vec<u8>) {
        let mut t = TestGame::with_settings(Game::new(), |s| s.channels.history_lines = 2000);
        let anna = t.player("Anna");
        t.grant(anna, "Developer");
        t.cmd(anna, "create/drop red box;box");
        t.cmd(anna, "set box/gold = 12");
        t.cmd(anna, "set box/notes = {\"a\": [1, 2], \"b\": \"x\"}");
        t.cmd(anna, "tag box = loot:treasure");
        t.cmd(anna, "dig Cellar = down;d, up;u");
        t.cmd(anna, "pub hello \"world\" |rred");
        t.cmd(
            anna,
            r#"spawn/save { prototype_key = "rock", key = "rock", attrs = { w = 3 } }"#,
        );
        t.cmd(anna, "ban troll : spam");
        t.cmd(anna, "y");
        t.cmd(anna, "sethelp rules;Game = Be nice.");
        // More rows than a page, in both kinds of keys.
        t.with_server(|s| {
            let room = s.world.start_room;
            for i in 0..1200 {
                let _ = s.create_object(
                    crate::NewObject::new(crate::Kind::Thing, format!("pebble {i}")).location(room),
                );
            }
            let ch = s.channel("public").unwrap();
            for i in 0..1100 {
                let _ = s.channel_send(ch, "Anna", &format!("line {i}"), false);
            }
        });
        let db = t.server().db.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut with = Vec::new();
        rt.block_on(export(&db, &mut with, true)).expect("export");
        let mut without = Vec::new();
        rt.block_on(export(&db, &mut without, false))
            .expect("export");
        (with, without)
    }

    fn run<F: std::future::Future<Output = ()>>(f: F) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f);
    }

    #[test]
    fn export_import_export_is_the_same_file_on_both_backends() {
        for passwords in [true, false] {
            let first = exported(passwords);
            let text = String::from_utf8(first.clone()).unwrap();
            assert!(text.starts_with("{\"game\":\""), "{text}");
            assert!(text.contains("\"table\":\"objects\""), "{text}");
            // Anna's subscription to Public, a row of its own.
            assert!(
                text.contains(
                    "{\"row\":{\"account_id\":1,\"channel_id\":1,\"muted\":false},\"table\":\"channel_subscribers\"}"
                ),
                "{text}"
            );
            // JSON columns are JSON in the file, not strings of it.
            assert!(
                text.contains("\"notes\":{\"a\":[1,2],\"b\":\"x\"}"),
                "{text}"
            );
            assert_eq!(
                text.contains("$argon2"),
                passwords,
                "hashes only when asked"
            );
            run(crate::testing::db::each_backend("world_file", |db| {
                let first = first.clone();
                async move {
                    let counts = import(&db, std::io::Cursor::new(&first), false)
                        .await
                        .expect("import");
                    assert!(counts.to_string().contains("objects"), "{counts}");
                    let mut again = Vec::new();
                    export(&db, &mut again, passwords)
                        .await
                        .expect("export again");
                    assert_eq!(
                        String::from_utf8(again).unwrap(),
                        String::from_utf8(first.clone()).unwrap()
                    );
                    // Into a database that has a world: refused, nothing changed.
                    let e = import(&db, std::io::Cursor::new(&first), false)
                        .await
                        .unwrap_err();
                    assert!(e.to_string().contains("not empty"), "{e}");
                }
            }));
        }
    }

    #[test]
    fn a_dry_run_changes_nothing_and_a_bad_line_is_named() {
        let file = exported(false);
        run(crate::testing::db::each_backend("world_file_dry", |db| {
            let file = file.clone();
            async move {
                import(&db, std::io::Cursor::new(&file), true)
                    .await
                    .expect("dry run");
                assert_eq!(object::Entity::find().count(&db).await.unwrap(), 0);
                let mut bad = file.clone();
                bad.extend_from_slice(b"{\"table\":\"objects\",\"row\":{\"id\":\"x\"}}\n");
                let lines = bad.iter().filter(|b| **b == b'\n').count();
                let e = import(&db, std::io::Cursor::new(&bad), false)
                    .await
                    .unwrap_err();
                assert!(e.to_string().starts_with(&format!("line {lines}:")), "{e}");
                assert_eq!(
                    object::Entity::find().count(&db).await.unwrap(),
                    0,
                    "all or nothing"
                );
                for junk in [&b""[..], b"hello\n", b"{\"tavern_world\": 99}\n"] {
                    assert!(
                        import(&db, std::io::Cursor::new(junk), false)
                            .await
                            .is_err()
                    );
                }
            }
        }));
    }

    #[test]
    fn a_merge_replaces_rows_by_key_adds_the_rest_and_leaves_the_others() {
        let (with, without) = exported_both();
        run(crate::testing::db::each_backend("world_file_merge", |db| {
            let (with, without) = (with.clone(), without.clone());
            async move {
                import(&db, std::io::Cursor::new(&with), false)
                    .await
                    .expect("import");
                // The game goes on: a box renamed, a pebble gone, an object
                // and an account that the file does not have.
                let boxed = object::Entity::find()
                    .filter(object::Column::Key.eq("red box"))
                    .one(&db)
                    .await
                    .unwrap()
                    .expect("the box");
                let mut renamed: object::ActiveModel = boxed.clone().into();
                renamed.key = sea_orm::Set("blue box".into());
                object::Entity::update(renamed).exec(&db).await.unwrap();
                let pebble = object::Entity::find()
                    .filter(object::Column::Key.eq("pebble 7"))
                    .one(&db)
                    .await
                    .unwrap()
                    .expect("a pebble");
                object::Entity::delete_by_id(pebble.id)
                    .exec(&db)
                    .await
                    .unwrap();
                let mut late = boxed.clone();
                late.id = 900_000;
                late.key = "late lantern".into();
                object::Entity::insert(object::ActiveModel::from(late))
                    .exec_without_returning(&db)
                    .await
                    .unwrap();
                let anna = account::Entity::find()
                    .filter(account::Column::NameLower.eq("anna"))
                    .one(&db)
                    .await
                    .unwrap()
                    .expect("anna");
                let mut bob = anna.clone();
                bob.id = 777;
                bob.name = "Bob".into();
                bob.name_lower = "bob".into();
                account::Entity::insert(account::ActiveModel::from(bob.clone()))
                    .exec_without_returning(&db)
                    .await
                    .unwrap();
                let objects = object::Entity::find().count(&db).await.unwrap();

                // Into a game that has a world: refused without a merge.
                let e = import(&db, std::io::Cursor::new(&with), false)
                    .await
                    .unwrap_err();
                assert!(e.to_string().contains("not empty"), "{e}");

                // A dry run says what it would do and does nothing.
                let merge = ImportMode::Merge {
                    from_other_game: false,
                };
                let dry = import_with(&db, std::io::Cursor::new(&with), merge, true)
                    .await
                    .expect("dry merge");
                let n = |c: &Counts, t: &str| c.0.iter().find(|(x, _)| *x == t).unwrap().1;
                let filed = n(&dry.rows, "objects");
                assert_eq!(n(&dry.replaced, "objects"), filed - 1, "{dry}");
                // The game's own bookkeeping is neither merged nor counted.
                assert_eq!(
                    n(&dry.rows, "server_config"),
                    n(&dry.replaced, "server_config"),
                    "{dry}"
                );
                assert!(
                    dry.to_string()
                        .contains(&format!("({} replaced, 1 added)", filed - 1)),
                    "{dry}"
                );
                assert_eq!(object::Entity::find().count(&db).await.unwrap(), objects);
                let still = object::Entity::find_by_id(boxed.id)
                    .one(&db)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(still.key, "blue box", "a dry run changes nothing");

                // Without password hashes: the accounts keep theirs.
                let done = import_with(&db, std::io::Cursor::new(&without), merge, false)
                    .await
                    .expect("merge");
                assert_eq!(
                    n(&done.replaced, "accounts"),
                    n(&done.rows, "accounts"),
                    "{done}"
                );
                let back = object::Entity::find_by_id(boxed.id)
                    .one(&db)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(back.key, "red box", "the file's row replaced the game's");
                assert!(
                    object::Entity::find_by_id(pebble.id)
                        .one(&db)
                        .await
                        .unwrap()
                        .is_some(),
                    "the lost pebble is back"
                );
                assert!(
                    object::Entity::find_by_id(900_000)
                        .one(&db)
                        .await
                        .unwrap()
                        .is_some(),
                    "what the file does not have stays"
                );
                assert!(
                    account::Entity::find_by_id(777)
                        .one(&db)
                        .await
                        .unwrap()
                        .is_some()
                );
                let anna_now = account::Entity::find_by_id(anna.id)
                    .one(&db)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    anna_now.password_hash, anna.password_hash,
                    "a hash is not wiped by a file without hashes"
                );
                assert_eq!(
                    object::Entity::find().count(&db).await.unwrap(),
                    objects + 1
                );
                let next: i64 = crate::store::get_config(&db, crate::store::NEXT_OBJECT_ID)
                    .await
                    .unwrap()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(next > 900_000, "new ids start past every object: {next}");

                // An account of the file whose name another account has here.
                let mut text = String::from_utf8(with.clone()).unwrap();
                let anna_line = text
                    .lines()
                    .position(|l| l.contains("\"name_lower\":\"anna\""))
                    .unwrap()
                    + 1;
                // Anna is account 778 in this file, and the game's Anna
                // keeps her own id: the name is taken.
                text = text.replace(
                    &format!("\"id\":{},\"is_superuser\"", anna.id),
                    "\"id\":778,\"is_superuser\"",
                );
                let e = import_with(&db, std::io::Cursor::new(text.as_bytes()), merge, false)
                    .await
                    .unwrap_err();
                assert!(
                    e.to_string().starts_with(&format!("line {anna_line}:"))
                        && e.to_string().contains("has that name"),
                    "{e}"
                );

                // A file of another game is refused unless asked.
                crate::store::set_config(&db, crate::store::FIRST_START, "12345")
                    .await
                    .unwrap();
                let e = import_with(&db, std::io::Cursor::new(&with), merge, true)
                    .await
                    .unwrap_err();
                assert!(matches!(e, WorldFileError::OtherGame), "{e}");
                import_with(
                    &db,
                    std::io::Cursor::new(&with),
                    ImportMode::Merge {
                        from_other_game: true,
                    },
                    true,
                )
                .await
                .expect("asked for");
            }
        }));
    }
}
