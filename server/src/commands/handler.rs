//! The command handler: which cmdsets a session has, merging them with those
//! of the objects nearby, and running a line of input.
//!
//! Cmdsets live in stacks on sessions, accounts and objects. The bottom of
//! each stack is its default set (from [`Commands`](super::Commands)); sets
//! added by name persist across reloads (their names are stored), sets added
//! as values last until the next reload. For a line of input the handler
//! collects the session's, account's and puppet's stacks, then (unless a
//! merged set says `no_objs` / `no_exits`) one set per exit in the room
//! (priority 101, one command named like the exit) and the sets of the
//! objects in the room, the room itself and the inventory that the caller
//! may `call`. These merge by priority ([`super::cmdset::merge_all`]).

use std::sync::Arc;

use tavern_shared::SessId;

use super::cmdset::{CmdEntry, CmdSet};
use super::parser::{self, Parsed};
use super::{COMMAND_FAILED_MSG, CmdCtx, Command};
use crate::executor::Server;
use crate::locks::{Accessor, permission_level};
use crate::world::{AccountId, Kind, ObjId};

/// What a cmdset stack belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    /// A connection's own sets (until it disconnects).
    Session(SessId),
    /// An account's sets, whatever it plays.
    Account(AccountId),
    /// An object's sets: a character's, or a room's or thing's offered to those near.
    Object(ObjId),
}

/// Session data key holding the names of a session's persistent cmdsets.
pub const SESSION_CMDSETS: &str = "_cmdsets";

/// Priority of the cmdset each exit offers (Evennia's ExitCmdSet).
pub const EXIT_PRIORITY: i32 = 101;

/// The command an exit offers: its name goes through it.
struct ExitCommand;

impl Command for ExitCommand {
    fn key(&self) -> &str {
        "__exit"
    }
    fn help(&self) -> &str {
        "Go through the exit of this name."
    }
    fn auto_help(&self) -> bool {
        false
    }
    fn arg_regex(&self) -> Option<&str> {
        Some(r"^\s*$")
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let (Some(exit), Some(me)) = (ctx.obj, ctx.caller()) else {
            ctx.msg("You have no body to walk with.");
            return;
        };
        if !ctx.access(exit, "traverse", true) {
            let msg = ctx
                .server
                .world
                .get(exit)
                .and_then(|e| e.attr::<String>("err_traverse"))
                .unwrap_or_else(|| "You cannot go there.".into());
            ctx.msg(msg);
            return;
        }
        ctx.server
            .hook(exit, "at_traverse", (), |tc, s| tc.at_traverse(s, exit, me));
    }
}

fn exit_cmdset(exit: ObjId, key: &str, aliases: &[String]) -> CmdSet {
    let mut set = CmdSet::new("ExitCmdSet").with_priority(EXIT_PRIORITY);
    set.duplicates = Some(true);
    let mut entry = CmdEntry::named(Arc::new(ExitCommand), key.to_string(), aliases.to_vec());
    entry.obj = Some(exit);
    set.add_entry(entry);
    set
}

/// The names of a session's persistent cmdsets.
fn session_cmdsets(s: &crate::session::ServerSession) -> Vec<String> {
    s.data()
        .get(SESSION_CMDSETS)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

impl Server {
    /// The cmdsets on a holder, bottom (its default) first.
    pub fn cmdset_stack(&self, holder: Holder) -> Vec<Arc<CmdSet>> {
        let cmds = &self.game.commands;
        let mut out = Vec::new();
        let named: Vec<String> = match holder {
            Holder::Session(id) => {
                let Some(s) = self.sessions.get(id) else {
                    return out;
                };
                out.push(if s.sync.logged_in {
                    cmds.session.clone()
                } else {
                    cmds.unloggedin.clone()
                });
                session_cmdsets(s)
            }
            Holder::Account(id) => {
                let Some(a) = self.world.accounts.get(&id) else {
                    return out;
                };
                out.push(cmds.account.clone());
                a.cmdsets.clone()
            }
            Holder::Object(id) => {
                let Some(o) = self.world.get(id) else {
                    return out;
                };
                if o.kind == Kind::Character {
                    out.push(cmds.character.clone());
                }
                let tc = self.typeclass_of(id);
                if let Some(set) = self.game.typeclasses.cmdset(tc.name()) {
                    out.push(set);
                }
                o.cmdsets.clone()
            }
        };
        for name in named {
            match cmds.named.get(&name) {
                Some(set) => out.push(set.clone()),
                None => {
                    tracing::warn!(?holder, cmdset = %name, "no cmdset registered by that name")
                }
            }
        }
        if let Some(temp) = self.temp_cmdsets.get(&holder) {
            out.extend(temp.iter().cloned());
        }
        out
    }

    /// Adds a cmdset until the next reload.
    pub fn cmdset_add(&mut self, holder: Holder, set: CmdSet) {
        self.temp_cmdsets
            .entry(holder)
            .or_default()
            .push(Arc::new(set));
    }

    /// Adds a registered cmdset by name; it stays across reloads.
    pub fn cmdset_add_persistent(&mut self, holder: Holder, name: &str) -> Result<(), String> {
        if !self.game.commands.named.contains_key(name) {
            return Err(format!("No cmdset named '{name}' is registered."));
        }
        let name = name.to_string();
        match holder {
            Holder::Session(id) => {
                let Some(s) = self.sessions.get_mut(id) else {
                    return Err("No such session.".into());
                };
                let mut names = session_cmdsets(s);
                names.push(name);
                s.set_data(SESSION_CMDSETS, serde_json::json!(names));
            }
            Holder::Account(id) => {
                self.world.update_account(id, |a| a.cmdsets.push(name));
            }
            Holder::Object(id) => {
                self.world.update(id, |o| o.cmdsets.push(name));
            }
        }
        Ok(())
    }

    /// Removes the topmost added cmdset with this key (never the default);
    /// whether one was removed.
    pub fn cmdset_remove(&mut self, holder: Holder, key: &str) -> bool {
        if let Some(temp) = self.temp_cmdsets.get_mut(&holder)
            && let Some(i) = temp.iter().rposition(|s| s.key == key)
        {
            temp.remove(i);
            return true;
        }
        let drop_last = |names: &mut Vec<String>| match names.iter().rposition(|n| n == key) {
            Some(i) => {
                names.remove(i);
                true
            }
            None => false,
        };
        match holder {
            Holder::Session(id) => {
                let Some(s) = self.sessions.get_mut(id) else {
                    return false;
                };
                let mut names = session_cmdsets(s);
                let removed = drop_last(&mut names);
                if removed {
                    s.set_data(SESSION_CMDSETS, serde_json::json!(names));
                }
                removed
            }
            Holder::Account(id) => {
                let mut removed = false;
                if self
                    .world
                    .accounts
                    .get(&id)
                    .is_some_and(|a| a.cmdsets.iter().any(|n| n == key))
                {
                    self.world
                        .update_account(id, |a| removed = drop_last(&mut a.cmdsets));
                }
                removed
            }
            Holder::Object(id) => {
                let mut removed = false;
                if self
                    .world
                    .get(id)
                    .is_some_and(|o| o.cmdsets.iter().any(|n| n == key))
                {
                    self.world
                        .update(id, |o| removed = drop_last(&mut o.cmdsets));
                }
                removed
            }
        }
    }

    /// Every cmdset that applies to what `sessid` types, merged (the same
    /// sets merged before give the merge remembered then).
    pub fn merged_cmdset(&self, sessid: SessId) -> Arc<CmdSet> {
        let Some(s) = self.sessions.get(sessid) else {
            return Arc::new(CmdSet::new("Empty"));
        };
        let (account, puppet) = (s.account(), s.puppet());
        let mut sets = self.cmdset_stack(Holder::Session(sessid));
        if let Some(a) = account {
            sets.extend(self.cmdset_stack(Holder::Account(a)));
        }
        if let Some(p) = puppet {
            sets.extend(self.cmdset_stack(Holder::Object(p)));
            // The highest-priority set with an opinion decides.
            let mut by_prio: Vec<&Arc<CmdSet>> = sets.iter().collect();
            by_prio.sort_by_key(|s| std::cmp::Reverse(s.priority));
            let no_objs = by_prio.iter().find_map(|s| s.no_objs).unwrap_or(false);
            let no_exits = by_prio.iter().find_map(|s| s.no_exits).unwrap_or(false);
            if !no_objs {
                sets.extend(self.local_cmdsets(p, no_exits));
            }
        }
        self.cmdset_cache().merge(&sets)
    }

    fn cmdset_cache(&self) -> std::sync::MutexGuard<'_, super::cmdset::MergeCache> {
        self.cmdset_cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The sets offered by the caller's surroundings: exits, the room, what is
    /// in it and what the caller carries.
    fn local_cmdsets(&self, caller: ObjId, no_exits: bool) -> Vec<Arc<CmdSet>> {
        let mut out = Vec::new();
        let Some(me) = self.world.get(caller) else {
            return out;
        };
        let mut nearby: Vec<ObjId> = Vec::new();
        if let Some(loc) = me.location {
            nearby.push(loc);
            nearby.extend_from_slice(self.world.contents(loc));
        }
        nearby.extend_from_slice(self.world.contents(caller));
        let accessor = Accessor::object(caller);
        for id in nearby {
            if id == caller {
                continue;
            }
            let Some(o) = self.world.get(id) else {
                continue;
            };
            if o.kind == Kind::Exit {
                if !no_exits && o.destination.is_some() {
                    out.push(self.cmdset_cache().exit_set(id, &o.key, &o.aliases, || {
                        exit_cmdset(id, &o.key, &o.aliases)
                    }));
                }
                continue;
            }
            let stack = self.cmdset_stack(Holder::Object(id));
            if stack.is_empty() || !self.access_strict(accessor, id, "call", true) {
                continue;
            }
            for set in stack {
                out.push(self.cmdset_cache().offered(id, &set));
            }
        }
        out
    }

    /// Whether the accessor has `perm` (or one above it in the hierarchy).
    pub fn has_perm(&self, accessor: Accessor, perm: &str) -> bool {
        let ctx = crate::locks::LockCtx {
            server: self,
            accessor,
            target: None,
        };
        if ctx.is_superuser() {
            return true;
        }
        let have = ctx.permissions();
        match permission_level(perm) {
            Some(want) => have
                .iter()
                .filter_map(|p| permission_level(p))
                .any(|l| l >= want),
            None => have.iter().any(|p| p.eq_ignore_ascii_case(perm)),
        }
    }

    /// Asks the session a question; its next line goes to `answer`.
    pub fn ask(
        &mut self,
        sessid: SessId,
        question: &str,
        hidden: bool,
        answer: impl FnOnce(&mut Server, SessId, String) + Send + 'static,
    ) {
        let mut msg = tavern_shared::Msg::prompt(question);
        if hidden {
            msg = msg.kwarg("options", serde_json::json!({"echo": false}));
        }
        self.send_msg(sessid, msg);
        if let Some(s) = self.sessions.get_mut(sessid) {
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

    /// Runs one line of input from a session.
    pub fn execute_line(&mut self, sessid: SessId, line: &str) {
        let line = line.trim();
        if let Some(s) = self.sessions.get_mut(sessid) {
            if let Some(answer) = s.asked.take() {
                if s.sync.data.remove(crate::session::HIDDEN_PENDING).is_some() {
                    s.dirty = true;
                }
                answer(self, sessid, line.to_string());
                return;
            }
            if s.sync.data.remove(crate::session::HIDDEN_PENDING).is_some() {
                // A hidden answer whose question died with the last server.
                s.dirty = true;
                self.msg_session(
                    sessid,
                    "The server restarted while waiting for that; please try again.",
                );
                return;
            }
        }
        if self.relay_line(sessid, line) {
            return;
        }
        // Flows listening to this player hear the line; one may keep it.
        let heard = self.flow_command(sessid, line);
        if heard.consumed {
            return;
        }
        let merged = self.merged_cmdset(sessid);
        let accessor = self.accessor(sessid);
        // Each command's `cmd` lock is evaluated when it matters, and once.
        let decided: std::cell::RefCell<Vec<Option<bool>>> =
            std::cell::RefCell::new(vec![None; merged.commands().len()]);
        let may_use = |e: &Arc<CmdEntry>| -> bool {
            let Some(i) = merged.commands().iter().position(|c| Arc::ptr_eq(c, e)) else {
                return false;
            };
            if let Some(known) = decided.borrow()[i] {
                return known;
            }
            let ok = self.check_lock(&e.locks, accessor, e.obj, "cmd", true);
            decided.borrow_mut()[i] = Some(ok);
            ok
        };
        let all: Vec<&Arc<CmdEntry>> = merged.commands().iter().collect();
        let system = |name: &str| {
            all.iter()
                .find(|e| e.key == name && may_use(e))
                .map(|e| (*e).clone())
        };
        let parsed = parser::parse_allowed(line, &all, &mut |e| may_use(e));
        match parsed {
            Parsed::Empty => {
                if let Some(e) = system("__noinput_command") {
                    self.run_command(sessid, &e, line, "", "", merged.clone());
                }
            }
            Parsed::One(m) => {
                let e = m.entry.clone();
                self.run_command(sessid, &e, line, &m.cmdname, &m.args, merged.clone());
            }
            Parsed::Several(matches) => {
                if let Some(e) = system("__multimatch_command") {
                    self.run_command(sessid, &e, line, "", line, merged.clone());
                    return;
                }
                let mut out = format!(
                    "More than one command matches '{}' (add -1, -2, ... to the name to pick one):",
                    line.split_whitespace().next().unwrap_or(line)
                );
                for (i, m) in matches.iter().enumerate() {
                    let from = m
                        .entry
                        .obj
                        .and_then(|o| self.world.get(o))
                        .map(|o| format!(" [on {}]", o.key))
                        .unwrap_or_default();
                    out.push_str(&format!("\n {}-{}{from}", m.cmdname.to_lowercase(), i + 1));
                }
                self.msg_session(sessid, out);
            }
            Parsed::NoMatch => {
                if heard.matched {
                    return; // a flow's word, not a command
                }
                if let Some(e) = system("__nomatch_command") {
                    self.run_command(sessid, &e, line, "", line, merged.clone());
                    return;
                }
                let typed = line.split_whitespace().next().unwrap_or(line);
                let usable: Vec<&Arc<CmdEntry>> =
                    all.iter().copied().filter(|e| may_use(e)).collect();
                let suggestions = parser::suggestions(typed, &usable);
                let mut msg = format!("Command '{typed}' is not available.");
                if suggestions.is_empty() {
                    msg.push_str(" Type \"help\" for help.");
                } else {
                    let quoted: Vec<String> =
                        suggestions.iter().map(|s| format!("\"{s}\"")).collect();
                    let list = match quoted.as_slice() {
                        [one] => one.clone(),
                        [init @ .., last] => format!("{} or {last}", init.join(", ")),
                        [] => String::new(),
                    };
                    msg.push_str(&format!(" Maybe you meant {list}?"));
                }
                self.msg_session(sessid, msg);
            }
        }
    }

    /// Runs one command: `parse`, then `func`, catching a panic in game code.
    fn run_command(
        &mut self,
        sessid: SessId,
        entry: &Arc<CmdEntry>,
        raw: &str,
        cmdname: &str,
        rest: &str,
        merged: Arc<CmdSet>,
    ) {
        // Never log arguments: they may hold a password.
        tracing::debug!(sessid, cmd = %entry.key, "command");
        let cmd = entry.cmd.clone();
        let obj = entry.obj;
        let key = entry.key.clone();
        // A bug in one command must not take the server down: the input would
        // be replayed to the next server and crash it too.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut ctx = CmdCtx::new(self, sessid, raw, cmdname, rest, merged, obj);
            match cmd.parse(&mut ctx) {
                Ok(()) => cmd.func(&mut ctx),
                Err(msg) => ctx.msg(msg),
            }
        }));
        if let Err(panic) = ran {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(sessid, cmd = %key, "command panicked: {what}");
            self.msg_session(sessid, COMMAND_FAILED_MSG);
        }
    }
}
