//! The persister's own connection to an SQLite file, stepped on the
//! persister's thread.
//!
//! Through sqlx every statement went to a worker thread of the driver and
//! its answer came back: two more threads to wake for every commit, on a
//! machine whose cores the game, the portal and the players' connections
//! keep busy — and each wake-up is a wait in the run queue that every
//! answer held for that commit waits with. Here the persister's thread
//! steps SQLite itself (rusqlite, on the same SQLite library sqlx links),
//! with the statements of the objects' commit kept prepared. Only the
//! persister writes this way; everything else goes through the pool.
//!
//! Durability is the pool's: `synchronous = FULL` (every commit is synced
//! before the persister says it is done), WAL, statement journals in memory.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

/// The statements kept prepared (the objects' commit's four).
const STATEMENT_CACHE: usize = 16;

/// The persister's connection to an SQLite file.
pub(super) struct SqliteWriter {
    conn: Connection,
}

/// What an objects' commit writes, each as JSON (`writes::sqlite_objects_commit`):
/// whole rows, ids deleted, attributes by id, places by id.
pub(super) struct ObjectsCommit {
    pub(super) whole: String,
    pub(super) deleted: String,
    pub(super) attributes: String,
    pub(super) moves: String,
}

impl SqliteWriter {
    /// Opens the file (whose schema is in place) for writing, as the pool's
    /// connections are: WAL, synced commits, a wait for the lock, statement
    /// journals in memory.
    pub(super) fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { conn })
    }

    /// A write transaction (`IMMEDIATE`: it takes the write lock at once).
    /// Dropped without a commit (an error on the way), it rolls back: a
    /// transaction left open would hold SQLite's write lock, and every
    /// other writer would fail with "locked".
    pub(super) fn transaction(&mut self) -> rusqlite::Result<Transaction<'_>> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
    }

    /// Commits objects alone, each part bound to its statement (kept
    /// prepared); a part with nothing in it is not run.
    pub(super) fn commit_objects(&mut self, commit: &ObjectsCommit) -> rusqlite::Result<()> {
        let [whole, deleted, attributes, moves] = super::writes::sqlite_objects_statements();
        let txn = self.transaction()?;
        for (sql, value) in [
            (whole, &commit.whole),
            (deleted, &commit.deleted),
            (attributes, &commit.attributes),
            (moves, &commit.moves),
        ] {
            if value != "[]" && value != "{}" {
                txn.prepare_cached(sql)?.execute([value])?;
            }
        }
        txn.commit()
    }

    #[cfg(test)]
    fn pragma(&self, name: &str) -> rusqlite::Result<i64> {
        self.conn.pragma_query_value(None, name, |r| r.get(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer is as durable as the pool: a commit is synced before it
    /// returns (FULL), in WAL, with statement journals in memory.
    #[tokio::test]
    async fn the_writer_syncs_every_commit_and_keeps_journals_in_memory() {
        let (url, dir) = crate::testing::db::sqlite_url("writer-pragmas");
        let db = crate::store::connect(&url, 1).await.unwrap();
        let path = super::super::sqlite_read::file_of(&db).expect("a file");
        let w = SqliteWriter::open(&path).unwrap();
        assert_eq!(w.pragma("synchronous").unwrap(), 2, "FULL");
        assert_eq!(w.pragma("temp_store").unwrap(), 2, "MEMORY");
        assert_eq!(w.pragma("foreign_keys").unwrap(), 1);
        let mode: String = w
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let _ = db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A script that fails halfway leaves nothing of its transaction
    /// behind, and the write lock free for the next.
    #[tokio::test]
    async fn a_failed_script_rolls_back_and_frees_the_lock() {
        let (url, dir) = crate::testing::db::sqlite_url("writer-rollback");
        let db = crate::store::connect(&url, 1).await.unwrap();
        let path = super::super::sqlite_read::file_of(&db).expect("a file");
        let mut w = SqliteWriter::open(&path).unwrap();
        w.conn
            .execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .unwrap();
        let mut run = |scripts: &[&str]| -> rusqlite::Result<()> {
            let txn = w.transaction()?;
            for script in scripts {
                txn.execute_batch(script)?;
            }
            txn.commit()
        };
        let failed = run(&["INSERT INTO t VALUES (1);", "INSERT INTO t VALUES (1);"]);
        assert!(failed.is_err(), "the second insert breaks the key");
        let failed = run(&["INSERT INTO t VALUES (2);", "INSERT INTO t VALUES (2);"]);
        assert!(failed.is_err());
        run(&["INSERT INTO t VALUES (3);"]).unwrap();
        assert!(w.conn.is_autocommit(), "nothing left open");
        let rows: Vec<i64> = w
            .conn
            .prepare("SELECT x FROM t ORDER BY x")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, vec![3]);
        let _ = db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
