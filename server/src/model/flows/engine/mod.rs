//! A flow instance and its dispatch, without I/O: the instance is plain data
//! (saved as JSON), [`FlowInstance::run`] enters queued states and returns the
//! effects for the server to carry out, [`FlowInstance::deliver`] hands a
//! listener what it waits for.
//!
//! Rules (after adaptor:ex's sessions):
//! - Dispatch is serial: `next` queues a state; it is entered when nothing
//!   before it is pending. Entering a state leaves the one current in its
//!   path: that state's listeners are cancelled, or muted if kept.
//! - `split` starts a parallel path; `join(p)` cancels every listener whose
//!   path contains `p` or is contained in it, and ends the paths under `p`;
//!   entering again a state its path had entered before a split ends the
//!   branches split after it.
//! - A listener is active, muted or stalled. It is stalled the moment it
//!   calls `next` (a second event cannot race it); a kept listener queues
//!   events while muted or stalled, dropping the oldest beyond its maximum
//!   (and says so with a `queueing` effect), and replays them in order when
//!   it is active again. A cancelled listener is gone and hears nothing.
//! - A state remembers when it was first entered and how many of its
//!   run-actions are done: re-entered after a reload or crash, it goes on
//!   from there with its original date, so nothing is done twice and a
//!   timeout fires at that date plus its duration (at once if that passed).

use std::collections::VecDeque;

use litemap::LiteMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::def::{Action, ArgType, FlowDef, START};
use super::vars::{self, Found, Scope};
use crate::model::world::{AccountId, ObjId};

/// The most states one [`FlowInstance::run`] enters.
pub const MAX_ENTRIES_PER_RUN: usize = 1_000;

/// Who a flow belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    /// An object: a character (its player types to it), a room (anyone in it).
    Object(ObjId),
    /// An account.
    Account(AccountId),
    /// The game.
    Game,
}

/// A listener's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Hears events.
    Active,
    /// Kept while its state is not current: queues events.
    Muted,
    /// It called `next`, which is pending: queues events (if kept).
    Stalled,
}

/// A state being current in one path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveState {
    /// The state's name.
    pub state: String,
    /// The path it is in (names from the root; the root is empty).
    pub path: Vec<String>,
    /// When it was first entered (ms since the Unix epoch): the date its
    /// actions see, also when re-entered after a restart.
    pub date: i64,
    /// How many of its actions are done.
    pub done: usize,
    /// Its entry number in this flow (what its listeners belong to).
    pub entry: u64,
    /// What the listener that led here heard (`[[state.line]]`).
    pub data: Value,
}

/// A listening action of a current (or, kept, of an earlier) state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listener {
    /// `state:index`: the action it comes from.
    pub id: String,
    /// Its state.
    pub state: String,
    /// Its path.
    pub path: Vec<String>,
    /// The entry of its state it was armed in.
    pub entry: u64,
    /// The action.
    pub action: Action,
    /// Active, muted or stalled.
    pub status: Status,
    /// Events waiting (kept listeners).
    pub queue: VecDeque<Value>,
    /// When a timeout fires.
    pub deadline: Option<i64>,
}

impl Listener {
    fn kept(&self) -> bool {
        matches!(
            self.action,
            Action::OnCommand { keep: true, .. }
                | Action::OnEvent { keep: true, .. }
                | Action::OnOob { keep: true, .. }
        )
    }

    fn max_queue(&self) -> usize {
        match self.action {
            Action::OnCommand { max_queue, .. }
            | Action::OnEvent { max_queue, .. }
            | Action::OnOob { max_queue, .. } => max_queue,
            _ => 0,
        }
    }

    fn next(&self) -> &str {
        match &self.action {
            Action::OnCommand { next, .. }
            | Action::OnEvent { next, .. }
            | Action::OnChange { next, .. }
            | Action::Timeout { next, .. }
            | Action::OnOob { next, .. }
            | Action::OnFlowEnd { next, .. } => next,
            _ => START,
        }
    }
}

/// A `next` waiting to be dispatched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// The state to enter.
    pub state: String,
    /// In which path.
    pub path: Vec<String>,
    /// The listener that called it (stalled until it is dispatched).
    pub listener: Option<String>,
    /// What that listener heard.
    pub data: Value,
}

/// A path split from another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    /// The new path.
    pub path: Vec<String>,
    /// The path it split from.
    pub parent: Vec<String>,
    /// How many states the parent had entered when it split.
    pub split_at: usize,
}

/// Names to values, as a sorted vector: a flow's variables, references and
/// histories hold a few names each, and a vector of a few pairs is a tenth
/// of a `BTreeMap`'s node (a tutorial per character, thousands of
/// characters). Saved as a JSON object, as a map is.
pub type NameMap<V> = LiteMap<String, V>;

/// A [`NameMap`] saved as a JSON object, also when empty (litemap's own
/// serialization writes an empty map as `[]`); read from an object (or the
/// list litemap wrote).
mod as_object {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::NameMap;

    pub(super) fn serialize<V: Serialize, S: Serializer>(
        map: &NameMap<V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(map.iter())
    }

    pub(super) fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<NameMap<V>, D::Error> {
        NameMap::deserialize(d)
    }
}

/// What a path has entered: how many states, and when it first entered
/// each of them — all a split asks ("had the path entered this state
/// before it split?"). Its size is bounded by the definition's states, so
/// a flow that loops for months keeps what it kept on its first day (the
/// whole list of states it entered once grew with every entry, and so did
/// its saved row).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathHistory {
    /// How many states the path has entered.
    pub entered: u64,
    /// Each state entered, and the number of its first entry (0-based).
    pub first: NameMap<u64>,
}

impl PathHistory {
    /// The path enters `state`.
    fn push(&mut self, state: &str) {
        if !self.first.contains_key(state) {
            self.first.insert(state.to_string(), self.entered);
        }
        self.entered += 1;
    }

    /// Whether the path had entered `state` before its first `n` entries were over.
    pub fn entered_within(&self, state: &str, n: u64) -> bool {
        self.first.get(state).is_some_and(|&i| i < n)
    }
}

/// Saved as `{"entered": n, "first": {state: number}}`; read from that, or
/// from the list of every state entered an earlier build saved.
impl Serialize for PathHistory {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct First<'a>(&'a NameMap<u64>);
        impl Serialize for First<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter())
            }
        }
        let mut st = s.serialize_struct("PathHistory", 2)?;
        st.serialize_field("entered", &self.entered)?;
        st.serialize_field("first", &First(&self.first))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for PathHistory {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Counted {
                entered: u64,
                #[serde(with = "as_object")]
                first: NameMap<u64>,
            },
            Listed(Vec<String>),
        }
        Ok(match Stored::deserialize(d)? {
            Stored::Counted { entered, first } => PathHistory { entered, first },
            Stored::Listed(states) => {
                let mut h = PathHistory::default();
                for st in &states {
                    h.push(st);
                }
                h
            }
        })
    }
}

/// A running flow: everything about it that must survive a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowInstance {
    /// Its unique name.
    pub name: String,
    /// Its definition's name.
    pub def: String,
    /// Who it belongs to.
    pub owner: Owner,
    /// Its arguments.
    pub args: Map<String, Value>,
    /// Its own variables.
    #[serde(with = "as_object")]
    pub vars: NameMap<Value>,
    /// Its references: name → objects.
    #[serde(with = "as_object")]
    pub refs: NameMap<Vec<ObjId>>,
    /// The current state of each path.
    pub states: Vec<ActiveState>,
    /// Its listeners.
    pub listeners: Vec<Listener>,
    /// States waiting to be entered.
    pub pending: VecDeque<Pending>,
    /// The paths split off, and where.
    pub branches: Vec<Branch>,
    /// What each path has entered (key: the path joined by `/`).
    #[serde(with = "as_object")]
    pub history: NameMap<PathHistory>,
    /// Entries so far.
    pub entries: u64,
    /// When it started.
    pub started: i64,
    /// Whether it ended.
    pub ended: bool,
}

/// What the server is to do for a flow.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send text to `to` (`owner`, `room`, a reference or argument name).
    Send {
        /// Who.
        to: String,
        /// What (placeholders filled).
        text: String,
    },
    /// Set an object's attribute.
    SetAttr {
        /// The object.
        obj: ObjId,
        /// The attribute.
        attr: String,
        /// The value.
        value: Value,
    },
    /// Move an object.
    Move {
        /// What (a name: `owner`, a reference).
        what: String,
        /// Where (a name, `#id`, a world id, `home`).
        to: String,
    },
    /// A flow event for every flow.
    Emit {
        /// Its name.
        event: String,
        /// Its data.
        data: Value,
    },
    /// Start another flow.
    Launch {
        /// The definition.
        flow: String,
        /// The instance name, if given.
        name: Option<String>,
        /// Its arguments.
        args: Map<String, Value>,
        /// Its owner's name (`owner`, `game`, a reference).
        owner: String,
    },
    /// Call game code; the state's remaining actions wait until it returned.
    Call {
        /// The registered name.
        func: String,
        /// The payload (placeholders filled).
        payload: Value,
        /// The state it was called from.
        state: String,
        /// Its path.
        path: Vec<String>,
        /// `state:index`.
        action: String,
        /// The state's date.
        date: i64,
    },
    /// A kept listener dropped its oldest queued event.
    Queueing {
        /// The listener.
        listener: String,
    },
    /// Something the author should know (a missing variable, an unknown state).
    Warn(String),
    /// The flow ended.
    Ended,
}

/// What became of a trigger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Heard {
    /// A listener heard it (went, or queued it).
    pub matched: bool,
    /// A listener took it for itself (a command line that is not to run).
    pub consumed: bool,
}

impl std::ops::BitOrAssign for Heard {
    fn bitor_assign(&mut self, o: Heard) {
        self.matched |= o.matched;
        self.consumed |= o.consumed;
    }
}

/// Something a listener may be waiting for.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// A line the owner typed.
    Command(String),
    /// A flow event.
    Event(String, Value),
    /// Out-of-band input: package, data.
    Oob(String, Value),
    /// A flow ended (its name).
    FlowEnd(String),
    /// The clock (ms since the Unix epoch).
    Time(i64),
}

fn path_key(path: &[String]) -> String {
    path.join("/")
}

/// Whether every name of `small` is in `big`.
fn contains_all(big: &[String], small: &[String]) -> bool {
    small.iter().all(|s| big.contains(s))
}

impl FlowInstance {
    /// A new instance, with `START` queued (run it with [`FlowInstance::run`]).
    pub fn new(
        def: &FlowDef,
        name: &str,
        owner: Owner,
        args: Map<String, Value>,
        now: i64,
    ) -> Self {
        let mut f = FlowInstance {
            name: name.into(),
            def: def.name.clone(),
            owner,
            args,
            vars: NameMap::new(),
            refs: NameMap::new(),
            states: Vec::new(),
            listeners: Vec::new(),
            pending: VecDeque::new(),
            branches: Vec::new(),
            history: NameMap::new(),
            entries: 0,
            started: now,
            ended: false,
        };
        f.queue_next(START, Vec::new(), None, Value::Null);
        f
    }

    /// Queues a state; it is entered when what is queued before it is done.
    pub fn queue_next(
        &mut self,
        state: &str,
        path: Vec<String>,
        listener: Option<String>,
        data: Value,
    ) {
        self.pending.push_back(Pending {
            state: state.into(),
            path,
            listener,
            data,
        });
    }

    /// The current state of a path.
    pub fn current(&self, path: &[String]) -> Option<&ActiveState> {
        self.states.iter().find(|s| s.path == path)
    }

    /// A listener by its action id (`state:index`).
    pub fn listener(&self, id: &str) -> Option<&Listener> {
        self.listeners.iter().find(|l| l.id == id)
    }

    /// The earliest timeout.
    pub fn next_deadline(&self) -> Option<i64> {
        self.listeners
            .iter()
            .filter(|l| l.status == Status::Active)
            .filter_map(|l| l.deadline)
            .min()
    }

    /// Starts a parallel path from the current one.
    pub fn split(&mut self, from: &[String], state: &str, name: &str) {
        let mut path = from.to_vec();
        path.push(name.into());
        let split_at = self
            .history
            .get(&path_key(from))
            .map_or(0, |h| h.entered as usize);
        self.end_paths_under(&path);
        self.branches.push(Branch {
            path: path.clone(),
            parent: from.to_vec(),
            split_at,
        });
        self.queue_next(state, path, None, Value::Null);
    }

    /// Joins: cancels every listener whose path contains `path` or is
    /// contained in it, and ends the paths under `path` (not `keep`, the path
    /// doing the join).
    pub fn join(&mut self, path: &[String], keep: &[String]) {
        self.listeners
            .retain(|l| !(contains_all(&l.path, path) || contains_all(path, &l.path)));
        let under: Vec<Vec<String>> = self
            .states
            .iter()
            .map(|s| s.path.clone())
            .filter(|p| p.as_slice() != keep && p.len() >= path.len() && p.starts_with(path))
            .collect();
        for p in under {
            self.end_paths_under(&p);
        }
    }

    /// Ends a path and every path split from it.
    fn end_paths_under(&mut self, path: &[String]) {
        self.states.retain(|s| !s.path.starts_with(path));
        self.listeners.retain(|l| !l.path.starts_with(path));
        self.pending.retain(|p| !p.path.starts_with(path));
        self.branches.retain(|b| !b.path.starts_with(path));
        let keys: Vec<String> = self
            .history
            .keys()
            .filter(|k| {
                let p: Vec<String> = if k.is_empty() {
                    Vec::new()
                } else {
                    k.split('/').map(String::from).collect()
                };
                p.starts_with(path)
            })
            .cloned()
            .collect();
        for k in keys {
            self.history.remove(&k);
        }
    }

    /// Ends the flow.
    pub fn end(&mut self) {
        self.ended = true;
        self.states.clear();
        self.listeners.clear();
        self.pending.clear();
        self.branches.clear();
    }

    /// Enters queued states and runs their actions until nothing is pending
    /// or game code must be called; returns what the server is to do.
    pub fn run(&mut self, def: &FlowDef, now: i64, scope: &dyn Scope) -> Vec<Effect> {
        let mut fx = Vec::new();
        let mut entered = 0;
        loop {
            if self.ended {
                return fx;
            }
            // Go on with a current state whose actions are not all done
            // (after a `call`, or re-entered after a restart).
            if let Some(i) = self.states.iter().position(|s| {
                def.states
                    .get(&s.state)
                    .is_some_and(|acts| s.done < acts.len())
            }) {
                if self.run_actions(def, i, now, scope, &mut fx) {
                    return fx; // a call: the server answers first
                }
                continue;
            }
            if entered >= MAX_ENTRIES_PER_RUN && !self.pending.is_empty() {
                // States that only lead to each other: the rest waits for the
                // next event rather than hanging the server.
                fx.push(Effect::Warn(format!(
                    "{MAX_ENTRIES_PER_RUN} states entered in one go; is there a loop without a listener?"
                )));
                return fx;
            }
            let Some(p) = self.pending.pop_front() else {
                return fx;
            };
            entered += 1;
            self.enter(def, p, now, &mut fx);
        }
    }

    fn enter(&mut self, def: &FlowDef, p: Pending, now: i64, fx: &mut Vec<Effect>) {
        if !def.states.contains_key(&p.state) {
            fx.push(Effect::Warn(format!("there is no state '{}'", p.state)));
            if let Some(id) = &p.listener {
                self.unstall(id);
            }
            return;
        }
        let key = path_key(&p.path);
        // A state entered again that its path had entered before a split
        // ends the branches split after it.
        let before_split: Vec<Vec<String>> = self
            .branches
            .iter()
            .filter(|b| b.parent == p.path)
            .filter(|b| {
                self.history
                    .get(&key)
                    .is_some_and(|h| h.entered_within(&p.state, b.split_at as u64))
            })
            .map(|b| b.path.clone())
            .collect();
        for b in before_split {
            self.end_paths_under(&b);
        }
        // Leave the current state of the path: its listeners go (kept ones are muted).
        if let Some(i) = self.states.iter().position(|s| s.path == p.path) {
            let old = self.states.remove(i);
            self.listeners.retain_mut(|l| {
                if l.path != old.path || l.entry != old.entry {
                    return true;
                }
                // Kept listeners wait, muted; the others are cancelled.
                if l.kept() {
                    l.status = Status::Muted;
                }
                l.kept()
            });
        }
        self.entries += 1;
        self.history.entry(key).or_default().push(&p.state);
        self.states.push(ActiveState {
            state: p.state.clone(),
            path: p.path.clone(),
            date: now,
            done: 0,
            entry: self.entries,
            data: p.data,
        });
        if let Some(id) = &p.listener {
            self.unstall(id);
        }
    }

    /// A listener whose `next` was dispatched is active again if its state
    /// is current, muted (kept) otherwise.
    fn unstall(&mut self, id: &str) {
        let current: Vec<(String, Vec<String>)> = self
            .states
            .iter()
            .map(|s| (s.state.clone(), s.path.clone()))
            .collect();
        if let Some(l) = self.listeners.iter_mut().find(|l| l.id == id)
            && l.status == Status::Stalled
        {
            l.status = if current.contains(&(l.state.clone(), l.path.clone())) {
                Status::Active
            } else {
                Status::Muted
            };
        }
    }

    /// Runs the remaining actions of current state `i`; true if it stopped
    /// for a `call`.
    fn run_actions(
        &mut self,
        def: &FlowDef,
        i: usize,
        now: i64,
        scope: &dyn Scope,
        fx: &mut Vec<Effect>,
    ) -> bool {
        let (state, path, entry, date) = {
            let s = &self.states[i];
            (s.state.clone(), s.path.clone(), s.entry, s.date)
        };
        let actions = &def.states[&state];
        loop {
            let Some(i) = self
                .states
                .iter()
                .position(|s| s.path == path && s.entry == entry)
            else {
                return false; // the state was ended (a join, an end)
            };
            let done = self.states[i].done;
            let Some(action) = actions.get(done) else {
                return false;
            };
            self.states[i].done += 1;
            let id = format!("{state}:{done}");
            if action.listens() {
                self.arm(action, &id, &state, &path, entry, date, now, def, scope, fx);
                continue;
            }
            match action {
                Action::Send { text, to } => {
                    let text = self.render(def, text, scope, fx);
                    fx.push(Effect::Send {
                        to: to.clone(),
                        text,
                    });
                }
                Action::Set { var, value } => {
                    let value = self.render_value(def, value, scope, fx);
                    self.set(def, var, value, scope, fx);
                }
                Action::Move { what, to } => {
                    let to = self.render(def, to, scope, fx);
                    fx.push(Effect::Move {
                        what: what.clone(),
                        to,
                    })
                }
                Action::Emit { event, data } => {
                    let data = self.render_value(def, data, scope, fx);
                    fx.push(Effect::Emit {
                        event: event.clone(),
                        data,
                    });
                }
                Action::Launch {
                    flow,
                    name,
                    args,
                    owner,
                } => {
                    let args = match self.render_value(def, &Value::Object(args.clone()), scope, fx)
                    {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    };
                    let name = name.as_ref().map(|n| self.render(def, n, scope, fx));
                    fx.push(Effect::Launch {
                        flow: flow.clone(),
                        name,
                        args,
                        owner: owner.clone(),
                    });
                }
                Action::Call { func, payload } => {
                    let payload = self.render_value(def, payload, scope, fx);
                    fx.push(Effect::Call {
                        func: func.clone(),
                        payload,
                        state: state.clone(),
                        path: path.clone(),
                        action: id,
                        date,
                    });
                    return true;
                }
                Action::Next { state: next } => {
                    let next = self.render(def, next, scope, fx);
                    self.queue_next(&next, path.clone(), None, Value::Null);
                }
                Action::Split {
                    state: s,
                    path: name,
                } => self.split(&path, s, name),
                Action::Join { path: p } => {
                    let p = if p.is_empty() {
                        path.clone()
                    } else {
                        p.clone()
                    };
                    // This state goes on: its own path is not ended.
                    self.join(&p, &path);
                }
                Action::End => {
                    self.end();
                    fx.push(Effect::Ended);
                    return false;
                }
                _ => {}
            }
        }
    }

    /// Arms a listening action (or wakes its kept listener).
    #[allow(clippy::too_many_arguments)]
    fn arm(
        &mut self,
        action: &Action,
        id: &str,
        state: &str,
        path: &[String],
        entry: u64,
        date: i64,
        now: i64,
        def: &FlowDef,
        scope: &dyn Scope,
        fx: &mut Vec<Effect>,
    ) {
        let deadline = match action {
            Action::Timeout { after, .. } => vars::duration_ms(after).map(|d| date + d),
            _ => None,
        };
        if let Some(l) = self
            .listeners
            .iter_mut()
            .find(|l| l.id == id && l.path == path)
        {
            // A kept listener of this state, muted while it was not current.
            l.entry = entry;
            l.status = Status::Active;
            l.deadline = deadline;
        } else {
            self.listeners.push(Listener {
                id: id.into(),
                state: state.into(),
                path: path.to_vec(),
                entry,
                action: action.clone(),
                status: Status::Active,
                queue: VecDeque::new(),
                deadline,
            });
        }
        // What it queued while muted is heard now, in order.
        self.replay(id);
        if let Action::OnChange { .. } = action {
            self.check_change(id, def, scope, fx);
        }
        if deadline.is_some_and(|d| d <= now) {
            self.fire(id, json!({"at": now}));
        }
    }

    fn replay(&mut self, id: &str) {
        while let Some(l) = self.listeners.iter_mut().find(|l| l.id == id) {
            if l.status != Status::Active {
                return;
            }
            let Some(ev) = l.queue.pop_front() else {
                return;
            };
            self.fire(id, ev);
        }
    }

    /// The listener calls its `next`: it stalls until that is dispatched.
    fn fire(&mut self, id: &str, data: Value) {
        let Some(l) = self.listeners.iter_mut().find(|l| l.id == id) else {
            return;
        };
        l.status = Status::Stalled;
        let (next, path) = (l.next().to_string(), l.path.clone());
        let one_shot = !l.kept();
        if one_shot {
            // It has done its work; leaving the state would cancel it anyway.
            l.deadline = None;
        }
        self.queue_next(&next, path, Some(id.into()), data);
    }

    /// Whether a listener could hear `trigger` at all (one of its kind,
    /// active or keeping a queue): if none, delivering it changes nothing.
    pub fn may_hear(&self, trigger: &Trigger) -> bool {
        !self.ended
            && self.listeners.iter().any(|l| {
                let kind = matches!(
                    (&l.action, trigger),
                    (Action::OnCommand { .. }, Trigger::Command(_))
                        | (Action::OnEvent { .. }, Trigger::Event(..))
                        | (Action::OnOob { .. }, Trigger::Oob(..))
                        | (Action::OnFlowEnd { .. }, Trigger::FlowEnd(_))
                        | (Action::Timeout { .. }, Trigger::Time(_))
                );
                kind && (l.status == Status::Active || l.kept())
            })
    }

    /// Hands a trigger to every listener waiting for it.
    pub fn deliver(&mut self, trigger: &Trigger, fx: &mut Vec<Effect>) -> Heard {
        let mut heard = Heard::default();
        if self.ended {
            return heard;
        }
        let ids: Vec<String> = self.listeners.iter().map(|l| l.id.clone()).collect();
        for id in ids {
            let Some(l) = self.listeners.iter().find(|l| l.id == id) else {
                continue;
            };
            let (matched, data, consume) = match (&l.action, trigger) {
                (
                    Action::OnCommand {
                        command, consume, ..
                    },
                    Trigger::Command(line),
                ) => {
                    let m = command_pattern(command).is_some_and(|re| re.is_match(line.trim()));
                    (m, json!({"line": line.trim()}), *consume)
                }
                (Action::OnEvent { event, .. }, Trigger::Event(name, data)) => {
                    (event == name, json!({"event": name, "data": data}), false)
                }
                (Action::OnOob { package, .. }, Trigger::Oob(name, data)) => {
                    let norm = |s: &str| s.to_lowercase().replace('.', "_");
                    (
                        norm(package) == norm(name),
                        json!({"package": name, "data": data}),
                        false,
                    )
                }
                (Action::OnFlowEnd { flow, .. }, Trigger::FlowEnd(name)) => {
                    (flow == name, json!({"flow": name}), false)
                }
                (Action::Timeout { .. }, Trigger::Time(now)) => (
                    l.deadline.is_some_and(|d| d <= *now),
                    json!({"at": now}),
                    false,
                ),
                _ => (false, Value::Null, false),
            };
            if !matched {
                continue;
            }
            match l.status {
                Status::Active => {
                    heard.matched = true;
                    heard.consumed |= consume;
                    self.fire(&id, data);
                }
                Status::Muted | Status::Stalled if l.kept() => {
                    heard.matched = true;
                    heard.consumed |= consume;
                    let max = l.max_queue();
                    let l = self
                        .listeners
                        .iter_mut()
                        .find(|l| l.id == id)
                        .expect("found above");
                    l.queue.push_back(data);
                    if l.queue.len() > max {
                        l.queue.pop_front();
                        fx.push(Effect::Queueing {
                            listener: id.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
        heard
    }

    /// Checks every `on_change` listener; those whose condition holds go.
    pub fn check_changes(&mut self, def: &FlowDef, scope: &dyn Scope, fx: &mut Vec<Effect>) {
        let ids: Vec<String> = self
            .listeners
            .iter()
            .filter(|l| l.status == Status::Active && matches!(l.action, Action::OnChange { .. }))
            .map(|l| l.id.clone())
            .collect();
        for id in ids {
            self.check_change(&id, def, scope, fx);
        }
    }

    fn check_change(&mut self, id: &str, def: &FlowDef, scope: &dyn Scope, fx: &mut Vec<Effect>) {
        if let Some((var, now)) = self.change_holds(id, def, scope, fx) {
            self.fire(id, json!({"var": var, "value": now}));
        }
    }

    /// Whether the active `on_change` listener `id`'s condition holds now:
    /// the variable it watches and the value read.
    fn change_holds(
        &self,
        id: &str,
        def: &FlowDef,
        scope: &dyn Scope,
        fx: &mut Vec<Effect>,
    ) -> Option<(String, Value)> {
        let l = self.listeners.iter().find(|l| l.id == id)?;
        if l.status != Status::Active {
            return None;
        }
        let Action::OnChange { var, op, value, .. } = &l.action else {
            return None;
        };
        let want = self.render_value(def, value, scope, fx);
        let now = self.lookup(def, var, scope).unwrap_or(Value::Null);
        op.holds(&now, &want).then(|| (var.clone(), now))
    }

    /// Whether [`FlowInstance::check_changes`] would do anything now: fire
    /// a listener, or warn of a value it lacks. It changes nothing, so a
    /// look that finds nothing (the commonest) needs no instance to change.
    pub fn changes_would_act(&self, def: &FlowDef, scope: &dyn Scope) -> bool {
        let mut fx = Vec::new();
        let fires = self
            .listeners
            .iter()
            .filter(|l| l.status == Status::Active && matches!(l.action, Action::OnChange { .. }))
            .any(|l| self.change_holds(&l.id, def, scope, &mut fx).is_some());
        fires || !fx.is_empty()
    }

    /// Whether any active listener is an `on_change`.
    pub fn watches_changes(&self) -> bool {
        self.listeners
            .iter()
            .any(|l| l.status == Status::Active && matches!(l.action, Action::OnChange { .. }))
    }

    /// Looks a path up (see [`vars`] for the order).
    pub fn lookup(&self, def: &FlowDef, path: &str, scope: &dyn Scope) -> Option<Value> {
        self.find(def, path, scope).map(vars::to_value)
    }

    fn find(&self, def: &FlowDef, path: &str, scope: &dyn Scope) -> Option<Found> {
        let names: Vec<&str> = path.split('.').map(str::trim).collect();
        let (first, rest) = names.split_first()?;
        let start = if *first == "state" {
            let data = self
                .states
                .last()
                .map(|s| s.data.clone())
                .unwrap_or(Value::Null);
            Some(Found::Data(data))
        } else if let Some(v) = self.vars.get(*first) {
            Some(Found::Data(v.clone()))
        } else if let Some(v) = self.args.get(*first) {
            match def.args.get(*first) {
                Some(ArgType::Object) => object_id(v).map(Found::Object),
                _ => Some(Found::Data(v.clone())),
            }
        } else if let Some(ids) = self.refs.get(*first) {
            ids.first().copied().map(Found::Object)
        } else if *first == "owner" {
            match self.owner {
                Owner::Object(o) => Some(Found::Object(o)),
                Owner::Account(a) => Some(Found::Data(json!({"account": a}))),
                Owner::Game => Some(Found::Data(json!("game"))),
            }
        } else if let Some(f) = scope.owner().and_then(|o| scope.field(o, first)) {
            Some(f)
        } else {
            scope.global(first).map(Found::Data)
        };
        vars::follow(scope, start?, rest)
    }

    fn render(&self, def: &FlowDef, text: &str, scope: &dyn Scope, fx: &mut Vec<Effect>) -> String {
        let (out, missing) = vars::render(text, &|p| self.lookup(def, p, scope));
        for m in missing {
            fx.push(Effect::Warn(format!("[[{m}]] has no value")));
        }
        out
    }

    fn render_value(
        &self,
        def: &FlowDef,
        v: &Value,
        scope: &dyn Scope,
        fx: &mut Vec<Effect>,
    ) -> Value {
        let mut missing = Vec::new();
        let out = vars::render_value(v, &|p| self.lookup(def, p, scope), &mut missing);
        for m in missing {
            fx.push(Effect::Warn(format!("[[{m}]] has no value")));
        }
        out
    }

    /// Sets a variable: through to an object's attribute when the path
    /// starts at an object (`owner.hp`, `Player.score`), else the flow's own.
    pub fn set(
        &mut self,
        def: &FlowDef,
        var: &str,
        value: Value,
        scope: &dyn Scope,
        fx: &mut Vec<Effect>,
    ) {
        let names: Vec<&str> = var.split('.').map(str::trim).collect();
        if names.len() >= 2 {
            let (attr, head) = names.split_last().expect("two names");
            if let Some(Found::Object(obj)) = self.find(def, &head.join("."), scope) {
                fx.push(Effect::SetAttr {
                    obj,
                    attr: attr.to_string(),
                    value,
                });
                return;
            }
        }
        let Some((first, rest)) = names.split_first() else {
            return;
        };
        let Some((last, middle)) = rest.split_last() else {
            self.vars.insert(first.to_string(), value);
            return;
        };
        let mut slot = self
            .vars
            .entry(first.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        for name in middle {
            slot = as_object(slot)
                .entry(name.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        as_object(slot).insert(last.to_string(), value);
    }

    /// Gives back the room its lists and maps grew into beyond what they
    /// hold: a flow waits far longer than it changes, and thousands wait at
    /// once (a vector grows to four places at its first push).
    /// Only small ones are made tight: a long list (a looping flow's
    /// history) keeps growing by doubling, not by a copy per entry.
    pub fn compact(&mut self) {
        /// Up to this many entries, a list keeps no spare room.
        const TIGHT: usize = 8;
        fn tight<T>(list: &mut Vec<T>) {
            if list.len() <= TIGHT {
                list.shrink_to_fit();
            }
        }
        fn tight_map<V>(map: &mut NameMap<V>) {
            if map.len() <= TIGHT {
                let mut pairs = std::mem::take(map).into_tuple_vec();
                pairs.shrink_to_fit();
                *map = NameMap::from_sorted_store_unchecked(pairs);
            }
        }
        tight_map(&mut self.vars);
        tight_map(&mut self.refs);
        tight_map(&mut self.history);
        for (_, h) in self.history.iter_mut() {
            tight_map(&mut h.first);
        }
        tight(&mut self.states);
        tight(&mut self.listeners);
        tight(&mut self.branches);
        if self.pending.len() <= TIGHT {
            self.pending.shrink_to_fit();
        }
    }
}

/// The object `v` is, made one (emptied) if it is not.
fn as_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("made an object above"),
    }
}

/// The compiled pattern of an `on_command` (whole line, any case), cached:
/// compiling a regular expression for every line typed would cost more than
/// the command.
fn command_pattern(command: &str) -> Option<regex::Regex> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = cache.get(command) {
        return re.clone();
    }
    if cache.len() >= 1_024 {
        cache.clear(); // bounded: flows are few, but files can change
    }
    let re = regex::RegexBuilder::new(&format!("^(?:{command})$"))
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .ok();
    cache.insert(command.to_string(), re.clone());
    re
}

/// An object id from `12`, `"12"` or `"#12"`.
pub fn object_id(v: &Value) -> Option<ObjId> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().trim_start_matches('#').parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
