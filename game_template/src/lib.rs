//! The game: Tavern's defaults plus its own commands, kinds of objects and
//! world. (It began as a copy of Tavern's template game, made by `tavern new`.)
//!
//! [`game`] says what the game is made of; `main.rs` runs it, and the tests in
//! `tests/` play it in process.

pub mod commands;
pub mod typeclasses;
pub mod world;

use tavern_server::Game;

/// The game: Tavern's default commands and kinds of objects, plus these.
pub fn game() -> Game {
    Game::new()
        .command(commands::Note)
        .typeclass(typeclasses::Bell)
        .typeclass(typeclasses::TavernRoom)
        .on_start(world::build)
}
