//! More builder commands (permission Builder), with Evennia's syntax and
//! messages: `name`, `link`, `unlink`, `sethome`, `tunnel`, `copy`,
//! `cpattr`/`mvattr`, `wipe`, `find`, `objects`, `cmdsets`, and `about`
//! (for everyone). Each checks the access
//! it needs on what it changes, and a bare or partial command changes
//! nothing.

use std::collections::BTreeMap;

use tavern_shared::markup::escape;
use tavern_shared::text::{Align, Border, Table};

use crate::commands::default::building::{
    creator_locks, find_any, make_exit, need_access, parse_name_spec, shown,
};
use crate::commands::{CmdCtx, CmdSet, Command, comma_list};
use crate::model::world::{Kind, ObjId};
use crate::runtime::create::NewObject;

/// Adds these commands (to a character's set).
pub fn add_all(set: &mut CmdSet) {
    set.add(Name)
        .add(Link)
        .add(Unlink)
        .add(SetHome)
        .add(Tunnel)
        .add(Copy)
        .add(CpAttr)
        .add(MvAttr)
        .add(Wipe)
        .add(Find)
        .add(Objects)
        .add(CmdSets)
        .add(About);
}

/// How many objects `find` lists at most.
const FIND_LIMIT: usize = 200;
/// How many index entries `find` reads before asking for a narrower name.
const FIND_BUDGET: usize = 20_000;

/// `name <obj> = <new name>[;alias;...]`.
pub struct Name;

impl Command for Name {
    fn key(&self) -> &str {
        "name"
    }
    fn aliases(&self) -> &[&str] {
        &["rename"]
    }
    fn help(&self) -> &str {
        "name <object> = <new name>[;alias;alias...]\n\n\
         Rename an object; aliases after ; replace its aliases."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let new = ctx.rhs.clone().map(|r| parse_name_spec(&r));
        let (false, Some(new)) = (ctx.lhs.is_empty(), new) else {
            return ctx.msg("Usage: name <obj> = <newname>[;alias;alias;...]");
        };
        if new.name.is_empty() {
            return ctx.msg("No name was given; nothing was changed.");
        }
        if new.name.chars().count() > 80 {
            return ctx.msg("A name is at most 80 characters; nothing was changed.");
        }
        let Some(obj) = find_any(ctx, &ctx.lhs.clone()) else {
            return;
        };
        if !need_access(ctx, obj, "edit") {
            return;
        }
        let aliases = new.aliases.clone();
        let name = new.name.clone();
        ctx.server.world.update(obj, |o| {
            o.key = name;
            if !aliases.is_empty() {
                o.aliases = aliases;
            }
        });
        let extra = if new.aliases.is_empty() {
            String::new()
        } else {
            format!(" (aliases: {})", escape(&new.aliases.join(", ")))
        };
        ctx.msg(format!(
            "Object's name changed to '{}'{extra}.",
            escape(&new.name)
        ));
    }
}

/// `link[/twoway] <exit> = <destination>`, `link <exit>`, `link <exit> =`.
pub struct Link;

impl Command for Link {
    fn key(&self) -> &str {
        "link"
    }
    fn switches(&self) -> &[&str] {
        &["twoway"]
    }
    fn help(&self) -> &str {
        "link[/twoway] <exit> = <destination>\nlink <exit>\nlink <exit> =\n\n\
         Point an exit at a destination (with /twoway, and the destination's exit back \
         here, when the destination is an exit); show where it leads; or, with nothing \
         after the =, make it lead nowhere."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.lhs.is_empty() {
            return ctx.msg("Usage: link[/twoway] <object> = <target>");
        }
        let Some(exit) = find_any(ctx, &ctx.lhs.clone()) else {
            return;
        };
        let Some(rhs) = ctx.rhs.clone() else {
            let dest = ctx.server.world.get(exit).and_then(|o| o.destination);
            let msg = match dest {
                Some(d) => format!("{} is an exit to {}.", shown(ctx, exit), shown(ctx, d)),
                None => format!("{} is not an exit. Its home is {}.", shown(ctx, exit), {
                    let home = ctx.server.world.get(exit).and_then(|o| o.home);
                    home.map_or("nowhere".to_string(), |h| shown(ctx, h))
                }),
            };
            return ctx.msg(msg);
        };
        if !need_access(ctx, exit, "edit") {
            return;
        }
        if rhs.is_empty() {
            return unlink(ctx, exit);
        }
        let Some(dest) = find_any(ctx, &rhs) else {
            return;
        };
        if dest == exit {
            return ctx.msg("An exit cannot lead to itself; nothing was changed.");
        }
        let kind = ctx.server.world.get(exit).map(|o| o.kind);
        if kind != Some(Kind::Exit) {
            return ctx.msg(format!(
                "{} is not an exit; only exits link. Nothing was changed.",
                shown(ctx, exit)
            ));
        }
        let dest_is_exit = ctx
            .server
            .world
            .get(dest)
            .is_some_and(|d| d.kind == Kind::Exit);
        if dest_is_exit && !ctx.has_switch("twoway") {
            return ctx.msg("An exit cannot lead to another exit (link/twoway links two exits' rooms). Nothing was changed.");
        }
        if ctx.has_switch("twoway") {
            // Two exits: each leads to the other's room.
            if !dest_is_exit {
                return ctx.msg(
                    "link/twoway links two exits; the target is not one. Nothing was changed.",
                );
            }
            if !need_access(ctx, dest, "edit") {
                return;
            }
            let here = ctx.server.world.get(exit).and_then(|o| o.location);
            let there = ctx.server.world.get(dest).and_then(|o| o.location);
            let (Some(here), Some(there)) = (here, there) else {
                return ctx.msg("Both exits must be somewhere; nothing was changed.");
            };
            ctx.server
                .world
                .update(exit, |o| o.destination = Some(there));
            ctx.server
                .world
                .update(dest, |o| o.destination = Some(here));
            return ctx.msg(format!(
                "Link created {} (in {}) <-> {} (in {}) (two-way).",
                shown(ctx, exit),
                shown(ctx, here),
                shown(ctx, dest),
                shown(ctx, there)
            ));
        }
        ctx.server
            .world
            .update(exit, |o| o.destination = Some(dest));
        ctx.msg(format!(
            "Link created {} -> {} (one way).",
            shown(ctx, exit),
            shown(ctx, dest)
        ));
    }
}

fn unlink(ctx: &mut CmdCtx<'_>, exit: ObjId) {
    let was = ctx.server.world.get(exit).and_then(|o| o.destination);
    if was.is_none() {
        return ctx.msg(format!("{} does not link anywhere.", shown(ctx, exit)));
    }
    ctx.server.world.update(exit, |o| o.destination = None);
    ctx.msg(format!(
        "Former exit {} no longer links anywhere.",
        shown(ctx, exit)
    ));
}

/// `unlink <exit>`.
pub struct Unlink;

impl Command for Unlink {
    fn key(&self) -> &str {
        "unlink"
    }
    fn help(&self) -> &str {
        "unlink <exit>\n\nMake an exit lead nowhere (link <exit> = does the same)."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.args.is_empty() {
            return ctx.msg("Usage: unlink <object>");
        }
        let Some(exit) = find_any(ctx, &ctx.args.clone()) else {
            return;
        };
        if need_access(ctx, exit, "edit") {
            unlink(ctx, exit);
        }
    }
}

/// `sethome <obj> [= <home>]`.
pub struct SetHome;

impl Command for SetHome {
    fn key(&self) -> &str {
        "sethome"
    }
    fn help(&self) -> &str {
        "sethome <object> [= <home location>]\n\n\
         Show an object's home, or set it (where `home` takes it)."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.lhs.is_empty() {
            return ctx.msg("Usage: sethome <obj> [= <home_location>]");
        }
        let Some(obj) = find_any(ctx, &ctx.lhs.clone()) else {
            return;
        };
        let old = ctx.server.world.get(obj).and_then(|o| o.home);
        let old_text = old.map_or("nowhere".to_string(), |h| shown(ctx, h));
        let Some(rhs) = ctx.rhs.clone().filter(|r| !r.is_empty()) else {
            return ctx.msg(format!("Its home location is {old_text}."));
        };
        if !need_access(ctx, obj, "edit") {
            return;
        }
        let Some(home) = find_any(ctx, &rhs) else {
            return;
        };
        if home == obj {
            return ctx.msg("An object cannot be its own home; nothing was changed.");
        }
        if ctx
            .server
            .world
            .get(home)
            .is_some_and(|h| h.kind == Kind::Exit)
        {
            return ctx.msg("An exit cannot be a home; nothing was changed.");
        }
        ctx.server.world.update(obj, |o| o.home = Some(home));
        ctx.msg(format!(
            "Home location of {} was changed from {old_text} to {}.",
            shown(ctx, obj),
            shown(ctx, home)
        ));
    }
}

/// The directions `tunnel` knows: the short name, the exit's name and the way back.
const DIRECTIONS: &[(&str, &str, &str)] = &[
    ("n", "north", "s"),
    ("ne", "northeast", "sw"),
    ("e", "east", "w"),
    ("se", "southeast", "nw"),
    ("s", "south", "n"),
    ("sw", "southwest", "ne"),
    ("w", "west", "e"),
    ("nw", "northwest", "se"),
    ("u", "up", "d"),
    ("d", "down", "u"),
    ("i", "in", "o"),
    ("o", "out", "i"),
];

fn direction(word: &str) -> Option<(&'static str, &'static str, &'static str)> {
    let w = word.to_lowercase();
    DIRECTIONS
        .iter()
        .find(|(short, long, _)| *short == w || *long == w)
        .copied()
}

/// `tunnel[/oneway][/tel] <direction>[:typeclass] [= <room>[;alias...]]`.
pub struct Tunnel;

impl Command for Tunnel {
    fn key(&self) -> &str {
        "tunnel"
    }
    fn aliases(&self) -> &[&str] {
        &["tun"]
    }
    fn switches(&self) -> &[&str] {
        &["oneway", "tel"]
    }
    fn help(&self) -> &str {
        "tunnel[/oneway][/tel] <direction>[:typeclass] [= <room name>[;alias;...]]\n\n\
         Dig a room in a direction (n, ne, e, se, s, sw, w, nw, u, d, i, o, or their \
         long names) with an exit there and, unless /oneway, one back. /tel takes you \
         there. The room is called 'Some place' unless named."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        const USAGE: &str = "Usage: tunnel[/oneway][/tel] <direction>[:typeclass] [= <roomname>[;alias;alias;...][:typeclass]]";
        let (dir, typeclass) = match ctx.lhs.split_once(':') {
            Some((d, t)) => (d.trim().to_string(), Some(t.trim().to_string())),
            None => (ctx.lhs.trim().to_string(), None),
        };
        if dir.is_empty() {
            return ctx.msg(USAGE);
        }
        let Some((short, long, back)) = direction(&dir) else {
            return ctx.msg(format!(
                "tunnel can only understand the following directions: {}.",
                DIRECTIONS.iter().map(|d| d.0).collect::<Vec<_>>().join(",")
            ));
        };
        let Some(here) = ctx.location() else {
            return ctx.msg("You are nowhere; there is nowhere to tunnel from.");
        };
        let room = parse_name_spec(ctx.rhs.as_deref().unwrap_or(""));
        if room.name.chars().count() > 80 {
            return ctx.msg("A room's name is at most 80 characters; nothing was made.");
        }
        let name = if room.name.is_empty() {
            "Some place".to_string()
        } else {
            room.name.clone()
        };
        let mut spec = NewObject::new(Kind::Room, name)
            .aliases(room.aliases.clone())
            .locks(&creator_locks(ctx));
        if let Some(t) = room.typeclass.as_deref().or(typeclass.as_deref()) {
            spec = spec.typeclass(t);
        }
        let new_room = match ctx.server.create_object(spec) {
            Ok(id) => id,
            Err(e) => return ctx.msg(e),
        };
        ctx.msg(format!("Created room {}.", shown(ctx, new_room)));
        let there = parse_name_spec(&format!("{long};{short}"));
        make_exit(ctx, &there, here, new_room);
        if !ctx.has_switch("oneway")
            && let Some((b_short, b_long, _)) = direction(back)
        {
            let back_spec = parse_name_spec(&format!("{b_long};{b_short}"));
            make_exit(ctx, &back_spec, new_room, here);
        }
        if ctx.has_switch("tel")
            && let Some(me) = ctx.caller()
        {
            let _ = ctx.server.move_obj(me, Some(new_room), false);
        }
    }
}

/// `copy <obj> [= <new name>[;alias...][:location]]`.
pub struct Copy;

impl Command for Copy {
    fn key(&self) -> &str {
        "copy"
    }
    fn help(&self) -> &str {
        "copy <object> [= <new name>[;alias;...][:<location>]]\n\n\
         Make a copy of an object: its kind, typeclass, description, attributes, tags \
         and locks. The copy is called <name>_copy unless named, and is made where the \
         original is unless a location is given."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.lhs.is_empty() {
            return ctx.msg("Usage: copy <obj> [=<new_name>[;alias;alias..]:<new_location>]");
        }
        let Some(src) = find_any(ctx, &ctx.lhs.clone()) else {
            return;
        };
        if !need_access(ctx, src, "examine") {
            return;
        }
        let Some(o) = ctx.server.world.get(src).cloned() else {
            return;
        };
        if o.kind == Kind::Character && o.account.is_some() {
            return ctx.msg("A player's character cannot be copied; nothing was made.");
        }
        let (spec_text, loc_text) = match ctx.rhs.as_deref().and_then(|r| r.rsplit_once(':')) {
            Some((s, l)) => (s.to_string(), Some(l.trim().to_string())),
            None => (ctx.rhs.clone().unwrap_or_default(), None),
        };
        let names = parse_name_spec(&spec_text);
        let name = if names.name.is_empty() {
            format!("{}_copy", o.key)
        } else {
            names.name.clone()
        };
        let location = match loc_text.filter(|l| !l.is_empty()) {
            Some(l) => match find_any(ctx, &l) {
                Some(l) => Some(l),
                None => return,
            },
            None => o.location,
        };
        let mut spec = NewObject::new(o.kind, name.clone())
            .typeclass(&o.typeclass)
            .aliases(if names.aliases.is_empty() {
                o.aliases.clone()
            } else {
                names.aliases.clone()
            })
            .desc(o.desc.clone());
        spec.attrs = o.db.clone();
        spec.tags = o
            .tags
            .iter()
            .filter(|t| t.category.as_deref() != Some(crate::model::world::WORLD_ID))
            .cloned()
            .collect();
        spec.locks = o.locks.to_string();
        if let Some(l) = location {
            spec = spec.location(l);
        }
        if let Some(h) = o.home {
            spec = spec.home(h);
        }
        if let Some(d) = o.destination {
            spec = spec.destination(d);
        }
        match ctx.server.create_object(spec) {
            Ok(id) => {
                let msg = format!("Copied {} to {}.", shown(ctx, src), shown(ctx, id));
                ctx.msg(msg);
            }
            Err(e) => ctx.msg(e),
        }
    }
}

/// `[obj/]attr` → (object, attribute); the object defaults to the caller.
fn obj_attr(ctx: &mut CmdCtx<'_>, spec: &str) -> Option<(ObjId, String)> {
    let (obj, attr) = match spec.split_once('/') {
        Some((o, a)) => (find_any(ctx, o.trim())?, a.trim().to_string()),
        None => (ctx.caller()?, spec.trim().to_string()),
    };
    if attr.is_empty() {
        ctx.msg("An attribute needs a name.");
        return None;
    }
    Some((obj, attr))
}

/// Copies (or moves) one attribute to several places.
fn copy_attr(ctx: &mut CmdCtx<'_>, moving: bool) {
    let verb = if moving { "Moved" } else { "Copied" };
    if ctx.lhs.is_empty() || ctx.rhs.as_deref().is_none_or(str::is_empty) {
        return ctx.msg(format!(
            "Usage: {}[/switch] <obj>/<attr> = <obj1>/<attr1> [,<obj2>/<attr2>,...]",
            if moving { "mvattr" } else { "cpattr" }
        ));
    }
    let Some((src, attr)) = obj_attr(ctx, &ctx.lhs.clone()) else {
        return;
    };
    if !need_access(ctx, src, "examine") || (moving && !need_access(ctx, src, "edit")) {
        return;
    }
    let Some(value) = ctx
        .server
        .world
        .get(src)
        .and_then(|o| o.db.get(&attr).cloned())
    else {
        return ctx.msg(format!(
            "{} has no attribute '{}'. Nothing was done.",
            shown(ctx, src),
            escape(&attr)
        ));
    };
    let mut targets = Vec::new();
    for t in comma_list(ctx.rhs.as_deref().unwrap_or("")) {
        let (obj, to_attr) = match t.split_once('/') {
            Some((o, a)) => match find_any(ctx, o.trim()) {
                Some(o) => (o, a.trim().to_string()),
                None => return,
            },
            None => match find_any(ctx, &t) {
                Some(o) => (o, attr.clone()),
                None => return,
            },
        };
        if to_attr.is_empty() || (obj == src && to_attr == attr) {
            return ctx.msg("Copying an attribute onto itself does nothing; nothing was done.");
        }
        if !need_access(ctx, obj, "edit") {
            return;
        }
        targets.push((obj, to_attr));
    }
    let mut lines = Vec::new();
    for (obj, to_attr) in &targets {
        let v = value.clone();
        ctx.server.world.update(*obj, |o| {
            o.db.insert(to_attr.clone(), v);
        });
        lines.push(format!(
            "{verb} {}.{} -> {}.{}",
            shown(ctx, src),
            escape(&attr),
            shown(ctx, *obj),
            escape(to_attr)
        ));
    }
    if moving && !targets.iter().any(|(o, a)| *o == src && *a == attr) {
        ctx.server.world.update(src, |o| {
            o.db.remove(&attr);
        });
    }
    ctx.msg(lines.join("\n"));
}

/// `cpattr[/move] [obj/]attr = obj1[/attr1], ...`.
pub struct CpAttr;

impl Command for CpAttr {
    fn key(&self) -> &str {
        "cpattr"
    }
    fn switches(&self) -> &[&str] {
        &["move"]
    }
    fn help(&self) -> &str {
        "cpattr[/move] [<obj>/]<attr> = <obj1>[/<attr1>] [, <obj2>[/<attr2>] ...]\n\n\
         Copy an attribute to other objects (with /move, then remove it from the first). \
         Without an object, the attribute is yours."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        copy_attr(ctx, ctx.has_switch("move"));
    }
}

/// `mvattr[/copy] [obj/]attr = obj1[/attr1], ...`.
pub struct MvAttr;

impl Command for MvAttr {
    fn key(&self) -> &str {
        "mvattr"
    }
    fn switches(&self) -> &[&str] {
        &["copy"]
    }
    fn help(&self) -> &str {
        "mvattr[/copy] [<obj>/]<attr> = <obj1>[/<attr1>] [, <obj2>[/<attr2>] ...]\n\n\
         Move an attribute to other objects (with /copy, keep it where it was)."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        copy_attr(ctx, !ctx.has_switch("copy"));
    }
}

/// `wipe <obj>[/attr/attr...]`.
pub struct Wipe;

impl Command for Wipe {
    fn key(&self) -> &str {
        "wipe"
    }
    fn help(&self) -> &str {
        "wipe <object>[/<attr>[/<attr>...]]\n\n\
         Remove the named attributes of an object, or all of them (it asks first)."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let args = ctx.args.trim().to_string();
        if args.is_empty() {
            return ctx.msg("Usage: wipe <object>[/<attr>/<attr>...]");
        }
        let mut parts = args.split('/').map(str::trim);
        let target = parts.next().unwrap_or("");
        let attrs: Vec<String> = parts
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        let Some(obj) = find_any(ctx, target) else {
            return;
        };
        if !need_access(ctx, obj, "edit") {
            return;
        }
        let name = shown(ctx, obj);
        if attrs.is_empty() {
            let n = ctx.server.world.get(obj).map_or(0, |o| o.db.len());
            if n == 0 {
                return ctx.msg(format!("{name} has no attributes."));
            }
            ctx.ask(
                &format!("Wipe all {n} attributes of {name}? yes/[no] "),
                false,
                move |server, sessid, answer| {
                    if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                        server.world.update(obj, |o| o.db.clear());
                        server.msg_session(sessid, format!("Wiped all attributes on {name}."));
                    } else {
                        server.msg_session(sessid, "Nothing was wiped.");
                    }
                },
            );
            return;
        }
        let mut gone = Vec::new();
        ctx.server.world.update(obj, |o| {
            for a in &attrs {
                if o.db.remove(a).is_some() {
                    gone.push(escape(a));
                }
            }
        });
        if gone.is_empty() {
            ctx.msg(format!(
                "{name} has none of those attributes; nothing was wiped."
            ));
        } else {
            ctx.msg(format!("Wiped attributes {} on {name}.", gone.join(", ")));
        }
    }
}

/// `find[/room/exit/char/thing/exact/loc] <name|#id|*account> [= lo-hi]`.
pub struct Find;

impl Command for Find {
    fn key(&self) -> &str {
        "find"
    }
    fn aliases(&self) -> &[&str] {
        &["locate", "search"]
    }
    fn switches(&self) -> &[&str] {
        &[
            "room",
            "exit",
            "char",
            "thing",
            "exact",
            "loc",
            "startswith",
        ]
    }
    fn read_only(&self) -> bool {
        true
    }
    fn help(&self) -> &str {
        "find[/switches] <name or #id or *account> [= <lo>-<hi>]\n\n\
         Search the whole world by name: an object whose name, alias, or a word of one \
         starts with what you type (/exact: the whole name). /room, /exit, /char, /thing \
         keep one kind; /loc also shows where each is; = 10-200 keeps ids in a range. \
         *name finds an account's characters."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let want = ctx.lhs.trim().to_string();
        if want.is_empty() {
            return ctx.msg("Usage: find <string> [= low [-high]]");
        }
        let range = match ctx.rhs.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => {
                let mut it = r.split('-').map(|p| p.trim().trim_start_matches('#'));
                let lo = it.next().and_then(|p| p.parse::<ObjId>().ok());
                let hi = match it.next() {
                    Some(h) => h.parse::<ObjId>().ok(),
                    None => Some(ObjId::MAX),
                };
                match (lo, hi) {
                    (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
                    _ => return ctx.msg("The range is <low>-<high>, in ids: find box = 10-200."),
                }
            }
        };
        let world = &ctx.server.world;
        let found: Vec<ObjId> = if let Some(id) = want.strip_prefix('#') {
            match id.parse::<ObjId>() {
                Ok(id) if world.get(id).is_some() => vec![id],
                _ => Vec::new(),
            }
        } else if let Some(acct) = want.strip_prefix('*') {
            match world.account_named(acct) {
                Some(a) => world.characters_of(a),
                None => Vec::new(),
            }
        } else if ctx.has_switch("exact") {
            world.named(&want).to_vec()
        } else {
            match world.prefixed(&want.to_lowercase(), FIND_BUDGET) {
                Some(v) => v,
                None => {
                    return ctx.msg(format!(
                        "More than {FIND_BUDGET} names start with '{}': be more specific.",
                        escape(&want)
                    ));
                }
            }
        };
        let kind = [
            ("room", Kind::Room),
            ("exit", Kind::Exit),
            ("char", Kind::Character),
            ("thing", Kind::Thing),
        ]
        .into_iter()
        .find(|(s, _)| ctx.has_switch(s))
        .map(|(_, k)| k);
        let mut hits: Vec<ObjId> = found
            .into_iter()
            .filter(|id| range.is_none_or(|(lo, hi)| *id >= lo && *id <= hi))
            .filter(|id| {
                world
                    .get(*id)
                    .is_some_and(|o| kind.is_none_or(|k| o.kind == k))
            })
            .collect();
        hits.sort_unstable();
        if hits.is_empty() {
            return ctx.msg(format!("No matches found for '{}'.", escape(&want)));
        }
        let total = hits.len();
        hits.truncate(FIND_LIMIT);
        let with_loc = ctx.has_switch("loc");
        let mut table = Table::new(if with_loc {
            vec!["id", "name", "kind", "location"]
        } else {
            vec!["id", "name", "kind"]
        });
        table.border(Border::Header).align(0, Align::Right);
        for id in &hits {
            let Some(o) = world.get(*id) else { continue };
            let mut row = vec![
                format!("#{id}"),
                escape(&o.key),
                format!("{:?} ({})", o.kind, escape(&o.typeclass)).to_lowercase(),
            ];
            if with_loc {
                row.push(
                    o.location
                        .and_then(|l| world.get(l))
                        .map_or("nowhere".into(), |l| escape(&l.display_with_id())),
                );
            }
            table.row(row);
        }
        table.max_width(ctx.screen_width());
        let mut out = format!(
            "|w{total} match{}{}:|n\n{}",
            if total == 1 { "" } else { "es" },
            range.map_or(String::new(), |(lo, hi)| if hi == ObjId::MAX {
                format!(" (#{lo}+)")
            } else {
                format!(" (#{lo}-#{hi})")
            }),
            table.render()
        );
        if total > hits.len() {
            out.push_str(&format!(
                "\n(and {} more: narrow the search or give a range)",
                total - hits.len()
            ));
        }
        ctx.msg_paged(out);
    }
}

/// `objects [N]`: how many objects there are, by kind and typeclass, and
/// the newest.
pub struct Objects;

impl Command for Objects {
    fn key(&self) -> &str {
        "objects"
    }
    fn aliases(&self) -> &[&str] {
        &["listobjects", "stats", "db"]
    }
    fn read_only(&self) -> bool {
        true
    }
    fn help(&self) -> &str {
        "objects [<N>]\n\n\
         How many objects the game has, by kind and by typeclass, and the N newest (10)."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let n: usize = match ctx.args.trim() {
            "" => 10,
            s => match s.parse() {
                Ok(n) if n <= 200 => n,
                _ => return ctx.msg("Usage: objects [<N>], N from 0 to 200."),
            },
        };
        let world = &ctx.server.world;
        // From the typeclass index: the work grows with the typeclasses,
        // not with the objects.
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_tc = Table::new(["typeclass", "kind", "count"]);
        by_tc.border(Border::Header).align(2, Align::Right);
        for (tc, count) in world.typeclass_counts() {
            let kind = world
                .of_typeclass(&tc)
                .first()
                .and_then(|id| world.get(*id))
                .map_or("?".to_string(), |o| format!("{:?}", o.kind).to_lowercase());
            *kinds.entry(kind.clone()).or_default() += count;
            by_tc.row([escape(&tc), kind, count.to_string()]);
        }
        let total = world.len();
        let mut by_kind = Table::new(["kind", "count", "%"]);
        by_kind
            .border(Border::Header)
            .align(1, Align::Right)
            .align(2, Align::Right);
        for (k, c) in &kinds {
            by_kind.row([
                k.clone(),
                c.to_string(),
                format!("{:.1}", *c as f64 * 100.0 / total.max(1) as f64),
            ]);
        }
        // The newest: the highest ids, found without sorting the world.
        let mut last = Table::new(["id", "name", "kind"]);
        last.border(Border::Header).align(0, Align::Right);
        let mut shown_n = 0;
        let mut id = world.max_id();
        let stop = id.saturating_sub(100_000);
        while shown_n < n && id > stop.max(0) {
            if let Some(o) = world.get(id) {
                last.row([
                    format!("#{id}"),
                    escape(&o.key),
                    format!("{:?}", o.kind).to_lowercase(),
                ]);
                shown_n += 1;
            }
            id -= 1;
        }
        let out = format!(
            "|wObjects in the game: {total}|n\n{}\n\n{}\n\n|wThe {shown_n} with the highest ids:|n\n{}",
            by_kind.render(),
            by_tc.render(),
            last.render()
        );
        ctx.msg_paged(out);
    }
}

/// `cmdsets`: the command sets merged for you, and what they make.
pub struct CmdSets;

impl Command for CmdSets {
    fn key(&self) -> &str {
        "cmdsets"
    }
    fn aliases(&self) -> &[&str] {
        &["listcmdsets"]
    }
    fn read_only(&self) -> bool {
        true
    }
    fn help(&self) -> &str {
        "cmdsets\n\nThe command sets merged for you right now (yours, your account's, \
         your session's, and those of your room and what is near), highest priority \
         first, and how many commands the merge gives you."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if !ctx.args.trim().is_empty() {
            return ctx.msg("Usage: cmdsets (it shows yours).");
        }
        let mut sets = ctx.server.cmdset_layers(ctx.sessid);
        sets.sort_by_key(|s| std::cmp::Reverse(s.priority));
        let mut t = Table::new(["cmdset", "priority", "merge", "commands"]);
        t.border(Border::Header)
            .align(1, Align::Right)
            .align(3, Align::Right);
        for s in &sets {
            t.row([
                escape(&s.key),
                s.priority.to_string(),
                format!("{:?}", s.merge_type),
                s.commands().len().to_string(),
            ]);
        }
        let merged = ctx.cmdset.commands().len();
        ctx.msg_paged(format!(
            "|wCommand sets merged for you:|n\n{}\nThe merge gives you {merged} commands.",
            t.render()
        ));
    }
}

/// `about`: what game server this is.
pub struct About;

impl Command for About {
    fn key(&self) -> &str {
        "about"
    }
    fn aliases(&self) -> &[&str] {
        &["version"]
    }
    fn read_only(&self) -> bool {
        true
    }
    fn help(&self) -> &str {
        "about\n\nWhat this game runs on."
    }
    fn help_category(&self) -> &str {
        "System"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let name = escape(&ctx.server.settings.game.name);
        ctx.msg(format!(
            "|w{name}|n runs on |cTavern {}|n, a MUD server framework in Rust \
             (portal and server processes, after Evennia).\n\
             OS: {} ({}). Objects: {}. Accounts: {}. Up since {}.",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH,
            ctx.server.world.len(),
            ctx.server.world.accounts.len(),
            crate::commands::minute_text(ctx.server.started)
        ));
    }
}
