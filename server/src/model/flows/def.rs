//! Flow definitions: named states, each an ordered list of actions. Written
//! in Rust with the builder functions below, or in TOML / JSON files that
//! builders edit without recompiling (`[game] flows_dir`).
//!
//! ```toml
//! name = "doorbell"
//! [args]
//! visitor = "object"
//!
//! [[states.START]]
//! action = "send"
//! text = "Ding dong, [[visitor.name]]."
//! [[states.START]]
//! action = "timeout"
//! after = "0:30"
//! next = "gone"
//!
//! [[states.gone]]
//! action = "end"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

/// The state every flow starts in.
pub const START: &str = "START";

/// What an argument holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgType {
    /// Text.
    String,
    /// A number.
    Number,
    /// true or false.
    Bool,
    /// An object of the world, by id (`#12` or 12); its fields and
    /// attributes are reachable as `[[arg.key]]`, `[[arg.hp]]`.
    Object,
    /// Any JSON value.
    Any,
}

/// How a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal.
    #[default]
    Eq,
    /// Not equal.
    Ne,
    /// Greater than (numbers).
    Gt,
    /// Greater or equal (numbers).
    Ge,
    /// Less than (numbers).
    Lt,
    /// Less or equal (numbers).
    Le,
}

impl Op {
    /// Whether `left op right` holds. Numbers compare as numbers, anything
    /// else only for (in)equality.
    pub fn holds(self, left: &Value, right: &Value) -> bool {
        let nums = left.as_f64().zip(right.as_f64());
        match self {
            Op::Eq => match nums {
                Some((a, b)) => a == b,
                None => left == right,
            },
            Op::Ne => !Op::Eq.holds(left, right),
            Op::Gt => nums.is_some_and(|(a, b)| a > b),
            Op::Ge => nums.is_some_and(|(a, b)| a >= b),
            Op::Lt => nums.is_some_and(|(a, b)| a < b),
            Op::Le => nums.is_some_and(|(a, b)| a <= b),
        }
    }
}

fn ten() -> usize {
    10
}

fn owner() -> String {
    "owner".into()
}

/// One action of a state. Those that run do their work when the state is
/// entered; those that listen (`on_*`, `timeout`) wait while it is current
/// and call `next` when what they wait for happens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Sends text (with `[[placeholders]]`) to `to`: `owner` (default), `room`
    /// (the owner's location), or a reference or object argument.
    Send {
        /// The text.
        text: String,
        /// Who reads it.
        #[serde(default = "owner")]
        to: String,
    },
    /// Sets a variable: a flow variable (`score`, `quest.step`), or an
    /// attribute of a referenced object (`Player.hp`, `owner.hp`).
    Set {
        /// Where.
        var: String,
        /// What: strings are templates.
        value: Value,
    },
    /// Moves an object (`owner`, a reference or argument) to `to` (`#12`,
    /// a world id, a reference, or `home`).
    Move {
        /// What moves.
        #[serde(default = "owner")]
        what: String,
        /// Where to.
        to: String,
    },
    /// Emits a flow event every flow's `on_event` hears.
    Emit {
        /// Its name.
        event: String,
        /// Its data (strings are templates).
        #[serde(default)]
        data: Value,
    },
    /// Starts another flow.
    Launch {
        /// The definition.
        flow: String,
        /// The instance's unique name (default: made up).
        #[serde(default)]
        name: Option<String>,
        /// Its arguments (strings are templates).
        #[serde(default)]
        args: Map<String, Value>,
        /// Its owner: `owner` (default: the same), `game`, a reference.
        #[serde(default = "owner")]
        owner: String,
    },
    /// Calls game code registered with `Game::flow_action`.
    Call {
        /// The registered name.
        func: String,
        /// What it gets.
        #[serde(default)]
        payload: Value,
    },
    /// Goes to another state (in this path).
    Next {
        /// The state.
        state: String,
    },
    /// Starts a parallel path `path` in state `state`.
    Split {
        /// Where the new path begins.
        state: String,
        /// Its name.
        path: String,
    },
    /// Ends the paths named (by default this one's branches): every listener
    /// whose path contains the path, or is contained in it, is cancelled.
    Join {
        /// The path, as names from the root (`["hint"]`).
        #[serde(default)]
        path: Vec<String>,
    },
    /// Ends the flow.
    End,
    /// Waits for the owner to type a line matching `command` (a regular
    /// expression, whole line, any case).
    OnCommand {
        /// The pattern.
        command: String,
        /// Where to go.
        next: String,
        /// Keep listening while other states are current (queueing).
        #[serde(default)]
        keep: bool,
        /// Events a kept listener queues at most (oldest dropped first).
        #[serde(default = "ten")]
        max_queue: usize,
        /// The line is the flow's: it does not run as a command.
        #[serde(default)]
        consume: bool,
    },
    /// Waits for a flow event.
    OnEvent {
        /// Its name.
        event: String,
        /// Where to go.
        next: String,
        /// Keep listening while other states are current (queueing).
        #[serde(default)]
        keep: bool,
        /// Events a kept listener queues at most.
        #[serde(default = "ten")]
        max_queue: usize,
    },
    /// Waits until `var op value` holds; checked on entry (it may go at
    /// once) and after every change while the state is current.
    OnChange {
        /// A variable or attribute path (`owner.location`, `score`).
        var: String,
        /// The comparison.
        #[serde(default)]
        op: Op,
        /// The value (strings are templates: `[[tavern.id]]`).
        value: Value,
        /// Where to go.
        next: String,
    },
    /// Waits `after` (`5`, `2:05`, `01:30:00`, `0.5`: seconds, m:s, h:m:s)
    /// from when the state was first entered — also across reloads and crashes.
    Timeout {
        /// How long.
        after: String,
        /// Where to go.
        next: String,
    },
    /// Waits for out-of-band input (GMCP / MSDP) from the owner's client.
    OnOob {
        /// The package (`Tavern.Choice`).
        package: String,
        /// Where to go.
        next: String,
        /// Keep listening while other states are current (queueing).
        #[serde(default)]
        keep: bool,
        /// Events a kept listener queues at most.
        #[serde(default = "ten")]
        max_queue: usize,
    },
    /// Waits for another flow (by instance name) to end.
    OnFlowEnd {
        /// The instance.
        flow: String,
        /// Where to go.
        next: String,
    },
}

impl Action {
    /// Whether the action waits (rather than runs).
    pub fn listens(&self) -> bool {
        matches!(
            self,
            Action::OnCommand { .. }
                | Action::OnEvent { .. }
                | Action::OnChange { .. }
                | Action::Timeout { .. }
                | Action::OnOob { .. }
                | Action::OnFlowEnd { .. }
        )
    }

    /// The action's kind, as written in files (`send`, `on_command`).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Send { .. } => "send",
            Action::Set { .. } => "set",
            Action::Move { .. } => "move",
            Action::Emit { .. } => "emit",
            Action::Launch { .. } => "launch",
            Action::Call { .. } => "call",
            Action::Next { .. } => "next",
            Action::Split { .. } => "split",
            Action::Join { .. } => "join",
            Action::End => "end",
            Action::OnCommand { .. } => "on_command",
            Action::OnEvent { .. } => "on_event",
            Action::OnChange { .. } => "on_change",
            Action::Timeout { .. } => "timeout",
            Action::OnOob { .. } => "on_oob",
            Action::OnFlowEnd { .. } => "on_flow_end",
        }
    }

    /// `send` to the owner.
    pub fn send(text: &str) -> Self {
        Action::Send {
            text: text.into(),
            to: owner(),
        }
    }
    /// `send` to the owner's room.
    pub fn send_room(text: &str) -> Self {
        Action::Send {
            text: text.into(),
            to: "room".into(),
        }
    }
    /// `set`.
    pub fn set(var: &str, value: impl Into<Value>) -> Self {
        Action::Set {
            var: var.into(),
            value: value.into(),
        }
    }
    /// `next`.
    pub fn next(state: &str) -> Self {
        Action::Next {
            state: state.into(),
        }
    }
    /// `split`.
    pub fn split(state: &str, path: &str) -> Self {
        Action::Split {
            state: state.into(),
            path: path.into(),
        }
    }
    /// `join` of a path.
    pub fn join(path: &[&str]) -> Self {
        Action::Join {
            path: path.iter().map(|s| s.to_string()).collect(),
        }
    }
    /// `emit`.
    pub fn emit(event: &str, data: Value) -> Self {
        Action::Emit {
            event: event.into(),
            data,
        }
    }
    /// `call` of game code.
    pub fn call(func: &str, payload: Value) -> Self {
        Action::Call {
            func: func.into(),
            payload,
        }
    }
    /// `on_command` (not kept, not consumed).
    pub fn on_command(command: &str, next: &str) -> Self {
        Action::OnCommand {
            command: command.into(),
            next: next.into(),
            keep: false,
            max_queue: ten(),
            consume: false,
        }
    }
    /// `on_event` (not kept).
    pub fn on_event(event: &str, next: &str) -> Self {
        Action::OnEvent {
            event: event.into(),
            next: next.into(),
            keep: false,
            max_queue: ten(),
        }
    }
    /// `on_event`, kept while other states are current, queueing up to `max_queue`.
    pub fn on_event_kept(event: &str, next: &str, max_queue: usize) -> Self {
        Action::OnEvent {
            event: event.into(),
            next: next.into(),
            keep: true,
            max_queue,
        }
    }
    /// `on_change`.
    pub fn on_change(var: &str, op: Op, value: impl Into<Value>, next: &str) -> Self {
        Action::OnChange {
            var: var.into(),
            op,
            value: value.into(),
            next: next.into(),
        }
    }
    /// `timeout`.
    pub fn timeout(after: &str, next: &str) -> Self {
        Action::Timeout {
            after: after.into(),
            next: next.into(),
        }
    }
}

/// A flow definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowDef {
    /// Its name (what `flows/start` and `launch` use).
    pub name: String,
    /// Typed arguments.
    #[serde(default)]
    pub args: BTreeMap<String, ArgType>,
    /// The states, by name; `START` is entered first.
    pub states: BTreeMap<String, Vec<Action>>,
}

/// Why a definition was refused.
#[derive(Debug, Error)]
pub enum FlowDefError {
    /// Not valid TOML / JSON for a flow.
    #[error("{0}")]
    Syntax(String),
    /// The definition does not hold together.
    #[error("flow '{flow}': {problem}")]
    Invalid {
        /// The flow.
        flow: String,
        /// What is wrong.
        problem: String,
    },
}

impl FlowDef {
    /// An empty definition.
    pub fn new(name: &str) -> Self {
        FlowDef {
            name: name.into(),
            args: BTreeMap::new(),
            states: BTreeMap::new(),
        }
    }

    /// Adds a typed argument.
    pub fn arg(mut self, name: &str, ty: ArgType) -> Self {
        self.args.insert(name.into(), ty);
        self
    }

    /// Adds a state.
    pub fn state(mut self, name: &str, actions: impl IntoIterator<Item = Action>) -> Self {
        self.states
            .insert(name.into(), actions.into_iter().collect());
        self
    }

    /// Reads a definition from TOML.
    pub fn from_toml(text: &str) -> Result<Self, FlowDefError> {
        let def: FlowDef = toml::from_str(text).map_err(|e| FlowDefError::Syntax(e.to_string()))?;
        def.validate()?;
        Ok(def)
    }

    /// Reads a definition from JSON.
    pub fn from_json(text: &str) -> Result<Self, FlowDefError> {
        let def: FlowDef =
            serde_json::from_str(text).map_err(|e| FlowDefError::Syntax(e.to_string()))?;
        def.validate()?;
        Ok(def)
    }

    /// Checks that `START` exists, every state an action names exists,
    /// durations and patterns parse.
    pub fn validate(&self) -> Result<(), FlowDefError> {
        let bad = |problem: String| FlowDefError::Invalid {
            flow: self.name.clone(),
            problem,
        };
        if !self.states.contains_key(START) {
            return Err(bad("it has no START state".into()));
        }
        for (state, actions) in &self.states {
            for (i, a) in actions.iter().enumerate() {
                let targets: Vec<&String> = match a {
                    Action::Next { state } | Action::Split { state, .. } => vec![state],
                    Action::OnCommand { next, .. }
                    | Action::OnEvent { next, .. }
                    | Action::OnChange { next, .. }
                    | Action::Timeout { next, .. }
                    | Action::OnOob { next, .. }
                    | Action::OnFlowEnd { next, .. } => vec![next],
                    _ => vec![],
                };
                for t in targets {
                    if !t.contains("[[") && !self.states.contains_key(t) {
                        return Err(bad(format!(
                            "{state} action {} ({}) goes to '{t}', which is not a state",
                            i + 1,
                            a.kind()
                        )));
                    }
                }
                if let Action::Timeout { after, .. } = a
                    && super::vars::duration_ms(after).is_none()
                {
                    return Err(bad(format!("{state}: '{after}' is not a duration")));
                }
                if let Action::OnCommand { command, .. } = a
                    && regex::Regex::new(command).is_err()
                {
                    return Err(bad(format!("{state}: '{command}' is not a pattern")));
                }
            }
        }
        Ok(())
    }
}
