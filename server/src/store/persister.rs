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

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tavern_shared::metrics::{Histogram, SECONDS_BOUNDS, SIZE_BOUNDS};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::model::channels::{ChannelLine, ChannelRecord};
use crate::model::world::{Account, Attributes, Changes, Object};
use crate::store::sqlite_write::{ObjectsCommit, SqliteWriter};
use crate::store::{self, AccountRow, flow_instance, object, sqlite_read, timer, writes};

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

/// What the writer has done, for the metrics endpoint.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Commits written.
    pub commits: u64,
    /// How long each took, in seconds.
    pub commit_seconds: Histogram,
    /// Rows per commit.
    pub commit_rows: Histogram,
    /// Writes that failed (and were retried).
    pub errors: u64,
    /// Of the commits, those of objects alone (rows, attributes, places,
    /// deletions) that went bound to the statements SQLite keeps prepared
    /// (`store::writes::sqlite_objects_statements`).
    pub bound_commits: u64,
}

impl Default for Figures {
    fn default() -> Self {
        Self {
            commits: 0,
            commit_seconds: Histogram::new(SECONDS_BOUNDS),
            commit_rows: Histogram::new(SIZE_BOUNDS),
            errors: 0,
            bound_commits: 0,
        }
    }
}

/// How far the writer is behind: changes handed over and not yet durable,
/// and how long the oldest of them has waited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lag {
    /// Handed over, not yet durable.
    pub tickets: u64,
    /// Seconds the oldest of them has waited.
    pub oldest_secs: f64,
}

/// The handle the runtime writes through.
pub struct Persister {
    tx: mpsc::UnboundedSender<(Ticket, Changes)>,
    last: Ticket,
    status: watch::Receiver<Status>,
    figures: Arc<Mutex<Figures>>,
    /// When each ticket not yet known durable was handed over.
    handed: VecDeque<(Ticket, std::time::Instant)>,
    /// Batches written, handed back to be dropped on the game's thread.
    written: mpsc::UnboundedReceiver<Arc<Batch>>,
}

impl Persister {
    /// Starts the writer on a thread of its own, with a runtime of its own:
    /// its round trips to the database and its encoding of rows never wait
    /// for the game loop to yield (on the game's single-threaded runtime
    /// they did, and every answer held for a commit waited with them).
    /// It ends when the persister is dropped, after writing what it was given.
    ///
    /// It writes through a connection of its own to the database at `url`
    /// (whose schema is in place): an SQLite file it steps itself
    /// (`store/sqlite_write.rs`), or a PostgreSQL connection, each commit one
    /// script in one round trip.
    pub fn start(url: &str, commit_interval: Duration) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let (back, written) = mpsc::unbounded_channel();
        let (done, status) = watch::channel(Status::default());
        let url = url.to_string();
        let figures = Arc::new(Mutex::new(Figures::default()));
        let counted = figures.clone();
        let spawned = std::thread::Builder::new()
            .name("tavern-persister".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(async move {
                        let db = connect_until_done(&url, &done).await;
                        let conn = Conn::of(db).await;
                        run(conn, rx, back, done, commit_interval, counted).await
                    }),
                    Err(e) => error!("cannot start the persister's runtime: {e}"),
                }
            });
        if let Err(e) = spawned {
            error!("cannot start the persister's thread: {e}");
        }
        Self {
            tx,
            last: 0,
            status,
            figures,
            handed: VecDeque::new(),
            written,
        }
    }

    /// What the writer has done so far.
    pub fn figures(&self) -> Figures {
        self.figures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How far the writer is behind.
    pub fn lag(&mut self) -> Lag {
        self.forget_durable();
        Lag {
            tickets: self.last - self.committed(),
            oldest_secs: self
                .handed
                .front()
                .map_or(0.0, |(_, at)| at.elapsed().as_secs_f64()),
        }
    }

    fn forget_durable(&mut self) {
        // The changes handed over were allocated on this thread, and are
        // freed here: freed by the persister, every block went back to
        // this thread's heap across threads (an atomic push on the page's
        // list of blocks freed elsewhere, collected later here). Measured
        // (docs/benchmarks.md, 2026-12-08): the server's CPU a fight
        // command 5–13 % lower in five interleaved pairs of rounds.
        while let Ok(batch) = self.written.try_recv() {
            drop(batch);
        }
        let committed = self.committed();
        while self.handed.front().is_some_and(|(t, _)| *t <= committed) {
            self.handed.pop_front();
        }
    }

    /// Queues changes to write (never blocks) and returns their ticket.
    /// Nothing to write: the ticket of the last changes handed over.
    pub fn save(&mut self, changes: Changes) -> Ticket {
        if !changes.is_empty() {
            self.last += 1;
            let _ = self.tx.send((self.last, changes));
            self.forget_durable();
            self.handed
                .push_back((self.last, std::time::Instant::now()));
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

/// Connects, retrying (and saying writes fail) until the database answers.
async fn connect_until_done(url: &str, status: &watch::Sender<Status>) -> DatabaseConnection {
    let mut delay = Duration::from_millis(100);
    loop {
        match store::connect_writer(url).await {
            Ok(db) => {
                status.send_modify(|s| s.failing = false);
                return db;
            }
            Err(e) => {
                error!("the persister cannot reach the database, retrying: {e}");
                status.send_modify(|s| s.failing = true);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// The persister's connection: an SQLite file it steps itself on its own
/// thread ([`SqliteWriter`]: no thread of the driver to wake for each
/// commit), or sea-orm's (PostgreSQL).
enum Conn {
    Sqlite(SqliteWriter),
    Orm(DatabaseConnection),
}

impl Conn {
    /// The connection to write through: `db`'s SQLite file opened for the
    /// persister alone, or `db` itself.
    async fn of(db: DatabaseConnection) -> Self {
        let Some(path) = sqlite_read::file_of(&db) else {
            return Conn::Orm(db);
        };
        match SqliteWriter::open(&path) {
            Ok(w) => {
                let _ = db.close().await;
                Conn::Sqlite(w)
            }
            Err(e) => {
                warn!(
                    "cannot open {} for the persister, writing through the driver: {e}",
                    path.display()
                );
                Conn::Orm(db)
            }
        }
    }

    fn backend(&self) -> DbBackend {
        match self {
            Conn::Sqlite(_) => DbBackend::Sqlite,
            Conn::Orm(db) => db.get_database_backend(),
        }
    }

    /// Rolls back whatever a failed write left open: an open transaction
    /// holds SQLite's write lock, and every other writer would then fail
    /// with "locked". (The commit is the last statement: a commit that
    /// fails, on a full disk, is an error like any other.)
    async fn roll_back(&mut self) {
        match self {
            // Its transactions roll back when dropped uncommitted.
            Conn::Sqlite(_) => {}
            Conn::Orm(db) => {
                let _ = db.execute_unprepared("ROLLBACK").await;
            }
        }
    }
}

async fn run(
    mut db: Conn,
    mut rx: mpsc::UnboundedReceiver<(Ticket, Changes)>,
    back: mpsc::UnboundedSender<Arc<Batch>>,
    status: watch::Sender<Status>,
    commit_interval: Duration,
    figures: Arc<Mutex<Figures>>,
) {
    let mut last_start: Option<tokio::time::Instant> = None;
    let written = Arc::new(Mutex::new(Written::default()));
    while let Some(first) = rx.recv().await {
        // Group commit: at most one commit per interval. A quiet game's
        // change is written at once; a busy one's waits a moment and goes
        // with everything else changed meanwhile.
        if let Some(t) = last_start {
            tokio::time::sleep_until(t + commit_interval).await;
        }
        last_start = Some(tokio::time::Instant::now());
        let mut batch = Batch::default();
        let mut last = first.0;
        batch.add(first.1);
        // Take everything already waiting: one transaction for the lot.
        while let Ok((ticket, changes)) = rx.try_recv() {
            last = ticket;
            batch.add(changes);
        }
        if !batch.is_empty() {
            let t0 = std::time::Instant::now();
            let batch = Arc::new(batch);
            let (errors, way) = write_until_done(&mut db, &batch, &written, &status).await;
            let took = t0.elapsed();
            tracing::debug!(
                rows = batch.len(),
                took_us = took.as_micros() as u64,
                "batch written"
            );
            let mut f = figures.lock().unwrap_or_else(|e| e.into_inner());
            f.commits += 1;
            f.errors += errors;
            f.bound_commits += u64::from(way == Way::Bound);
            f.commit_seconds.observe(took.as_secs_f64());
            f.commit_rows.observe(batch.len() as f64);
            drop(f);
            // Dropped by the game's thread, whose allocations these are
            // (here, when the game is gone, or when it is big: freeing a
            // world imported whole would hold the game up).
            if batch.len() <= ROWS_MADE_BESIDE {
                let _ = back.send(batch);
            }
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
    /// Objects whose attributes alone changed (never among `objects`).
    attributes: std::collections::BTreeMap<i64, Attributes>,
    moves: std::collections::BTreeMap<i64, Option<i64>>,
    deleted: std::collections::BTreeSet<i64>,
    accounts: std::collections::BTreeMap<i64, Account>,
    accounts_deleted: std::collections::BTreeSet<i64>,
    flows: std::collections::BTreeMap<String, flow_instance::Model>,
    flows_deleted: std::collections::BTreeSet<String>,
    retired: std::collections::BTreeSet<String>,
    /// `server_config` rows, the last value of each key (`None`: delete).
    config: std::collections::BTreeMap<String, Option<String>>,
    timers: std::collections::BTreeMap<String, timer::Model>,
    timers_deleted: std::collections::BTreeSet<String>,
    channels: std::collections::BTreeMap<i64, ChannelRecord>,
    channels_deleted: std::collections::BTreeSet<i64>,
    channel_lines: Vec<ChannelLine>,
    /// Subscriptions: the last of each (`None`: ended).
    subscriptions: std::collections::BTreeMap<(i64, i64), Option<bool>>,
    keep_lines: usize,
}

impl Batch {
    fn add(&mut self, c: Changes) {
        for o in c.objects {
            self.moves.remove(&o.id);
            self.attributes.remove(&o.id);
            self.objects.insert(o.id, o);
        }
        for (id, attributes) in c.attributes {
            match self.objects.get_mut(&id) {
                // A row about to be written carries them.
                Some(o) => o.db = attributes,
                None => {
                    self.attributes.insert(id, attributes);
                }
            }
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
            self.attributes.remove(&d);
            self.moves.remove(&d);
            self.deleted.insert(d);
        }
        for a in c.accounts {
            self.accounts.insert(a.id, a);
        }
        for a in c.accounts_deleted {
            self.accounts.remove(&a);
            self.accounts_deleted.insert(a);
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
        self.retired.extend(c.retired);
        self.config.extend(c.config);
        // Timers: the last version of each row wins, as for flows.
        for rec in c.timers {
            if let Some(row) = store::timer_row(&rec, c.at) {
                self.timers_deleted.remove(&row.key);
                self.timers.insert(row.key.clone(), row);
            }
        }
        for d in c.timers_deleted {
            self.timers.remove(&d);
            self.timers_deleted.insert(d);
        }
        let ch = c.channels;
        for (id, rec) in ch.channels {
            self.channels_deleted.remove(&id);
            self.channels.insert(id, rec);
        }
        for id in ch.deleted {
            self.channels.remove(&id);
            self.channel_lines.retain(|l| l.channel != id);
            self.subscriptions.retain(|(c, _), _| *c != id);
            self.channels_deleted.insert(id);
        }
        self.channel_lines.extend(ch.lines);
        self.subscriptions
            .extend(ch.subscriptions.into_iter().map(|(c, a, m)| ((c, a), m)));
        self.keep_lines = ch.keep;
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn len(&self) -> usize {
        self.objects.len()
            + self.attributes.len()
            + self.moves.len()
            + self.deleted.len()
            + self.accounts.len()
            + self.accounts_deleted.len()
            + self.flows.len()
            + self.flows_deleted.len()
            + self.retired.len()
            + self.config.len()
            + self.timers.len()
            + self.timers_deleted.len()
            + self.channels.len()
            + self.channels_deleted.len()
            + self.channel_lines.len()
            + self.subscriptions.len()
    }
}

/// Writes until it lands; how many tries failed, and how the last went.
async fn write_until_done(
    db: &mut Conn,
    rows: &Arc<Batch>,
    written: &Arc<Mutex<Written>>,
    status: &watch::Sender<Status>,
) -> (u64, Way) {
    let mut delay = Duration::from_millis(100);
    let mut failed = false;
    let mut errors = 0;
    loop {
        match write(db, rows, written).await {
            Ok(way) => {
                if failed {
                    info!(rows = rows.len(), "database writes resumed");
                }
                return (errors, way);
            }
            Err(e) => {
                errors += 1;
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

/// A batch of more rows than this is made into SQL on a thread of its own
/// while the database runs what is made already; a smaller one is made here
/// (no thread hop before the commit that answers wait for).
const ROWS_MADE_BESIDE: usize = 2_000;

/// What the persister knows of the objects' rows it wrote: a fingerprint
/// of every column but the attributes. An object handed over whole whose
/// other columns are as last written has only its attributes written
/// again — most changes a game makes (hit points, counters, a ticker's
/// work) are to attributes, and a whole row was several times the bytes to
/// send and for the database to read. An object it has not written since
/// the server started (or whose row it deleted) is written whole. (Changes
/// the world knows were to attributes alone come as attributes, and need
/// no fingerprint: [`Changes::attributes`].)
#[derive(Default)]
struct Written {
    hasher: std::hash::RandomState,
    rows: std::collections::HashMap<i64, u64>,
}

impl Written {
    fn fingerprint(&self, o: &Object) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        // Every field is named, so that one added to objects must be placed
        // here (a column of the row) or among those left out (the
        // attributes, written anyway, and what is never saved).
        let Object {
            id: _,
            key,
            aliases,
            typeclass,
            kind,
            location,
            home,
            destination,
            account,
            desc,
            tags,
            permissions,
            locks,
            db: _,
            ndb: _,
            cmdsets,
            created_at,
        } = o;
        let mut h = self.hasher.build_hasher();
        (
            key,
            typeclass,
            kind,
            location,
            home,
            destination,
            account,
            desc,
        )
            .hash(&mut h);
        (aliases, tags, permissions, locks, cmdsets, created_at).hash(&mut h);
        h.finish()
    }

    /// A commit of `batch` landed: its objects' rows are as it wrote them.
    /// A row it deleted is gone, and one it only moved no longer matches
    /// its fingerprint: each is written whole next time.
    fn record(&mut self, rows: Vec<(i64, u64)>, batch: &Batch) {
        self.rows.extend(rows);
        for id in batch.deleted.iter().chain(batch.moves.keys()) {
            self.rows.remove(id);
        }
    }
}

impl Batch {
    /// The batch's writes, in order, and the fingerprints of the objects'
    /// rows they write (to [`Written::record`] once they have landed).
    fn writes(
        &self,
        backend: sea_orm::DbBackend,
        written: &Written,
    ) -> (Vec<writes::Write>, Vec<(i64, u64)>) {
        self.writes_apart(written).into_writes(backend)
    }

    /// What [`writes`](Self::writes) gives, with the objects' writes given
    /// apart: the rows written whole and the ids deleted (written first),
    /// and the objects whose attributes alone changed, and those only
    /// moved (written last: they touch no row the other writes touch, as
    /// an object written whole or deleted is among neither; one may be
    /// among both, if it moved and its attributes changed, and each writes
    /// its own column).
    fn writes_apart(&self, written: &Written) -> Apart {
        let mut whole = Vec::new();
        let mut attributes = Vec::new();
        let mut fingerprints = Vec::with_capacity(self.objects.len());
        for o in self.objects.values() {
            // The fingerprint is taken of the object itself: an object whose
            // other columns are as written is not made into a whole row.
            let f = written.fingerprint(o);
            fingerprints.push((o.id, f));
            if written.rows.get(&o.id) == Some(&f) {
                attributes.push((o.id, store::attributes_column(o)));
            } else {
                whole.push(object::Model::from(o));
            }
        }
        // What the game changed in attributes alone: no fingerprint to
        // take, and no copy of the rest of the object was made.
        attributes.extend(
            self.attributes
                .iter()
                .map(|(&id, a)| (id, store::attributes_text(a))),
        );
        let moves: Vec<(i64, Option<i64>)> = self.moves.iter().map(|(&id, &l)| (id, l)).collect();
        let deleted: Vec<i64> = self.deleted.iter().copied().collect();
        let mut w = writes::update_accounts(self.accounts.values().map(AccountRow::from).collect());
        w.extend(writes::delete_accounts(&self.accounts_deleted));
        w.extend(writes::write_flows(
            self.flows.values().cloned().collect(),
            self.flows_deleted.iter().cloned().collect(),
        ));
        w.extend(writes::retire_world_ids(&self.retired));
        w.extend(writes::set_config_rows(&self.config));
        let channels: Vec<(i64, ChannelRecord)> = self
            .channels
            .iter()
            .map(|(id, r)| (*id, r.clone()))
            .collect();
        let channels_deleted: Vec<i64> = self.channels_deleted.iter().copied().collect();
        w.extend(writes::write_channels(
            &channels,
            &channels_deleted,
            &self.channel_lines,
            self.keep_lines,
        ));
        w.extend(writes::write_subscriptions(&self.subscriptions));
        w.extend(writes::write_timers(
            self.timers.values().cloned().collect(),
            self.timers_deleted.iter().cloned().collect(),
        ));
        Apart {
            whole,
            deleted,
            writes: w,
            attributes,
            moves,
            fingerprints,
        }
    }
}

/// A batch's writes with the objects' given apart.
struct Apart {
    /// Objects' rows written whole.
    whole: Vec<object::Model>,
    /// Objects deleted.
    deleted: Vec<i64>,
    /// Everything else, in order.
    writes: Vec<writes::Write>,
    /// Objects whose attributes alone changed: their ids and attributes' text.
    attributes: Vec<(i64, String)>,
    /// Objects only moved: their ids and where they are.
    moves: Vec<(i64, Option<i64>)>,
    /// The fingerprints of the objects' rows written (to [`Written::record`]).
    fingerprints: Vec<(i64, u64)>,
}

impl Apart {
    /// Every write in order: the rows written whole, the deletions, the
    /// rest, the attributes and the places; and the fingerprints.
    fn into_writes(self, backend: sea_orm::DbBackend) -> (Vec<writes::Write>, Vec<(i64, u64)>) {
        let mut w = writes::upsert_objects(backend, self.whole);
        w.extend(writes::delete_objects(&self.deleted));
        w.extend(self.writes);
        w.extend(writes::update_attributes(backend, &self.attributes));
        w.extend(writes::move_objects(&self.moves));
        (w, self.fingerprints)
    }
}

/// How a commit went to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    /// Scripts with the values written in.
    Scripts,
    /// Objects alone, bound to the statement SQLite keeps prepared.
    Bound,
}

/// Where the scripts of a commit come from.
enum Scripts {
    /// Made already.
    Made(std::vec::IntoIter<String>),
    /// Being made on another thread.
    Coming(mpsc::Receiver<String>),
}

impl Scripts {
    async fn next(&mut self) -> Option<String> {
        match self {
            Scripts::Made(it) => it.next(),
            Scripts::Coming(rx) => rx.recv().await,
        }
    }
}

/// Writes a batch as one transaction. On SQLite, a commit of objects alone
/// goes bound to the statements kept prepared; any other is one script
/// with the values written in (on PostgreSQL, one round trip: each round
/// trip waits for another thread to be scheduled, and on a busy machine
/// those waits were most of a commit's time). A big one is several scripts
/// in one transaction, made on another thread while the database runs the
/// ones before.
async fn write(
    conn: &mut Conn,
    batch: &Arc<Batch>,
    written: &Arc<Mutex<Written>>,
) -> Result<Way, store::DbError> {
    let backend = conn.backend();
    let (scripts, fingerprints) = if batch.len() <= ROWS_MADE_BESIDE {
        let apart = batch.writes_apart(&lock(written));
        if let (Conn::Sqlite(w), true) = (&mut *conn, apart.writes.is_empty()) {
            // Objects alone (a fight's blows, players walking, a ticker's
            // work, builders making and describing things): the statements
            // prepared once, the rows bound.
            let json = |e: serde_json::Error| sea_orm::DbErr::Custom(format!("rows as JSON: {e}"));
            let commit = ObjectsCommit {
                whole: serde_json::to_string(&apart.whole).map_err(json)?,
                deleted: serde_json::to_string(&apart.deleted).map_err(json)?,
                attributes: writes::by_id_json(&apart.attributes).map_err(json)?,
                moves: writes::by_id_json(&apart.moves).map_err(json)?,
            };
            w.commit_objects(&commit)?;
            lock(written).record(apart.fingerprints, batch);
            return Ok(Way::Bound);
        }
        let (w, fingerprints) = apart.into_writes(backend);
        (
            Scripts::Made(writes::scripts(backend, &w).into_iter()),
            Ok(fingerprints),
        )
    } else {
        let (tx, rx) = mpsc::channel(2);
        let (batch, written) = (batch.clone(), written.clone());
        let made = tokio::task::spawn_blocking(move || {
            let (w, fingerprints) = batch.writes(backend, &lock(&written));
            writes::each_script(backend, &w, |s| tx.blocking_send(s).is_ok());
            fingerprints
        });
        (Scripts::Coming(rx), Err(made))
    };
    if let Err(e) = run_scripts(conn, backend, scripts).await {
        conn.roll_back().await;
        return Err(e);
    }
    let fingerprints = match fingerprints {
        Ok(f) => f,
        // Every script it made was run: it has finished.
        Err(made) => made.await.unwrap_or_default(),
    };
    lock(written).record(fingerprints, batch);
    Ok(Way::Scripts)
}

fn lock(written: &Mutex<Written>) -> std::sync::MutexGuard<'_, Written> {
    written.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the scripts in one transaction.
async fn run_scripts(
    conn: &mut Conn,
    backend: sea_orm::DbBackend,
    mut scripts: Scripts,
) -> Result<(), store::DbError> {
    let db = match conn {
        Conn::Sqlite(w) => {
            // Rolled back if dropped uncommitted (an error on the way).
            let txn = w.transaction()?;
            while let Some(script) = scripts.next().await {
                txn.execute_batch(&script)?;
            }
            txn.commit()?;
            return Ok(());
        }
        Conn::Orm(db) => db,
    };
    let Some(first) = scripts.next().await else {
        return Ok(());
    };
    let Some(second) = scripts.next().await else {
        let script = format!("{};\n{first}COMMIT", writes::begin(backend));
        db.execute_unprepared(&script).await?;
        return Ok(());
    };
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    txn.execute_unprepared(&first).await?;
    let mut next = Some(second);
    while let Some(script) = next {
        txn.execute_unprepared(&script).await?;
        next = scripts.next().await;
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sea_orm::{ColumnTrait, ColumnType, Iterable, ModelTrait, Value};

    use super::*;

    /// Changes handed over one after another and committed together: the
    /// last of each object wins, whatever the way it came.
    #[test]
    fn a_batch_keeps_each_objects_last_change_whatever_way_it_came() {
        use crate::model::world::Kind;
        let attrs = |n: i64| {
            let mut a = Attributes::new();
            a.insert("n".into(), serde_json::json!(n));
            a
        };
        let whole = |id: i64, n: i64| {
            let mut o = Object::new(id, "stone", "thing", Kind::Thing);
            o.db = attrs(n);
            o
        };
        let mut b = Batch::default();
        // 1: whole, then attributes: the whole row with the new ones.
        // 2: attributes, then whole: the whole row.
        // 3: attributes twice, and a move: the last attributes and the move.
        // 4: attributes, then destroyed: neither written.
        b.add(Changes {
            objects: vec![whole(1, 0)],
            attributes: vec![(2, attrs(0)), (3, attrs(0)), (4, attrs(0))],
            ..Default::default()
        });
        b.add(Changes {
            objects: vec![whole(2, 2)],
            attributes: vec![(1, attrs(1)), (3, attrs(3))],
            moves: vec![(3, Some(9))],
            deleted: vec![4],
            ..Default::default()
        });
        assert_eq!(b.objects[&1].db, attrs(1));
        assert_eq!(b.objects[&2].db, attrs(2));
        assert_eq!(b.attributes.keys().copied().collect::<Vec<_>>(), vec![3]);
        assert_eq!(b.attributes[&3], attrs(3));
        assert_eq!(b.moves.get(&3), Some(&Some(9)));
        assert_eq!(b.len(), 5, "two rows, one's attributes, a move, a deletion");
        let apart = b.writes_apart(&Written::default());
        assert_eq!(apart.attributes, vec![(3, r#"{"n":3}"#.to_string())]);
        assert_eq!(apart.moves, vec![(3, Some(9))]);
        let whole: Vec<i64> = apart.whole.iter().map(|r| r.id).collect();
        assert_eq!(whole, vec![1, 2]);
        assert_eq!(apart.deleted, vec![4]);
        assert!(apart.writes.is_empty(), "objects alone");
    }

    /// The fingerprint lists the columns by hand: one added to the objects'
    /// rows and not to it would let an attribute-only write skip its change.
    #[test]
    fn every_column_but_the_attributes_is_in_an_objects_fingerprint() {
        let written = Written::default();
        let base = object::Model {
            id: 5,
            key: "rock".into(),
            typeclass: "thing".into(),
            kind: "thing".into(),
            location_id: Some(1),
            home_id: Some(1),
            destination_id: None,
            account_id: None,
            description: "Grey.".into(),
            attributes: "{}".into(),
            aliases: "[]".into(),
            tags: "[]".into(),
            permissions: "[]".into(),
            locks: "get:all()".into(),
            cmdsets: "[]".into(),
            created_at: 7,
        };
        let before = written.fingerprint(&Object::from(base.clone()));
        for column in object::Column::iter() {
            let mut changed = base.clone();
            // A value the object reads back as a change of that column.
            let value: Value = match column {
                object::Column::Kind => "room".into(),
                object::Column::Attributes => r#"{"hp": 3}"#.into(),
                object::Column::Aliases | object::Column::Permissions => r#"["x"]"#.into(),
                object::Column::Cmdsets => r#"["x"]"#.into(),
                object::Column::Tags => r#"[{"key": "x"}]"#.into(),
                object::Column::Locks => "get:none()".into(),
                _ => match column.def().get_column_type() {
                    ColumnType::BigInteger => 4242i64.into(),
                    _ => "changed".into(),
                },
            };
            changed.set(column, value);
            assert_ne!(changed, base, "{column:?} was changed");
            let object = Object::from(changed);
            assert_ne!(
                object::Model::from(&object),
                base,
                "{column:?}: the object reads the change back"
            );
            let same = written.fingerprint(&object) == before;
            match column {
                object::Column::Id | object::Column::Attributes => {
                    assert!(same, "{column:?} is not part of the fingerprint")
                }
                _ => assert!(!same, "{column:?} is missing from the fingerprint"),
            }
        }
    }
}
