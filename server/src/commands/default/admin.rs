//! Commands for running the game: `reload`, `reset`, `shutdown` (Developers),
//! `server`, `boot` and `perm` (Admins).

use tavern_shared::SessId;
use tavern_shared::link::StopMode;

use crate::commands::{CmdCtx, CmdSet, Command};
use crate::model::locks::{PERMISSION_HIERARCHY, permission_level};
use crate::model::world::{AccountId, ObjId, Search};

/// Adds the default admin commands (reload, reset, shutdown, server, boot, perm).
pub fn add_all(set: &mut CmdSet) {
    set.add(Reload)
        .add(Reset)
        .add(Shutdown)
        .add(ServerStatus)
        .add(Boot)
        .add(Perm);
}

macro_rules! stop_command {
    ($name:ident, $key:literal, $aliases:expr, $mode:expr, $help:literal) => {
        #[doc = concat!("`", $key, "`: see its help text.")]
        pub struct $name;

        impl Command for $name {
            fn key(&self) -> &str {
                $key
            }
            fn aliases(&self) -> &[&str] {
                $aliases
            }
            fn help(&self) -> &str {
                $help
            }
            fn help_category(&self) -> &str {
                "System"
            }
            fn locks(&self) -> &str {
                "cmd:perm(Developer)"
            }
            fn func(&self, ctx: &mut CmdCtx<'_>) {
                ctx.server.request_stop_by(ctx.sessid, $mode);
            }
        }
    };
}

stop_command!(
    Reload,
    "reload",
    &["restart"],
    StopMode::Reload,
    "reload\n\nRestart the game server with the code now on disk. Nobody is disconnected; \
     what players type meanwhile is answered by the new server."
);
stop_command!(
    Reset,
    "reset",
    &[],
    StopMode::Reset,
    "reset\n\nRestart the game server as if it were started cold (cold-start hooks run). \
     Nobody is disconnected."
);
/// `shutdown[/now]`: stop the game, after a confirmation (none with `/now`).
pub struct Shutdown;

impl Command for Shutdown {
    fn key(&self) -> &str {
        "shutdown"
    }
    fn switches(&self) -> &[&str] {
        &["now"]
    }
    fn help(&self) -> &str {
        "shutdown[/now]\n\nStop the game: server and portal. Everyone is told and disconnected. \
         You are asked to confirm; /now stops at once (and `tavern stop` from the launcher asks nothing)."
    }
    fn help_category(&self) -> &str {
        "System"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Developer)"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.has_switch("now") {
            ctx.server.request_stop(StopMode::Shutdown);
            return;
        }
        ctx.ask(
            "This stops the whole game and disconnects everyone. Shut down yes/[no]? ",
            false,
            |server, sessid, answer| {
                if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                    server.request_stop(StopMode::Shutdown);
                } else {
                    server.msg_session(sessid, "Shutdown aborted.");
                }
            },
        );
    }
}

/// The resident memory of this process, in KiB (Linux), if known.
fn rss_kib() -> Option<u64> {
    tavern_shared::metrics::rss_bytes().map(|b| b / 1024)
}

/// `server`: uptime, sessions, objects and memory of the running server.
pub struct ServerStatus;

impl Command for ServerStatus {
    fn key(&self) -> &str {
        "server"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn aliases(&self) -> &[&str] {
        &["serverload"]
    }
    fn help(&self) -> &str {
        "server\n\nHow the game server is doing: uptime, sessions, accounts, objects, memory."
    }
    fn help_category(&self) -> &str {
        "System"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Admin)"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let s = &ctx.server;
        let up = (s.now() - s.started).max(0) / 1000;
        let logged_in = s.sessions.logged_in().count();
        let memory = rss_kib()
            .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
            .unwrap_or_else(|| "unknown".into());
        let text = format!(
            "|wServer status|n\n \
             Uptime:     {}d {:02}:{:02}:{:02}\n \
             Started as: {:?}\n \
             Sessions:   {} ({} logged in)\n \
             Accounts:   {}\n \
             Objects:    {}\n \
             Memory:     {memory} (server process)\n \
             Mode:       multisession mode {}",
            up / 86400,
            up / 3600 % 24,
            up / 60 % 60,
            up % 60,
            s.start_mode,
            s.sessions.len(),
            logged_in,
            s.world.accounts.len(),
            s.world.len(),
            s.settings.server.multisession_mode,
        );
        ctx.msg(text);
    }
}

/// The highest hierarchy level among the caller's permissions.
fn own_level(ctx: &CmdCtx<'_>) -> Option<usize> {
    let a = ctx.accessor();
    PERMISSION_HIERARCHY
        .iter()
        .rposition(|p| ctx.server.has_perm(a, p))
}

/// `boot[/quiet] <account> [: reason]`: disconnect an account's sessions.
pub struct Boot;

impl Command for Boot {
    fn key(&self) -> &str {
        "boot"
    }
    fn switches(&self) -> &[&str] {
        &["quiet", "sid"]
    }
    fn help(&self) -> &str {
        "boot[/quiet] <account> [: reason]\nboot/sid <session id> [: reason]\n\n\
         Disconnect an account's sessions (or one session) from the game."
    }
    fn help_category(&self) -> &str {
        "Admin"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Admin)"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let (who, reason) = match ctx.args.split_once(':') {
            Some((w, r)) => (w.trim().to_string(), r.trim().to_string()),
            None => (ctx.args.clone(), String::new()),
        };
        if who.is_empty() {
            ctx.msg("Usage: boot[/quiet] <account> [: reason]");
            return;
        }
        let targets: Vec<SessId> = if ctx.has_switch("sid") {
            match who.parse::<SessId>() {
                Ok(id) if ctx.server.sessions.get(id).is_some() => vec![id],
                _ => {
                    ctx.msg(format!("No session with id {who}."));
                    return;
                }
            }
        } else {
            match ctx.server.world.account_named(who.trim_start_matches('*')) {
                Some(a) => {
                    let target_super = ctx
                        .server
                        .world
                        .accounts
                        .get(&a)
                        .is_some_and(|x| x.is_superuser);
                    if target_super && !ctx.server.is_superuser(ctx.sessid) {
                        ctx.msg("You cannot boot a superuser.");
                        return;
                    }
                    ctx.server.sessions.of_account(a)
                }
                None => {
                    ctx.msg(format!("No account named '{who}' is connected."));
                    return;
                }
            }
        };
        if targets.is_empty() {
            ctx.msg(format!("No account named '{who}' is connected."));
            return;
        }
        let by = ctx.caller_name();
        let mut msg = format!("You have been disconnected by {by}.");
        if !reason.is_empty() {
            msg.push_str(&format!("\nReason given: {reason}"));
        }
        let n = targets.len();
        for s in targets {
            let reason = if ctx.has_switch("quiet") {
                None
            } else {
                Some(msg.clone())
            };
            ctx.server.disconnect(s, reason);
        }
        tracing::info!(by = %by, target = %who, sessions = n, "boot");
        ctx.msg(format!("You booted {who} ({n} session(s))."));
    }
}

/// `perm[/del] <object> [= <permission>]` (`*name` for an account): show, give or take permissions.
pub struct Perm;

enum PermTarget {
    Account(AccountId),
    Object(ObjId),
}

impl Command for Perm {
    fn key(&self) -> &str {
        "perm"
    }
    fn switches(&self) -> &[&str] {
        &["del"]
    }
    fn aliases(&self) -> &[&str] {
        &["setperm"]
    }
    fn help(&self) -> &str {
        "perm[/del] <object> [= <permission>[, <permission> ...]]\n\
         perm[/del] *<account> [= <permission>[, ...]]\n\n\
         List, give or (with /del) take permissions. The hierarchy is \
         Player < Helper < Builder < Admin < Developer; you cannot give or take one above your own."
    }
    fn help_category(&self) -> &str {
        "Admin"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Admin)"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.lhs.is_empty() {
            ctx.msg("Usage: perm[/del] <object or *account> [= permission, ...]");
            return;
        }
        let target = if let Some(name) = ctx.lhs.strip_prefix('*') {
            match ctx.server.world.account_named(name.trim()) {
                Some(a) => PermTarget::Account(a),
                None => {
                    ctx.msg(format!(
                        "Could not find an account named '{}'.",
                        name.trim()
                    ));
                    return;
                }
            }
        } else {
            let s = Search::new(ctx.caller()).location().inventory().global();
            let Some(o) = ctx.search_with(s, &ctx.lhs.clone()) else {
                return;
            };
            PermTarget::Object(o)
        };
        let (name, current, what) = match &target {
            PermTarget::Account(a) => {
                let acc = &ctx.server.world.accounts[a];
                (acc.name.clone(), acc.permissions.clone(), "the Account")
            }
            PermTarget::Object(o) => {
                let obj = ctx.server.world.get(*o).expect("found");
                (
                    obj.key.clone(),
                    obj.permissions.clone(),
                    "the Object/Character",
                )
            }
        };
        let Some(rhs) = ctx.rhs.clone() else {
            let list = if current.is_empty() {
                "<None>".to_string()
            } else {
                current.join(", ")
            };
            ctx.msg(format!("Permissions on |w{name}|n: {list}"));
            return;
        };
        let own = if ctx.server.is_superuser(ctx.sessid) {
            Some(usize::MAX)
        } else {
            own_level(ctx)
        };
        let wanted = crate::commands::comma_list(&rhs);
        if wanted.is_empty() {
            ctx.msg(format!(
                "No permission given for {name}. Usage: perm[/del] <object or *account> = \
                 <permission>[, <permission> ...]. Nothing was changed."
            ));
            return;
        }
        let mut changed = Vec::new();
        let mut updated = current.clone();
        for perm in wanted {
            let level = permission_level(&perm);
            if level.is_some_and(|l| own.is_none_or(|o| l > o)) {
                ctx.msg(format!(
                    "You are not allowed to give or take the permission '{perm}'."
                ));
                continue;
            }
            let perm = match level {
                Some(l) => PERMISSION_HIERARCHY[l].to_string(),
                None => perm,
            };
            let has = updated.iter().any(|p| p.eq_ignore_ascii_case(&perm));
            if ctx.has_switch("del") {
                if has {
                    updated.retain(|p| !p.eq_ignore_ascii_case(&perm));
                    ctx.msg(format!("Permission '{perm}' was removed from {name}."));
                    changed.push(perm);
                } else {
                    ctx.msg(format!("{name} does not have the permission '{perm}'."));
                }
            } else if has {
                ctx.msg(format!("{name} already has the permission '{perm}'."));
            } else {
                updated.push(perm.clone());
                ctx.msg(format!("Permission '{perm}' given to {name} ({what})."));
                changed.push(perm);
            }
        }
        if changed.is_empty() {
            return;
        }
        let by = ctx.caller_name();
        let verb = if ctx.has_switch("del") {
            "removes from you"
        } else {
            "gives you"
        };
        let note = format!(
            "{by} {verb} ({what}) the permission(s) '{}'.",
            changed.join("', '")
        );
        match target {
            PermTarget::Account(a) => {
                ctx.server
                    .world
                    .update_account(a, |acc| acc.permissions = updated);
                ctx.server.msg_account(a, &note);
            }
            PermTarget::Object(o) => {
                ctx.server.world.update(o, |obj| obj.permissions = updated);
                ctx.server.msg_obj(o, &note);
            }
        }
    }
}
