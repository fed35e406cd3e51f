//! `channel` (alias `chan`), Evennia's channel command, and talking on a
//! channel by its name or an alias as if it were a command (`pub Hello`,
//! `pub :waves`).

use tavern_shared::markup::escape;

use crate::commands::{CmdCtx, CmdSet, Command};
use crate::model::channels::ChannelId;
use crate::model::ids::AccountId;
use crate::model::locks::LockSet;

/// Adds `channel`.
pub fn add_all(set: &mut CmdSet) {
    set.add(ChannelCmd).add(Irc2Chan);
}

/// How many history lines one `channel/history` shows.
const HISTORY_PAGE: usize = 20;

const HELP: &str = "channel[/switch] [<channel>] [= <text or value>]

Talk on channels and manage them.

  channel                       your channels
  channel/all                   every channel you may listen to
  channel <channel>             about one channel
  channel <channel> <text>      talk on it (also: channel <channel> = <text>)
  <channel or alias> <text>     the same, with a channel's name or your alias
  <channel> :waves              a pose: [Public] Anna waves
  channel/sub <channel>[ = a;b] join it, with your own aliases for it
  channel/unsub <channel>       leave it (your aliases for it go too)
  channel/alias <channel> = a;b your own aliases;  channel/unalias <alias>
  channel/who <channel>         who listens
  channel/history <channel> [= N]  the last 20 lines, or 20 lines from N back
  channel/mute <channel>        stay subscribed but hear nothing; /unmute
  channel/create <name>[;alias;...][:kind] [= description]
  channel/destroy <channel>     (asks first)
  channel/desc <channel> = <description>
  channel/lock <channel> = <locks>;  channel/unlock <channel> = <access type>
  channel/boot <channel> = <account>[: reason]
  channel/ban <channel> = <account>[: reason];  channel/ban <channel> lists bans
  channel/unban <channel> = <account>

Managing a channel takes its control lock (its maker has it); locks also take Admin.";

/// `channel`: see [`HELP`].
pub struct ChannelCmd;

impl Command for ChannelCmd {
    fn key(&self) -> &str {
        "channel"
    }
    fn aliases(&self) -> &[&str] {
        &["chan", "channels"]
    }
    fn switches(&self) -> &[&str] {
        &[
            "all", "sub", "unsub", "alias", "unalias", "who", "history", "mute", "unmute",
            "create", "destroy", "desc", "lock", "unlock", "boot", "ban", "unban",
        ]
    }
    fn locks(&self) -> &str {
        "cmd:not pperm(channel_banned)"
    }
    fn help(&self) -> &str {
        HELP
    }
    fn help_category(&self) -> &str {
        "Comms"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = ctx.account() else { return };
        let switch = ctx.switches.first().cloned().unwrap_or_default();
        match switch.as_str() {
            "" if ctx.args.is_empty() => list(ctx, me, false),
            "" => talk_or_show(ctx, me),
            "all" => list(ctx, me, true),
            "create" => create(ctx, me),
            "unalias" => {
                let alias = ctx.args.trim().to_string();
                if alias.is_empty() {
                    ctx.msg("Usage: channel/unalias <alias>. Nothing was done.");
                } else if ctx.server.channel_alias_remove(me, &alias) {
                    ctx.msg(format!("Your alias '{}' is gone.", escape(&alias)));
                } else {
                    ctx.msg(format!("You have no channel alias '{}'.", escape(&alias)));
                }
            }
            _ => {
                if ctx.lhs.is_empty() {
                    ctx.msg(format!(
                        "Usage: channel/{switch} <channel>. Nothing was done."
                    ));
                    return;
                }
                let name = ctx.lhs.clone();
                let Some(ch) = find(ctx, me, &name) else {
                    return;
                };
                on_channel(ctx, me, &switch, ch);
            }
        }
    }
}

/// The channel a name means for the caller, or a message.
fn find(ctx: &mut CmdCtx<'_>, me: AccountId, name: &str) -> Option<ChannelId> {
    let ch = ctx.server.channel_for(me, name);
    if ch.is_none() {
        ctx.msg(format!(
            "No channel is called '{}'. channel/all lists them.",
            escape(name)
        ));
    }
    ch
}

fn key_of(ctx: &CmdCtx<'_>, ch: ChannelId) -> String {
    ctx.server
        .world
        .channels
        .get(ch)
        .map(|c| escape(&c.key))
        .unwrap_or_default()
}

fn list(ctx: &mut CmdCtx<'_>, me: AccountId, all: bool) {
    let mine = ctx.server.channel_aliases(me);
    let mut rows = Vec::new();
    let ids: Vec<ChannelId> = ctx.server.world.channels.all().map(|c| c.id).collect();
    for ch in ids {
        let may = ctx.server.channel_access(ch, me, "listen");
        let Some(c) = ctx.server.world.channels.get(ch) else {
            continue;
        };
        let subbed = c.is_subscribed(me);
        if !(subbed || all && may) {
            continue;
        }
        let state = match (subbed, c.is_muted(me)) {
            (true, true) => "Muting",
            (true, false) => "Yes",
            _ => "No",
        };
        let mut names: Vec<String> = c.aliases.clone();
        names.extend(
            mine.iter()
                .filter(|(_, id)| **id == ch)
                .map(|(a, _)| a.clone()),
        );
        rows.push(format!(
            " {:<16} {:<7} {:<20} {}",
            escape(&c.key),
            state,
            escape(&names.join(";")),
            escape(&c.desc)
        ));
    }
    if rows.is_empty() {
        ctx.msg(if all {
            "There are no channels you may listen to."
        } else {
            "You are not listening to any channel. channel/all lists them."
        });
        return;
    }
    let title = if all { "Channels" } else { "Your channels" };
    ctx.msg(format!(
        "|w{title}:|n\n |w{:<16} {:<7} {:<20} {}|n\n{}",
        "channel",
        "joined",
        "aliases",
        "description",
        rows.join("\n")
    ));
}

fn talk_or_show(ctx: &mut CmdCtx<'_>, me: AccountId) {
    let (name, text) = match ctx.rhs.clone() {
        Some(text) => (ctx.lhs.clone(), text),
        None => {
            let args = ctx.args.clone();
            match args.split_once(char::is_whitespace) {
                Some((n, t)) => (n.to_string(), t.trim().to_string()),
                None => (args, String::new()),
            }
        }
    };
    let Some(ch) = find(ctx, me, &name) else {
        return;
    };
    if text.is_empty() {
        show(ctx, me, ch);
        return;
    }
    say(ctx, me, ch, &text);
}

/// Says a line as the caller (a leading `:` or `;` poses).
pub(crate) fn say(ctx: &mut CmdCtx<'_>, me: AccountId, ch: ChannelId, text: &str) {
    let (text, pose) = match text.strip_prefix(':').or_else(|| text.strip_prefix(';')) {
        Some(rest) => (rest.trim(), true),
        None => (text, false),
    };
    if let Err(e) = ctx.server.channel_send_as(ch, me, text, pose) {
        let mut msg = e.to_string();
        if let Some(first) = msg.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        if !msg.ends_with(['.', '!', '?']) {
            msg.push('.');
        }
        ctx.msg(msg);
    }
}

fn show(ctx: &mut CmdCtx<'_>, me: AccountId, ch: ChannelId) {
    let Some(c) = ctx.server.world.channels.get(ch) else {
        return;
    };
    let state = if !c.is_subscribed(me) {
        "You are not listening (channel/sub joins)."
    } else if c.is_muted(me) {
        "You are listening, muted."
    } else {
        "You are listening."
    };
    ctx.msg(format!(
        "|wChannel {}|n{}\n {}\n Locks: {}\n {} subscriber(s). {state}",
        escape(&c.key),
        if c.aliases.is_empty() {
            String::new()
        } else {
            format!(" (aliases: {})", escape(&c.aliases.join(", ")))
        },
        if c.desc.is_empty() {
            "No description.".to_string()
        } else {
            escape(&c.desc)
        },
        escape(&c.locks.to_string()),
        c.subscribers().len()
    ));
}

fn create(ctx: &mut CmdCtx<'_>, me: AccountId) {
    let spec = ctx.lhs.trim().to_string();
    if spec.is_empty() {
        ctx.msg(
            "Usage: channel/create <name>[;alias;...][:kind] [= description]. Nothing was done.",
        );
        return;
    }
    let (names, kind) = match spec.rsplit_once(':') {
        Some((n, k)) => (n.to_string(), k.trim().to_string()),
        None => (spec, String::new()),
    };
    let mut parts = names.split(';').map(str::trim).filter(|p| !p.is_empty());
    let Some(key) = parts.next().map(str::to_string) else {
        ctx.msg("A channel needs a name. Nothing was done.");
        return;
    };
    let aliases: Vec<String> = parts.map(str::to_string).collect();
    let made: usize = ctx
        .server
        .world
        .accounts
        .get(&me)
        .and_then(|a| a.attr(crate::runtime::channels::CHANNELS_MADE_ATTR))
        .unwrap_or(0);
    let cap = crate::runtime::channels::MAX_CHANNELS_MADE;
    if made >= cap && !ctx.has_perm("Admin") {
        ctx.msg(format!(
            "You have made {cap} channels already. Nothing was done."
        ));
        return;
    }
    let desc = ctx.rhs.clone().unwrap_or_default();
    if desc.chars().count() > 200 {
        ctx.msg("A channel's description is at most 200 characters. Nothing was done.");
        return;
    }
    let locks = format!("send:all();listen:all();control:pid({me}) or perm(Admin)");
    match ctx
        .server
        .channel_create(&key, &aliases, &desc, &locks, &kind)
    {
        Ok(ch) => {
            let _ = ctx.server.channel_sub(ch, me);
            ctx.server.world.update_account(me, |a| {
                a.set_attr(crate::runtime::channels::CHANNELS_MADE_ATTR, made + 1)
            });
            ctx.msg(format!("Created channel {} and joined it.", escape(&key)));
        }
        Err(e) => ctx.msg(format!("Cannot make that channel: {e}. Nothing was done.")),
    }
}

fn need(ctx: &mut CmdCtx<'_>, me: AccountId, ch: ChannelId, access: &str) -> bool {
    if ctx.server.channel_access(ch, me, access) {
        return true;
    }
    let key = key_of(ctx, ch);
    ctx.msg(format!(
        "You may not do that on {key} (it takes its {access} lock). Nothing was done."
    ));
    false
}

fn on_channel(ctx: &mut CmdCtx<'_>, me: AccountId, switch: &str, ch: ChannelId) {
    let key = key_of(ctx, ch);
    let rhs = ctx.rhs.clone().unwrap_or_default();
    match switch {
        "sub" => match ctx.server.channel_sub(ch, me) {
            Ok(()) => {
                let aliases: Vec<String> = rhs
                    .split(';')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect();
                for a in &aliases {
                    if let Err(e) = ctx.server.channel_alias_set(me, a, ch) {
                        ctx.msg(format!("{e}."));
                    }
                }
                ctx.msg(format!(
                    "You now listen to {key}. Talk with: {} <text>",
                    aliases
                        .first()
                        .map(|a| escape(a))
                        .unwrap_or_else(|| key.to_lowercase())
                ));
            }
            Err(e) => ctx.msg(format!("You cannot join: {e}.")),
        },
        "unsub" => {
            if ctx.server.channel_unsub(ch, me) {
                ctx.msg(format!("You stop listening to {key}."));
            } else {
                ctx.msg(format!("You are not listening to {key}."));
            }
        }
        "alias" => {
            let aliases: Vec<&str> = rhs
                .split(';')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .collect();
            if aliases.is_empty() {
                ctx.msg("Usage: channel/alias <channel> = <alias>[;<alias>]. Nothing was done.");
                return;
            }
            for a in &aliases {
                if let Err(e) = ctx.server.channel_alias_set(me, a, ch) {
                    ctx.msg(format!("{e}. Nothing more was done."));
                    return;
                }
            }
            ctx.msg(format!(
                "{key} is also '{}' for you now.",
                escape(&aliases.join("', '"))
            ));
        }
        "who" => {
            let Some(c) = ctx.server.world.channels.get(ch) else {
                return;
            };
            let names: Vec<String> = c
                .subscribers()
                .iter()
                .filter_map(|a| {
                    let acc = ctx.server.world.accounts.get(a)?;
                    let online = !ctx.server.sessions.of_account(*a).is_empty();
                    let mut n = escape(&acc.name);
                    match (c.is_muted(*a), online) {
                        (true, false) => n.push_str(" (muting, offline)"),
                        (true, true) => n.push_str(" (muting)"),
                        (false, false) => n.push_str(" (offline)"),
                        _ => {}
                    }
                    Some(n)
                })
                .collect();
            ctx.msg(format!(
                "|wListening to {key}:|n {}",
                if names.is_empty() {
                    "nobody".into()
                } else {
                    names.join(", ")
                }
            ));
        }
        "history" => {
            if !ctx
                .server
                .world
                .channels
                .get(ch)
                .is_some_and(|c| c.is_subscribed(me))
                && !need(ctx, me, ch, "listen")
            {
                return;
            }
            let back = if rhs.trim().is_empty() {
                0
            } else {
                match rhs.trim().parse::<usize>() {
                    Ok(n) => n,
                    Err(_) => {
                        ctx.msg(format!(
                            "channel/history {key} = <how many lines back>: '{}' is not a number.",
                            escape(&rhs)
                        ));
                        return;
                    }
                }
            };
            let total = ctx.server.world.channels.history_len(ch);
            let lines: Vec<String> = ctx
                .server
                .world
                .channels
                .history(ch, HISTORY_PAGE, back)
                .iter()
                .map(|l| {
                    let at = crate::commands::minute_text(l.at);
                    let who = escape(&l.sender);
                    let text = escape(&l.text);
                    match (l.sender.is_empty(), l.pose) {
                        (true, _) => format!("[{at}] {text}"),
                        (false, true) => format!("[{at}] {who} {text}"),
                        (false, false) => format!("[{at}] {who}: {text}"),
                    }
                })
                .collect();
            if lines.is_empty() {
                ctx.msg(format!("Nothing was said on {key} that far back."));
                return;
            }
            let mut out = format!("|wHistory of {key}:|n\n{}", lines.join("\n"));
            let older = total.saturating_sub(back + lines.len());
            if older > 0 {
                out.push_str(&format!(
                    "\n({older} older line(s): channel/history {key} = {})",
                    back + HISTORY_PAGE
                ));
            }
            ctx.msg_paged(out);
        }
        "mute" | "unmute" => {
            let mute = switch == "mute";
            let subbed = ctx
                .server
                .world
                .channels
                .get(ch)
                .is_some_and(|c| c.is_subscribed(me));
            if !subbed {
                ctx.msg(format!("You are not listening to {key}."));
                return;
            }
            let changed = ctx.server.world.channels.mute(ch, me, mute);
            ctx.msg(match (mute, changed) {
                (true, true) => {
                    format!("You mute {key}: you hear nothing of it until channel/unmute.")
                }
                (true, false) => format!("You have muted {key} already."),
                (false, true) => format!("You hear {key} again."),
                (false, false) => format!("You are not muting {key}."),
            });
        }
        "destroy" => {
            if !need(ctx, me, ch, "control") {
                return;
            }
            ctx.ask(
                &format!("Destroy channel {key} and its history? yes/[no] "),
                false,
                move |server, sessid, answer| {
                    if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                        server.msg_session(sessid, "Nothing was destroyed.");
                        return;
                    }
                    if let Some(c) = server.world.channels.get(ch) {
                        let listeners: Vec<AccountId> = c.subscribers().iter().copied().collect();
                        let key = escape(&c.key);
                        for a in listeners {
                            server.msg_account(a, &format!("Channel {key} was destroyed."));
                        }
                        server.world.channels.delete(ch);
                    }
                },
            );
        }
        "desc" => {
            if ctx.rhs.is_none() {
                ctx.msg("Usage: channel/desc <channel> = <description>. Nothing was done.");
                return;
            }
            if !need(ctx, me, ch, "control") {
                return;
            }
            let desc = rhs.clone();
            ctx.server.world.channels.update(ch, |c| c.desc = desc);
            ctx.msg(format!("The description of {key} is set."));
        }
        "lock" | "unlock" => {
            if rhs.trim().is_empty() {
                ctx.msg(format!(
                    "Usage: channel/{switch} <channel> = <{}>. Nothing was done.",
                    if switch == "lock" {
                        "locks"
                    } else {
                        "access type"
                    }
                ));
                return;
            }
            if !ctx.has_perm("Admin") {
                ctx.msg("Changing a channel's locks takes Admin. Nothing was done.");
                return;
            }
            if !need(ctx, me, ch, "control") {
                return;
            }
            if switch == "lock" {
                if let Err(e) = LockSet::parse(&rhs) {
                    ctx.msg(format!("{}. Nothing was done.", escape(&e.to_string())));
                    return;
                }
                let r = rhs.clone();
                ctx.server.world.channels.update(ch, |c| c.locks.add(&r));
                ctx.msg(format!("Locks of {key} set: {}", escape(&rhs)));
            } else {
                let t = rhs.trim().to_string();
                let removed = ctx
                    .server
                    .world
                    .channels
                    .update(ch, |c| c.locks.remove(&t))
                    .unwrap_or(false);
                ctx.msg(if removed {
                    format!("The {} lock of {key} is gone.", escape(&t))
                } else {
                    format!("{key} has no {} lock.", escape(&t))
                });
            }
        }
        "boot" | "ban" | "unban" => {
            if !need(ctx, me, ch, "control") {
                return;
            }
            if switch == "ban" && ctx.rhs.is_none() {
                let banned: Vec<String> = ctx
                    .server
                    .world
                    .channels
                    .get(ch)
                    .map(|c| {
                        c.banned
                            .iter()
                            .filter_map(|a| ctx.server.world.accounts.get(a))
                            .map(|a| escape(&a.name))
                            .collect()
                    })
                    .unwrap_or_default();
                ctx.msg(format!(
                    "Banned from {key}: {}",
                    if banned.is_empty() {
                        "nobody".into()
                    } else {
                        banned.join(", ")
                    }
                ));
                return;
            }
            let (who, reason) = match rhs.split_once(':') {
                Some((w, r)) => (w.trim().to_string(), r.trim().to_string()),
                None => (rhs.trim().to_string(), String::new()),
            };
            if who.is_empty() {
                ctx.msg(format!(
                    "Usage: channel/{switch} <channel> = <account>[: reason]. Nothing was done."
                ));
                return;
            }
            let Some(target) = ctx.server.world.account_named(&who) else {
                ctx.msg(format!(
                    "No account is called '{}'. Nothing was done.",
                    escape(&who)
                ));
                return;
            };
            if switch == "unban" {
                let was = ctx
                    .server
                    .world
                    .channels
                    .update(ch, |c| c.banned.remove(&target))
                    .unwrap_or(false);
                ctx.msg(if was {
                    format!("{} may join {key} again.", escape(&who))
                } else {
                    format!("{} was not banned from {key}.", escape(&who))
                });
                return;
            }
            let by = ctx
                .server
                .world
                .accounts
                .get(&me)
                .map(|a| a.name.clone())
                .unwrap_or_default();
            let was = ctx
                .server
                .channel_boot(ch, target, &by, &reason, switch == "ban");
            ctx.msg(match (switch, was) {
                ("ban", _) => format!("{} is banned from {key}.", escape(&who)),
                (_, true) => format!("{} was booted from {key}.", escape(&who)),
                _ => format!("{} is not listening to {key}.", escape(&who)),
            });
        }
        _ => {}
    }
}

/// `irc2chan` (Evennia's name): the channels' bridges to IRC and how each is
/// doing. Bridges are made in settings (`[[channels.irc]]`), not in game:
/// the IRC server and nick are the operator's to choose.
pub struct Irc2Chan;

impl Command for Irc2Chan {
    fn key(&self) -> &str {
        "irc2chan"
    }
    fn aliases(&self) -> &[&str] {
        &["bridges"]
    }
    fn switches(&self) -> &[&str] {
        &["list"]
    }
    fn locks(&self) -> &str {
        "cmd:perm(Developer)"
    }
    fn help_category(&self) -> &str {
        "Comms"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn help(&self) -> &str {
        "irc2chan[/list]\n\n\
         The channels' bridges to IRC (and any other bridges the game runs), with how each \
         is doing: connected, reconnecting and why. Bridges are set in settings.toml \
         ([[channels.irc]]: channel, server, irc_channel, nick) and start with the server."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if !ctx.args.trim().is_empty() {
            ctx.msg(
                "Bridges are set in settings.toml ([[channels.irc]]) and start with the \
                 server; irc2chan lists them. Nothing was changed.",
            );
            return;
        }
        let rows: Vec<String> = ctx
            .server
            .bridges
            .list
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let ch = ctx
                    .server
                    .world
                    .channels
                    .get(b.channel)
                    .map(|c| c.key.clone())
                    .unwrap_or_else(|| "(gone)".into());
                format!(
                    " {:>2}. {:<6} {:<16} {}",
                    i + 1,
                    escape(&b.name),
                    escape(&ch),
                    escape(&b.status)
                )
            })
            .collect();
        if rows.is_empty() {
            ctx.msg("No channel is bridged. Bridges are set in settings.toml ([[channels.irc]]).");
        } else {
            ctx.msg(format!("|wBridges:|n\n{}", rows.join("\n")));
        }
    }
}
