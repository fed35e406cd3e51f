//! What game code does to sessions and the world: log in, puppet, unpuppet,
//! send messages to objects and rooms, describe things.

use tavern_shared::SessId;

use crate::executor::Server;
use crate::world::{Account, AccountId, ObjId};

/// Shown to the sessions a new login replaces in multisession mode 0.
pub const LOGGED_IN_ELSEWHERE_MSG: &str = "Logged in from elsewhere. Disconnecting.";

impl Server {
    /// The account a session is logged in to.
    pub fn session_account(&self, sessid: SessId) -> Option<&Account> {
        let id = self.sessions.get(sessid)?.account()?;
        self.world.accounts.get(&id)
    }

    /// The object a session puppets.
    pub fn session_puppet(&self, sessid: SessId) -> Option<ObjId> {
        self.sessions.get(sessid)?.puppet()
    }

    pub fn is_superuser(&self, sessid: SessId) -> bool {
        self.session_account(sessid).is_some_and(|a| a.is_superuser)
    }

    /// Logs a session in to `account` and puppets its last character (Evennia's
    /// `AUTO_PUPPET_ON_LOGIN`). In multisession mode 0 the account's other
    /// sessions are disconnected first.
    pub fn login(&mut self, sessid: SessId, account: Account) {
        let account_id = account.id;
        let last_puppet = account.last_puppet;
        let name = account.name.clone();
        self.world.accounts.insert(account_id, account);
        if self.settings.server.multisession_mode == 0 {
            for other in self.sessions.of_account(account_id) {
                if other != sessid {
                    // The puppet passes to the new session: no "left the game".
                    if let Some(s) = self.sessions.get_mut(other) {
                        s.sync.puppet_id = None;
                    }
                    self.disconnect(other, Some(LOGGED_IN_ELSEWHERE_MSG.into()));
                }
            }
        }
        let Some(s) = self.sessions.get_mut(sessid) else {
            return;
        };
        s.sync.logged_in = true;
        s.sync.account_id = Some(account_id);
        s.sync.account_name = Some(name);
        s.sync.conn_time = tavern_shared::session::now_millis();
        s.dirty = true;
        tracing::info!(sessid, account = account_id, "logged in");
        match last_puppet.filter(|p| self.world.get(*p).is_some()) {
            Some(p) => self.puppet(sessid, p),
            None => self.msg_session(sessid, "You are logged in, but have no character to play."),
        }
    }

    /// Makes `sessid` control `obj`.
    pub fn puppet(&mut self, sessid: SessId, obj: ObjId) {
        if self.session_puppet(sessid) == Some(obj) {
            return;
        }
        self.unpuppet(sessid, true);
        let already_awake = !self.sessions.puppeting(obj).is_empty();
        let Some(s) = self.sessions.get_mut(sessid) else {
            return;
        };
        s.sync.puppet_id = Some(obj);
        s.dirty = true;
        let Some(o) = self.world.get(obj) else { return };
        let key = o.key.clone();
        if !already_awake {
            // Back where the character was when its player left.
            let prelogout =
                o.db.get("prelogout_location")
                    .and_then(|v| v.as_i64())
                    .filter(|l| self.world.get(*l).is_some());
            let dest = o
                .location
                .or(prelogout)
                .or(o.home)
                .unwrap_or(self.world.start_room);
            self.world.update(obj, |o| {
                o.db.remove("prelogout_location");
            });
            self.world.move_to(obj, Some(dest));
            self.msg_location(dest, &format!("{key} has entered the game."), &[obj]);
        }
        self.msg_session(sessid, format!("You become |c{key}|n."));
        let look = self.appearance(dest_of(self, obj), obj);
        self.msg_session(sessid, look);
    }

    /// Releases the session's puppet. When no other session controls it, the
    /// character leaves the world (`announce`: the room is told).
    pub fn unpuppet(&mut self, sessid: SessId, announce: bool) {
        let Some(s) = self.sessions.get_mut(sessid) else {
            return;
        };
        let Some(obj) = s.sync.puppet_id.take() else {
            return;
        };
        s.dirty = true;
        if !self.sessions.puppeting(obj).is_empty() {
            return;
        }
        let Some(o) = self.world.get(obj) else { return };
        let (key, loc) = (o.key.clone(), o.location);
        if let Some(loc) = loc {
            if announce {
                self.msg_location(loc, &format!("{key} has left the game."), &[obj]);
            }
            self.world.update(obj, |o| {
                o.db.insert("prelogout_location".into(), loc.into());
            });
            self.world.move_to(obj, None);
        }
    }

    /// Sends text to every session puppeting `obj`.
    pub fn msg_obj(&mut self, obj: ObjId, text: &str) {
        for s in self.sessions.puppeting(obj) {
            self.msg_session(s, text);
        }
    }

    /// Sends text to everything in `loc` except `exclude`.
    pub fn msg_location(&mut self, loc: ObjId, text: &str, exclude: &[ObjId]) {
        let targets: Vec<ObjId> = self
            .world
            .contents(loc)
            .iter()
            .copied()
            .filter(|o| !exclude.contains(o))
            .collect();
        for o in targets {
            self.msg_obj(o, text);
        }
    }

    /// Sends text to every session of an account.
    pub fn msg_account(&mut self, account: AccountId, text: &str) {
        for s in self.sessions.of_account(account) {
            self.msg_session(s, text);
        }
    }

    /// What `looker` sees when looking at `target` (Evennia's `return_appearance`).
    pub fn appearance(&self, target: ObjId, looker: ObjId) -> String {
        let Some(t) = self.world.get(target) else {
            return "You see nothing special.".into();
        };
        let mut out = format!("|c{}|n", t.key);
        if !t.desc.is_empty() {
            out.push('\n');
            out.push_str(&t.desc);
        }
        let mut exits = Vec::new();
        let mut characters = Vec::new();
        let mut things = Vec::new();
        for &id in self.world.contents(target) {
            if id == looker {
                continue;
            }
            let Some(o) = self.world.get(id) else {
                continue;
            };
            match o.typeclass.as_str() {
                "exit" => exits.push(o.key.clone()),
                "character" => characters.push(o.key.clone()),
                _ => things.push(o.key.clone()),
            }
        }
        for (label, names) in [
            ("Exits", exits),
            ("Characters", characters),
            ("You see", things),
        ] {
            if !names.is_empty() {
                out.push_str(&format!("\n|w{label}:|n {}", list_and(&names)));
            }
        }
        out
    }
}

fn dest_of(server: &Server, obj: ObjId) -> ObjId {
    server
        .world
        .get(obj)
        .and_then(|o| o.location)
        .unwrap_or(server.world.start_room)
}

/// "a", "a and b", "a, b and c".
pub fn list_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}
