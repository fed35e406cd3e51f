//! The model: the world as plain data — ids, objects, accounts, tags and
//! attributes, the location index, search, locks and what lock functions
//! see, flow definitions and the flow instances' sans-IO dispatch, account
//! name rules, and the indexes that spare commands from scanning.
//!
//! Everything here is deterministic and synchronous: no clock, no task, no
//! database. The layers above read and change it: the store writes it
//! ([`crate::store`]), the runtime runs the game on it ([`crate::runtime`]).
//!
//! **Must not import** the store, the runtime, the commands, the test
//! harnesses or `Game`; nor tokio or sea-orm (`tests/layers.rs` checks).

pub mod attributes;
pub mod bans;
pub mod channels;
pub mod flows;
pub mod ids;
mod index;
pub mod locks;
pub mod names;
pub mod object;
pub mod prototypes;
pub mod search;
pub(crate) mod sorted;
pub mod ssh_keys;
pub mod timers;
pub mod touches;
pub mod world;
