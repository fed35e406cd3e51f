//! Live client data: GMCP packages and MSDP variables fed from the world.
//!
//! A [`Feed`] is one GMCP package (`Char.Vitals`, `Room.Info`, ...): a
//! snapshot of what it says about a character, which changes it watches, and
//! the same data under MSDP names. After every event the server looks at the
//! objects that changed, finds the sessions whose puppet a feed watches them
//! for, and sends each such session the packages whose snapshot differs from
//! what it last sent — so a burst of changes within one command is one update,
//! and an unchanged package is never sent again. Each session gets the data of
//! its own puppet only.
//!
//! GMCP goes to sessions whose client speaks it (telnet GMCP, or a websocket)
//! and, once the client has sent `Core.Supports.Set`, only for the modules it
//! listed. MSDP variables go to sessions that asked for them with `REPORT`.
//! After a login or puppet change, and after every reload, a session gets a
//! fresh snapshot of everything.

mod core;
pub(crate) use core::Roster;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};
use tavern_shared::{Msg, SessId};

use rustc_hash::FxHashMap;

use crate::model::touches::AttrTouches;
use crate::model::world::{IdMap, ObjId};
use crate::runtime::server::Server;

pub use self::core::{
    CharBase, CharName, CharStatus, CharStatusVars, CharVitals, DEFAULT_STATUS_VARS, GroupInfo,
    GroupMembers, RoomInfo,
};

/// One GMCP package fed from the world. See the [module docs](self).
///
/// ```
/// use serde_json::{Value, json};
/// use tavern_server::feeds::Feed;
/// use tavern_server::{ObjId, Server};
///
/// /// `Char.Purse`: the gold a character carries.
/// struct Purse;
///
/// impl Feed for Purse {
///     fn package(&self) -> &str { "Char.Purse" }
///     fn snapshot(&self, server: &Server, puppet: ObjId) -> Option<Value> {
///         let gold = server.world.get(puppet)?.attr::<i64>("gold")?;
///         Some(json!({ "gold": gold }))
///     }
///     fn msdp(&self, snapshot: &Value) -> Vec<(String, Value)> {
///         vec![("GOLD".into(), snapshot["gold"].clone())]
///     }
///     fn msdp_variables(&self) -> &[&str] { &["GOLD"] }
/// }
/// ```
pub trait Feed: Send + Sync + 'static {
    /// The GMCP package name: `Char.Vitals`.
    fn package(&self) -> &str;

    /// What the package says about the character `puppet` now; `None` sends
    /// nothing (the game has no such data for it).
    fn snapshot(&self, server: &Server, puppet: ObjId) -> Option<Value>;

    /// Whether a change to `changed` may change this package for `puppet`.
    /// It is asked about the objects near the puppet: itself, what it carries,
    /// its location and what is there (and its group's members). The default
    /// watches the puppet itself.
    fn watches(&self, server: &Server, puppet: ObjId, changed: ObjId) -> bool {
        let _ = server;
        changed == puppet
    }

    /// Whether the package shows anything about where the puppet is. A
    /// puppet that only moved (the commonest change there is) is looked at
    /// again only by packages that do; the default says yes, so no package
    /// is ever missed.
    fn follows_location(&self) -> bool {
        true
    }

    /// Whether a change of the attribute `name` (`ndb`: an in-memory one) of
    /// an object it watches may change this package. It is asked about an
    /// object whose only changes since the last pass were to attributes made
    /// with [`World::set_attr`](crate::model::world::World::set_attr),
    /// `del_attr`, `set_ndb` or `del_ndb` (a change inside `World::update`
    /// counts as a change of everything): a fighter's blow counter does not
    /// make `Char.Vitals` be rebuilt. It is asked once per pass for each
    /// such object, and an object whose changed attributes no package shows
    /// is passed over before anyone near it is looked at. The default says
    /// yes, so no package is ever missed; a package that names what it shows
    /// lets the others' changes go by.
    fn shows_attribute(&self, name: &str, ndb: bool) -> bool {
        let _ = (name, ndb);
        true
    }

    /// Whether everything this package shows is of characters someone
    /// plays: the puppet itself (the default [`Feed::watches`]), or its
    /// group's members (the group roster knows those who left). Then a
    /// change of attributes of an object nobody plays (a training dummy's
    /// hit points) is passed over by it before anyone near it is looked
    /// at. The default says no, so no package is ever missed; a package
    /// that watches a room or a thing must say no.
    fn only_played(&self) -> bool {
        false
    }

    /// After the first snapshot, send only the keys whose values changed
    /// (IRE's `Char.Status`).
    fn deltas(&self) -> bool {
        false
    }

    /// The same data as MSDP variables.
    fn msdp(&self, snapshot: &Value) -> Vec<(String, Value)> {
        let _ = snapshot;
        Vec::new()
    }

    /// The MSDP variable names [`Feed::msdp`] fills (for `LIST REPORTABLE_VARIABLES`).
    fn msdp_variables(&self) -> &[&str] {
        &[]
    }
}

/// The feeds a game has: Tavern's, then the game's own.
#[derive(Clone)]
pub struct Feeds {
    feeds: Vec<Arc<dyn Feed>>,
}

impl Default for Feeds {
    fn default() -> Self {
        let feeds: Vec<Arc<dyn Feed>> = vec![
            Arc::new(CharBase),
            Arc::new(CharName),
            Arc::new(CharVitals),
            Arc::new(CharStatusVars::default()),
            Arc::new(CharStatus::default()),
            Arc::new(RoomInfo),
            Arc::new(GroupInfo),
            Arc::new(GroupMembers),
        ];
        Feeds { feeds }
    }
}

impl Feeds {
    /// Adds a feed; one with the same package replaces it.
    pub fn add(&mut self, feed: Arc<dyn Feed>) {
        self.feeds.retain(|f| f.package() != feed.package());
        self.feeds.push(feed);
    }

    /// Every feed.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Feed>> {
        self.feeds.iter()
    }

    /// Every MSDP variable the feeds fill.
    pub fn msdp_variables(&self) -> Vec<&str> {
        self.feeds
            .iter()
            .flat_map(|f| f.msdp_variables().iter().copied())
            .collect()
    }
}

/// What a session was last sent, per package and per MSDP variable.
#[derive(Debug, Default)]
pub struct FeedState {
    /// The last GMCP payload of each package (the full snapshot, also for
    /// packages sent as deltas), as compact JSON, by the package's place
    /// among the game's feeds: held as `Value`s the snapshots of a session
    /// took about 16 KiB (a map node per object), as text a few hundred
    /// bytes; a pass compares them as text. A sorted vector: a session has
    /// a handful of packages, and a hash table of eight takes room for
    /// sixteen. Keyed by number, a look-up reads no name.
    pub gmcp: litemap::LiteMap<usize, Box<str>>,
    /// The last value of each reported MSDP variable.
    pub msdp: HashMap<String, Value, rustc_hash::FxBuildHasher>,
    /// Everything is to be sent again (login, puppet change, reload).
    pub fresh: bool,
}

/// The telnet option name a GMCP-speaking client has in its flags.
const GMCP_OPTION: &str = "GMCP";

/// The GMCP message for a package.
pub fn gmcp(package: &str, payload: Value) -> Msg {
    Msg::new(package)
        .arg(payload)
        .kwarg("options", json!({"protocol": "gmcp"}))
}

/// The MSDP message for a variable.
pub fn msdp(name: &str, value: Value) -> Msg {
    Msg::new(name)
        .arg(value)
        .kwarg("options", json!({"protocol": "msdp"}))
}

/// Whether a client that sent `supports` (`Core.Supports.Set`) takes `package`.
/// A client that sent nothing takes everything.
pub fn supported(supports: &[String], package: &str) -> bool {
    if supports.is_empty() {
        return true;
    }
    supports.iter().any(|s| {
        let module = s.split_whitespace().next().unwrap_or("");
        package.eq_ignore_ascii_case(module)
            || (package.len() > module.len()
                && package[..module.len()].eq_ignore_ascii_case(module)
                && package.as_bytes()[module.len()] == b'.')
    })
}

/// Whether the session's client speaks GMCP (a browser always does).
fn session_speaks_gmcp(s: &crate::runtime::sessions::ServerSession) -> bool {
    s.sync.protocol == "websocket" || s.sync.flags.options.iter().any(|o| o == GMCP_OPTION)
}

/// The keys of `new` whose values differ from `old` (all of `new` if either is
/// not an object).
fn delta(old: Option<&Value>, new: &Value) -> Value {
    match (old, new) {
        (Some(Value::Object(old)), Value::Object(new)) => Value::Object(
            new.iter()
                .filter(|(k, v)| old.get(*k) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => new.clone(),
    }
}

impl Server {
    /// Whether a session's client takes GMCP.
    pub fn speaks_gmcp(&self, sessid: SessId) -> bool {
        self.sessions.get(sessid).is_some_and(session_speaks_gmcp)
    }

    /// The last payload of a GMCP package sent to a session (what a client
    /// shows for it now).
    pub fn last_oob(&self, sessid: SessId, package: &str) -> Option<Value> {
        let i = self
            .game
            .feeds
            .iter()
            .position(|f| f.package() == package)?;
        let text = self.feed_states.get(&sessid)?.gmcp.get(&i)?;
        serde_json::from_str(text).ok()
    }

    /// Sends a session every package and reported variable again on the next pass.
    pub fn refresh_feeds(&mut self, sessid: SessId) {
        self.feed_states.entry(sessid).or_default().fresh = true;
        self.feed_fresh.insert(sessid);
    }

    /// Sends a line of a communication channel (`say` is one) to sessions as
    /// GMCP `Comm.Channel.Text` `{channel, talker, text}`.
    pub fn channel_text(&mut self, sessions: &[SessId], channel: &str, talker: &str, text: &str) {
        let payload = json!({"channel": channel, "talker": talker, "text": text});
        let (to, others): (Vec<SessId>, Vec<SessId>) = sessions.iter().copied().partition(|&s| {
            self.sessions.get(s).is_some_and(|x| {
                session_speaks_gmcp(x) && supported(&x.sync.flags.oob_supports, "Comm.Channel.Text")
            })
        });
        self.send_msg_many(&to, gmcp("Comm.Channel.Text", payload));
        // MSDP clients that asked for CHANNEL_TEXT to be reported.
        let reporting: Vec<SessId> = others
            .into_iter()
            .filter(|&s| {
                self.sessions.get(s).is_some_and(|x| {
                    x.data()
                        .get(crate::runtime::inputfuncs::MSDP_REPORTED)
                        .and_then(|v| v.as_array())
                        .is_some_and(|a| a.iter().any(|n| n == "CHANNEL_TEXT"))
                })
            })
            .collect();
        if !reporting.is_empty() {
            let table = json!({"CHANNEL": channel, "TALKER": talker, "TEXT": text});
            self.send_msg_many(&reporting, msdp("CHANNEL_TEXT", table));
        }
    }

    pub(crate) fn session_supports(&self, sessid: SessId, package: &str) -> bool {
        self.sessions
            .get(sessid)
            .is_some_and(|s| supported(&s.sync.flags.oob_supports, package))
    }

    /// The puppets near each change of `touched`, and for each puppet the
    /// changes near it: the puppet itself, what it carries, its location,
    /// what is there with it, and its group's members. A room's players
    /// are looked up once however many changes are in it, in the world's
    /// index of those played (its things are not walked).
    fn near(&self, touched: &BTreeSet<ObjId>) -> BTreeMap<ObjId, Vec<ObjId>> {
        let mut near: BTreeMap<ObjId, Vec<ObjId>> = BTreeMap::new();
        let mut in_rooms: BTreeMap<ObjId, Vec<ObjId>> = BTreeMap::new();
        let grouped = self.feed_pass_grouped;
        for &changed in touched {
            let mut note = |id: ObjId| {
                if self.sessions.is_puppeted(id) {
                    near.entry(id).or_default().push(changed);
                }
            };
            note(changed);
            for c in self.maybe_played_in(changed) {
                note(c);
            }
            if let Some(loc) = self.world.get(changed).and_then(|o| o.location) {
                note(loc);
                in_rooms.entry(loc).or_default().push(changed);
            }
            // Its group now, and the group it was in before (it may have
            // left): both groups' members see the change, found in the
            // roster, not by walking everyone played.
            if !grouped {
                continue;
            }
            let now = self.feed_roster.group(changed);
            let before = self
                .feed_pass_before
                .get(&changed)
                .filter(|&b| Some(b) != now);
            for group in [now, before].into_iter().flatten() {
                for p in self.feed_roster.members(group) {
                    if self.sessions.is_puppeted(p) {
                        near.entry(p).or_default().push(changed);
                    }
                }
            }
        }
        for (room, changes) in in_rooms {
            for c in self.played_in(room) {
                near.entry(c).or_default().extend(&changes);
            }
        }
        for changes in near.values_mut() {
            changes.sort_unstable();
            changes.dedup();
        }
        near
    }

    /// After an event: send every session the packages and reported MSDP
    /// variables that changed for its puppet.
    pub(crate) fn feed_pass(&mut self) {
        self.settle_sessions();
        let attr_touches = self.world.take_attr_touches();
        let mut touched = self.world.take_touched();
        let fresh = std::mem::take(&mut self.feed_fresh);
        let game = self.game.clone();
        // Decided once per change, not once per listener near it: which
        // feeds show one of the attributes of an object changed in those
        // alone. One shown by none (a fighter's blow counter) is passed over.
        let shown = ShownBy::new(&game.feeds, &attr_touches, &touched, |c| {
            self.sessions.is_puppeted(c) || self.feed_roster.group(c).is_some()
        });
        touched.retain(|&c| shown.any(c));
        if touched.is_empty() && fresh.is_empty() {
            return;
        }
        // Whether a touched object is (or was) in a group: group feeds look
        // no further when none is. The roster learns their groups
        // now, and the characters of fresh sessions' (played without being
        // touched, as after a reload).
        //
        // The roster is right for every character played (read when its
        // session was fresh, and at every change since), so a touched
        // object's group is read again only where it may differ: a fresh
        // session's character, one the roster has in a group, and one
        // played whose change may have been to its group (not a move
        // alone, not attributes other than `group`). Anything else plays
        // no part in a package: a group's members are characters played.
        let fresh_puppets: BTreeSet<ObjId> = fresh
            .iter()
            .filter_map(|&sessid| self.sessions.get(sessid).and_then(|s| s.puppet()))
            .collect();
        let mut grouped = false;
        let mut before = IdMap::default();
        for &c in touched.iter().chain(fresh_puppets.difference(&touched)) {
            let known = self.feed_roster.group(c).cloned();
            let read = fresh_puppets.contains(&c)
                || known.is_some()
                || (self.sessions.is_puppeted(c)
                    && !self.world.only_moved(c)
                    && attr_touches
                        .only_attributes(c)
                        .is_none_or(|names| names.iter().any(|(n, ndb)| !ndb && &**n == "group")));
            if !read {
                continue;
            }
            let now = core::group_of(self, c);
            if touched.contains(&c) {
                grouped |= now.is_some() || known.is_some();
                if let Some(was) = known {
                    before.insert(c, was);
                }
            }
            self.feed_roster.set(c, now);
        }
        self.feed_pass_grouped = grouped;
        self.feed_pass_before = before;
        let near = self.near(&touched);
        // The sessions to look at: fresh ones, and those of puppets near a change.
        let mut todo = fresh;
        for &p in near.keys() {
            todo.extend(self.sessions.puppeting(p));
        }
        // A snapshot is written here first and kept only when it differs
        // from the last one sent (most passes change nothing a package shows).
        let mut text: Vec<u8> = Vec::new();
        for sessid in todo {
            let (puppet, gmcp_on) = match self.sessions.get(sessid) {
                Some(s) => (s.puppet(), session_speaks_gmcp(s)),
                None => (None, false),
            };
            // What changed near it: a feed is asked about these only (in a
            // batch of many players' commands, not about every change of it).
            let changes: &[ObjId] = puppet
                .and_then(|p| near.get(&p))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let is_fresh = self.feed_states.get(&sessid).is_some_and(|st| st.fresh);
            // The MSDP variables it reports, read once it matters: a GMCP
            // client near a change that none of its packages shows needs none.
            let mut reported: Option<Vec<String>> = None;
            let takes_feeds = gmcp_on || {
                let r = crate::runtime::inputfuncs::reported(self, sessid);
                let any = !r.is_empty();
                reported = Some(r);
                any
            };
            let Some(puppet) = puppet.filter(|_| takes_feeds) else {
                if is_fresh {
                    // Nothing to send now; the next puppet or client change refreshes it again.
                    self.feed_states.remove(&sessid);
                }
                continue;
            };
            let mut out = Vec::new();
            {
                let state = self.feed_states.entry(sessid).or_default();
                if state.fresh {
                    state.gmcp.clear();
                    state.msdp.clear();
                }
            }
            for (i, feed) in game.feeds.iter().enumerate() {
                let follows = feed.follows_location();
                // A puppet that only moved changes no package that shows
                // nothing of where it is.
                // Nor does one whose attributes alone changed, none of them shown.
                let counts = |c: ObjId| {
                    (follows || c != puppet || !self.world.only_moved(c))
                        && shown.by(c, i)
                        && feed.watches(self, puppet, c)
                };
                // The puppet itself first (what most packages show): in a
                // crowd where everyone changed, no walk through the others.
                let watched = is_fresh
                    || (changes.contains(&puppet) && counts(puppet))
                    || changes.iter().any(|&c| c != puppet && counts(c));
                if !watched {
                    continue;
                }
                let package = feed.package();
                let gmcp_wanted = gmcp_on && self.session_supports(sessid, package);
                let reported = reported
                    .get_or_insert_with(|| crate::runtime::inputfuncs::reported(self, sessid));
                let msdp_wanted = feed
                    .msdp_variables()
                    .iter()
                    .any(|v| reported.iter().any(|r| r == v));
                if !gmcp_wanted && !msdp_wanted {
                    continue;
                }
                let snapshot = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    feed.snapshot(self, puppet)
                }))
                .unwrap_or_else(|_| {
                    tracing::error!(package, "a feed's snapshot panicked");
                    None
                });
                let Some(snapshot) = snapshot else {
                    continue;
                };
                let state = self.feed_states.entry(sessid).or_default();
                if gmcp_wanted {
                    text.clear();
                    // Writing a `Value` to memory fails only on a map with
                    // keys that are not strings, which a `Value` cannot hold.
                    let written = serde_json::to_writer(&mut text, &snapshot).is_ok();
                    let last = state.gmcp.get(&i);
                    if written && last.map(|l| l.as_bytes()) != Some(text.as_slice()) {
                        let payload = if feed.deltas() {
                            let last = last.and_then(|l| serde_json::from_str::<Value>(l).ok());
                            delta(last.as_ref(), &snapshot)
                        } else {
                            snapshot.clone()
                        };
                        out.push(gmcp(package, payload));
                        // serde_json writes UTF-8.
                        let kept = String::from_utf8_lossy(&text).into_owned();
                        state.gmcp.insert(i, kept.into_boxed_str());
                    }
                }
                if msdp_wanted {
                    for (name, value) in feed.msdp(&snapshot) {
                        if reported.contains(&name) && state.msdp.get(&name) != Some(&value) {
                            out.push(msdp(&name, value.clone()));
                            state.msdp.insert(name, value);
                        }
                    }
                }
            }
            if let Some(st) = self.feed_states.get_mut(&sessid) {
                st.fresh = false;
            }
            for m in out {
                self.send_msg(sessid, m);
            }
        }
        self.feed_pass_before.clear();
    }
}

/// For each object changed only in its attributes, the feeds that show one
/// of them, of it (bit `i`: feed `i`; a game with more than 64 feeds has
/// every feed past the 64th asked, and no change passed over). A feed that
/// shows only characters played ([`Feed::only_played`]) shows nothing of an
/// object `played` says nobody plays.
struct ShownBy {
    masks: FxHashMap<ObjId, u64>,
    many: bool,
}

impl ShownBy {
    fn new(
        feeds: &Feeds,
        touches: &AttrTouches,
        touched: &BTreeSet<ObjId>,
        played: impl Fn(ObjId) -> bool,
    ) -> Self {
        let mut shown = FxHashMap::default();
        for &c in touched {
            let Some(names) = touches.only_attributes(c) else {
                continue;
            };
            let mut mask = 0u64;
            // Asked once, and only if a feed of characters played shows one.
            let mut is_played = None;
            for (i, feed) in feeds.iter().enumerate().take(64) {
                if names.iter().any(|(n, ndb)| feed.shows_attribute(n, *ndb))
                    && (!feed.only_played() || *is_played.get_or_insert_with(|| played(c)))
                {
                    mask |= 1 << i;
                }
            }
            shown.insert(c, mask);
        }
        Self {
            masks: shown,
            many: feeds.iter().count() > 64,
        }
    }

    /// Whether a change of `c` may change feed `i`'s package.
    fn by(&self, c: ObjId, i: usize) -> bool {
        i >= 64 || self.masks.get(&c).is_none_or(|mask| mask & (1 << i) != 0)
    }

    /// Whether a change of `c` may change any package.
    fn any(&self, c: ObjId) -> bool {
        self.many || self.masks.get(&c).is_none_or(|&mask| mask != 0)
    }
}

#[cfg(test)]
mod tests;
