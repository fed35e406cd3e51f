//! The messages that cross the link, defined once for both processes.
//!
//! Compatibility rule: the portal keeps running old code while a reloaded server
//! runs new code, so messages are encoded with named fields (MessagePack maps);
//! a new field must carry `#[serde(default)]`, a new enum variant goes at the
//! end, and anything else bumps [`LINK_PROTOCOL_VERSION`](super::LINK_PROTOCOL_VERSION).

use serde::{Deserialize, Serialize};

use crate::session::{PortalId, SessId, SessionSync};

/// One input or output message in Evennia's `(cmdname, args, kwargs)` shape.
///
/// `text` carries a line of input or a block of output; other names carry
/// out-of-band data (GMCP, MSDP, webclient events).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Msg {
    /// The message's name: `text`, or an OOB command (`Char.Vitals`, `REPORT`).
    pub cmd: String,
    /// Positional arguments (for `text`, the text).
    #[serde(default)]
    pub args: Vec<serde_json::Value>,
    /// Keyword arguments.
    #[serde(default)]
    pub kwargs: serde_json::Map<String, serde_json::Value>,
}

impl Msg {
    /// A message with no arguments.
    pub fn new(cmd: impl Into<String>) -> Self {
        Self {
            cmd: cmd.into(),
            args: Vec::new(),
            kwargs: serde_json::Map::new(),
        }
    }

    /// A `text` message with one argument.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new("text").arg(serde_json::Value::String(text.into()))
    }

    /// A `prompt` message: text shown without a line end.
    pub fn prompt(text: impl Into<String>) -> Self {
        Self::new("prompt").arg(serde_json::Value::String(text.into()))
    }

    /// Adds a positional argument.
    pub fn arg(mut self, v: serde_json::Value) -> Self {
        self.args.push(v);
        self
    }

    /// Adds a keyword argument.
    pub fn kwarg(mut self, k: impl Into<String>, v: serde_json::Value) -> Self {
        self.kwargs.insert(k.into(), v);
        self
    }

    /// The first argument as a string, if it is one.
    pub fn first_str(&self) -> Option<&str> {
        self.args.first().and_then(|v| v.as_str())
    }
}

/// How a server stop is meant: what the next server start will be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopMode {
    /// Restart with sessions kept; warm hooks.
    Reload,
    /// Restart with sessions kept; cold-start hooks.
    Reset,
    /// Stop the server and the portal; everyone is disconnected.
    Shutdown,
}

/// Why a server is starting, as the portal tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartMode {
    /// The first server of this portal.
    Cold,
    /// After a `reload`.
    Reload,
    /// After a `reset`.
    Reset,
    /// After the previous server died without being asked to.
    Crashed,
}

/// Portal → server, after the handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToServer {
    /// Every session the portal holds (Evennia's PSYNC). Sent once after each
    /// (re)connect, before any replayed input. Sessions of another portal
    /// instance that the server still holds must be dropped.
    Sync {
        /// Which portal process sends this.
        portal_instance: u64,
        /// Which of the game's portals it is (`[portal] id`; 0, the main
        /// portal, for one that does not say).
        #[serde(default)]
        portal_id: PortalId,
        /// Why this server was started.
        start_mode: StartMode,
        /// Every session the portal holds.
        sessions: Vec<SessionSync>,
    },
    /// A new connection (PCONN).
    Connected(Box<SessionSync>),
    /// A connection closed on the player's side (PDISCONN).
    /// A session closed.
    Disconnected {
        /// The session.
        sessid: SessId,
    },
    /// The connection facts of a session changed (PCONNSYNC): flags, window size.
    Updated(Box<SessionSync>),
    /// Input from a session. `seq` counts this session's inputs from 1; the
    /// server acknowledges it in a [`ToPortal::Batch`] once its effects are sent.
    /// A session's input, numbered per session.
    Input {
        /// The session.
        sessid: SessId,
        /// Its number, acknowledged when done.
        seq: u64,
        /// What it sent.
        msg: Msg,
    },
    /// A connection that logs in as it connects (SSH): check the proof and,
    /// if it holds, log the session in. The session hears how it went as
    /// `Char.Login.Result`. Only the portal's own code makes one: nothing a
    /// player sends becomes one (a public key proves nothing by itself; the
    /// portal checked the signature made with it).
    Authenticate {
        /// The session, already connected.
        sessid: SessId,
        /// The account name given.
        account: String,
        /// What proves it.
        proof: LoginProof,
    },
    /// An account (and its character) was made in the database by the
    /// launcher (`tavern account create`) while the game runs: load it.
    AccountCreated {
        /// The account's id.
        account: i64,
    },
    /// Stop, in this mode (SRELOAD / SRESET / SSHUTD). The server answers with
    /// a final batch carrying every session's state, then [`ToPortal::Stopped`].
    /// The server is to stop (reload, reset or shutdown).
    Stop {
        /// How.
        mode: StopMode,
    },
    /// `tavern status` asks the main portal, which asks the server about
    /// every portal: answered with [`PortalOp::Portals`].
    Portals {
        /// Names the answer.
        token: u64,
    },
    /// The main portal hands its connections to a new portal process
    /// (`tavern upgrade-portal`): the server sends everything it holds for
    /// it, then [`ToPortal::Detached`], closes the link, keeps what it has for
    /// the portal's sessions until the new process links (same instance),
    /// and sends it then.
    Detach,
    /// A reload is coming, with a standby server loading the world while
    /// this one serves: write everything now, then note every object
    /// written from here on (sent back in [`ToPortal::Stopped`]), and
    /// answer [`ToPortal::Marked`].
    Mark,
    /// A reload readied with a standby was given up (the new server could
    /// not start): this server goes on; whoever asked in game is told why.
    ReloadGivenUp {
        /// Why, for the one who asked.
        reason: String,
    },
    /// The web admin asks something, for an account it logged in (0 for
    /// the log-in itself): answered with [`PortalOp::Admin`].
    Admin {
        /// Names the answer.
        token: u64,
        /// The admin's account (checked again on every request).
        account: i64,
        /// What it asks.
        request: super::admin::AdminRequest,
    },
}

/// The GMCP package that tells a client how its log-in went (Mudlet's
/// name); the server also answers a [`ToServer::Authenticate`] with it.
pub const LOGIN_RESULT: &str = "Char.Login.Result";

/// What proves a log-in made as the connection opens ([`ToServer::Authenticate`]).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub enum LoginProof {
    /// A password, to check as `connect` checks it.
    Password(String),
    /// A public key in OpenSSH's form (`ssh-ed25519 AAAA…`) whose holder
    /// signed the connection: good if the account lists it.
    PublicKey(String),
}

impl std::fmt::Debug for LoginProof {
    /// A password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginProof::Password(_) => f.write_str("Password(<hidden>)"),
            LoginProof::PublicKey(k) => f.debug_tuple("PublicKey").field(k).finish(),
        }
    }
}

/// One effect the server asks the portal to carry out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PortalOp {
    /// Send these messages to a session.
    /// Messages for a session.
    Output {
        /// The session.
        sessid: SessId,
        /// The messages.
        msgs: Vec<Msg>,
    },
    /// The server-owned state of a session changed (login, puppet, data): SLOGIN / SSYNC.
    SyncSession(Box<SessionSync>),
    /// Close a session, after sending `reason` if given (SDISCONN).
    Disconnect {
        /// The session.
        sessid: SessId,
        /// Told to the player before the connection closes.
        reason: Option<String>,
    },
    /// The text new connections are greeted with, kept by the portal so that it
    /// can greet players at once, even while the server is away.
    ConnectScreen(String),
    /// The server knows the account the launcher made
    /// ([`ToServer::AccountCreated`]): the portal tells the launcher.
    AccountKnown {
        /// The account's id.
        account: i64,
    },
    /// The same messages for several sessions (a room hears a `say`): one op
    /// to encode, send and decode instead of one per listener. Sent only to a
    /// portal that said it reads it (`HelloReply::Accepted`); for one that
    /// did not, [`ToPortal::without_output_many`] spells it out.
    OutputMany {
        /// The sessions, each sent `msgs`.
        sessids: Vec<SessId>,
        /// The messages.
        msgs: Vec<Msg>,
    },
    /// The answer to [`ToServer::Portals`].
    Portals {
        /// The question's token.
        token: u64,
        /// Every portal the server serves or waits for, by id.
        portals: Vec<PortalReport>,
    },
    /// The answer to [`ToServer::Admin`]: sent once what it reports is saved.
    Admin {
        /// The question's token.
        token: u64,
        /// The answer.
        reply: super::admin::AdminReply,
    },
}

/// The ops and acknowledgements of a batch for one portal.
type BatchPart = (Vec<PortalOp>, Vec<(SessId, u64)>);

/// One of the game's portals, as the server sees it (`tavern status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalReport {
    /// Its `[portal] id`.
    pub id: PortalId,
    /// Its pid, as it said.
    pub pid: u32,
    /// Where its link comes from.
    pub address: String,
    /// Whether its link is up (else the server keeps its sessions for a while).
    pub linked: bool,
    /// Seconds since it linked (or since its link was lost).
    pub for_secs: u64,
    /// Its sessions.
    pub sessions: usize,
    /// Those logged in.
    pub logged_in: usize,
}

impl PortalOp {
    /// The messages this op sends, per session, in order (none for ops that
    /// send none).
    pub fn outputs(&self) -> Vec<(SessId, &[Msg])> {
        match self {
            PortalOp::Output { sessid, msgs } => vec![(*sessid, msgs.as_slice())],
            PortalOp::OutputMany { sessids, msgs } => {
                sessids.iter().map(|&s| (s, msgs.as_slice())).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Server → portal, after the handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToPortal {
    /// Effects, released together with the acknowledgement of the inputs that
    /// produced them: output is never sent for work whose ack could be lost.
    Batch {
        /// What to do, in order.
        ops: Vec<PortalOp>,
        /// `(sessid, seq)`: every input of that session up to `seq` is done.
        acks: Vec<(SessId, u64)>,
    },
    /// Game code asks for a reload / reset / shutdown (the in-game commands).
    /// The server asks the portal to restart or stop it.
    Request {
        /// How.
        mode: StopMode,
    },
    /// The server has flushed its state and is exiting in this mode.
    /// The server has saved everything and is about to exit.
    Stopped {
        /// How.
        mode: StopMode,
        /// After a [`ToServer::Mark`]: every object written, created or
        /// deleted since, for the standby that takes over ([`crate::link::StandbyGo`]).
        /// `None` when not marked, or too many to send.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        changed: Option<Vec<i64>>,
    },
    /// The answer to [`ToServer::Mark`]: everything before it is durable,
    /// and what is written from now on is noted.
    Marked,
    /// The server's figures, for the metrics endpoint: sent every few
    /// seconds to a portal that said it reads them (`HelloReply::Accepted`).
    Metrics(Box<crate::metrics::ServerMetrics>),
    /// The answer to [`ToServer::Detach`]: nothing more comes on this link.
    Detached,
}

impl ToPortal {
    /// This frame, split for the game's linked portals: what is for a
    /// session (output, its state, closing it, the acknowledgement of its
    /// input) goes to the portal that holds it, a room's `OutputMany` is cut
    /// into one per portal, a stop request to the main portal (0), and the
    /// rest to every portal. With one portal linked the frame goes whole.
    pub fn split_by_portal(self, linked: &[PortalId]) -> Vec<(PortalId, ToPortal)> {
        use crate::session::portal_of;
        if let [only] = linked {
            return match self {
                ToPortal::Request { .. } | ToPortal::Detached | ToPortal::Marked if *only != 0 => {
                    Vec::new()
                }
                frame => vec![(*only, frame)],
            };
        }
        let everyone = |frame: ToPortal| linked.iter().map(|&p| (p, frame.clone())).collect();
        match self {
            ToPortal::Batch { ops, acks } => {
                let mut parts: std::collections::BTreeMap<PortalId, BatchPart> =
                    linked.iter().map(|&p| (p, Default::default())).collect();
                let mut put = |p: PortalId, op: PortalOp| {
                    if let Some(part) = parts.get_mut(&p) {
                        part.0.push(op);
                    }
                };
                for op in ops {
                    match op {
                        PortalOp::Output { sessid, .. } | PortalOp::Disconnect { sessid, .. } => {
                            put(portal_of(sessid), op)
                        }
                        PortalOp::SyncSession(ref sync) => put(portal_of(sync.sessid), op),
                        PortalOp::OutputMany { sessids, msgs } => {
                            let mut by_portal: std::collections::BTreeMap<PortalId, Vec<SessId>> =
                                Default::default();
                            for s in sessids {
                                by_portal.entry(portal_of(s)).or_default().push(s);
                            }
                            for (p, sessids) in by_portal {
                                let msgs = msgs.clone();
                                put(p, PortalOp::OutputMany { sessids, msgs });
                            }
                        }
                        op => {
                            for &p in linked {
                                put(p, op.clone());
                            }
                        }
                    }
                }
                for (sessid, seq) in acks {
                    if let Some(part) = parts.get_mut(&portal_of(sessid)) {
                        part.1.push((sessid, seq));
                    }
                }
                parts
                    .into_iter()
                    .filter(|(_, (ops, acks))| !ops.is_empty() || !acks.is_empty())
                    .map(|(p, (ops, acks))| (p, ToPortal::Batch { ops, acks }))
                    .collect()
            }
            ToPortal::Request { .. } | ToPortal::Detached | ToPortal::Marked
                if linked.contains(&0) =>
            {
                vec![(0, self)]
            }
            ToPortal::Request { .. } | ToPortal::Detached | ToPortal::Marked => Vec::new(),
            frame => everyone(frame),
        }
    }

    /// The same frame for a portal that does not read
    /// [`PortalOp::OutputMany`] (an older build): one `Output` per session.
    pub fn without_output_many(self) -> Self {
        match self {
            ToPortal::Batch { ops, acks } => ToPortal::Batch {
                ops: ops
                    .into_iter()
                    .flat_map(|op| match op {
                        PortalOp::OutputMany { sessids, msgs } => sessids
                            .into_iter()
                            .map(|sessid| PortalOp::Output {
                                sessid,
                                msgs: msgs.clone(),
                            })
                            .collect(),
                        op => vec![op],
                    })
                    .collect(),
                acks,
            },
            other => other,
        }
    }
}

/// What the launcher (`tavern status`, `reload`, ...) asks a running portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LauncherRequest {
    /// Asks for a status report.
    Status,
    /// Reload / reset the server, or shut everything down.
    Stop {
        /// How.
        mode: StopMode,
    },
    /// The launcher made an account in the database: the running server
    /// should know it at once (`perm *name` right after `account create`).
    AccountCreated {
        /// The account's id.
        account: i64,
    },
    /// Hand the portal over to a new portal process started from the binary
    /// on disk (`tavern upgrade-portal`); answered once it has taken over.
    UpgradePortal,
}

/// Whether a server is connected to the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerState {
    /// It runs.
    Running,
    /// It is being restarted.
    Reloading,
    /// None runs.
    Down,
}

/// What `tavern status` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The game's name.
    pub game: String,
    /// The portal's pid.
    pub portal_pid: u32,
    /// How long the portal has run.
    pub portal_uptime_secs: u64,
    /// The server's pid, if one runs.
    pub server_pid: Option<u32>,
    /// How long the server has run.
    pub server_uptime_secs: Option<u64>,
    /// The server's state.
    pub server_state: ServerState,
    /// Connected sessions.
    pub sessions: usize,
    /// Sessions logged in.
    pub logged_in: usize,
    /// How many times the server was restarted after a crash.
    pub server_restarts: u64,
    /// This portal's `[portal] id`.
    #[serde(default)]
    pub portal_id: PortalId,
    /// Every portal of the game, as the server sees them (empty when the
    /// server could not be asked).
    #[serde(default)]
    pub portals: Vec<PortalReport>,
    /// A reload's next server, loading the world beside the running one.
    #[serde(default)]
    pub standby_pid: Option<u32>,
}

/// The portal's answer to a launcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LauncherReply {
    /// The status.
    Status(StatusReport),
    /// The order was carried out; the text says how it went.
    Done(String),
    /// What was asked could not be done.
    Failed(String),
}
