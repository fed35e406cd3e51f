//! The template game's own kinds of objects.

use tavern_server::typeclass::Typeclass;
use tavern_server::{CmdCtx, CmdSet, Command, Kind, ObjId, Server};

/// A bell anyone in the room can `ring`. It counts its rings in a
/// persistent attribute, so the count survives reloads.
pub struct Bell;

impl Typeclass for Bell {
    fn name(&self) -> &str {
        "bell"
    }

    fn kind(&self) -> Kind {
        Kind::Thing
    }

    /// The commands a bell offers to whoever is near it.
    fn cmdset(&self) -> Option<CmdSet> {
        let mut set = CmdSet::new("BellCmdSet");
        set.add(Ring);
        Some(set)
    }

    /// Bells are fixed to the wall.
    fn locks(&self) -> &str {
        "get:false()"
    }

    fn at_object_creation(&self, server: &mut Server, obj: ObjId) {
        server.world.set_attr(obj, "rings", 0);
    }
}

/// `ring`: rings the bell that offers the command.
pub struct Ring;

impl Command for Ring {
    fn key(&self) -> &str {
        "ring"
    }

    fn help(&self) -> &str {
        "ring\n\nRing the bell. Everyone in the room hears it."
    }

    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let (Some(bell), Some(room)) = (ctx.obj, ctx.location()) else {
            return;
        };
        let mut rings = 0;
        ctx.server.world.update(bell, |o| {
            rings = o.attr::<i64>("rings").unwrap_or(0) + 1;
            o.set_attr("rings", rings);
        });
        let me = ctx.caller_name();
        ctx.msg(format!("You ring the bell. It has rung {rings} time(s)."));
        ctx.server.msg_location(
            room,
            &format!("{me} rings the bell: |yDING!|n"),
            &ctx.caller().into_iter().collect::<Vec<_>>(),
        );
    }
}

/// A room whose barkeep greets every character who walks in.
pub struct TavernRoom;

impl Typeclass for TavernRoom {
    fn name(&self) -> &str {
        "tavern_room"
    }

    fn kind(&self) -> Kind {
        Kind::Room
    }

    /// The bar: `buy` from the barkeep.
    fn cmdset(&self) -> Option<CmdSet> {
        let mut set = CmdSet::new("TavernRoomCmdSet");
        set.add(crate::menus::Buy);
        Some(set)
    }

    fn at_object_receive(
        &self,
        server: &mut Server,
        _room: ObjId,
        arrived: ObjId,
        _from: Option<ObjId>,
    ) {
        let Some(o) = server.world.get(arrived) else {
            return;
        };
        if o.kind == Kind::Character {
            let name = o.key.clone();
            server.msg_obj(
                arrived,
                &format!("The barkeep nods at you. \"Welcome, {name}.\""),
            );
        }
    }
}

/// The template's characters: they start with hit points, mana and
/// movement, which clients show from GMCP `Char.Vitals` (or MSDP `HEALTH`,
/// ...), and take the tutorial the first time they come into the game.
pub struct Adventurer;

impl Typeclass for Adventurer {
    fn name(&self) -> &str {
        "adventurer"
    }

    fn kind(&self) -> Kind {
        Kind::Character
    }

    /// The usual arrival (a look around), then the tutorial for a newcomer.
    fn at_post_puppet(&self, server: &mut Server, obj: ObjId, sessid: tavern_server::SessId) {
        tavern_server::typeclass::defaults::post_puppet(server, obj, sessid);
        crate::timers::start_regen(server, obj);
        crate::flows::start_tutorial(server, obj);
    }

    fn at_object_creation(&self, server: &mut Server, obj: ObjId) {
        server.world.update(obj, |o| {
            for (attr, value) in [
                ("hp", 20),
                ("maxhp", 20),
                ("mana", 10),
                ("maxmana", 10),
                ("movement", 30),
                ("maxmove", 30),
                ("level", 1),
            ] {
                o.set_attr(attr, value);
            }
        });
    }
}
