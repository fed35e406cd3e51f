//! The server core: the game loop without I/O, over `&mut Server`, one
//! event at a time, so game code needs no locks (as Evennia's reactor does).
//!
//! Shaped like quinn-proto's `Connection`: time is an argument, and what the
//! server wants done is returned, never done here.
//!
//! - [`Server::handle`] applies an event (a link message from the portal, or
//!   the completion of work that ran elsewhere) at `now`;
//!   [`Server::handle_timeout`] fires what fell due.
//! - [`Server::poll_transmit`] returns what the events since the last call
//!   produced: the world's [`Changes`] to write, and the frames for the
//!   portal (effects and acknowledgements) that must not leave before those
//!   changes are durable.
//! - [`Server::poll_task`] returns work to run off the game thread (hashing
//!   a password, creating an account); its completion comes back as an event.
//! - [`Server::poll_timeout`] says when to call `handle_timeout` next.
//!
//! The tokio layer that carries these out is [`crate::runtime::driver`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tavern_shared::link::{PortalOp, StartMode, StopMode, ToPortal, ToServer};
use tavern_shared::{Msg, SessId, Settings};
use tracing::{debug, info, warn};

use crate::Game;
use crate::commands::Holder;
use crate::model::world::{Changes, IdMap, ObjId, Timestamp, World};
use crate::runtime::sessions::{ServerSession, ServerSessionHandler};
use crate::runtime::throttle::Throttle;

/// Work finished elsewhere, to be applied on the game thread.
pub type Completion = Box<dyn FnOnce(&mut Server) + Send>;

/// Work the server wants run off the game thread.
pub type Work = Pin<Box<dyn Future<Output = Completion> + Send>>;

/// A piece of work to run elsewhere; when it is done, hand its completion
/// back as [`ServerEvent::Done`] with the same `sessid`.
pub struct Task {
    /// The session whose input waits for it (None: no session's).
    pub sessid: Option<SessId>,
    /// The work.
    pub work: Work,
}

/// What the server reacts to: the portal, and work finished elsewhere.
pub enum ServerEvent {
    /// A message from the portal.
    Link(ToServer),
    /// A [`Task`] finished.
    Done {
        /// The session it was for, whose input waited.
        sessid: Option<SessId>,
        /// What to apply on the game thread.
        completion: Completion,
    },
    /// Something from a part running beside the game (a bridge): applied
    /// like a completion, but no task waited for it.
    Outside(Completion),
    /// A portal's link is up; its messages follow.
    PortalLinked {
        /// Its `[portal] id`.
        portal: tavern_shared::session::PortalId,
        /// Its pid, as it said.
        pid: u32,
        /// Where the link comes from.
        address: String,
    },
    /// A portal's link closed.
    PortalLost {
        /// Its `[portal] id`.
        portal: tavern_shared::session::PortalId,
    },
}

/// What the server has to send: the changes to write, and what to tell the
/// portal. Each op and acknowledgement says whether it *follows a change*:
/// it was made by an event that changed the world, so it must not leave
/// before those changes are durable (a player is never told of a change a
/// crash could still undo, and an input is acknowledged only with its
/// answer). The driver holds those, and keeps each session's output in
/// order behind them.
#[derive(Debug, Default)]
pub struct Transmit {
    /// The world's changes since the last transmit.
    pub changes: Changes,
    /// Effects for the portal, in order; `true`: it follows a change.
    pub ops: Vec<(PortalOp, bool)>,
    /// Acknowledged inputs `(session, seq)`; `true`: it follows a change.
    pub acks: Vec<(SessId, u64, bool)>,
    /// A reload, reset or shutdown the game asked for (after the effects).
    pub request: Option<StopMode>,
    /// Notices that report nothing saved or unsaved (the game cannot save
    /// right now): they may leave at once, ahead of held frames.
    pub notices: Vec<PortalOp>,
    /// Channel lines for bridges `(bridge, line)`: each was recorded in the
    /// channel's history, so they wait for the commit as held frames do.
    pub bridged: Vec<(usize, crate::runtime::bridges::BridgeLine)>,
}

impl Transmit {
    /// Everything, as frames in order, without telling what follows a change
    /// (for whoever sends it all at once, after a flush).
    pub fn into_frames(self) -> Vec<ToPortal> {
        let mut frames = Vec::new();
        if !self.ops.is_empty() || !self.acks.is_empty() {
            frames.push(ToPortal::Batch {
                ops: self.ops.into_iter().map(|(op, _)| op).collect(),
                acks: self.acks.into_iter().map(|(s, q, _)| (s, q)).collect(),
            });
        }
        if let Some(mode) = self.request {
            frames.push(ToPortal::Request { mode });
        }
        frames
    }
}

/// Where the event being handled began: what it adds after this follows a
/// change if the world changed in it.
#[derive(Debug, Default)]
struct EventMark {
    ops_from: usize,
    changes_at: u64,
    acks: Vec<SessId>,
}

/// Takes one command from a session's rate bucket (`rate` a second, bursts
/// of as many; 0: no limit). False when it is empty.
fn take_rate_token(s: &mut ServerSession, now: i64, rate: u32) -> bool {
    if rate == 0 {
        return true;
    }
    let rate = f64::from(rate);
    let (tokens, last) = s.rate;
    let elapsed = (now - last).max(0) as f64 / 1000.0;
    let tokens = (tokens.min(rate) + elapsed * rate).min(rate);
    if tokens >= 1.0 {
        s.rate = (tokens - 1.0, now);
        true
    } else {
        s.rate = (tokens, now);
        false
    }
}

/// Told to a session closed for idling (Evennia's words).
pub const IDLE_TIMEOUT_MSG: &str = "Idle timeout exceeded, disconnecting.";

/// The line clients send to keep a connection alive (Evennia's
/// `IDLE_COMMAND`): it is not run as a command and never answered.
pub const IDLE_COMMAND: &str = "idle";

/// Announced to everyone when a reload or reset begins.
pub const RELOAD_BEGIN_MSG: &str = "|y Server restart initiated ...|n";
/// What the player who asked for a reload is told while the new server
/// loads beside this one (everyone is still served).
pub const RELOAD_STANDBY_MSG: &str =
    "The new server is loading the world beside this one; the game goes on until it takes over.";
/// Announced to everyone when the new server has taken over.
pub const RELOAD_DONE_MSG: &str = "|y ... Server restarted.|n";
/// The `Core.Goodbye` GMCP clients are sent before a shutdown.
pub const SHUTDOWN_GOODBYE: &str = "The server is shutting down. Good bye!";
/// Announced to everyone before a shutdown.
pub const SHUTDOWN_MSG: &str = "|rThe server is shutting down. Good bye!|n";
/// Told to every session when the database stops taking writes, and to
/// those who type while it does not.
pub const CANNOT_SAVE_MSG: &str = "|rThe game cannot save right now. What you type waits, \
and is answered once the game can save again; nothing is lost.|n";

/// The running game: world, sessions and everything game code reaches.
pub struct Server {
    /// The settings the server started with.
    pub settings: Arc<Settings>,
    /// Every object and account, in memory; changes are written behind.
    pub world: World,
    /// The connected sessions.
    pub sessions: ServerSessionHandler,
    /// The database, for tasks to use off the game thread (the world is
    /// written through [`Server::poll_transmit`]).
    pub db: DatabaseConnection,
    /// The game's commands, typeclasses, lock functions and start hooks.
    pub game: Arc<Game>,
    /// Cmdsets added until the next reload (see [`Server::cmdset_add`]).
    pub(crate) temp_cmdsets: IdMap<Holder, Vec<Arc<crate::commands::CmdSet>>>,
    /// Merged cmdsets remembered between lines.
    pub(crate) cmdset_cache: std::sync::Mutex<crate::commands::cmdset::MergeCache>,
    /// Bare `help`'s texts, remembered.
    pub(crate) help_indexes: crate::commands::help_index::HelpIndexes,
    pub(crate) refilling_ids: bool,
    /// What each session's client was last sent of the live-data feeds.
    pub(crate) feed_states: IdMap<SessId, crate::runtime::feeds::FeedState>,
    /// Who is in which group, as the feeds last read it (see
    /// [`crate::runtime::feeds::Roster`]).
    pub(crate) feed_roster: crate::runtime::feeds::Roster,
    /// During a feed pass: the group each touched object was in before it.
    pub(crate) feed_pass_before: IdMap<ObjId, String>,
    /// During a feed pass: whether a touched object is or was in a group.
    pub(crate) feed_pass_grouped: bool,
    /// Sessions to be sent every package again on the next feed pass.
    pub(crate) feed_fresh: std::collections::BTreeSet<SessId>,
    /// Game code listening for account events (see `Server::on_event`).
    pub(crate) event_handlers: crate::runtime::multisession::EventHandlers,
    /// Login attempts per address (counted as they start; a success is taken back).
    pub(crate) login_throttle: Throttle,
    /// Failed (and pending) logins per account name: they slow further
    /// attempts down, never lock the owner out.
    pub(crate) account_failures: Throttle,
    /// Account creations per address (counted as they start).
    pub(crate) creation_throttle: Throttle,
    /// When this server started.
    pub started: Timestamp,
    /// The time of the event being handled.
    now: Timestamp,
    /// Whether it started cold, after a reload, or after a reset.
    pub start_mode: StartMode,
    /// The portals it serves (a game may have several).
    pub portals: crate::runtime::portals::Portals,
    connect_screen: String,
    /// Flow definitions and what the flows are doing (instances live in the world).
    pub flows: crate::runtime::flows::FlowRuntime,
    /// Effects of the current event, sent to the portal when it is done.
    pub(crate) ops: Vec<PortalOp>,
    /// Per op: whether it follows a change.
    pub(crate) op_follows_change: Vec<bool>,
    /// Per session: the last input acknowledged, and whether that follows a change.
    acks: IdMap<SessId, (u64, bool)>,
    event: EventMark,
    /// Work handed out by [`Server::poll_task`] and not yet done.
    pub(crate) inflight: usize,
    tasks: Vec<Task>,
    /// Whether changes can be saved (see [`Server::set_saving`]).
    saving: bool,
    /// Sessions told that the game cannot save, since it last could.
    told_cannot_save: std::collections::BTreeSet<SessId>,
    notices: Vec<PortalOp>,
    /// Lines typed so far (see `ServerSession::typed`).
    typed_count: u64,
    /// Messages sent so far (to tell whether a hook said anything).
    pub(crate) messages_sent: u64,
    stopping: Option<StopMode>,
    requested: Option<StopMode>,
    /// Who asked for the last reload in game (told how it goes).
    stop_asker: Option<SessId>,
    /// Whether the portal's sessions are here: until then the clock does
    /// not fire (what it says must reach the players it is for).
    pub(crate) clock_running: bool,
    /// Accounts' nicks with their patterns compiled.
    pub(crate) nick_cache: crate::runtime::nicks::NickCache,
    /// The channels' bridges to other chat systems.
    pub bridges: crate::runtime::bridges::Bridges,
    /// The prototypes of the game's code and files (those builders saved
    /// are in the world): see [`Server::prototypes`].
    pub(crate) prototype_defs: crate::model::prototypes::Prototypes,
    /// Whether the last command run refused (see `CmdCtx::fail`): batch
    /// files stop there.
    pub(crate) command_failed: bool,
    /// The game's own builder runs its first-start batch: it may set world
    /// ids, as code can.
    pub(crate) building_world: bool,
    /// Lines of input run, and how long each took on the game thread.
    pub(crate) lines_run: (u64, tavern_shared::metrics::Histogram),
    /// Tokens of dropped webclient sessions that may be resumed.
    pub(crate) resume_tokens: crate::runtime::resume::ResumeTokens,
    /// Turns for the database work players wait on (log-ins, new accounts):
    /// as many as the pool has connections, so a storm of them queues here,
    /// in order, instead of timing out waiting for a connection.
    pub(crate) db_turns: Arc<tokio::sync::Semaphore>,
}

impl Server {
    /// A server over a loaded world, at `now`. Call [`Server::started`] next.
    pub fn new(
        settings: Arc<Settings>,
        world: World,
        db: DatabaseConnection,
        game: Arc<Game>,
        now: Timestamp,
    ) -> Self {
        let sec = &settings.security;
        let connect_screen = game.connect_screen_text(&settings);
        let db_turns = Arc::new(tokio::sync::Semaphore::new(
            settings.database.max_connections.max(1) as usize,
        ));
        let mut server = Self {
            db_turns,
            login_throttle: Throttle::new(sec.max_failed_logins, sec.login_window_secs),
            account_failures: Throttle::new(
                if sec.max_failed_logins == 0 { 0 } else { 64 },
                sec.login_window_secs,
            ),
            creation_throttle: Throttle::new(sec.max_account_creations, sec.creation_window_secs),
            feed_states: IdMap::default(),
            feed_roster: Default::default(),
            feed_pass_before: IdMap::default(),
            feed_pass_grouped: false,
            feed_fresh: Default::default(),
            event_handlers: Default::default(),
            settings,
            world,
            sessions: ServerSessionHandler::default(),
            db,
            game,
            temp_cmdsets: IdMap::default(),
            cmdset_cache: Default::default(),
            help_indexes: Default::default(),
            refilling_ids: false,
            started: now,
            now,
            start_mode: StartMode::Cold,
            portals: Default::default(),
            connect_screen,
            flows: Default::default(),
            ops: Vec::new(),
            op_follows_change: Vec::new(),
            acks: IdMap::default(),
            event: EventMark::default(),
            inflight: 0,
            tasks: Vec::new(),
            saving: true,
            told_cannot_save: Default::default(),
            notices: Vec::new(),
            typed_count: 0,
            messages_sent: 0,
            stopping: None,
            requested: None,
            stop_asker: None,
            clock_running: false,
            nick_cache: Default::default(),
            bridges: Default::default(),
            prototype_defs: Default::default(),
            command_failed: false,
            building_world: false,
            resume_tokens: Default::default(),
            lines_run: (
                0,
                tavern_shared::metrics::Histogram::new(tavern_shared::metrics::SECONDS_BOUNDS),
            ),
        };
        server.load_flow_defs();
        server.load_prototypes();
        server.index_flows();
        let game = server.game.clone();
        server
            .world
            .set_typeclass_offers(Arc::new(move |name, kind| {
                game.typeclasses.offers_commands(name, kind)
            }));
        server
    }

    /// The time of the event being handled, in ms since the Unix epoch:
    /// the clock game code reads (tests set it by what they pass in).
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The text new connections are greeted with.
    pub fn connect_screen(&self) -> &str {
        &self.connect_screen
    }

    /// The server has loaded the world: run the game's start hooks (which
    /// build its world, idempotently) and every object's `at_server_start`.
    /// What they change goes out with the next [`Server::poll_transmit`].
    pub fn started(&mut self) {
        if let Some((name, text)) = self.game.first_start_batch.clone() {
            self.first_start_batch(&name, &text);
        }
        // Characters the launcher made while the game was down.
        self.pending_creation_hooks(None);
        let starts = self.game.on_start.clone();
        for f in starts {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self)));
            if ran.is_err() {
                tracing::error!("a game start hook panicked");
            }
        }
        self.hook_every_object("at_server_start", |tc, s, id| tc.at_server_start(s, id));
        self.start_channels();
        self.start_timers();
        self.start_bridges();
    }

    /// Whether the server is stopping and has no work left: time to send
    /// [`Server::final_transmit`] and exit.
    pub fn ready_to_stop(&self) -> Option<StopMode> {
        self.stopping.filter(|_| self.inflight == 0)
    }

    /// Handles one event at `now`; its effects wait for
    /// [`poll_transmit`](Self::poll_transmit), which may gather several
    /// events' (under load the driver applies every event already waiting,
    /// then transmits once).
    pub fn handle(&mut self, ev: ServerEvent, now: Timestamp) {
        self.now = self.now.max(now);
        self.close_span();
        match ev {
            ServerEvent::Link(msg) => self.link_message(msg),
            ServerEvent::PortalLinked {
                portal,
                pid,
                address,
            } => self.portal_linked(portal, pid, address),
            ServerEvent::PortalLost { portal } => self.portal_lost(portal),
            ServerEvent::Done { sessid, completion } => {
                self.inflight = self.inflight.saturating_sub(1);
                let ran =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| completion(self)));
                if ran.is_err() {
                    tracing::error!(?sessid, "a completion panicked");
                    if let Some(sessid) = sessid {
                        self.msg_session(sessid, crate::commands::COMMAND_FAILED_MSG);
                    }
                }
                if let Some(sessid) = sessid {
                    self.finish_busy(sessid);
                }
            }
            ServerEvent::Outside(completion) => {
                let ran =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| completion(self)));
                if ran.is_err() {
                    tracing::error!("a bridge's event panicked");
                }
            }
        }
        self.flush_flows();
        self.close_span();
        // The sessions this event borrowed to change are indexed again now:
        // until they are, every lookup by puppet or account walks them, and
        // a batch of many players' commands would make that walk long.
        self.settle_sessions();
    }

    /// Closes the span of activity since the last one closed (an event, or
    /// game code run between events): if the world changed in it, its ops
    /// and acknowledgements follow a change. A new span starts.
    fn close_span(&mut self) {
        if self.world.change_count() != self.event.changes_at {
            for f in &mut self.op_follows_change[self.event.ops_from..] {
                *f = true;
            }
            for s in std::mem::take(&mut self.event.acks) {
                if let Some(a) = self.acks.get_mut(&s) {
                    a.1 = true;
                }
            }
        }
        self.event = EventMark {
            ops_from: self.ops.len(),
            changes_at: self.world.change_count(),
            acks: Vec::new(),
        };
    }

    /// Brings the sessions lent out in an event back into their indexes,
    /// and the world's index of played objects up to date with them.
    pub(crate) fn settle_sessions(&mut self) {
        self.sessions.settle_lent();
        self.tell_world_played();
    }

    /// Tells the world which objects gained or lost their last session
    /// (see [`World::played_in`]).
    fn tell_world_played(&mut self) {
        for (obj, played) in self.sessions.take_played_changes() {
            self.world.set_played(obj, played);
        }
    }

    /// Acknowledges a session's input up to `seq`.
    fn ack(&mut self, sessid: SessId, seq: u64) {
        let a = self.acks.entry(sessid).or_insert((seq, false));
        a.0 = a.0.max(seq);
        self.event.acks.push(sessid);
    }

    /// Adds an op (it follows a change if its event makes one).
    pub(crate) fn push_op(&mut self, op: PortalOp) {
        self.ops.push(op);
        self.op_follows_change.push(false);
    }

    /// Fires what fell due by `now` on the one clock: scripts, tickers,
    /// delays and flow timeouts.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
        self.close_span();
        if self.clock_running {
            self.fire_timers();
        }
        self.drop_lost_portals();
        self.flush_flows();
        self.close_span();
        self.settle_sessions();
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let portals = self.next_portal_drop();
        if !self.clock_running {
            return portals;
        }
        match (self.next_deadline(), portals) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the store takes writes (the driver says so). While it does
    /// not, input waits unrun — the game makes no change it cannot save —
    /// and every session is told why, once; when it does again, what waited
    /// runs, in order.
    pub fn set_saving(&mut self, ok: bool) {
        if ok == self.saving {
            return;
        }
        self.saving = ok;
        if !ok {
            warn!("the store does not take writes: input waits until it does");
            let ids: Vec<SessId> = self.sessions.all().map(|s| s.sessid()).collect();
            for id in ids {
                self.tell_cannot_save(id);
            }
            return;
        }
        info!("the store takes writes again: running the input that waited");
        self.told_cannot_save.clear();
        let ids: Vec<SessId> = self.sessions.all().map(|s| s.sessid()).collect();
        for id in ids {
            self.finish_busy(id);
        }
    }

    /// Whether changes can be saved right now.
    pub fn saving(&self) -> bool {
        self.saving
    }

    fn tell_cannot_save(&mut self, sessid: SessId) {
        if self.told_cannot_save.insert(sessid) {
            self.notices.push(PortalOp::Output {
                sessid,
                msgs: vec![Msg::text(CANNOT_SAVE_MSG)],
            });
        }
    }

    /// The next piece of work to run off the game thread.
    pub fn poll_task(&mut self) -> Option<Task> {
        if self.tasks.is_empty() {
            return None;
        }
        Some(self.tasks.remove(0))
    }

    fn link_message(&mut self, msg: ToServer) {
        match msg {
            ToServer::Sync {
                portal_instance,
                portal_id,
                start_mode,
                sessions,
            } => self.portal_sync(portal_id, portal_instance, start_mode, sessions),
            ToServer::Portals { token } => self.report_portals(token),
            // The server process answers them; they never reach the game.
            ToServer::Detach | ToServer::Mark => {}
            ToServer::ReloadGivenUp { reason } => self.reload_given_up(&reason),
            ToServer::Admin {
                token,
                account,
                request,
            } => self.admin_request(token, account, request),
            ToServer::Connected(sync) => {
                debug!(sessid = sync.sessid, "session connected");
                let sessid = sync.sessid;
                let session = ServerSession::new(*sync);
                let banned = self.world.bans().of_address(session.ip()).cloned();
                self.sessions.insert(session);
                if let Some(ban) = banned {
                    info!(sessid, ban = ban.id, "a banned address was turned away");
                    self.disconnect(sessid, Some(crate::runtime::actions::banned_msg(&ban)));
                }
            }
            ToServer::Disconnected { sessid } => self.session_closed(sessid),
            ToServer::Updated(sync) => {
                let sessid = sync.sessid;
                if let Some(s) = self.sessions.get_mut(sessid) {
                    // A client that starts speaking GMCP, or changes the
                    // packages it takes, gets a fresh snapshot of them.
                    let oob_changed = s.sync.flags.options != sync.flags.options
                        || s.sync.flags.oob_supports != sync.flags.oob_supports;
                    s.sync.flags = sync.flags;
                    if oob_changed {
                        self.refresh_feeds(sessid);
                        self.offer_gmcp_login(sessid);
                    }
                }
            }
            ToServer::Input { sessid, seq, msg } => self.input(sessid, seq, msg),
            ToServer::Stop { mode } => self.begin_stop(mode),
            ToServer::AccountCreated { account } => self.load_account(account),
            ToServer::Authenticate {
                sessid,
                account,
                proof,
            } => self.authenticate(sessid, account, proof),
        }
    }

    /// Offers a client that announced `Char.Login` (Mudlet) to log in over
    /// GMCP, once per connection, before it is logged in.
    fn offer_gmcp_login(&mut self, sessid: SessId) {
        const OFFERED: &str = "_gmcp_login_offered";
        if !self.settings.server.gmcp_login {
            return;
        }
        let Some(s) = self.sessions.get_mut(sessid) else {
            return;
        };
        let wants = s.sync.flags.oob_supports.iter().any(|p| {
            p.split_whitespace()
                .next()
                .is_some_and(|m| m.eq_ignore_ascii_case("Char.Login"))
        });
        if s.sync.logged_in || !wants || s.data().contains_key(OFFERED) {
            return;
        }
        s.set_data(OFFERED, true.into());
        self.send_msg(
            sessid,
            crate::runtime::feeds::gmcp(
                "Char.Login.Default",
                serde_json::json!({"type": ["password-credentials"]}),
            ),
        );
    }

    /// A connection closed on the player's side, or its portal did not
    /// come back: the player leaves the game.
    pub(crate) fn session_closed(&mut self, sessid: SessId) {
        self.unpuppet(sessid);
        if let Some(account) = self.sessions.get(sessid).and_then(|s| s.account()) {
            self.account_hook("at_disconnect", |tc, s| {
                tc.at_disconnect(s, account, sessid)
            });
            self.announce_disconnect(account, None);
        }
        // The connection dropped (the server did not close it): the
        // webclient may come back and resume.
        self.keep_resume_token(sessid);
        self.sessions.remove(sessid);
        self.forget_session(sessid);
        debug!(sessid, "session disconnected");
    }

    /// Drops what the server keeps beside a session that is gone.
    pub(crate) fn forget_session(&mut self, sessid: SessId) {
        self.feed_states.remove(&sessid);
        self.temp_cmdsets.remove(&Holder::Session(sessid));
        self.acks.remove(&sessid);
    }

    fn input(&mut self, sessid: SessId, seq: u64, msg: Msg) {
        let Some(s) = self.sessions.get_mut(sessid) else {
            // The session is gone; nothing to do but say it is done.
            self.ack(sessid, seq);
            return;
        };
        if seq <= s.received {
            // Sent again by a portal whose link was cut before the answer
            // reached it: run once. Done already: say so again; waiting: it
            // is said when it runs.
            let waiting = s.busy == Some(seq) || s.held.iter().any(|(q, _)| *q == seq);
            if !waiting {
                self.ack(sessid, seq);
            }
            return;
        }
        s.received = seq;
        if s.busy.is_some() || !s.held.is_empty() || self.stopping.is_some() || !self.saving {
            s.held.push_back((seq, msg));
            if !self.saving {
                self.tell_cannot_save(sessid);
            }
            return;
        }
        self.execute(sessid, seq, msg);
    }

    fn execute(&mut self, sessid: SessId, seq: u64, msg: Msg) {
        let now = self.now as u64;
        self.typed_count += 1;
        let typed = self.typed_count;
        let Some(s) = self.sessions.get_mut(sessid) else {
            return;
        };
        s.sync.cmd_last = now;
        s.sync.cmd_total += 1;
        if msg.cmd == "text" {
            // The portal cleaned it; the server does not take that on trust.
            let line = tavern_shared::text::clean_input(msg.first_str().unwrap_or_default());
            let line = line.as_str();
            // `idle` is a keepalive (Evennia's IDLE_COMMAND): it counts as
            // input for the idle timers and is not a command.
            if line.trim() != IDLE_COMMAND {
                s.sync.cmd_last_visible = now;
                s.typed = typed;
                let allowed = take_rate_token(s, now as i64, self.settings.server.max_command_rate);
                let line = line.to_string();
                if allowed {
                    self.execute_line(sessid, &line);
                } else {
                    let rate = self.settings.server.max_command_rate;
                    self.msg_session(
                        sessid,
                        format!(
                            "You are sending commands faster than {rate} a second: '{}' was not run.",
                            tavern_shared::markup::escape(&line)
                        ),
                    );
                }
            }
        } else if !crate::runtime::inputfuncs::dispatch(self, sessid, &msg) {
            debug!(sessid, cmd = %msg.cmd, "input function not recognized");
        }
        match self.sessions.get_mut(sessid) {
            Some(s) if s.busy.is_none() => {
                self.ack(sessid, seq);
            }
            Some(s) => s.busy = Some(seq),
            None => {
                self.ack(sessid, seq);
            }
        }
    }

    /// Runs `work` off the game thread; its result is applied on the game
    /// thread. Input of `sessid` waits until then, so a player's commands
    /// stay in order.
    pub fn spawn_for<F>(&mut self, sessid: SessId, work: F)
    where
        F: Future<Output = Completion> + Send + 'static,
    {
        if let Some(s) = self.sessions.get_mut(sessid) {
            s.busy = Some(0);
        }
        self.spawn_done(Some(sessid), work);
    }

    /// Runs `work` off the game thread, for no session in particular; its
    /// result is applied on the game thread. A stop waits for it.
    pub fn spawn_task<F>(&mut self, work: F)
    where
        F: Future<Output = Completion> + Send + 'static,
    {
        self.spawn_done(None, work);
    }

    fn spawn_done<F>(&mut self, sessid: Option<SessId>, work: F)
    where
        F: Future<Output = Completion> + Send + 'static,
    {
        self.inflight += 1;
        self.tasks.push(Task {
            sessid,
            work: Box::pin(work),
        });
    }

    /// The session's background work is done: acknowledge its input and run what waited.
    fn finish_busy(&mut self, sessid: SessId) {
        let Some(s) = self.sessions.get_mut(sessid) else {
            return;
        };
        if let Some(seq) = s.busy.take() {
            self.ack(sessid, seq);
        }
        while self.stopping.is_none() && self.saving {
            let Some(s) = self.sessions.get_mut(sessid) else {
                return;
            };
            if s.busy.is_some() {
                return;
            }
            let Some((seq, msg)) = s.held.pop_front() else {
                return;
            };
            self.execute(sessid, seq, msg);
        }
    }

    /// Sends text to one session.
    pub fn msg_session(&mut self, sessid: SessId, text: impl Into<String>) {
        self.send_msg(sessid, Msg::text(text));
    }

    /// Sends any message (text, prompt, out-of-band) to one session.
    pub fn send_msg(&mut self, sessid: SessId, msg: Msg) {
        self.messages_sent += 1;
        // Messages of one event to one session share an op (not across
        // events: each event's ops may or may not follow a change).
        if self.ops.len() > self.event.ops_from
            && let Some(PortalOp::Output { sessid: last, msgs }) = self.ops.last_mut()
            && *last == sessid
        {
            msgs.push(msg);
            return;
        }
        self.push_op(PortalOp::Output {
            sessid,
            msgs: vec![msg],
        });
    }

    /// Sends the same message to several sessions: one op for them all (a
    /// room of 500 hearing a `say` costs one message to encode, not 500).
    pub fn send_msg_many(&mut self, sessids: &[SessId], msg: Msg) {
        match sessids {
            [] => {}
            [one] => self.send_msg(*one, msg),
            _ => {
                self.messages_sent += 1;
                if self.ops.len() > self.event.ops_from
                    && let Some(PortalOp::OutputMany {
                        sessids: last,
                        msgs,
                    }) = self.ops.last_mut()
                    && last == sessids
                {
                    msgs.push(msg);
                    return;
                }
                self.push_op(PortalOp::OutputMany {
                    sessids: sessids.to_vec(),
                    msgs: vec![msg],
                });
            }
        }
    }

    /// Closes a session after telling it why.
    pub fn disconnect(&mut self, sessid: SessId, reason: Option<String>) {
        self.unpuppet(sessid);
        if let Some(account) = self.sessions.get(sessid).and_then(|s| s.account()) {
            self.account_hook("at_disconnect", |tc, s| {
                tc.at_disconnect(s, account, sessid)
            });
            self.announce_disconnect(account, reason.as_deref());
        }
        self.temp_cmdsets.remove(&Holder::Session(sessid));
        if self.sessions.remove(sessid).is_some() {
            self.push_op(PortalOp::Disconnect { sessid, reason });
        }
    }

    /// Closes the logged-in sessions that typed nothing (not even the
    /// `idle` keepalive) for `[server] idle_timeout_secs`; superusers and
    /// Developers are exempt. Runs on the clock, and arms its next look.
    pub(crate) fn check_idle(&mut self) {
        let secs = self.settings.server.idle_timeout_secs;
        if secs == 0 {
            return;
        }
        let limit = (secs * 1000) as i64;
        let now = self.now();
        let idle: Vec<SessId> = self
            .sessions
            .logged_in()
            .filter(|s| now - (s.sync.cmd_last.max(s.sync.conn_time) as i64) > limit)
            .map(|s| s.sessid())
            .collect();
        for sessid in idle {
            let accessor = self.accessor(sessid);
            if self.has_perm(accessor, "Developer") {
                continue;
            }
            self.disconnect(sessid, Some(IDLE_TIMEOUT_MSG.into()));
        }
        self.arm_idle_check();
    }

    /// Arms the next look at idle sessions (a tenth of the timeout, from
    /// one second to a minute).
    pub(crate) fn arm_idle_check(&mut self) {
        let secs = self.settings.server.idle_timeout_secs;
        if secs == 0 {
            return;
        }
        let every = (secs * 100).clamp(1_000, 60_000) as i64;
        let at = self.now() + every;
        self.world
            .timers
            .clock
            .set(crate::model::timers::Due::IdleCheck, Some(at));
    }

    /// The info channel says an account's session went.
    fn announce_disconnect(&mut self, account: crate::model::ids::AccountId, reason: Option<&str>) {
        let name = self.world.account_name(account).to_string();
        match reason {
            Some(r) if !r.is_empty() => self.channel_info(&format!("{name} disconnected ({r})")),
            _ => self.channel_info(&format!("{name} disconnected")),
        }
    }

    /// Asks the portal for a reload, reset or shutdown (what the in-game commands do).
    pub fn request_stop(&mut self, mode: StopMode) {
        self.requested = Some(mode);
    }

    /// The same, asked by a player: told how it goes.
    pub(crate) fn request_stop_by(&mut self, sessid: SessId, mode: StopMode) {
        self.stop_asker = Some(sessid);
        self.request_stop(mode);
    }

    /// The portal readies a reload with a standby (this server was marked):
    /// whoever asked in game hears why nothing happens yet.
    pub fn marked_for_reload(&mut self) {
        if let Some(sessid) = self.stop_asker {
            self.msg_session(sessid, RELOAD_STANDBY_MSG);
        }
    }

    fn reload_given_up(&mut self, reason: &str) {
        if let Some(sessid) = self.stop_asker.take() {
            self.msg_session(
                sessid,
                format!(
                    "The reload was given up: {}. This server goes on; see the server's log.",
                    tavern_shared::markup::escape(reason)
                ),
            );
        }
    }

    fn begin_stop(&mut self, mode: StopMode) {
        info!(?mode, "stop requested by the portal");
        self.stopping = Some(mode);
        let text = match mode {
            StopMode::Reload | StopMode::Reset => RELOAD_BEGIN_MSG,
            StopMode::Shutdown => SHUTDOWN_MSG,
        };
        let ids: Vec<_> = self.sessions.all().map(|s| s.sessid()).collect();
        for id in ids {
            self.msg_session(id, text);
            if mode == StopMode::Shutdown && self.speaks_gmcp(id) {
                // GMCP clients are told the connection is about to close.
                self.send_msg(
                    id,
                    crate::runtime::feeds::gmcp(
                        "Core.Goodbye",
                        serde_json::json!(SHUTDOWN_GOODBYE),
                    ),
                );
            }
        }
    }

    /// The last transmit before exiting: every session's state, so the next
    /// server (or the portal, on shutdown) has it, and everything left to
    /// write. Puppets stay puppeted across a reload.
    pub fn final_transmit(&mut self, mode: StopMode) -> Transmit {
        match mode {
            StopMode::Shutdown => self.hook_every_object("at_server_shutdown", |tc, s, id| {
                tc.at_server_shutdown(s, id)
            }),
            _ => self.hook_every_object("at_server_reload", |tc, s, id| tc.at_server_reload(s, id)),
        }
        if mode == StopMode::Shutdown {
            let ids: Vec<_> = self.sessions.all().map(|s| s.sessid()).collect();
            for id in ids {
                self.unpuppet(id);
            }
        }
        let syncs: Vec<_> = self
            .sessions
            .all_mut()
            .map(|s| {
                s.dirty = false;
                PortalOp::SyncSession(Box::new(s.sync.clone()))
            })
            .collect();
        for op in syncs {
            self.push_op(op);
        }
        let mut t = self.poll_transmit().unwrap_or_default();
        // The stop's own request (if the game asked for it) has been carried out.
        t.request = None;
        t
    }

    /// What the events since the last call produced: the changes to write,
    /// and the frames to send once they are durable. None when there is
    /// neither.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        // What game code did between events is a span of its own; what the
        // flows and the live-data feeds say now reflects every change of the
        // batch: it follows a change if there was one.
        self.close_span();
        self.flush_flows();
        self.feed_pass();
        let changes = self.world.take_changes(self.now);
        for id in self.sessions.settle() {
            if let Some(s) = self.sessions.get(id) {
                let op = PortalOp::SyncSession(Box::new(s.sync.clone()));
                self.push_op(op);
            }
        }
        self.tell_world_played();
        if !changes.is_empty() {
            for f in &mut self.op_follows_change[self.event.ops_from..] {
                *f = true;
            }
        }
        let ops: Vec<(PortalOp, bool)> = std::mem::take(&mut self.ops)
            .into_iter()
            .zip(std::mem::take(&mut self.op_follows_change))
            .collect();
        let acks: Vec<(SessId, u64, bool)> =
            self.acks.drain().map(|(s, (q, f))| (s, q, f)).collect();
        self.event = EventMark {
            ops_from: 0,
            changes_at: self.world.change_count(),
            acks: Vec::new(),
        };
        // Effects first (the player sees the command answered), then the request.
        let request = self.requested.take();
        let notices = std::mem::take(&mut self.notices);
        let bridged = self.bridges.take_outbox();
        if ops.is_empty()
            && acks.is_empty()
            && request.is_none()
            && changes.is_empty()
            && notices.is_empty()
            && bridged.is_empty()
        {
            return None;
        }
        Some(Transmit {
            changes,
            ops,
            acks,
            bridged,
            request,
            notices,
        })
    }
}

#[cfg(test)]
mod tests;
