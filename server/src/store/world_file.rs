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
//! goes into an empty database only, in one transaction: all or nothing;
//! with `dry_run` it is checked whole and rolled back.

use std::io::{BufRead, Write};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::{Map, Value, json};

use super::DbError;
use super::entities::{
    account, channel, channel_line, flow_instance, help_entry, object, server_config, timer,
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
    #[error("the database is not empty ({0}); import only into a new game")]
    NotEmpty(String),
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

/// Writes the whole database to `out`; with `passwords`, the password
/// hashes too.
pub async fn export(
    db: &DatabaseConnection,
    out: &mut impl Write,
    passwords: bool,
) -> Result<Counts, WorldFileError> {
    let txn = db.begin().await?;
    let header = json!({
        "tavern_world": WORLD_FILE_VERSION,
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
    {
        // Two-column key: by channel, then number (keyset pages too).
        use sea_orm::sea_query::Cond;
        let mut n = 0u64;
        let mut last: Option<(i64, i64)> = None;
        loop {
            let mut q = channel_line::Entity::find()
                .order_by_asc(channel_line::Column::ChannelId)
                .order_by_asc(channel_line::Column::Seq);
            if let Some((c, s)) = last {
                q = q.filter(
                    Cond::any().add(channel_line::Column::ChannelId.gt(c)).add(
                        Cond::all()
                            .add(channel_line::Column::ChannelId.eq(c))
                            .add(channel_line::Column::Seq.gt(s)),
                    ),
                );
            }
            let rows = q.limit(PAGE).all(&txn).await?;
            let Some(tail) = rows.last() else { break };
            last = Some((tail.channel_id, tail.seq));
            let full = rows.len() as u64 == PAGE;
            for r in rows {
                let v = serde_json::to_value(&r).map_err(std::io::Error::other)?;
                serde_json::to_writer(&mut *out, &to_line("channel_lines", v))
                    .map_err(std::io::Error::other)?;
                out.write_all(b"\n")?;
                n += 1;
            }
            if !full {
                break;
            }
        }
        counts.push(("channel_lines", n));
    }
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

/// Rows waiting to be inserted, per table.
#[derive(Default)]
struct Pending {
    config: Vec<server_config::ActiveModel>,
    accounts: Vec<account::ActiveModel>,
    objects: Vec<object::ActiveModel>,
    help: Vec<help_entry::ActiveModel>,
    channels: Vec<channel::ActiveModel>,
    lines: Vec<channel_line::ActiveModel>,
    flows: Vec<flow_instance::ActiveModel>,
    timers: Vec<timer::ActiveModel>,
}

macro_rules! flush_table {
    ($txn:expr, $rows:expr, $entity:ty) => {
        if !$rows.is_empty() {
            <$entity>::insert_many(std::mem::take(&mut $rows))
                .exec_without_returning($txn)
                .await?;
        }
    };
}

impl Pending {
    async fn flush<C: ConnectionTrait>(&mut self, txn: &C) -> Result<(), WorldFileError> {
        flush_table!(txn, self.config, server_config::Entity);
        flush_table!(txn, self.accounts, account::Entity);
        flush_table!(txn, self.objects, object::Entity);
        flush_table!(txn, self.help, help_entry::Entity);
        flush_table!(txn, self.channels, channel::Entity);
        flush_table!(txn, self.lines, channel_line::Entity);
        flush_table!(txn, self.flows, flow_instance::Entity);
        flush_table!(txn, self.timers, timer::Entity);
        Ok(())
    }

    fn len(&self) -> usize {
        self.config.len()
            + self.accounts.len()
            + self.objects.len()
            + self.help.len()
            + self.channels.len()
            + self.lines.len()
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
    let objects = object::Entity::find().count(db).await?;
    let accounts = account::Entity::find().count(db).await?;
    if objects > 0 || accounts > 0 {
        return Err(WorldFileError::NotEmpty(format!(
            "{objects} objects, {accounts} accounts"
        )));
    }
    let txn = db.begin().await?;
    // What a new database made for itself (the id reservation, the first
    // start) gives way to the file's.
    server_config::Entity::delete_many().exec(&txn).await?;
    let mut pending = Pending::default();
    let mut counts: Vec<(&'static str, u64)> = TABLES.iter().map(|(t, _)| (*t, 0)).collect();
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
        match table {
            "server_config" => pending
                .config
                .push(row::<server_config::Model>(n, table, r)?.into()),
            "accounts" => pending
                .accounts
                .push(row::<account::Model>(n, table, r)?.into()),
            "objects" => pending
                .objects
                .push(row::<object::Model>(n, table, r)?.into()),
            "help_entries" => pending
                .help
                .push(row::<help_entry::Model>(n, table, r)?.into()),
            "channels" => pending
                .channels
                .push(row::<channel::Model>(n, table, r)?.into()),
            "channel_lines" => pending
                .lines
                .push(row::<channel_line::Model>(n, table, r)?.into()),
            "flow_instances" => pending
                .flows
                .push(row::<flow_instance::Model>(n, table, r)?.into()),
            "timers" => pending
                .timers
                .push(row::<timer::Model>(n, table, r)?.into()),
            other => {
                return Err(WorldFileError::Bad {
                    line: n,
                    why: format!("unknown table '{other}'"),
                });
            }
        }
        if let Some(c) = counts.iter_mut().find(|(t, _)| *t == table) {
            c.1 += 1;
        }
        if pending.len() as u64 >= PAGE {
            pending.flush(&txn).await?;
        }
    }
    pending.flush(&txn).await?;
    if dry_run {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
    }
    Ok(Counts(counts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Game;
    use crate::testing::TestGame;

    /// A small world with a bit of everything, exported.
    fn exported(passwords: bool) -> Vec<u8> {
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
        let mut out = Vec::new();
        rt.block_on(export(&db, &mut out, passwords))
            .expect("export");
        out
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
            assert!(text.starts_with("{\"passwords\":"), "{text}");
            assert!(text.contains("\"table\":\"objects\""), "{text}");
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
}
