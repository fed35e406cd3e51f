//! ServerSession and the ServerSessionHandler: the server's view of every
//! connection the portal holds.

use std::collections::{BTreeMap, VecDeque};

use tavern_shared::{Msg, SessId, SessionSync};

use crate::world::{AccountId, ObjId};

/// One connection, as the game sees it.
pub struct ServerSession {
    /// Evennia's session fields, shared with the portal (see [`SessionSync`]).
    pub sync: SessionSync,
    /// The server-owned part of `sync` changed: send it to the portal.
    pub dirty: bool,
    /// Work for this session is under way off the world executor (hashing a
    /// password, creating an account): input waits behind it, in order.
    pub busy: Option<u64>,
    /// Input that arrived while busy: `(seq, msg)`.
    pub held: VecDeque<(u64, Msg)>,
    /// A question asked with [`crate::CmdCtx::ask`]: the next line answers it.
    pub asked: Option<Answer>,
    /// When the player last typed here, in the server's input order (ties
    /// within one millisecond are broken by it).
    pub typed: u64,
}

/// What to do with the answer to a question.
pub type Answer = Box<dyn FnOnce(&mut crate::Server, SessId, String) + Send>;

/// Session data key marking that a hidden answer (a password) is awaited. It
/// survives a reload, the question itself does not: the answer is then swallowed
/// rather than run as a command (and shown back to the player).
pub const HIDDEN_PENDING: &str = "_hidden_input_pending";

impl ServerSession {
    /// The server's side of a session the portal announced.
    pub fn new(sync: SessionSync) -> Self {
        Self {
            sync,
            dirty: false,
            busy: None,
            held: VecDeque::new(),
            asked: None,
            typed: 0,
        }
    }

    /// The session's id (the portal's).
    pub fn sessid(&self) -> SessId {
        self.sync.sessid
    }

    /// The account it is logged in to.
    pub fn account(&self) -> Option<AccountId> {
        if self.sync.logged_in {
            self.sync.account_id
        } else {
            None
        }
    }

    /// The object it puppets.
    pub fn puppet(&self) -> Option<ObjId> {
        self.sync.puppet_id
    }

    /// Game data kept with the session: survives reloads and server crashes.
    pub fn data(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.sync.data
    }

    /// Sets game data kept with the session (synced to the portal, so it survives reloads).
    pub fn set_data(&mut self, key: impl Into<String>, value: serde_json::Value) {
        self.sync.data.insert(key.into(), value);
        self.dirty = true;
    }

    /// The remote address without the port, for throttles.
    pub fn ip(&self) -> &str {
        let a = self.sync.address.as_str();
        match a.rsplit_once(':') {
            Some((ip, _)) => ip.trim_start_matches('[').trim_end_matches(']'),
            None => a,
        }
    }
}

/// Every session, by id.
#[derive(Default)]
pub struct ServerSessionHandler {
    sessions: BTreeMap<SessId, ServerSession>,
}

impl ServerSessionHandler {
    /// Adds a session.
    pub fn insert(&mut self, s: ServerSession) {
        self.sessions.insert(s.sessid(), s);
    }

    /// Removes a session.
    pub fn remove(&mut self, sessid: SessId) -> Option<ServerSession> {
        self.sessions.remove(&sessid)
    }

    /// A session by id.
    pub fn get(&self, sessid: SessId) -> Option<&ServerSession> {
        self.sessions.get(&sessid)
    }

    /// A session by id, to change.
    pub fn get_mut(&mut self, sessid: SessId) -> Option<&mut ServerSession> {
        self.sessions.get_mut(&sessid)
    }

    /// Removes every session.
    pub fn clear(&mut self) -> Vec<ServerSession> {
        std::mem::take(&mut self.sessions).into_values().collect()
    }

    /// Every session.
    pub fn all(&self) -> impl Iterator<Item = &ServerSession> {
        self.sessions.values()
    }

    /// Every session, to change.
    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut ServerSession> {
        self.sessions.values_mut()
    }

    /// How many sessions there are.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Sessions logged in to `account`.
    pub fn of_account(&self, account: AccountId) -> Vec<SessId> {
        self.sessions
            .values()
            .filter(|s| s.account() == Some(account))
            .map(|s| s.sessid())
            .collect()
    }

    /// Sessions puppeting `obj`.
    pub fn puppeting(&self, obj: ObjId) -> Vec<SessId> {
        self.sessions
            .values()
            .filter(|s| s.puppet() == Some(obj))
            .map(|s| s.sessid())
            .collect()
    }

    /// The sessions logged in to an account.
    pub fn logged_in(&self) -> impl Iterator<Item = &ServerSession> {
        self.sessions.values().filter(|s| s.sync.logged_in)
    }
}
