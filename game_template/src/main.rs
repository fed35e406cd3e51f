//! The template game: Tavern's defaults plus the game's own commands, kinds
//! of objects and world. `tavern new` copies this crate to start a new game.

mod commands;
mod typeclasses;
mod world;

use tavern_server::Game;

fn main() -> std::process::ExitCode {
    Game::new()
        .command(commands::Note)
        .typeclass(typeclasses::Bell)
        .typeclass(typeclasses::TavernRoom)
        .on_start(world::build)
        .run()
}
