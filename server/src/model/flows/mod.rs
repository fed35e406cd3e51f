//! Flows as data: persistent state machines for quests, tutorials, menus
//! and scenes.
//!
//! A [`FlowDef`] is named states, each a list of actions; a [`FlowInstance`]
//! runs one for an owner (a character, an account, a room, the game), with
//! arguments, variables and references, and survives every reload and crash
//! with its clocks intact. This module is the sans-IO core: the runtime
//! ([`crate::runtime::flows`]) hands instances their triggers and carries out
//! the effects they return. See `docs/flows.md`.

pub mod def;
pub mod engine;
pub mod vars;

pub use def::{Action, ArgType, FlowDef, FlowDefError, Op, START};
pub use engine::{Effect, FlowInstance, Heard, Owner, Status, Trigger};
