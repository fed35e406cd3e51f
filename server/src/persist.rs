//! The write-behind persister: world changes and flow states are written in
//! the order they were made, in batches (one transaction per batch: group
//! commit), off the world executor, by one writer — so SQLite's single write
//! lock is never fought over. A failed write is retried until it succeeds, so
//! a database outage delays writes but never reorders or loses them. `flush`
//! waits until everything sent before it is durable; flow states say when
//! theirs is (their messages wait for it).

use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info};

use crate::db::{self, AccountRow, flow_instance, object};
use crate::world::Changes;

enum Op {
    Save(Changes),
    Flows {
        rows: Vec<flow_instance::Model>,
        deleted: Vec<String>,
        done: oneshot::Sender<()>,
    },
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

    /// Queues changes to write. Never blocks the world.
    pub fn save(&self, changes: Changes) {
        if !changes.is_empty() {
            let _ = self.tx.send(Op::Save(changes));
        }
    }

    /// Queues flow states to write (and flows to delete); the receiver hears
    /// once they are durable.
    pub fn save_flows(
        &self,
        rows: Vec<flow_instance::Model>,
        deleted: Vec<String>,
    ) -> oneshot::Receiver<()> {
        let (done, rx) = oneshot::channel();
        let _ = self.tx.send(Op::Flows {
            rows,
            deleted,
            done,
        });
        rx
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
        let mut batch = Batch::default();
        let mut flushes = Vec::new();
        let mut next = Some(op);
        // Take everything already waiting: one transaction for the lot.
        while let Some(op) = next.take() {
            match op {
                Op::Save(c) => batch.add(c),
                Op::Flows {
                    rows,
                    deleted,
                    done,
                } => {
                    batch.add_flows(rows, deleted);
                    flushes.push(done);
                }
                Op::Flush(f) => flushes.push(f),
            }
            next = rx.try_recv().ok();
        }
        if !batch.is_empty() {
            write_until_done(&db, &batch).await;
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
}

/// Changes merged: only the last version of each row matters; a deleted
/// object is not saved.
#[derive(Default)]
struct Batch {
    objects: std::collections::BTreeMap<i64, object::Model>,
    moves: std::collections::BTreeMap<i64, Option<i64>>,
    deleted: std::collections::BTreeSet<i64>,
    accounts: std::collections::BTreeMap<i64, AccountRow>,
    flows: std::collections::BTreeMap<String, flow_instance::Model>,
    flows_deleted: std::collections::BTreeSet<String>,
}

impl Batch {
    fn add(&mut self, c: Changes) {
        for o in c.objects {
            self.moves.remove(&o.id);
            self.objects.insert(o.id, o);
        }
        for (id, location) in c.moves {
            match self.objects.get_mut(&id) {
                // A row about to be written carries the move.
                Some(row) => row.location_id = location,
                None => {
                    self.moves.insert(id, location);
                }
            }
        }
        for d in c.deleted {
            self.objects.remove(&d);
            self.moves.remove(&d);
            self.deleted.insert(d);
        }
        for a in c.accounts {
            self.accounts.insert(a.id, a);
        }
    }

    /// Flow states: the last of each wins; a flow deleted and saved again is saved.
    fn add_flows(&mut self, rows: Vec<flow_instance::Model>, deleted: Vec<String>) {
        for r in rows {
            self.flows_deleted.remove(&r.name);
            self.flows.insert(r.name.clone(), r);
        }
        for d in deleted {
            self.flows.remove(&d);
            self.flows_deleted.insert(d);
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn len(&self) -> usize {
        self.objects.len()
            + self.moves.len()
            + self.deleted.len()
            + self.accounts.len()
            + self.flows.len()
            + self.flows_deleted.len()
    }
}

async fn write_until_done(db: &DatabaseConnection, rows: &Batch) {
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

async fn write(db: &DatabaseConnection, batch: &Batch) -> Result<(), db::DbError> {
    let txn = db::begin_write(db).await?;
    db::save_objects(&txn, batch.objects.values().cloned().collect()).await?;
    let moves: Vec<(i64, Option<i64>)> = batch.moves.iter().map(|(&id, &l)| (id, l)).collect();
    db::move_objects(&txn, &moves).await?;
    for id in &batch.deleted {
        db::delete_object(&txn, *id).await?;
    }
    for a in batch.accounts.values() {
        db::save_account_row(&txn, a.clone()).await?;
    }
    db::write_flows(
        &txn,
        batch.flows.values().cloned().collect(),
        batch.flows_deleted.iter().cloned().collect(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
