//! An account's sessions as named things game code and players can address:
//! names, the active session, running a command in another session, session
//! variables and account events — the server-side half of what multi-session
//! clients (MudForge, Mudlet) script with.
//!
//! A session's name defaults to its puppet's name, else `<account>-<n>`;
//! a player renames one with `sessions/name`. Names are unique within an
//! account (a second session on the same character is `Anna-2`). The active
//! session is the one the player typed in last. Nothing here reaches another
//! account's sessions.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tavern_shared::SessId;

use crate::model::world::AccountId;
use crate::runtime::server::Server;

/// Session data key: the name a player gave a session.
pub const NAME_KEY: &str = "_session_name";
/// The longest session name.
pub const MAX_NAME_LEN: usize = 20;
/// Names that address several sessions, and cannot name one.
pub const RESERVED_NAMES: &[&str] = &["all", "others", "me"];

/// Which of an account's sessions a command is run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionTarget<'a> {
    /// One session, by id.
    Id(SessId),
    /// One session, by name (case does not matter).
    Name(&'a str),
    /// Every session of the account.
    All,
    /// Every session of the account but this one.
    Others(SessId),
}

/// Game code called when an account event reaches one of its sessions:
/// the server, the session, the event's name and its data.
pub type EventHandler = Arc<dyn Fn(&mut Server, SessId, &str, &Value) + Send + Sync>;

/// A subscription made with [`Server::on_event`]; give it back to
/// [`Server::off_event`] to stop listening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subscription(u64);

/// The handlers game code registered, per account.
#[derive(Default)]
pub struct EventHandlers {
    next: u64,
    by_account: HashMap<AccountId, Vec<(Subscription, String, EventHandler)>>,
}

/// Why a session could not be renamed.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Some(format!(
            "A session name is 1 to {MAX_NAME_LEN} characters long."
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Some("A session name is letters, digits, '-' and '_'.".into());
    }
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Some(format!(
            "'{name}' addresses several sessions; choose another name."
        ));
    }
    None
}

/// A namespaced session variable's key in the session data.
fn var_key(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}::{name}"),
        None => name.to_string(),
    }
}

impl Server {
    /// The sessions logged in to an account, oldest first.
    pub fn account_sessions(&self, account: AccountId) -> Vec<SessId> {
        let mut ids = self.sessions.of_account(account);
        ids.sort_by_key(|&s| self.sessions.get(s).map(|s| (s.sync.conn_time, s.sessid())));
        ids
    }

    /// Every session of the account with its name, oldest first.
    pub fn session_names(&self, account: AccountId) -> Vec<(SessId, String)> {
        let ids = self.account_sessions(account);
        let account_name = self
            .world
            .accounts
            .get(&account)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        let mut taken: Vec<String> = ids
            .iter()
            .filter_map(|&s| {
                self.sessions
                    .get(s)?
                    .data()
                    .get(NAME_KEY)?
                    .as_str()
                    .map(str::to_lowercase)
            })
            .collect();
        let mut out = Vec::new();
        for (n, &sid) in ids.iter().enumerate() {
            let Some(s) = self.sessions.get(sid) else {
                continue;
            };
            if let Some(own) = s.data().get(NAME_KEY).and_then(Value::as_str) {
                out.push((sid, own.to_string()));
                continue;
            }
            let base = s
                .puppet()
                .and_then(|p| self.world.get(p))
                .map(|o| o.key.clone())
                .unwrap_or_else(|| format!("{account_name}-{}", n + 1));
            let mut name = base.clone();
            let mut k = 2;
            while taken.contains(&name.to_lowercase()) {
                name = format!("{base}-{k}");
                k += 1;
            }
            taken.push(name.to_lowercase());
            out.push((sid, name));
        }
        out
    }

    /// A session's name.
    pub fn session_name(&self, sessid: SessId) -> Option<String> {
        let account = self.sessions.get(sessid)?.account()?;
        self.session_names(account)
            .into_iter()
            .find(|(s, _)| *s == sessid)
            .map(|(_, n)| n)
    }

    /// An account's session by name (case does not matter).
    pub fn session_by_name(&self, account: AccountId, name: &str) -> Option<SessId> {
        self.session_names(account)
            .into_iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(s, _)| s)
    }

    /// Names a session; `Err` says why not (taken, reserved, malformed).
    pub fn rename_session(&mut self, sessid: SessId, name: &str) -> Result<(), String> {
        if let Some(problem) = name_problem(name) {
            return Err(problem);
        }
        let account = self
            .sessions
            .get(sessid)
            .and_then(|s| s.account())
            .ok_or("Only a logged-in session has a name.")?;
        if let Some(other) = self.session_by_name(account, name)
            && other != sessid
        {
            return Err(format!("Another of your sessions is called '{name}'."));
        }
        if let Some(s) = self.sessions.get_mut(sessid) {
            s.set_data(NAME_KEY, Value::String(name.to_string()));
        }
        Ok(())
    }

    /// The session of the account the player typed in last.
    pub fn active_session(&self, account: AccountId) -> Option<SessId> {
        self.account_sessions(account).into_iter().max_by_key(|&s| {
            self.sessions
                .get(s)
                .map(|s| (s.sync.cmd_last_visible, s.typed))
        })
    }

    /// The sessions of `account` a target names.
    pub fn target_sessions(&self, account: AccountId, target: SessionTarget<'_>) -> Vec<SessId> {
        let mine = self.account_sessions(account);
        match target {
            SessionTarget::Id(id) => mine.into_iter().filter(|&s| s == id).collect(),
            SessionTarget::Name(name) => self.session_by_name(account, name).into_iter().collect(),
            SessionTarget::All => mine,
            SessionTarget::Others(me) => mine.into_iter().filter(|&s| s != me).collect(),
        }
    }

    /// Runs `line` as if typed in each of the account's sessions `target`
    /// names; returns in how many it ran. A session busy with earlier input
    /// (a password being checked) is skipped.
    pub fn run_in_sessions(
        &mut self,
        account: AccountId,
        target: SessionTarget<'_>,
        line: &str,
    ) -> usize {
        let mut ran = 0;
        for sessid in self.target_sessions(account, target) {
            if self.run_as(sessid, line) {
                ran += 1;
            }
        }
        ran
    }

    /// Runs `line` as if the player had typed it in `sessid`; false if the
    /// session is gone or busy.
    pub fn run_as(&mut self, sessid: SessId, line: &str) -> bool {
        match self.sessions.get(sessid) {
            Some(s) if s.busy.is_none() && s.held.is_empty() => {}
            _ => return false,
        }
        self.execute_line(sessid, line);
        true
    }

    /// A session variable: game data kept with the connection, surviving
    /// reloads and crashes, gone when it disconnects. `namespace` keeps one
    /// module's variables apart from another's.
    pub fn session_var(
        &self,
        sessid: SessId,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&Value> {
        self.sessions
            .get(sessid)?
            .data()
            .get(&var_key(namespace, name))
    }

    /// Sets a session variable (see [`Server::session_var`]).
    pub fn set_session_var(
        &mut self,
        sessid: SessId,
        namespace: Option<&str>,
        name: &str,
        value: Value,
    ) {
        if let Some(s) = self.sessions.get_mut(sessid) {
            s.set_data(var_key(namespace, name), value);
        }
    }

    /// A variable in every session of the account that has it: `(session,
    /// session name, value)`.
    pub fn session_var_all(
        &self,
        account: AccountId,
        namespace: Option<&str>,
        name: &str,
    ) -> Vec<(SessId, String, Value)> {
        self.session_names(account)
            .into_iter()
            .filter_map(|(s, n)| Some((s, n, self.session_var(s, namespace, name)?.clone())))
            .collect()
    }

    /// Listens for the account's event `event` (`"*"`: every event). The
    /// handler runs once per session the event reaches. Subscriptions live in
    /// the running server and end with it; handlers that must outlive reloads
    /// belong in [`Game::on_event`](crate::Game::on_event).
    pub fn on_event(
        &mut self,
        account: AccountId,
        event: &str,
        handler: impl Fn(&mut Server, SessId, &str, &Value) + Send + Sync + 'static,
    ) -> Subscription {
        let h = &mut self.event_handlers;
        h.next += 1;
        let sub = Subscription(h.next);
        h.by_account
            .entry(account)
            .or_default()
            .push((sub, event.to_string(), Arc::new(handler)));
        sub
    }

    /// Stops a subscription; false if it had already stopped.
    pub fn off_event(&mut self, sub: Subscription) -> bool {
        let mut found = false;
        for list in self.event_handlers.by_account.values_mut() {
            let before = list.len();
            list.retain(|(s, _, _)| *s != sub);
            found |= list.len() != before;
        }
        self.event_handlers.by_account.retain(|_, l| !l.is_empty());
        found
    }

    /// Sends an event to every session of the account; returns how many it reached.
    pub fn broadcast_event(&mut self, account: AccountId, event: &str, data: Value) -> usize {
        let targets = self.account_sessions(account);
        for &s in &targets {
            self.deliver_event(account, s, event, &data);
        }
        targets.len()
    }

    /// Sends an event to one session; false if it is not logged in.
    pub fn emit_to_session(&mut self, sessid: SessId, event: &str, data: Value) -> bool {
        let Some(account) = self.sessions.get(sessid).and_then(|s| s.account()) else {
            return false;
        };
        self.deliver_event(account, sessid, event, &data);
        true
    }

    fn deliver_event(&mut self, account: AccountId, sessid: SessId, event: &str, data: &Value) {
        let wanted = |e: &str| e == event || e == "*";
        let mut handlers: Vec<EventHandler> = self
            .game
            .event_handlers
            .iter()
            .filter(|(e, _)| wanted(e))
            .map(|(_, h)| h.clone())
            .collect();
        if let Some(l) = self.event_handlers.by_account.get(&account) {
            handlers.extend(
                l.iter()
                    .filter(|(_, e, _)| wanted(e))
                    .map(|(_, _, h)| h.clone()),
            );
        }
        for h in handlers {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                h(self, sessid, event, data)
            }));
            if ran.is_err() {
                tracing::error!(sessid, event, "an event handler panicked");
            }
        }
    }

    /// `@<session> <command>`, `@all <command>`, `@others <command>`: if
    /// `line` addresses sessions of the caller's account, runs the command in
    /// them and returns true.
    pub(crate) fn relay_line(&mut self, sessid: SessId, line: &str) -> bool {
        let Some(rest) = line.strip_prefix('@') else {
            return false;
        };
        let Some(account) = self.sessions.get(sessid).and_then(|s| s.account()) else {
            return false;
        };
        let (word, command) = match rest.split_once(char::is_whitespace) {
            Some((w, c)) => (w, c.trim()),
            None => (rest, ""),
        };
        let Some(target) = self.relay_target(account, sessid, word) else {
            return false;
        };
        if command.is_empty() {
            self.msg_session(sessid, format!("Usage: @{word} <command>"));
            return true;
        }
        let again = command
            .strip_prefix('@')
            .and_then(|r| r.split_whitespace().next())
            .and_then(|w| self.relay_target(account, sessid, w));
        if again.is_some() {
            self.msg_session(sessid, "A relayed command cannot be relayed again.");
            return true;
        }
        let ran = self.run_in_sessions(account, target, command);
        if ran == 0 {
            self.msg_session(sessid, "No session could run that now.");
        }
        true
    }

    /// The sessions `@word` addresses, if it addresses any of the account's.
    fn relay_target<'a>(
        &self,
        account: AccountId,
        sessid: SessId,
        word: &'a str,
    ) -> Option<SessionTarget<'a>> {
        if word.eq_ignore_ascii_case("all") {
            Some(SessionTarget::All)
        } else if word.eq_ignore_ascii_case("others") {
            Some(SessionTarget::Others(sessid))
        } else {
            self.session_by_name(account, word)
                .map(|_| SessionTarget::Name(word))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::SessionTarget;
    use crate::Game;
    use crate::testing::TestGame;

    fn mode(mode: u8) -> TestGame {
        TestGame::with_settings(Game::new(), |s| {
            s.server.multisession_mode = mode;
            s.server.max_nr_characters = 3;
            s.server.max_nr_simultaneous_puppets = 3;
        })
    }

    fn account_of(t: &TestGame, sessid: u64) -> i64 {
        t.server().sessions.get(sessid).unwrap().account().unwrap()
    }

    #[test]
    fn sessions_are_named_after_their_puppets_and_can_be_renamed() {
        let mut t = mode(3);
        let one = t.player("Anna");
        let two = t.connect();
        t.login(two, "Anna");
        let acc = account_of(&t, one);
        let names = t.server().session_names(acc);
        assert_eq!(
            names,
            vec![(one, "Anna".to_string()), (two, "Anna-2".to_string())]
        );
        t.cmd(two, "ooc");
        assert_eq!(t.server().session_name(two).as_deref(), Some("Anna-2"));

        assert_eq!(
            t.cmd(two, "sessions/name scout"),
            format!("Session {two} is now called 'scout'.")
        );
        assert_eq!(t.server().session_by_name(acc, "SCOUT"), Some(two));
        assert!(
            t.cmd(one, "sessions/name all")
                .contains("addresses several sessions")
        );
        assert!(
            t.cmd(one, "sessions/name scout")
                .contains("Another of your sessions")
        );
        assert!(
            t.cmd(one, "sessions/name no spaces")
                .contains("letters, digits")
        );
        assert_eq!(
            t.cmd(one, "sessions/name scout = lookout"),
            format!("Session {two} is now called 'lookout'.")
        );

        let table = t.cmd(one, "sessions");
        assert!(table.contains("lookout"), "{table}");
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("*>") && l.contains("Anna")),
            "{table}"
        );
        // The name survives a reload, with the session.
        t.reload();
        assert_eq!(t.server().session_name(two).as_deref(), Some("lookout"));
    }

    #[test]
    fn a_command_runs_in_another_session_of_the_same_account_only() {
        let mut t = mode(2);
        let anna = t.player("Anna");
        assert!(t.cmd(anna, "charcreate Nell").contains("Nell"));
        let nell = t.connect();
        t.login(nell, "Anna"); // takes Anna over (mode 2): the first session plays Nell
        t.cmd(nell, "ooc");
        t.cmd(anna, "ic Anna");
        t.cmd(nell, "ic Nell");
        let bert = t.player("Bert");
        t.heard(anna);
        t.heard(nell);
        t.heard(bert);

        // Typed in Anna's window, said by Nell.
        assert_eq!(t.cmd(anna, "@Nell say psst"), "Nell says, \"psst\"");
        assert_eq!(t.heard(nell), "You say, \"psst\"");
        t.heard(bert);
        // @all runs in both; @others in the other one only.
        t.cmd(anna, "@all pose waves");
        assert!(t.heard(nell).contains("Nell waves"));
        let acc = account_of(&t, anna);
        let ran =
            t.with_server(|s| s.run_in_sessions(acc, SessionTarget::Others(anna), "pose nods"));
        assert_eq!(ran, 1);
        assert!(t.heard(anna).contains("Nell nods"));
        // Another account's session is not addressable: '@Bert' is just a command.
        let out = t.cmd(anna, "@Bert say hi");
        assert!(out.contains("not available"), "{out}");
        assert!(!t.heard(bert).contains("hi"));
        assert_eq!(
            t.cmd(anna, "@Nell @Anna look"),
            "A relayed command cannot be relayed again."
        );
    }

    #[test]
    fn session_variables_survive_a_reload_and_are_read_across_sessions() {
        let mut t = mode(1);
        let one = t.player("Anna");
        let two = t.connect();
        t.login(two, "Anna");
        let acc = account_of(&t, one);
        t.with_server(|s| {
            s.set_session_var(one, None, "target", json!("rat"));
            s.set_session_var(two, Some("mapper"), "zoom", json!(3));
            s.set_session_var(two, None, "target", json!("wolf"));
        });
        t.reload();
        let s = t.server();
        assert_eq!(s.session_var(two, Some("mapper"), "zoom"), Some(&json!(3)));
        assert_eq!(
            s.session_var(two, None, "zoom"),
            None,
            "namespaces are apart"
        );
        let all = s.session_var_all(acc, None, "target");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].2, json!("rat"));
        assert_eq!(all[1].2, json!("wolf"));
    }

    #[test]
    fn events_reach_the_sessions_they_are_sent_to_and_stop_on_unsubscribe() {
        let mut t = mode(1);
        let one = t.player("Anna");
        let two = t.connect();
        t.login(two, "Anna");
        let bert = t.player("Bert");
        let acc = account_of(&t, one);
        let bert_acc = account_of(&t, bert);
        let sub = t.with_server(|s| {
            s.on_event(acc, "alarm", |s, sessid, name, data| {
                s.msg_session(sessid, format!("[{name}] {data}"));
            })
        });
        t.with_server(|s| {
            s.on_event(bert_acc, "*", |s, sessid, name, _| {
                s.msg_session(sessid, format!("bert heard {name}"));
            })
        });
        for s in [one, two, bert] {
            t.heard(s);
        }
        let reached = t.with_server(|s| s.broadcast_event(acc, "alarm", json!("fire")));
        assert_eq!(reached, 2);
        assert_eq!(t.heard(one), "[alarm] \"fire\"");
        assert_eq!(t.heard(two), "[alarm] \"fire\"");
        assert_eq!(t.heard(bert), "");
        assert!(t.with_server(|s| s.emit_to_session(two, "alarm", json!(1))));
        assert_eq!(t.heard(one), "");
        assert_eq!(t.heard(two), "[alarm] 1");
        t.with_server(|s| s.broadcast_event(acc, "other", json!(null)));
        assert_eq!(t.heard(one), "", "not subscribed to that event");
        assert!(t.with_server(|s| s.off_event(sub)));
        assert!(!t.with_server(|s| s.off_event(sub)));
        t.with_server(|s| s.broadcast_event(acc, "alarm", json!("again")));
        assert_eq!(t.heard(one), "");
    }

    #[test]
    fn the_active_session_is_the_one_typed_in_last() {
        let mut t = mode(1);
        let one = t.player("Anna");
        let two = t.connect();
        t.login(two, "Anna");
        let acc = account_of(&t, one);
        t.cmd(two, "look");
        assert_eq!(t.server().active_session(acc), Some(two));
        t.cmd(one, "look");
        assert_eq!(t.server().active_session(acc), Some(one));
        // A relayed command does not move it: the player typed in `one`.
        t.cmd(one, "@Anna-2 look");
        assert_eq!(t.server().active_session(acc), Some(one));
    }
}
