//! Person to person: `page` (account to account, anywhere, kept for who is
//! offline) and `whisper` (to characters in the same room), and `nick`
//! (a player's own input substitutions), as Evennia's.

use tavern_shared::markup::escape;

use crate::commands::{CmdCtx, CmdSet, Command, comma_list, minute_text, time_text};
use crate::model::ids::AccountId;
use crate::runtime::nicks::{Nick, NickKind};
use crate::runtime::pages::{MAX_PAGE_LEN, Page};

/// Adds `page`, `nick` and `mail` (to an account's set).
pub fn add_account_commands(set: &mut CmdSet) {
    set.add(PageCmd).add(NickCmd).add(MailCmd);
}

/// Adds `whisper` (to a character's set).
pub fn add_character_commands(set: &mut CmdSet) {
    set.add(Whisper);
}

/// `page`: see its help.
pub struct PageCmd;

impl Command for PageCmd {
    fn key(&self) -> &str {
        "page"
    }
    fn aliases(&self) -> &[&str] {
        &["tell"]
    }
    fn switches(&self) -> &[&str] {
        &["last", "list"]
    }
    fn locks(&self) -> &str {
        "cmd:not pperm(page_banned)"
    }
    fn help_category(&self) -> &str {
        "Comms"
    }
    fn help(&self) -> &str {
        "page <account> <message>\npage <account>[,<account>...] = <message>\n\n\
         Send a message to other players' accounts, wherever they are; start it with : to \
         pose (page Bob = :waves). Someone offline sees it at their next login.\n\n  \
         page           your last pages, sent and received\n  page <N>       the last N\n  \
         page/last      the last one\n  page <message> again to whom you paged last"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = ctx.account() else { return };
        let args = ctx.args.trim().to_string();
        if ctx.has_switch("last") {
            show_pages(ctx, me, 1);
            return;
        }
        if args.is_empty() || ctx.has_switch("list") {
            show_pages(ctx, me, args.parse().unwrap_or(10));
            return;
        }
        if ctx.rhs.is_none()
            && let Ok(n) = args.parse::<usize>()
        {
            show_pages(ctx, me, n);
            return;
        }
        let (targets, text) = match ctx.rhs.clone() {
            Some(text) => {
                let names = comma_list(&ctx.lhs);
                match accounts_named(ctx, &names) {
                    Some(t) => (t, text),
                    None => return,
                }
            }
            None => {
                let (first, rest) = args
                    .split_once(char::is_whitespace)
                    .map(|(f, r)| (f.to_string(), r.trim().to_string()))
                    .unwrap_or((args.clone(), String::new()));
                let first = ctx.server.account_nick(me, &first);
                match ctx.server.world.account_named(&first) {
                    Some(a) if !rest.is_empty() => (vec![a], rest),
                    Some(_) => {
                        ctx.msg("Page what? (page <account> <message>)");
                        return;
                    }
                    // Not an account: all of it goes to whom you paged last.
                    None => match last_targets(ctx, me) {
                        Some(t) => (t, args.clone()),
                        None => {
                            ctx.msg(format!(
                                "No account is called '{}', and you have paged nobody yet.",
                                escape(&first)
                            ));
                            return;
                        }
                    },
                }
            }
        };
        let text = text.trim();
        let (text, pose) = match text.strip_prefix(':') {
            Some(rest) => (rest.trim(), true),
            None => (text, false),
        };
        if text.is_empty() {
            ctx.msg("Page what? Nothing was sent.");
            return;
        }
        if text.chars().count() > MAX_PAGE_LEN {
            ctx.msg(format!(
                "That page is too long (at most {MAX_PAGE_LEN} characters). Nothing was sent."
            ));
            return;
        }
        let offline = ctx.server.page(me, &targets, text, pose);
        let names: Vec<String> = targets
            .iter()
            .map(|a| escape(ctx.server.world.account_name(*a)))
            .collect();
        let mine = escape(ctx.server.world.account_name(me));
        ctx.msg(if pose {
            format!(
                "Long distance to {}: {mine} {}",
                names.join(", "),
                escape(text)
            )
        } else {
            format!("You paged {} with: '{}'.", names.join(", "), escape(text))
        });
        for a in offline {
            ctx.msg(format!(
                "{} is offline. They will see your message at their next login.",
                escape(ctx.server.world.account_name(a))
            ));
        }
    }
}

fn accounts_named(ctx: &mut CmdCtx<'_>, names: &[String]) -> Option<Vec<AccountId>> {
    if names.is_empty() {
        ctx.msg("Page whom? Nothing was sent.");
        return None;
    }
    let mut out = Vec::new();
    let me = ctx.account();
    for n in names {
        let n = &match me {
            Some(me) => ctx.server.account_nick(me, n),
            None => n.clone(),
        };
        match ctx.server.world.account_named(n) {
            Some(a) if !out.contains(&a) => out.push(a),
            Some(_) => {}
            None => {
                ctx.msg(format!(
                    "No account is called '{}'. Nothing was sent.",
                    escape(n)
                ));
                return None;
            }
        }
    }
    Some(out)
}

fn last_targets(ctx: &CmdCtx<'_>, me: AccountId) -> Option<Vec<AccountId>> {
    let mine = ctx.server.world.account_name(me).to_string();
    let last = ctx
        .server
        .pages(me)
        .into_iter()
        .rev()
        .find(|p| p.from == mine)?;
    let ids: Vec<AccountId> = last
        .to
        .iter()
        .filter_map(|n| ctx.server.world.account_named(n))
        .collect();
    (!ids.is_empty()).then_some(ids)
}

fn show_pages(ctx: &mut CmdCtx<'_>, me: AccountId, n: usize) {
    let all: Vec<Page> = ctx.server.pages(me);
    if all.is_empty() {
        ctx.msg("You have no pages.");
        return;
    }
    let mine = ctx.server.world.account_name(me).to_string();
    let start = all.len().saturating_sub(n.max(1));
    let lines: Vec<String> = all[start..]
        .iter()
        .map(|p| {
            let when = minute_text(p.at);
            if p.from == mine {
                format!(
                    "[{when}] to {}: {}{}",
                    escape(&p.to.join(", ")),
                    if p.pose { ":" } else { "" },
                    escape(&p.text)
                )
            } else {
                format!("[{when}] {}", p.received_text())
            }
        })
        .collect();
    ctx.msg(format!("|wYour pages:|n\n{}", lines.join("\n")));
}

/// `whisper <character>[, <character>] = <message>`.
pub struct Whisper;

impl Command for Whisper {
    fn key(&self) -> &str {
        "whisper"
    }
    fn help_category(&self) -> &str {
        "Comms"
    }
    fn help(&self) -> &str {
        "whisper <character>[, <character>...] = <message>\n\n\
         Say something only the characters named hear; they must be in the room with you."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = ctx.caller() else { return };
        let Some(text) = ctx.rhs.clone().filter(|t| !t.trim().is_empty()) else {
            ctx.msg("Usage: whisper <character>[, <character>] = <message>. Nothing was said.");
            return;
        };
        let names = comma_list(&ctx.lhs);
        if names.is_empty() {
            ctx.msg("Whisper to whom? Nothing was said.");
            return;
        }
        let mut to = Vec::new();
        for n in &names {
            let Some(o) = ctx.search(n) else { return };
            if o == me {
                ctx.msg("You whisper to yourself. Nobody else hears it.");
                return;
            }
            if !to.contains(&o) {
                to.push(o);
            }
        }
        let text = escape(text.trim());
        let my_name = escape(&ctx.caller_name());
        let shown: Vec<String> = to
            .iter()
            .map(|o| escape(ctx.server.world.name_of(*o)))
            .collect();
        for o in &to {
            ctx.server
                .msg_obj(*o, &format!("{my_name} whispers: \"{text}\""));
        }
        ctx.msg(format!("You whisper to {}, \"{text}\"", shown.join(", ")));
    }
}

/// `nick`: the player's own input substitutions.
pub struct NickCmd;

impl Command for NickCmd {
    fn key(&self) -> &str {
        "nick"
    }
    fn aliases(&self) -> &[&str] {
        &["nicks", "nickname"]
    }
    fn switches(&self) -> &[&str] {
        &[
            "inputline",
            "object",
            "account",
            "list",
            "delete",
            "clearall",
        ]
    }
    fn help_category(&self) -> &str {
        "General"
    }
    fn help(&self) -> &str {
        "nick <pattern> = <replacement>\n\n\
         Type less: a line matching the pattern runs the replacement instead. $1..$9 in the \
         pattern stand for words (the last one for the rest of the line) and must be in the \
         replacement too; * and ? are wildcards.\n\n  \
         nick greet $1 = say Hello, $1!     then: greet Bob\n  \
         nick build $1 $2 = create/drop $1;$2\n  \
         nick                             your nicks (also nick/list)\n  \
         nick/delete <pattern or number>  remove one\n  \
         nick/clearall                    remove them all (asks first)\n  \
         nick/object sword = rusty iron sword   a name for an object, wherever you \
         search for one (get sword)\n  \
         nick/account bob = Bobbington_the_Third   a name for an account (page bob = hi)\n\n\
         Lines starting with nick are never changed, so you can always undo one."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = ctx.account() else { return };
        let mut nicks = ctx.server.nicks(me);
        if ctx.has_switch("clearall") {
            if nicks.is_empty() {
                ctx.msg("You have no nicks.");
                return;
            }
            let n = nicks.len();
            ctx.ask(
                &format!("Remove all {n} of your nicks? yes/[no] "),
                false,
                move |server, sessid, answer| {
                    if matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                        server.set_nicks(me, &[]);
                        server.msg_session(sessid, "All your nicks are gone.");
                    } else {
                        server.msg_session(sessid, "Your nicks are kept.");
                    }
                },
            );
            return;
        }
        if ctx.has_switch("delete") {
            let which = ctx.args.trim().to_string();
            if which.is_empty() {
                ctx.msg("Usage: nick/delete <pattern or number>. Nothing was done.");
                return;
            }
            let at = match which.trim_start_matches('#').parse::<usize>() {
                Ok(n) if n >= 1 && n <= nicks.len() => Some(n - 1),
                _ => nicks
                    .iter()
                    .position(|n| n.pattern.eq_ignore_ascii_case(&which)),
            };
            match at {
                Some(i) => {
                    let gone = nicks.remove(i);
                    ctx.server.set_nicks(me, &nicks);
                    ctx.msg(format!("Nick '{}' removed.", escape(&gone.pattern)));
                }
                None => ctx.msg(format!(
                    "You have no nick '{}'. Nothing was done.",
                    escape(&which)
                )),
            }
            return;
        }
        let Some(replacement) = ctx.rhs.clone() else {
            if ctx.args.trim().is_empty() || ctx.has_switch("list") {
                if nicks.is_empty() {
                    ctx.msg("You have no nicks. nick <pattern> = <replacement> makes one.");
                    return;
                }
                let lines: Vec<String> = nicks
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        format!(
                            " {:>3}. {:<9} {} => {}",
                            i + 1,
                            n.kind.name(),
                            escape(&n.pattern),
                            escape(&n.replacement)
                        )
                    })
                    .collect();
                ctx.msg(format!("|wYour nicks:|n\n{}", lines.join("\n")));
            } else {
                let which = ctx.args.trim().to_string();
                match nicks
                    .iter()
                    .find(|n| n.pattern.eq_ignore_ascii_case(&which))
                {
                    Some(n) => ctx.msg(format!(
                        "{} => {}",
                        escape(&n.pattern),
                        escape(&n.replacement)
                    )),
                    None => ctx.msg(format!("You have no nick '{}'.", escape(&which))),
                }
            }
            return;
        };
        let kind = if ctx.has_switch("object") {
            NickKind::Object
        } else if ctx.has_switch("account") {
            NickKind::Account
        } else {
            NickKind::Inputline
        };
        let nick = match Nick::of_kind(kind, &ctx.lhs, &replacement) {
            Ok(n) => n,
            Err(e) => {
                ctx.msg(format!("{e} Nothing was done."));
                return;
            }
        };
        let replaced = nicks
            .iter()
            .position(|n| n.kind == kind && n.pattern.eq_ignore_ascii_case(&nick.pattern));
        match replaced {
            Some(i) => nicks[i] = nick.clone(),
            None if nicks.len() >= crate::runtime::nicks::MAX_NICKS => {
                ctx.msg("You have as many nicks as you may; remove one first. Nothing was done.");
                return;
            }
            None => nicks.push(nick.clone()),
        }
        ctx.server.set_nicks(me, &nicks);
        ctx.msg(format!(
            "{}ick '{}' {} '{}'.",
            match kind {
                NickKind::Inputline => "N",
                NickKind::Object => "Object n",
                NickKind::Account => "Account n",
            },
            escape(&nick.pattern),
            if replaced.is_some() {
                "now stands for"
            } else {
                "stands for"
            },
            escape(&nick.replacement)
        ));
    }
}

/// `mail`: letters between accounts.
pub struct MailCmd;

const MAIL_HELP: &str = "mail[/switch] [<#>] [<account>[,<account>] = <subject>/<text>]

Letters to other players' accounts, kept until deleted; unread ones are
announced when you log in.

  mail                          your inbox
  mail <#>                      read letter number #
  mail Bob, Cleo = Hi/How are you?   send (no /: no subject)
  mail/reply <#> = <text>       answer its sender
  mail/forward <account>[,...] = <#>[/<text>]
  mail/delete <#>               delete it (asks first)";

impl Command for MailCmd {
    fn key(&self) -> &str {
        "mail"
    }
    fn aliases(&self) -> &[&str] {
        &["@mail"]
    }
    fn switches(&self) -> &[&str] {
        &["delete", "forward", "reply"]
    }
    fn help_category(&self) -> &str {
        "Comms"
    }
    fn help(&self) -> &str {
        MAIL_HELP
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = ctx.account() else { return };
        let inbox = ctx.server.mail_inbox(me);
        let number = |s: &str| -> Option<usize> {
            let n = s.trim().trim_start_matches('#').parse::<usize>().ok()?;
            (n >= 1 && n <= inbox.len()).then(|| n - 1)
        };
        if ctx.has_switch("delete") {
            let Some(i) = number(&ctx.args) else {
                ctx.msg("Usage: mail/delete <#> (a number from your inbox). Nothing was done.");
                return;
            };
            let subject = escape(&inbox[i].subject);
            let letter = inbox[i].clone();
            ctx.ask(
                &format!("Delete letter {} ({subject})? yes/[no] ", i + 1),
                false,
                move |server, sessid, answer| {
                    if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
                        server.msg_session(sessid, "The letter is kept.");
                        return;
                    }
                    let mut now = server.mail_inbox(me);
                    // The inbox may have changed meanwhile: delete this letter.
                    if let Some(at) = now.iter().position(|m| *m == letter) {
                        now.remove(at);
                        server.mail_set_inbox(me, &now);
                        server.msg_session(sessid, "Letter deleted.");
                    } else {
                        server.msg_session(sessid, "That letter is gone already.");
                    }
                },
            );
            return;
        }
        if ctx.has_switch("reply") {
            let (Some(i), Some(text)) = (number(&ctx.lhs), ctx.rhs.clone()) else {
                ctx.msg("Usage: mail/reply <#> = <text>. Nothing was sent.");
                return;
            };
            let to_name = inbox[i].from.clone();
            let Some(to) = ctx.server.world.account_named(&to_name) else {
                ctx.msg(format!(
                    "{} has no account any more. Nothing was sent.",
                    escape(&to_name)
                ));
                return;
            };
            let subject = format!("RE: {}", inbox[i].subject.trim_start_matches("RE: "));
            let subject: String = subject
                .chars()
                .take(crate::runtime::mail::MAX_SUBJECT)
                .collect();
            sent(ctx, me, &[to], &subject, &text, false);
            return;
        }
        if ctx.has_switch("forward") {
            let rhs = ctx.rhs.clone().unwrap_or_default();
            let (num, extra) = match rhs.split_once('/') {
                Some((n, t)) => (n.to_string(), t.trim().to_string()),
                None => (rhs.clone(), String::new()),
            };
            let Some(i) = number(&num) else {
                ctx.msg(
                    "Usage: mail/forward <account>[,<account>] = <#>[/<text>]. Nothing was sent.",
                );
                return;
            };
            let names = comma_list(&ctx.lhs);
            let Some(to) = accounts_named(ctx, &names) else {
                return;
            };
            let m = &inbox[i];
            let body = format!(
                "{}{}--- Forwarded from {} ---\n{}",
                extra,
                if extra.is_empty() { "" } else { "\n" },
                m.from,
                m.body
            );
            let subject = format!("FWD: {}", m.subject);
            let subject: String = subject
                .chars()
                .take(crate::runtime::mail::MAX_SUBJECT)
                .collect();
            sent(ctx, me, &to, &subject, &body, true);
            return;
        }
        if let Some(text) = ctx.rhs.clone() {
            let names = comma_list(&ctx.lhs);
            let Some(to) = accounts_named(ctx, &names) else {
                return;
            };
            let (subject, body) = match text.split_once('/') {
                Some((s, b)) => (s.trim().to_string(), b.trim().to_string()),
                None => (String::new(), text.trim().to_string()),
            };
            sent(ctx, me, &to, &subject, &body, false);
            return;
        }
        if ctx.args.trim().is_empty() {
            if inbox.is_empty() {
                ctx.msg("Your mailbox is empty.");
                return;
            }
            let lines: Vec<String> = inbox
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let status = match (m.read, m.forwarded) {
                        (false, _) => "NEW",
                        (true, true) => "FWD",
                        _ => "-",
                    };
                    format!(
                        " {:>3} {:<16} {:<32} {} {}",
                        i + 1,
                        escape(&m.from),
                        escape(&m.subject),
                        minute_text(m.at),
                        status
                    )
                })
                .collect();
            ctx.msg(format!(
                "|wYour mail:|n\n |w{:>3} {:<16} {:<32} {:<16} {}|n\n{}",
                "#",
                "from",
                "subject",
                "date",
                "",
                lines.join("\n")
            ));
            return;
        }
        let Some(i) = number(&ctx.args) else {
            ctx.msg(format!(
                "You have no letter '{}'. mail lists them; mail Bob = Subject/Text sends one.",
                escape(ctx.args.trim())
            ));
            return;
        };
        let m = inbox[i].clone();
        let mut now = inbox;
        if !now[i].read {
            now[i].read = true;
            ctx.server.mail_set_inbox(me, &now);
        }
        ctx.msg(format!(
            "|wFrom:|n {}\n|wTo:|n {}\n|wSent:|n {}\n|wSubject:|n {}\n\n{}",
            escape(&m.from),
            escape(&m.to.join(", ")),
            time_text(m.at),
            escape(&m.subject),
            escape(&m.body)
        ));
    }
}

fn sent(
    ctx: &mut CmdCtx<'_>,
    me: AccountId,
    to: &[AccountId],
    subject: &str,
    body: &str,
    fwd: bool,
) {
    match ctx.server.mail_send(me, to, subject, body, fwd) {
        Ok(()) => {
            let names: Vec<String> = to
                .iter()
                .map(|a| escape(ctx.server.world.account_name(*a)))
                .collect();
            ctx.msg(format!("You sent your letter to {}.", names.join(", ")));
        }
        Err(e) => ctx.msg(format!("{e} Nothing was sent.")),
    }
}
