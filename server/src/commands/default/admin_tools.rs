//! More admin commands, with Evennia's syntax: `emit`/`remit`/`pemit`
//! (Builders), `force` (Builders, never above their own rank), `wall`,
//! `userpassword` and `accounts` (Admins), `ban` and `unban` (Developers).

use tavern_shared::markup::escape;
use tavern_shared::text::{Align, Border, Table};

use crate::commands::default::building::{find_any, need_access, shown};
use crate::commands::{CmdCtx, CmdSet, Command, comma_list, minute_text};
use crate::model::locks::permission_level;
use crate::model::world::{Kind, ObjId};
use crate::runtime::passwords::hash_password;
use crate::runtime::server::{Completion, Server};
use crate::store;

/// Adds these commands (to an account's set).
pub fn add_all(set: &mut CmdSet) {
    set.add(Emit)
        .add(Force)
        .add(Wall)
        .add(UserPassword)
        .add(Accounts)
        .add(Ban)
        .add(Unban)
        .add(WorldExport)
        .add(WorldImport);
}

/// The longest message `emit` and `wall` send.
const MAX_EMIT: usize = 4000;

/// `emit[/room/players/contents] [<obj>, <obj> =] <message>`; `remit` and
/// `pemit` are `emit/room` and `emit/players`.
pub struct Emit;

impl Command for Emit {
    fn key(&self) -> &str {
        "emit"
    }
    fn aliases(&self) -> &[&str] {
        &["remit", "pemit"]
    }
    fn switches(&self) -> &[&str] {
        &["room", "players", "contents"]
    }
    fn locks(&self) -> &str {
        "cmd:perm(Builder)"
    }
    fn help_category(&self) -> &str {
        "Admin"
    }
    fn help(&self) -> &str {
        "emit[/switches] [<obj>, <obj>, ... =] <message>\nremit <room>, ... = <message>\n\
         pemit <character>, ... = <message>\n\n\
         Send a message as it is, with no name before it: to your room, to the rooms or \
         characters named (/room: rooms only, /players: characters only; /contents: to \
         what is in the objects named). You need tell access to each target."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let alias = ctx.cmdname.to_lowercase();
        let rooms_only = ctx.has_switch("room") || alias == "remit";
        let players_only = ctx.has_switch("players") || alias == "pemit";
        let (targets, text) = match ctx.rhs.clone() {
            Some(text) => (comma_list(&ctx.lhs), text),
            None if rooms_only || players_only => {
                return ctx.msg(format!("Usage: {alias} <target>, ... = <message>"));
            }
            None => (Vec::new(), ctx.args.clone()),
        };
        let text = text.trim().to_string();
        if text.is_empty() {
            return ctx.msg("Usage: emit[/switches] [<obj>, <obj>, ... =] <message>");
        }
        if text.chars().count() > MAX_EMIT {
            return ctx.msg(format!(
                "A message is at most {MAX_EMIT} characters; nothing was sent."
            ));
        }
        let targets: Vec<ObjId> = if targets.is_empty() {
            match ctx.location() {
                Some(l) => vec![l],
                None => return ctx.msg("You are nowhere; name whom to tell."),
            }
        } else {
            let mut found = Vec::new();
            for t in targets {
                let Some(id) = find_any(ctx, &t) else {
                    return;
                };
                found.push(id);
            }
            found
        };
        // Check every target before telling any.
        for &t in &targets {
            let kind = ctx.server.world.get(t).map(|o| o.kind);
            if rooms_only && kind != Some(Kind::Room) {
                return ctx.msg(format!(
                    "{} is not a room; nothing was sent.",
                    shown(ctx, t)
                ));
            }
            if players_only && kind != Some(Kind::Character) {
                return ctx.msg(format!(
                    "{} is not a character; nothing was sent.",
                    shown(ctx, t)
                ));
            }
            // No `tell` lock: the command's own lock (Builder) is enough.
            if !ctx.access(t, "tell", true) {
                return ctx.msg(format!(
                    "You are not allowed to tell {}; nothing was sent.",
                    shown(ctx, t)
                ));
            }
        }
        let contents = ctx.has_switch("contents");
        for &t in &targets {
            let kind = ctx.server.world.get(t).map(|o| o.kind);
            if kind == Some(Kind::Room) || contents {
                ctx.server.msg_location(t, &text, &[]);
            } else {
                ctx.server.msg_obj(t, &text);
            }
        }
        let names: Vec<String> = targets.iter().map(|t| shown(ctx, *t)).collect();
        ctx.msg(format!("Emitted to {}.", names.join(", ")));
    }
}

/// The highest permission rank an account has (superusers above all).
fn rank(server: &Server, account: Option<crate::model::world::AccountId>) -> usize {
    let Some(a) = account.and_then(|a| server.world.accounts.get(&a)) else {
        return 0;
    };
    if a.is_superuser {
        return usize::MAX;
    }
    a.permissions
        .iter()
        .filter_map(|p| permission_level(p))
        .max()
        .map_or(0, |l| l + 1)
}

/// `force <character> = <command>`.
pub struct Force;

impl Command for Force {
    fn key(&self) -> &str {
        "force"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Builder)"
    }
    fn help_category(&self) -> &str {
        "Admin"
    }
    fn help(&self) -> &str {
        "force <character> = <command>\n\n\
         Make a played character run a command, as its player would. You need edit \
         access to it, and cannot force someone of a higher rank than yours."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let (false, Some(cmd)) = (ctx.lhs.is_empty(), ctx.rhs.clone()) else {
            return ctx.msg("Usage: force <character> = <command>");
        };
        let cmd = cmd.trim().to_string();
        if cmd.is_empty() {
            return ctx.msg("Force it to do what? Nothing was done.");
        }
        let Some(target) = find_any(ctx, &ctx.lhs.clone()) else {
            return;
        };
        if Some(target) == ctx.caller() {
            return ctx.msg("Just type it yourself.");
        }
        if !need_access(ctx, target, "edit") {
            return;
        }
        let owner = ctx.server.world.get(target).and_then(|o| o.account);
        let mine = rank(ctx.server, ctx.account());
        if owner.is_some() && rank(ctx.server, owner) > mine {
            return ctx.msg(format!(
                "{} outranks you; nothing was done.",
                shown(ctx, target)
            ));
        }
        let Some(sessid) = ctx.server.sessions.puppeting(target).first().copied() else {
            return ctx.msg(format!(
                "Nobody plays {} right now; commands run through a player's connection.",
                shown(ctx, target)
            ));
        };
        ctx.msg(format!(
            "You have forced {} to: {}",
            shown(ctx, target),
            escape(&cmd)
        ));
        if !ctx.server.run_as(sessid, &cmd) {
            ctx.msg("They are busy with something; try again in a moment.");
        }
    }
}

/// `wall <message>`: to everyone connected.
pub struct Wall;

impl Command for Wall {
    fn key(&self) -> &str {
        "wall"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Admin)"
    }
    fn help_category(&self) -> &str {
        "Admin"
    }
    fn help(&self) -> &str {
        "wall <message>\n\nShout a message to everyone connected."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let text = ctx.args.trim().to_string();
        if text.is_empty() {
            return ctx.msg("Usage: wall <message>");
        }
        if text.chars().count() > MAX_EMIT {
            return ctx.msg(format!(
                "A message is at most {MAX_EMIT} characters; nothing was sent."
            ));
        }
        let me = escape(&ctx.caller_name());
        let line = format!(
            "{me} shouts \"{}\"",
            tavern_shared::markup::player_text(&text)
        );
        let all: Vec<_> = ctx
            .server
            .sessions
            .logged_in()
            .map(|s| s.sessid())
            .collect();
        ctx.server
            .send_msg_many(&all, tavern_shared::Msg::text(line));
    }
}

/// `userpassword <account> = <new password>`.
pub struct UserPassword;

impl Command for UserPassword {
    fn key(&self) -> &str {
        "userpassword"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Admin)"
    }
    fn help_category(&self) -> &str {
        "Admin"
    }
    fn help(&self) -> &str {
        "userpassword <account> = <new password>\n\n\
         Set an account's password (it is told that you changed it, not what to). You \
         cannot change the password of someone who outranks you."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let (false, Some(new)) = (ctx.lhs.is_empty(), ctx.rhs.clone()) else {
            return ctx.msg("Usage: userpassword <user obj> = <new password>");
        };
        let min = ctx.server.settings.security.min_password_length;
        if new.chars().count() < min {
            return ctx.msg(format!(
                "The password must be at least {min} characters long; nothing was changed."
            ));
        }
        let name = ctx.lhs.trim_start_matches('*').trim().to_string();
        let Some(account) = ctx.server.world.account_named(&name) else {
            return ctx.msg(format!(
                "Could not find an account named '{}'.",
                escape(&name)
            ));
        };
        if rank(ctx.server, Some(account)) > rank(ctx.server, ctx.account()) {
            return ctx.msg("They outrank you; nothing was changed.");
        }
        let db = ctx.server.db.clone();
        let security = ctx.server.settings.security.clone();
        let sessid = ctx.sessid;
        let by = escape(&ctx.caller_name());
        let shown_name = escape(ctx.server.world.account_name(account));
        ctx.server.spawn_for(sessid, async move {
            let result: Result<(), String> = async {
                let hash = hash_password(&security, new)
                    .await
                    .map_err(|e| e.to_string())?;
                // Durable before anyone is told.
                store::set_password_hash(&db, account, hash)
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            let done: Completion = Box::new(move |server: &mut Server| match result {
                Ok(()) => {
                    tracing::info!(sessid, account, "password set by an admin");
                    server.msg_session(sessid, format!("{shown_name} - new password set."));
                    for s in server.sessions.of_account(account) {
                        server.msg_session(s, format!("{by} has changed your password."));
                    }
                }
                Err(e) => {
                    tracing::error!(sessid, "setting a password failed: {e}");
                    server.msg_session(
                        sessid,
                        "The password could not be changed right now; nothing was changed.",
                    );
                }
            });
            done
        });
    }
}

/// `accounts [<N>]`: the newest accounts, with their last login.
pub struct Accounts;

impl Command for Accounts {
    fn key(&self) -> &str {
        "accounts"
    }
    fn aliases(&self) -> &[&str] {
        &["account", "listaccounts"]
    }
    fn locks(&self) -> &str {
        "cmd:perm(Admin)"
    }
    fn help_category(&self) -> &str {
        "Admin"
    }
    fn switches(&self) -> &[&str] {
        &["delete"]
    }
    fn help(&self) -> &str {
        "accounts [<N>]\naccounts/delete <account>\n\nThe N newest accounts (10), with their \
         permissions, whether they are online, and when they last logged in. /delete \
         (Developers) deletes an account and its characters, after asking; never yours or \
         one of your rank or above."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.has_switch("delete") {
            return delete_account(ctx);
        }
        let n: u64 = match ctx.args.trim() {
            "" => 10,
            s => match s.parse() {
                Ok(n) if (1..=500).contains(&n) => n,
                _ => return ctx.msg("Usage: accounts [<N>], N from 1 to 500."),
            },
        };
        let db = ctx.server.db.clone();
        let sessid = ctx.sessid;
        let total = ctx.server.world.accounts.len();
        ctx.server.spawn_for(sessid, async move {
            let rows = store::recent_accounts(&db, n).await;
            let done: Completion = Box::new(move |server: &mut Server| {
                let rows = match rows {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!("listing accounts failed: {e}");
                        server.msg_session(sessid, "The accounts cannot be listed right now.");
                        return;
                    }
                };
                let mut t = Table::new(["id", "name", "permissions", "online", "last login"]);
                t.border(Border::Header).align(0, Align::Right);
                for (id, name, last) in rows {
                    let a = server.world.accounts.get(&id);
                    let perms = a.map_or(String::new(), |a| {
                        if a.is_superuser {
                            "superuser".into()
                        } else {
                            a.permissions.join(", ")
                        }
                    });
                    let online = if server.sessions.of_account(id).is_empty() {
                        ""
                    } else {
                        "yes"
                    };
                    t.row([
                        format!("#{id}"),
                        escape(&name),
                        escape(&perms),
                        online.to_string(),
                        last.map_or("never".into(), minute_text),
                    ]);
                }
                t.max_width(server.screen_width(sessid));
                server.msg_paged(
                    sessid,
                    format!("|wAccounts: {total} in all; the newest:|n\n{}", t.render()),
                );
            });
            done
        });
    }
}

fn delete_account(ctx: &mut CmdCtx<'_>) {
    if !ctx.has_perm("Developer") {
        return ctx.fail("Only Developers may delete accounts. Nothing was done.");
    }
    let name = ctx.args.trim().trim_start_matches('*').to_string();
    if name.is_empty() {
        return ctx.msg("Usage: accounts/delete <account>");
    }
    let Some(target) = ctx.server.world.account_named(&name) else {
        return ctx.msg(format!(
            "Could not find an account named '{}'.",
            escape(&name)
        ));
    };
    let me = ctx.account();
    if Some(target) == me || rank(ctx.server, Some(target)) >= rank(ctx.server, me) {
        return ctx.fail(
            "You cannot delete your own account, or one of your rank or above. Nothing was done.",
        );
    }
    let shown_name = escape(ctx.server.world.account_name(target));
    let chars = ctx.server.world.characters_of(target).len();
    ctx.ask(
        &format!(
            "Delete the account {shown_name} and its {chars} character(s), for good? yes/[no] "
        ),
        false,
        move |server, sessid, answer| {
            if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                return server.msg_session(sessid, "Nothing was deleted.");
            }
            match server.account_delete(target) {
                Some(names) => {
                    tracing::info!(sessid, account = target, "account deleted");
                    let list = if names.is_empty() {
                        String::new()
                    } else {
                        format!(" (and {})", escape(&names.join(", ")))
                    };
                    server.msg_session(sessid, format!("Account {shown_name} deleted{list}."));
                }
                None => server.msg_session(sessid, "That account is gone already."),
            }
        },
    );
}

/// `ban [<account name or address pattern> [: reason]]`: keep someone out.
pub struct Ban;

impl Command for Ban {
    fn key(&self) -> &str {
        "ban"
    }
    fn aliases(&self) -> &[&str] {
        &["bans"]
    }
    fn locks(&self) -> &str {
        "cmd:perm(Developer)"
    }
    fn help_category(&self) -> &str {
        "Admin"
    }
    fn help(&self) -> &str {
        "ban\nban <account name or address pattern> [: <reason>]\n\n\
         List the bans, or ban an account name or addresses (10.0.0.*, with * for any \
         part). Banned names cannot log in or be created; banned addresses are turned \
         away when they connect. It asks first; who is connected now stays (boot them). \
         unban <number> lifts a ban."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let args = ctx.args.trim().to_string();
        if args.is_empty() {
            let bans = ctx.server.world.bans().list.clone();
            if bans.is_empty() {
                return ctx.msg("No one is banned.");
            }
            let mut t = Table::new(["#", "name or address", "banned by", "when", "reason"]);
            t.border(Border::Header).align(0, Align::Right);
            for b in bans {
                t.row([
                    b.id.to_string(),
                    escape(&b.pattern),
                    escape(&b.by),
                    minute_text(b.at),
                    escape(&b.reason),
                ]);
            }
            t.max_width(ctx.screen_width());
            return ctx.msg_paged(format!("|wBans:|n\n{}", t.render()));
        }
        let (pattern, reason) = match args.split_once(':') {
            // An IPv6 address has colons: a reason follows ": " only.
            Some((p, r)) if !crate::model::bans::is_address_pattern(&args) => {
                (p.trim().to_string(), r.trim().to_string())
            }
            _ => match args.split_once(" : ") {
                Some((p, r)) => (p.trim().to_string(), r.trim().to_string()),
                None => (args.clone(), String::new()),
            },
        };
        if pattern.is_empty() || pattern.len() > 100 || pattern.contains(char::is_whitespace) {
            return ctx.msg("Usage: ban <name or ip pattern> [: reason]. Nothing was banned.");
        }
        if pattern.chars().all(|c| c == '*' || c == '.' || c == ':') {
            return ctx.msg("That pattern would ban everyone; nothing was banned.");
        }
        if reason.chars().count() > 200 {
            return ctx.msg("A reason is at most 200 characters; nothing was banned.");
        }
        if ctx.server.world.bans().list.len() >= crate::model::bans::MAX_BANS {
            return ctx.msg("There are as many bans as the game keeps; lift one first.");
        }
        let address = crate::model::bans::is_address_pattern(&pattern);
        if !address {
            let me = ctx.account();
            if let Some(target) = ctx.server.world.account_named(&pattern)
                && (Some(target) == me || rank(ctx.server, Some(target)) >= rank(ctx.server, me))
            {
                return ctx.msg("You cannot ban yourself or someone of your rank or above.");
            }
        }
        let by = ctx.caller_name();
        let what = if address {
            format!("the addresses {pattern}")
        } else {
            format!("the account name '{pattern}'")
        };
        ctx.ask(
            &format!("Are you sure you want to ban {}? [Y]/N ", escape(&what)),
            false,
            move |server, sessid, answer| {
                if !matches!(answer.trim().to_lowercase().as_str(), "" | "y" | "yes") {
                    return server.msg_session(sessid, "Nothing was banned.");
                }
                let now = server.now();
                let id = server
                    .world
                    .update_bans(|b| b.add(&pattern, &reason, &by, now));
                server.msg_session(
                    sessid,
                    format!(
                        "Ban #{id} added: {}. Who is connected now stays (boot them).",
                        escape(&what)
                    ),
                );
            },
        );
    }
}

/// `unban <number>`.
pub struct Unban;

impl Command for Unban {
    fn key(&self) -> &str {
        "unban"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Developer)"
    }
    fn help_category(&self) -> &str {
        "Admin"
    }
    fn help(&self) -> &str {
        "unban <number>\n\nLift a ban (ban lists them with their numbers)."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Ok(id) = ctx.args.trim().trim_start_matches('#').parse::<u64>() else {
            return ctx.msg("Usage: unban <ban number> (ban lists them).");
        };
        let Some(ban) = ctx
            .server
            .world
            .bans()
            .list
            .iter()
            .find(|b| b.id == id)
            .cloned()
        else {
            return ctx.msg(format!("There is no ban #{id}."));
        };
        ctx.ask(
            &format!("Lift ban #{id} ({})? [Y]/N ", escape(&ban.pattern)),
            false,
            move |server, sessid, answer| {
                if !matches!(answer.trim().to_lowercase().as_str(), "" | "y" | "yes") {
                    return server.msg_session(sessid, "The ban stays.");
                }
                match server.world.update_bans(|b| b.remove(id)) {
                    Some(b) => server.msg_session(
                        sessid,
                        format!("Ban #{id} ({}) lifted.", escape(&b.pattern)),
                    ),
                    None => server.msg_session(sessid, format!("There is no ban #{id} any more.")),
                }
            },
        );
    }
}

/// The file of a world export by its name (letters, digits, - and _), in
/// the data directory's exports/; a bad name is refused ("Nothing was
/// `nothing`.").
fn export_path(ctx: &mut CmdCtx<'_>, name: &str, nothing: &str) -> Option<std::path::PathBuf> {
    if name.len() > 60
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        ctx.fail(format!(
            "A name is letters, digits, - and _ (at most 60). Nothing was {nothing}."
        ));
        return None;
    }
    Some(
        ctx.server
            .settings
            .game
            .data_dir
            .join("exports")
            .join(format!("{name}.jsonl")),
    )
}

/// `worldexport [<name>]`: the world file, written by the running game.
pub struct WorldExport;

impl Command for WorldExport {
    fn key(&self) -> &str {
        "worldexport"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Developer)"
    }
    fn help_category(&self) -> &str {
        "System"
    }
    fn help(&self) -> &str {
        "worldexport [<name>]\n\n\
         Write the whole world (every table; no password hashes) as a world file into \
         the data directory's exports/ folder, from one snapshot, while the game runs. \
         The name is letters, digits, - and _ (default: world-<date>); an export is \
         never overwritten. Import it with `tavern world import` into a new game, or \
         merge it back into this one (stopped) with `tavern world import --merge`."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let name = match ctx.args.trim() {
            "" => format!(
                "world-{}",
                crate::commands::minute_text(ctx.server.now()).replace([' ', ':'], "-")
            ),
            n => n.to_string(),
        };
        let Some(path) = export_path(ctx, &name, "written") else {
            return;
        };
        let dir = ctx.server.settings.game.data_dir.join("exports");
        if path.exists() {
            return ctx.fail(format!(
                "exports/{name}.jsonl already exists; give another name. Nothing was written."
            ));
        }
        let db = ctx.server.db.clone();
        let sessid = ctx.sessid;
        ctx.msg(format!("Exporting the world to exports/{name}.jsonl ..."));
        ctx.server.spawn_for(sessid, async move {
            let result: Result<String, String> = async {
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                // Never over an export written meanwhile.
                let f = std::fs::File::create_new(&path).map_err(|e| e.to_string())?;
                let mut out = std::io::BufWriter::new(f);
                let counts = store::world_file::export(&db, &mut out, false)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(counts.to_string())
            }
            .await;
            let done: Completion = Box::new(move |server: &mut Server| match result {
                Ok(counts) => {
                    server.msg_session(sessid, format!("Exported exports/{name}.jsonl: {counts}."))
                }
                Err(e) => {
                    tracing::error!(sessid, "the world export failed: {e}");
                    server.msg_session(sessid, "The export failed; see the server log.");
                }
            });
            done
        });
    }
}

/// `worldimport[/dryrun][/other] <name>`: merge a world file from the data
/// directory's exports/ into the running game, through a reload.
pub struct WorldImport;

impl Command for WorldImport {
    fn key(&self) -> &str {
        "worldimport"
    }
    fn switches(&self) -> &[&str] {
        &["dryrun", "other"]
    }
    fn locks(&self) -> &str {
        "cmd:superuser()"
    }
    fn help_category(&self) -> &str {
        "System"
    }
    fn help(&self) -> &str {
        "worldimport[/dryrun][/other] <name>\n\n\
         Merge the world file exports/<name>.jsonl (in the data directory; see worldexport) \
         into this game: each row of the file replaces the game's row with the same key (an \
         object's id, an account's id, ...), the rest are added, and everything else stays. \
         It first says what it would do and asks; then the server reloads (nobody is \
         disconnected) and the new server merges the file before it loads the world. \
         /dryrun only says what it would do. A file exported from another game is refused \
         (its ids are not this game's) unless /other. Bare, it shows how the last merge went. \
         Superusers only."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let db = ctx.server.db.clone();
        let sessid = ctx.sessid;
        let name = ctx.args.trim().trim_end_matches(".jsonl").to_string();
        if name.is_empty() {
            ctx.msg("Usage: worldimport[/dryrun][/other] <name> (a file in exports/)");
            ctx.server.spawn_for(sessid, async move {
                let last = store::get_config(&db, store::world_file::LAST_IMPORT).await;
                let done: Completion = Box::new(move |server: &mut Server| {
                    let text = match last {
                        Ok(Some(t)) => format!("The last merge: {}", escape(&t)),
                        Ok(None) => "No world file was merged in game yet.".to_string(),
                        Err(e) => {
                            tracing::error!(sessid, "reading the last merge failed: {e}");
                            "The last merge could not be read; see the server log.".to_string()
                        }
                    };
                    server.msg_session(sessid, text);
                });
                done
            });
            return;
        }
        let Some(path) = export_path(ctx, &name, "changed") else {
            return;
        };
        if !path.is_file() {
            return ctx.fail(format!(
                "There is no exports/{name}.jsonl in the data directory. Nothing was changed."
            ));
        }
        let other = ctx.has_switch("other");
        let dry = ctx.has_switch("dryrun");
        let by = ctx.account().map_or_else(
            || "?".to_string(),
            |a| ctx.server.world.account_name(a).to_string(),
        );
        ctx.msg(format!(
            "Checking exports/{name}.jsonl against the game ..."
        ));
        ctx.server.spawn_for(sessid, async move {
            let checked = match std::fs::File::open(&path) {
                Ok(f) => store::world_file::import_with(
                    &db,
                    std::io::BufReader::new(f),
                    store::world_file::ImportMode::Merge {
                        from_other_game: other,
                    },
                    true,
                )
                .await
                .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let done: Completion = Box::new(move |server: &mut Server| {
                let counts = match checked {
                    Ok(c) => c,
                    Err(e) => {
                        let hint = if e.contains("another game") {
                            " (worldimport/other merges it anyway)"
                        } else {
                            ""
                        };
                        server.msg_session(
                            sessid,
                            format!(
                                "|rexports/{name}.jsonl cannot be merged|n: {}{hint}. Nothing was changed.",
                                escape(&e)
                            ),
                        );
                        server.command_failed = true;
                        return;
                    }
                };
                server.msg_session(sessid, format!("exports/{name}.jsonl would merge: {counts}."));
                if dry {
                    return;
                }
                server.ask(
                    sessid,
                    "Merge it? The server reloads to do it (nobody is disconnected). yes/[no]? ",
                    false,
                    move |server, sessid, answer| {
                        if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                            server.msg_session(sessid, "Nothing was merged.");
                            return;
                        }
                        let pending = store::world_file::PendingImport {
                            file: path,
                            from_other_game: other,
                            by,
                        };
                        let Ok(text) = serde_json::to_string(&pending) else {
                            server.msg_session(sessid, "Nothing was merged.");
                            return;
                        };
                        server
                            .world
                            .set_config(store::world_file::PENDING_IMPORT, Some(text));
                        server.msg_session(
                            sessid,
                            "Reloading to merge it; `worldimport` afterwards says how it went.",
                        );
                        server.request_stop(tavern_shared::link::StopMode::Reload);
                    },
                );
            });
            done
        });
    }
}
