//! `spawn` (Evennia's, for Builders): make objects from prototypes, and
//! list, show, save, delete and re-apply prototypes.

use tavern_shared::markup::escape;
use tavern_shared::text::{Border, Table};

use crate::commands::default::building::shown;
use crate::commands::{CmdCtx, CmdSet, Command};
use crate::model::locks::LockSet;
use crate::model::prototypes::Prototype;

/// Adds `spawn`.
pub fn add_all(set: &mut CmdSet) {
    set.add(Spawn);
}

const HELP: &str = "spawn[/switch] <prototype key or {prototype}>

Make an object from a prototype: in the room (with /noloc, in your hands).

  spawn goblin                       from a prototype, by key
  spawn { prototype_key = \"rock\", key = \"rock\", desc = \"Grey.\" }
                                     from a prototype written here (not saved)
  spawn/list [<tag>]                 the prototypes (with a tag: only those)
  spawn/show <key>                   one, with what it inherits
  spawn/save { prototype_key = \"rock\", prototype_parent = \"stone\", key = \"rock\" }
                                     save a prototype (it asks before replacing one)
  spawn/delete <key>                 delete a saved prototype (asks first)
  spawn/update <key>                 apply a changed prototype to every object made
                                     from it that nobody changed by hand (asks first)

Prototype fields: prototype_key, prototype_parent (one or a list), prototype_desc,
prototype_tags, prototype_locks (spawn, edit), typeclass, key, aliases, desc,
attrs, tags (\"name\" or \"name:category\"), locks, home, location, destination
(\"#id\"). Values may be computed when spawning: \"$randint(1, 6)\", \"$choice(a, b)\".";

/// `spawn`: see [`HELP`].
pub struct Spawn;

fn may(ctx: &CmdCtx<'_>, p: &Prototype, access: &str) -> bool {
    let Ok(locks) = LockSet::parse(&p.prototype_locks) else {
        return false;
    };
    ctx.server
        .check_lock(&locks, ctx.accessor(), None, access, true)
}

impl Command for Spawn {
    fn key(&self) -> &str {
        "spawn"
    }
    fn aliases(&self) -> &[&str] {
        &["olc"]
    }
    fn switches(&self) -> &[&str] {
        &["noloc", "list", "show", "save", "delete", "update"]
    }
    fn locks(&self) -> &str {
        "cmd:perm(Builder)"
    }
    fn help_category(&self) -> &str {
        "Building"
    }
    fn help(&self) -> &str {
        HELP
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let args = ctx.args.trim().to_string();
        if ctx.has_switch("list") {
            return list(ctx, &args);
        }
        if args.is_empty() {
            return ctx.msg("Usage: spawn <prototype-key> or {prototype}; spawn/list shows them.");
        }
        if ctx.has_switch("show") {
            return show(ctx, &args);
        }
        if ctx.has_switch("save") {
            return save(ctx, &args);
        }
        if ctx.has_switch("delete") {
            return delete(ctx, &args);
        }
        if ctx.has_switch("update") {
            return update(ctx, &args);
        }
        let location = if ctx.has_switch("noloc") {
            ctx.caller()
        } else {
            ctx.location().or(ctx.caller())
        };
        let mine = crate::commands::default::building::creator_locks(ctx);
        let made = if args.starts_with('{') {
            match Prototype::parse_one(&args) {
                Ok(p) => ctx.server.spawn_prototype(&p, location, &mine),
                Err(e) => return ctx.msg(format!("{e}. Nothing was made.")),
            }
        } else {
            let all = ctx.server.prototypes();
            match all.get(&args) {
                Some(p) if !may(ctx, p, "spawn") => {
                    return ctx.msg(format!("You may not spawn '{}'.", escape(&p.prototype_key)));
                }
                _ => ctx.server.spawn_with_locks(&args, location, &mine),
            }
        };
        match made {
            Ok(id) => {
                let msg = format!("Spawned {}.", shown(ctx, id));
                ctx.msg(msg);
            }
            Err(e) => ctx.msg(format!("{}. Nothing was made.", escape(&e.to_string()))),
        }
    }
}

fn list(ctx: &mut CmdCtx<'_>, tag: &str) {
    let all = ctx.server.prototypes();
    let tag = tag.to_lowercase();
    let mut t = Table::new(["key", "from", "tags", "description"]);
    t.border(Border::Header);
    let mut n = 0;
    for key in all.keys() {
        let Some(p) = all.get(key) else { continue };
        if !tag.is_empty() && !p.prototype_tags.iter().any(|x| x.to_lowercase() == tag) {
            continue;
        }
        if !may(ctx, p, "spawn") {
            continue;
        }
        n += 1;
        t.row([
            escape(key),
            escape(all.source(key).unwrap_or("")),
            escape(&p.prototype_tags.join(", ")),
            escape(&p.prototype_desc),
        ]);
    }
    if n == 0 {
        return ctx.msg(if tag.is_empty() {
            "There are no prototypes you may spawn.".to_string()
        } else {
            format!("No prototype you may spawn has the tag '{}'.", escape(&tag))
        });
    }
    t.max_width(ctx.screen_width());
    ctx.msg_paged(format!("|wPrototypes ({n}):|n\n{}", t.render()));
}

fn show(ctx: &mut CmdCtx<'_>, key: &str) {
    let all = ctx.server.prototypes();
    let Some(raw) = all.get(key).cloned() else {
        return ctx.msg(format!("There is no prototype '{}'.", escape(key)));
    };
    let text = match all.resolve(key) {
        Ok(full) => {
            let toml = toml::to_string_pretty(&full).unwrap_or_default();
            format!(
                "|wPrototype {}|n (from {}{})\n{}",
                escape(&raw.prototype_key),
                escape(all.source(key).unwrap_or("")),
                if raw.prototype_parent.is_empty() {
                    String::new()
                } else {
                    format!("; inherits {}", escape(&raw.prototype_parent.join(", ")))
                },
                escape(&toml)
            )
        }
        Err(e) => escape(&e.to_string()),
    };
    ctx.msg_paged(text);
}

fn save(ctx: &mut CmdCtx<'_>, text: &str) {
    let p = match Prototype::parse_one(text) {
        Ok(p) => p,
        Err(e) => return ctx.msg(format!("{}. Nothing was saved.", escape(&e.to_string()))),
    };
    let mut p = p;
    let all = ctx.server.prototypes();
    if let Err(e) = all.resolve_new(&p) {
        return ctx.msg(format!("{}. Nothing was saved.", escape(&e.to_string())));
    }
    if let Some(tc) = &p.typeclass
        && ctx.server.game.typeclasses.get(tc).is_none()
    {
        return ctx.msg(format!(
            "prototype '{}': typeclass '{}' does not exist. Nothing was saved.",
            escape(&p.prototype_key),
            escape(tc)
        ));
    }
    let existing = all.get(&p.prototype_key).cloned();
    if let Some(old) = &existing {
        if all.source(&p.prototype_key) != Some("stored") {
            return ctx.msg(format!(
                "'{}' is defined in the game's {}; save yours under another key. Nothing was saved.",
                escape(&p.prototype_key),
                escape(all.source(&p.prototype_key).unwrap_or("code"))
            ));
        }
        if !may(ctx, old, "edit") {
            return ctx.msg(format!(
                "You may not change '{}'. Nothing was saved.",
                escape(&p.prototype_key)
            ));
        }
    }
    if p.prototype_locks.is_empty() {
        // The saver and Admins may change it; everyone may spawn it.
        p.prototype_locks = match ctx.caller() {
            Some(me) => format!("spawn:all();edit:id({me}) or perm(Admin)"),
            None => "spawn:all();edit:perm(Admin)".into(),
        };
    }
    let key = p.prototype_key.clone();
    if existing.is_some() {
        ctx.ask(
            &format!("Replace the saved prototype '{}'? [Y]/N ", escape(&key)),
            false,
            move |server, sessid, answer| {
                if matches!(answer.trim().to_lowercase().as_str(), "" | "y" | "yes") {
                    server.world.store_prototype(p);
                    server.msg_session(sessid, format!("Prototype '{}' saved.", escape(&key)));
                } else {
                    server.msg_session(sessid, "Nothing was saved.");
                }
            },
        );
    } else {
        ctx.server.world.store_prototype(p);
        ctx.msg(format!("Prototype '{}' saved.", escape(&key)));
    }
}

fn delete(ctx: &mut CmdCtx<'_>, key: &str) {
    let key = key.trim().to_lowercase();
    let all = ctx.server.prototypes();
    let Some(p) = ctx.server.world.stored_prototypes().get(&key).cloned() else {
        return ctx.msg(match all.source(&key) {
            Some(src) => format!(
                "'{}' is defined in the game's {}, not saved by a builder; it cannot be deleted here.",
                escape(&key),
                escape(src)
            ),
            None => format!("There is no saved prototype '{}'.", escape(&key)),
        });
    };
    if !may(ctx, &p, "edit") {
        return ctx.msg(format!("You may not delete '{}'.", escape(&key)));
    }
    ctx.ask(
        &format!("Delete the prototype '{}'? yes/[no] ", escape(&key)),
        false,
        move |server, sessid, answer| {
            if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                server.world.unstore_prototype(&key);
                server.msg_session(sessid, format!("Prototype '{}' deleted.", escape(&key)));
            } else {
                server.msg_session(sessid, "Nothing was deleted.");
            }
        },
    );
}

fn update(ctx: &mut CmdCtx<'_>, key: &str) {
    let key = key.trim().to_lowercase();
    let all = ctx.server.prototypes();
    let Some(p) = all.get(&key) else {
        return ctx.msg(format!("There is no prototype '{}'.", escape(&key)));
    };
    if !may(ctx, p, "edit") {
        return ctx.msg(format!("You may not update objects of '{}'.", escape(&key)));
    }
    let n = ctx
        .server
        .world
        .tagged(&key, Some(crate::model::prototypes::FROM_PROTOTYPE))
        .len();
    if n == 0 {
        return ctx.msg(format!("No object was spawned from '{}'.", escape(&key)));
    }
    ctx.ask(
        &format!(
            "Apply '{}' again to the {n} object(s) made from it? yes/[no] ",
            escape(&key)
        ),
        false,
        move |server, sessid, answer| {
            if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                return server.msg_session(sessid, "Nothing was updated.");
            }
            match server.spawn_update(&key) {
                Ok((updated, skipped)) => {
                    let mut msg = format!("{} object(s) were updated.", updated.len());
                    if !skipped.is_empty() {
                        let names: Vec<String> = skipped
                            .iter()
                            .map(|id| {
                                server
                                    .world
                                    .get(*id)
                                    .map_or(format!("#{id}"), |o| escape(&o.display_with_id()))
                            })
                            .collect();
                        msg.push_str(&format!(
                            " Skipped, changed by hand since: {}.",
                            names.join(", ")
                        ));
                    }
                    server.msg_session(sessid, msg);
                }
                Err(e) => server.msg_session(sessid, escape(&e.to_string())),
            }
        },
    );
}
