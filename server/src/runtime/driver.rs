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
use crate::runtime::server::{Server, ServerEvent};
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
        if let Some(t) = self.server.poll_transmit() {
            let ticket = self.persister.save(t.changes);
            if !t.frames.is_empty() {
                self.held.push_back((ticket, t.frames));
            }
        }
        self.spawn_tasks();
    }

    /// The frames whose changes are durable, in order; the rest wait.
    pub fn ready(&mut self) -> Vec<ToPortal> {
        let committed = self.persister.committed();
        let mut out = Vec::new();
        while self.held.front().is_some_and(|(t, _)| *t <= committed) {
            if let Some((_, frames)) = self.held.pop_front() {
                out.extend(frames);
            }
        }
        out
    }

    /// Whether frames wait for a commit.
    pub fn holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// Waits for the next thing to do: an event, a commit that may release
    /// held frames, or the server's deadline.
    pub async fn wake(&mut self) -> Wake {
        let deadline = self.server.poll_timeout().map(|d| {
            let now = (self.clock)();
            Duration::from_millis(d.saturating_sub(now).max(0) as u64)
        });
        let holding = !self.held.is_empty();
        tokio::select! {
            ev = self.rx.recv() => match ev {
                Some(ev) => Wake::Event(ev),
                None => Wake::Closed,
            },
            alive = self.persister.changed(), if holding => {
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
        self.flush().await
    }

    fn spawn_tasks(&mut self) {
        while let Some(task) = self.server.poll_task() {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let completion = task.work.await;
                let _ = tx
                    .send(ServerEvent::Done {
                        sessid: task.sessid,
                        completion,
                    })
                    .await;
            });
        }
    }
}
