//! The write-behind persister: world changes are written in the order they
//! were made, in batches (one transaction per batch: group commit), off the
//! world executor. A failed write is retried until it succeeds, so a database
//! outage delays writes but never reorders or loses them. `flush` waits until
//! everything sent before it is durable.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info};

use crate::db::{self, object};

enum Op {
    Save(Vec<object::Model>),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Persister {
    tx: mpsc::UnboundedSender<Op>,
}

impl Persister {
    pub fn start(db: DatabaseConnection) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(db, rx));
        Self { tx }
    }

    /// Queues rows to write. Never blocks the world.
    pub fn save(&self, rows: Vec<object::Model>) {
        if !rows.is_empty() {
            let _ = self.tx.send(Op::Save(rows));
        }
    }

    /// Waits until everything queued before this call is written.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Op::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn run(db: DatabaseConnection, mut rx: mpsc::UnboundedReceiver<Op>) {
    while let Some(op) = rx.recv().await {
        let mut rows = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(op);
        // Take everything already waiting: one transaction for the lot.
        while let Some(op) = next.take() {
            match op {
                Op::Save(r) => rows.extend(r),
                Op::Flush(f) => flushes.push(f),
            }
            next = rx.try_recv().ok();
        }
        if !rows.is_empty() {
            // Only the last version of each object matters.
            let mut last = std::collections::HashMap::new();
            for r in rows {
                last.insert(r.id, r);
            }
            let mut rows: Vec<_> = last.into_values().collect();
            rows.sort_by_key(|r| r.id);
            write_until_done(&db, &rows).await;
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
}

async fn write_until_done(db: &DatabaseConnection, rows: &[object::Model]) {
    let mut delay = Duration::from_millis(100);
    let mut failed = false;
    loop {
        match write(db, rows).await {
            Ok(()) => {
                if failed {
                    info!(rows = rows.len(), "database writes resumed");
                }
                return;
            }
            Err(e) => {
                if !failed {
                    error!(rows = rows.len(), "database write failed, retrying: {e}");
                }
                failed = true;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn write(db: &DatabaseConnection, rows: &[object::Model]) -> Result<(), db::DbError> {
    let txn = db::begin_write(db).await?;
    for r in rows {
        db::save_object(&txn, r.clone()).await?;
    }
    txn.commit().await?;
    Ok(())
}
