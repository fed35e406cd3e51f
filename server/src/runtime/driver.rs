//! The driver: the thin tokio layer that carries out what the server core
//! asks. It hands each transmit's changes to the persister and holds the
//! frames until they are committed (group commit: everything waiting goes
//! in one transaction), spawns the server's tasks and brings their
//! completions back as events, and wakes the server when its next deadline
//! comes. The server process ([`tavern-launcher`]'s runner) and the
//! in-process [`TestGame`](crate::testing::TestGame) both drive the server
//! through it.
//!
//! What follows a change (the ops and acknowledgements of an event that
//! changed the world, and what the feeds report after it) leaves only once
//! the persister has committed that change; so does everything after it for
//! the same session, so a player never sees an answer before an earlier
//! one. What changed nothing and has nothing held before it for its
//! sessions leaves at once: a `look` does not wait for somebody else's
//! `dig` to be saved. (It may show another player's change a moment before
//! that change is durable; what a player is told they did, and every
//! acknowledgement, never comes before.)

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tavern_shared::SessId;
use tavern_shared::link::{PortalOp, StopMode, ToPortal};
use tokio::sync::mpsc;

use crate::model::world::{IdMap, Timestamp};
use crate::runtime::bridges::{BridgeLine, spawn_bridge};
use crate::runtime::server::{Server, ServerEvent, Task, Transmit};
use crate::store::persister::{Persister, Ticket};

/// How many events may wait for the game thread.
const EVENT_QUEUE: usize = 64 * 1024;

/// The clock the driver hands the server: ms since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The wall clock.
pub fn wall_clock() -> Clock {
    Arc::new(|| tavern_shared::session::now_millis() as Timestamp)
}

/// Why [`Driver::wake`] returned.
pub enum Wake {
    /// An event to apply (a link message someone sent, or a task's completion).
    Event(ServerEvent),
    /// The persister committed more: held frames may be ready.
    Committed,
    /// The server's deadline came.
    Timeout,
    /// Nothing will come any more (every sender and the persister are gone).
    Closed,
}

/// A server with its persister, its task spawner and its clock.
pub struct Driver {
    server: Server,
    persister: Persister,
    clock: Clock,
    tx: mpsc::Sender<ServerEvent>,
    rx: mpsc::Receiver<ServerEvent>,
    /// Frames waiting for their changes to be committed, in order, with the
    /// sessions they hold.
    held: VecDeque<Held>,
    /// How many held groups hold each session's output.
    held_sessions: IdMap<SessId, u32>,
    /// Frames that may leave at once (notices, and what follows no change).
    urgent: Vec<ToPortal>,
    /// Where each running bridge's lines go, by bridge id.
    bridges: HashMap<usize, mpsc::Sender<BridgeLine>>,
    /// Lines dropped because a bridge's queue was full.
    bridge_drops: u64,
}

/// Frames that wait for a commit, and the sessions whose output waits with them.
struct Held {
    ticket: Ticket,
    frames: Vec<ToPortal>,
    sessions: Vec<SessId>,
    /// Channel lines for bridges, released with the frames.
    bridged: Vec<(usize, BridgeLine)>,
}

impl Driver {
    /// Drives `server`, writing through `persister` (on the current tokio
    /// runtime), with `clock` as its time.
    pub fn new(server: Server, persister: Persister, clock: Clock) -> Self {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        Self {
            server,
            persister,
            clock,
            tx,
            rx,
            held: VecDeque::new(),
            held_sessions: IdMap::default(),
            urgent: Vec::new(),
            bridges: HashMap::new(),
            bridge_drops: 0,
        }
    }

    /// Where others (the link's reader) send events for the server.
    pub fn sender(&self) -> mpsc::Sender<ServerEvent> {
        self.tx.clone()
    }

    /// The server, to read.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The server's figures now, for the metrics endpoint (`pid`, uptime
    /// and memory are the process's, filled in by its caller).
    pub fn metrics(&mut self) -> tavern_shared::metrics::ServerMetrics {
        let s = &self.server;
        let written = self.persister.figures();
        let lag = self.persister.lag();
        let timers = &s.world.timers;
        tavern_shared::metrics::ServerMetrics {
            commands_total: s.lines_run.0,
            command_seconds: s.lines_run.1.clone(),
            messages_total: s.messages_sent,
            event_queue: self.rx.len() as u64,
            held_frames: self.held.iter().map(|h| h.frames.len() as u64).sum(),
            persister_lag: lag.tickets,
            persister_lag_seconds: lag.oldest_secs,
            commits_total: written.commits,
            commit_seconds: written.commit_seconds,
            commit_rows: written.commit_rows,
            database_errors_total: written.errors,
            objects: s.world.len() as u64,
            accounts: s.world.accounts.len() as u64,
            sessions: s.sessions.len() as u64,
            logged_in: s.sessions.logged_in().count() as u64,
            flows: s.world.flows.len() as u64,
            scripts: timers.script_count() as u64,
            timers: (timers.delay_count() + timers.ticker_count()) as u64,
            ..Default::default()
        }
    }

    /// The server, to run game code on directly (then [`Driver::transmit`]).
    pub fn server_mut(&mut self) -> &mut Server {
        &mut self.server
    }

    /// The driver's time.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Applies one event now.
    pub fn apply(&mut self, ev: ServerEvent) {
        let now = self.now();
        self.server.handle(ev, now);
        self.spawn_tasks();
    }

    /// Fires what fell due.
    pub fn timeout(&mut self) {
        let now = self.now();
        self.server.handle_timeout(now);
        self.spawn_tasks();
    }

    /// An event already waiting, if any (to apply several, then transmit once).
    pub fn try_event(&mut self) -> Option<ServerEvent> {
        self.rx.try_recv().ok()
    }

    /// Takes what the server has to send: its changes go to the persister,
    /// its frames wait behind them (see [`Driver::ready`]).
    pub fn transmit(&mut self) {
        self.check_store();
        if let Some(mut t) = self.server.poll_transmit() {
            let ticket = self.persister.save(std::mem::take(&mut t.changes));
            self.sort(t, ticket);
        }
        self.spawn_tasks();
    }

    /// Sorts a transmit's effects: what follows a change, and whatever comes
    /// after held output of the same session, waits for `ticket`; the rest
    /// may leave now.
    fn sort(&mut self, t: Transmit, ticket: Ticket) {
        let Transmit {
            ops,
            acks,
            request,
            notices,
            bridged,
            ..
        } = t;
        if !notices.is_empty() {
            self.urgent.push(ToPortal::Batch {
                ops: notices,
                acks: Vec::new(),
            });
        }
        let mut now_ops = Vec::new();
        let mut held_ops = Vec::new();
        let mut held_here: Vec<SessId> = Vec::new();
        let held_sessions = &self.held_sessions;
        let is_held =
            |s: SessId, here: &[SessId]| held_sessions.contains_key(&s) || here.contains(&s);
        for (op, follows) in ops {
            match op {
                PortalOp::OutputMany { sessids, msgs } if !follows => {
                    let (wait, go): (Vec<SessId>, Vec<SessId>) =
                        sessids.into_iter().partition(|&s| is_held(s, &held_here));
                    if !go.is_empty() {
                        now_ops.push(PortalOp::OutputMany {
                            sessids: go,
                            msgs: msgs.clone(),
                        });
                    }
                    if !wait.is_empty() {
                        held_ops.push(PortalOp::OutputMany {
                            sessids: wait,
                            msgs,
                        });
                    }
                }
                PortalOp::ConnectScreen(_) | PortalOp::AccountKnown { .. } if !follows => {
                    now_ops.push(op)
                }
                op => {
                    let sessions = op_sessions(&op);
                    if follows || sessions.iter().any(|&s| is_held(s, &held_here)) {
                        for s in sessions {
                            if !held_here.contains(&s) {
                                held_here.push(s);
                            }
                        }
                        held_ops.push(op);
                    } else {
                        now_ops.push(op);
                    }
                }
            }
        }
        let mut now_acks = Vec::new();
        let mut held_acks = Vec::new();
        for (s, seq, follows) in acks {
            if follows || is_held(s, &held_here) {
                if !held_here.contains(&s) {
                    held_here.push(s);
                }
                held_acks.push((s, seq));
            } else {
                now_acks.push((s, seq));
            }
        }
        if !now_ops.is_empty() || !now_acks.is_empty() {
            self.urgent.push(ToPortal::Batch {
                ops: now_ops,
                acks: now_acks,
            });
        }
        let mut frames = Vec::new();
        if !held_ops.is_empty() || !held_acks.is_empty() {
            frames.push(ToPortal::Batch {
                ops: held_ops,
                acks: held_acks,
            });
        }
        // A stop the game asked for comes after everything it said.
        if let Some(mode) = request {
            if frames.is_empty() && self.held.is_empty() {
                self.urgent.push(ToPortal::Request { mode });
            } else {
                frames.push(ToPortal::Request { mode });
            }
        }
        if !frames.is_empty() || !bridged.is_empty() {
            for &s in &held_here {
                *self.held_sessions.entry(s).or_default() += 1;
            }
            self.held.push_back(Held {
                ticket,
                frames,
                sessions: held_here,
                bridged,
            });
        }
    }

    /// Tells the server whether the store takes writes; what that changes
    /// goes out with the next transmit.
    fn check_store(&mut self) {
        let ok = !self.persister.failing();
        if ok != self.server.saving() {
            self.server.set_saving(ok);
        }
    }

    /// The frames that may leave now: notices, then the frames whose changes
    /// are durable, in order; the rest wait.
    pub fn ready(&mut self) -> Vec<ToPortal> {
        let committed = self.persister.committed();
        let mut out = Vec::new();
        while self.held.front().is_some_and(|h| h.ticket <= committed) {
            if let Some(h) = self.held.pop_front() {
                out.extend(h.frames);
                for (id, line) in h.bridged {
                    self.hand_to_bridge(id, line);
                }
                for s in h.sessions {
                    if let Some(n) = self.held_sessions.get_mut(&s) {
                        *n -= 1;
                        if *n == 0 {
                            self.held_sessions.remove(&s);
                        }
                    }
                }
            }
        }
        // What was released above was held before anything now ready: it goes first.
        out.append(&mut self.urgent);
        out
    }

    /// Whether held frames have become ready (their commit landed): a busy
    /// loop applying events should stop and send them.
    pub fn frames_ready(&self) -> bool {
        let committed = self.persister.committed();
        self.held.front().is_some_and(|h| h.ticket <= committed) || !self.urgent.is_empty()
    }

    /// Whether frames wait for a commit.
    pub fn holding(&self) -> bool {
        !self.held.is_empty() || !self.urgent.is_empty()
    }

    /// Waits for the next thing to do: an event, a commit that may release
    /// held frames (or a change in whether the store takes writes), or the
    /// server's deadline. After it, [`Driver::transmit`] and [`Driver::ready`].
    pub async fn wake(&mut self) -> Wake {
        let deadline = self.server.poll_timeout().map(|d| {
            let now = (self.clock)();
            Duration::from_millis(d.saturating_sub(now).max(0) as u64)
        });
        tokio::select! {
            ev = self.rx.recv() => match ev {
                Some(ev) => Wake::Event(ev),
                None => Wake::Closed,
            },
            alive = self.persister.changed() => {
                if alive { Wake::Committed } else { Wake::Closed }
            }
            _ = tokio::time::sleep(deadline.unwrap_or_default()), if deadline.is_some() => Wake::Timeout,
        }
    }

    /// Waits until every change handed over so far is durable, and returns
    /// every frame held.
    pub async fn flush(&mut self) -> Vec<ToPortal> {
        self.persister.flush().await;
        self.ready()
    }

    /// The last frames before the server exits: the final transmit (every
    /// session's state), once everything is durable.
    pub async fn finish(&mut self, mode: StopMode) -> Vec<ToPortal> {
        let mut t = self.server.final_transmit(mode);
        let ticket = self.persister.save(std::mem::take(&mut t.changes));
        self.sort(t, ticket);
        self.flush().await
    }

    fn spawn_tasks(&mut self) {
        while let Some(task) = self.server.poll_task() {
            spawn_task(task, self.tx.clone());
        }
        while let Some((id, bridge)) = self.server.poll_bridge() {
            let lines = spawn_bridge(id, bridge, self.tx.clone());
            self.bridges.insert(id, lines);
        }
    }

    /// Hands a line to a bridge without waiting: a bridge that cannot keep
    /// up loses lines, the game never waits for it.
    fn hand_to_bridge(&mut self, id: usize, line: BridgeLine) {
        let Some(tx) = self.bridges.get(&id) else {
            return;
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(line) {
            self.bridge_drops += 1;
            if self.bridge_drops.is_power_of_two() {
                tracing::warn!(
                    bridge = id,
                    dropped = self.bridge_drops,
                    "a bridge is not keeping up; channel lines for it were dropped"
                );
            }
        }
    }
}

/// The sessions an op is for.
fn op_sessions(op: &PortalOp) -> Vec<SessId> {
    match op {
        PortalOp::Output { sessid, .. } | PortalOp::Disconnect { sessid, .. } => vec![*sessid],
        PortalOp::OutputMany { sessids, .. } => sessids.clone(),
        PortalOp::SyncSession(sync) => vec![sync.sessid],
        PortalOp::ConnectScreen(_)
        | PortalOp::AccountKnown { .. }
        | PortalOp::Portals { .. }
        | PortalOp::Admin { .. } => Vec::new(),
    }
}

/// Runs a task of the server's on the current tokio runtime; its completion
/// comes back on `events`.
pub(crate) fn spawn_task(task: Task, events: mpsc::Sender<ServerEvent>) {
    tokio::spawn(async move {
        let completion = task.work.await;
        let _ = events
            .send(ServerEvent::Done {
                sessid: task.sessid,
                completion,
            })
            .await;
    });
}

#[cfg(test)]
mod tests {
    //! The driver on a real SQLite file, whose write lock another connection
    //! takes: what the game shows waits for what it reports to be saved.

    use std::sync::Arc;

    use tavern_shared::link::{ToPortal, ToServer};
    use tavern_shared::{Msg, SessionSync, Settings};

    use super::*;
    use crate::model::world::Kind;
    use crate::runtime::create::NewObject;
    use crate::store;

    fn texts(frames: &[ToPortal]) -> Vec<String> {
        let mut out = Vec::new();
        for f in frames {
            if let ToPortal::Batch { ops, .. } = f {
                for op in ops {
                    for (_, msgs) in op.outputs() {
                        out.extend(msgs.iter().filter_map(|m| m.first_str().map(String::from)));
                    }
                }
            }
        }
        out
    }

    async fn driver() -> (Driver, sea_orm::DatabaseConnection, std::path::PathBuf) {
        let (url, dir) = crate::testing::db::sqlite_url("driver");
        let db = store::connect(&url, 2).await.unwrap();
        let world = store::load_world(&db).await.unwrap();
        let clock = wall_clock();
        let mut server = Server::new(
            Arc::new(Settings::defaults()),
            world,
            db.clone(),
            Arc::new(crate::Game::new()),
            clock(),
        );
        server.started();
        let mut d = Driver::new(
            server,
            Persister::start(&url, std::time::Duration::from_millis(5)),
            clock,
        );
        d.transmit();
        d.flush().await;
        for sessid in [1, 2] {
            d.apply(ServerEvent::Link(ToServer::Connected(Box::new(
                SessionSync {
                    sessid,
                    ..Default::default()
                },
            ))));
        }
        d.transmit();
        d.flush().await;
        // Another process holds the write lock: nothing can be committed.
        let other = store::connect(&url, 1).await.unwrap();
        (d, other, dir)
    }

    /// Runs the driver until `want` frames arrived (or ten seconds passed).
    async fn drive_until(d: &mut Driver, got: &mut Vec<ToPortal>, want: usize) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while got.len() < want {
            let woke = tokio::time::timeout_at(deadline, d.wake())
                .await
                .expect("the held frames were released");
            if let Wake::Event(ev) = woke {
                d.apply(ev);
            }
            d.transmit();
            got.extend(d.ready());
        }
    }

    #[tokio::test]
    async fn what_follows_a_change_leaves_once_it_is_committed_and_each_session_in_order() {
        let (mut d, other, _dir) = driver().await;
        let lock = store::begin_write(&other).await.unwrap();
        // Game code makes a lamp and tells session 1.
        let room = d.server().world.start_room;
        let made = d
            .server_mut()
            .create_object(NewObject::new(Kind::Thing, "lamp").location(room));
        assert!(made.is_ok());
        d.server_mut().msg_session(1, "You make a lamp.");
        d.transmit();
        assert!(d.holding());
        let look = |d: &mut Driver, sessid, seq| {
            d.apply(ServerEvent::Link(ToServer::Input {
                sessid,
                seq,
                msg: Msg::text("look"),
            }));
            d.transmit();
            d.ready()
        };
        // Session 2 changed nothing, and waits behind nothing: answered at once.
        let now = look(&mut d, 2, 1);
        assert!(
            texts(&now).iter().any(|t| t.contains("Welcome to")),
            "{now:?}"
        );
        // Session 1's look comes after what it was told of the lamp: it waits.
        assert!(
            look(&mut d, 1, 1).is_empty(),
            "nothing passes the unsaved lamp"
        );
        // The write lock goes: the lamp is saved, then session 1 hears, in order.
        lock.rollback().await.unwrap();
        let mut got = Vec::new();
        drive_until(&mut d, &mut got, 1).await;
        let said = texts(&got);
        assert_eq!(said.first().map(String::as_str), Some("You make a lamp."));
        assert!(said.iter().any(|t| t.contains("Welcome to")), "{said:?}");
        let rows = store::load_objects(&other).await.unwrap();
        assert!(
            rows.iter().any(|r| r.key == "lamp"),
            "the lamp is in the database"
        );
        let acks: Vec<(u64, u64)> = got
            .iter()
            .filter_map(|f| match f {
                ToPortal::Batch { acks, .. } => Some(acks.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(
            acks,
            vec![(1, 1)],
            "session 1's look is acknowledged with its answer"
        );
    }

    #[tokio::test]
    async fn what_changes_nothing_is_not_held_when_nothing_waits() {
        let (mut d, other, _dir) = driver().await;
        let _lock = store::begin_write(&other).await.unwrap();
        d.apply(ServerEvent::Link(ToServer::Input {
            sessid: 2,
            seq: 1,
            msg: Msg::text("look"),
        }));
        d.transmit();
        let out = texts(&d.ready());
        assert!(out.iter().any(|t| t.contains("Welcome to")), "{out:?}");
    }

    /// A bridge that hands every line it gets to the test.
    struct Recorder(tokio::sync::mpsc::UnboundedSender<BridgeLine>);

    impl crate::runtime::bridges::Bridge for Recorder {
        fn name(&self) -> String {
            "rec".into()
        }
        fn channel(&self) -> String {
            "public".into()
        }
        fn run(
            self: Box<Self>,
            mut link: crate::runtime::bridges::BridgeLink,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
            Box::pin(async move {
                link.say("zed", "from outside", false).await;
                while let Some(line) = link.next().await {
                    let _ = self.0.send(line);
                }
            })
        }
    }

    #[tokio::test]
    async fn a_line_for_a_bridge_leaves_only_once_its_history_is_committed() {
        let (url, _dir) = crate::testing::db::sqlite_url("driver-bridge");
        let db = store::connect(&url, 2).await.unwrap();
        let world = store::load_world(&db).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let tx = std::sync::Mutex::new(Some(tx));
        let game = crate::Game::new().bridge(move |_| {
            tx.lock()
                .unwrap()
                .take()
                .map(|tx| Box::new(Recorder(tx)) as Box<dyn crate::runtime::bridges::Bridge>)
                .into_iter()
                .collect()
        });
        let clock = wall_clock();
        let mut server = Server::new(
            Arc::new(Settings::defaults()),
            world,
            db.clone(),
            Arc::new(game),
            clock(),
        );
        server.started();
        let mut d = Driver::new(
            server,
            Persister::start(&url, std::time::Duration::from_millis(5)),
            clock,
        );
        d.transmit();
        d.flush().await;
        // The bridge says a line from outside: it is recorded on the channel.
        let ch = d.server().channel("public").unwrap();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while d.server().world.channels.history_len(ch) == 0 {
            match tokio::time::timeout_at(deadline, d.wake()).await {
                Ok(Wake::Event(ev)) => d.apply(ev),
                Ok(_) => {}
                Err(_) => panic!("the bridge's line never came in"),
            }
            d.transmit();
            d.ready();
        }
        let heard = d.server().world.channels.history(ch, 1, 0)[0].clone();
        assert_eq!(
            (heard.sender.as_str(), heard.text.as_str()),
            ("zed@rec", "from outside")
        );
        d.flush().await;
        assert!(
            rx.try_recv().is_err(),
            "a bridge's own line is not sent back to it"
        );

        // With the database locked, a line said on the channel waits.
        let other = store::connect(&url, 1).await.unwrap();
        let lock = store::begin_write(&other).await.unwrap();
        d.server_mut()
            .channel_send(ch, "Anna", "hello", false)
            .unwrap();
        d.transmit();
        d.ready();
        assert!(d.holding());
        assert_eq!(
            d.bridges[&0].capacity(),
            crate::runtime::bridges::BRIDGE_QUEUE,
            "nothing was handed to the bridge before the commit"
        );
        lock.rollback().await.unwrap();
        let mut got = Vec::new();
        while rx.is_empty() {
            let woke = tokio::time::timeout_at(deadline, d.wake())
                .await
                .expect("the line reached the bridge");
            if let Wake::Event(ev) = woke {
                d.apply(ev);
            }
            d.transmit();
            got.extend(d.ready());
            tokio::task::yield_now().await;
        }
        let line = rx.try_recv().unwrap();
        assert_eq!(
            (line.sender.as_str(), line.text.as_str()),
            ("Anna", "hello")
        );
        let rows = store::load_channel_lines(&other).await.unwrap();
        assert!(
            rows.iter().any(|r| r.text == "hello"),
            "the line is on disk"
        );
    }
}
