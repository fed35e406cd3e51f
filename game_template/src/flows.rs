//! The template game's flows: a tutorial for new characters (written with
//! the builder API) and the barkeep's timed scene (a TOML file, as builders
//! write them). Flows survive reloads and crashes, with their timers.

use serde_json::{Map, Value, json};
use tavern_server::flows::{Action, FlowCtx, FlowDef, Op, Owner};
use tavern_server::{ObjId, Server};

/// The tutorial: greet, wait for `look`, send the player to the tavern
/// (reminding them every minute), with a side path that gives a tip, which
/// ends when they arrive.
pub fn tutorial() -> FlowDef {
    FlowDef::new("tutorial")
        .state("START", [
            Action::send("|gWelcome to the Tavern, [[owner.key]]!|n A short walk through the basics."),
            Action::call("find_tavern", json!(null)),
            Action::next("look"),
        ])
        .state("look", [
            Action::send("First, look around: type |wlook|n."),
            Action::on_command("l|look", "walk"),
        ])
        .state("walk", [
            Action::send("Good. The exit |wtavern|n leads to the Common Room. Walk there."),
            Action::split("tip", "hint"),
            Action::on_change("owner.location", Op::Eq, "[[tavern.id]]", "arrived"),
            Action::timeout("1:00", "remind"),
        ])
        .state("remind", [
            Action::send("Still here? Type |wtavern|n to walk to the Common Room."),
            Action::next("walk"),
        ])
        .state("tip", [Action::timeout("20", "tipped")])
        .state("tipped", [Action::send("(Tip: |whelp|n lists every command you can use.)")])
        .state("arrived", [
            Action::join(&["hint"]),
            Action::send("You made it. Ring the bell, rest by the fire, or talk to whoever is here. Enjoy!"),
            Action::set("owner.tutorial_done", true),
            Action::End,
        ])
}

/// The barkeep's scene, from its TOML file.
pub fn barkeep() -> FlowDef {
    FlowDef::from_toml(include_str!("../flows/barkeep.toml"))
        .expect("flows/barkeep.toml is a valid flow")
}

/// `find_tavern`: the tutorial refers to the Common Room as `tavern`.
pub fn find_tavern(ctx: &mut FlowCtx<'_>, _payload: &Value) -> Result<(), String> {
    let found = ctx.create_reference(
        "objects",
        &json!({"world_id": "tavern"}),
        "tavern",
        &json!({"multiple": false}),
    )?;
    if found == 0 {
        return Err("the world has no tavern".into());
    }
    Ok(())
}

/// Starts the tutorial for a character that has not done it (once).
pub fn start_tutorial(server: &mut Server, character: ObjId) {
    let done = server
        .world
        .get(character)
        .and_then(|o| o.attr::<bool>("tutorial_done"))
        .unwrap_or(false);
    if done {
        return;
    }
    let name = format!("tutorial-{character}");
    if let Err(e) = server.ensure_flow(&name, "tutorial", Owner::Object(character), Map::new()) {
        tracing::error!("cannot start the tutorial: {e}");
    }
}
