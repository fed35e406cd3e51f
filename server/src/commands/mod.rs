//! Commands: what players type. A [`Command`] has a key, aliases, locks,
//! help text and a `func`, and works through a [`CmdCtx`]; a [`CmdSet`] is
//! a set of them. The sets on the session, the account, the puppet and the
//! objects nearby ([`handler::Holder`]) are merged by Evennia's rules
//! ([`cmdset`]) and the line is matched against the result ([`parser`]);
//! the runtime runs it ([`crate::runtime::input`]).
//!
//! This is the machinery; [`default`] holds the default commands
//! (Evennia's default cmdsets) that [`Commands::default`] wires in.
//!
//! **Must not import** [`default`] (but for [`Commands::default`], which
//! lives there) or the test harnesses (`tests/layers.rs` checks).

pub mod cmdset;
pub mod default;
pub mod handler;
pub mod help_index;
pub mod parser;

use std::sync::Arc;

use tavern_shared::SessId;

pub use cmdset::{CmdEntry, CmdSet, DEFAULT_ARG_REGEX, MergeType};
pub use handler::Holder;

use crate::model::locks::Accessor;
use crate::model::world::{AccountId, ObjId, Search};
use crate::runtime::server::Server;

/// A command players can type. Implement it for a unit struct and add it to the game:
///
/// ```
/// use tavern_server::commands::{Command, CmdCtx};
///
/// struct Wave;
///
/// impl Command for Wave {
///     fn key(&self) -> &str { "wave" }
///     fn help(&self) -> &str { "wave\n\nWave at everyone in the room." }
///     fn func(&self, ctx: &mut CmdCtx<'_>) {
///         ctx.msg("You wave.");
///         let me = ctx.caller_name();
///         ctx.msg_others_in_room(&format!("{me} waves."));
///     }
/// }
/// ```
pub trait Command: Send + Sync + 'static {
    /// The name players type.
    fn key(&self) -> &str;
    /// Other names for it.
    fn aliases(&self) -> &[&str] {
        &[]
    }
    /// Who may use it and see it in `help`: a lock string with a `cmd` lock
    /// (`cmd:perm(Builder)`), as Evennia writes them.
    fn locks(&self) -> &str {
        "cmd:all()"
    }
    /// Help text: the first line is the usage, then a blank line and the description.
    fn help(&self) -> &str;
    /// The help category it is listed under.
    fn help_category(&self) -> &str {
        "General"
    }
    /// Whether `help` lists it.
    fn auto_help(&self) -> bool {
        true
    }
    /// What may follow the name for the line to call this command (a regex on
    /// the rest of the line); `None`: anything. Names ending in punctuation
    /// (`"`, `:`) need nothing between name and text.
    fn arg_regex(&self) -> Option<&str> {
        Some(DEFAULT_ARG_REGEX)
    }
    /// The `/switches` it knows (`&["del", "search"]`); a unique prefix of
    /// one stands for it (`tag/s` is `tag/search`). A switch it does not
    /// know is refused with this list and the command does not run, unless
    /// it only reads ([`Command::read_only`]): then it runs, told which
    /// switch it ignored. So a typo never changes or stops anything.
    fn switches(&self) -> &[&str] {
        &[]
    }
    /// Whether it only shows or says things and changes nothing (`look`,
    /// `who`, `say`): an unknown switch is then ignored with a note
    /// (`Extra switch "/x" ignored.`, as Evennia says) instead of refused.
    fn read_only(&self) -> bool {
        false
    }
    /// Checks the arguments before `func`; an `Err` is shown and `func` not run.
    fn parse(&self, _ctx: &mut CmdCtx<'_>) -> Result<(), String> {
        Ok(())
    }
    /// Runs the command.
    fn func(&self, ctx: &mut CmdCtx<'_>);
}

/// The game's command sets: the defaults each session, account and
/// character starts with, and named sets that can be added by name (and so
/// persist across reloads).
#[derive(Clone)]
pub struct Commands {
    /// On sessions not logged in (Evennia's DefaultUnloggedin, priority 0).
    pub unloggedin: Arc<CmdSet>,
    /// On every logged-in session (DefaultSession, priority -20).
    pub session: Arc<CmdSet>,
    /// On accounts: out-of-character commands (DefaultAccount, priority -10).
    pub account: Arc<CmdSet>,
    /// On characters (DefaultCharacter, priority 0).
    pub character: Arc<CmdSet>,
    /// Sets that can be added by name.
    pub named: std::collections::HashMap<String, Arc<CmdSet>>,
}

/// Told to a player whose command failed with a bug (a panic in game code).
pub const COMMAND_FAILED_MSG: &str =
    "|rAn error occurred while running that command. It has been logged.|n";

/// What a command's `func` works with.
pub struct CmdCtx<'a> {
    /// The server: the world, sessions, and everything game code may change.
    pub server: &'a mut Server,
    /// The session that typed the command.
    pub sessid: SessId,
    /// The whole line as typed.
    pub raw: String,
    /// The command name as typed.
    pub cmdname: String,
    /// Everything after the name (and after any `/switches`), trimmed.
    pub args: String,
    /// `/switches` written right after the name, lowercased: `dig/teleport`.
    pub switches: Vec<String>,
    /// `args` split at the first `=`: the left side, trimmed (all of `args` without `=`).
    pub lhs: String,
    /// The right side of `=`, trimmed; `None` when there is no `=`.
    pub rhs: Option<String>,
    /// The merged set the command was found in (for `help`).
    pub cmdset: Arc<CmdSet>,
    /// The object whose cmdset offered the command (an exit, a sword).
    pub obj: Option<ObjId>,
}

impl<'a> CmdCtx<'a> {
    /// A context for running a command: `rest` is what followed its name.
    pub fn new(
        server: &'a mut Server,
        sessid: SessId,
        raw: &str,
        cmdname: &str,
        rest: &str,
        cmdset: Arc<CmdSet>,
        obj: Option<ObjId>,
    ) -> Self {
        let mut switches = Vec::new();
        let mut rest = rest;
        // `/switch/other rest`: only right after the name.
        while let Some(after) = rest.strip_prefix('/') {
            let end = after
                .find(|c: char| c == '/' || c.is_whitespace())
                .unwrap_or(after.len());
            if end > 0 {
                switches.push(after[..end].to_lowercase());
            }
            rest = &after[end..];
        }
        let args = rest.trim().to_string();
        let (lhs, rhs) = match args.split_once('=') {
            Some((l, r)) => (l.trim().to_string(), Some(r.trim().to_string())),
            None => (args.clone(), None),
        };
        Self {
            server,
            sessid,
            raw: raw.to_string(),
            cmdname: cmdname.to_string(),
            args,
            switches,
            lhs,
            rhs,
            cmdset,
            obj,
        }
    }

    /// Checks the typed switches against those `cmd` knows (see
    /// [`Command::switches`]): prefixes become the whole switch; an unknown
    /// one is an `Err` to show (nothing runs), or for a read-only command a
    /// note, and the command runs without it.
    pub fn resolve_switches(&mut self, cmd: &dyn Command) -> Result<(), String> {
        let known = cmd.switches();
        let mut unknown = Vec::new();
        let typed = std::mem::take(&mut self.switches);
        for s in typed {
            if known.contains(&s.as_str()) {
                self.switches.push(s);
                continue;
            }
            let mut starting = known.iter().filter(|k| k.starts_with(s.as_str()));
            match (starting.next(), starting.next()) {
                (Some(one), None) => self.switches.push(one.to_string()),
                _ => unknown.push(s),
            }
        }
        if unknown.is_empty() {
            return Ok(());
        }
        let shown = |s: &str| format!("/{}", tavern_shared::markup::escape(s));
        if cmd.read_only() {
            for u in unknown {
                self.msg(format!("Extra switch \"{}\" ignored.", shown(&u)));
            }
            return Ok(());
        }
        let what: Vec<String> = unknown.iter().map(|u| shown(u)).collect();
        let list = if known.is_empty() {
            format!("{} takes no switches.", cmd.key())
        } else {
            let k: Vec<String> = known.iter().map(|k| format!("/{k}")).collect();
            format!("Its switches: {}.", k.join(", "))
        };
        Err(format!(
            "{}: unknown switch {}. {list} Nothing was done.",
            cmd.key(),
            what.join(", ")
        ))
    }

    /// Sends text to the session that typed the command. A message that
    /// starts with `Usage` or says `Nothing was …` / `You don't have
    /// permission` / `Could not find` marks the command as refused, as
    /// [`CmdCtx::fail`] does (the default commands word their refusals so).
    pub fn msg(&mut self, text: impl Into<String>) {
        let text = text.into();
        if text.trim_start().starts_with("Usage")
            || text.contains("othing was ")
            || text.starts_with("You don't have permission")
            || text.starts_with("Could not find")
            || text.starts_with("More than one match")
        {
            self.server.command_failed = true;
        }
        self.server.msg_session(self.sessid, text);
    }

    /// Tells the player why the command did nothing, and marks it refused:
    /// a batch file (`batchcommand`) stops at a refused command.
    pub fn fail(&mut self, text: impl Into<String>) {
        self.server.command_failed = true;
        self.server.msg_session(self.sessid, text);
    }

    /// Sends text to the session a page at a time when it is taller than the
    /// player's screen (see [`crate::runtime::pager`]).
    pub fn msg_paged(&mut self, text: impl Into<String>) {
        self.server.msg_paged(self.sessid, text);
    }

    /// Opens the line editor over `initial`; the player's lines go to it
    /// until they quit, and `:w` saves to `target` (see
    /// [`crate::runtime::editor`]).
    pub fn edit(&mut self, title: &str, initial: &str, target: crate::runtime::editor::EditTarget) {
        self.server.edit(self.sessid, title, initial, target);
    }

    /// Opens a menu the game registered (`Game::menu`) for the player;
    /// false when there is none of that name.
    pub fn open_menu(&mut self, name: &str) -> bool {
        self.server
            .menu_open(self.sessid, name, serde_json::Map::new())
    }

    /// The player's screen width (80 when the client does not say): what a
    /// table should fit.
    pub fn screen_width(&self) -> usize {
        self.server.screen_width(self.sessid)
    }

    /// Sends messages (text and out-of-band data together) to the session.
    pub fn send(&mut self, msgs: Vec<tavern_shared::Msg>) {
        for m in msgs {
            self.server.send_msg(self.sessid, m);
        }
    }

    /// Whether a `/switch` was given.
    pub fn has_switch(&self, s: &str) -> bool {
        self.switches.iter().any(|x| x == s)
    }

    /// `lhs` split on commas, trimmed, empty parts dropped.
    pub fn lhs_list(&self) -> Vec<String> {
        comma_list(&self.lhs)
    }

    /// `rhs` split on commas, trimmed, empty parts dropped.
    pub fn rhs_list(&self) -> Vec<String> {
        self.rhs.as_deref().map(comma_list).unwrap_or_default()
    }

    /// The character the session puppets.
    pub fn caller(&self) -> Option<ObjId> {
        self.server.session_puppet(self.sessid)
    }

    /// The account the session is logged in to.
    pub fn account(&self) -> Option<AccountId> {
        self.server.sessions.get(self.sessid)?.account()
    }

    /// Who is acting, for lock checks.
    pub fn accessor(&self) -> Accessor {
        self.server.accessor(self.sessid)
    }

    /// Whether the caller passes `target`'s lock of `access_type` (missing: `default`).
    pub fn access(&self, target: ObjId, access_type: &str, default: bool) -> bool {
        self.server
            .access(self.accessor(), target, access_type, default)
    }

    /// Whether the caller has a permission (or one above it in the hierarchy).
    pub fn has_perm(&self, perm: &str) -> bool {
        self.server.has_perm(self.accessor(), perm)
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

    /// Tells the caller's room a template with inline functions, rendered
    /// for each (Evennia's `msg_contents`): `$You() $conj(wave).` is "You
    /// wave." to the caller and "Anna waves." to the others. Put a player's
    /// text in through [`crate::runtime::funcparser::escape_inline`].
    pub fn msg_contents(&mut self, template: &str, mapping: &[(&str, ObjId)]) {
        let Some(me) = self.caller() else {
            let text = self.server.render_inline(template, None, None, mapping);
            return self.msg(text);
        };
        match self.location() {
            Some(loc) => self
                .server
                .msg_contents(loc, template, Some(me), mapping, &[]),
            None => {
                let text = self
                    .server
                    .render_inline(template, Some(me), Some(me), mapping);
                self.msg(text);
            }
        }
    }

    /// Sends text to everyone else in the caller's room.
    pub fn msg_others_in_room(&mut self, text: &str) {
        if let (Some(loc), Some(me)) = (self.location(), self.caller()) {
            self.server.msg_location(loc, text, &[me]);
        }
    }

    /// Finds one object near the caller (the room, its contents, the
    /// caller's inventory), or tells the caller why not (Evennia's `caller.search`).
    pub fn search(&mut self, query: &str) -> Option<ObjId> {
        let s = Search::new(self.caller()).location().inventory();
        self.search_with(s, query)
    }

    /// Finds one object with a custom [`Search`], or tells the caller why
    /// not. The caller's object nicks apply to the query first.
    pub fn search_with(&mut self, search: Search, query: &str) -> Option<ObjId> {
        let query = self.server.object_nick(self.sessid, query);
        match search.one(&self.server.world, &query) {
            Ok(id) => Some(id),
            Err(e) => {
                let msg = e.message(&self.server.world, self.caller());
                self.msg(msg);
                None
            }
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
        self.server.ask(self.sessid, question, hidden, answer);
    }

    /// Game data kept with this session across reloads.
    pub fn session_data(&self, key: &str) -> Option<&serde_json::Value> {
        self.server.sessions.get(self.sessid)?.data().get(key)
    }

    /// Keeps game data with this session; it survives reloads, not a disconnect.
    pub fn set_session_data(&mut self, key: &str, value: serde_json::Value) {
        if let Some(s) = self.server.sessions.get_mut(self.sessid) {
            s.set_data(key, value);
        }
    }
}

/// A moment (milliseconds since the Unix epoch) as people read it, to the
/// millisecond: `2026-12-05 14:03:22.125 UTC`.
pub fn time_text(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string(),
        None => format!("{ms} ms"),
    }
}

/// A moment to the minute: `2026-12-05 14:03` (UTC).
pub fn minute_text(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => format!("{ms} ms"),
    }
}

/// A length of time in milliseconds as people read it: `45s`, `2m 05s`,
/// `1h 02m`, `3d 4h`.
pub fn span_text(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Splits on commas, trimming, dropping empty parts.
pub fn comma_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
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
