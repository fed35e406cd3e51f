//! The template game: Tavern's defaults plus the game's own commands.
//! `tavern new` copies this crate to start a new game.

mod commands;

use tavern_server::Game;

fn main() -> std::process::ExitCode {
    Game::new().command(commands::Note).run()
}
