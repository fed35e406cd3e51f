//! Reading a big SQLite world's objects straight from its file at start.
//!
//! Through sqlx a row costs a worker thread's copy of every value, a trip
//! through a channel and a lookup of every column by name: about 6 µs of
//! CPU a row, most of a million-object world's start on two cores. Here
//! one blocking thread steps SQLite itself (rusqlite, on the same SQLite
//! library sqlx links) and makes the objects, in one read transaction (a
//! snapshot of the table), a page at a time. Only for loading: every write
//! still goes through the pool.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use sea_orm::{DatabaseConnection, DbBackend};

use super::object;
use super::rows::ObjectBuilder;
use crate::model::world::Object;

/// The database's file, when it is SQLite in a file (not in memory).
pub(super) fn file_of(db: &DatabaseConnection) -> Option<PathBuf> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return None;
    }
    let path = db
        .get_sqlite_connection_pool()
        .connect_options()
        .get_filename()
        .to_path_buf();
    (path.as_os_str() != ":memory:" && path.is_file()).then_some(path)
}

/// Reads every object, by id, in pages of `page` objects handed to `send`
/// (which says whether to go on).
pub(super) fn read_objects(
    path: &Path,
    page: usize,
    mut send: impl FnMut(Vec<Object>) -> bool,
) -> rusqlite::Result<()> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let txn = conn.transaction()?;
    {
        let mut stmt = txn.prepare(
            "SELECT id, key, typeclass, kind, location_id, home_id, destination_id, \
             account_id, description, attributes, aliases, tags, permissions, locks, \
             cmdsets, created_at FROM objects ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        let mut objects = ObjectBuilder::default();
        let mut out = Vec::with_capacity(page);
        while let Some(r) = rows.next()? {
            let m = object::Model {
                id: r.get(0)?,
                key: r.get(1)?,
                typeclass: r.get(2)?,
                kind: r.get(3)?,
                location_id: r.get(4)?,
                home_id: r.get(5)?,
                destination_id: r.get(6)?,
                account_id: r.get(7)?,
                description: r.get(8)?,
                attributes: r.get(9)?,
                aliases: r.get(10)?,
                tags: r.get(11)?,
                permissions: r.get(12)?,
                locks: r.get(13)?,
                cmdsets: r.get(14)?,
                created_at: r.get(15)?,
            };
            out.push(objects.object(m));
            if out.len() == page && !send(std::mem::replace(&mut out, Vec::with_capacity(page))) {
                return Ok(());
            }
        }
        if !out.is_empty() {
            send(out);
        }
    }
    txn.commit()
}
