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
