//! The driver: the thin tokio layer that carries out what the server core
//! asks. It hands each transmit's changes to the persister and holds the
//! frames until they are committed (group commit: everything waiting goes
//! in one transaction), spawns the server's tasks and brings their
//! completions back as events, and wakes the server when its next deadline
//! comes. The server process ([`tavern-launcher`]'s runner) and the
//! in-process [`TestGame`](crate::testing::TestGame) both drive the server
//! through it.
//!
//! Frames leave in the order they were made: one whose changes are durable
//! still waits for earlier ones, so a player never sees an answer before an
//! earlier one, nor one that reports another player's change before that
//! change is saved.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tavern_shared::link::{StopMode, ToPortal};
use tokio::sync::mpsc;

use crate::model::world::Timestamp;
use crate::runtime::server::{Server, ServerEvent, Task};
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
    /// Frames waiting for their changes to be committed, in order.
    held: VecDeque<(Ticket, Vec<ToPortal>)>,
    /// Frames that may leave at once (notices).
    urgent: Vec<ToPortal>,
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
            urgent: Vec::new(),
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
        if let Some(t) = self.server.poll_transmit() {
            let ticket = self.persister.save(t.changes);
            if !t.frames.is_empty() {
                self.held.push_back((ticket, t.frames));
            }
            if !t.notices.is_empty() {
                self.urgent.push(ToPortal::Batch {
                    ops: t.notices,
                    acks: Vec::new(),
                });
            }
        }
        self.spawn_tasks();
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
        let mut out = std::mem::take(&mut self.urgent);
        while self.held.front().is_some_and(|(t, _)| *t <= committed) {
            if let Some((_, frames)) = self.held.pop_front() {
                out.extend(frames);
            }
        }
        out
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
        let t = self.server.final_transmit(mode);
        let ticket = self.persister.save(t.changes);
        self.held.push_back((ticket, t.frames));
        self.urgent
            .extend((!t.notices.is_empty()).then_some(ToPortal::Batch {
                ops: t.notices,
                acks: Vec::new(),
            }));
        self.flush().await
    }

    fn spawn_tasks(&mut self) {
        while let Some(task) = self.server.poll_task() {
            spawn_task(task, self.tx.clone());
        }
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
        let mut d = Driver::new(server, Persister::start(db.clone()), clock);
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
    async fn frames_leave_only_once_the_changes_they_report_are_committed_and_in_order() {
        let (mut d, other, _dir) = driver().await;
        let lock = store::begin_write(&other).await.unwrap();
        // Session 1's command changes the world; session 2's only reads it.
        let room = d.server().world.start_room;
        let made = d
            .server_mut()
            .create_object(NewObject::new(Kind::Thing, "lamp").location(room));
        assert!(made.is_ok());
        d.server_mut().msg_session(1, "You make a lamp.");
        d.transmit();
        d.apply(ServerEvent::Link(ToServer::Input {
            sessid: 2,
            seq: 1,
            msg: Msg::text("look"),
        }));
        d.transmit();
        assert!(d.holding());
        assert!(
            d.ready().is_empty(),
            "nothing leaves while the lamp is not saved, not even the look after it"
        );
        // The write lock goes: the lamp is saved, then both frames leave, in order.
        lock.rollback().await.unwrap();
        let mut got = Vec::new();
        drive_until(&mut d, &mut got, 2).await;
        let said = texts(&got);
        assert_eq!(said.first().map(String::as_str), Some("You make a lamp."));
        assert!(said.iter().any(|t| t.contains("Welcome to")), "{said:?}");
        let rows = store::load_objects(&other).await.unwrap();
        assert!(
            rows.iter().any(|r| r.key == "lamp"),
            "the lamp is in the database"
        );
        let acks = got.iter().find_map(|f| match f {
            ToPortal::Batch { acks, .. } if !acks.is_empty() => Some(acks.clone()),
            _ => None,
        });
        assert_eq!(
            acks,
            Some(vec![(2, 1)]),
            "the look is acknowledged with its answer"
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
}
