//! The messages that cross the link, defined once for both processes.
//!
//! Compatibility rule: the portal keeps running old code while a reloaded server
//! runs new code, so messages are encoded with named fields (MessagePack maps);
//! a new field must carry `#[serde(default)]`, a new enum variant goes at the
//! end, and anything else bumps [`LINK_PROTOCOL_VERSION`](super::LINK_PROTOCOL_VERSION).

use serde::{Deserialize, Serialize};

use crate::session::{SessId, SessionSync};

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
    },
    /// The server's figures, for the metrics endpoint: sent every few
    /// seconds to a portal that said it reads them (`HelloReply::Accepted`).
    Metrics(Box<crate::metrics::ServerMetrics>),
}

impl ToPortal {
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
