//! Flows: persistent state machines for quests, tutorials, menus and scenes.
//!
//! A [`FlowDef`] is named states, each a list of actions; a [`FlowInstance`]
//! runs one for an owner (a character, an account, a room, the game), with
//! arguments, variables and references, and survives every reload and crash
//! with its clocks intact. See `docs/flows.md`.

pub mod def;
pub mod engine;
pub mod runtime;
pub mod vars;

pub use def::{Action, ArgType, FlowDef, FlowDefError, Op, START};
pub use engine::{Effect, FlowInstance, Heard, Owner, Status, Trigger};
pub use runtime::{FlowCtx, FlowFn, FlowRuntime};
#[cfg(test)]
mod tests;
