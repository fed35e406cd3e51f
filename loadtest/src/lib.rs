//! # tavern-loadtest
//!
//! The load tool in the box: N bots connect to a MUD over telnet or a
//! websocket, create accounts and log in, then play a profile (idler,
//! looker, normal player, builder, socializer, a closed loop, a crowd)
//! modelled on Evennia's dummyrunner — but measuring properly. Every action
//! is timed by a marker its answer echoes; the report gives p50/p99/max
//! latency, commands and logins per second, connection errors, and what the
//! portal and server processes cost in CPU and memory, as JSON and as a table.
//!
//! The words of logging in and every command are templates, so the same tool
//! runs against an Evennia server for a side-by-side comparison. `suite`
//! runs every figure Tavern must reach (docs/benchmarks.md) against a game
//! it starts itself.
//!
//! This crate is a client. It must not depend on the portal, the server or
//! any game: it knows Tavern only as a binary to start (`--spawn`) and the
//! `portal.json` that names its processes.

pub mod bot;
pub mod cli;
pub mod config;
pub mod conn;
pub mod floor;
pub mod marker;
pub mod procs;
pub mod profile;
pub mod report;
pub mod run;
pub mod spawn;
pub mod stats;
pub mod suite;
pub mod telnet;
pub mod webwire;

pub use config::{Churn, LoginScript, MarkerMode, ReloadPlan, RunConfig};
pub use conn::Transport;
pub use profile::Profile;
pub use report::Report;
pub use run::run;
pub use spawn::SpawnedGame;
