//! Builder commands (permission Builder): `dig`, `open`, `create`, `desc`,
//! `set`, `examine`, `teleport`, `destroy`, `alias`, `lock`, `tag`,
//! `typeclass`, with Evennia's syntax.

use crate::commands::{CmdCtx, CmdSet, Command, comma_list};
use crate::model::locks::{LockSet, character_locks, default_locks};
use crate::model::world::{Kind, ObjId, Search, Tag, WORLD_ID};
use crate::runtime::create::NewObject;
use tavern_shared::markup::escape;

/// Adds the default building commands (for Builders).
pub fn add_all(set: &mut CmdSet) {
    set.add(Dig)
        .add(Open)
        .add(Create)
        .add(Desc)
        .add(SetAttr)
        .add(Examine)
        .add(Teleport)
        .add(Destroy)
        .add(Alias)
        .add(Lock)
        .add(TagCmd)
        .add(TypeclassCmd);
}

/// `name;alias;alias:typeclass` → parts.
pub(crate) struct NameSpec {
    pub name: String,
    pub aliases: Vec<String>,
    pub typeclass: Option<String>,
}

pub(crate) fn parse_name_spec(s: &str) -> NameSpec {
    let (names, typeclass) = match s.rsplit_once(':') {
        Some((n, t)) if !t.trim().is_empty() => (n, Some(t.trim().to_string())),
        _ => (s, None),
    };
    let mut parts = names.split(';').map(str::trim).filter(|p| !p.is_empty());
    let name = parts.next().unwrap_or("").to_string();
    NameSpec {
        name,
        aliases: parts.map(str::to_string).collect(),
        typeclass,
    }
}

/// Locks that let the creator control what they built (what the game's own
/// builder makes at first start has the kind's defaults, as code-built
/// objects do).
pub(crate) fn creator_locks(ctx: &CmdCtx<'_>) -> String {
    match ctx.caller() {
        Some(_) if ctx.server.building_world => String::new(),
        Some(me) => format!(
            "control:id({me}) or perm(Admin);delete:id({me}) or perm(Admin);edit:id({me}) or perm(Admin)"
        ),
        None => String::new(),
    }
}

/// Finds an object anywhere (builders reach the whole world), near first.
pub(crate) fn find_any(ctx: &mut CmdCtx<'_>, query: &str) -> Option<ObjId> {
    let near = Search::new(ctx.caller()).location().inventory();
    match near.one(&ctx.server.world, query) {
        Ok(id) => Some(id),
        Err(crate::model::world::SearchError::NotFound(_)) => {
            let s = Search::new(ctx.caller()).global();
            ctx.search_with(s, query)
        }
        Err(e) => {
            let msg = e.message(&ctx.server.world, ctx.caller());
            ctx.msg(msg);
            None
        }
    }
}

pub(crate) fn shown(ctx: &CmdCtx<'_>, id: ObjId) -> String {
    ctx.server
        .world
        .get(id)
        .map(|o| o.display_with_id())
        .unwrap_or_else(|| format!("#{id}"))
}

pub(crate) fn need_access(ctx: &mut CmdCtx<'_>, obj: ObjId, access: &str) -> bool {
    if ctx.access(obj, access, false) {
        return true;
    }
    ctx.msg(format!(
        "You don't have permission to do that to {}.",
        shown(ctx, obj)
    ));
    false
}

/// Creates an exit; reports it.
pub(crate) fn make_exit(
    ctx: &mut CmdCtx<'_>,
    spec: &NameSpec,
    from: ObjId,
    to: ObjId,
) -> Option<ObjId> {
    let mut n = NewObject::new(Kind::Exit, spec.name.clone())
        .aliases(spec.aliases.clone())
        .location(from)
        .destination(to)
        .locks(&creator_locks(ctx));
    if let Some(t) = &spec.typeclass {
        n = n.typeclass(t);
    }
    match ctx.server.create_object(n) {
        Ok(id) => {
            let aliases = if spec.aliases.is_empty() {
                String::new()
            } else {
                format!(" (aliases: {})", spec.aliases.join(", "))
            };
            let msg = format!(
                "Created Exit from {} to {}: {}{aliases}.",
                shown(ctx, from),
                shown(ctx, to),
                shown(ctx, id)
            );
            ctx.msg(msg);
            Some(id)
        }
        Err(e) => {
            ctx.msg(e);
            None
        }
    }
}

/// `dig <room>[;aliases] [= <exit to>, <exit back>]`: make a room, and exits to and from it.
pub struct Dig;

impl Command for Dig {
    fn key(&self) -> &str {
        "dig"
    }
    fn switches(&self) -> &[&str] {
        &["teleport"]
    }
    fn help(&self) -> &str {
        "dig[/teleport] <room>[;alias;...][:typeclass] [= <exit there>[;alias;...][, <exit back>[;alias;...]]]\n\n\
         Create a new room, optionally with an exit to it from here and one back. \
         With /teleport you go there."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let room = parse_name_spec(&ctx.lhs);
        if room.name.chars().count() > 80 {
            ctx.msg("A room's name is at most 80 characters; nothing was made.");
            return;
        }
        if room.name.is_empty() {
            ctx.msg("Usage: dig[/teleport] <roomname>[;alias;alias...][:typeclass] [= exit_to_there[;alias][:typeclass]] [, exit_to_here[;alias][:typeclass]]");
            return;
        }
        let mut spec = NewObject::new(Kind::Room, room.name.clone())
            .aliases(room.aliases.clone())
            .locks(&creator_locks(ctx));
        if let Some(t) = &room.typeclass {
            spec = spec.typeclass(t);
        }
        let new_room = match ctx.server.create_object(spec) {
            Ok(id) => id,
            Err(e) => {
                ctx.msg(e);
                return;
            }
        };
        let tc = ctx
            .server
            .world
            .get(new_room)
            .map(|o| o.typeclass.clone())
            .unwrap_or_default();
        let msg = format!("Created room {} of type {tc}.", shown(ctx, new_room));
        ctx.msg(msg);
        let exits = ctx.rhs_list();
        let here = ctx.location();
        if !exits.is_empty() {
            let Some(here) = here else {
                ctx.msg("You are nowhere: no exits were made.");
                return;
            };
            make_exit(ctx, &parse_name_spec(&exits[0]), here, new_room);
            if let Some(back) = exits.get(1) {
                make_exit(ctx, &parse_name_spec(back), new_room, here);
            }
        }
        if ctx.has_switch("teleport")
            && let Some(me) = ctx.caller()
        {
            let _ = ctx.server.move_obj(me, Some(new_room), false);
        }
    }
}

/// `open <exit>[;aliases] = <destination>`: make an exit from here.
pub struct Open;

impl Command for Open {
    fn key(&self) -> &str {
        "open"
    }
    fn help(&self) -> &str {
        "open <exit>[;alias;...][:typeclass] [, <exit back>[;alias;...]] = <destination>\n\n\
         Create an exit from here to a room (and optionally one back)."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let names = ctx.lhs_list();
        let (Some(first), Some(dest)) = (names.first().cloned(), ctx.rhs.clone()) else {
            ctx.msg("Usage: open <new exit>[;alias...][:typeclass][,<return exit>[;alias..][:typeclass]]] = <destination>");
            return;
        };
        let Some(here) = ctx.location() else {
            ctx.msg("You cannot create an exit from nowhere.");
            return;
        };
        let Some(dest) = find_any(ctx, &dest) else {
            return;
        };
        if ctx
            .server
            .world
            .get(dest)
            .is_some_and(|d| d.kind == Kind::Exit)
        {
            ctx.msg("An exit cannot lead to another exit.");
            return;
        }
        make_exit(ctx, &parse_name_spec(&first), here, dest);
        if let Some(back) = names.get(1) {
            make_exit(ctx, &parse_name_spec(back), dest, here);
        }
    }
}

/// `create <name>[;aliases][:typeclass]`: make a thing, in your hands.
pub struct Create;

impl Command for Create {
    fn key(&self) -> &str {
        "create"
    }
    fn switches(&self) -> &[&str] {
        &["drop"]
    }
    fn help(&self) -> &str {
        "create[/drop] <name>[;alias;...][:typeclass][, <name> ...]\n\n\
         Create objects; you hold them (with /drop they are put down here)."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = super::general::need_caller(ctx) else {
            return;
        };
        let names = comma_list(&ctx.args);
        if names.is_empty() {
            ctx.msg("Usage: create[/drop] <objname>[;alias;alias...][:typeclass], <objname>...");
            return;
        }
        let at = if ctx.has_switch("drop") {
            ctx.location().unwrap_or(me)
        } else {
            me
        };
        for n in names {
            let spec = parse_name_spec(&n);
            let mut new = NewObject::new(Kind::Thing, spec.name.clone())
                .aliases(spec.aliases)
                .location(at)
                .home(at)
                .locks(&creator_locks(ctx));
            if let Some(t) = &spec.typeclass {
                new = new.typeclass(t);
            }
            match ctx.server.create_object(new) {
                Ok(id) => {
                    let tc = ctx
                        .server
                        .world
                        .get(id)
                        .map(|o| o.typeclass.clone())
                        .unwrap_or_default();
                    let msg = format!("You create a new {tc}: {}.", shown(ctx, id));
                    ctx.msg(msg);
                }
                Err(e) => ctx.msg(e),
            }
        }
    }
}

/// `desc [<object> =] <description>`: describe something (or the room).
pub struct Desc;

impl Command for Desc {
    fn key(&self) -> &str {
        "desc"
    }
    fn aliases(&self) -> &[&str] {
        &["describe"]
    }
    fn help(&self) -> &str {
        "desc [<object> =] <description>\ndesc/edit [<object>]\n\nDescribe an object (without a \
         name: the room you are in). /edit opens the line editor on its description, for \
         several lines (:h in the editor for its commands)."
    }
    fn switches(&self) -> &[&str] {
        &["edit"]
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        const USAGE: &str = "Usage: desc [<obj> =] <description>, or desc/edit [<obj>]";
        if ctx.has_switch("edit") {
            let target = if ctx.args.is_empty() {
                match ctx.location() {
                    Some(h) => h,
                    None => return ctx.msg(USAGE),
                }
            } else {
                match find_any(ctx, &ctx.args.clone()) {
                    Some(t) => t,
                    None => return,
                }
            };
            if !need_access(ctx, target, "edit") {
                return;
            }
            let Some(o) = ctx.server.world.get(target) else {
                return;
            };
            let (title, desc) = (
                format!("description of {}", o.display_with_id()),
                o.desc.clone(),
            );
            ctx.edit(
                &title,
                &desc,
                crate::runtime::editor::EditTarget::Desc(target),
            );
            return;
        }
        if ctx.args.is_empty() {
            // Bare: nothing to set, and nothing wiped.
            ctx.msg(USAGE);
            return;
        }
        let (target, text) = match ctx.rhs.clone() {
            Some(text) if ctx.lhs.is_empty() => match ctx.location() {
                Some(here) => (here, text),
                None => return ctx.msg(USAGE),
            },
            Some(text) => match find_any(ctx, &ctx.lhs.clone()) {
                Some(t) => (t, text),
                None => return,
            },
            None => match ctx.location() {
                Some(here) => (here, ctx.args.clone()),
                None => return ctx.msg(USAGE),
            },
        };
        if !need_access(ctx, target, "edit") {
            return;
        }
        let cleared = text.is_empty();
        ctx.server.world.update(target, |o| o.desc = text);
        let msg = if cleared {
            // Only an explicit `desc <obj> =` clears.
            format!("The description of {} was cleared.", shown(ctx, target))
        } else {
            format!("The description was set on {}.", shown(ctx, target))
        };
        ctx.msg(msg);
    }
}

/// A value as typed: JSON when it parses (numbers, lists, "quoted"), else text.
pub(crate) fn parse_value(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.to_string()))
}

/// `set <object>/<attribute> [= <value>]`: set, show or (empty value) delete an attribute.
pub struct SetAttr;

impl Command for SetAttr {
    fn key(&self) -> &str {
        "set"
    }
    fn help(&self) -> &str {
        "set <object>/<attribute> [= <value>]\nset <object>\n\n\
         Show, create, change or (with an empty value) delete a persistent attribute. \
         Values are JSON when they parse as JSON (12, [1, 2], {\"a\": 1}, \"text\", true), else text."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let lhs = ctx.lhs.clone();
        let (objname, attr) = match lhs.split_once('/') {
            Some((o, a)) => (o.trim().to_string(), Some(a.trim().to_string())),
            None => (lhs.clone(), None),
        };
        if objname.is_empty() {
            ctx.msg("Usage: set <obj>/<attr> [= <value>]");
            return;
        }
        let Some(obj) = find_any(ctx, &objname) else {
            return;
        };
        let name = shown(ctx, obj);
        let Some(attr) = attr.filter(|a| !a.is_empty()) else {
            if ctx.rhs.is_some() {
                ctx.msg(format!(
                    "Which attribute? Name it: set {}/<attr> = <value>. Nothing was changed.",
                    escape(&objname)
                ));
                return;
            }
            let o = ctx.server.world.get(obj).expect("found");
            let mut out = format!("Persistent attributes of {name}:");
            if o.db.is_empty() {
                out.push_str(" none");
            }
            for (k, v) in &o.db {
                out.push_str(&format!("\n {} = {v}", escape(k)));
            }
            ctx.msg(out);
            return;
        };
        if attr.len() > 100 {
            ctx.msg("That attribute name is too long.");
            return;
        }
        // The name as typed: markup in it is shown, not obeyed.
        let attr_shown = escape(&attr);
        match ctx.rhs.clone() {
            None => {
                let v = ctx
                    .server
                    .world
                    .get(obj)
                    .and_then(|o| o.db.get(&attr).cloned());
                match v {
                    Some(v) => ctx.msg(format!("Attribute {name}/{attr_shown} = {v}")),
                    None => ctx.msg(format!("{name} has no attribute '{attr_shown}'.")),
                }
            }
            Some(value) => {
                if !need_access(ctx, obj, "edit") {
                    return;
                }
                if value.is_empty() {
                    if ctx.server.world.del_attr(obj, &attr).is_some() {
                        ctx.msg(format!("Deleted attribute {name}/{attr_shown}."));
                    } else {
                        ctx.msg(format!("{name} has no attribute '{attr_shown}'."));
                    }
                    return;
                }
                let v = parse_value(&value);
                let existed = ctx
                    .server
                    .world
                    .get(obj)
                    .is_some_and(|o| o.db.get(&attr).is_some());
                ctx.server.world.set_attr(obj, &attr, &v);
                let verb = if existed { "Modified" } else { "Created" };
                ctx.msg(format!("{verb} attribute {name}/{attr_shown} = {v}"));
            }
        }
    }
}

/// `examine [<object>]`: everything about an object, for builders.
pub struct Examine;

impl Command for Examine {
    fn key(&self) -> &str {
        "examine"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn aliases(&self) -> &[&str] {
        &["ex", "exam"]
    }
    fn help(&self) -> &str {
        "examine [<object> | *<account>]\n\nShow everything about an object (or an account)."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if let Some(name) = ctx.args.strip_prefix('*') {
            let name = name.trim();
            let Some(a) = ctx
                .server
                .world
                .account_named(name)
                .and_then(|id| ctx.server.world.accounts.get(&id))
            else {
                ctx.msg(format!("Could not find an account named '{name}'."));
                return;
            };
            // Never the password hash: the server does not even hold it.
            let mut out = format!("|wName/key|n: |c{}|n (account #{})", a.name, a.id);
            out.push_str(&format!("\n|wSuperuser|n: {}", a.is_superuser));
            out.push_str(&format!("\n|wPermissions|n: {}", a.permissions.join(", ")));
            let id = a.id;
            let attrs: Vec<String> =
                a.db.iter()
                    .map(|(k, v)| format!(" {} = {v}", escape(k)))
                    .collect();
            let chars: Vec<String> = ctx
                .server
                .world
                .characters_of(id)
                .iter()
                .map(|&c| shown(ctx, c))
                .collect();
            out.push_str(&format!("\n|wCharacters|n: {}", chars.join(", ")));
            let sessions: Vec<String> = ctx
                .server
                .sessions
                .of_account(id)
                .iter()
                .map(|s| s.to_string())
                .collect();
            out.push_str(&format!("\n|wSessions|n: {}", sessions.join(", ")));
            if !attrs.is_empty() {
                out.push_str(&format!(
                    "\n|wPersistent attributes|n:\n{}",
                    attrs.join("\n")
                ));
            }
            ctx.msg_paged(out);
            return;
        }
        let target = if ctx.args.is_empty() {
            match ctx.location() {
                Some(h) => h,
                None => return,
            }
        } else {
            match find_any(ctx, &ctx.args.clone()) {
                Some(t) => t,
                None => return,
            }
        };
        if !need_access(ctx, target, "examine") {
            return;
        }
        let text = examine_text(ctx, target);
        ctx.msg_paged(text);
    }
}

fn examine_text(ctx: &CmdCtx<'_>, target: ObjId) -> String {
    let w = &ctx.server.world;
    let o = w.get(target).expect("found");
    let opt = |id: Option<ObjId>| id.map(|i| shown(ctx, i)).unwrap_or_else(|| "None".into());
    let mut out = format!("|wName/key|n: |c{}|n (#{})", o.key, o.id);
    if !o.aliases.is_empty() {
        out.push_str(&format!("\n|wAliases|n: {}", o.aliases.join(", ")));
    }
    let tc = ctx.server.typeclass_of(target);
    let tc_note = if tc.name().eq_ignore_ascii_case(&o.typeclass) {
        String::new()
    } else {
        format!(" (not registered: behaves as {})", tc.name())
    };
    out.push_str(&format!(
        "\n|wTypeclass|n: {} ({}){tc_note}",
        o.typeclass,
        o.kind.as_str()
    ));
    if let Some(a) = o.account.and_then(|a| w.accounts.get(&a)) {
        out.push_str(&format!("\n|wAccount|n: {}", a.name));
    }
    let sessions = ctx.server.sessions.puppeting(target);
    if !sessions.is_empty() {
        let s: Vec<String> = sessions.iter().map(|s| s.to_string()).collect();
        out.push_str(&format!("\n|wSessions|n: {}", s.join(", ")));
    }
    out.push_str(&format!("\n|wLocation|n: {}", opt(o.location)));
    out.push_str(&format!("\n|wHome|n: {}", opt(o.home)));
    if o.kind == Kind::Exit || o.destination.is_some() {
        out.push_str(&format!("\n|wDestination|n: {}", opt(o.destination)));
    }
    if !o.permissions.is_empty() {
        out.push_str(&format!("\n|wPermissions|n: {}", o.permissions.join(", ")));
    }
    out.push_str("\n|wLocks|n:");
    for l in o.locks.iter() {
        out.push_str(&format!("\n {}:{}", l.access_type, l.source));
    }
    if !o.tags.is_empty() {
        let t: Vec<String> = o.tags.iter().map(Tag::to_string).collect();
        out.push_str(&format!("\n|wTags|n: {}", t.join(", ")));
    }
    if !o.cmdsets.is_empty() {
        out.push_str(&format!("\n|wStored cmdsets|n: {}", o.cmdsets.join(", ")));
    }
    if !o.db.is_empty() {
        out.push_str("\n|wPersistent attributes|n:");
        for (k, v) in &o.db {
            out.push_str(&format!("\n {} = {v}", escape(k)));
        }
    }
    if !o.ndb.is_empty() {
        out.push_str("\n|wNon-Persistent attributes|n:");
        for (k, v) in &o.ndb {
            out.push_str(&format!("\n {} = {v}", escape(k)));
        }
    }
    let contents = w.contents(target);
    let by_kind = |k: &dyn Fn(Kind) -> bool| -> Vec<String> {
        contents
            .iter()
            .filter_map(|&c| w.get(c))
            .filter(|c| k(c.kind))
            .map(|c| c.display_with_id())
            .collect()
    };
    for (label, list) in [
        ("Exits", by_kind(&|k| k == Kind::Exit)),
        ("Characters", by_kind(&|k| k == Kind::Character)),
        (
            "Contents",
            by_kind(&|k| k == Kind::Thing || k == Kind::Room),
        ),
    ] {
        if !list.is_empty() {
            out.push_str(&format!("\n|w{label}|n: {}", list.join(", ")));
        }
    }
    out
}

/// `teleport [<object> =] <destination>`: move something (or yourself) anywhere.
pub struct Teleport;

impl Command for Teleport {
    fn key(&self) -> &str {
        "teleport"
    }
    fn switches(&self) -> &[&str] {
        &["quiet"]
    }
    fn aliases(&self) -> &[&str] {
        &["tel"]
    }
    fn help(&self) -> &str {
        "teleport[/quiet] [<object> =] <destination>\n\nMove yourself or an object anywhere, at once."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = super::general::need_caller(ctx) else {
            return;
        };
        let (obj, dest) = match ctx.rhs.clone() {
            Some(d) => match find_any(ctx, &ctx.lhs.clone()) {
                Some(o) => (o, d),
                None => return,
            },
            None => (me, ctx.args.clone()),
        };
        if dest.is_empty() {
            ctx.msg("Usage: teleport[/quiet] [<obj> =] <target location>");
            return;
        }
        let Some(dest) = find_any(ctx, &dest) else {
            return;
        };
        if obj == dest {
            ctx.msg("You can't teleport an object inside of itself!");
            return;
        }
        if obj != me && !need_access(ctx, obj, "teleport") {
            return;
        }
        if !ctx.access(dest, "teleport_here", true) {
            ctx.msg(format!(
                "You cannot teleport things to {}.",
                shown(ctx, dest)
            ));
            return;
        }
        if ctx.server.world.get(obj).and_then(|o| o.location) == Some(dest) {
            ctx.msg(format!(
                "{} is already at {}.",
                shown(ctx, obj),
                shown(ctx, dest)
            ));
            return;
        }
        let quiet = ctx.has_switch("quiet");
        if ctx.server.move_obj(obj, Some(dest), quiet).is_ok() {
            let msg = format!("Teleported {} -> {}.", shown(ctx, obj), shown(ctx, dest));
            ctx.msg(msg);
        } else {
            ctx.msg("The move was refused.");
        }
    }
}

/// `destroy <object>`: delete an object for good.
pub struct Destroy;

impl Command for Destroy {
    fn key(&self) -> &str {
        "destroy"
    }
    fn aliases(&self) -> &[&str] {
        &["delete", "del"]
    }
    fn help(&self) -> &str {
        "destroy <object>[, <object> ...]\n\nDestroy objects for good. What they held goes to its home; \
         exits leading to a destroyed room go too."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let names = comma_list(&ctx.args);
        if names.is_empty() {
            ctx.msg("Usage: destroy <obj>[, <obj> ...]");
            return;
        }
        for n in names {
            let Some(obj) = find_any(ctx, &n) else {
                continue;
            };
            if Some(obj) == ctx.caller() {
                ctx.msg("You can't destroy yourself.");
                continue;
            }
            if obj == ctx.server.world.start_room {
                ctx.msg("The start room cannot be destroyed.");
                continue;
            }
            if !ctx.access(obj, "control", false) && !ctx.access(obj, "delete", false) {
                ctx.msg(format!(
                    "You don't have permission to delete {}.",
                    shown(ctx, obj)
                ));
                continue;
            }
            let name = shown(ctx, obj);
            let built_as = ctx
                .server
                .world
                .get(obj)
                .and_then(|o| o.world_id().map(str::to_string));
            match ctx.server.destroy_object(obj) {
                Ok(()) => match built_as {
                    Some(w) => ctx.msg(format!(
                        "{name} was destroyed. The game's code built it (world id '{w}'); \
                         it stays destroyed and is not built again."
                    )),
                    None => ctx.msg(format!("{name} was destroyed.")),
                },
                Err(e) => ctx.msg(e),
            }
        }
    }
}

/// `alias <object> [= <alias>, ...]`: show or set an object's aliases.
pub struct Alias;

impl Command for Alias {
    fn key(&self) -> &str {
        "alias"
    }
    fn switches(&self) -> &[&str] {
        &["delete"]
    }
    fn aliases(&self) -> &[&str] {
        &["setobjalias"]
    }
    fn help(&self) -> &str {
        "alias <object> [= <alias>[, <alias> ...]]\nalias <object> =\nalias/delete <object>\n\n\
         List or add the other names an object answers to; with nothing after \
         the = (or /delete), clear them."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.lhs.is_empty() {
            ctx.msg("Usage: alias <obj> [= alias[,alias,alias,...]]");
            return;
        }
        let Some(obj) = find_any(ctx, &ctx.lhs.clone()) else {
            return;
        };
        let name = shown(ctx, obj);
        if ctx.has_switch("delete") {
            if !need_access(ctx, obj, "edit") {
                return;
            }
            ctx.server.world.update(obj, |o| o.aliases.clear());
            ctx.msg(format!("Cleared aliases from {name}."));
            return;
        }
        let Some(_) = ctx.rhs else {
            let a = ctx
                .server
                .world
                .get(obj)
                .map(|o| o.aliases.clone())
                .unwrap_or_default();
            if a.is_empty() {
                ctx.msg(format!("No aliases exist for '{name}'."));
            } else {
                ctx.msg(format!("Aliases for {name}: '{}'", escape(&a.join("', '"))));
            }
            return;
        };
        if !need_access(ctx, obj, "edit") {
            return;
        }
        let mut aliases = ctx.rhs_list();
        if aliases.is_empty() {
            // `alias <obj> =`: Evennia's way to clear them.
            ctx.server.world.update(obj, |o| o.aliases.clear());
            ctx.msg(format!("Cleared aliases from {name}."));
            return;
        }
        aliases.truncate(20);
        ctx.server.world.update(obj, |o| {
            for a in aliases.iter() {
                if !o.aliases.iter().any(|x| x.eq_ignore_ascii_case(a)) {
                    o.aliases.push(a.clone());
                }
            }
        });
        let all = ctx
            .server
            .world
            .get(obj)
            .map(|o| o.aliases.join(", "))
            .unwrap_or_default();
        ctx.msg(format!("Alias(es) for '{name}' set to '{}'.", escape(&all)));
    }
}

/// `lock <object> [= <lockstring>]`: show or change an object's locks.
pub struct Lock;

impl Command for Lock {
    fn key(&self) -> &str {
        "lock"
    }
    fn switches(&self) -> &[&str] {
        &["del"]
    }
    fn aliases(&self) -> &[&str] {
        &["locks"]
    }
    fn help(&self) -> &str {
        "lock <object>[ = <lockstring>]\nlock[/del] <object>/<access type>\n\n\
         List, add or delete locks. A lock string is 'type:expression;type:expression', \
         for example 'get:perm(Builder) or id(12)'. Functions: all(), none(), perm(), \
         perm_above(), pperm(), id(), pid(), attr(), attr_gt(), tag(), objtag(), holds(), \
         self(), inside(), superuser(), plus any the game adds; combine with and, or, not."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let lhs = ctx.lhs.clone();
        let (objname, access) = match lhs.split_once('/') {
            Some((o, a)) => (o.trim().to_string(), Some(a.trim().to_lowercase())),
            None => (lhs.clone(), None),
        };
        if objname.is_empty() {
            ctx.msg("Usage: lock <object>[ = <lockstring>] or lock[/del] <object>/<access_type>");
            return;
        }
        let Some(obj) = find_any(ctx, &objname) else {
            return;
        };
        let name = shown(ctx, obj);
        if let Some(rhs) = ctx.rhs.clone() {
            if !need_access(ctx, obj, "control") {
                return;
            }
            if let Err(e) = LockSet::parse(&rhs) {
                ctx.msg(format!("Lock not added: {e}"));
                return;
            }
            ctx.server.world.update(obj, |o| {
                let _ = o.locks.add(&rhs);
            });
            ctx.msg(format!("Added lock '{rhs}' to {name}."));
            return;
        }
        match access {
            Some(a) if ctx.has_switch("del") => {
                if !need_access(ctx, obj, "control") {
                    return;
                }
                let mut removed = false;
                ctx.server
                    .world
                    .update(obj, |o| removed = o.locks.remove(&a));
                if removed {
                    ctx.msg(format!("Deleted lock '{}' from {name}.", escape(&a)));
                } else {
                    ctx.msg(format!("{name} has no '{}' lock.", escape(&a)));
                }
            }
            Some(a) => {
                let l = ctx.server.world.get(obj).and_then(|o| {
                    o.locks
                        .get(&a)
                        .map(|l| format!("{}:{}", l.access_type, l.source))
                });
                match l {
                    Some(l) => ctx.msg(l),
                    None => ctx.msg(format!("{name} has no '{}' lock.", escape(&a))),
                }
            }
            None => {
                let o = ctx.server.world.get(obj).expect("found");
                let mut out = format!("Locks on {name}:");
                for l in o.locks.iter() {
                    out.push_str(&format!("\n {}:{}", l.access_type, l.source));
                }
                ctx.msg(out);
            }
        }
    }
}

/// `tag[/del|/search] <object> [= <tag>[:<category>]]`: list, add, remove or search tags.
pub struct TagCmd;

/// Objects `tag/search` names; past it, how many more.
const TAG_SEARCH_SHOWN: usize = 50;

impl Command for TagCmd {
    fn key(&self) -> &str {
        "tag"
    }
    fn switches(&self) -> &[&str] {
        &["del", "search"]
    }
    fn aliases(&self) -> &[&str] {
        &["tags"]
    }
    fn help(&self) -> &str {
        "tag <object> [= <tag>[:<category>]]\ntag/del <object> = <tag>[:<category>]\n\
         tag/search <tag>[:<category>]\n\nList, add, remove or search tags. A search names the \
         first 50 objects with the tag and counts the rest."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let split_tag = |s: &str| -> Tag {
            match s.split_once(':') {
                Some((k, c)) => Tag::new(k, Some(c)),
                None => Tag::new(s, None),
            }
        };
        if ctx.has_switch("search") {
            let t = split_tag(&ctx.args);
            if t.key.is_empty() {
                ctx.msg("Usage: tag/search <tag>[:<category>]");
                return;
            }
            let found = ctx.server.world.tagged(&t.key, t.category.as_deref());
            if found.is_empty() {
                ctx.msg(format!(
                    "No objects found with tag '{}'.",
                    escape(&t.to_string())
                ));
                return;
            }
            let names: Vec<String> = found
                .iter()
                .take(TAG_SEARCH_SHOWN)
                .map(|&i| shown(ctx, i))
                .collect();
            // A tag a big world gives thousands of objects is not thousands
            // of names on one line.
            let more = match found.len().saturating_sub(TAG_SEARCH_SHOWN) {
                0 => String::new(),
                n => format!(", and {n} more"),
            };
            ctx.msg(format!(
                "Found {} object(s) with tag '{}': {}{more}",
                found.len(),
                escape(&t.to_string()),
                names.join(", ")
            ));
            return;
        }
        if ctx.lhs.is_empty() {
            ctx.msg("Usage: tag[/del] <obj> [= <tag>[:<category>]]");
            return;
        }
        let Some(obj) = find_any(ctx, &ctx.lhs.clone()) else {
            return;
        };
        let name = shown(ctx, obj);
        let Some(rhs) = ctx.rhs.clone().filter(|r| !r.is_empty()) else {
            let tags = ctx
                .server
                .world
                .get(obj)
                .map(|o| o.tags.clone())
                .unwrap_or_default();
            if tags.is_empty() {
                ctx.msg(format!("No tags attached to {name}."));
            } else {
                let t: Vec<String> = tags.iter().map(|t| format!("'{t}'")).collect();
                ctx.msg(format!("Tags on {name}: {}", t.join(", ")));
            }
            return;
        };
        if !need_access(ctx, obj, "edit") {
            return;
        }
        let tag = split_tag(&rhs);
        if tag.key.is_empty() || tag.key.len() > 100 {
            ctx.msg("That is not a usable tag.");
            return;
        }
        if tag.category.as_deref() == Some(WORLD_ID) && !ctx.server.building_world {
            ctx.msg(format!(
                "Tags in the category {WORLD_ID} tie an object to the game code that builds it: \
                 they are not added or removed with tag."
            ));
            return;
        }
        if ctx.has_switch("del") {
            let mut had = false;
            ctx.server.world.update(obj, |o| {
                let before = o.tags.len();
                o.tags.retain(|t| {
                    t.category.as_deref() == Some(WORLD_ID)
                        || !(t.key == tag.key
                            && (tag.category.is_none() || t.category == tag.category))
                });
                had = o.tags.len() != before;
            });
            if had {
                ctx.msg(format!(
                    "Removed tag '{}' from {name}.",
                    escape(&tag.to_string())
                ));
            } else {
                ctx.msg(format!("{name} has no tag '{}'.", escape(&tag.to_string())));
            }
        } else {
            ctx.server.world.update(obj, |o| {
                if !o.tags.contains(&tag) {
                    o.tags.push(tag.clone());
                }
            });
            ctx.msg(format!(
                "Added tag '{}' to {name}.",
                escape(&tag.to_string())
            ));
        }
    }
}

/// `typeclass <object> [= <typeclass>]`: show or change what kind of object it is.
pub struct TypeclassCmd;

impl Command for TypeclassCmd {
    fn key(&self) -> &str {
        "typeclass"
    }
    fn switches(&self) -> &[&str] {
        &["list", "reset"]
    }
    fn aliases(&self) -> &[&str] {
        &["type", "swap"]
    }
    fn help(&self) -> &str {
        "typeclass <object> [= <typeclass>]\ntypeclass/reset <object> = <typeclass>\ntypeclass/list\n\n\
         Show or change what kind of object something is. With /reset its attributes are \
         cleared and its at_object_creation hook runs again."
    }
    builder_command!();
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.has_switch("list") {
            let list: Vec<String> = ctx
                .server
                .game
                .typeclasses
                .list()
                .into_iter()
                .map(|(n, k)| format!(" {n} ({})", k.as_str()))
                .collect();
            ctx.msg(format!("|wTypeclasses:|n\n{}", list.join("\n")));
            return;
        }
        if ctx.lhs.is_empty() {
            ctx.msg("Usage: typeclass[/reset] <object> [= typeclass]");
            return;
        }
        let Some(obj) = find_any(ctx, &ctx.lhs.clone()) else {
            return;
        };
        let name = shown(ctx, obj);
        let Some(new) = ctx.rhs.clone() else {
            let o = ctx.server.world.get(obj).expect("found");
            ctx.msg(format!(
                "{name} has typeclass {} ({}).",
                o.typeclass,
                o.kind.as_str()
            ));
            return;
        };
        if !need_access(ctx, obj, "edit") {
            return;
        }
        let Some(tc) = ctx.server.game.typeclasses.get(&new) else {
            ctx.msg(format!(
                "No typeclass named '{}'. See typeclass/list.",
                escape(&new)
            ));
            return;
        };
        let old = ctx
            .server
            .world
            .get(obj)
            .map(|o| o.typeclass.clone())
            .unwrap_or_default();
        let (tc_name, kind) = (tc.name().to_string(), tc.kind());
        let Some(o) = ctx.server.world.get(obj) else {
            return;
        };
        let (old_kind, account) = (o.kind, o.account);
        // Another kind of object (a room made a character, say) is another
        // thing altogether: it takes `control`, not only `edit`; a room
        // anyone is in stays a room; and the locks become the new kind's.
        let new_locks = if kind != old_kind {
            if !ctx.access(obj, "control", false) {
                ctx.msg(format!(
                    "You may change {name} only to another {} (changing its kind takes control of it).",
                    old_kind.as_str()
                ));
                return;
            }
            if old_kind == Kind::Room
                && ctx.server.world.contents(obj).iter().any(|&c| {
                    ctx.server
                        .world
                        .get(c)
                        .is_some_and(|c| c.kind == Kind::Character)
                })
            {
                ctx.msg(format!(
                    "{name} has characters in it: a room with people in it stays a room."
                ));
                return;
            }
            let mut locks = match kind {
                Kind::Character => character_locks(obj, account.unwrap_or(0)),
                k => default_locks(k),
            };
            if let Err(e) = locks.add(tc.locks()) {
                ctx.msg(format!("The typeclass {tc_name} has bad locks: {e}"));
                return;
            }
            Some(locks)
        } else {
            None
        };
        let reset = ctx.has_switch("reset");
        ctx.server.world.update(obj, |o| {
            o.typeclass = tc_name.clone();
            o.kind = kind;
            if let Some(l) = new_locks {
                o.locks = l;
            }
            if reset {
                o.db.clear();
                o.cmdsets.clear();
            }
        });
        if reset {
            ctx.server.hook(obj, "at_object_creation", (), |tc, s| {
                tc.at_object_creation(s, obj)
            });
        }
        ctx.msg(format!("{name} changed typeclass from {old} to {tc_name}."));
    }
}
