//! # tavern-protocol
//!
//! The player protocols, as plain functions and state machines over bytes
//! and strings: nothing here reads a socket, spawns a task or reads a clock.
//! The portal wraps them in tokio tasks, one per connection.
//!
//! - [`telnet`]: the telnet byte state machine (RFC 854, RFC 1143's Q
//!   method for negotiation, bounded lines and subnegotiations) and
//!   [`telnet::protocol::TelnetProtocol`], the MUD options on top of it —
//!   TTYPE/MTTS, NAWS, EOR/GA, ECHO, MCCP2, MSSP, GMCP, MSDP, CHARSET — with
//!   the GMCP, MSDP, MSSP and MTTS codecs.
//! - [`terminal`]: the line discipline of a raw terminal (SSH): echo,
//!   editing, history, hidden passwords, typing kept under output.
//! - [`web`]: the websocket wire formats (Evennia's JSON and the
//!   mudstandards subprotocols).
//! - [`fuzz`]: the entry points the fuzz targets and their corpus replays call.
//!
//! **Must not depend on** tokio or any I/O crate (its manifest has none, so
//! the compiler keeps it sans-IO), nor on the portal or the server.

pub mod fuzz;
pub mod telnet;
pub mod terminal;
pub mod web;
