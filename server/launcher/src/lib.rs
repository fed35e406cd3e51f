//! # tavern-launcher
//!
//! The Tavern processes, wired: every game's binary is this crate's
//! [`run`] over the game's [`Game`](tavern_server::Game). It parses the
//! command line — `start`, `reload`, `reset`, `stop`, `status`, `account
//! create`, `migrate`, `new`, and the `portal` / `server` roles the
//! processes run as — and runs the chosen one: the portal
//! (`tavern-portal`), the server process (this crate's runner around
//! `tavern-server`'s driver), or a launcher request over the link.
//!
//! It also holds what only a process needs: logging setup, the allocator
//! ([`Allocator`]), and `tavern new`'s copy of the template game.
//!
//! This is the one crate that depends on both the portal and the server
//! (as mooR's daemon wires its crates); the game library
//! (`tavern-server`) does not compile the portal. Nothing depends on this
//! crate but game binaries.
//!
//! ```no_run
//! #[global_allocator]
//! static ALLOC: tavern_launcher::Allocator = tavern_launcher::Allocator;
//!
//! fn main() -> std::process::ExitCode {
//!     tavern_launcher::run(tavern_server::Game::new())
//! }
//! ```

mod alloc;
mod cli;
mod extra_portals;
mod logging;
pub mod new_game;
mod server_process;
mod standby;

pub use alloc::Allocator;
pub use cli::DEFAULT_SETTINGS_FILE;

/// Parses the command line (`start`, `reload`, `stop`, ...) and runs it for
/// `game`. Errors are printed as one line with their causes; the exit code
/// says how it went.
pub fn run(game: tavern_server::Game) -> std::process::ExitCode {
    match cli::main(game) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
