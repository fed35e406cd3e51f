//! Out-of-character commands, on the account: `ic`, `ooc`, `charcreate`,
//! `chardelete`, `who`, `password`, `option`, `quell`, `unquell`, `quit`;
//! and `sessions`, on every logged-in session.

use tavern_shared::text::{Align, Border, Table};

use crate::commands::{CmdCtx, CmdSet, Command};
use crate::model::locks::{PERMISSION_HIERARCHY, QUELL_ATTR, permission_level};
use crate::model::names::name_problem_for_players;
use crate::model::world::{AccountId, Kind, ObjId, Search};
use crate::runtime::actions::CLIENT_CHOICES_ATTR;
use crate::runtime::create::NewObject;
use crate::runtime::passwords::{hash_password, verify_password};
use crate::runtime::server::{Completion, Server};
use crate::store;
use tavern_shared::markup::{self, ColorMode};
use tavern_shared::session::ClientChoices;

/// Adds the default account commands (Evennia's DefaultAccount set).
pub fn add_all(set: &mut CmdSet) {
    set.add(OocLook)
        .add(Ic)
        .add(Ooc)
        .add(CharCreate)
        .add(CharDelete)
        .add(Who)
        .add(Password)
        .add(ClientOptions)
        .add(Quell)
        .add(Unquell)
        .add(Quit);
}

/// Adds the default session commands (Evennia's DefaultSession set).
pub fn add_session_commands(set: &mut CmdSet) {
    set.add(Sessions);
}

/// `look` out of character: your account, characters and sessions. In
/// character, the character's `look` (higher priority) answers instead.
pub struct OocLook;

impl Command for OocLook {
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
        "look\n\nOut of character: show your account, your characters and your sessions."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        let text = ctx.server.ooc_appearance(account, ctx.sessid);
        ctx.msg(text);
    }
}

/// `ic <character>`: become (puppet) one of your characters.
pub struct Ic;

impl Command for Ic {
    fn key(&self) -> &str {
        "ic"
    }
    fn aliases(&self) -> &[&str] {
        &["puppet"]
    }
    fn help(&self) -> &str {
        "ic [<character>]\n\nGo in character: take control of one of your characters \
         (without a name: the one you played last)."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        let target = if ctx.args.is_empty() {
            match ctx
                .server
                .world
                .accounts
                .get(&account)
                .and_then(|a| a.last_puppet)
                .filter(|p| ctx.server.world.get(*p).is_some())
            {
                Some(p) => p,
                None => {
                    ctx.msg("Usage: ic <character>");
                    return;
                }
            }
        } else {
            let mine = ctx.server.world.characters_of(account);
            let mut s = Search::new(ctx.caller()).among(mine);
            if ctx.has_perm("Builder") {
                // Builders may puppet anything whose puppet lock lets them.
                s = s.global();
            }
            match s.one(&ctx.server.world, &ctx.args) {
                Ok(t) => t,
                Err(crate::model::world::SearchError::NotFound(_)) => {
                    ctx.msg("That is not a valid character choice.");
                    return;
                }
                Err(e) => {
                    let msg = e.message(&ctx.server.world, None);
                    ctx.msg(msg);
                    return;
                }
            }
        };
        if let Err(e) = ctx.server.puppet(ctx.sessid, target) {
            ctx.msg(e);
        }
    }
}

/// `ooc`: leave your character and go out of character.
pub struct Ooc;

impl Command for Ooc {
    fn key(&self) -> &str {
        "ooc"
    }
    fn aliases(&self) -> &[&str] {
        &["unpuppet"]
    }
    fn help(&self) -> &str {
        "ooc\n\nGo out of character: stop playing your character and stay logged in."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        let Some(old) = ctx.caller() else {
            ctx.msg("You go OOC.\nYou are already out-of-character (OOC).");
            return;
        };
        let name = ctx
            .server
            .world
            .get(old)
            .map(|o| o.key.clone())
            .unwrap_or_default();
        ctx.server.unpuppet(ctx.sessid);
        ctx.msg(format!("\n|GYou go OOC as |c{name}|G.|n\n"));
        let look = ctx.server.ooc_appearance(account, ctx.sessid);
        ctx.msg(look);
    }
}

/// `charcreate <name>[=<description>]`: make a new character.
pub struct CharCreate;

impl Command for CharCreate {
    fn key(&self) -> &str {
        "charcreate"
    }
    fn help(&self) -> &str {
        "charcreate <name> [= <description>]\n\nCreate a new character to play. \
         Enter the game with it with |wic <name>|n."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        let key = ctx.lhs.clone();
        if key.is_empty() {
            ctx.msg("Usage: charcreate <charname> [= description]");
            return;
        }
        let max = ctx.server.settings.server.max_nr_characters;
        let have = ctx.server.world.characters_of(account).len();
        if max > 0 && have >= max && !ctx.has_perm("Developer") {
            ctx.msg(format!(
                "You may only have a maximum of {max} character(s)."
            ));
            return;
        }
        if let Some(problem) = name_problem_for_players(&key) {
            ctx.msg(problem);
            return;
        }
        let world = &ctx.server.world;
        let taken = world.named(&key).iter().any(|&id| {
            world.get(id).is_some_and(|o| {
                o.kind == Kind::Character && o.key.to_lowercase() == key.to_lowercase()
            })
        });
        if taken {
            ctx.msg(format!("|rA character named '|w{key}|r' already exists.|n"));
            return;
        }
        let start = ctx.server.world.start_room;
        let mut spec = NewObject::new(Kind::Character, key.clone())
            .home(start)
            .account(account);
        if let Some(desc) = ctx.rhs.clone().filter(|d| !d.is_empty()) {
            spec = spec.desc(desc);
        }
        match ctx.server.create_object(spec) {
            Ok(_) => ctx.msg(format!(
                "Created new character {key}. Use |wic {key}|n to enter the game as this character."
            )),
            Err(e) => ctx.msg(e),
        }
    }
}

/// `chardelete <name>`: delete one of your characters, after a confirmation.
pub struct CharDelete;

impl Command for CharDelete {
    fn key(&self) -> &str {
        "chardelete"
    }
    fn help(&self) -> &str {
        "chardelete <name>\n\nPermanently delete one of your characters (you are asked to confirm)."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        if ctx.args.is_empty() {
            ctx.msg("Usage: chardelete <charactername>");
            return;
        }
        let mine = ctx.server.world.characters_of(account);
        let found: Vec<ObjId> = Search::new(None)
            .among(mine)
            .all(&ctx.server.world, &ctx.args)
            .into_iter()
            .filter(|&c| {
                ctx.server
                    .world
                    .get(c)
                    .is_some_and(|o| o.key.eq_ignore_ascii_case(&ctx.args))
            })
            .collect();
        let [target] = found.as_slice() else {
            ctx.msg("You have no such character to delete.");
            return;
        };
        let target = *target;
        let key = ctx
            .server
            .world
            .get(target)
            .map(|o| o.key.clone())
            .unwrap_or_default();
        let owns = ctx
            .server
            .world
            .get(target)
            .is_some_and(|o| o.account == Some(account));
        if !owns && !ctx.access(target, "delete", false) {
            ctx.msg("You do not have permission to delete this character.");
            return;
        }
        ctx.ask(
            &format!(
                "This will permanently destroy '{key}'. This cannot be undone. Continue yes/[no]? "
            ),
            false,
            move |server: &mut Server, sessid, answer| {
                let yes = matches!(answer.trim().to_lowercase().as_str(), "y" | "yes");
                if !yes {
                    server.msg_session(sessid, "Deletion was aborted.");
                    return;
                }
                match server.destroy_object(target) {
                    Ok(()) => {
                        server.world.update_account(account, |a| {
                            if a.last_puppet == Some(target) {
                                a.last_puppet = None;
                            }
                        });
                        server.msg_session(
                            sessid,
                            format!("Character '{key}' was permanently deleted."),
                        );
                    }
                    Err(e) => server.msg_session(sessid, e),
                }
            },
        );
    }
}

/// `sessions`: your connections and what each one plays.
pub struct Sessions;

impl Command for Sessions {
    fn key(&self) -> &str {
        "sessions"
    }
    fn switches(&self) -> &[&str] {
        &["name"]
    }
    fn help(&self) -> &str {
        "sessions\nsessions/name [<session> =] <new name>\n\n\
         List your connections to the game: id, name, protocol, the character \
         each plays, how long it has been connected and idle; * marks this one, \
         > the one you typed in last. /name renames this session (or another).\n\n\
         Run a command in another of your sessions with '@<session> <command>', \
         in all of them with '@all <command>', in all the others with \
         '@others <command>'."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        if ctx.has_switch("name") {
            let (target, new) = match &ctx.rhs {
                Some(new) => (ctx.server.session_by_name(account, &ctx.lhs), new.clone()),
                None => (Some(ctx.sessid), ctx.lhs.clone()),
            };
            let Some(target) = target else {
                ctx.msg(format!("You have no session called '{}'.", ctx.lhs));
                return;
            };
            match ctx.server.rename_session(target, &new) {
                Ok(()) => ctx.msg(format!("Session {target} is now called '{new}'.")),
                Err(e) => ctx.msg(e),
            }
            return;
        }
        let now = ctx.server.now() as u64;
        let active = ctx.server.active_session(account);
        let mut out = String::from(
            "|wYour current session(s):|n\n|w   id name                 protocol   puppet               connected  idle|n",
        );
        for (id, name) in ctx.server.session_names(account) {
            let Some(s) = ctx.server.sessions.get(id) else {
                continue;
            };
            let puppet = s
                .puppet()
                .and_then(|p| ctx.server.world.get(p))
                .map(|o| o.key.clone())
                .unwrap_or_else(|| "-".into());
            let me = if id == ctx.sessid { "*" } else { " " };
            let act = if Some(id) == active { ">" } else { " " };
            out.push_str(&format!(
                "\n{me}{act}{id:>3} {name:<20} {:<10} {puppet:<20} {:<10} {}",
                s.sync.protocol,
                duration(now.saturating_sub(s.sync.conn_time) / 1000),
                duration(now.saturating_sub(s.sync.cmd_last_visible) / 1000)
            ));
        }
        ctx.msg(out);
    }
}

/// `who`: who is online.
pub struct Who;

impl Command for Who {
    fn key(&self) -> &str {
        "who"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn aliases(&self) -> &[&str] {
        &["doing"]
    }
    fn help(&self) -> &str {
        "who\n\nList who is playing right now."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let now = ctx.server.now() as u64;
        let mut rows: Vec<(String, u64, u64)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for s in ctx.server.sessions.logged_in() {
            let Some(account) = s.account() else { continue };
            if !seen.insert(account) {
                continue;
            }
            let name = s
                .puppet()
                .and_then(|p| ctx.server.world.get(p))
                .map(|o| o.key.clone())
                .or_else(|| s.sync.account_name.clone())
                .unwrap_or_default();
            rows.push((
                name,
                now.saturating_sub(s.sync.conn_time) / 1000,
                now.saturating_sub(s.sync.cmd_last_visible) / 1000,
            ));
        }
        rows.sort();
        let mut table = Table::new(["|wAccount name|n", "|wOn for|n", "|wIdle|n"]);
        table
            .border(Border::Header)
            .align(1, Align::Right)
            .align(2, Align::Right)
            .max_width(ctx.screen_width());
        for (name, on, idle) in &rows {
            table.row([markup::escape(name), duration(*on), duration(*idle)]);
        }
        let n = rows.len();
        let mut out = table.render();
        out.push_str(&format!(
            "\n{n} unique account{} logged in.",
            if n == 1 { "" } else { "s" }
        ));
        ctx.msg_paged(out);
    }
}

fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// The options `option` sets, as Evennia names them.
const OPTION_NAMES: &[&str] = &[
    "ANSI",
    "XTERM256",
    "TRUECOLOR",
    "NOCOLOR",
    "SCREENREADER",
    "SCREENWIDTH",
    "SCREENHEIGHT",
];

/// Sets one choice from `option NAME = VALUE`; `default` forgets it.
fn choose(c: &mut ClientChoices, name: &str, value: &str) -> Result<String, String> {
    let name = name.trim().to_uppercase();
    let value = value.trim().to_lowercase();
    let forget = matches!(value.as_str(), "default" | "reset" | "");
    let flag = |v: &str| match v {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(format!(
            "{name} takes on or off (or default), not '{}'.",
            markup::escape(v)
        )),
    };
    let size = |v: &str, what: &str| match v.parse::<u16>() {
        Ok(n) if (10..=1000).contains(&n) => Ok(n),
        _ => Err(format!(
            "{what} takes a number from 10 to 1000 (or default), not '{}'.",
            markup::escape(v)
        )),
    };
    let slot: &mut Option<bool> = match name.as_str() {
        "ANSI" => &mut c.ansi,
        "XTERM256" => &mut c.xterm256,
        "TRUECOLOR" => &mut c.truecolor,
        "NOCOLOR" => &mut c.nocolor,
        "SCREENREADER" => &mut c.screenreader,
        "SCREENWIDTH" | "SCREENHEIGHT" => {
            let slot = if name == "SCREENWIDTH" {
                &mut c.screen_width
            } else {
                &mut c.screen_height
            };
            *slot = if forget {
                None
            } else {
                Some(size(&value, &name)?)
            };
            return Ok(name);
        }
        _ => {
            return Err(format!(
                "No option '{}'. Options: {}.",
                markup::escape(&name),
                OPTION_NAMES.join(", ")
            ));
        }
    };
    *slot = if forget { None } else { Some(flag(&value)?) };
    Ok(name)
}

/// `option[/save|/clear] [<name> = <value>]`: what the game knows about
/// your client, and your own choices over it.
pub struct ClientOptions;

impl Command for ClientOptions {
    fn key(&self) -> &str {
        "option"
    }
    fn aliases(&self) -> &[&str] {
        &["options"]
    }
    fn switches(&self) -> &[&str] {
        &["save", "clear"]
    }
    fn help(&self) -> &str {
        "option\noption[/save] <name> = <value>\noption/save\noption/clear\n\n\
         Show what your client told the game, or choose otherwise for this \
         connection: NOCOLOR, SCREENREADER, ANSI, XTERM256, TRUECOLOR (on or off), \
         SCREENWIDTH, SCREENHEIGHT (a number); the value default forgets a choice. \
         /save keeps your choices for every connection of your account; /clear \
         forgets them all, saved ones too."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(s) = ctx.server.sessions.get(ctx.sessid) else {
            return;
        };
        let mut choices = s.sync.choices.clone();
        let mut told = Vec::new();
        if ctx.has_switch("clear") {
            choices = ClientChoices::default();
            told.push("Your client options are back to what your client reports.".to_string());
        } else if let Some(value) = ctx.rhs.clone() {
            if ctx.lhs.is_empty() {
                ctx.msg("Usage: option[/save] <name> = <value>");
                return;
            }
            match choose(&mut choices, &ctx.lhs, &value) {
                Ok(name) => told.push(format!("Option {name} set for this connection.")),
                Err(e) => {
                    ctx.msg(e);
                    return;
                }
            }
        } else if !ctx.args.is_empty() {
            ctx.msg("Usage: option[/save] <name> = <value> (see help option)");
            return;
        }
        let changed = s.sync.choices != choices;
        let save = ctx.has_switch("save") || ctx.has_switch("clear");
        if let Some(s) = ctx.server.sessions.get_mut(ctx.sessid)
            && changed
        {
            s.sync.choices = choices.clone();
            s.dirty = true;
        }
        if save && let Some(account) = ctx.account() {
            let keep = (!choices.is_empty())
                .then(|| serde_json::to_value(&choices).ok())
                .flatten();
            ctx.server.world.update_account(account, |a| match keep {
                Some(v) => {
                    a.db.insert(CLIENT_CHOICES_ATTR.into(), v);
                }
                None => {
                    a.del_attr(CLIENT_CHOICES_ATTR);
                }
            });
            if !ctx.has_switch("clear") {
                told.push("Saved for every connection of your account.".into());
            }
        }
        if !told.is_empty() {
            ctx.msg(told.join(" "));
            return;
        }
        self.show(ctx);
    }
}

impl ClientOptions {
    fn show(&self, ctx: &mut CmdCtx<'_>) {
        let Some(s) = ctx.server.sessions.get(ctx.sessid) else {
            return;
        };
        let (reported, c) = (&s.sync.flags, &s.sync.choices);
        let f = c.apply(reported);
        let size = match (f.screen_width, f.screen_height) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            _ => "unknown".into(),
        };
        let colours = match c.color_mode(reported) {
            ColorMode::Plain => "none",
            ColorMode::Ansi => "ansi",
            ColorMode::Xterm256 => "xterm256",
            ColorMode::TrueColor => "truecolor",
        };
        let yes = |b: bool| if b { "yes" } else { "no" };
        let mut options = f.options.clone();
        options.sort();
        let chosen = if c.is_empty() {
            "none (option <name> = <value> to choose)".to_string()
        } else {
            serde_json::to_value(c)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .map(|m| {
                    m.iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| format!("{}={v}", k.to_uppercase().replace('_', "")))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        let text = format!(
            "|wClient settings|n\n \
             Client:        {}\n \
             Protocol:      {}\n \
             Screen:        {size}\n \
             Encoding:      {}\n \
             Colours:       {colours}\n \
             Screen reader: {}\n \
             Options:       {}\n \
             GMCP packages: {}\n \
             Your choices:  {chosen}",
            f.client_name.as_deref().unwrap_or("unknown"),
            s.sync.protocol,
            f.encoding,
            yes(f.screenreader),
            if options.is_empty() {
                "none".into()
            } else {
                options.join(", ")
            },
            if f.oob_supports.is_empty() {
                "none".into()
            } else {
                f.oob_supports.join(", ")
            },
        );
        ctx.msg(text);
    }
}

/// `password <old> = <new>`: change your password (stored before you are told).
pub struct Password;

impl Command for Password {
    fn key(&self) -> &str {
        "password"
    }
    fn help(&self) -> &str {
        "password <old password> = <new password>\n\nChange your password."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        let (Some(new), old) = (ctx.rhs.clone(), ctx.lhs.clone()) else {
            ctx.msg("Usage: password <oldpass> = <newpass>");
            return;
        };
        if old.is_empty() || new.is_empty() {
            ctx.msg("Usage: password <oldpass> = <newpass>");
            return;
        }
        let min = ctx.server.settings.security.min_password_length;
        if new.chars().count() < min {
            ctx.msg(format!(
                "Your password must be at least {min} characters long."
            ));
            return;
        }
        let db = ctx.server.db.clone();
        let security = ctx.server.settings.security.clone();
        let sessid = ctx.sessid;
        ctx.server.spawn_for(sessid, async move {
            let result: Result<bool, String> = async {
                let row = store::load_account(&db, account)
                    .await
                    .map_err(|e| e.to_string())?;
                let ok = verify_password(&security, old, row.map(|r| r.password_hash)).await;
                if !ok {
                    return Ok(false);
                }
                let hash = hash_password(&security, new)
                    .await
                    .map_err(|e| e.to_string())?;
                // Durable before the player is told.
                store::set_password_hash(&db, account, hash)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(true)
            }
            .await;
            let done: Completion = Box::new(move |server: &mut Server| match result {
                Ok(true) => {
                    tracing::info!(sessid, account, "password changed");
                    server.msg_session(sessid, "Password changed.");
                }
                Ok(false) => {
                    server.msg_session(sessid, "The specified old password isn't correct.")
                }
                Err(e) => {
                    tracing::error!(sessid, "password change failed: {e}");
                    server.msg_session(
                        sessid,
                        "Your password could not be changed right now. Please try again.",
                    );
                }
            });
            done
        });
    }
}

/// `quit[/all]`: close this connection, or all of your account's.
pub struct Quit;

impl Command for Quit {
    fn key(&self) -> &str {
        "quit"
    }
    fn switches(&self) -> &[&str] {
        &["all"]
    }
    fn help(&self) -> &str {
        "quit[/all]\n\nLeave the game and close this connection (with /all: every connection of your account)."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        let sessions = ctx.server.sessions.of_account(account);
        if ctx.has_switch("all") {
            for s in sessions {
                ctx.server.disconnect(
                    s,
                    Some("|RQuitting|n all sessions. Hope to see you soon again.".into()),
                );
            }
            return;
        }
        let others = sessions.len().saturating_sub(1);
        let reason = if others == 0 {
            "Quitting. Hope to see you again, soon.".to_string()
        } else {
            format!("|RQuitting|n. {others} session(s) are still connected.")
        };
        ctx.server.disconnect(ctx.sessid, Some(reason));
    }
}

/// The account's highest permission, as Evennia names it in `quell`.
fn account_rank(ctx: &CmdCtx<'_>, account: AccountId) -> String {
    let Some(a) = ctx.server.world.accounts.get(&account) else {
        return String::new();
    };
    if a.is_superuser {
        return "superuser".into();
    }
    a.permissions
        .iter()
        .filter_map(|p| permission_level(p))
        .max()
        .and_then(|l| PERMISSION_HIERARCHY.get(l))
        .map(|p| p.to_string())
        .unwrap_or_else(|| "Player".into())
}

fn is_quelled(ctx: &CmdCtx<'_>, account: AccountId) -> bool {
    ctx.server
        .world
        .accounts
        .get(&account)
        .is_some_and(|a| a.db.get(QUELL_ATTR) == Some(&serde_json::Value::Bool(true)))
}

/// `quell`: play with your character's permissions, not your account's.
pub struct Quell;

impl Command for Quell {
    fn key(&self) -> &str {
        "quell"
    }
    fn help(&self) -> &str {
        "quell\nunquell\n\nWhile you play a character, use its permissions instead of \
         your account's (never higher than your account's), and a superuser is held \
         to every lock: to test the game as a player would. unquell gives the \
         account's permissions back. It is kept across reloads and log-ins."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        let rank = account_rank(ctx, account);
        if is_quelled(ctx, account) {
            ctx.msg(format!(
                "Already quelling Account ({rank}) permissions. Use unquell to get them back."
            ));
            return;
        }
        ctx.server.world.update_account(account, |a| {
            a.db.insert(QUELL_ATTR.into(), serde_json::Value::Bool(true));
        });
        let puppet = ctx
            .caller()
            .and_then(|p| ctx.server.world.get(p))
            .map(|o| o.key.clone());
        ctx.msg(match puppet {
            Some(name) => format!(
                "Quelling to current puppet's permissions ({name}). Your Account ({rank}) \
                 permissions are back with unquell."
            ),
            None => format!(
                "Quelling Account ({rank}) permissions: they are set aside while you play a \
                 character. Use unquell to get them back."
            ),
        });
    }
}

/// `unquell`: your account's permissions again.
pub struct Unquell;

impl Command for Unquell {
    fn key(&self) -> &str {
        "unquell"
    }
    fn help(&self) -> &str {
        "unquell\n\nGive your account's permissions back after quell."
    }
    fn auto_help(&self) -> bool {
        false
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        let rank = account_rank(ctx, account);
        if !is_quelled(ctx, account) {
            ctx.msg(format!("Account ({rank}) permissions were not quelled."));
            return;
        }
        ctx.server.world.update_account(account, |a| {
            a.db.remove(QUELL_ATTR);
        });
        ctx.msg(format!("Account ({rank}) permissions unquelled."));
    }
}
