//! The game: Tavern's defaults plus its own commands, kinds of objects and
//! world. (It began as a copy of Tavern's template game, made by `tavern new`.)
//!
//! [`game`] says what the game is made of; `main.rs` runs it, and the tests in
//! `tests/` play it in process.

pub mod combat;
pub mod commands;
pub mod feeds;
pub mod flows;
pub mod menus;
pub mod timers;
pub mod typeclasses;
pub mod world;

use tavern_server::Game;

/// The game's prototypes (`spawn goblin`), from `prototypes/creatures.toml`
/// (builders can also add files to `[game] prototypes_dir`).
pub fn prototypes() -> Vec<tavern_server::model::prototypes::Prototype> {
    tavern_server::model::prototypes::Prototype::from_toml_file(include_str!(
        "../prototypes/creatures.toml"
    ))
    .expect("prototypes/creatures.toml holds valid prototypes")
}

/// The game: Tavern's default commands and kinds of objects, plus these;
/// its world built from `world/tavern.ev` at the first start.
pub fn game() -> Game {
    without_world()
        .first_start_batch("tavern.ev", include_str!("../world/tavern.ev"))
        .on_start(world::start)
}

/// The game with its world built from code instead ([`world::build`]).
pub fn game_built_from_code() -> Game {
    without_world().on_start(world::build)
}

/// Everything of the game but how its world is built.
fn without_world() -> Game {
    let mut game = Game::new();
    for p in prototypes() {
        game = game.prototype(p);
    }
    game.command(combat::Attack)
        .command(commands::Note)
        .command(commands::Rest)
        .command(commands::Signal)
        .command(menus::Chargen)
        .command(menus::Sheet)
        .command(menus::SetDesc)
        .menu(menus::chargen())
        .menu(menus::shop())
        .default_typeclass(typeclasses::Adventurer)
        .typeclass(typeclasses::Bell)
        .typeclass(typeclasses::TavernRoom)
        .typeclass(timers::Torch)
        .script(timers::Weather)
        .timer_fn("regen", timers::regen)
        .timer_fn("torch_out", timers::torch_out)
        .timer_fn("guard_down", combat::guard_down)
        .feed(feeds::BellFeed)
        .flow(flows::tutorial())
        .flow(flows::barkeep())
        .flow_action("find_tavern", flows::find_tavern)
        .flow_action("tutorial_route", flows::tutorial_route)
        .flow_action("tutorial_remind", flows::tutorial_remind)
        .on_event("signal", |server, sessid, _, data| {
            let from = data["from"].as_str().unwrap_or("?");
            let text = data["text"].as_str().unwrap_or("");
            server.msg_session(sessid, format!("|y[signal from {from}]|n {text}"));
        })
}
