//! `help`, listing what the caller may use by category, and `sethelp`, for
//! builders to write help topics that are stored in the database.

use std::borrow::Cow;
use std::collections::BTreeMap;

use rustc_hash::FxHashSet;

use crate::commands::help_index::HelpIndexes;
use crate::commands::{CmdCtx, CmdSet, Command};
use crate::model::locks::LockSet;
use crate::model::world::HelpEntry;
use crate::runtime::server::{Completion, Server};
use crate::store;

/// Adds `help` and `sethelp`.
pub fn add_all(set: &mut CmdSet) {
    set.add(Help).add(SetHelp);
}

/// A topic as `help` shows it: a command's borrowed from the merged set,
/// the others copied.
struct Topic<'a> {
    key: Cow<'a, str>,
    category: Cow<'a, str>,
    text: Cow<'a, str>,
    aliases: &'a [String],
}

/// Everything the caller may read: their commands' help and the topics.
fn topics<'a>(ctx: &CmdCtx<'_>, cmdset: &'a CmdSet) -> Vec<Topic<'a>> {
    let accessor = ctx.accessor();
    let mut out: Vec<Topic<'a>> = Vec::new();
    let mut seen: FxHashSet<&str> = FxHashSet::default();
    for e in cmdset.commands() {
        if e.is_system()
            || !e.cmd.auto_help()
            || seen.contains(e.key.as_str())
            || !ctx
                .server
                .check_lock(&e.locks, accessor, e.obj, "cmd", true)
        {
            continue;
        }
        seen.insert(&e.key);
        out.push(Topic {
            key: Cow::Borrowed(&e.key),
            category: Cow::Borrowed(e.cmd.help_category()),
            text: Cow::Borrowed(e.cmd.help()),
            aliases: &e.aliases,
        });
    }
    for t in &ctx.server.game.help_topics {
        out.push(Topic {
            key: Cow::Owned(t.key.clone()),
            category: Cow::Owned(t.category.clone()),
            text: Cow::Owned(t.text.clone()),
            aliases: &[],
        });
    }
    for h in ctx.server.world.help().values() {
        if ctx
            .server
            .check_lock(&h.locks, accessor, None, "view", true)
        {
            out.retain(|t| t.key != h.key);
            out.push(Topic {
                key: Cow::Owned(h.key.clone()),
                category: Cow::Owned(h.category.clone()),
                text: Cow::Owned(h.text.clone()),
                aliases: &[],
            });
        }
    }
    out
}

/// The commands and topics the caller may read, by category: bare `help`.
fn index_text(ctx: &CmdCtx<'_>, cmdset: &CmdSet, width: usize) -> String {
    let all = topics(ctx, cmdset);
    let mut cats: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in &all {
        cats.entry(&t.category).or_default().push(&t.key);
    }
    let mut out = String::from("|wHelp: commands and topics you can read about|n");
    for (cat, mut keys) in cats {
        keys.sort();
        out.push_str(&format!("\n|y{cat}|n"));
        push_keys(&mut out, &keys, width);
    }
    out.push_str("\n\nType |whelp <command or topic>|n to read about one.");
    out
}

/// A topic's text split at its subtopics (as Evennia writes them): the text
/// before a line `# subtopics` is the topic's own, and each `## name` line
/// after it starts a subtopic, read as `help topic/name`.
fn split_subtopics(text: &str) -> (String, Vec<(String, String)>) {
    let mut main = Vec::new();
    let mut subs: Vec<(String, Vec<&str>)> = Vec::new();
    let mut in_subs = false;
    for line in text.lines() {
        let t = line.trim();
        if !in_subs && t.eq_ignore_ascii_case("# subtopics") {
            in_subs = true;
            continue;
        }
        if in_subs {
            if let Some(name) = t.strip_prefix("## ") {
                subs.push((name.trim().to_lowercase(), Vec::new()));
            } else if let Some((_, body)) = subs.last_mut() {
                body.push(line);
            }
        } else {
            main.push(line);
        }
    }
    (
        main.join("\n").trim_end().to_string(),
        subs.into_iter()
            .map(|(n, b)| (n, b.join("\n").trim().to_string()))
            .collect(),
    )
}

/// Appends `keys`, separated by commas, in lines of at most `width`
/// columns, each indented by two: the lines a screen shows them in, so a
/// wrapped line keeps its indent and the pager counts lines at a glance.
/// A key wider than a line has one of its own.
fn push_keys(out: &mut String, keys: &[&str], width: usize) {
    const INDENT: &str = "  ";
    let mut col = None;
    for (i, key) in keys.iter().enumerate() {
        let comma = if i + 1 < keys.len() { "," } else { "" };
        let w = if key.is_ascii() && !key.contains('|') {
            key.len()
        } else {
            tavern_shared::text::width(key)
        } + comma.len();
        match col {
            Some(c) if c + 1 + w <= width => {
                out.push(' ');
                col = Some(c + 1 + w);
            }
            _ => {
                out.push('\n');
                out.push_str(INDENT);
                col = Some(INDENT.len() + w);
            }
        }
        out.push_str(key);
        out.push_str(comma);
    }
}

/// `help [<topic>]`: the commands you may use by category, or one topic.
pub struct Help;

impl Command for Help {
    fn key(&self) -> &str {
        "help"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn aliases(&self) -> &[&str] {
        &["?"]
    }
    fn help(&self) -> &str {
        "help [<command, topic or category>]\n\nList the commands you can use and the help topics, \
         read about one, or list a category's (help building)."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let cmdset = ctx.cmdset.clone();
        if ctx.args.is_empty() {
            let width = ctx.screen_width();
            let text = HelpIndexes::text(ctx, &cmdset, width, index_text);
            ctx.msg_paged(text);
            return;
        }
        let all = topics(ctx, &cmdset);
        let (want, sub) = match ctx.args.to_lowercase().split_once('/') {
            Some((t, s)) => (t.trim().to_string(), Some(s.trim().to_string())),
            None => (ctx.args.to_lowercase(), None),
        };
        let exact = all
            .iter()
            .find(|t| t.key == want || t.aliases.iter().any(|a| a.eq_ignore_ascii_case(&want)));
        // `help building`: a category lists its topics (as Evennia's does).
        if exact.is_none() {
            let mut in_cat: Vec<&Topic<'_>> = all
                .iter()
                .filter(|t| t.category.eq_ignore_ascii_case(&want))
                .collect();
            if let Some(first) = in_cat.first() {
                let cat = first.category.clone();
                in_cat.sort_by(|a, b| a.key.cmp(&b.key));
                // The summaries' column starts after the widest key.
                let widest = in_cat
                    .iter()
                    .map(|t| tavern_shared::text::width(&t.key))
                    .max()
                    .unwrap_or(0);
                let room = ctx.screen_width().saturating_sub(widest + 4).max(20);
                let mut table = tavern_shared::text::Table::new([] as [&str; 0]);
                table
                    .border(tavern_shared::text::Border::None)
                    .max_width(ctx.screen_width());
                for t in in_cat {
                    // The first line of the description (after the usage).
                    let summary: String = t
                        .text
                        .split("\n\n")
                        .nth(1)
                        .and_then(|d| d.lines().next())
                        .unwrap_or("")
                        .trim()
                        .to_string();
                    // One line each: the first sentence, cut to the screen.
                    let first = summary
                        .split_inclusive(". ")
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_string();
                    table.row([
                        format!("|w{}|n", t.key),
                        tavern_shared::text::crop(&first, room, "..."),
                    ]);
                }
                let mut out = format!("|wHelp category {cat}|n\n{}", table.render());
                out.push_str("\n\nType |whelp <command or topic>|n to read about one.");
                ctx.msg_paged(out);
                return;
            }
        }
        let found = exact.or_else(|| {
            let starts: Vec<&Topic<'_>> = all.iter().filter(|t| t.key.starts_with(&want)).collect();
            match starts.as_slice() {
                [one] => Some(*one),
                _ => None,
            }
        });
        match found {
            Some(t) => {
                let (main, subs) = split_subtopics(&t.text);
                if let Some(sub) = sub {
                    let found = subs.iter().find(|(n, _)| *n == sub).or_else(|| {
                        match subs
                            .iter()
                            .filter(|(n, _)| n.starts_with(&sub))
                            .collect::<Vec<_>>()
                            .as_slice()
                        {
                            [one] => Some(*one),
                            _ => None,
                        }
                    });
                    match found {
                        Some((name, body)) => ctx.msg_paged(format!(
                            "|wHelp for {}/{name}|n ({})\n\n{body}",
                            t.key, t.category
                        )),
                        None if subs.is_empty() => ctx.msg(format!("{} has no subtopics.", t.key)),
                        None => ctx.msg(format!(
                            "{} has no subtopic '{}'. Its subtopics: {}.",
                            t.key,
                            tavern_shared::markup::escape(&sub),
                            subs.iter()
                                .map(|(n, _)| format!("{}/{n}", t.key))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    }
                    return;
                }
                let mut text = format!("|wHelp for {}|n ({})\n\n{main}", t.key, t.category);
                if !subs.is_empty() {
                    let names: Vec<String> =
                        subs.iter().map(|(n, _)| format!("{}/{n}", t.key)).collect();
                    text.push_str(&format!("\n\nSubtopics: {}", names.join(", ")));
                }
                if !t.aliases.is_empty() {
                    text.push_str(&format!("\n\nAliases: {}", t.aliases.join(", ")));
                }
                ctx.msg_paged(text);
            }
            None => {
                let mut close: Vec<(f64, &str)> = all
                    .iter()
                    .map(|t| {
                        (
                            strsim::normalized_damerau_levenshtein(&want, &t.key),
                            &*t.key,
                        )
                    })
                    .filter(|(s, _)| *s >= 0.6)
                    .collect();
                close.sort_by(|a, b| b.0.total_cmp(&a.0));
                let mut msg = format!(
                    "No help found for '{}'.",
                    tavern_shared::markup::escape(&ctx.args)
                );
                if !close.is_empty() {
                    let names: Vec<String> = close
                        .iter()
                        .take(3)
                        .map(|(_, k)| format!("\"{k}\""))
                        .collect();
                    msg.push_str(&format!(" Maybe you meant {}?", names.join(" or ")));
                }
                ctx.msg(msg);
            }
        }
    }
}

/// `sethelp[/delete] <topic>[;category] = <text>`: write help topics, stored in the database.
pub struct SetHelp;

impl Command for SetHelp {
    fn key(&self) -> &str {
        "sethelp"
    }
    fn switches(&self) -> &[&str] {
        &["delete"]
    }
    fn locks(&self) -> &str {
        "cmd:perm(Helper)"
    }
    fn help_category(&self) -> &str {
        "Building"
    }
    fn help(&self) -> &str {
        "sethelp[/delete] <topic>[;<category>][;<view lock>] = <text>\n\n\
         Write a help topic (stored in the database; replaces one of the same name), \
         or delete one with /delete. The lock, like 'view:perm(Builder)', limits who can read it."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let mut parts = ctx.lhs.splitn(3, ';').map(str::trim);
        let key = parts.next().unwrap_or("").to_lowercase();
        let category = parts
            .next()
            .filter(|c| !c.is_empty())
            .unwrap_or("General")
            .to_string();
        let lock = parts.next().unwrap_or("").to_string();
        if key.is_empty() || key.len() > 80 {
            ctx.msg("Usage: sethelp[/delete] <topic>[;category][;view lock] = <text>");
            return;
        }
        let db = ctx.server.db.clone();
        let sessid = ctx.sessid;
        if ctx.has_switch("delete") {
            ctx.server.spawn_for(sessid, async move {
                let r = store::delete_help(&db, &key).await;
                let done: Completion = Box::new(move |server: &mut Server| match r {
                    Ok(true) => {
                        server.world.remove_help(&key);
                        server.msg_session(sessid, format!("Deleted the help topic '{key}'."));
                    }
                    Ok(false) => {
                        server.msg_session(sessid, format!("No help topic '{key}' is stored."))
                    }
                    Err(e) => server.msg_session(sessid, format!("Could not delete it: {e}")),
                });
                done
            });
            return;
        }
        let Some(text) = ctx.rhs.clone().filter(|t| !t.is_empty()) else {
            ctx.msg("Usage: sethelp[/delete] <topic>[;category][;view lock] = <text>");
            return;
        };
        let locks = match LockSet::parse(&lock) {
            Ok(l) => l,
            Err(e) => {
                ctx.msg(format!("That lock is not valid: {e}"));
                return;
            }
        };
        let model = store::help_entry::Model {
            key: key.clone(),
            category,
            text,
            locks: locks.to_string(),
        };
        ctx.server.spawn_for(sessid, async move {
            // Durable before the builder is told.
            let r = store::save_help(&db, model.clone()).await;
            let done: Completion = Box::new(move |server: &mut Server| match r {
                Ok(()) => {
                    server.world.put_help(HelpEntry::from(model));
                    server.msg_session(sessid, format!("The help topic '{key}' was saved."));
                }
                Err(e) => server.msg_session(sessid, format!("Could not save it: {e}")),
            });
            done
        });
    }
}
