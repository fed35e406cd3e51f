//! The game runtime: [`Server`] — the world, the sessions and the game's
//! code, run one event at a time over `&mut Server` — and everything game
//! code does through it: logging in and puppeting, creating and moving
//! objects with their typeclass hooks, lock checks, cmdset stacks and
//! running a line, live client data (feeds), flows, several sessions of one
//! account, input functions; the driver that carries out what the server
//! asks with tokio; password hashing off the game thread.
//!
//! The server core ([`server`]) does no I/O and reads no clock: it is
//! handed events and `now`, and returns what it wants done (frames held
//! until the changes they report are durable, work to spawn, its next
//! deadline). [`driver`] is the thin tokio layer that does it.
//!
//! Every `impl Server` lives in this layer. The command machinery
//! ([`crate::commands`]) is its partner: the runtime runs commands, and a
//! command works through [`crate::commands::CmdCtx`] on the server.
//!
//! **Must not import** the default commands or the test harnesses
//! (`tests/layers.rs` checks).

pub mod access;
pub mod actions;
pub mod batch;
pub mod bridges;
pub mod channels;
pub mod cmdsets;
pub mod complete;
pub mod create;
pub mod driver;
pub mod editor;
pub mod feeds;
pub mod flows;
pub mod funcparser;
pub mod input;
pub mod inputfuncs;
pub mod login;
pub mod mail;
pub mod media;
pub mod menus;
pub mod multisession;
pub mod nicks;
pub mod pager;
pub mod pages;
pub mod passwords;
pub mod portals;
pub mod resume;
pub mod server;
pub mod sessions;
pub mod spawner;
pub(crate) mod throttle;
pub mod timers;
pub mod typeclass;
pub mod webadmin;

pub use driver::Driver;
pub use server::{Completion, Server, ServerEvent, Task, Transmit};
