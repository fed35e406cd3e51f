//! The template game's flows: a tutorial for new characters (written with
//! the builder API) and the barkeep's timed scene (a TOML file, as builders
//! write them). Flows survive reloads and crashes, with their timers.

use serde_json::{Map, Value, json};
use tavern_server::flows::{Action, FlowCtx, FlowDef, Op, Owner};
use tavern_server::{ObjId, Server};

/// The tutorial: greet (by the game's name), wait for `look`, send the
/// player to the tavern (reminding them at most three times, and only while
/// they are still where they started), with a side path that gives a tip,
/// which ends when they arrive. A player already in the Common Room is told
/// so, not sent there; in a world without it, the tutorial ends after `look`.
pub fn tutorial() -> FlowDef {
    FlowDef::new("tutorial")
        .state("START", [
            Action::call("find_tavern", json!(null)),
            Action::send("|gWelcome to [[game]], [[owner.key]]!|n A short walk through the basics."),
            Action::next("look"),
        ])
        .state("look", [
            Action::send("First, look around: type |wlook|n."),
            Action::on_command("l|look", "route"),
        ])
        .state("route", [Action::call("tutorial_route", json!(null))])
        .state("here", [
            Action::send("Good. You are in the Common Room already: ring the bell, rest by the fire, or talk to whoever is here. Enjoy!"),
            Action::set("owner.tutorial_done", true),
            Action::End,
        ])
        .state("explore", [
            Action::send("Good. Explore as you like: |whelp|n lists every command you can use."),
            Action::set("owner.tutorial_done", true),
            Action::End,
        ])
        .state("walk", [
            Action::send("Good. The exit |wtavern|n leads to the Common Room. Walk there."),
            Action::split("tip", "hint"),
            Action::next("waiting"),
        ])
        .state("waiting", [
            Action::on_change("owner.location", Op::Eq, "[[tavern.id]]", "arrived"),
            Action::timeout("1:00", "remind"),
        ])
        .state("remind", [Action::call("tutorial_remind", json!(null))])
        // Wandered off, or reminded enough: wait without a word.
        .state("quiet", [Action::on_change("owner.location", Op::Eq, "[[tavern.id]]", "arrived")])
        .state("tip", [Action::timeout("20", "tipped")])
        .state("tipped", [Action::send("(Tip: |whelp|n lists every command you can use.)")])
        .state("arrived", [
            Action::join(&["hint"]),
            Action::send("You made it. Ring the bell, rest by the fire, or talk to whoever is here. Enjoy!"),
            Action::set("owner.tutorial_done", true),
            Action::End,
        ])
}

/// How many times the tutorial reminds a player to walk to the tavern.
const REMINDERS: i64 = 3;

fn owner_and_place(ctx: &FlowCtx<'_>) -> Option<(ObjId, Option<ObjId>)> {
    let Owner::Object(me) = ctx.owner() else {
        return None;
    };
    Some((me, ctx.server.world.get(me).and_then(|o| o.location)))
}

/// `tutorial_route`: after the first `look`, to the tavern, unless there.
pub fn tutorial_route(ctx: &mut FlowCtx<'_>, _payload: &Value) -> Result<(), String> {
    let tavern = ctx.var("tavern.id").and_then(|v| v.as_i64());
    let here = owner_and_place(ctx).and_then(|(_, place)| place);
    ctx.next(match tavern {
        // A world without the template's Common Room (built by an import,
        // or the room destroyed): nowhere to walk to.
        None => "explore",
        Some(_) if here == tavern => "here",
        Some(_) => "walk",
    });
    Ok(())
}

/// `tutorial_remind`: a minute passed; remind a player still where they
/// started (a few times at most), and leave anyone else in peace.
pub fn tutorial_remind(ctx: &mut FlowCtx<'_>, _payload: &Value) -> Result<(), String> {
    let Some((me, here)) = owner_and_place(ctx) else {
        return Ok(());
    };
    let reminded = ctx.var("reminded").and_then(|v| v.as_i64()).unwrap_or(0);
    if here == Some(ctx.server.world.start_room) && reminded < REMINDERS {
        ctx.set("reminded", json!(reminded + 1));
        ctx.server.msg_obj(
            me,
            "Still here? Type |wtavern|n to walk to the Common Room.",
        );
        ctx.next("waiting");
    } else {
        ctx.next("quiet");
    }
    Ok(())
}

/// The barkeep's scene, from its TOML file.
pub fn barkeep() -> FlowDef {
    FlowDef::from_toml(include_str!("../flows/barkeep.toml"))
        .expect("flows/barkeep.toml is a valid flow")
}

/// `find_tavern`: the tutorial refers to the Common Room as `tavern`, and
/// to the game by its name (`[game] name` in settings.toml) as `game`.
pub fn find_tavern(ctx: &mut FlowCtx<'_>, _payload: &Value) -> Result<(), String> {
    let game = ctx.server.settings.game.name.clone();
    ctx.set("game", json!(game));
    // None found is no error: the tutorial then skips the walk (`explore`).
    ctx.create_reference(
        "objects",
        &json!({"world_id": "tavern"}),
        "tavern",
        &json!({"multiple": false}),
    )?;
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
