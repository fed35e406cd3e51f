//! The template game's own commands.

use tavern_server::{CmdCtx, Command};

/// `note <text>` keeps a note with your connection; `note` reads it back.
///
/// Session data lives as long as the connection does: it survives `reload`
/// and even a crash of the game server, but not a disconnect.
pub struct Note;

impl Command for Note {
    fn key(&self) -> &'static str {
        "note"
    }

    fn help(&self) -> &'static str {
        "note [<text>]\n\nKeep a note with this connection, or read it back. \
         The note survives server reloads, but not logging out."
    }

    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.args.is_empty() {
            let text = match ctx.session_data("note").and_then(|v| v.as_str()) {
                Some(note) => format!("Your note: {note}"),
                None => "You have no note.".to_string(),
            };
            ctx.msg(text);
        } else {
            let note = ctx.args.clone();
            ctx.set_session_data("note", note.clone().into());
            ctx.msg(format!("Noted: {note}"));
        }
    }
}

/// `rest`: recover your hit points, one at a time, up to your maximum.
///
/// Every point is a change to the `hp` attribute, but clients with a health
/// bar get one `Char.Vitals` update for the whole rest: the live-data feeds
/// send what changed once the command is done.
pub struct Rest;

impl Command for Rest {
    fn key(&self) -> &str {
        "rest"
    }

    fn help(&self) -> &str {
        "rest\n\nSit down for a while and recover your hit points."
    }

    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = ctx.caller() else { return };
        let mut healed = 0;
        loop {
            let mut more = false;
            ctx.server.world.update(me, |o| {
                let (hp, max) = (
                    o.attr::<i64>("hp").unwrap_or(0),
                    o.attr::<i64>("maxhp").unwrap_or(0),
                );
                if hp < max {
                    o.set_attr("hp", hp + 1);
                    more = true;
                }
            });
            if !more {
                break;
            }
            healed += 1;
        }
        if healed == 0 {
            ctx.msg("You are not hurt.");
        } else {
            ctx.msg(format!(
                "You rest a while and recover {healed} hit point(s)."
            ));
        }
    }
}

/// `signal <text>`: a line to every one of your own sessions, as an account
/// event (each session's window shows it; see `game()` for the handler).
pub struct Signal;

impl Command for Signal {
    fn key(&self) -> &str {
        "signal"
    }

    fn help(&self) -> &str {
        "signal <text>\n\nShow a line in every window you are connected with."
    }

    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(account) = ctx.account() else { return };
        if ctx.args.is_empty() {
            ctx.msg("Signal what?");
            return;
        }
        let from = ctx.server.session_name(ctx.sessid).unwrap_or_default();
        let data = serde_json::json!({ "from": from, "text": ctx.args });
        ctx.server.broadcast_event(account, "signal", data);
    }
}
