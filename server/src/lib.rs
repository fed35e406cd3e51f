//! # tavern-server
//!
//! The game server process and everything a game is written against: the
//! world executor ([`Server`]), sessions, accounts, the world, commands, and
//! persistence; plus the launcher CLI every game binary exposes ([`Game::run`]).
//!
//! This crate depends on `tavern-shared` (the link contract) and on
//! `tavern-portal` only so that one game binary can also run as the portal; the
//! game logic here never reaches into the portal's sessions or sockets.
//!
//! A game is a `main` that describes itself and hands over:
//!
//! ```no_run
//! use tavern_server::Game;
//!
//! fn main() -> std::process::ExitCode {
//!     Game::new().run()
//! }
//! ```

pub mod accounts;
pub mod actions;
pub mod commands;
pub mod db;
pub mod executor;
pub mod fuzz;
pub mod inputfuncs;
pub mod launcher;
pub mod logging;
pub mod persist;
pub mod run;
pub mod session;
pub mod throttle;
pub mod world;

#[cfg(test)]
mod testdb;

pub use commands::{CmdCtx, CmdSet, Command, Commands};
pub use executor::Server;
pub use tavern_shared::{Msg, SessId, Settings};

/// A game: its commands and its connection screen. Build it in `main` and call [`Game::run`].
#[derive(Clone, Default)]
pub struct Game {
    pub(crate) commands: Commands,
    connect_screen: Option<String>,
}

impl Game {
    /// The default game: Evennia's login commands and the basic in-game commands.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a command that characters can use (replacing a default of the same key).
    pub fn command(mut self, cmd: impl Command) -> Self {
        self.commands.character.add(cmd);
        self
    }

    /// Adds a command to the connection screen (not logged in).
    pub fn unloggedin_command(mut self, cmd: impl Command) -> Self {
        self.commands.unloggedin.add(cmd);
        self
    }

    /// Replaces the connection screen. `{name}` is replaced with the game's name.
    pub fn connect_screen(mut self, text: impl Into<String>) -> Self {
        self.connect_screen = Some(text.into());
        self
    }

    pub(crate) fn connect_screen_text(&self, settings: &Settings) -> String {
        self.connect_screen
            .as_deref()
            .unwrap_or(DEFAULT_CONNECT_SCREEN)
            .replace("{name}", &settings.game.name)
    }

    /// Parses the command line (`start`, `reload`, `stop`, ...) and runs it.
    /// Errors are printed as one line with their causes; the exit code says how it went.
    pub fn run(self) -> std::process::ExitCode {
        match launcher::main(self) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::FAILURE
            }
        }
    }
}

/// The connection screen, in Evennia's words.
pub const DEFAULT_CONNECT_SCREEN: &str = "\
|b==============================================================|n
 Welcome to |g{name}|n!

 If you have an existing account, connect to it by typing:
      |wconnect <username> <password>|n
 If you need to create an account, type (without the <>'s):
      |wcreate <username> <password>|n

 If you have spaces in your username, enclose it in quotes.
 Enter |whelp|n for more info. |wlook|n will re-show this screen.
|b==============================================================|n";
