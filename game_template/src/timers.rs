//! The template game's time: adventurers regenerate with a ticker, the
//! Common Room has weather from a script, and a torch burns out with a
//! persistent delay. All three keep their schedule through `reload` and a
//! crash (see `docs/scripts.md`).

use std::time::Duration;

use serde_json::json;
use tavern_server::timers::{Script, TimerCall, TimerId};
use tavern_server::typeclass::Typeclass;
use tavern_server::{CmdCtx, CmdSet, Command, Kind, ObjId, Server};

/// How often adventurers regenerate.
pub const REGEN_EVERY: Duration = Duration::from_secs(10);

/// How long a lit torch burns.
pub const TORCH_BURNS: Duration = Duration::from_secs(600);

/// The ticker function: one point of hit points, mana and movement, up to
/// the maximum. Clients with a health bar see it from `Char.Vitals`.
pub fn regen(server: &mut Server, call: &TimerCall<'_>) {
    const POOLS: [(&str, &str); 3] = [
        ("hp", "maxhp"),
        ("mana", "maxmana"),
        ("movement", "maxmove"),
    ];
    let Some(me) = call.target else { return };
    // Someone at full strength is left alone: an update is a change to
    // save and to show, and a ticker reaches every character at once.
    let hurt = server.world.get(me).is_some_and(|o| {
        POOLS
            .iter()
            .any(|(now, max)| o.attr::<i64>(now).unwrap_or(0) < o.attr::<i64>(max).unwrap_or(0))
    });
    if !hurt {
        return;
    }
    server.world.update(me, |o| {
        for (now, max) in POOLS {
            let (v, m) = (
                o.attr::<i64>(now).unwrap_or(0),
                o.attr::<i64>(max).unwrap_or(0),
            );
            if v < m {
                o.set_attr(now, v + 1);
            }
        }
    });
}

/// Subscribes a character to the regeneration ticker (again is harmless:
/// the same subscription is replaced).
pub fn start_regen(server: &mut Server, me: ObjId) {
    if let Err(e) = server.ticker_add(REGEN_EVERY, Some(me), "regen", json!(null)) {
        tracing::error!("regeneration cannot start: {e}");
    }
}

/// Weather in a room: every few minutes the sky changes, and everyone in
/// the room hears it. Which weather it is now is the script's attribute.
pub struct Weather;

const SKIES: [(&str, &str); 4] = [
    ("rain", "Rain begins to drum on the shutters."),
    ("wind", "The rain stops; wind whistles under the door."),
    ("fog", "The wind drops, and fog presses at the windows."),
    ("clear", "The fog lifts. Moonlight falls across the floor."),
];

impl Script for Weather {
    fn name(&self) -> &str {
        "weather"
    }

    fn interval(&self) -> Option<Duration> {
        Some(Duration::from_secs(300))
    }

    fn desc(&self) -> &str {
        "the weather outside, changing every five minutes"
    }

    fn at_repeat(&self, server: &mut Server, id: TimerId) {
        let Some(room) = server.script_obj(id) else {
            return;
        };
        let turn = server.script_attr::<usize>(id, "turn").unwrap_or(0);
        let (sky, text) = SKIES[turn % SKIES.len()];
        server.script_set_attr(id, "turn", turn + 1);
        server.script_set_attr(id, "sky", sky);
        server.msg_location(room, text, &[]);
    }
}

/// A torch: `light torch` and it burns for ten minutes, then goes out —
/// even if the server reloaded or crashed in between (a persistent delay).
pub struct Torch;

impl Typeclass for Torch {
    fn name(&self) -> &str {
        "torch"
    }

    fn kind(&self) -> Kind {
        Kind::Thing
    }

    fn cmdset(&self) -> Option<CmdSet> {
        let mut set = CmdSet::new("TorchCmdSet");
        set.add(Light);
        Some(set)
    }
}

/// `light`: lights the torch that offers the command.
pub struct Light;

impl Command for Light {
    fn key(&self) -> &str {
        "light"
    }

    fn help(&self) -> &str {
        "light [torch]\n\nLight the torch. It burns for ten minutes."
    }

    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(torch) = ctx.obj else { return };
        let lit = ctx
            .server
            .world
            .get(torch)
            .and_then(|o| o.attr::<bool>("lit"))
            .unwrap_or(false);
        if lit {
            ctx.msg("The torch is already burning.");
            return;
        }
        let delay = ctx
            .server
            .delay(TORCH_BURNS, "torch_out", json!({ "torch": torch }), true);
        match delay {
            Ok(_) => {
                ctx.server.world.set_attr(torch, "lit", true);
                ctx.msg("You light the torch. It flares, then burns steadily.");
                let me = ctx.caller_name();
                ctx.msg_others_in_room(&format!("{me} lights a torch."));
            }
            Err(e) => ctx.msg(format!("The torch will not light ({e}).")),
        }
    }
}

/// The delay's function: the torch goes out, and whoever is near it sees.
pub fn torch_out(server: &mut Server, call: &TimerCall<'_>) {
    let Some(torch) = call.args["torch"].as_i64() else {
        return;
    };
    let Some(o) = server.world.get(torch) else {
        return;
    };
    // Held or lying somewhere: the room it is in hears it.
    let holder = o.location;
    let room = holder.and_then(|h| match server.world.get(h)?.kind {
        Kind::Room => Some(h),
        _ => server.world.get(h)?.location,
    });
    server.world.set_attr(torch, "lit", false);
    if let Some(room) = room {
        server.msg_location(room, "The torch sputters and goes out.", &[]);
    }
}
