//! Commands: what players type. A [`Command`] has a key, aliases, help text and
//! a `func`; a [`CmdSet`] is a set of them, matched the way Evennia matches:
//! case-insensitive, the longest key or alias that starts the line and is
//! followed by a space or the end of the line (or is itself punctuation, like
//! `"` for say), with the prefixes `@ & / +` ignored as a fallback.

pub mod admin;
pub mod general;
pub mod unloggedin;

use std::sync::Arc;

use tavern_shared::SessId;

use crate::executor::Server;
use crate::world::ObjId;

/// A command players can type. Implement it for a unit struct and add it to the game:
///
/// ```
/// use tavern_server::commands::{Command, CmdCtx};
///
/// struct Wave;
///
/// impl Command for Wave {
///     fn key(&self) -> &'static str { "wave" }
///     fn help(&self) -> &'static str { "wave\n\nWave at everyone in the room." }
///     fn func(&self, ctx: &mut CmdCtx<'_>) {
///         ctx.msg("You wave.");
///         ctx.msg_others_in_room(&format!("{} waves.", ctx.caller_name()));
///     }
/// }
/// ```
pub trait Command: Send + Sync + 'static {
    /// The name players type.
    fn key(&self) -> &'static str;
    /// Other names for it.
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    /// Help text: the first line is the usage, then a blank line and the description.
    fn help(&self) -> &'static str;
    /// The help category it is listed under.
    fn help_category(&self) -> &'static str {
        "General"
    }
    /// Whether this caller may use (and see) the command.
    fn access(&self, _server: &Server, _sessid: SessId) -> bool {
        true
    }
    /// Runs the command.
    fn func(&self, ctx: &mut CmdCtx<'_>);
}

/// A set of commands.
#[derive(Clone, Default)]
pub struct CmdSet {
    pub key: &'static str,
    commands: Vec<Arc<dyn Command>>,
}

impl CmdSet {
    pub fn new(key: &'static str) -> Self {
        Self {
            key,
            commands: Vec::new(),
        }
    }

    /// Adds a command, replacing one of the same key.
    pub fn add(&mut self, cmd: impl Command) -> &mut Self {
        self.add_arc(Arc::new(cmd))
    }

    pub fn add_arc(&mut self, cmd: Arc<dyn Command>) -> &mut Self {
        self.commands.retain(|c| c.key() != cmd.key());
        self.commands.push(cmd);
        self
    }

    pub fn commands(&self) -> &[Arc<dyn Command>] {
        &self.commands
    }

    /// The command `line` calls, with the length of the name matched.
    pub fn find(
        &self,
        line: &str,
        server: &Server,
        sessid: SessId,
    ) -> Option<(Arc<dyn Command>, usize)> {
        self.match_line(line, server, sessid).or_else(|| {
            let stripped = line.trim_start_matches(['@', '&', '/', '+']);
            if stripped.len() == line.len() || stripped.is_empty() {
                return None;
            }
            let skipped = line.len() - stripped.len();
            self.match_line(stripped, server, sessid)
                .map(|(c, n)| (c, n + skipped))
        })
    }

    fn match_line(
        &self,
        line: &str,
        server: &Server,
        sessid: SessId,
    ) -> Option<(Arc<dyn Command>, usize)> {
        let lower = line.to_lowercase();
        let mut best: Option<(Arc<dyn Command>, usize)> = None;
        for cmd in &self.commands {
            for name in std::iter::once(cmd.key()).chain(cmd.aliases().iter().copied()) {
                if !lower.starts_with(name) {
                    continue;
                }
                let rest = &lower[name.len()..];
                let punctuation = !name.chars().last().is_some_and(char::is_alphanumeric);
                if !(rest.is_empty() || rest.starts_with(char::is_whitespace) || punctuation) {
                    continue;
                }
                if best.as_ref().is_some_and(|(_, n)| *n >= name.len()) {
                    continue;
                }
                if cmd.access(server, sessid) {
                    best = Some((cmd.clone(), name.len()));
                }
            }
        }
        best
    }
}

/// The game's command sets: what unlogged-in sessions and characters can use.
#[derive(Clone)]
pub struct Commands {
    pub unloggedin: CmdSet,
    pub character: CmdSet,
}

impl Default for Commands {
    fn default() -> Self {
        let mut unloggedin = CmdSet::new("DefaultUnloggedin");
        unloggedin::add_all(&mut unloggedin);
        let mut character = CmdSet::new("DefaultCharacter");
        general::add_all(&mut character);
        admin::add_all(&mut character);
        Self {
            unloggedin,
            character,
        }
    }
}

impl Commands {
    /// Runs one line of input from a session.
    pub fn execute(&self, server: &mut Server, sessid: SessId, line: &str) {
        let line = line.trim();
        if let Some(s) = server.sessions.get_mut(sessid) {
            if let Some(answer) = s.asked.take() {
                if s.sync.data.remove(crate::session::HIDDEN_PENDING).is_some() {
                    s.dirty = true;
                }
                answer(server, sessid, line.to_string());
                return;
            }
            if s.sync.data.remove(crate::session::HIDDEN_PENDING).is_some() {
                // A hidden answer whose question died with the last server.
                s.dirty = true;
                server.msg_session(
                    sessid,
                    "The server restarted while waiting for that; please try again.",
                );
                return;
            }
        }
        if line.is_empty() {
            return;
        }
        let logged_in = server
            .sessions
            .get(sessid)
            .is_some_and(|s| s.sync.logged_in);
        let cmdset = if logged_in {
            &self.character
        } else {
            &self.unloggedin
        };
        match cmdset.find(line, server, sessid) {
            Some((cmd, len)) => {
                // Never log arguments: they may hold a password.
                tracing::debug!(sessid, cmd = cmd.key(), "command");
                let mut ctx = CmdCtx {
                    server,
                    sessid,
                    cmdname: line[..len].to_string(),
                    args: line[len..].trim().to_string(),
                    cmdset,
                };
                // A bug in one command must not take the server down: the
                // input would be replayed to the next server and crash it too.
                let ran =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cmd.func(&mut ctx)));
                if let Err(panic) = ran {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    tracing::error!(sessid, cmd = cmd.key(), "command panicked: {what}");
                    server.msg_session(sessid, COMMAND_FAILED_MSG);
                }
            }
            None => server.msg_session(
                sessid,
                format!("Command '{line}' is not available. Type \"help\" for help."),
            ),
        }
    }
}

/// Told to a player whose command failed with a bug (a panic in game code).
pub const COMMAND_FAILED_MSG: &str =
    "|rAn error occurred while running that command. It has been logged.|n";

/// What a command's `func` works with.
pub struct CmdCtx<'a> {
    pub server: &'a mut Server,
    /// The session that typed the command.
    pub sessid: SessId,
    /// The command name as typed.
    pub cmdname: String,
    /// Everything after the command name, trimmed.
    pub args: String,
    /// The set the command was found in (for `help`).
    pub cmdset: &'a CmdSet,
}

impl CmdCtx<'_> {
    /// Sends text to the session that typed the command.
    pub fn msg(&mut self, text: impl Into<String>) {
        self.server.msg_session(self.sessid, text);
    }

    /// The character the session puppets.
    pub fn caller(&self) -> Option<ObjId> {
        self.server.session_puppet(self.sessid)
    }

    /// The caller's name: its puppet's key, else its account's, else "Someone".
    pub fn caller_name(&self) -> String {
        self.caller()
            .and_then(|c| self.server.world.get(c))
            .map(|o| o.key.clone())
            .or_else(|| {
                self.server
                    .session_account(self.sessid)
                    .map(|a| a.name.clone())
            })
            .unwrap_or_else(|| "Someone".into())
    }

    /// Where the caller is.
    pub fn location(&self) -> Option<ObjId> {
        self.caller()
            .and_then(|c| self.server.world.get(c))
            .and_then(|o| o.location)
    }

    /// Sends text to everyone else in the caller's room.
    pub fn msg_others_in_room(&mut self, text: &str) {
        if let (Some(loc), Some(me)) = (self.location(), self.caller()) {
            self.server.msg_location(loc, text, &[me]);
        }
    }

    /// Asks the player a question; the next line they type goes to `answer`
    /// instead of being run as a command. With `hidden`, the client is asked not
    /// to show what is typed (telnet ECHO, a password field in the webclient).
    pub fn ask(
        &mut self,
        question: &str,
        hidden: bool,
        answer: impl FnOnce(&mut Server, SessId, String) + Send + 'static,
    ) {
        let mut msg = tavern_shared::Msg::prompt(question);
        if hidden {
            msg = msg.kwarg("options", serde_json::json!({"echo": false}));
        }
        self.server.send_msg(self.sessid, msg);
        if let Some(s) = self.server.sessions.get_mut(self.sessid) {
            s.asked = Some(Box::new(move |server: &mut Server, sessid, line| {
                if hidden {
                    // Show input again, and end the line the hidden input did not.
                    let show = tavern_shared::Msg::text("")
                        .kwarg("options", serde_json::json!({"echo": true}));
                    server.send_msg(sessid, show);
                }
                answer(server, sessid, line)
            }));
            if hidden {
                s.set_data(crate::session::HIDDEN_PENDING, true.into());
            }
        }
    }

    /// Game data kept with this session across reloads.
    pub fn session_data(&self, key: &str) -> Option<&serde_json::Value> {
        self.server.sessions.get(self.sessid)?.data().get(key)
    }

    pub fn set_session_data(&mut self, key: &str, value: serde_json::Value) {
        if let Some(s) = self.server.sessions.get_mut(self.sessid) {
            s.set_data(key, value);
        }
    }
}

/// Splits arguments the way `connect` and `create` read them: words, or
/// "quoted words" kept together.
pub fn split_args(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut had_quote = false;
    for c in args.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
            }
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') if cur.is_empty() => {
                quote = Some(c);
                had_quote = true;
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() || had_quote {
                    out.push(std::mem::take(&mut cur));
                }
                had_quote = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() || had_quote {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests;
