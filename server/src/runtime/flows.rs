//! Flows in the running server: definitions (from code and from
//! `[game] flows_dir`), instances in the world, what triggers their
//! listeners (commands, flow events, out-of-band input, flows ending, the
//! clock, changes), carrying out their effects, and saving them.
//!
//! A flow's messages reach players only once its new state is in the
//! database: like every change, a step's state goes out with the server's
//! next transmit, and the frames holding its messages (and the
//! acknowledgement of the command that caused it) leave only once that is
//! committed. A crash before the commit loses the step and its messages
//! together; the portal replays the command, and the step happens after all.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tavern_shared::SessId;
use tracing::{info, warn};

use crate::model::flows::def::FlowDef;
use crate::model::flows::engine::{
    Effect, FlowInstance, Heard, Listener, Owner, Trigger, object_id,
};
use crate::model::flows::vars::{Found, Scope};
use crate::model::sorted::SortedVec;
use crate::model::timers::{Clock, Due};
use crate::model::world::{IdMap, Kind, ObjId, Timestamp};
use crate::runtime::server::Server;

/// Game code a flow's `call` action runs.
pub type FlowFn = Arc<dyn Fn(&mut FlowCtx<'_>, &Value) -> Result<(), String> + Send + Sync>;

/// How many triggers one event may cause before the rest wait (a flow that
/// emits the event it listens for must not hang the server).
const MAX_TRIGGERS_PER_EVENT: usize = 1_000;

/// How many rounds of `on_change` checks one event may cause (a flow whose
/// change makes another's condition hold, and so on).
const MAX_CHANGE_ROUNDS: usize = 8;

/// The flows part of the server.
#[derive(Default)]
pub struct FlowRuntime {
    /// Every definition, by name: the game's, then those read from files.
    pub defs: BTreeMap<String, Arc<FlowDef>>,
    /// The flows' messages of this event: sent after what the event's
    /// command said itself, at its end.
    outbox: Vec<(Vec<SessId>, String)>,
    triggers: VecDeque<Trigger>,
    to_drive: VecDeque<String>,
    made: u64,
    index: FlowIndex,
    /// The warnings logged so far, by definition and text: a definition's
    /// mistake is logged once, not once a flow and a change (a thousand
    /// players' tutorials missing a value would flood the log).
    warned: std::collections::HashSet<(String, String)>,
}

/// How many distinct flow warnings are remembered; past it, each is logged.
const MAX_WARNINGS_KEPT: usize = 1000;

/// What lets the server find the flows an event concerns without looking
/// at every flow: by owner (the lines its players type) and by the objects
/// their `on_change` conditions read. Their next timeouts are on the
/// server's one clock (`Due::Flow`), beside the scripts and tickers.
#[derive(Default)]
struct FlowIndex {
    /// Most owners have one or two flows. Looked up for every line typed.
    by_owner: IdMap<Owner, SortedVec<String>>,
    /// Flows with `on_change` listeners: each object's field their
    /// conditions read when last checked, by a hash of the field's name
    /// (sorted; a change of attributes alone that none of them names is
    /// passed over).
    /// (Flow names are made by the game and its builders, never typed by
    /// players: a fast hash, as for ids.)
    fields: HashMap<String, Vec<(ObjId, u64)>, rustc_hash::FxBuildHasher>,
    /// The flows whose conditions read each object.
    /// (Shared names: a change copies a pointer for each, not the text.)
    readers: IdMap<ObjId, SortedVec<Arc<str>>>,
    /// Flows that changed since their `on_change` listeners last looked.
    recheck: BTreeSet<String>,
    /// Per owner, how many of its flows may hear a line typed and how many
    /// out-of-band input: a line none of them listens for costs a look-up
    /// per owner, not one per flow in the world's tree of flows by name.
    hearing: IdMap<Owner, Hearing>,
    /// What each flow in the world was counted there as hearing.
    hears: HashMap<String, (Owner, Hearing), rustc_hash::FxBuildHasher>,
}

/// What flows may hear (one flow's, or the sum of an owner's).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Hearing {
    commands: u32,
    oob: u32,
}

impl Hearing {
    fn of(inst: &FlowInstance) -> Self {
        Hearing {
            commands: inst.may_hear(&Trigger::Command(String::new())).into(),
            oob: inst
                .may_hear(&Trigger::Oob(String::new(), Value::Null))
                .into(),
        }
    }

    /// Whether this may hear `t` (a trigger not counted: maybe).
    fn may_hear(&self, t: &Trigger) -> bool {
        match t {
            Trigger::Command(_) => self.commands > 0,
            Trigger::Oob(..) => self.oob > 0,
            _ => true,
        }
    }
}

impl FlowIndex {
    fn put(&mut self, clock: &mut Clock, name: &str, inst: &FlowInstance, changed: bool) {
        let owned = self.by_owner.entry(inst.owner).or_default();
        if !owned.contains(name) {
            owned.insert(name.to_string());
        }
        self.count_hearing(name, Some((inst.owner, Hearing::of(inst))));
        clock.set(Due::Flow(name.to_string()), inst.next_deadline());
        if changed && !self.recheck.contains(name) {
            self.recheck.insert(name.to_string());
        }
    }

    fn forget(&mut self, clock: &mut Clock, name: &str, owner: Owner) {
        self.count_hearing(name, None);
        if let Some(set) = self.by_owner.get_mut(&owner) {
            set.remove(name);
            if set.is_empty() {
                self.by_owner.remove(&owner);
            }
        }
        clock.set(Due::Flow(name.to_string()), None);
        self.set_deps(name, Vec::new());
        self.recheck.remove(name);
    }

    /// What a flow's conditions read in a check, as they read it.
    fn set_reads(&mut self, name: &str, mut reads: Vec<(ObjId, u64)>) {
        reads.sort_unstable();
        reads.dedup();
        self.set_deps(name, reads);
    }

    /// What a flow's conditions read when last checked: (object, hash of
    /// the field's name), sorted, each once.
    fn set_deps(&mut self, name: &str, reads: Vec<(ObjId, u64)>) {
        // Most checks read what the last one read: nothing to re-index.
        match self.fields.get(name) {
            Some(old) if *old == reads => return,
            None if reads.is_empty() => return,
            _ => {}
        }
        for (o, _) in self.fields.remove(name).unwrap_or_default() {
            if let Some(r) = self.readers.get_mut(&o) {
                r.remove(name);
                if r.is_empty() {
                    self.readers.remove(&o);
                }
            }
        }
        if reads.is_empty() {
            return;
        }
        let mut last = None;
        for &(o, _) in &reads {
            // Sorted: the fields of one object are together.
            if last != Some(o) {
                self.readers.entry(o).or_default().insert(Arc::from(name));
                last = Some(o);
            }
        }
        self.fields.insert(name.to_string(), reads);
    }

    /// Whether the flow `name`'s conditions read one of the persistent
    /// attributes of `obj` in `changed` (they read no `ndb` ones). A hash
    /// that matches by chance only costs a look.
    fn reads_any(&self, name: &str, obj: ObjId, changed: &[(Box<str>, bool)]) -> bool {
        let Some(fields) = self.fields.get(name) else {
            return true;
        };
        changed.iter().filter(|(_, ndb)| !ndb).any(|(attr, _)| {
            let h = field_hash(attr);
            fields.iter().any(|&(o, f)| o == obj && f == h)
        })
    }

    /// Counts what the flow `name` may hear now (`None`: it is gone).
    fn count_hearing(&mut self, name: &str, now: Option<(Owner, Hearing)>) {
        let before = match (self.hears.get_mut(name), now) {
            (Some(slot), Some(now)) => Some(std::mem::replace(slot, now)),
            (Some(_), None) => self.hears.remove(name),
            (None, Some(now)) => {
                self.hears.insert(name.to_string(), now);
                None
            }
            (None, None) => None,
        };
        if before == now {
            return;
        }
        if let Some((owner, h)) = before
            && let Some(sum) = self.hearing.get_mut(&owner)
        {
            sum.commands -= h.commands;
            sum.oob -= h.oob;
            if *sum == Hearing::default() {
                self.hearing.remove(&owner);
            }
        }
        if let Some((owner, h)) = now
            && h != Hearing::default()
        {
            let sum = self.hearing.entry(owner).or_default();
            sum.commands += h.commands;
            sum.oob += h.oob;
        }
    }

    /// Whether a flow of one of `owners` may hear `t` (false: none does).
    fn any_may_hear(&self, owners: &[Owner], t: &Trigger) -> bool {
        owners
            .iter()
            .any(|o| self.hearing.get(o).is_some_and(|h| h.may_hear(t)))
    }

    /// The names of the flows owned by any of `owners`, copied, each once:
    /// to deliver to while flows change.
    fn owned_by(&self, owners: &[Owner]) -> Vec<String> {
        let mut v: Vec<String> = owners
            .iter()
            .filter_map(|o| self.by_owner.get(o))
            .flatten()
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Reads the flow definitions in a directory (`*.toml`, `*.json`); a file
/// that does not load is reported and skipped.
pub fn load_dir(dir: &Path) -> Vec<FlowDef> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut defs = Vec::new();
    for path in paths {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "toml" && ext != "json" {
            continue;
        }
        let loaded = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                if ext == "toml" {
                    FlowDef::from_toml(&text)
                } else {
                    FlowDef::from_json(&text)
                }
                .map_err(|e| e.to_string())
            });
        match loaded {
            Ok(def) => defs.push(def),
            Err(e) => {
                tracing::error!(file = %path.display(), "a flow definition does not load: {e}")
            }
        }
    }
    defs
}

/// What a flow's placeholders reach in the world. With `read` set, it
/// records every object looked at (what an `on_change` condition depends on).
struct WorldScope<'a> {
    server: &'a Server,
    owner: Option<ObjId>,
    /// What was read: (object, [`field_hash`] of the field's name).
    read: Option<RefCell<Vec<(ObjId, u64)>>>,
}

/// The hash by which a flow's dependencies name a field.
fn field_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(name)
}

impl<'a> WorldScope<'a> {
    fn new(server: &'a Server, owner: Option<ObjId>) -> Self {
        Self {
            server,
            owner,
            read: None,
        }
    }

    /// A scope that notes what is read through it ([`WorldScope::reads`]).
    fn reading(server: &'a Server, owner: Option<ObjId>) -> Self {
        Self {
            read: Some(RefCell::new(Vec::new())),
            ..Self::new(server, owner)
        }
    }

    /// What was read through it, in the order read.
    fn reads(self) -> Vec<(ObjId, u64)> {
        self.read.map(RefCell::into_inner).unwrap_or_default()
    }
}

impl Scope for WorldScope<'_> {
    fn field(&self, obj: ObjId, name: &str) -> Option<Found> {
        if let Some(read) = &self.read {
            read.borrow_mut().push((obj, field_hash(name)));
        }
        let o = self.server.world.get(obj)?;
        Some(match name {
            "id" => Found::Data(json!(o.id)),
            "key" | "name" => Found::Data(json!(o.key)),
            "location" => Found::Object(o.location?),
            "home" => Found::Object(o.home?),
            "typeclass" => Found::Data(json!(o.typeclass)),
            _ => Found::Data(o.attr::<Value>(name)?),
        })
    }
    fn owner(&self) -> Option<ObjId> {
        self.owner
    }
    fn global(&self, name: &str) -> Option<Value> {
        self.server.game.flow_globals.get(name).cloned()
    }
}

/// What game code called by a flow (`Game::flow_action`) works with — the
/// context of one action of one state of one flow.
pub struct FlowCtx<'a> {
    /// The server.
    pub server: &'a mut Server,
    flow: &'a mut FlowInstance,
    def: Arc<FlowDef>,
    /// When the state was first entered (also when re-entered after a restart).
    pub date: i64,
    /// The state's name.
    pub state: String,
    /// The state's path.
    pub path: Vec<String>,
    /// The action's id (`state:index`).
    pub action: String,
    fx: Vec<Effect>,
}

impl FlowCtx<'_> {
    /// The flow's unique name.
    pub fn name(&self) -> &str {
        &self.flow.name
    }
    /// Its definition's name.
    pub fn definition(&self) -> &str {
        &self.def.name
    }
    /// Who it belongs to.
    pub fn owner(&self) -> Owner {
        self.flow.owner
    }
    /// Goes to a state (in this path) when this action is done.
    pub fn next(&mut self, state: &str) {
        self.flow
            .queue_next(state, self.path.clone(), None, Value::Null);
    }
    /// Starts a parallel path.
    pub fn split_path(&mut self, state: &str, name: &str) {
        let path = self.path.clone();
        self.flow.split(&path, state, name);
    }
    /// Ends a path (see the flows guide).
    pub fn join_path(&mut self, path: &[&str]) {
        let p: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        let keep = self.path.clone();
        self.flow.join(&p, &keep);
    }
    /// A variable (see the lookup order in the flows guide).
    pub fn var(&self, path: &str) -> Option<Value> {
        let scope = WorldScope::new(self.server, owner_obj(self.flow.owner));
        self.flow.lookup(&self.def, path, &scope)
    }
    /// Sets a variable (through to an object's attribute for `obj.attr`).
    pub fn set(&mut self, var: &str, value: Value) {
        let scope = WorldScope::new(self.server, owner_obj(self.flow.owner));
        let mut fx = Vec::new();
        self.flow.set(&self.def, var, value, &scope, &mut fx);
        self.fx.extend(fx);
    }
    /// Emits a flow event.
    pub fn emit(&mut self, event: &str, data: Value) {
        self.fx.push(Effect::Emit {
            event: event.into(),
            data,
        });
    }
    /// A listener of this flow by its action id (`state:index`).
    pub fn listener(&self, action_id: &str) -> Option<&Listener> {
        self.flow.listener(action_id)
    }
    /// Makes `name` refer to objects of the world: `collection` is `objects`
    /// (query keys: `key`, `tag`, `world_id`, `typeclass`, `location`, `kind`) or
    /// `characters`; `multiple` keeps every match (else the first),
    /// `sort` by `key` or `id`, then `skip` and `limit`. A reference of the
    /// same name is replaced. Returns how many objects it holds.
    pub fn create_reference(
        &mut self,
        collection: &str,
        query: &Value,
        name: &str,
        opts: &Value,
    ) -> Result<usize, String> {
        let world = &self.server.world;
        let mut ids: Vec<ObjId> = match collection {
            "objects" | "characters" => indexed_candidates(world, query)
                .unwrap_or_else(|| world.objects().map(|o| o.id).collect())
                .into_iter()
                .filter_map(|id| world.get(id))
                .filter(|o| collection == "objects" || o.kind == Kind::Character)
                .filter(|o| query_matches(o, query))
                .map(|o| o.id)
                .collect(),
            other => return Err(format!("'{other}' is not a collection flows can refer to")),
        };
        let sort = opts.get("sort").and_then(Value::as_str).unwrap_or("id");
        let key = |id: &ObjId| self.server.world.get(*id).map(|o| o.key.to_lowercase());
        match sort {
            "key" => ids.sort_by_key(key),
            _ => ids.sort(),
        }
        let skip = opts.get("skip").and_then(Value::as_u64).unwrap_or(0) as usize;
        let multiple = opts
            .get("multiple")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let limit = opts
            .get("limit")
            .and_then(Value::as_u64)
            .map(|l| l as usize)
            .unwrap_or(if multiple { usize::MAX } else { 1 });
        let ids: Vec<ObjId> = ids
            .into_iter()
            .skip(skip)
            .take(if multiple { limit } else { 1 })
            .collect();
        let n = ids.len();
        self.flow.refs.insert(name.to_string(), ids);
        Ok(n)
    }
    /// Logs with the flow, state and action named.
    pub fn log(&self, text: &str) {
        info!(flow = %self.flow.name, state = %self.state, action = %self.action, "{text}");
    }
}

/// The objects a query can only match among, from the world's indexes (the
/// narrowest its fields give); `None` when no field is indexed.
fn indexed_candidates(world: &crate::model::world::World, query: &Value) -> Option<Vec<ObjId>> {
    let q = query.as_object()?;
    q.iter()
        .filter_map(|(k, v)| match k.as_str() {
            "key" => v.as_str().map(|s| world.named(s).to_vec()),
            "tag" => v.as_str().map(|s| world.tagged(s, None)),
            "world_id" => v
                .as_str()
                .map(|s| world.tagged(s, Some(crate::runtime::create::WORLD_ID))),
            "typeclass" => v.as_str().map(|s| world.of_typeclass(s).to_vec()),
            "location" => object_id(v).map(|l| world.contents(l).to_vec()),
            _ => None,
        })
        .min_by_key(Vec::len)
}

fn query_matches(o: &crate::model::world::Object, query: &Value) -> bool {
    let Some(q) = query.as_object() else {
        return true;
    };
    q.iter().all(|(k, v)| match k.as_str() {
        "key" => v.as_str().is_some_and(|s| o.key.eq_ignore_ascii_case(s)),
        "tag" => v
            .as_str()
            .is_some_and(|s| o.tags.iter().any(|t| t.key.eq_ignore_ascii_case(s))),
        "world_id" => v
            .as_str()
            .is_some_and(|s| o.has_tag(s, Some(crate::runtime::create::WORLD_ID))),
        "typeclass" => v.as_str() == Some(o.typeclass.as_str()),
        "location" => object_id(v) == o.location,
        "kind" => v.as_str() == Some(o.kind.as_str()),
        _ => false,
    })
}

fn owner_obj(owner: Owner) -> Option<ObjId> {
    match owner {
        Owner::Object(o) => Some(o),
        _ => None,
    }
}

impl Server {
    /// The flows' clock: the server's (see [`Server::now`]).
    pub fn flow_now(&self) -> Timestamp {
        self.now()
    }

    /// Reads the game's definitions and those in `[game] flows_dir`.
    pub(crate) fn load_flow_defs(&mut self) {
        let mut defs: BTreeMap<String, Arc<FlowDef>> = self
            .game
            .flows
            .iter()
            .map(|d| (d.name.clone(), d.clone()))
            .collect();
        for def in load_dir(&self.settings.game.flows_dir) {
            if let Err(e) = def.validate() {
                tracing::error!("{e}");
                continue;
            }
            defs.insert(def.name.clone(), Arc::new(def));
        }
        self.flows.defs = defs;
    }

    /// Starts a flow of definition `def` for `owner`; returns its name (made
    /// up when `name` is None). Refuses a name in use and a missing argument.
    pub fn start_flow(
        &mut self,
        def: &str,
        name: Option<&str>,
        owner: Owner,
        args: Map<String, Value>,
    ) -> Result<String, String> {
        let name = self.add_flow(def, name, owner, args)?;
        self.drive_flow(&name);
        self.pump_flow_triggers();
        Ok(name)
    }

    /// Makes a flow instance (not run yet): checks the definition, its
    /// arguments and the name (made up when `None`).
    fn add_flow(
        &mut self,
        def: &str,
        name: Option<&str>,
        owner: Owner,
        args: Map<String, Value>,
    ) -> Result<String, String> {
        let d = self
            .flows
            .defs
            .get(def)
            .cloned()
            .ok_or_else(|| format!("There is no flow definition '{def}'."))?;
        if let Some(arg) = d.args.keys().find(|a| !args.contains_key(*a)) {
            return Err(format!("The flow '{def}' needs the argument '{arg}'."));
        }
        let name = match name {
            Some(n) if !n.trim().is_empty() => n.trim().to_string(),
            _ => loop {
                self.flows.made += 1;
                let n = format!("{def}-{}-{}", self.flow_now(), self.flows.made);
                if !self.world.flows.contains_key(&n) {
                    break n;
                }
            },
        };
        if self.world.flows.contains_key(&name) {
            return Err(format!("A flow called '{name}' is running."));
        }
        let inst = FlowInstance::new(&d, &name, owner, args, self.flow_now());
        info!(flow = %name, definition = %def, "flow started");
        self.put_flow(name.clone(), inst, true);
        self.world.flow_changed(&name);
        Ok(name)
    }

    /// Starts the flow unless one of that name runs (for `Game::on_start`).
    pub fn ensure_flow(
        &mut self,
        name: &str,
        def: &str,
        owner: Owner,
        args: Map<String, Value>,
    ) -> Result<(), String> {
        if self.world.flows.contains_key(name) {
            return Ok(());
        }
        self.start_flow(def, Some(name), owner, args).map(|_| ())
    }

    /// Stops a flow (as if it ended).
    pub fn stop_flow(&mut self, name: &str) -> bool {
        let Some(mut inst) = self.world.flows.remove(name) else {
            return false;
        };
        self.flows
            .index
            .forget(&mut self.world.timers.clock, name, inst.owner);
        inst.end();
        self.world.flow_ended(name);
        self.flows
            .triggers
            .push_back(Trigger::FlowEnd(name.to_string()));
        self.pump_flow_triggers();
        true
    }

    /// Emits a flow event every flow's `on_event` hears.
    pub fn flow_event(&mut self, event: &str, data: Value) {
        self.flows
            .triggers
            .push_back(Trigger::Event(event.to_string(), data));
        self.pump_flow_triggers();
    }

    /// Runs a flow's queued states and carries out what they do.
    fn drive_flow(&mut self, name: &str) {
        let Some(mut inst) = self.world.flows.remove(name) else {
            return;
        };
        let Some(def) = self.flows.defs.get(&inst.def).cloned() else {
            warn!(flow = %name, definition = %inst.def, "the flow's definition is gone; it waits");
            self.put_flow(name.to_string(), inst, false);
            return;
        };
        let before = inst.clone();
        let mut calls = 0;
        loop {
            let now = self.flow_now();
            let fx = {
                let scope = WorldScope::new(self, owner_obj(inst.owner));
                inst.run(&def, now, &scope)
            };
            let mut call = None;
            for e in fx {
                match e {
                    Effect::Call { .. } => call = Some(e),
                    other => self.apply_flow_effect(&mut inst, other),
                }
            }
            let Some(Effect::Call {
                func,
                payload,
                state,
                path,
                action,
                date,
            }) = call
            else {
                break;
            };
            calls += 1;
            if calls > MAX_TRIGGERS_PER_EVENT {
                warn!(flow = %name, "too many calls in one go; the rest waits");
                break;
            }
            let Some(f) = self.game.flow_actions.get(&func).cloned() else {
                warn!(flow = %name, state = %state, "no game code registered as '{func}'");
                continue;
            };
            let mut ctx = FlowCtx {
                server: self,
                flow: &mut inst,
                def: def.clone(),
                date,
                state: state.clone(),
                path,
                action: action.clone(),
                fx: Vec::new(),
            };
            let ran =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut ctx, &payload)));
            let fx = std::mem::take(&mut ctx.fx);
            match ran {
                Ok(Ok(())) => {}
                Ok(Err(e)) => warn!(flow = %name, state = %state, action = %action, "{e}"),
                Err(_) => {
                    tracing::error!(flow = %name, state = %state, action = %action, "game code panicked")
                }
            }
            for e in fx {
                self.apply_flow_effect(&mut inst, e);
            }
        }
        if inst.ended {
            info!(flow = %name, "flow ended");
            self.flows
                .index
                .forget(&mut self.world.timers.clock, name, inst.owner);
            self.world.flow_ended(name);
            self.flows
                .triggers
                .push_back(Trigger::FlowEnd(name.to_string()));
        } else {
            let changed = inst != before;
            self.put_flow(name.to_string(), inst, changed);
            if changed {
                self.world.flow_changed(name);
            }
        }
    }

    /// Puts a flow (back) in the world, keeping the indexes right; `changed`:
    /// its `on_change` listeners must look again.
    fn put_flow(&mut self, name: String, mut inst: FlowInstance, changed: bool) {
        inst.compact();
        self.flows
            .index
            .put(&mut self.world.timers.clock, &name, &inst, changed);
        self.world.flows.insert(name, inst);
    }

    /// Indexes every flow in the world (after loading it).
    pub(crate) fn index_flows(&mut self) {
        self.flows.index = FlowIndex::default();
        let index = &mut self.flows.index;
        for (name, inst) in self.world.flows.iter_mut() {
            inst.compact();
            index.put(&mut self.world.timers.clock, name, inst, true);
        }
    }

    /// Resolves a name a flow uses for an object: `owner`, an argument or
    /// reference, `#12`, a world id, `home` (the owner's).
    fn flow_object(&self, inst: &FlowInstance, name: &str) -> Option<ObjId> {
        let def = self.flows.defs.get(&inst.def)?;
        if name == "home" {
            return self.world.get(owner_obj(inst.owner)?)?.home;
        }
        if let Some(id) = name.strip_prefix('#').and_then(|n| n.parse().ok()) {
            return self.world.get(id).map(|o| o.id);
        }
        let scope = WorldScope::new(self, owner_obj(inst.owner));
        if let Some(v) = inst.lookup(def, name, &scope)
            && let Some(id) = object_id(&v)
            && self.world.get(id).is_some()
        {
            return Some(id);
        }
        self.world
            .tagged(name, Some(crate::runtime::create::WORLD_ID))
            .first()
            .copied()
    }

    /// The sessions a flow's `send` reaches.
    fn flow_audience(&self, inst: &FlowInstance, to: &str) -> Vec<SessId> {
        let in_room = |room: ObjId| self.sessions_in(room);
        let of_obj = |obj: ObjId| -> Vec<SessId> {
            match self.world.get(obj) {
                Some(o) if o.kind == Kind::Room => in_room(obj),
                Some(_) => self.sessions.puppeting(obj),
                None => Vec::new(),
            }
        };
        match (to, inst.owner) {
            ("owner", Owner::Object(o)) => of_obj(o),
            ("owner", Owner::Account(a)) => self.sessions.of_account(a),
            ("owner", Owner::Game) => Vec::new(),
            ("room", Owner::Object(o)) => {
                let room = match self.world.get(o) {
                    Some(x) if x.kind == Kind::Room => Some(o),
                    Some(x) => x.location,
                    None => None,
                };
                room.map(in_room).unwrap_or_default()
            }
            (other, _) => self
                .flow_object(inst, other)
                .map(of_obj)
                .unwrap_or_default(),
        }
    }

    fn apply_flow_effect(&mut self, inst: &mut FlowInstance, e: Effect) {
        match e {
            Effect::Send { to, text } => {
                let who = self.flow_audience(inst, &to);
                if who.is_empty() {
                    tracing::debug!(flow = %inst.name, to = %to, "a flow's message reached nobody");
                }
                self.flows.outbox.push((who, text));
            }
            Effect::SetAttr { obj, attr, value } => {
                self.world.set_attr(obj, &attr, value);
            }
            Effect::Move { what, to } => {
                match (self.flow_object(inst, &what), self.flow_object(inst, &to)) {
                    (Some(w), Some(t)) => {
                        if let Err(e) = self.move_obj(w, Some(t), false) {
                            warn!(flow = %inst.name, "cannot move '{what}' to '{to}': {e}");
                        }
                    }
                    _ => warn!(flow = %inst.name, "cannot move '{what}' to '{to}': not found"),
                }
            }
            Effect::Emit { event, data } => {
                self.flows.triggers.push_back(Trigger::Event(event, data))
            }
            Effect::Launch {
                flow,
                name,
                args,
                owner,
            } => {
                let owner = match owner.as_str() {
                    "owner" => inst.owner,
                    "game" => Owner::Game,
                    other => match self.flow_object(inst, other) {
                        Some(o) => Owner::Object(o),
                        None => inst.owner,
                    },
                };
                // Run after this flow's step, from the trigger pump.
                match self.add_flow(&flow, name.as_deref(), owner, args) {
                    Ok(name) => self.flows.to_drive.push_back(name),
                    Err(e) => warn!(flow = %inst.name, "launch: {e}"),
                }
            }
            Effect::Queueing { listener } => {
                info!(flow = %inst.name, listener = %listener, "queueing: a kept listener dropped its oldest event");
            }
            Effect::Warn(text) => {
                let warned = &mut self.flows.warned;
                let key = (inst.def.clone(), text);
                if !warned.contains(&key) {
                    warn!(
                        flow = %inst.name,
                        definition = %inst.def,
                        "{} (logged once for this definition)",
                        key.1
                    );
                    if warned.len() < MAX_WARNINGS_KEPT {
                        warned.insert(key);
                    }
                }
            }
            Effect::Ended | Effect::Call { .. } => {}
        }
    }

    /// Starts launched flows and hands queued triggers to every flow,
    /// driving those that moved, until nothing is left (or too much was).
    fn pump_flow_triggers(&mut self) {
        let mut n = 0;
        loop {
            while let Some(name) = self.flows.to_drive.pop_front() {
                self.drive_flow(&name);
            }
            let Some(t) = self.flows.triggers.pop_front() else {
                return;
            };
            n += 1;
            if n > MAX_TRIGGERS_PER_EVENT {
                warn!("flows caused too many events in one go; the rest are dropped");
                self.flows.triggers.clear();
                return;
            }
            let names: Vec<String> = self.world.flows.keys().cloned().collect();
            for name in names {
                self.deliver_to(&name, &t);
            }
        }
    }

    /// Hands one flow a trigger; drives it if a listener went.
    fn deliver_to(&mut self, name: &str, t: &Trigger) -> Heard {
        if !self.world.flows.get(name).is_some_and(|f| f.may_hear(t)) {
            return Heard::default();
        }
        let Some(mut inst) = self.world.flows.remove(name) else {
            return Heard::default();
        };
        let mut fx = Vec::new();
        let heard = inst.deliver(t, &mut fx);
        let moved = !inst.pending.is_empty();
        // A listener that heard it fired or queued it: either changes the flow.
        let changed = heard.matched || !fx.is_empty();
        for e in fx {
            self.apply_flow_effect(&mut inst, e);
        }
        self.put_flow(name.to_string(), inst, changed || moved);
        if changed {
            self.world.flow_changed(name);
        }
        if moved {
            self.drive_flow(name);
        }
        heard
    }

    /// A line typed in `sessid`: flows owned by its character, its account or
    /// its room hear it first.
    pub(crate) fn flow_command(&mut self, sessid: SessId, line: &str) -> Heard {
        if self.world.flows.is_empty() {
            return Heard::default();
        }
        let Some(s) = self.sessions.get(sessid) else {
            return Heard::default();
        };
        let account = s.account();
        let puppet = s.puppet();
        let room = puppet
            .and_then(|p| self.world.get(p))
            .and_then(|p| p.location);
        let owners: Vec<Owner> = [
            puppet.map(Owner::Object),
            room.map(Owner::Object),
            account.map(Owner::Account),
        ]
        .into_iter()
        .flatten()
        .collect();
        let heard = self.deliver_to_owned(&owners, &Trigger::Command(line.to_string()));
        self.pump_flow_triggers();
        heard
    }

    /// Hands `t` to the flows owned by any of `owners`, in name order. Most
    /// lines reach no flow that listens for them: the index says so, and
    /// nothing is looked up, copied or delivered. (When none listens at
    /// first, no delivery can make one listen.)
    fn deliver_to_owned(&mut self, owners: &[Owner], t: &Trigger) -> Heard {
        if !self.flows.index.any_may_hear(owners, t) {
            return Heard::default();
        }
        let mut heard = Heard::default();
        for name in self.flows.index.owned_by(owners) {
            heard |= self.deliver_to(&name, t);
        }
        heard
    }

    /// Out-of-band input from `sessid` that nothing else handles.
    pub(crate) fn flow_oob(&mut self, sessid: SessId, package: &str, data: Value) -> bool {
        let Some(s) = self.sessions.get(sessid) else {
            return false;
        };
        let (account, puppet) = (s.account(), s.puppet());
        let owners: Vec<Owner> = [puppet.map(Owner::Object), account.map(Owner::Account)]
            .into_iter()
            .flatten()
            .collect();
        let heard = self.deliver_to_owned(&owners, &Trigger::Oob(package.to_string(), data));
        self.pump_flow_triggers();
        heard.matched
    }

    /// A flow's timeout fell due (the server's clock says so).
    pub(crate) fn flow_timeout(&mut self, name: &str) {
        let now = self.flow_now();
        self.deliver_to(name, &Trigger::Time(now));
        self.pump_flow_triggers();
        // A flow that did not take the timeout keeps its next deadline
        // (one still to come: a passed one it did not take would spin).
        let due = Due::Flow(name.to_string());
        if self.world.timers.clock.when(&due).is_none()
            && let Some(next) = self.world.flows.get(name).and_then(|f| f.next_deadline())
            && next > now
        {
            self.world.timers.clock.set(due, Some(next));
        }
    }

    /// Fires the flows' timeouts that are due (after a start, with the
    /// sessions back), leaving the other timers for the server's next turn.
    fn flow_tick(&mut self) {
        let now = self.flow_now();
        let due: Vec<String> = self
            .world
            .timers
            .clock
            .upcoming()
            .take_while(|(d, _)| *d <= now)
            .filter_map(|(_, due)| match due {
                Due::Flow(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        for n in due {
            self.deliver_to(&n, &Trigger::Time(now));
        }
        self.pump_flow_triggers();
    }

    /// After an event: the `on_change` listeners that may see something new
    /// look again — those of flows that changed, and of flows whose
    /// conditions read an object the event touched. What they do may touch
    /// more objects: a few more rounds look at those.
    fn flow_changes(&mut self) {
        for _ in 0..MAX_CHANGE_ROUNDS {
            // What this event (or the last round) touched: not what the
            // batch's earlier events did, which their own rounds saw.
            let attrs = self.world.take_recent_attr_touches();
            let fresh = self.world.take_recent_touches();
            let mut names: Vec<Arc<str>> = std::mem::take(&mut self.flows.index.recheck)
                .into_iter()
                .map(Arc::from)
                .collect();
            for &o in &fresh {
                let Some(r) = self.flows.index.readers.get(&o) else {
                    continue;
                };
                match attrs.only_attributes(o) {
                    // Only attributes changed: the flows that read one of them.
                    Some(changed) => names.extend(
                        r.iter()
                            .filter(|n| self.flows.index.reads_any(n, o, changed))
                            .cloned(),
                    ),
                    None => names.extend(r.iter().cloned()),
                }
            }
            if names.is_empty() {
                break;
            }
            // Each once, in the order of their names.
            names.sort_unstable();
            names.dedup();
            for name in names {
                self.check_flow_changes(&name);
            }
            self.pump_flow_triggers();
        }
    }

    /// Lets one flow's `on_change` listeners look, recording what they read.
    fn check_flow_changes(&mut self, name: &str) {
        // A first look through the instance where it lies: most looks find
        // nothing to do, and then only what it read is noted.
        let Some(inst) = self.world.flows.get(name) else {
            return;
        };
        if let Some(def) = self.flows.defs.get(&inst.def)
            && inst.watches_changes()
        {
            let scope = WorldScope::reading(self, owner_obj(inst.owner));
            if !inst.changes_would_act(def, &scope) {
                let read = scope.reads();
                self.flows.index.set_reads(name, read);
                return;
            }
        }
        let Some(mut inst) = self.world.flows.remove(name) else {
            return;
        };
        if !inst.watches_changes() {
            self.flows.index.set_deps(name, Vec::new());
            self.put_flow(name.to_string(), inst, false);
            return;
        }
        let mut fx = Vec::new();
        let mut read = Vec::new();
        if let Some(def) = self.flows.defs.get(&inst.def).cloned() {
            let scope = WorldScope::reading(self, owner_obj(inst.owner));
            inst.check_changes(&def, &scope, &mut fx);
            read = scope.reads();
        }
        self.flows.index.set_reads(name, read);
        let moved = !inst.pending.is_empty();
        let changed = moved || !fx.is_empty();
        for e in fx {
            self.apply_flow_effect(&mut inst, e);
        }
        // Not marked for another look: what it does next (driven below) is.
        self.put_flow(name.to_string(), inst, false);
        if changed {
            self.world.flow_changed(name);
        }
        if moved {
            self.drive_flow(name);
        }
    }

    /// Starts every flow's pending work after the server started (states
    /// re-entered with their dates, timeouts already due).
    pub(crate) fn resume_flows(&mut self) {
        let names: Vec<String> = self.world.flows.keys().cloned().collect();
        for n in names {
            self.drive_flow(&n);
        }
        self.flow_tick();
    }

    /// At the end of an event: let `on_change` listeners look, then send
    /// the flows' messages (after the event's own output). What the flows
    /// changed goes out with the next transmit.
    pub(crate) fn flush_flows(&mut self) {
        if self.world.flows.is_empty() {
            self.world.forget_recent_touches();
        } else {
            self.flow_changes();
        }
        for (who, text) in std::mem::take(&mut self.flows.outbox) {
            for s in who {
                self.msg_session(s, text.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests;
