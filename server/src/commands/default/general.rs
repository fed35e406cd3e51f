//! The character's everyday commands: `look`, `say`, `pose`, `get`, `drop`,
//! `give`, `inventory`, `home`.

use crate::commands::{CmdCtx, CmdSet, Command};
use crate::model::world::{ObjId, Search};
use crate::runtime::funcparser::escape_inline;

/// Adds the default character commands.
pub fn add_all(set: &mut CmdSet) {
    set.add(Look)
        .add(Say)
        .add(Pose)
        .add(Get)
        .add(Drop)
        .add(Give)
        .add(Inventory)
        .add(Home);
}

/// The caller's character, or a message saying there is none.
pub(crate) fn need_caller(ctx: &mut CmdCtx<'_>) -> Option<ObjId> {
    let me = ctx.caller();
    if me.is_none() {
        ctx.msg("You need to be playing a character to do that (see |wic|n).");
    }
    me
}

fn name_of(ctx: &CmdCtx<'_>, id: ObjId) -> String {
    ctx.server
        .world
        .get(id)
        .map(|o| o.key.clone())
        .unwrap_or_default()
}

/// `look [<object>]`: the room, or something near you.
pub struct Look;

impl Command for Look {
    fn key(&self) -> &str {
        "look"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn aliases(&self) -> &[&str] {
        &["l", "ls"]
    }
    fn help(&self) -> &str {
        "look [<thing>]\n\nLook at your surroundings, or at something or someone here."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = need_caller(ctx) else { return };
        let target = if ctx.args.is_empty() {
            match ctx.location() {
                Some(here) => here,
                None => {
                    ctx.msg("You have no location to look at!");
                    return;
                }
            }
        } else {
            let Some(t) = ctx.search(&ctx.args.clone()) else {
                return;
            };
            t
        };
        if !ctx.access(target, "view", true) {
            ctx.msg(format!("Could not find '{}'.", ctx.args));
            return;
        }
        let text = ctx.server.appearance(target, me);
        ctx.msg(text);
    }
}

/// `say <text>` (also `"`): speak to the room (through the speaker's `at_say`).
pub struct Say;

impl Command for Say {
    fn key(&self) -> &str {
        "say"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn aliases(&self) -> &[&str] {
        &["\"", "'"]
    }
    fn help(&self) -> &str {
        "say <message>\n\nSay something to everyone in the room. Shortcut: \"<message>"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = need_caller(ctx) else { return };
        if ctx.args.is_empty() {
            ctx.msg("Say what?");
            return;
        }
        // A player's words cannot pass for the game's own lines.
        let speech = tavern_shared::markup::player_text(&ctx.args);
        ctx.server
            .hook(me, "at_say", (), |tc, s| tc.at_say(s, me, &speech));
    }
}

/// `pose <text>` (also `emote`, `:`): act, as `Name <text>`.
pub struct Pose;

impl Command for Pose {
    fn key(&self) -> &str {
        "pose"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn aliases(&self) -> &[&str] {
        &[":", "emote"]
    }
    fn help(&self) -> &str {
        "pose <action>\n\nDescribe what you do, seen by everyone in the room: \
         'pose waves.' shows 'Anna waves.' Shortcut: :waves."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = need_caller(ctx) else { return };
        if ctx.args.is_empty() {
            ctx.msg("What do you want to do?");
            return;
        }
        let args = tavern_shared::markup::player_text(&ctx.args);
        let sep = if args.starts_with(['\'', ',', ':']) {
            ""
        } else {
            " "
        };
        let text = format!("{}{sep}{args}|n", name_of(ctx, me));
        match ctx.location() {
            Some(loc) => ctx.server.msg_location(loc, &text, &[]),
            None => ctx.msg(text),
        }
    }
}

/// `get <object>`: pick something up (its `get` lock permitting).
pub struct Get;

impl Command for Get {
    fn key(&self) -> &str {
        "get"
    }
    fn aliases(&self) -> &[&str] {
        &["grab"]
    }
    fn help(&self) -> &str {
        "get <thing>\n\nPick up something in the room."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = need_caller(ctx) else { return };
        if ctx.args.is_empty() {
            ctx.msg("Get what?");
            return;
        }
        let s = Search::new(Some(me)).among(
            ctx.location()
                .map(|l| ctx.server.world.contents(l).to_vec())
                .unwrap_or_default(),
        );
        let Some(obj) = ctx.search_with(s, &ctx.args.clone()) else {
            return;
        };
        if obj == me {
            ctx.msg("You can't get yourself.");
            return;
        }
        if !ctx.access(obj, "get", false) {
            let msg = ctx
                .server
                .world
                .get(obj)
                .and_then(|o| o.attr::<String>("get_err_msg"))
                .unwrap_or_else(|| "You can't get that.".into());
            ctx.msg(msg);
            return;
        }
        if ctx.server.move_obj(obj, Some(me), true).is_err() {
            ctx.msg("You can't get that.");
            return;
        }
        let name = escape_inline(&name_of(ctx, obj));
        ctx.msg_contents(&format!("$You() $conj(pick) up {name}."), &[]);
    }
}

/// `drop <object>`: put down something you carry.
pub struct Drop;

impl Command for Drop {
    fn key(&self) -> &str {
        "drop"
    }
    fn help(&self) -> &str {
        "drop <thing>\n\nPut down something you carry."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = need_caller(ctx) else { return };
        if ctx.args.is_empty() {
            ctx.msg("Drop what?");
            return;
        }
        let s = Search::new(Some(me)).inventory();
        let query = ctx.args.clone();
        let obj = match s.one(&ctx.server.world, &query) {
            Ok(o) => o,
            Err(crate::model::world::SearchError::NotFound(_)) => {
                ctx.msg(format!("You aren't carrying {query}."));
                return;
            }
            Err(e) => {
                let msg = e.message(&ctx.server.world, Some(me));
                ctx.msg(msg);
                return;
            }
        };
        if !ctx.access(obj, "drop", true) {
            ctx.msg("You cannot drop this.");
            return;
        }
        let Some(here) = ctx.location() else {
            ctx.msg("There is nowhere to drop it.");
            return;
        };
        let _ = ctx.server.move_obj(obj, Some(here), true);
        let name = escape_inline(&name_of(ctx, obj));
        ctx.msg_contents(&format!("$You() $conj(drop) {name}."), &[]);
    }
}

/// `give <object> to <someone>`: hand something to another character.
pub struct Give;

impl Command for Give {
    fn key(&self) -> &str {
        "give"
    }
    fn help(&self) -> &str {
        "give <thing> to <someone>\n\nGive something you carry to someone here. \
         'give <thing> = <someone>' works too."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = need_caller(ctx) else { return };
        let (what, whom) = match ctx.rhs.clone() {
            Some(r) => (ctx.lhs.clone(), r),
            None => match ctx.args.rsplit_once(" to ") {
                Some((w, t)) => (w.trim().to_string(), t.trim().to_string()),
                None => {
                    ctx.msg("Usage: give <inventory object> = <target>");
                    return;
                }
            },
        };
        if what.is_empty() || whom.is_empty() {
            ctx.msg("Usage: give <inventory object> = <target>");
            return;
        }
        let Some(obj) = ctx.search_with(Search::new(Some(me)).inventory(), &what) else {
            return;
        };
        let Some(target) = ctx.search(&whom) else {
            return;
        };
        if target == me {
            ctx.msg(format!("You keep {}.", name_of(ctx, obj)));
            return;
        }
        if ctx
            .server
            .world
            .get(target)
            .is_some_and(|t| t.kind != crate::model::world::Kind::Character)
        {
            ctx.msg(format!(
                "You can't give anything to {}.",
                name_of(ctx, target)
            ));
            return;
        }
        if !ctx.access(obj, "give", true) || ctx.server.move_obj(obj, Some(target), true).is_err() {
            ctx.msg("You can't give that away.");
            return;
        }
        let (obj_name, target_name, me_name) =
            (name_of(ctx, obj), name_of(ctx, target), name_of(ctx, me));
        ctx.msg(format!("You give {obj_name} to {target_name}."));
        ctx.server
            .msg_obj(target, &format!("{me_name} gives you {obj_name}."));
    }
}

/// `inventory` (also `inv`, `i`): what you carry.
pub struct Inventory;

impl Command for Inventory {
    fn key(&self) -> &str {
        "inventory"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn aliases(&self) -> &[&str] {
        &["inv", "i"]
    }
    fn help(&self) -> &str {
        "inventory\n\nList what you are carrying."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = need_caller(ctx) else { return };
        let items: Vec<String> = ctx
            .server
            .world
            .contents(me)
            .iter()
            .filter_map(|&i| ctx.server.world.get(i))
            .map(|o| {
                let desc = o.desc.lines().next().unwrap_or("");
                if desc.is_empty() {
                    format!(" |C{}|n", o.key)
                } else {
                    format!(" |C{}|n  {desc}", o.key)
                }
            })
            .collect();
        if items.is_empty() {
            ctx.msg("You are not carrying anything.");
        } else {
            ctx.msg(format!("|wYou are carrying:|n\n{}", items.join("\n")));
        }
    }
}

/// `home`: go to your home location.
pub struct Home;

impl Command for Home {
    fn key(&self) -> &str {
        "home"
    }
    fn help(&self) -> &str {
        "home\n\nGo back to your home location."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = need_caller(ctx) else { return };
        let home = ctx.server.world.get(me).and_then(|o| o.home);
        match home {
            None => ctx.msg("You have no home!"),
            Some(h) if Some(h) == ctx.location() => ctx.msg("You are already home!"),
            Some(h) => {
                ctx.msg("There's no place like home ...");
                let _ = ctx.server.move_obj(me, Some(h), false);
            }
        }
    }
}
