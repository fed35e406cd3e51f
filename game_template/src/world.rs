//! The template game's world, built from code at every start. Each object is
//! found by its world id first and only created when missing, so this is
//! idempotent and never undoes what builders changed in the game: what a
//! builder destroyed stays destroyed (`ensure_kept` gives `None`), and what
//! depends on it is skipped.

use tavern_server::{Kind, NewObject, Server};

use tavern_server::timers::NewScript;

use crate::timers::{Torch, Weather};
use crate::typeclasses::{Bell, TavernRoom};

/// Builds the template's world, idempotently (the game runs it at every start).
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
    // The barkeep's evening goes on in the Common Room, across reloads.
    server.ensure_flow(
        "barkeep",
        "barkeep",
        tavern_server::flows::Owner::Object(common),
        Default::default(),
    )?;
    server.ensure_kept(
        "bell",
        NewObject::of(&Bell, "brass bell")
            .aliases(["bell"])
            .desc("Polished by a thousand hands.")
            .location(common),
    )?;
    Ok(())
}
