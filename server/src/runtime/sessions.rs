//! ServerSession and the ServerSessionHandler: the server's view of every
//! connection the portal holds.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use tavern_shared::{Msg, SessId, SessionSync};

use crate::model::world::{AccountId, IdMap, ObjId};

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
    /// The highest input number received: a portal that links again after
    /// its link was cut sends what it had no answer for, and what ran
    /// already is not run twice.
    pub received: u64,
    /// The command-rate bucket: tokens left, and when it was last filled (ms).
    pub(crate) rate: (f64, i64),
    /// The merged cmdset the last line used, while it stays good (see
    /// [`crate::runtime::cmdsets::CmdsetMemo`]); boxed, so a session that
    /// never types costs one pointer.
    pub(crate) cmdsets: Option<Box<crate::runtime::cmdsets::CmdsetMemo>>,
}

/// What to do with the answer to a question.
pub type Answer = Box<dyn FnOnce(&mut crate::runtime::server::Server, SessId, String) + Send>;

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
            rate: (f64::MAX, 0),
            busy: None,
            held: VecDeque::new(),
            asked: None,
            typed: 0,
            received: 0,
            cmdsets: None,
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

    /// Sets or (with `None`) removes game data kept with the session.
    pub fn keep_data(&mut self, key: &str, value: Option<serde_json::Value>) {
        match value {
            Some(v) => self.set_data(key, v),
            None => {
                if self.sync.data.remove(key).is_some() {
                    self.dirty = true;
                }
            }
        }
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

/// Every session, by id, with indexes by puppet and by account.
///
/// Sessions are changed through [`get_mut`](Self::get_mut) (or
/// [`all_mut`](Self::all_mut)); the handler remembers which it lent out and,
/// once per event, [`settle`](Self::settle)s them: their index entries are
/// brought up to date and those marked dirty are reported. Lookups by puppet
/// or account are right at any time, also between a change and the settling.
#[derive(Default)]
pub struct ServerSessionHandler {
    /// By id, hashed: nearly every event looks a session up several times
    /// (a B-tree of 1,000 sessions was 4 % of the server at saturation).
    /// Boxed, so growing the table moves pointers, not sessions.
    sessions: IdMap<SessId, Box<ServerSession>>,
    /// Their ids in order, for what lists them: every session, one
    /// portal's range.
    order: BTreeSet<SessId>,
    /// Sessions lent out to change since the last settling.
    lent: Vec<SessId>,
    /// Every session was lent out (`all_mut`).
    all_lent: bool,
    /// What the indexes hold for each session: its puppet and its account.
    indexed: IdMap<SessId, (Option<ObjId>, Option<AccountId>)>,
    by_puppet: IdMap<ObjId, Vec<SessId>>,
    by_account: IdMap<AccountId, Vec<SessId>>,
    /// Sessions found dirty when settled early, not yet reported.
    dirty: std::collections::BTreeSet<SessId>,
    /// Objects that gained their first session or lost their last in the
    /// index since the world was last told ([`Self::take_played_changes`]).
    played_changed: IdMap<ObjId, ()>,
}

/// How many sessions may be lent out before their index entries are settled
/// (lookups look at every unsettled session).
const MAX_UNSETTLED: usize = 16;

fn unlink<K: std::hash::Hash + Eq>(map: &mut IdMap<K, Vec<SessId>>, key: K, id: SessId) {
    if let Some(v) = map.get_mut(&key) {
        v.retain(|&s| s != id);
        if v.is_empty() {
            map.remove(&key);
        }
    }
}

impl ServerSessionHandler {
    /// Adds a session.
    pub fn insert(&mut self, s: ServerSession) {
        let id = s.sessid();
        self.sessions.insert(id, Box::new(s));
        self.order.insert(id);
        self.reindex(id);
    }

    /// Removes a session.
    pub fn remove(&mut self, sessid: SessId) -> Option<ServerSession> {
        let s = self.sessions.remove(&sessid);
        self.order.remove(&sessid);
        self.reindex(sessid);
        s.map(|s| *s)
    }

    /// A session by id.
    pub fn get(&self, sessid: SessId) -> Option<&ServerSession> {
        self.sessions.get(&sessid).map(|s| &**s)
    }

    /// A session by id, to change.
    pub fn get_mut(&mut self, sessid: SessId) -> Option<&mut ServerSession> {
        if !self.sessions.contains_key(&sessid) {
            return None;
        }
        if self.lent.len() >= MAX_UNSETTLED {
            // None of them is borrowed any more: bring their entries up to date.
            self.settle_lent();
        }
        if self.lent.last() != Some(&sessid) {
            self.lent.push(sessid);
        }
        self.sessions.get_mut(&sessid).map(|s| &mut **s)
    }

    /// Removes every session.
    pub fn clear(&mut self) -> Vec<ServerSession> {
        self.lent.clear();
        self.dirty.clear();
        self.all_lent = false;
        self.indexed.clear();
        for (p, _) in self.by_puppet.drain() {
            self.played_changed.insert(p, ());
        }
        self.by_account.clear();
        let mut sessions = std::mem::take(&mut self.sessions);
        std::mem::take(&mut self.order)
            .into_iter()
            .filter_map(|id| sessions.remove(&id))
            .map(|s| *s)
            .collect()
    }

    /// The sessions whose ids are in `range` (one portal's), in id order.
    pub fn in_range(&self, range: std::ops::Range<SessId>) -> Vec<SessId> {
        self.order.range(range).copied().collect()
    }

    /// Every session, in id order.
    pub fn all(&self) -> impl Iterator<Item = &ServerSession> {
        self.order
            .iter()
            .filter_map(|id| self.sessions.get(id))
            .map(|s| &**s)
    }

    /// Every session, to change, in no particular order.
    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut ServerSession> {
        self.all_lent = true;
        self.sessions.values_mut().map(|s| &mut **s)
    }

    /// How many sessions there are.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// The sessions lent out and not yet settled (all of them after `all_mut`).
    fn unsettled(&self) -> impl Iterator<Item = &ServerSession> {
        let all = self.all_lent.then(|| self.all());
        let lent = (!self.all_lent).then(|| self.lent.iter().filter_map(|id| self.get(*id)));
        all.into_iter().flatten().chain(lent.into_iter().flatten())
    }

    /// Sessions for which `key` picks `want`, by the index and the unsettled sessions.
    fn lookup<K: std::hash::Hash + Eq + Copy>(
        &self,
        index: &IdMap<K, Vec<SessId>>,
        want: K,
        key: impl Fn(&ServerSession) -> Option<K>,
    ) -> Vec<SessId> {
        if self.all_lent {
            return self
                .sessions
                .values()
                .filter(|s| key(s) == Some(want))
                .map(|s| s.sessid())
                .collect();
        }
        let mut out: Vec<SessId> = index
            .get(&want)
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| self.sessions.get(id).is_some_and(|s| key(s) == Some(want)))
            .collect();
        for s in self.unsettled() {
            if key(s) == Some(want) && !out.contains(&s.sessid()) {
                out.push(s.sessid());
            }
        }
        out.sort_unstable();
        out
    }

    /// Sessions logged in to `account`.
    pub fn of_account(&self, account: AccountId) -> Vec<SessId> {
        self.lookup(&self.by_account, account, ServerSession::account)
    }

    /// Sessions puppeting `obj`.
    pub fn puppeting(&self, obj: ObjId) -> Vec<SessId> {
        self.lookup(&self.by_puppet, obj, ServerSession::puppet)
    }

    /// The sessions puppeting any of `objs` (a room's contents), sorted:
    /// what [`Self::puppeting`] of each would give, but the sessions lent
    /// out in this event are looked at once for all of them, not once for
    /// each (a line said in a room of 500 asked about them 500 times).
    pub fn puppeting_any(&self, objs: &[ObjId]) -> Vec<SessId> {
        let mut wanted = objs.to_vec();
        wanted.sort_unstable();
        let puppets_one =
            |s: &ServerSession| s.puppet().is_some_and(|p| wanted.binary_search(&p).is_ok());
        let mut out: Vec<SessId> = if self.all_lent {
            self.sessions
                .values()
                .filter(|s| puppets_one(s))
                .map(|s| s.sessid())
                .collect()
        } else {
            let mut out = Vec::new();
            for &o in objs {
                for id in self.by_puppet.get(&o).into_iter().flatten() {
                    // A session not lent out since it was last indexed is
                    // indexed as it is; the lent ones are judged below.
                    if !self.lent.contains(id) {
                        out.push(*id);
                    }
                }
            }
            out.extend(
                self.unsettled()
                    .filter(|s| puppets_one(s))
                    .map(ServerSession::sessid),
            );
            out
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether a session puppets `obj`.
    pub fn is_puppeted(&self, obj: ObjId) -> bool {
        if self.all_lent {
            return !self.puppeting(obj).is_empty();
        }
        let indexed = self.by_puppet.get(&obj).is_some_and(|v| {
            v.iter().any(|id| {
                self.sessions
                    .get(id)
                    .is_some_and(|s| s.puppet() == Some(obj))
            })
        });
        indexed || self.unsettled().any(|s| s.puppet() == Some(obj))
    }

    /// Every object puppeted by a session.
    pub fn puppets(&self) -> Vec<ObjId> {
        let mut v: Vec<ObjId> = if self.all_lent {
            self.all().filter_map(ServerSession::puppet).collect()
        } else {
            let mut v: Vec<ObjId> = self.by_puppet.keys().copied().collect();
            v.extend(self.unsettled().filter_map(ServerSession::puppet));
            v
        };
        v.sort_unstable();
        v.dedup();
        v.retain(|&p| self.is_puppeted(p));
        v
    }

    /// The objects whose being played changed in the index since the last
    /// call, each with whether a session plays it now: what the world's
    /// index of played objects ([`crate::World::set_played`]) must learn.
    pub(crate) fn take_played_changes(&mut self) -> Vec<(ObjId, bool)> {
        let by_puppet = &self.by_puppet;
        self.played_changed
            .drain()
            .map(|(p, _)| (p, by_puppet.contains_key(&p)))
            .collect()
    }

    /// Objects whose being played the world may not know yet: those not
    /// told since their change ([`Self::take_played_changes`]) and the
    /// puppets of sessions lent out and not yet settled. With the world's
    /// [`played_in`](crate::World::played_in), they are every object a
    /// session may play (some of them may be played no longer).
    pub(crate) fn puppets_in_flux(&self) -> impl Iterator<Item = ObjId> + '_ {
        self.played_changed
            .keys()
            .copied()
            .chain(self.unsettled().filter_map(ServerSession::puppet))
    }

    /// The sessions logged in to an account.
    pub fn logged_in(&self) -> impl Iterator<Item = &ServerSession> {
        self.all().filter(|s| s.sync.logged_in)
    }

    fn reindex(&mut self, id: SessId) {
        let now = self.sessions.get(&id).map(|s| (s.puppet(), s.account()));
        let before = match now {
            Some(n) => self.indexed.insert(id, n),
            None => self.indexed.remove(&id),
        };
        let now = now.unwrap_or((None, None));
        let before = before.unwrap_or((None, None));
        if before.0 != now.0 {
            if let Some(p) = before.0 {
                unlink(&mut self.by_puppet, p, id);
                if !self.by_puppet.contains_key(&p) {
                    self.played_changed.insert(p, ());
                }
            }
            if let Some(p) = now.0 {
                let sessions = self.by_puppet.entry(p).or_default();
                if sessions.is_empty() {
                    self.played_changed.insert(p, ());
                }
                sessions.push(id);
            }
        }
        if before.1 != now.1 {
            if let Some(a) = before.1 {
                unlink(&mut self.by_account, a, id);
            }
            if let Some(a) = now.1 {
                self.by_account.entry(a).or_default().push(id);
            }
        }
    }

    /// Brings the index entries of the lent sessions up to date, keeping
    /// those marked dirty for [`settle`](Self::settle).
    pub(crate) fn settle_lent(&mut self) {
        let ids: Vec<SessId> = if std::mem::take(&mut self.all_lent) {
            self.lent.clear();
            self.sessions.keys().copied().collect()
        } else {
            let mut v = std::mem::take(&mut self.lent);
            v.sort_unstable();
            v.dedup();
            v
        };
        for id in ids {
            self.reindex(id);
            if let Some(s) = self.sessions.get_mut(&id)
                && std::mem::take(&mut s.dirty)
            {
                self.dirty.insert(id);
            }
        }
    }

    /// Brings the indexes up to date with the sessions changed since the
    /// last call, and returns those marked dirty (clearing the mark), in order.
    pub fn settle(&mut self) -> Vec<SessId> {
        self.settle_lent();
        std::mem::take(&mut self.dirty)
            .into_iter()
            .filter(|id| self.sessions.contains_key(id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: SessId) -> ServerSession {
        ServerSession::new(SessionSync {
            sessid: id,
            ..Default::default()
        })
    }

    fn puppet(
        h: &mut ServerSessionHandler,
        id: SessId,
        obj: Option<ObjId>,
        account: Option<AccountId>,
    ) {
        let s = h.get_mut(id).unwrap();
        s.sync.puppet_id = obj;
        s.sync.account_id = account;
        s.sync.logged_in = account.is_some();
    }

    #[test]
    fn lookups_by_puppet_and_account_are_right_before_and_after_settling() {
        let mut h = ServerSessionHandler::default();
        for id in 1..=3 {
            h.insert(session(id));
        }
        puppet(&mut h, 1, Some(10), Some(100));
        puppet(&mut h, 2, Some(10), Some(100));
        puppet(&mut h, 3, Some(11), Some(101));
        // Not settled yet: still found.
        assert_eq!(h.puppeting(10), vec![1, 2]);
        assert_eq!(h.of_account(101), vec![3]);
        assert_eq!(h.puppeting_any(&[11, 10, 12]), vec![1, 2, 3]);
        assert!(h.settle().is_empty(), "nobody marked dirty");
        assert_eq!(h.puppeting(10), vec![1, 2]);
        assert_eq!(h.puppeting_any(&[10]), vec![1, 2]);
        assert_eq!(h.puppets(), vec![10, 11]);
        // Session 2 changes puppet: the old entry no longer counts, even unsettled.
        puppet(&mut h, 2, Some(11), Some(100));
        assert_eq!(h.puppeting(10), vec![1]);
        assert_eq!(h.puppeting(11), vec![2, 3]);
        assert_eq!(h.puppeting_any(&[10]), vec![1]);
        assert_eq!(h.puppeting_any(&[11, 99]), vec![2, 3]);
        h.settle();
        assert_eq!(h.puppeting(11), vec![2, 3]);
        assert_eq!(h.of_account(100), vec![1, 2]);
        // Changed through all_mut: the same.
        for s in h.all_mut() {
            s.sync.puppet_id = None;
        }
        assert!(h.puppeting(11).is_empty());
        assert!(h.puppeting_any(&[10, 11]).is_empty());
        h.settle();
        assert!(h.puppets().is_empty());
        h.remove(1);
        assert_eq!(h.of_account(100), vec![2]);
        assert!(!h.is_puppeted(10));
    }

    /// What the world's index of played objects is told, and what it may
    /// not know yet.
    #[test]
    fn objects_gaining_their_first_session_or_losing_their_last_are_reported_once() {
        let changes = |h: &mut ServerSessionHandler| {
            let mut v = h.take_played_changes();
            v.sort_unstable();
            v
        };
        let in_flux = |h: &ServerSessionHandler| {
            let mut v: Vec<ObjId> = h.puppets_in_flux().collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut h = ServerSessionHandler::default();
        for id in 1..=3 {
            h.insert(session(id));
        }
        assert!(changes(&mut h).is_empty(), "nobody plays anything");
        puppet(&mut h, 1, Some(10), Some(100));
        puppet(&mut h, 2, Some(10), Some(100));
        // Lent out, not settled: the world cannot know, and is told nothing.
        assert_eq!(in_flux(&h), vec![10]);
        assert!(changes(&mut h).is_empty());
        h.settle();
        assert_eq!(in_flux(&h), vec![10], "settled, not yet told");
        assert_eq!(changes(&mut h), vec![(10, true)], "one object, once");
        assert!(in_flux(&h).is_empty());
        // One of two sessions leaves it: it is still played.
        puppet(&mut h, 2, Some(11), Some(100));
        h.settle();
        assert_eq!(changes(&mut h), vec![(11, true)]);
        // Played and let go between two tellings: told as it is now.
        puppet(&mut h, 3, Some(12), Some(101));
        h.settle();
        puppet(&mut h, 3, None, Some(101));
        h.settle();
        assert_eq!(changes(&mut h), vec![(12, false)]);
        // A session gone takes its puppet with it; so does clearing them all.
        h.remove(2);
        assert_eq!(changes(&mut h), vec![(11, false)]);
        assert!(h.is_puppeted(10));
        h.clear();
        assert_eq!(changes(&mut h), vec![(10, false)]);
    }

    #[test]
    fn many_sessions_changed_in_one_event_are_all_found_and_reported() {
        let mut h = ServerSessionHandler::default();
        for id in 1..=100 {
            h.insert(session(id));
        }
        for id in 1..=100 {
            puppet(&mut h, id, Some(1000 + id as ObjId), Some(7));
            h.get_mut(id).unwrap().dirty = true;
        }
        assert_eq!(h.of_account(7).len(), 100);
        assert_eq!(h.puppeting(1050), vec![50]);
        let room: Vec<ObjId> = (1001..=1100).rev().collect();
        assert_eq!(h.puppeting_any(&room), (1..=100).collect::<Vec<_>>());
        assert!(h.is_puppeted(1100));
        assert_eq!(h.settle(), (1..=100).collect::<Vec<_>>());
        assert!(h.settle().is_empty());
    }

    #[test]
    fn sessions_are_listed_in_id_order_and_by_portal_range() {
        let mut h = ServerSessionHandler::default();
        // Inserted out of order, as portals and reconnects make them.
        for id in [70, 3, 1 << 40, 12, (1 << 40) + 5, 50, 1] {
            h.insert(session(id));
        }
        let ids = |h: &ServerSessionHandler| h.all().map(ServerSession::sessid).collect::<Vec<_>>();
        assert_eq!(ids(&h), vec![1, 3, 12, 50, 70, 1 << 40, (1 << 40) + 5]);
        assert_eq!(h.in_range(0..1 << 40), vec![1, 3, 12, 50, 70]);
        assert_eq!(h.in_range(1 << 40..2 << 40), vec![1 << 40, (1 << 40) + 5]);
        assert_eq!(h.in_range(13..50), Vec::<SessId>::new());
        assert_eq!(h.len(), 7);
        // A removed session is gone from every listing and lookup.
        assert!(h.remove(12).is_some());
        assert!(h.remove(12).is_none());
        assert!(h.get(12).is_none() && h.get_mut(12).is_none());
        assert_eq!(h.in_range(0..100), vec![1, 3, 50, 70]);
        assert_eq!(h.all_mut().count(), 6);
        let all: Vec<SessId> = h.clear().iter().map(ServerSession::sessid).collect();
        assert_eq!(all, vec![1, 3, 50, 70, 1 << 40, (1 << 40) + 5]);
        assert!(h.is_empty() && h.all().next().is_none() && h.in_range(0..u64::MAX).is_empty());
    }

    #[test]
    fn settling_reports_each_dirty_session_once() {
        let mut h = ServerSessionHandler::default();
        h.insert(session(1));
        h.insert(session(2));
        h.get_mut(2).unwrap().set_data("k", 1.into());
        h.get_mut(1).unwrap();
        h.get_mut(2).unwrap().set_data("k", 2.into());
        assert_eq!(h.settle(), vec![2]);
        assert!(h.settle().is_empty());
    }
}
