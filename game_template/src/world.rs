//! The template game's world in code. The game builds its world from the
//! batch file `world/tavern.ev` at its first start (see `lib.rs`); what a
//! batch file cannot say — the barkeep's evening, a flow that runs in the
//! Common Room — [`start`] sees to at every start.
//!
//! [`build`] builds the same world from Rust: the example of building from
//! code, for games that prefer it (register it with `on_start` instead of
//! the batch file). Each object is found by its world id first and only
//! created when missing, so it is idempotent and never undoes what builders
//! changed in the game: what a builder destroyed stays destroyed
//! (`ensure_kept` gives `None`), and what depends on it is skipped. A test
//! checks that the batch file and this build the same world.

use tavern_server::create::WORLD_ID;
use tavern_server::{Kind, NewObject, Server};

use tavern_server::timers::NewScript;

use crate::timers::{Torch, Weather};
use crate::typeclasses::{Bell, TavernRoom};

/// What the world needs at every start that its batch file cannot say: the
/// barkeep's evening goes on in the Common Room (world id `tavern`), across
/// reloads. Code can add to the world here too, with `ensure_kept`: made
/// once, found by its world id at every start after.
pub fn start(server: &mut Server) {
    if let Err(e) = try_start(server) {
        tracing::error!("starting the template world failed: {e}");
    }
}

fn try_start(server: &mut Server) -> Result<(), String> {
    // The batch file built the Common Room; a builder may have destroyed it.
    let Some(&common) = server.world.tagged("tavern", Some(WORLD_ID)).first() else {
        return Ok(());
    };
    // The barkeep's evening goes on in the Common Room, across reloads.
    server.ensure_flow(
        "barkeep",
        "barkeep",
        tavern_server::flows::Owner::Object(common),
        Default::default(),
    )?;
    Ok(())
}

/// Builds the template's world from code, idempotently (a game that uses
/// it runs it at every start).
pub fn build(server: &mut Server) {
    if let Err(e) = try_build(server) {
        tracing::error!("building the template world failed: {e}");
    }
}

fn try_build(server: &mut Server) -> Result<(), String> {
    let limbo = server.world.start_room;
    let common = server.ensure_kept(
        "tavern",
        NewObject::of(&TavernRoom, "The Common Room")
            .desc("Low beams, a long oak bar and a fire that never quite goes out. A brass bell hangs by the door."),
    )?;
    let cellar = server.ensure_kept(
        "cellar",
        NewObject::new(Kind::Room, "The Cellar").desc("Casks in rows, and the smell of old wine."),
    )?;
    let exits = [
        ("limbo-tavern", "tavern", "t", Some(limbo), common),
        ("tavern-limbo", "limbo", "out", common, Some(limbo)),
        ("tavern-cellar", "down", "d", common, cellar),
        ("cellar-tavern", "up", "u", cellar, common),
    ];
    for (id, key, alias, from, to) in exits {
        // An exit to or from a room a builder destroyed is not made.
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        server.ensure_kept(
            id,
            NewObject::new(Kind::Exit, key)
                .aliases([alias])
                .location(from)
                .destination(to),
        )?;
    }
    if let Some(cellar) = cellar {
        server.ensure_kept(
            "torch",
            NewObject::of(&Torch, "torch")
                .desc("Pitch-soaked rags on a stick. |wlight torch|n to light it.")
                .location(cellar),
        )?;
    }
    let Some(common) = common else {
        return Ok(());
    };
    // The weather outside, heard in the Common Room (made when missing).
    if server.scripts_on(common).is_empty() {
        server
            .script_add(NewScript::of(&Weather).on(common))
            .map_err(|e| e.to_string())?;
    }
    server.ensure_kept(
        "bell",
        NewObject::of(&Bell, "brass bell")
            .aliases(["bell"])
            .desc("Polished by a thousand hands.")
            .location(common),
    )?;
    start(server);
    Ok(())
}
