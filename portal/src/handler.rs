//! The PortalSessionHandler: one task that owns every PortalSession and the
//! portal's side of the link, and decides when the server is (re)started.
//!
//! Everything reaches it as a [`HubEvent`] on one channel, so its state needs
//! no locks and every change happens in one order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tavern_shared::link::admin::{AdminReply, AdminRequest};
use tavern_shared::link::{
    LauncherReply, LauncherRequest, LoginProof, PortalOp, ServerState, StandbyGo, StartMode,
    StatusReport, StopMode, ToPortal, ToServer,
};
use tavern_shared::{Msg, SessId, SessionSync, Settings};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use crate::fanout::Outgoing;
use crate::link::LinkEvent;
use crate::outbox::OutboxSender;
use crate::session::{PortalSession, SessionEvent, SessionOut};
use crate::supervisor::{ProcessEvent, Supervisor};

/// Told to the player whose input crashed the server twice in a row.
pub(crate) const POISON_INPUT_MSG: &str = "|rYour last command made the game server fail twice in a row, \
so it was dropped. The game's operators can find it in the logs.|n";
/// Shown to every logged-in player when the server dies unexpectedly.
pub(crate) const SERVER_CRASHED_MSG: &str =
    "|rThe game server stopped unexpectedly. It is being restarted; what you type is kept.|n";
/// Shown to the logged-in players of an extra portal whose link to the
/// server is lost without the server saying it stops.
pub(crate) const LINK_LOST_MSG: &str =
    "|rThe connection to the game server was lost. Reconnecting; what you type is kept.|n";
/// Told to the players of an extra portal that is stopped on its own.
pub(crate) const PORTAL_STOPPING_MSG: &str =
    "This entrance to the game is closing. Connect again through another one.";
/// How long `tavern status` waits for the server's list of portals.
const STATUS_WAIT: Duration = Duration::from_secs(2);
/// Shown to a player whose input queue overflowed while the server was away.
pub(crate) const INPUT_DROPPED_MSG: &str =
    "Too much input is waiting for the server; that line was dropped.";
/// Shown to connections made while no server (and no connection screen) is there yet.
pub(crate) const WAIT_FOR_SERVER_MSG: &str = "The game is starting up, one moment...";

/// Everything the handler reacts to: what each part of the portal tells it
/// (each part owns its kind of event, and knows nothing of the handler).
pub(crate) enum HubEvent {
    /// From a connection's task.
    Session(SessionEvent),
    /// From the link: a server or a launcher.
    Link(LinkEvent),
    /// From the supervisor: a server process exited, a restart is due.
    Process(ProcessEvent),
    /// SIGINT / SIGTERM.
    Terminate,
}

impl From<SessionEvent> for HubEvent {
    fn from(e: SessionEvent) -> Self {
        HubEvent::Session(e)
    }
}

impl From<LinkEvent> for HubEvent {
    fn from(e: LinkEvent) -> Self {
        HubEvent::Link(e)
    }
}

impl From<ProcessEvent> for HubEvent {
    fn from(e: ProcessEvent) -> Self {
        HubEvent::Process(e)
    }
}

/// Where the handler's events arrive: one queue per part of the portal.
pub(crate) struct Inbox {
    /// From the connections' tasks.
    pub sessions: mpsc::Receiver<SessionEvent>,
    /// From the link's tasks.
    pub links: mpsc::Receiver<LinkEvent>,
    /// From the supervisor.
    pub processes: mpsc::Receiver<ProcessEvent>,
    /// A signal asked the portal to stop.
    pub terminate: mpsc::Receiver<()>,
}

impl Inbox {
    /// Events waiting, in every queue.
    fn len(&self) -> usize {
        self.sessions.len() + self.links.len() + self.processes.len()
    }

    async fn recv(&mut self) -> Option<HubEvent> {
        tokio::select! {
            Some(e) = self.sessions.recv() => Some(e.into()),
            Some(e) = self.links.recv() => Some(e.into()),
            Some(e) = self.processes.recv() => Some(e.into()),
            Some(()) = self.terminate.recv() => Some(HubEvent::Terminate),
            else => None,
        }
    }
}

/// How long a log-in made as the connection opens (SSH) waits for a server.
pub(crate) const LOGIN_WAIT: Duration = Duration::from_secs(30);
/// Log-ins that may wait for a server at once.
const MAX_WAITING_LOGINS: usize = 1024;

/// A log-in made as the connection opened, waiting for a server to check it.
struct WaitingLogin {
    sessid: SessId,
    account: String,
    proof: LoginProof,
    since: Instant,
}

struct LinkedServer {
    link_id: u64,
    pid: u32,
    tx: mpsc::UnboundedSender<ToServer>,
    since: Instant,
    /// It answers [`ToServer::Mark`] (a reload may use a standby).
    marks: bool,
}

/// A reload readied with a standby: the old server serves on while the
/// next one loads the world's objects beside it.
struct Preparing {
    mode: StopMode,
    /// Launchers waiting to hear how the reload went.
    waiters: Vec<oneshot::Sender<LauncherReply>>,
    /// The server answered the mark and the standby was started.
    marked: bool,
    since: Instant,
}

/// A hand-over to a new portal process under way (`tavern upgrade-portal`).
struct Upgrading {
    /// The launcher waiting to hear how it went.
    waiter: oneshot::Sender<LauncherReply>,
    since: Instant,
    /// The server process, for the new portal to adopt.
    server_pid: Option<u32>,
    /// The server has sent everything it had for this portal and let go of the link.
    detached: bool,
    /// Sessions asked to hand over that have not answered.
    waiting: std::collections::HashSet<SessId>,
    /// Sessions handed over, with their connection.
    handed: Vec<(SessId, crate::upgrade::HandedConnection)>,
    /// Connections that could not move (TLS, SSH, websockets): closed.
    closed: usize,
    /// The new process has been started.
    transferring: bool,
}

/// How long connections may take to stop and hand over.
const HAND_OVER_WAIT: Duration = Duration::from_secs(10);
/// How long the server may take to let go of the link.
const DETACH_WAIT: Duration = Duration::from_secs(30);

/// A stop the portal asked of the server, not yet complete.
struct PendingStop {
    mode: StopMode,
    asked: Instant,
    /// The server said it stopped: everything is written.
    stopped: bool,
    /// Launchers waiting to hear how it went.
    waiters: Vec<oneshot::Sender<LauncherReply>>,
}

/// The PortalSessionHandler: every session, the linked server, the stop in
/// progress, and the supervisor it drives.
pub(crate) struct Hub {
    settings: Settings,
    instance: u64,
    started: Instant,
    /// Boxed: the table's empty places are a pointer each, not a session.
    sessions: HashMap<SessId, Box<PortalSession>>,
    connect_screen: Option<String>,
    server: Option<LinkedServer>,
    stopping: Option<PendingStop>,
    /// A reload whose standby server is loading (the old server serves).
    preparing: Option<Preparing>,
    /// The standby, loaded, waiting for the old server to be gone.
    standby_go: Option<oneshot::Sender<StandbyGo>>,
    /// What the stopped server wrote since its mark, for the standby.
    stopped_changed: Option<Vec<i64>>,
    /// Log-ins waiting for a server (SSH clients connecting during a reload).
    waiting_logins: Vec<WaitingLogin>,
    /// Launchers waiting for a reloaded or reset server to link.
    restart_waiters: Vec<oneshot::Sender<LauncherReply>>,
    /// Launchers waiting for the server to know an account they made (a
    /// server that goes away drops them: the launcher hears so).
    awaiting_accounts: HashMap<i64, Vec<oneshot::Sender<LauncherReply>>>,
    /// What the next server is told about why it starts.
    next_start: StartMode,
    supervisor: Supervisor,
    crashes_in_a_row: u32,
    restarts: u64,
    shutting_down: bool,
    stats: std::sync::Arc<crate::stats::PortalStats>,
    /// Sessions came, went, or logged in or out: recount for MSSP.
    counts_dirty: bool,
    /// After a crash, unacknowledged input is fed to the next server one
    /// line at a time, so that an input that crashes it again is known.
    careful: bool,
    /// The one input sent in careful mode and not yet acknowledged.
    careful_inflight: Option<(SessId, u64)>,
    /// `tavern status` asks waiting for the server's list of portals, by token.
    status_asks: HashMap<u64, (StatusReport, Instant, oneshot::Sender<LauncherReply>)>,
    /// The web admin's questions waiting for the server, by token.
    admin_asks: HashMap<u64, oneshot::Sender<AdminReply>>,
    /// What a hand-over to a new portal process needs.
    kit: Option<crate::upgrade::UpgradeKit>,
    /// A hand-over under way.
    upgrading: Option<Upgrading>,
    /// This process handed everything over: it only exits now.
    handed_over: bool,
    next_token: u64,
}

impl Hub {
    /// A handler for a portal instance, with its supervisor.
    pub(crate) fn new(
        settings: Settings,
        instance: u64,
        supervisor: Supervisor,
        stats: std::sync::Arc<crate::stats::PortalStats>,
        kit: impl Into<Option<crate::upgrade::UpgradeKit>>,
    ) -> Self {
        Self {
            settings,
            instance,
            started: Instant::now(),
            sessions: HashMap::new(),
            connect_screen: None,
            server: None,
            stopping: None,
            preparing: None,
            standby_go: None,
            stopped_changed: None,
            restart_waiters: Vec::new(),
            waiting_logins: Vec::new(),
            next_start: StartMode::Cold,
            supervisor,
            crashes_in_a_row: 0,
            restarts: 0,
            awaiting_accounts: HashMap::new(),
            shutting_down: false,
            stats,
            counts_dirty: false,
            careful: false,
            careful_inflight: None,
            status_asks: HashMap::new(),
            admin_asks: HashMap::new(),
            kit: kit.into(),
            upgrading: None,
            handed_over: false,
            next_token: 1,
        }
    }

    /// An extra portal: its server is the main portal's.
    fn extra(&self) -> bool {
        self.supervisor.is_remote()
    }

    /// Runs until the portal shuts down or has handed over to a new
    /// process; true in the second case.
    pub(crate) async fn run(mut self, mut rx: Inbox) -> bool {
        if !self.supervisor.running() && !self.extra() {
            self.spawn_server();
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else { break };
                    self.handle(ev);
                    if std::mem::take(&mut self.counts_dirty) {
                        self.update_counts();
                    }
                }
                _ = tick.tick() => {
                    self.update_figures(rx.len());
                    self.check_stop_timeout();
                    self.check_standby();
                    if self.server.is_none() && self.stopping.is_none() && self.supervisor.link_overdue() {
                        error!("the server process never linked: killing it");
                        self.supervisor.kill();
                    }
                    self.close_idle_unauthenticated();
                    self.answer_late_status_asks();
                    self.check_upgrade();
                    // A replayed input whose session went away is not waited for.
                    self.feed_careful();
                }
            }
            if self.shutting_down && self.server.is_none() && !self.supervisor.running() {
                break;
            }
        }
        for s in self.sessions.values() {
            s.send(SessionOut::Close(None));
        }
        // Let the connection tasks flush their last words before the runtime ends.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.sessions.is_empty() && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
                Ok(Some(HubEvent::Session(SessionEvent::Closed { sessid }))) => {
                    self.sessions.remove(&sessid);
                }
                Ok(Some(_)) | Err(_) => {}
                Ok(None) => break,
            }
        }
        if self.handed_over {
            info!("portal handed over: this process exits");
        } else {
            info!("portal stopped");
        }
        self.handed_over
    }

    /// Keeps the figures MSSP reports current.
    fn update_counts(&self) {
        let logged_in = self.sessions.values().filter(|s| s.sync.logged_in).count();
        self.stats.set_logged_in(logged_in);
    }

    /// Keeps the figures the metrics endpoint reports current (every
    /// second: a scrape never waits for the handler).
    fn update_figures(&self, queue: usize) {
        let mut f = crate::stats::HubFigures {
            queue: queue as u64,
            starts: self.restarts,
            ..Default::default()
        };
        for s in self.sessions.values() {
            // Looked up by name first: no string copied per session per second.
            let protocol = s.sync.protocol.as_str();
            if !f.sessions.contains_key(protocol) {
                f.sessions.insert(protocol.to_string(), (0, 0));
            }
            let Some(e) = f.sessions.get_mut(protocol) else {
                continue;
            };
            e.0 += 1;
            e.1 += u64::from(s.sync.logged_in);
            f.unacked_inputs += s.unacked.len() as u64;
        }
        self.stats.set_hub(f);
        self.stats
            .server_up
            .store(self.server.is_some(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Handles one event.
    pub(crate) fn handle(&mut self, ev: impl Into<HubEvent>) {
        match ev.into() {
            HubEvent::Session(e) => self.session_event(e),
            HubEvent::Link(e) => self.link_event(e),
            HubEvent::Process(e) => self.process_event(e),
            HubEvent::Terminate if self.upgrading.is_some() => {
                warn!("signal received during a hand-over to a new portal process: ignored");
            }
            HubEvent::Terminate => {
                info!("signal received: shutting down");
                self.begin_stop(StopMode::Shutdown, None);
            }
        }
    }

    fn session_event(&mut self, ev: SessionEvent) {
        match ev {
            SessionEvent::Connected { sync, out } => self.connected(*sync, out),
            SessionEvent::Input { sessid, msg } => self.input(sessid, msg),
            SessionEvent::Flags { sessid, flags } => {
                if let Some(s) = self.sessions.get_mut(&sessid) {
                    s.sync.flags = flags;
                    let sync = s.sync.clone();
                    self.to_server(ToServer::Updated(Box::new(sync)));
                }
            }
            SessionEvent::Authenticate {
                sessid,
                account,
                proof,
            } => self.authenticate(sessid, account, proof),
            SessionEvent::Admin {
                account,
                request,
                reply,
            } => self.admin(account, request, reply),
            SessionEvent::Closed { sessid } => {
                if self.sessions.remove(&sessid).is_some() {
                    self.counts_dirty = true;
                    self.to_server(ToServer::Disconnected { sessid });
                }
                if let Some(u) = &mut self.upgrading
                    && u.waiting.remove(&sessid)
                {
                    u.closed += 1;
                    self.maybe_transfer();
                }
            }
            SessionEvent::HandedOver { sessid, conn } => {
                let asked = self
                    .upgrading
                    .as_mut()
                    .is_some_and(|u| u.waiting.remove(&sessid));
                match &mut self.upgrading {
                    Some(u) if asked => {
                        u.handed.push((sessid, *conn));
                        self.maybe_transfer();
                    }
                    // Not asked for (any more): the connection closes.
                    _ => {
                        self.sessions.remove(&sessid);
                    }
                }
            }
        }
    }

    fn link_event(&mut self, ev: LinkEvent) {
        match ev {
            LinkEvent::ServerLinked {
                link_id,
                pid,
                marks,
                tx,
                accept,
            } => self.server_linked(link_id, pid, marks, tx, accept),
            LinkEvent::StandbyReady { pid, go } => self.standby_ready(pid, go),
            LinkEvent::ServerFrame { link_id, msg } => {
                if self.server.as_ref().is_some_and(|s| s.link_id == link_id) {
                    self.server_frame(msg);
                }
            }
            LinkEvent::ServerUnlinked { link_id } => {
                if self.server.as_ref().is_some_and(|s| s.link_id == link_id) {
                    self.server_gone();
                }
            }
            LinkEvent::Launcher { req, reply } => self.launcher(req, reply),
        }
    }

    fn process_event(&mut self, ev: ProcessEvent) {
        match ev {
            ProcessEvent::Exited { spawn_id, status } => {
                if self.supervisor.standby_exited(spawn_id) {
                    self.standby_go = None;
                    if self.preparing.is_some() {
                        // The new server cannot start (a broken build, a
                        // database it cannot read): the old one goes on.
                        self.give_up_reload(&format!(
                            "the new server exited while it loaded the world ({status})"
                        ));
                    } else {
                        warn!(%status, "the standby server exited before it took over: a new one starts after the stop");
                    }
                } else if self.supervisor.exited(spawn_id) {
                    info!(%status, "server process exited");
                    // A live link still holds the process's last frames (output,
                    // acks, Stopped): it is released when its reader has read
                    // them all and reports the close. Only then is it gone.
                    if self.server.is_none() {
                        self.server_gone();
                    }
                }
            }
            ProcessEvent::HandedOver { result } => self.handed_over(result),
            ProcessEvent::SpawnDue { spawn_id } => {
                if self.supervisor.spawn_due(spawn_id) && !self.shutting_down {
                    self.spawn_server();
                }
            }
        }
    }

    fn connected(&mut self, sync: SessionSync, out: OutboxSender<SessionOut>) {
        let sessid = sync.sessid;
        let mut session = PortalSession::new(sync.clone(), out);
        if self.shutting_down {
            session.send(SessionOut::Close(Some("The game is shutting down.".into())));
            return;
        }
        let greeting = self
            .connect_screen
            .clone()
            .unwrap_or_else(|| WAIT_FOR_SERVER_MSG.to_string());
        session.greeted = self.connect_screen.is_some();
        session.send(SessionOut::text(greeting));
        self.sessions.insert(sessid, Box::new(session));
        self.counts_dirty = true;
        self.to_server(ToServer::Connected(Box::new(sync)));
    }

    fn input(&mut self, sessid: SessId, msg: Msg) {
        self.stats
            .inputs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let max = self.settings.portal.max_queued_input;
        let Some(s) = self.sessions.get_mut(&sessid) else {
            return;
        };
        // Whatever protocol it came by, text is cleaned and bounded alike.
        let msg = match tavern_shared::text::bound_input(msg, self.settings.portal.max_line_length)
        {
            Ok(msg) => msg,
            Err(tell) => {
                s.send(SessionOut::text(tell));
                return;
            }
        };
        match s.queue_input(msg.clone(), max) {
            Some(seq) => {
                if self.server_ready() && !self.careful {
                    self.to_server(ToServer::Input { sessid, seq, msg });
                }
            }
            None => {
                s.send(SessionOut::text(INPUT_DROPPED_MSG));
            }
        }
    }

    /// A server is linked and not being stopped: input goes straight to it.
    fn server_ready(&self) -> bool {
        self.server.is_some() && self.stopping.is_none() && self.upgrading.is_none()
    }

    /// A log-in made as the connection opens goes to the server, which
    /// answers the session with `Char.Login.Result`. With no server to ask
    /// (starting, reloading) it waits for the next one, as typed input does
    /// (the client gives up after [`LOGIN_WAIT`]); when too many wait, the
    /// answer is no at once and the client may try again.
    fn authenticate(&mut self, sessid: SessId, account: String, proof: LoginProof) {
        let Some(s) = self.sessions.get(&sessid) else {
            return;
        };
        if self.server_ready() {
            self.to_server(ToServer::Authenticate {
                sessid,
                account,
                proof,
            });
            return;
        }
        self.waiting_logins
            .retain(|w| w.since.elapsed() < LOGIN_WAIT);
        if self.waiting_logins.len() < MAX_WAITING_LOGINS {
            self.waiting_logins.push(WaitingLogin {
                sessid,
                account,
                proof,
                since: Instant::now(),
            });
            return;
        }
        let result = Msg::new(tavern_shared::link::LOGIN_RESULT).arg(serde_json::json!({
            "success": false,
            "message": "The game is restarting; try again in a moment.",
        }));
        s.send(SessionOut::Msgs(Outgoing::one([result])));
    }

    fn to_server(&self, msg: ToServer) {
        if let Some(server) = &self.server {
            // Once a stop is under way, new input waits for the next server.
            if self.stopping.is_some() && matches!(msg, ToServer::Input { .. }) {
                return;
            }
            let _ = server.tx.send(msg);
        }
    }

    fn server_linked(
        &mut self,
        link_id: u64,
        pid: u32,
        marks: bool,
        tx: mpsc::UnboundedSender<ToServer>,
        accept: oneshot::Sender<bool>,
    ) {
        if self.server.is_some() || self.shutting_down || self.upgrading.is_some() {
            warn!(pid, "refused a second server on the link");
            let _ = accept.send(false);
            return;
        }
        let _ = accept.send(true);
        let start_mode = self.next_start;
        info!(
            pid,
            ?start_mode,
            sessions = self.sessions.len(),
            "server linked"
        );
        // The sync first, then every input the server has not acknowledged, in order.
        let sessions = self.sessions.values().map(|s| s.sync.clone()).collect();
        let _ = tx.send(ToServer::Sync {
            portal_instance: self.instance,
            portal_id: self.settings.portal.id,
            start_mode,
            sessions,
        });
        let mut replayed = 0;
        let careful = self.careful;
        for (&sessid, s) in self.sessions.iter().filter(|_| !careful) {
            for (seq, msg) in &s.unacked {
                replayed += 1;
                let _ = tx.send(ToServer::Input {
                    sessid,
                    seq: *seq,
                    msg: msg.clone(),
                });
            }
        }
        if replayed > 0 {
            info!(replayed, "replayed queued input to the new server");
        }
        for w in std::mem::take(&mut self.waiting_logins) {
            if w.since.elapsed() < LOGIN_WAIT && self.sessions.contains_key(&w.sessid) {
                let _ = tx.send(ToServer::Authenticate {
                    sessid: w.sessid,
                    account: w.account,
                    proof: w.proof,
                });
            }
        }
        self.server = Some(LinkedServer {
            link_id,
            pid,
            tx,
            since: Instant::now(),
            marks,
        });
        self.next_start = StartMode::Crashed;
        self.supervisor.linked();
        self.supervisor.write_runtime(Some(pid));
        let done = format!(
            "Server {} ({:?}); {} sessions kept.",
            pid,
            start_mode,
            self.sessions.len()
        );
        for w in self.restart_waiters.drain(..) {
            let _ = w.send(LauncherReply::Done(done.clone()));
        }
        self.feed_careful();
    }

    /// In careful mode, sends the next unacknowledged input once the one in
    /// flight is acknowledged; back to normal when none is left.
    fn feed_careful(&mut self) {
        if !self.careful || !self.server_ready() {
            return;
        }
        if let Some((sessid, seq)) = self.careful_inflight {
            let waiting = self
                .sessions
                .get(&sessid)
                .is_some_and(|s| s.unacked.front().is_some_and(|(q, _)| *q <= seq));
            if waiting {
                return;
            }
            self.careful_inflight = None;
        }
        let mut ids: Vec<SessId> = self.sessions.keys().copied().collect();
        ids.sort();
        let next = ids.into_iter().find_map(|id| {
            let (seq, msg) = self.sessions[&id].unacked.front()?;
            Some((id, *seq, msg.clone()))
        });
        match next {
            Some((sessid, seq, msg)) => {
                self.careful_inflight = Some((sessid, seq));
                self.to_server(ToServer::Input { sessid, seq, msg });
            }
            None => {
                info!("the input waiting since the crash is all answered: back to normal");
                self.careful = false;
            }
        }
    }

    fn server_frame(&mut self, msg: ToPortal) {
        match msg {
            ToPortal::Batch { ops, acks } => {
                for op in ops {
                    self.apply(op);
                }
                for (sessid, seq) in acks {
                    if let Some(s) = self.sessions.get_mut(&sessid) {
                        s.ack(seq);
                    }
                }
                self.feed_careful();
            }
            ToPortal::Request { mode } => {
                info!(?mode, "the game asked for a stop");
                self.begin_stop(mode, None);
            }
            ToPortal::Metrics(figures) => self.stats.set_server(*figures),
            ToPortal::Detached => self.detached(),
            ToPortal::Marked => self.marked(),
            ToPortal::Stopped { mode, changed } => {
                info!(?mode, "server says it stopped");
                self.stopped_changed = changed;
                self.next_start = match mode {
                    StopMode::Reload => StartMode::Reload,
                    StopMode::Reset => StartMode::Reset,
                    StopMode::Shutdown => StartMode::Cold,
                };
                match &mut self.stopping {
                    Some(p) => p.stopped = true,
                    None => {
                        self.stopping = Some(PendingStop {
                            mode,
                            asked: Instant::now(),
                            stopped: true,
                            waiters: Vec::new(),
                        });
                    }
                }
            }
        }
    }

    fn apply(&mut self, op: PortalOp) {
        match op {
            PortalOp::Output { sessid, msgs } => self.output(sessid, Outgoing::one(msgs)),
            PortalOp::OutputMany { sessids, msgs } => {
                let msgs = if sessids.len() > 1 {
                    Outgoing::many(msgs)
                } else {
                    Outgoing::one(msgs)
                };
                for sessid in sessids {
                    self.output(sessid, msgs.clone());
                }
            }
            PortalOp::SyncSession(sync) => {
                self.counts_dirty = true;
                if let Some(s) = self.sessions.get_mut(&sync.sessid) {
                    let chose = s.sync.choices != sync.choices;
                    s.sync.absorb_server_state(&sync);
                    if chose {
                        // The player's `option`: the connection renders by it.
                        s.send(SessionOut::Choices(sync.choices.clone()));
                    }
                }
            }
            PortalOp::Disconnect { sessid, reason } => {
                self.counts_dirty = true;
                if let Some(s) = self.sessions.remove(&sessid) {
                    s.send(SessionOut::Close(reason));
                }
            }
            PortalOp::AccountKnown { account } => {
                for reply in self.awaiting_accounts.remove(&account).unwrap_or_default() {
                    let _ =
                        reply.send(LauncherReply::Done("The running game knows it now.".into()));
                }
            }
            PortalOp::Admin { token, reply } => {
                if let Some(asker) = self.admin_asks.remove(&token) {
                    let _ = asker.send(reply);
                }
            }
            PortalOp::Portals { token, portals } => {
                if let Some((mut report, _, reply)) = self.status_asks.remove(&token) {
                    report.portals = portals;
                    let _ = reply.send(LauncherReply::Status(report));
                }
            }
            PortalOp::ConnectScreen(text) => {
                for s in self.sessions.values_mut().filter(|s| !s.greeted) {
                    s.greeted = true;
                    s.send(SessionOut::text(text.clone()));
                }
                self.connect_screen = Some(text);
            }
        }
    }

    fn output(&mut self, sessid: SessId, msgs: Arc<Outgoing>) {
        let Some(s) = self.sessions.get(&sessid) else {
            return;
        };
        if !s.send(SessionOut::Msgs(msgs)) {
            warn!(
                sessid,
                "output queue full: disconnecting a client that stopped reading"
            );
            self.sessions.remove(&sessid);
            self.to_server(ToServer::Disconnected { sessid });
        }
    }

    /// The server's link or process is gone; start another when both are.
    fn server_gone(&mut self) {
        // Launchers waiting on this server hear it went (their link closes);
        // the next server loads every account anyway.
        self.awaiting_accounts.clear();
        // A hand-over the server had not agreed to yet cannot go on: the
        // next server links to this process as after any crash.
        if self.upgrading.as_ref().is_some_and(|u| !u.detached)
            && let Some(u) = self.upgrading.take()
        {
            warn!("the server went away before the hand-over began: it is given up");
            let _ = u.waiter.send(LauncherReply::Failed(
                "The server went away before the hand-over began; nothing was handed over.".into(),
            ));
        }
        if let Some(server) = self.server.take() {
            let up_for = server.since.elapsed();
            let expected = self.stopping.is_some();
            if expected {
                info!(pid = server.pid, "server unlinked");
                // The next server gets the replayed input that was in flight again.
                self.careful_inflight = None;
            } else {
                error!(pid = server.pid, ?up_for, "server link lost unexpectedly");
                if up_for > Duration::from_secs(30) {
                    self.crashes_in_a_row = 0;
                }
                let said = if self.extra() {
                    LINK_LOST_MSG
                } else {
                    SERVER_CRASHED_MSG
                };
                for s in self.sessions.values() {
                    if s.sync.logged_in {
                        s.send(SessionOut::text(said));
                    }
                }
                // A standby's snapshot misses what the crashed server never
                // wrote: it is not used; the reload's launchers hear when
                // the next server links.
                if let Some(p) = self.preparing.take() {
                    self.restart_waiters.extend(p.waiters);
                }
                self.standby_go = None;
                self.supervisor.kill_standby();
                self.after_crash();
            }
            if !expected {
                // A process that lost its link but still runs is hung or confused: end it.
                self.supervisor.kill();
            }
        }
        // A standby takes over once the old server has said it stopped
        // (everything written) and its link is closed, without waiting for
        // its process to finish exiting (freeing a big world takes a while).
        let standby_next = self.standby_go.is_some()
            && self
                .stopping
                .as_ref()
                .is_some_and(|p| p.stopped && p.mode != StopMode::Shutdown);
        if self.server.is_some() || (self.supervisor.running() && !standby_next) {
            return;
        }
        self.supervisor.write_runtime(None);
        let stopping = self.stopping.take();
        match stopping.as_ref().map(|p| p.mode) {
            Some(StopMode::Shutdown) => {
                self.shutting_down = true;
                for w in stopping.into_iter().flat_map(|p| p.waiters) {
                    let _ = w.send(LauncherReply::Done("Portal and server stopped.".into()));
                }
            }
            _ if self.shutting_down => {}
            Some(_) => {
                // A reload or reset: the standby takes over, or a new server
                // starts at once; the waiters hear when it links.
                self.restart_waiters
                    .extend(stopping.into_iter().flat_map(|p| p.waiters));
                let changed = self.stopped_changed.take();
                match self.standby_go.take() {
                    Some(go) if self.supervisor.promote_standby() => {
                        self.restarts += 1;
                        info!(
                            objects = changed.as_ref().map(Vec::len),
                            "the old server stopped: the standby catches up and links"
                        );
                        if go.send(StandbyGo { changed }).is_err() {
                            // Its link is gone: so is it, or it is of no use.
                            warn!("the standby's link closed before it took over: replacing it");
                            self.supervisor.kill();
                        }
                    }
                    _ => {
                        self.supervisor.kill_standby();
                        self.spawn_server();
                    }
                }
            }
            None if self.extra() => {
                self.next_start = StartMode::Crashed;
                warn!("waiting for the server to link again");
            }
            None => {
                self.next_start = StartMode::Crashed;
                self.crashes_in_a_row += 1;
                let backoff = self.backoff();
                warn!(
                    ?backoff,
                    crashes = self.crashes_in_a_row,
                    "restarting the server"
                );
                self.supervisor.spawn_later(backoff);
            }
        }
    }

    /// A crash: if it happened while a single replayed input was in flight,
    /// that input has now crashed two servers: drop it. Either way, the next
    /// server gets the waiting input one line at a time.
    fn after_crash(&mut self) {
        if self.careful
            && let Some((sessid, seq)) = self.careful_inflight.take()
            && let Some(s) = self.sessions.get_mut(&sessid)
            && s.unacked.front().is_some_and(|(q, _)| *q == seq)
        {
            s.unacked.pop_front();
            error!(
                sessid,
                seq, "an input crashed the server twice in a row: it is dropped"
            );
            s.send(SessionOut::text(POISON_INPUT_MSG));
        }
        self.careful_inflight = None;
        self.careful = self.sessions.values().any(|s| !s.unacked.is_empty());
    }

    fn backoff(&self) -> Duration {
        let p = &self.settings.portal;
        let exp = self.crashes_in_a_row.saturating_sub(1).min(16);
        Duration::from_millis(
            p.restart_backoff_initial_ms
                .saturating_mul(1 << exp)
                .min(p.restart_backoff_max_ms),
        )
    }

    fn spawn_server(&mut self) {
        if let Err(e) = self.supervisor.spawn() {
            error!("cannot start the server: {e:#}");
            self.crashes_in_a_row += 1;
            let backoff = self.backoff();
            self.supervisor.spawn_later(backoff);
        } else {
            self.restarts += 1;
        }
    }

    fn begin_stop(&mut self, mode: StopMode, waiter: Option<oneshot::Sender<LauncherReply>>) {
        if self.extra() {
            self.stop_extra(mode, waiter);
            return;
        }
        if mode == StopMode::Shutdown {
            self.shutting_down = true;
            self.supervisor.cancel_pending_spawn();
        }
        let mut waiters: Vec<_> = waiter.into_iter().collect();
        if let Some(p) = &mut self.preparing {
            if mode != StopMode::Shutdown {
                // One reload at a time: this one hears how that one goes.
                p.waiters.append(&mut waiters);
                return;
            }
            // A shutdown overrides a reload being readied.
            let p = self.preparing.take().map(|p| p.waiters).unwrap_or_default();
            waiters.extend(p);
            self.supervisor.kill_standby();
        }
        if mode == StopMode::Shutdown {
            self.standby_go = None;
            self.supervisor.kill_standby();
        }
        if let Some(p) = &mut self.stopping {
            // One stop at a time; a shutdown overrides a reload in progress.
            if mode == StopMode::Shutdown {
                p.mode = mode;
            }
            p.waiters.extend(waiters);
            if mode == StopMode::Shutdown
                && let Some(s) = &self.server
            {
                let _ = s.tx.send(ToServer::Stop { mode });
            }
            return;
        }
        match &self.server {
            Some(server)
                if mode != StopMode::Shutdown
                    && server.marks
                    && self.settings.portal.reload_standby
                    && room_for_standby(server.pid) =>
            {
                // The old server serves on while the next one loads: first
                // everything durable, and what it writes from now on noted.
                info!(
                    ?mode,
                    "readying a standby server: asking the server to mark"
                );
                let _ = server.tx.send(ToServer::Mark);
                self.preparing = Some(Preparing {
                    mode,
                    waiters,
                    marked: false,
                    since: Instant::now(),
                });
            }
            Some(_) => self.stop_now(mode, waiters),
            None if mode == StopMode::Shutdown => {
                self.supervisor.kill();
                for s in self.sessions.values() {
                    s.send(SessionOut::Close(Some("The game is shutting down.".into())));
                }
                for w in waiters {
                    let _ = w.send(LauncherReply::Done(
                        "Portal stopped (no server was running).".into(),
                    ));
                }
            }
            None => {
                for w in waiters {
                    let _ = w.send(LauncherReply::Failed(
                        "No server is running right now; it is being restarted.".into(),
                    ));
                }
            }
        }
    }

    /// Asks the linked server to stop now.
    fn stop_now(&mut self, mode: StopMode, waiters: Vec<oneshot::Sender<LauncherReply>>) {
        let Some(server) = &self.server else {
            // Gone meanwhile: the next server starts as after a crash, and
            // the launchers hear when it links.
            self.restart_waiters.extend(waiters);
            return;
        };
        info!(?mode, "asking the server to stop");
        let _ = server.tx.send(ToServer::Stop { mode });
        self.stopped_changed = None;
        self.stopping = Some(PendingStop {
            mode,
            asked: Instant::now(),
            stopped: false,
            waiters,
        });
    }

    /// The server answered the mark: the standby starts loading.
    fn marked(&mut self) {
        let Some(p) = self.preparing.as_mut().filter(|p| !p.marked) else {
            return;
        };
        match self.supervisor.spawn_standby() {
            Ok(()) => p.marked = true,
            Err(e) => self.give_up_reload(&format!("the new server cannot be started ({e})")),
        }
    }

    /// The standby has loaded the objects: the old server stops now, and
    /// the standby hears when it is gone.
    fn standby_ready(&mut self, pid: u32, go: oneshot::Sender<StandbyGo>) {
        let ours = self.supervisor.standby_pid() == Some(pid);
        let Some(p) = self.preparing.take_if(|p| p.marked && ours) else {
            warn!(
                pid,
                "a standby server linked that this portal is not waiting for: closed"
            );
            return;
        };
        info!(
            pid,
            loaded_in_ms = p.since.elapsed().as_millis() as u64,
            "the standby server has loaded the world: stopping the old one"
        );
        self.standby_go = Some(go);
        self.stop_now(p.mode, p.waiters);
    }

    /// A reload being readied with a standby goes on the old way: the
    /// server stops, then the next one starts and loads.
    fn fall_back(&mut self) {
        self.supervisor.kill_standby();
        if let Some(p) = self.preparing.take() {
            self.stop_now(p.mode, p.waiters);
        }
    }

    /// The next server could not be readied: the reload is given up and
    /// the running server goes on serving, as if nothing had been asked
    /// (nobody was told of a restart yet); the launchers hear why. (It
    /// goes on noting what it writes; the next reload's mark keeps that.)
    fn give_up_reload(&mut self, why: &str) {
        self.supervisor.kill_standby();
        let Some(p) = self.preparing.take() else {
            return;
        };
        error!("the reload is given up: {why}; the running server goes on");
        self.to_server(ToServer::ReloadGivenUp {
            reason: why.to_string(),
        });
        for w in p.waiters {
            let _ = w.send(LauncherReply::Failed(format!(
                "The reload was given up: {why}. The running server goes on serving; \
                 see the server's log."
            )));
        }
    }

    /// A standby that takes too long to load is given up (the running
    /// server goes on); a mark never answered leaves a plain reload.
    fn check_standby(&mut self) {
        let Some(p) = &self.preparing else { return };
        if p.marked && self.supervisor.standby_overdue() {
            self.give_up_reload("the new server did not load the world within two minutes");
        } else if !p.marked && p.since.elapsed() > Duration::from_secs(30) {
            error!("the server did not answer the mark in time: reloading without a standby");
            self.fall_back();
        }
    }

    /// Passes a question of the web admin to the server; with no server to
    /// ask (a reload under way), the admin hears so at once.
    fn admin(&mut self, account: i64, request: AdminRequest, reply: oneshot::Sender<AdminReply>) {
        if !self.server_ready() {
            let _ = reply.send(AdminReply::Refused(
                "The game is restarting; try again in a moment.".into(),
            ));
            return;
        }
        // Questions whose asker gave up are forgotten.
        self.admin_asks.retain(|_, r| !r.is_closed());
        let token = self.next_token;
        self.next_token += 1;
        self.admin_asks.insert(token, reply);
        self.to_server(ToServer::Admin {
            token,
            account,
            request,
        });
    }

    /// An extra portal stops on its own: its players are told and
    /// disconnected, the server hears each session close (their characters
    /// leave at once), and the game goes on through its other portals. A
    /// reload or reset is the main portal's to order.
    fn stop_extra(&mut self, mode: StopMode, waiter: Option<oneshot::Sender<LauncherReply>>) {
        if mode != StopMode::Shutdown {
            if let Some(w) = waiter {
                let _ = w.send(LauncherReply::Failed(format!(
                    "This is extra portal {}: the game's server is reloaded or reset \
                     through its main portal (`tavern reload` with the main portal's settings).",
                    self.settings.portal.id
                )));
            }
            return;
        }
        info!(sessions = self.sessions.len(), "extra portal stopping");
        self.shutting_down = true;
        for (&sessid, s) in &self.sessions {
            s.send(SessionOut::Close(Some(PORTAL_STOPPING_MSG.into())));
            if let Some(server) = &self.server {
                let _ = server.tx.send(ToServer::Disconnected { sessid });
            }
        }
        self.counts_dirty = true;
        // Dropping the link's sender lets its writer send what is queued and close.
        self.server = None;
        if let Some(w) = waiter {
            let _ = w.send(LauncherReply::Done("Extra portal stopped.".into()));
        }
    }

    /// Closes connections that have not logged in within the allowed time.
    fn close_idle_unauthenticated(&mut self) {
        let limit = self.settings.security.unauthenticated_timeout_secs;
        if limit == 0 {
            return;
        }
        let cutoff = tavern_shared::session::now_millis().saturating_sub(limit * 1000);
        let idle: Vec<SessId> = self
            .sessions
            .values()
            .filter(|s| !s.sync.logged_in && s.sync.conn_time < cutoff)
            .map(|s| s.sync.sessid)
            .collect();
        for sessid in idle {
            if let Some(s) = self.sessions.remove(&sessid) {
                s.send(SessionOut::Close(Some(format!(
                    "No login within {limit} seconds: disconnecting."
                ))));
                self.to_server(ToServer::Disconnected { sessid });
                self.counts_dirty = true;
            }
        }
    }

    /// A server that does not stop within 30 s of being asked is killed.
    fn check_stop_timeout(&mut self) {
        if let Some(p) = &self.stopping
            && p.asked.elapsed() > Duration::from_secs(30)
            && self.supervisor.running()
        {
            error!(mode = ?p.mode, "server did not stop within 30 s: killing it");
            self.supervisor.kill();
        }
    }

    fn launcher(&mut self, req: LauncherRequest, reply: oneshot::Sender<LauncherReply>) {
        match req {
            LauncherRequest::Status => match &self.server {
                // The server knows every portal of the game: ask it.
                Some(server) if self.stopping.is_none() => {
                    let token = self.next_token;
                    self.next_token += 1;
                    let _ = server.tx.send(ToServer::Portals { token });
                    self.status_asks
                        .insert(token, (self.status(), Instant::now(), reply));
                }
                _ => {
                    let _ = reply.send(LauncherReply::Status(self.status()));
                }
            },
            LauncherRequest::Stop { .. } if self.upgrading.is_some() => {
                let _ = reply.send(LauncherReply::Failed(
                    "The portal is handing over to a new process; try again in a moment.".into(),
                ));
            }
            LauncherRequest::Stop { mode } => self.begin_stop(mode, Some(reply)),
            LauncherRequest::UpgradePortal => self.begin_upgrade(reply),
            LauncherRequest::AccountCreated { account } => {
                if self.server.is_some() {
                    // Answered when the server says it knows the account.
                    self.to_server(ToServer::AccountCreated { account });
                    self.awaiting_accounts
                        .entry(account)
                        .or_default()
                        .push(reply);
                } else {
                    // A server starting later loads every account.
                    let _ = reply.send(LauncherReply::Done(
                        "The game will know it when its server starts.".into(),
                    ));
                }
            }
        }
    }

    /// The sessions an old portal process handed over: each one's record as
    /// it was, and its connection going on from where it stopped.
    pub(crate) fn take_over(
        &mut self,
        connect_screen: Option<String>,
        sessions: Vec<crate::upgrade::HandedSession>,
        connections: Vec<std::net::TcpStream>,
    ) {
        self.connect_screen = connect_screen;
        // The server links to us as to the portal it had: nothing restarted.
        self.next_start = StartMode::Crashed;
        let Some(kit) = &self.kit else {
            return;
        };
        for (h, stream) in sessions.into_iter().zip(connections) {
            let sessid = h.sync.sessid;
            let Some(out) = kit.resumer.resume(sessid, h.addr, stream, h.telnet) else {
                continue;
            };
            let mut session = PortalSession::new(h.sync, out);
            session.unacked = h.unacked.into();
            session.last_seq = h.last_seq;
            session.greeted = h.greeted;
            self.sessions.insert(sessid, Box::new(session));
        }
        self.counts_dirty = true;
    }

    /// `tavern upgrade-portal`: the server is asked to let go of the link
    /// (it sends what it has first, and keeps what comes after for the new
    /// process); input waits from now on.
    fn begin_upgrade(&mut self, reply: oneshot::Sender<LauncherReply>) {
        let refusal = if self.kit.is_none() {
            Some("This portal cannot hand over.")
        } else if self.upgrading.is_some() {
            Some("A hand-over is already under way.")
        } else if self.shutting_down
            || self.stopping.is_some()
            || self.preparing.is_some()
            || self.standby_go.is_some()
        {
            Some("The game is stopping or restarting; try again in a moment.")
        } else if self.server.is_none() {
            Some("No server is linked right now (it is restarting); try again in a moment.")
        } else {
            None
        };
        let (Some(server), None) = (&self.server, refusal) else {
            let why = refusal.unwrap_or_default().to_string();
            let _ = reply.send(LauncherReply::Failed(why));
            return;
        };
        info!(
            sessions = self.sessions.len(),
            "handing the portal over to a new process"
        );
        let _ = server.tx.send(ToServer::Detach);
        self.upgrading = Some(Upgrading {
            waiter: reply,
            since: Instant::now(),
            server_pid: Some(server.pid),
            detached: false,
            waiting: Default::default(),
            handed: Vec::new(),
            closed: 0,
            transferring: false,
        });
    }

    /// The server let go of the link: accepting pauses, and every
    /// connection stops and hands over (or, if it cannot move, closes).
    fn detached(&mut self) {
        let Some(u) = &mut self.upgrading else {
            warn!("the server let go of the link unasked");
            return;
        };
        u.detached = true;
        // The link's writer ends with its sender; the server relinks to
        // whichever process accepts next.
        self.server = None;
        if let Some(kit) = &self.kit {
            let _ = kit.pause.send(true);
        }
        let mut gone = Vec::new();
        // Plain telnet connections move; the others (TLS, SSH, websockets)
        // stay as they are until the new process has taken over.
        for (&sessid, s) in self
            .sessions
            .iter()
            .filter(|(_, s)| s.sync.protocol == "telnet")
        {
            if s.send(SessionOut::HandOver) {
                u.waiting.insert(sessid);
            } else {
                gone.push(sessid);
            }
        }
        for sessid in gone {
            self.sessions.remove(&sessid);
            u.closed += 1;
        }
        info!(
            sessions = u.waiting.len(),
            "the server let go: connections are handing over"
        );
        self.maybe_transfer();
    }

    /// Once every connection has answered, the new process is started and
    /// given the state and the sockets.
    fn maybe_transfer(&mut self) {
        let Some(u) = &mut self.upgrading else {
            return;
        };
        if !u.detached || !u.waiting.is_empty() || u.transferring {
            return;
        }
        let Some(kit) = &self.kit else {
            return;
        };
        u.transferring = true;
        let mut fds = kit.listeners.raw();
        let mut sessions = Vec::with_capacity(u.handed.len());
        for (sessid, conn) in &u.handed {
            let Some(s) = self.sessions.get(sessid) else {
                continue;
            };
            use std::os::fd::AsRawFd;
            fds.push(conn.stream.as_raw_fd());
            sessions.push(crate::upgrade::HandedSession {
                sync: s.sync.clone(),
                unacked: s.unacked.iter().cloned().collect(),
                last_seq: s.last_seq,
                greeted: s.greeted,
                addr: conn.addr,
                telnet: conn.telnet.clone(),
            });
        }
        // Only sessions still held cross, in the order of their sockets.
        u.handed.retain(|(id, _)| self.sessions.contains_key(id));
        let state = crate::upgrade::Handover {
            instance: self.instance,
            next_sessid: kit.next_sessid.load(std::sync::atomic::Ordering::Relaxed),
            connect_screen: self.connect_screen.clone(),
            server_pid: u.server_pid,
            listeners: kit.listeners.counts(),
            sessions,
        };
        let successor = kit.successor.clone();
        let events = kit.events.clone();
        info!(sessions = u.handed.len(), "starting the new portal process");
        tokio::spawn(async move {
            let result = crate::upgrade::hand_over(successor, state, fds).await;
            let _ = events.send(ProcessEvent::HandedOver { result }).await;
        });
    }

    /// The hand-over ended. Done: this process lets go of everything and
    /// exits. Failed: every connection goes on here, and accepting resumes.
    fn handed_over(&mut self, result: Result<u32, String>) {
        let Some(u) = self.upgrading.take() else {
            return;
        };
        match result {
            Ok(pid) => {
                // What could not move is asked to reconnect, to the new process.
                for (sessid, _) in &u.handed {
                    self.sessions.remove(sessid);
                }
                let others = self.sessions.len();
                for s in self.sessions.values() {
                    s.send(SessionOut::HandOver);
                }
                let connections = |n: usize| if n == 1 { "connection" } else { "connections" };
                let mut text = format!(
                    "Portal upgraded: pid {} handed over to pid {pid}; {} telnet {} carried over",
                    std::process::id(),
                    u.handed.len(),
                    connections(u.handed.len())
                );
                if others > 0 {
                    text.push_str(&format!(
                        "; {others} {} (TLS, SSH, webclient) asked to reconnect",
                        connections(others)
                    ));
                }
                if u.closed > 0 {
                    text.push_str(&format!("; {} closed while it was handed over", u.closed));
                }
                text.push('.');
                info!("{text}");
                let _ = u.waiter.send(LauncherReply::Done(text));
                self.handed_over = true;
                self.shutting_down = true;
                self.supervisor.release();
            }
            Err(e) => {
                error!("the hand-over failed: {e}; every connection stays here");
                let Some(kit) = &self.kit else {
                    return;
                };
                for (sessid, conn) in u.handed {
                    let out = kit
                        .resumer
                        .resume(sessid, conn.addr, conn.stream, conn.telnet);
                    match (out, self.sessions.get_mut(&sessid)) {
                        (Some(out), Some(s)) => s.out = out,
                        _ => {
                            self.sessions.remove(&sessid);
                        }
                    }
                }
                let _ = kit.pause.send(false);
                let _ = u.waiter.send(LauncherReply::Failed(format!(
                    "The upgrade failed: {e}. Every telnet connection stays with this portal."
                )));
            }
        }
    }

    /// A hand-over that does not progress is given up or cut short.
    fn check_upgrade(&mut self) {
        let Some(u) = &mut self.upgrading else {
            return;
        };
        if !u.detached && u.since.elapsed() > DETACH_WAIT {
            warn!("the server did not let go of the link: the upgrade is given up");
            if let Some(u) = self.upgrading.take() {
                let _ = u.waiter.send(LauncherReply::Failed(
                    "The server did not let go of the link in time.".into(),
                ));
            }
        } else if u.detached && !u.transferring && u.since.elapsed() > HAND_OVER_WAIT {
            warn!(
                left = u.waiting.len(),
                "connections did not stop in time: they are left behind"
            );
            for sessid in std::mem::take(&mut u.waiting) {
                self.sessions.remove(&sessid);
                u.closed += 1;
            }
            self.maybe_transfer();
        }
    }

    /// Status asks the server did not answer in time (an older server, or
    /// one going away) are answered with what the portal knows.
    fn answer_late_status_asks(&mut self) {
        let late: Vec<u64> = self
            .status_asks
            .iter()
            .filter(|(_, (_, asked, _))| asked.elapsed() >= STATUS_WAIT)
            .map(|(t, _)| *t)
            .collect();
        for token in late {
            if let Some((report, _, reply)) = self.status_asks.remove(&token) {
                let _ = reply.send(LauncherReply::Status(report));
            }
        }
    }

    fn status(&self) -> StatusReport {
        StatusReport {
            game: self.settings.game.name.clone(),
            portal_pid: std::process::id(),
            portal_uptime_secs: self.started.elapsed().as_secs(),
            server_pid: self.server.as_ref().map(|s| s.pid),
            server_uptime_secs: self.server.as_ref().map(|s| s.since.elapsed().as_secs()),
            server_state: match (&self.server, &self.stopping) {
                (Some(_), None) => ServerState::Running,
                (_, Some(_)) => ServerState::Reloading,
                (None, None) if self.supervisor.running() => ServerState::Reloading,
                (None, None) => ServerState::Down,
            },
            sessions: self.sessions.len(),
            logged_in: self.sessions.values().filter(|s| s.sync.logged_in).count(),
            server_restarts: self.restarts.saturating_sub(1),
            portal_id: self.settings.portal.id,
            portals: Vec::new(),
            standby_pid: self.supervisor.standby_pid(),
        }
    }
}

/// Whether a standby as big as the running server fits in the memory left
/// (where the system says; else it is tried).
fn room_for_standby(server_pid: u32) -> bool {
    let (Some(rss), Some(available)) = (
        tavern_shared::metrics::rss_bytes_of(server_pid),
        crate::headroom::available_bytes(),
    ) else {
        return true;
    };
    if crate::headroom::standby_fits(rss, available) {
        return true;
    }
    warn!(
        server_rss_mib = rss >> 20,
        available_mib = available >> 20,
        "no room for a standby server beside the running one: the old server stops first"
    );
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use tavern_shared::RuntimeInfo;
    use tavern_shared::link::{PortalOp, ToPortal};

    /// What a test hub is made of: settings in `dir`, a supervisor whose
    /// "server" is a binary that exits at once (the hub may start one
    /// without harm), the figures.
    pub(super) fn parts(
        dir: &std::path::Path,
    ) -> (
        Settings,
        Supervisor,
        std::sync::Arc<crate::stats::PortalStats>,
        mpsc::Sender<ProcessEvent>,
        mpsc::Receiver<ProcessEvent>,
    ) {
        let mut settings = Settings::defaults();
        settings.game.data_dir = dir.to_path_buf();
        let runtime = RuntimeInfo {
            game: "t".into(),
            portal_pid: std::process::id(),
            server_pid: None,
            link_address: "127.0.0.1:1".parse().unwrap(),
            telnet_ports: vec![],
            tls_ports: vec![],
            ssh_ports: vec![],
            web_port: 0,
            started_unix_ms: 0,
        };
        let (tx, rx) = mpsc::channel(64);
        let sup = Supervisor::new(
            "/bin/true".into(),
            None,
            dir.join("portal.json"),
            runtime,
            1,
            tx.clone(),
        );
        let stats = std::sync::Arc::new(crate::stats::PortalStats::new("t".into(), 0, 1));
        (settings, sup, stats, tx, rx)
    }

    fn hub(dir: &std::path::Path) -> (Hub, mpsc::Receiver<ProcessEvent>) {
        let (settings, sup, stats, _, rx) = parts(dir);
        (Hub::new(settings, 1, sup, stats, None), rx)
    }

    #[tokio::test]
    async fn frames_still_in_flight_when_the_process_exits_are_not_lost() {
        let dir = std::env::temp_dir().join(format!("tavern-hub-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (mut hub, events) = hub(&dir);
        let (out, mut client) = crate::outbox::outbox(16);
        let sync = SessionSync {
            sessid: 1,
            ..Default::default()
        };
        hub.handle(SessionEvent::Connected {
            sync: Box::new(sync),
            out,
        });
        // A server process (ourselves: alive, never reaped) linked on link 7.
        hub.supervisor.adopt(std::process::id());
        let _server = link_server(&mut hub, 7, 1);
        hub.begin_stop(StopMode::Reload, None);
        // The exit is noticed before the link's last frames are read.
        hub.handle(ProcessEvent::Exited {
            spawn_id: 1,
            status: "exit status: 0".into(),
        });
        let notice = ToPortal::Batch {
            ops: vec![PortalOp::Output {
                sessid: 1,
                msgs: vec![Msg::text("restart initiated")],
            }],
            acks: vec![],
        };
        hub.handle(LinkEvent::ServerFrame {
            link_id: 7,
            msg: notice,
        });
        hub.handle(LinkEvent::ServerFrame {
            link_id: 7,
            msg: ToPortal::Stopped {
                mode: StopMode::Reload,
                changed: None,
            },
        });
        hub.handle(LinkEvent::ServerUnlinked { link_id: 7 });
        let mut texts = Vec::new();
        while let Some(SessionOut::Msgs(m)) = client.try_recv() {
            texts.extend(m.iter().filter_map(|m| m.first_str().map(String::from)));
        }
        assert!(
            texts.contains(&"restart initiated".to_string()),
            "{texts:?}"
        );
        assert_eq!(hub.next_start, StartMode::Reload, "a reload, not a crash");
        drop(events);
        let _ = std::fs::remove_dir_all(&dir);
    }
    #[tokio::test]
    async fn a_log_in_made_while_no_server_is_there_waits_for_the_next() {
        let dir = std::env::temp_dir().join(format!("tavern-hub-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (mut hub, _events) = hub(&dir);
        let mut clients = Vec::new();
        for sessid in [1, 2] {
            let (out, client) = crate::outbox::outbox(16);
            hub.handle(SessionEvent::Connected {
                sync: Box::new(SessionSync {
                    sessid,
                    protocol: "ssh".into(),
                    ..Default::default()
                }),
                out,
            });
            clients.push(client);
            hub.handle(SessionEvent::Authenticate {
                sessid,
                account: "alice".into(),
                proof: LoginProof::Password("pw".into()),
            });
        }
        // Session 2 hangs up before a server comes: its log-in is dropped.
        hub.handle(SessionEvent::Closed { sessid: 2 });
        let (mut server, _) = link_server(&mut hub, 3, 1);
        let mut sent = Vec::new();
        while let Ok(m) = server.try_recv() {
            sent.push(m);
        }
        assert!(
            matches!(sent.first(), Some(ToServer::Sync { .. })),
            "the sync first"
        );
        let logins: Vec<_> = sent
            .iter()
            .filter_map(|m| match m {
                ToServer::Authenticate {
                    sessid, account, ..
                } => Some((*sessid, account.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(logins, vec![(1, "alice".to_string())]);
        // With the server there, a log-in goes straight to it.
        hub.handle(SessionEvent::Authenticate {
            sessid: 1,
            account: "bob".into(),
            proof: LoginProof::PublicKey("ssh-ed25519 AAAA".into()),
        });
        assert!(matches!(
            server.try_recv(),
            Ok(ToServer::Authenticate { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Links a fake server; returns what it is sent.
    /// A server process `pid` linked on `link_id`: what the hub sends it,
    /// and whether the hub took the link.
    pub(super) fn link_server(
        hub: &mut Hub,
        link_id: u64,
        pid: u32,
    ) -> (mpsc::UnboundedReceiver<ToServer>, oneshot::Receiver<bool>) {
        link_server_marking(hub, link_id, pid, false)
    }

    /// The same, for a server that says whether it answers a mark.
    fn link_server_marking(
        hub: &mut Hub,
        link_id: u64,
        pid: u32,
        marks: bool,
    ) -> (mpsc::UnboundedReceiver<ToServer>, oneshot::Receiver<bool>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (accept, accepted) = oneshot::channel();
        hub.handle(LinkEvent::ServerLinked {
            link_id,
            pid,
            marks,
            tx,
            accept,
        });
        (rx, accepted)
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<ToServer>) -> Vec<ToServer> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    /// A hub with one player (session 1) and a server that answers a
    /// mark, linked on link 7 (the test process stands for its process).
    fn hub_with_marking_server(
        dir: &std::path::Path,
    ) -> (
        Hub,
        mpsc::Receiver<ProcessEvent>,
        mpsc::UnboundedReceiver<ToServer>,
        crate::outbox::OutboxReceiver<SessionOut>,
    ) {
        std::fs::create_dir_all(dir).unwrap();
        let (mut hub, events) = hub(dir);
        let (out, client) = crate::outbox::outbox(64);
        hub.handle(SessionEvent::Connected {
            sync: Box::new(SessionSync {
                sessid: 1,
                logged_in: true,
                ..Default::default()
            }),
            out,
        });
        hub.supervisor.adopt(std::process::id());
        let (mut server, _) = link_server_marking(&mut hub, 7, 1, true);
        drain(&mut server);
        (hub, events, server, client)
    }

    #[tokio::test]
    async fn a_reload_with_a_standby_serves_on_until_it_is_ready_and_hands_it_what_changed() {
        let dir = std::env::temp_dir().join(format!("tavern-hub-standby-{}", std::process::id()));
        let (mut hub, _events, mut server, _client) = hub_with_marking_server(&dir);
        let (waiter, mut heard) = oneshot::channel();
        hub.begin_stop(StopMode::Reload, Some(waiter));
        assert_eq!(
            drain(&mut server),
            vec![ToServer::Mark],
            "marked, not stopped"
        );
        // The old server serves on.
        hub.handle(SessionEvent::Input {
            sessid: 1,
            msg: Msg::text("look"),
        });
        assert_eq!(inputs(&mut server), vec![(1, 1)]);
        assert_eq!(hub.supervisor.standby_pid(), None, "not before the mark");
        hub.handle(LinkEvent::ServerFrame {
            link_id: 7,
            msg: ToPortal::Marked,
        });
        let standby = hub.supervisor.standby_pid().expect("the standby started");
        assert_eq!(
            hub.status().standby_pid,
            Some(standby),
            "`tavern status` says so"
        );
        // A standby this portal did not start is turned away.
        let (go, mut stranger) = oneshot::channel();
        hub.handle(LinkEvent::StandbyReady {
            pid: standby + 1,
            go,
        });
        assert!(stranger.try_recv().is_err() && drain(&mut server).is_empty());
        // Its own, loaded: now the old server stops, and input waits.
        let (go, mut word) = oneshot::channel();
        hub.handle(LinkEvent::StandbyReady { pid: standby, go });
        assert_eq!(
            drain(&mut server),
            vec![ToServer::Stop {
                mode: StopMode::Reload
            }]
        );
        hub.handle(SessionEvent::Input {
            sessid: 1,
            msg: Msg::text("say hi"),
        });
        assert!(inputs(&mut server).is_empty(), "queued for the next server");
        assert!(word.try_recv().is_err(), "not while the old one runs");
        hub.handle(LinkEvent::ServerFrame {
            link_id: 7,
            msg: ToPortal::Stopped {
                mode: StopMode::Reload,
                changed: Some(vec![5, 9]),
            },
        });
        // Its link closes before its process has finished exiting: the
        // standby goes on at once.
        hub.handle(LinkEvent::ServerUnlinked { link_id: 7 });
        assert_eq!(
            word.try_recv().expect("told to go on"),
            StandbyGo {
                changed: Some(vec![5, 9])
            }
        );
        assert!(hub.supervisor.running(), "the standby is the server now");
        assert_eq!(hub.restarts, 1, "counted as a start (status, metrics)");
        // It links: a reload's sync, then what waited, and the launcher hears.
        let (mut next, accepted) = link_server_marking(&mut hub, 8, standby, true);
        assert_eq!(accepted.await, Ok(true));
        let sent = drain(&mut next);
        assert!(matches!(
            sent.first(),
            Some(ToServer::Sync {
                start_mode: StartMode::Reload,
                ..
            })
        ));
        let replayed: Vec<_> = sent
            .iter()
            .filter_map(|m| match m {
                ToServer::Input { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect();
        assert_eq!(replayed, vec![1, 2], "every unacknowledged line, in order");
        assert!(matches!(heard.try_recv(), Ok(LauncherReply::Done(_))));
        // The old process's exit, when it comes, is no longer the server's.
        hub.handle(ProcessEvent::Exited {
            spawn_id: 1,
            status: "exit status: 0".into(),
        });
        assert!(hub.server.is_some() && hub.supervisor.running());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_standby_that_dies_loading_gives_the_reload_up_and_a_shutdown_ends_it() {
        let dir = std::env::temp_dir().join(format!("tavern-hub-standby2-{}", std::process::id()));
        let (mut hub, mut events, mut server, _client) = hub_with_marking_server(&dir);
        hub.begin_stop(StopMode::Reload, None);
        hub.handle(LinkEvent::ServerFrame {
            link_id: 7,
            msg: ToPortal::Marked,
        });
        assert!(hub.supervisor.standby_pid().is_some());
        // A second order while it loads waits for the same reload.
        let (waiter, mut heard) = oneshot::channel();
        hub.begin_stop(StopMode::Reload, Some(waiter));
        assert_eq!(drain(&mut server), vec![ToServer::Mark]);
        // The standby (here a program that exits at once) dies: the new
        // build cannot start, so the old server goes on and nothing stops.
        let exited = events.recv().await.expect("its exit is reported");
        hub.handle(exited);
        assert_eq!(hub.supervisor.standby_pid(), None);
        assert!(
            matches!(
                drain(&mut server).as_slice(),
                [ToServer::ReloadGivenUp { reason }] if reason.contains("exited while it loaded")
            ),
            "not stopped: told the reload was given up"
        );
        match heard.try_recv() {
            Ok(LauncherReply::Failed(why)) => assert!(
                why.contains("exited while it loaded") && why.contains("goes on serving"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
        hub.handle(SessionEvent::Input {
            sessid: 1,
            msg: Msg::text("look"),
        });
        assert_eq!(inputs(&mut server), vec![(1, 1)], "still served");
        // A later reload marks again.
        hub.begin_stop(StopMode::Reload, None);
        assert_eq!(drain(&mut server), vec![ToServer::Mark]);
        let _ = std::fs::remove_dir_all(&dir);

        // A shutdown while a standby loads: the standby goes, the server stops.
        let dir = std::env::temp_dir().join(format!("tavern-hub-standby3-{}", std::process::id()));
        let (mut hub, _events, mut server, _client) = hub_with_marking_server(&dir);
        hub.begin_stop(StopMode::Reload, None);
        hub.handle(LinkEvent::ServerFrame {
            link_id: 7,
            msg: ToPortal::Marked,
        });
        hub.begin_stop(StopMode::Shutdown, None);
        assert_eq!(hub.supervisor.standby_pid(), None, "killed");
        assert_eq!(
            drain(&mut server),
            vec![
                ToServer::Mark,
                ToServer::Stop {
                    mode: StopMode::Shutdown
                }
            ]
        );
        // A server of an older build (no mark) is stopped at once.
        let (mut plain, _events) = super::tests::hub(&dir);
        plain.supervisor.adopt(std::process::id());
        let (mut old, _) = link_server(&mut plain, 9, 1);
        drain(&mut old);
        plain.begin_stop(StopMode::Reload, None);
        assert_eq!(
            drain(&mut old),
            vec![ToServer::Stop {
                mode: StopMode::Reload
            }]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn inputs(rx: &mut mpsc::UnboundedReceiver<ToServer>) -> Vec<(SessId, u64)> {
        let mut v = Vec::new();
        while let Ok(m) = rx.try_recv() {
            if let ToServer::Input { sessid, seq, .. } = m {
                v.push((sessid, seq));
            }
        }
        v
    }

    #[tokio::test]
    async fn an_input_that_crashes_the_server_twice_is_dropped_and_the_rest_answered() {
        let dir = std::env::temp_dir().join(format!("tavern-hub-poison-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (mut hub, _events) = hub(&dir);
        let mut clients = Vec::new();
        for sessid in [1, 2] {
            let (out, client) = crate::outbox::outbox(64);
            hub.handle(SessionEvent::Connected {
                sync: Box::new(SessionSync {
                    sessid,
                    ..Default::default()
                }),
                out,
            });
            clients.push(client);
        }
        let (mut server, _) = link_server(&mut hub, 1, 1);
        hub.handle(SessionEvent::Input {
            sessid: 1,
            msg: Msg::text("poison"),
        });
        hub.handle(SessionEvent::Input {
            sessid: 2,
            msg: Msg::text("innocent"),
        });
        hub.handle(SessionEvent::Input {
            sessid: 2,
            msg: Msg::text("more"),
        });
        assert_eq!(
            inputs(&mut server),
            vec![(1, 1), (2, 1), (2, 2)],
            "normal: all at once"
        );
        // The server dies with all three unanswered.
        hub.server_gone();
        assert!(hub.careful);
        let (mut server, _) = link_server(&mut hub, 2, 1);
        assert_eq!(
            inputs(&mut server),
            vec![(1, 1)],
            "after a crash: one at a time"
        );
        hub.handle(SessionEvent::Input {
            sessid: 2,
            msg: Msg::text("typed meanwhile"),
        });
        assert!(inputs(&mut server).is_empty(), "new input waits its turn");
        // It crashes again on that same input: dropped, and its player told.
        hub.server_gone();
        let (mut server, _) = link_server(&mut hub, 3, 1);
        assert_eq!(inputs(&mut server), vec![(2, 1)], "the poison is skipped");
        let mut told = Vec::new();
        while let Some(SessionOut::Msgs(m)) = clients[0].try_recv() {
            told.extend(m.iter().filter_map(|m| m.first_str().map(String::from)));
        }
        assert!(told.contains(&POISON_INPUT_MSG.to_string()), "{told:?}");
        assert!(hub.sessions[&1].unacked.is_empty());
        // The innocent input is answered: the rest follow, one by one, then normal again.
        let ack = |hub: &mut Hub, link_id, seq| {
            hub.handle(LinkEvent::ServerFrame {
                link_id,
                msg: ToPortal::Batch {
                    ops: vec![],
                    acks: vec![(2, seq)],
                },
            })
        };
        ack(&mut hub, 3, 1);
        assert_eq!(inputs(&mut server), vec![(2, 2)]);
        ack(&mut hub, 3, 2);
        assert_eq!(inputs(&mut server), vec![(2, 3)]);
        ack(&mut hub, 3, 3);
        assert!(!hub.careful, "back to normal");
        hub.handle(SessionEvent::Input {
            sessid: 1,
            msg: Msg::text("fine"),
        });
        assert_eq!(inputs(&mut server), vec![(1, 2)]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_crash_of_the_old_server_while_a_standby_loads_kills_the_standby() {
        let dir = std::env::temp_dir().join(format!("tavern-hub-standby4-{}", std::process::id()));
        let (mut hub, _events, mut server, _client) = hub_with_marking_server(&dir);
        // The server process: one the crash handling may kill.
        let mut old = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        hub.supervisor.adopt(old.id());
        let (waiter, mut heard) = oneshot::channel();
        hub.begin_stop(StopMode::Reload, Some(waiter));
        hub.handle(LinkEvent::ServerFrame {
            link_id: 7,
            msg: ToPortal::Marked,
        });
        assert!(hub.supervisor.standby_pid().is_some());
        drain(&mut server);
        // The old server's link goes without a word: a crash.
        hub.handle(LinkEvent::ServerUnlinked { link_id: 7 });
        assert_eq!(
            hub.supervisor.standby_pid(),
            None,
            "its snapshot is not used"
        );
        assert!(hub.preparing.is_none() && hub.standby_go.is_none());
        assert!(
            heard.try_recv().is_err(),
            "the launcher hears when the next server links"
        );
        assert_eq!(hub.next_start, StartMode::Crashed);
        // The next server (a plain start) links: the launcher hears.
        assert!(
            old.wait().unwrap().code().is_none(),
            "the hung process was killed"
        );
        hub.handle(ProcessEvent::Exited {
            spawn_id: 2,
            status: "signal: 9 (SIGKILL)".into(),
        });
        let (_next, accepted) = link_server_marking(&mut hub, 8, 2, true);
        assert_eq!(accepted.await, Ok(true));
        assert!(matches!(heard.try_recv(), Ok(LauncherReply::Done(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(test)]
mod upgrade_tests {
    use super::*;

    /// A hub that can hand over: real listeners, a successor that is never started.
    async fn hub_with_kit(dir: &std::path::Path) -> Hub {
        let (settings, sup, stats, tx, _rx) = super::tests::parts(dir);
        let listener = || async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() };
        let copy = |l: &tokio::net::TcpListener| crate::upgrade::copy_of(l).unwrap();
        let (web, link) = (listener().await, listener().await);
        let (hub_tx, _) = mpsc::channel(16);
        let kit = crate::upgrade::UpgradeKit {
            listeners: crate::upgrade::Listeners {
                telnet: vec![],
                tls: vec![],
                ssh: vec![],
                web: copy(&web),
                link: copy(&link),
            },
            pause: tokio::sync::watch::channel(false).0,
            successor: crate::upgrade::Successor {
                exe: "/bin/false".into(),
                settings_file: None,
                data_dir: dir.to_path_buf(),
            },
            resumer: crate::Resumer::for_tests(hub_tx, stats.clone()),
            events: tx,
            next_sessid: Default::default(),
        };
        Hub::new(settings, 1, sup, stats, kit)
    }

    #[tokio::test]
    async fn a_server_that_goes_away_before_it_lets_go_ends_the_hand_over_and_is_replaced() {
        let dir = std::env::temp_dir().join(format!("tavern-upgrade-hub-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut hub = hub_with_kit(&dir).await;
        let (mut server, _) = super::tests::link_server(&mut hub, 1, 1);
        let (waiter, answer) = oneshot::channel();
        hub.handle(LinkEvent::Launcher {
            req: LauncherRequest::UpgradePortal,
            reply: waiter,
        });
        let mut asked = Vec::new();
        while let Ok(m) = server.try_recv() {
            asked.push(m);
        }
        assert!(asked.contains(&ToServer::Detach), "{asked:?}");
        // The server dies before it answers.
        hub.handle(LinkEvent::ServerUnlinked { link_id: 1 });
        let answer = tokio::time::timeout(Duration::from_secs(5), answer)
            .await
            .expect("the launcher hears at once")
            .unwrap();
        match answer {
            LauncherReply::Failed(why) => assert!(why.contains("went away"), "{why}"),
            other => panic!("{other:?}"),
        }
        // The next server is taken, as after any crash.
        let (_server, accepted) = super::tests::link_server(&mut hub, 2, 2);
        assert_eq!(accepted.await, Ok(true));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
