#![warn(missing_docs)]
//! # tavern-shared
//!
//! What both Tavern processes need and nothing else: the link protocol between
//! portal and server ([`link`]), the session data they hand each other
//! ([`session`]), the settings ([`settings`]), the runtime file a running
//! portal writes ([`runtime_file`]), `|`-markup ([`markup`]) and text
//! helpers ([`text`]).
//!
//! This crate must not depend on the portal, the server, a database or any
//! network listener: it is the contract between the two processes.

pub mod data_dir;
pub mod fuzz;
pub mod link;
pub mod markup;
pub mod metrics;
pub mod runtime_file;
pub mod session;
pub mod settings;
pub mod text;

pub use link::Msg;
pub use runtime_file::RuntimeInfo;
pub use session::{SessId, SessionSync};
pub use settings::Settings;
