//! The write-behind persister: world changes are written in the order they
//! were made, in batches (one transaction for everything waiting: group
//! commit), off the game thread, by one writer — so SQLite's single write
//! lock is never fought over. The values become rows here, on the
//! persister's task. A failed write is retried until it succeeds, so a
//! database outage delays writes but never reorders or loses them.
//!
//! Each [`Persister::save`] returns a ticket; [`Persister::committed`] says
//! up to which ticket everything is durable, and [`Persister::failing`]
//! whether writes fail right now (the database is down, the disk full). The
//! runtime holds the output that reports a change until its ticket is
//! committed.

use std::time::Duration;

use sea_orm::{DatabaseConnection, DatabaseTransaction};
use tokio::sync::{mpsc, watch};
use tracing::{error, info};

use crate::model::world::{Account, Changes, Object};
use crate::store::{self, AccountRow, flow_instance, object};

/// A number the persister gives each handed-over batch of changes, in order.
pub type Ticket = u64;

/// How the writing goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    /// Up to which ticket everything is durable.
    pub committed: Ticket,
    /// The last write failed and is being retried.
    pub failing: bool,
}

/// The handle the runtime writes through.
pub struct Persister {
    tx: mpsc::UnboundedSender<(Ticket, Changes)>,
    last: Ticket,
    status: watch::Receiver<Status>,
}

impl Persister {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(db: DatabaseConnection) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let (done, status) = watch::channel(Status::default());
        tokio::spawn(run(db, rx, done));
        Self {
            tx,
            last: 0,
            status,
        }
    }

    /// Queues changes to write (never blocks) and returns their ticket.
    /// Nothing to write: the ticket of the last changes handed over.
    pub fn save(&mut self, changes: Changes) -> Ticket {
        if !changes.is_empty() {
            self.last += 1;
            let _ = self.tx.send((self.last, changes));
        }
        self.last
    }

    /// The ticket of the last changes handed over.
    pub fn last_ticket(&self) -> Ticket {
        self.last
    }

    /// Up to which ticket everything is durable.
    pub fn committed(&self) -> Ticket {
        self.status.borrow().committed
    }

    /// Whether writes fail right now (and are being retried).
    pub fn failing(&self) -> bool {
        self.status.borrow().failing
    }

    /// Waits until the ticket is durable (at once if it is); false if the
    /// writer is gone.
    pub async fn wait(&mut self, ticket: Ticket) -> bool {
        self.status
            .wait_for(|s| s.committed >= ticket)
            .await
            .is_ok()
    }

    /// Waits until more is committed, or writes start or stop failing;
    /// false if the writer is gone.
    pub async fn changed(&mut self) -> bool {
        self.status.changed().await.is_ok()
    }

    /// Waits until everything handed over so far is durable.
    pub async fn flush(&mut self) {
        let last = self.last;
        self.wait(last).await;
    }
}

async fn run(
    db: DatabaseConnection,
    mut rx: mpsc::UnboundedReceiver<(Ticket, Changes)>,
    status: watch::Sender<Status>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = Batch::default();
        let mut last = first.0;
        batch.add(first.1);
        // Take everything already waiting: one transaction for the lot.
        while let Ok((ticket, changes)) = rx.try_recv() {
            last = ticket;
            batch.add(changes);
        }
        if !batch.is_empty() {
            write_until_done(&db, &batch, &status).await;
        }
        status.send_replace(Status {
            committed: last,
            failing: false,
        });
    }
}

/// Changes merged: only the last version of each row matters; a deleted
/// object is not saved.
#[derive(Default)]
struct Batch {
    objects: std::collections::BTreeMap<i64, Object>,
    moves: std::collections::BTreeMap<i64, Option<i64>>,
    deleted: std::collections::BTreeSet<i64>,
    accounts: std::collections::BTreeMap<i64, Account>,
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
                Some(o) => o.location = location,
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
        // Flow states: the last of each wins; a flow deleted and saved again is saved.
        for (name, f) in c.flows {
            self.flows_deleted.remove(&name);
            if let Some(row) = store::flow_row(&name, &f, c.at) {
                self.flows.insert(name, row);
            }
        }
        for d in c.flows_deleted {
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

async fn write_until_done(db: &DatabaseConnection, rows: &Batch, status: &watch::Sender<Status>) {
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
                    status.send_modify(|s| s.failing = true);
                }
                failed = true;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn write(db: &DatabaseConnection, batch: &Batch) -> Result<(), store::DbError> {
    let txn = store::begin_write(db).await?;
    match write_in(&txn, batch).await {
        // A commit that fails (a full disk) is a failure like any other.
        Ok(()) => Ok(txn.commit().await?),
        Err(e) => {
            // Roll back at once: a transaction left open holds SQLite's write
            // lock, and every other writer would then fail with "locked".
            let _ = txn.rollback().await;
            Err(e)
        }
    }
}

async fn write_in(txn: &DatabaseTransaction, batch: &Batch) -> Result<(), store::DbError> {
    store::save_objects(
        txn,
        batch.objects.values().map(object::Model::from).collect(),
    )
    .await?;
    let moves: Vec<(i64, Option<i64>)> = batch.moves.iter().map(|(&id, &l)| (id, l)).collect();
    store::move_objects(txn, &moves).await?;
    for id in &batch.deleted {
        store::delete_object(txn, *id).await?;
    }
    for a in batch.accounts.values() {
        store::save_account_row(txn, AccountRow::from(a)).await?;
    }
    store::write_flows(
        txn,
        batch.flows.values().cloned().collect(),
        batch.flows_deleted.iter().cloned().collect(),
    )
    .await?;
    Ok(())
}
