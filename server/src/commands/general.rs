//! The everyday in-game commands: `look`, `say`, `who`, `quit`, `help`.

use super::{CmdCtx, CmdSet, Command};
use crate::actions::list_and;
use tavern_shared::markup::ColorMode;
use tavern_shared::session::now_millis;

pub fn add_all(set: &mut CmdSet) {
    set.add(Look)
        .add(Say)
        .add(Who)
        .add(Quit)
        .add(Help)
        .add(ClientOptions);
}

pub struct Look;

impl Command for Look {
    fn key(&self) -> &'static str {
        "look"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["l", "ls"]
    }
    fn help(&self) -> &'static str {
        "look [<thing>]\n\nLook at your surroundings, or at something or someone here."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = ctx.caller() else {
            ctx.msg("You have no character to look with.");
            return;
        };
        let Some(here) = ctx.location() else {
            ctx.msg("You are nowhere.");
            return;
        };
        if ctx.args.is_empty() {
            let text = ctx.server.appearance(here, me);
            ctx.msg(text);
            return;
        }
        let want = ctx.args.to_lowercase();
        let world = &ctx.server.world;
        let candidates: Vec<_> = std::iter::once(here)
            .chain(world.contents(here).iter().copied())
            .filter(|&id| {
                world
                    .get(id)
                    .is_some_and(|o| o.key.to_lowercase().starts_with(&want))
            })
            .collect();
        match candidates.as_slice() {
            [] => ctx.msg(format!("Could not find '{}'.", ctx.args)),
            [one] => {
                let text = ctx.server.appearance(*one, me);
                ctx.msg(text);
            }
            many => {
                let names: Vec<String> = many
                    .iter()
                    .filter_map(|&id| ctx.server.world.get(id).map(|o| o.key.clone()))
                    .collect();
                ctx.msg(format!(
                    "More than one match for '{}': {}.",
                    ctx.args,
                    list_and(&names)
                ));
            }
        }
    }
}

pub struct Say;

impl Command for Say {
    fn key(&self) -> &'static str {
        "say"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["\"", "'"]
    }
    fn help(&self) -> &'static str {
        "say <message>\n\nSay something to everyone in the room. Shortcut: \"<message>"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.args.is_empty() {
            ctx.msg("Say what?");
            return;
        }
        let speech = ctx.args.clone();
        let name = ctx.caller_name();
        ctx.msg(format!("You say, \"{speech}|n\""));
        ctx.msg_others_in_room(&format!("{name} says, \"{speech}|n\""));
    }
}

pub struct Who;

impl Command for Who {
    fn key(&self) -> &'static str {
        "who"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["doing"]
    }
    fn help(&self) -> &'static str {
        "who\n\nList who is playing right now."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let now = now_millis();
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
        let mut out = String::from("|wAccount name          On for     Idle|n");
        for (name, on, idle) in &rows {
            out.push_str(&format!(
                "\n{name:<21} {:>7} {:>8}",
                duration(*on),
                duration(*idle)
            ));
        }
        let n = rows.len();
        out.push_str(&format!(
            "\n{n} unique account{} logged in.",
            if n == 1 { "" } else { "s" }
        ));
        ctx.msg(out);
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

pub struct Quit;

impl Command for Quit {
    fn key(&self) -> &'static str {
        "quit"
    }
    fn help(&self) -> &'static str {
        "quit\n\nLeave the game and close the connection."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        ctx.server.disconnect(
            ctx.sessid,
            Some("Quitting. Hope to see you again, soon.".into()),
        );
    }
}

pub struct Help;

impl Command for Help {
    fn key(&self) -> &'static str {
        "help"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["?"]
    }
    fn help(&self) -> &'static str {
        "help [<command>]\n\nList the commands you can use, or show how one works."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let usable: Vec<_> = ctx
            .cmdset
            .commands()
            .iter()
            .filter(|c| c.access(ctx.server, ctx.sessid))
            .cloned()
            .collect();
        if ctx.args.is_empty() {
            let mut cats: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
            for c in &usable {
                cats.entry(c.help_category()).or_default().push(c.key());
            }
            let mut out = String::from("|wCommands you can use:|n");
            for (cat, mut keys) in cats {
                keys.sort();
                out.push_str(&format!("\n|y{cat}|n\n  {}", keys.join(", ")));
            }
            out.push_str("\n\nType |whelp <command>|n to read about one.");
            ctx.msg(out);
            return;
        }
        let want = ctx.args.to_lowercase();
        match usable
            .iter()
            .find(|c| c.key() == want || c.aliases().contains(&want.as_str()))
        {
            Some(c) => {
                let mut text = format!("|wHelp for {}|n\n{}", c.key(), c.help());
                if !c.aliases().is_empty() {
                    text.push_str(&format!("\n\nAliases: {}", c.aliases().join(", ")));
                }
                ctx.msg(text);
            }
            None => ctx.msg(format!("No help found for '{}'.", ctx.args)),
        }
    }
}

/// `option`: what the game knows about your client.
pub struct ClientOptions;

impl Command for ClientOptions {
    fn key(&self) -> &'static str {
        "option"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["options"]
    }
    fn help(&self) -> &'static str {
        "option\n\nShow what your client told the game: its name, screen size, \
         encoding, colours and the protocols it speaks."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(s) = ctx.server.sessions.get(ctx.sessid) else {
            return;
        };
        let f = &s.sync.flags;
        let size = match (f.screen_width, f.screen_height) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            _ => "unknown".into(),
        };
        let colours = match f.color_mode() {
            ColorMode::Plain => "none",
            ColorMode::Ansi => "ansi",
            ColorMode::Xterm256 => "xterm256",
            ColorMode::TrueColor => "truecolor",
        };
        let yes = |b: bool| if b { "yes" } else { "no" };
        let mut options = f.options.clone();
        options.sort();
        let text = format!(
            "|wClient settings|n\n \
             Client:        {}\n \
             Protocol:      {}\n \
             Screen:        {size}\n \
             Encoding:      {}\n \
             Colours:       {colours}\n \
             Screen reader: {}\n \
             Options:       {}\n \
             GMCP packages: {}",
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
