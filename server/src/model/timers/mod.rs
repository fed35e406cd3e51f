//! Time in game code, as data: scripts, tickers and delays, their schedules
//! anchored to wall-clock deadlines, and the one [`Clock`] they share with
//! the flows' timeouts. Nothing here reads a clock: `now` is an argument,
//! and the runtime fires what falls due ([`crate::runtime::timers`]).
//!
//! What is persistent is written behind like the rest of the world: each
//! script, delay, ticker subscription and tick group is one row of the
//! `timers` table, and a firing's new count and deadline are written in the
//! same commit as what the firing changed, so a crash either keeps both or
//! loses both (and the firing happens again, once).

pub mod clock;
pub mod schedule;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use clock::{Clock, Due};
pub use schedule::{Missed, Schedule, TimerState};

use crate::model::ids::{AccountId, IdMap, ObjId, Timestamp};
use crate::model::sorted::SortedVec;

/// A script's or a delay's id (`scripts #3`, `tasks/cancel 3`): unique
/// among the timers that exist.
pub type TimerId = u64;

/// What a script is attached to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attached {
    /// Nothing: a global script.
    Global,
    /// An object: it goes when the object is destroyed.
    Object(ObjId),
    /// An account.
    Account(AccountId),
}

/// A script: a named kind of game code (its hooks), with a timer, a key to
/// find it by and attributes of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScriptData {
    /// Its id.
    pub id: TimerId,
    /// The name to find it by (need not be unique).
    pub key: String,
    /// The kind of script (a name the game registered), whose hooks run.
    pub typeclass: String,
    /// A line saying what it is for.
    #[serde(default)]
    pub desc: String,
    /// What it is on.
    pub on: Attached,
    /// When it fires.
    pub schedule: Schedule,
    /// Whether it is written to the database (a non-persistent script ends
    /// with the server process: a reload or a crash).
    pub persistent: bool,
    /// Its own attributes.
    #[serde(default)]
    pub attrs: Map<String, Value>,
    /// When it was made.
    pub created_at: Timestamp,
}

impl ScriptData {
    /// An attribute, converted (`None` if missing or of another shape).
    pub fn attr<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.attrs
            .get(name)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

/// A delay: game code the game registered by name, run with its arguments
/// once when the time comes (or every period, for a schedule).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DelayData {
    /// Its id.
    pub id: TimerId,
    /// The registered function it runs.
    pub callback: String,
    /// What the function is given.
    pub args: Value,
    /// When it runs.
    pub schedule: Schedule,
    /// Whether it is written to the database.
    pub persistent: bool,
    /// When it was made.
    pub created_at: Timestamp,
}

/// One ticker subscription: the registered function `hook` is run with
/// `target` and `args` every `interval` ms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TickerSub {
    /// Milliseconds between ticks.
    pub interval: i64,
    /// The object it concerns (its subscription ends with it).
    pub target: Option<ObjId>,
    /// The registered function it runs.
    pub hook: String,
    /// What the function is given.
    pub args: Value,
}

/// All tickers of one interval: one deadline serves them all. Ticks fall on
/// multiples of the interval since the Unix epoch, so a schedule is the
/// same in every process; the next deadline is stored only so that a tick
/// missed while the server was down is made up for, once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TickGroup {
    /// The next tick.
    pub next_at: Timestamp,
    /// The subscribers, by `(target, hook)`: their arguments.
    pub subs: BTreeMap<(Option<ObjId>, String), Value>,
}

/// A timer's row in the database, and what loading one gives back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimerRecord {
    /// A script.
    Script(ScriptData),
    /// A delay.
    Delay(DelayData),
    /// A tick group's next deadline.
    Ticks {
        /// Its interval.
        interval: i64,
        /// Its next tick.
        next_at: Timestamp,
    },
    /// A ticker subscription.
    Ticker(TickerSub),
    /// The next id a script or a delay gets (ids are not reused).
    NextId {
        /// The id.
        next: TimerId,
    },
}

/// What names a timer's row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowKey {
    /// A script's row.
    Script(TimerId),
    /// A delay's row.
    Delay(TimerId),
    /// A tick group's row.
    Ticks(i64),
    /// A ticker subscription's row.
    Ticker(i64, Option<ObjId>, String),
    /// The row that keeps the next id.
    NextId,
}

impl std::fmt::Display for RowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowKey::Script(id) => write!(f, "script:{id}"),
            RowKey::Delay(id) => write!(f, "delay:{id}"),
            RowKey::Ticks(i) => write!(f, "ticks:{i}"),
            RowKey::NextId => write!(f, "next_id"),
            RowKey::Ticker(i, t, h) => match t {
                Some(t) => write!(f, "ticker:{i}:{t}:{h}"),
                None => write!(f, "ticker:{i}:-:{h}"),
            },
        }
    }
}

impl TimerRecord {
    /// The row it is stored in.
    pub fn row_key(&self) -> RowKey {
        match self {
            TimerRecord::Script(s) => RowKey::Script(s.id),
            TimerRecord::Delay(d) => RowKey::Delay(d.id),
            TimerRecord::Ticks { interval, .. } => RowKey::Ticks(*interval),
            TimerRecord::Ticker(t) => RowKey::Ticker(t.interval, t.target, t.hook.clone()),
            TimerRecord::NextId { .. } => RowKey::NextId,
        }
    }

    /// Its kind, as the `timers` table's `kind` column says it.
    pub fn kind(&self) -> &'static str {
        match self {
            TimerRecord::Script(_) => "script",
            TimerRecord::Delay(_) => "delay",
            TimerRecord::Ticks { .. } => "ticks",
            TimerRecord::Ticker(_) => "ticker",
            TimerRecord::NextId { .. } => "next_id",
        }
    }
}

/// The first tick of `interval` after `now`: ticks fall on multiples of
/// the interval since the Unix epoch.
pub fn next_tick(interval: i64, now: Timestamp) -> Timestamp {
    let step = interval.max(1);
    (now.div_euclid(step) + 1) * step
}

/// Every script, delay and ticker, with the clock they are armed on, and
/// what changed since the store last took it. Change them through these
/// methods, which keep the clock and the indexes true and mark rows to write.
#[derive(Default, Debug)]
pub struct Timers {
    /// The deadline queue, shared with the flows (`Due::Flow`).
    pub clock: Clock,
    scripts: BTreeMap<TimerId, ScriptData>,
    delays: BTreeMap<TimerId, DelayData>,
    ticks: BTreeMap<i64, TickGroup>,
    scripts_on: IdMap<ObjId, SortedVec<TimerId>>,
    scripts_of_account: IdMap<AccountId, SortedVec<TimerId>>,
    /// By key: one set may hold every character's script of a kind.
    by_key: std::collections::HashMap<String, BTreeSet<TimerId>>,
    tickers_on: IdMap<ObjId, SortedVec<(i64, String)>>,
    ticker_count: usize,
    next_id: TimerId,
    /// Ids below this are taken: the next id as stored ([`ID_BLOCK`]).
    reserved: TimerId,
    dirty: BTreeSet<RowKey>,
    gone: BTreeSet<RowKey>,
    changes: u64,
}

/// Timer ids are taken in blocks of this many: the row that keeps the next
/// id is written when a block is used up, not with every new timer (a
/// fighter's guard arms a delay at every blow, and that row kept every
/// commit of a fight from being attributes alone). A restart goes on after
/// the last block stored; the ids it skips are never handed out.
pub const ID_BLOCK: TimerId = 1024;

impl Timers {
    /// How many changes were made (added to the world's change count).
    pub fn change_count(&self) -> u64 {
        self.changes
    }

    fn mark(&mut self, key: RowKey, persistent: bool) {
        self.changes += 1;
        if persistent {
            self.gone.remove(&key);
            self.dirty.insert(key);
        }
    }

    fn mark_gone(&mut self, key: RowKey, persistent: bool) {
        self.changes += 1;
        self.dirty.remove(&key);
        if persistent {
            self.gone.insert(key);
        }
    }

    fn new_id(&mut self) -> TimerId {
        self.next_id = self.next_id.max(1);
        let id = self.next_id;
        self.next_id += 1;
        if id >= self.reserved {
            self.reserved = id + ID_BLOCK;
            self.mark(RowKey::NextId, true);
        }
        id
    }

    /// Adds what was loaded from the database (nothing is marked to write).
    pub fn insert_loaded(&mut self, rec: TimerRecord) {
        match rec {
            TimerRecord::NextId { next } => {
                self.next_id = self.next_id.max(next);
                self.reserved = self.reserved.max(next);
            }
            TimerRecord::Script(s) => {
                self.next_id = self.next_id.max(s.id + 1);
                self.index_script(&s);
                self.clock.set(Due::Script(s.id), s.schedule.next_at);
                self.scripts.insert(s.id, s);
            }
            TimerRecord::Delay(d) => {
                self.next_id = self.next_id.max(d.id + 1);
                self.clock.set(Due::Delay(d.id), d.schedule.next_at);
                self.delays.insert(d.id, d);
            }
            TimerRecord::Ticks { interval, next_at } => {
                self.ticks.entry(interval).or_default().next_at = next_at;
                self.clock.set(Due::Ticks(interval), Some(next_at));
            }
            TimerRecord::Ticker(t) => {
                let group = self.ticks.entry(t.interval).or_default();
                if group.next_at == 0 {
                    // Its group's row did not load: the next tick in phase.
                    group.next_at = next_tick(t.interval, 0);
                }
                let at = group.next_at;
                self.index_ticker(&t);
                let group = self.ticks.entry(t.interval).or_default();
                if group.subs.insert((t.target, t.hook), t.args).is_none() {
                    self.ticker_count += 1;
                }
                if self.clock.when(&Due::Ticks(t.interval)).is_none() {
                    self.clock.set(Due::Ticks(t.interval), Some(at));
                }
            }
        }
    }

    /// The rows to write and to delete since the last call.
    pub fn take_changes(&mut self) -> (Vec<TimerRecord>, Vec<String>) {
        let dirty = std::mem::take(&mut self.dirty);
        let gone = std::mem::take(&mut self.gone);
        let write = dirty.into_iter().filter_map(|k| self.record(&k)).collect();
        (write, gone.iter().map(ToString::to_string).collect())
    }

    /// The record a row holds now, if it still exists.
    fn record(&self, key: &RowKey) -> Option<TimerRecord> {
        Some(match key {
            RowKey::Script(id) => TimerRecord::Script(self.scripts.get(id)?.clone()),
            RowKey::Delay(id) => TimerRecord::Delay(self.delays.get(id)?.clone()),
            RowKey::Ticks(i) => TimerRecord::Ticks {
                interval: *i,
                next_at: self.ticks.get(i)?.next_at,
            },
            RowKey::NextId => TimerRecord::NextId {
                next: self.reserved,
            },
            RowKey::Ticker(i, t, h) => TimerRecord::Ticker(TickerSub {
                interval: *i,
                target: *t,
                hook: h.clone(),
                args: self.ticks.get(i)?.subs.get(&(*t, h.clone()))?.clone(),
            }),
        })
    }

    // ---- scripts ----

    fn index_script(&mut self, s: &ScriptData) {
        match s.on {
            Attached::Object(o) => {
                self.scripts_on.entry(o).or_default().insert(s.id);
            }
            Attached::Account(a) => {
                self.scripts_of_account.entry(a).or_default().insert(s.id);
            }
            Attached::Global => {}
        }
        self.by_key
            .entry(s.key.to_lowercase())
            .or_default()
            .insert(s.id);
    }

    fn unindex_script(&mut self, s: &ScriptData) {
        fn drop_from<K: std::hash::Hash + Eq, S: std::hash::BuildHasher>(
            map: &mut std::collections::HashMap<K, SortedVec<TimerId>, S>,
            k: K,
            id: TimerId,
        ) {
            if let Some(set) = map.get_mut(&k) {
                set.remove(&id);
                if set.is_empty() {
                    map.remove(&k);
                }
            }
        }
        match s.on {
            Attached::Object(o) => drop_from(&mut self.scripts_on, o, s.id),
            Attached::Account(a) => drop_from(&mut self.scripts_of_account, a, s.id),
            Attached::Global => {}
        }
        let key = s.key.to_lowercase();
        if let Some(set) = self.by_key.get_mut(&key) {
            set.remove(&s.id);
            if set.is_empty() {
                self.by_key.remove(&key);
            }
        }
    }

    /// Adds a script (its `id` is set here) and arms it as its schedule says.
    pub fn add_script(&mut self, mut s: ScriptData) -> TimerId {
        s.id = self.new_id();
        let id = s.id;
        self.index_script(&s);
        self.clock.set(Due::Script(id), s.schedule.next_at);
        self.mark(RowKey::Script(id), s.persistent);
        self.scripts.insert(id, s);
        id
    }

    /// A script.
    pub fn script(&self, id: TimerId) -> Option<&ScriptData> {
        self.scripts.get(&id)
    }

    /// Changes a script (its key and what it is on stay); re-arms it and
    /// marks it to be written.
    pub fn update_script<R>(
        &mut self,
        id: TimerId,
        f: impl FnOnce(&mut ScriptData) -> R,
    ) -> Option<R> {
        let s = self.scripts.get_mut(&id)?;
        let (key, on) = (s.key.clone(), s.on);
        let r = f(s);
        s.key = key;
        s.on = on;
        s.id = id;
        let (next, persistent) = (s.schedule.next_at, s.persistent);
        self.clock.set(Due::Script(id), next);
        self.mark(RowKey::Script(id), persistent);
        Some(r)
    }

    /// Removes a script.
    pub fn remove_script(&mut self, id: TimerId) -> Option<ScriptData> {
        let s = self.scripts.remove(&id)?;
        self.unindex_script(&s);
        self.clock.set(Due::Script(id), None);
        self.mark_gone(RowKey::Script(id), s.persistent);
        Some(s)
    }

    /// Every script, by id.
    pub fn scripts(&self) -> impl Iterator<Item = &ScriptData> {
        self.scripts.values()
    }

    /// How many scripts there are.
    pub fn script_count(&self) -> usize {
        self.scripts.len()
    }

    /// The scripts on an object, an account, or (`Global`) on nothing.
    pub fn scripts_on(&self, on: Attached) -> Vec<TimerId> {
        match on {
            Attached::Object(o) => self
                .scripts_on
                .get(&o)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default(),
            Attached::Account(a) => self
                .scripts_of_account
                .get(&a)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default(),
            Attached::Global => self
                .scripts
                .values()
                .filter(|s| s.on == Attached::Global)
                .map(|s| s.id)
                .collect(),
        }
    }

    /// The scripts with this key (case does not matter).
    pub fn scripts_keyed(&self, key: &str) -> Vec<TimerId> {
        self.by_key
            .get(&key.to_lowercase())
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    // ---- delays ----

    /// Adds a delay (its `id` is set here), armed as its schedule says.
    pub fn add_delay(&mut self, mut d: DelayData) -> TimerId {
        d.id = self.new_id();
        let id = d.id;
        self.clock.set(Due::Delay(id), d.schedule.next_at);
        self.mark(RowKey::Delay(id), d.persistent);
        self.delays.insert(id, d);
        id
    }

    /// A delay.
    pub fn delay(&self, id: TimerId) -> Option<&DelayData> {
        self.delays.get(&id)
    }

    /// Changes a delay's schedule or arguments; re-arms it.
    pub fn update_delay<R>(
        &mut self,
        id: TimerId,
        f: impl FnOnce(&mut DelayData) -> R,
    ) -> Option<R> {
        let d = self.delays.get_mut(&id)?;
        let r = f(d);
        d.id = id;
        let (next, persistent) = (d.schedule.next_at, d.persistent);
        self.clock.set(Due::Delay(id), next);
        self.mark(RowKey::Delay(id), persistent);
        Some(r)
    }

    /// Removes a delay.
    pub fn remove_delay(&mut self, id: TimerId) -> Option<DelayData> {
        let d = self.delays.remove(&id)?;
        self.clock.set(Due::Delay(id), None);
        self.mark_gone(RowKey::Delay(id), d.persistent);
        Some(d)
    }

    /// How many delays wait.
    pub fn delay_count(&self) -> usize {
        self.delays.len()
    }

    /// Every delay.
    pub fn delays(&self) -> impl Iterator<Item = &DelayData> {
        self.delays.values()
    }

    // ---- tickers ----

    fn index_ticker(&mut self, t: &TickerSub) {
        if let Some(o) = t.target {
            self.tickers_on
                .entry(o)
                .or_default()
                .insert((t.interval, t.hook.clone()));
        }
    }

    /// Subscribes `hook` on `target` to the ticks of `interval` (replacing
    /// the arguments of the same subscription). True when it is new.
    pub fn add_ticker(&mut self, t: TickerSub, now: Timestamp) -> bool {
        let interval = t.interval.max(1);
        let t = TickerSub { interval, ..t };
        self.index_ticker(&t);
        let key = RowKey::Ticker(interval, t.target, t.hook.clone());
        let fresh_group = !self.ticks.contains_key(&interval);
        let group = self.ticks.entry(interval).or_default();
        if fresh_group {
            group.next_at = next_tick(interval, now);
        }
        let at = group.next_at;
        let new = group.subs.insert((t.target, t.hook), t.args).is_none();
        if new {
            self.ticker_count += 1;
        }
        if fresh_group {
            self.clock.set(Due::Ticks(interval), Some(at));
            self.mark(RowKey::Ticks(interval), true);
        }
        self.mark(key, true);
        new
    }

    /// Ends a subscription. True when there was one.
    pub fn remove_ticker(&mut self, interval: i64, target: Option<ObjId>, hook: &str) -> bool {
        let Some(group) = self.ticks.get_mut(&interval) else {
            return false;
        };
        if group.subs.remove(&(target, hook.to_string())).is_none() {
            return false;
        }
        self.ticker_count -= 1;
        let empty = group.subs.is_empty();
        if let Some(o) = target
            && let Some(set) = self.tickers_on.get_mut(&o)
        {
            set.remove(&(interval, hook.to_string()));
            if set.is_empty() {
                self.tickers_on.remove(&o);
            }
        }
        self.mark_gone(RowKey::Ticker(interval, target, hook.to_string()), true);
        if empty {
            self.ticks.remove(&interval);
            self.clock.set(Due::Ticks(interval), None);
            self.mark_gone(RowKey::Ticks(interval), true);
        }
        true
    }

    /// The tick groups, by interval.
    pub fn tick_groups(&self) -> impl Iterator<Item = (i64, &TickGroup)> {
        self.ticks.iter().map(|(i, g)| (*i, g))
    }

    /// One interval's group.
    pub fn tick_group(&self, interval: i64) -> Option<&TickGroup> {
        self.ticks.get(&interval)
    }

    /// How many ticker subscriptions there are.
    pub fn ticker_count(&self) -> usize {
        self.ticker_count
    }

    /// The subscriptions on an object: `(interval, hook)`.
    pub fn tickers_on(&self, obj: ObjId) -> Vec<(i64, String)> {
        self.tickers_on
            .get(&obj)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A group ticked at `now`: it is armed for its next tick in phase (a
    /// group left without subscribers, as a partial load can leave one, goes).
    pub fn ticked(&mut self, interval: i64, now: Timestamp) {
        let Some(group) = self.ticks.get_mut(&interval) else {
            return;
        };
        if group.subs.is_empty() {
            self.ticks.remove(&interval);
            self.clock.set(Due::Ticks(interval), None);
            self.mark_gone(RowKey::Ticks(interval), true);
            return;
        }
        group.next_at = next_tick(interval, now.max(group.next_at));
        let at = group.next_at;
        self.clock.set(Due::Ticks(interval), Some(at));
        self.mark(RowKey::Ticks(interval), true);
    }
}

impl Timers {
    /// An object is gone: its scripts and ticker subscriptions go with it.
    /// Returns the scripts removed.
    pub fn forget_object(&mut self, obj: ObjId) -> Vec<ScriptData> {
        let ids = self.scripts_on(Attached::Object(obj));
        let gone = ids
            .into_iter()
            .filter_map(|id| self.remove_script(id))
            .collect();
        for (interval, hook) in self.tickers_on(obj) {
            self.remove_ticker(interval, Some(obj), &hook);
        }
        gone
    }
}
