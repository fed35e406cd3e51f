//! Running a line of input: a question's answer, a relayed command, what a
//! flow hears, or a command of the merged cmdset (parsed, lock-checked, run
//! with a panic caught).

use std::sync::Arc;

use tavern_shared::SessId;

use crate::commands::cmdset::{CmdEntry, CmdSet};
use crate::commands::parser::{self, Parsed};
use crate::commands::{COMMAND_FAILED_MSG, CmdCtx};
use crate::runtime::server::Server;

impl Server {
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
                s.set_data(crate::runtime::sessions::HIDDEN_PENDING, true.into());
            }
        }
    }

    /// Runs one line of input from a session.
    pub fn execute_line(&mut self, sessid: SessId, line: &str) {
        self.command_failed = false;
        let t0 = std::time::Instant::now();
        self.run_line(sessid, line, true);
        self.lines_run.0 += 1;
        self.lines_run.1.observe(t0.elapsed().as_secs_f64());
    }

    /// Runs a line; `expand`: the player's nicks and channel names may
    /// rewrite it first. A rewritten line runs with `expand` off, so no
    /// nick and channel name can send a line round for ever.
    fn run_line(&mut self, sessid: SessId, line: &str, expand: bool) {
        let line = line.trim();
        if let Some(s) = self.sessions.get_mut(sessid) {
            if let Some(answer) = s.asked.take() {
                if s.sync
                    .data
                    .remove(crate::runtime::sessions::HIDDEN_PENDING)
                    .is_some()
                {
                    s.dirty = true;
                }
                answer(self, sessid, line.to_string());
                return;
            }
            if s.sync
                .data
                .remove(crate::runtime::sessions::HIDDEN_PENDING)
                .is_some()
            {
                // A hidden answer whose question died with the last server.
                s.dirty = true;
                self.msg_session(
                    sessid,
                    "The server restarted while waiting for that; please try again.",
                );
                return;
            }
        }
        // An open line editor takes every line; an open pager its page
        // turns (anything else closes it); an open menu every line.
        if expand
            && (self.editor_input(sessid, line)
                || self.pager_input(sessid, line)
                || self.menu_input(sessid, line)
                || self.batch_input(sessid, line))
        {
            return;
        }
        // The player's own nicks rewrite the line first (once).
        let nicked = if expand {
            self.apply_nicks(sessid, line)
        } else {
            None
        };
        let line = nicked.as_deref().unwrap_or(line);
        if self.relay_line(sessid, line) {
            return;
        }
        // Flows listening to this player hear the line; one may keep it.
        let heard = self.flow_command(sessid, line);
        if heard.consumed {
            return;
        }
        let merged = self.merged_cmdset_remembered(sessid);
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
        let all = merged.commands();
        let system = |name: &str| all.iter().find(|e| e.key == name && may_use(e)).cloned();
        let parsed = parser::parse_set(line, &merged, &mut |e| may_use(e));
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
                // What the player typed is shown as typed, never as markup.
                let mut out = format!(
                    "More than one command matches '{}' (add -1, -2, ... to the name to pick one):",
                    tavern_shared::markup::escape(line.split_whitespace().next().unwrap_or(line))
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
                if expand && let Some(as_channel) = self.channel_line(sessid, line) {
                    self.run_line(sessid, &as_channel, false);
                    return;
                }
                if let Some(e) = system("__nomatch_command") {
                    self.run_command(sessid, &e, line, "", line, merged.clone());
                    return;
                }
                let typed = line.split_whitespace().next().unwrap_or(line);
                let usable: Vec<&Arc<CmdEntry>> = all.iter().filter(|e| may_use(e)).collect();
                let suggestions = parser::suggestions(typed, &usable);
                let mut msg = format!(
                    "Command '{}' is not available.",
                    tavern_shared::markup::escape(typed)
                );
                if suggestions.is_empty() {
                    msg.push_str(" Type \"help\" for help.");
                } else {
                    let quoted: Vec<String> =
                        suggestions.iter().map(|s| format!("\"{s}\"")).collect();
                    let list = super::actions::list_or(&quoted);
                    msg.push_str(&format!(" Maybe you meant {list}?"));
                }
                self.command_failed = true;
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
            if let Err(msg) = ctx.resolve_switches(cmd.as_ref()) {
                ctx.fail(msg);
                return;
            }
            match cmd.parse(&mut ctx) {
                Ok(()) => cmd.func(&mut ctx),
                Err(msg) => ctx.fail(msg),
            }
        }));
        if let Err(panic) = ran {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(sessid, cmd = %key, "command panicked: {what}");
            self.command_failed = true;
            self.msg_session(sessid, COMMAND_FAILED_MSG);
        }
    }
}
