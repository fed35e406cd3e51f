//! What the web admin (served by the portal) asks of the game and what the
//! server answers: [`ToServer::Admin`](super::ToServer::Admin) and
//! [`PortalOp::Admin`](super::PortalOp::Admin). Reads are plain data for the
//! pages; every change is a command line the server runs as the admin, so
//! its locks, messages and saving are the in-game command's.

use serde::{Deserialize, Serialize};

/// Told to an account without the Admin permission (the admin site ends
/// its log-in on hearing it).
pub const NOT_ADMIN_MSG: &str = "Only accounts with the Admin permission may use the admin site.";

/// Told when the logged-in account no longer exists (likewise).
pub const ACCOUNT_GONE_MSG: &str = "That account is gone.";

/// One thing the web admin asks.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub enum AdminRequest {
    /// Check a log-in to the admin site: the account's password, and that
    /// the account may administer the game.
    LogIn {
        /// The account name.
        name: String,
        /// Its password (never logged: see the Debug impl).
        password: String,
        /// The browser's address, for bans and throttles.
        address: String,
    },
    /// Every session.
    Sessions,
    /// Accounts: by exact name, or the first ones by id.
    Accounts {
        /// A name, or empty.
        query: String,
    },
    /// Objects: `#id`, `tag:name`, `type:typeclass`, or the start of a key.
    Objects {
        /// The search.
        query: String,
    },
    /// One object with its attributes, tags and locks.
    Object {
        /// Its id.
        id: i64,
    },
    /// Running scripts, tickers and flows.
    Scripts,
    /// Whether the log-in still holds (the account exists and may
    /// administer): answered with [`AdminReply::LoggedIn`], for pages the
    /// portal serves from what it has itself (logs, metrics).
    Whoami,
    /// Run a command line as the admin (`boot`, `ban`, `set`, `tag`, `lock`):
    /// the answer is what the command said, once what it changed is saved.
    Run {
        /// The line.
        line: String,
    },
}

impl std::fmt::Debug for AdminRequest {
    /// A password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminRequest::LogIn { name, address, .. } => f
                .debug_struct("LogIn")
                .field("name", name)
                .field("address", address)
                .finish_non_exhaustive(),
            AdminRequest::Sessions => f.write_str("Sessions"),
            AdminRequest::Accounts { query } => {
                f.debug_struct("Accounts").field("query", query).finish()
            }
            AdminRequest::Objects { query } => {
                f.debug_struct("Objects").field("query", query).finish()
            }
            AdminRequest::Object { id } => f.debug_struct("Object").field("id", id).finish(),
            AdminRequest::Scripts => f.write_str("Scripts"),
            AdminRequest::Whoami => f.write_str("Whoami"),
            AdminRequest::Run { line } => f.debug_struct("Run").field("line", line).finish(),
        }
    }
}

/// The server's answer to an [`AdminRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AdminReply {
    /// The log-in holds, and the account may administer the game.
    LoggedIn {
        /// The account.
        account: i64,
        /// Its name.
        name: String,
    },
    /// Not allowed, or the log-in failed: why, for the admin to read.
    Refused(String),
    /// Every session.
    Sessions(Vec<AdminSession>),
    /// Accounts found (at most a page).
    Accounts(Vec<AdminAccount>),
    /// Objects found (at most a page), and how many there were.
    Objects {
        /// The page.
        found: Vec<AdminObjectRow>,
        /// All that matched.
        total: usize,
    },
    /// One object, if it exists.
    Object(Option<AdminObject>),
    /// Scripts, tickers and flows.
    Scripts(Vec<AdminScript>),
    /// What the command said (markup stripped).
    Ran(String),
}

/// A session, for the admin's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminSession {
    /// Its id (for `boot/sid`).
    pub sessid: u64,
    /// The account it is logged in to.
    pub account: Option<String>,
    /// The character it puppets.
    pub puppet: Option<String>,
    /// telnet, ssh, websocket, ...
    pub protocol: String,
    /// The player's address.
    pub address: String,
    /// Seconds since it connected.
    pub connected_secs: u64,
    /// Seconds since its last command.
    pub idle_secs: u64,
}

/// An account, for the admin's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminAccount {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its permissions.
    pub permissions: Vec<String>,
    /// Whether it is a superuser.
    pub superuser: bool,
    /// Its characters' names.
    pub characters: Vec<String>,
    /// Its sessions now.
    pub sessions: usize,
}

/// An object in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminObjectRow {
    /// Its id.
    pub id: i64,
    /// Its key.
    pub key: String,
    /// room, exit, character, thing.
    pub kind: String,
    /// Its typeclass.
    pub typeclass: String,
    /// Where it is: `key (#id)`.
    pub location: Option<String>,
}

/// One object in full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminObject {
    /// What a list shows.
    pub row: AdminObjectRow,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// Attributes: name and value as JSON text.
    pub attributes: Vec<(String, String)>,
    /// Tags: `name` or `name:category`.
    pub tags: Vec<String>,
    /// Locks: access type and expression.
    pub locks: Vec<(String, String)>,
    /// What it holds (at most a page).
    pub contents: Vec<AdminObjectRow>,
}

/// A script, ticker or flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminScript {
    /// script, ticker, delay or flow.
    pub kind: String,
    /// Its key or name.
    pub name: String,
    /// What it runs on: `key (#id)`, or empty for a global one.
    pub on: String,
    /// How it runs: interval, repeats, state.
    pub detail: String,
}
