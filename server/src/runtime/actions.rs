//! What game code does to sessions: log in, puppet and unpuppet by Evennia's
//! multisession modes, and route messages to sessions, objects, rooms and
//! accounts.
//!
//! | mode | a second session of the account... |
//! |---|---|
//! | 0 | replaces the first, which is disconnected |
//! | 1 | shares the puppet of the first |
//! | 2 | has its own puppet; puppeting one another session has takes it over |
//! | 3 | like 2, but the puppet is shared instead of taken over |

use tavern_shared::link::PortalOp;
use tavern_shared::{Msg, SessId};

use crate::model::locks::Accessor;
use crate::model::world::{Account, AccountId, ObjId};
use crate::runtime::server::Server;

/// The account attribute holding the client options a player saved
/// (`option/save`).
pub const CLIENT_CHOICES_ATTR: &str = "_client_options";

/// Shown to the sessions a new login replaces in multisession mode 0.
pub const LOGGED_IN_ELSEWHERE_MSG: &str = "Logged in from elsewhere. Disconnecting.";
/// Told to a logged-in session that has no character to play.
pub const OOC_MSG: &str =
    "You are out-of-character (OOC).\nUse |wic <character>|n to get into the game.";

/// What a banned player is told (Evennia's words, and the reason).
pub fn banned_msg(ban: &crate::model::bans::Ban) -> String {
    if ban.reason.is_empty() {
        "You have been banned and cannot continue from here.".to_string()
    } else {
        format!(
            "You have been banned and cannot continue from here. Reason: {}",
            tavern_shared::markup::escape(&ban.reason)
        )
    }
}

impl Server {
    /// Deletes an account: its sessions are disconnected, its characters
    /// destroyed, its channel subscriptions dropped; the account's row goes
    /// with the commit. The characters' names, for the message.
    pub fn account_delete(&mut self, account: AccountId) -> Option<Vec<String>> {
        self.world.accounts.get(&account)?;
        for sessid in self.sessions.of_account(account) {
            self.disconnect(sessid, Some("Your account has been deleted.".into()));
        }
        let mut names = Vec::new();
        for c in self.world.characters_of(account) {
            if let Some(o) = self.world.get(c) {
                names.push(o.key.clone());
            }
            if let Err(e) = self.destroy_object(c) {
                tracing::error!(
                    account,
                    character = c,
                    "a deleted account's character stays: {e}"
                );
            }
        }
        for ch in self.world.channels.of_account(account) {
            self.channel_unsub(ch, account);
        }
        self.nick_cache.forget(account);
        self.world.delete_account(account);
        Some(names)
    }

    /// The ban that keeps this session's address or `name` out, if any.
    pub fn ban_for(&self, sessid: SessId, name: Option<&str>) -> Option<crate::model::bans::Ban> {
        let bans = self.world.bans();
        let ip = self.sessions.get(sessid).map(|s| s.ip().to_string())?;
        bans.of_address(&ip)
            .or_else(|| name.and_then(|n| bans.of_name(n)))
            .cloned()
    }

    /// The account a session is logged in to.
    pub fn session_account(&self, sessid: SessId) -> Option<&Account> {
        let id = self.sessions.get(sessid)?.account()?;
        self.world.accounts.get(&id)
    }

    /// The object a session puppets.
    pub fn session_puppet(&self, sessid: SessId) -> Option<ObjId> {
        self.sessions.get(sessid)?.puppet()
    }

    /// Loads an account (and its characters) that another process made in
    /// the database while the game runs (`tavern account create`), so
    /// in-game commands know it at once.
    pub(crate) fn load_account(&mut self, account: AccountId) {
        if self.world.accounts.contains_key(&account) {
            self.push_op(PortalOp::AccountKnown { account });
            return;
        }
        let db = self.db.clone();
        self.spawn_task(async move {
            let found = crate::store::load_account_and_characters(&db, account).await;
            let done: crate::runtime::server::Completion = Box::new(move |server: &mut Server| {
                match found {
                    Ok(Some((row, characters))) => server.add_loaded_account(row, characters),
                    Ok(None) => {
                        tracing::warn!(account, "the launcher named an account that is not there")
                    }
                    Err(e) => {
                        tracing::error!(account, "cannot load an account the launcher made: {e}")
                    }
                }
                // The launcher is told once the game knows (or never will).
                server.push_op(PortalOp::AccountKnown { account });
            });
            done
        });
    }

    fn add_loaded_account(
        &mut self,
        row: crate::store::account::Model,
        characters: Vec<crate::store::object::Model>,
    ) {
        if self.world.accounts.contains_key(&row.id) {
            return;
        }
        let id = row.id;
        self.world.accounts.insert(id, Account::from(&row));
        // As the next start would load them (the launcher runs no game
        // code, so no creation hooks ran).
        for c in characters {
            if self.world.get(c.id).is_none() {
                self.world
                    .insert_loaded(crate::model::world::Object::from(c));
            }
        }
        tracing::info!(account = id, "account made by the launcher loaded");
        self.pending_creation_hooks(Some(id));
    }

    /// Runs the creation hooks of characters made outside the game (the
    /// launcher's `account create`), and of their accounts, once: of one
    /// account, or (at start) of every account.
    pub(crate) fn pending_creation_hooks(&mut self, only: Option<crate::model::world::AccountId>) {
        use crate::model::object::CREATION_PENDING;
        let accounts: Vec<_> = match only {
            Some(a) => vec![a],
            None => self.world.accounts.keys().copied().collect(),
        };
        for account in accounts {
            let pending: Vec<_> = self
                .world
                .characters_of(account)
                .into_iter()
                .filter(|&c| {
                    self.world
                        .get(c)
                        .is_some_and(|o| o.db.contains_key(CREATION_PENDING))
                })
                .collect();
            if pending.is_empty() {
                continue;
            }
            for c in pending {
                self.world.update(c, |o| {
                    o.del_attr(CREATION_PENDING);
                });
                self.hook(c, "at_object_creation", (), |tc, s| {
                    tc.at_object_creation(s, c)
                });
            }
            self.account_hook("at_account_creation", |tc, s| {
                tc.at_account_creation(s, account)
            });
        }
    }

    /// Whether the account `sessid` is logged in to is a superuser (and
    /// has not quelled it while playing).
    pub fn is_superuser(&self, sessid: SessId) -> bool {
        crate::model::locks::LockCtx {
            world: &self.world,
            accessor: self.accessor(sessid),
            target: None,
        }
        .is_superuser()
    }

    fn mode(&self) -> u8 {
        self.settings.server.multisession_mode
    }

    /// Logs a session in to `account`. In mode 0 the account's other sessions
    /// are disconnected first. Then, with `auto_puppet_on_login`, the last
    /// character played is puppeted; otherwise the player starts out of character.
    pub fn login(&mut self, sessid: SessId, account: Account) {
        let account_id = account.id;
        let name = account.name.clone();
        // The running world's copy is the freshest; a login only adds a missing one.
        self.world.accounts.entry(account_id).or_insert(account);
        if self.mode() == 0 {
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
        let now = self.now() as u64;
        // Client options the player saved (`option/save`) follow them to
        // every new connection.
        let saved: Option<tavern_shared::session::ClientChoices> = self
            .world
            .accounts
            .get(&account_id)
            .and_then(|a| a.attr(CLIENT_CHOICES_ATTR));
        let Some(s) = self.sessions.get_mut(sessid) else {
            return;
        };
        if let Some(saved) = saved {
            s.sync.choices = saved;
        }
        s.sync.logged_in = true;
        s.sync.account_id = Some(account_id);
        s.sync.account_name = Some(name);
        s.sync.conn_time = now;
        s.dirty = true;
        tracing::info!(sessid, account = account_id, "logged in");
        self.issue_resume_token(sessid);
        self.account_hook("at_post_login", |tc, s| {
            tc.at_post_login(s, account_id, sessid)
        });
        self.channels_at_login(account_id);
    }

    /// What a session's client can do, with the player's own choices
    /// (`option`) over what the client reported.
    pub fn client_flags(&self, sessid: SessId) -> tavern_shared::session::ProtocolFlags {
        match self.sessions.get(sessid) {
            Some(s) => s.sync.choices.apply(&s.sync.flags),
            None => tavern_shared::session::ProtocolFlags::new(),
        }
    }

    /// Makes `sessid` control `obj`, by the rules of the multisession mode.
    /// Returns why not (to tell the player) when it cannot.
    pub fn puppet(&mut self, sessid: SessId, obj: ObjId) -> Result<(), String> {
        let Some(account) = self.sessions.get(sessid).and_then(|s| s.account()) else {
            return Err("You must be logged in to do that.".into());
        };
        if self.session_puppet(sessid) == Some(obj) {
            return Ok(());
        }
        let Some(key) = self.world.get(obj).map(|o| o.key.clone()) else {
            return Err("That character does not exist.".into());
        };
        let me = Accessor {
            account: Some(account),
            puppet: None,
        };
        if !self.access(me, obj, "puppet", false) {
            return Err(format!("You don't have permission to puppet '{key}'."));
        }
        let others: Vec<SessId> = self
            .sessions
            .puppeting(obj)
            .into_iter()
            .filter(|&s| s != sessid)
            .collect();
        let mine = others
            .iter()
            .all(|&s| self.sessions.get(s).and_then(|s| s.account()) == Some(account));
        if !mine {
            return Err(format!(
                "|c{key}|R is already puppeted by another Account.|n"
            ));
        }
        let max = self.settings.server.max_nr_simultaneous_puppets;
        if max > 0 && !self.has_perm(me, "Developer") {
            let mut puppets: Vec<ObjId> = self
                .sessions
                .of_account(account)
                .into_iter()
                .filter(|&s| s != sessid)
                .filter_map(|s| self.session_puppet(s))
                .collect();
            puppets.sort();
            puppets.dedup();
            // Taking over or sharing a puppet another session has does not add one.
            if !puppets.contains(&obj) && puppets.len() >= max {
                return Err("You are already puppeting the max number of characters.".into());
            }
        }
        let pre = self.hook(obj, "at_pre_puppet", Ok(()), |tc, s| {
            tc.at_pre_puppet(s, obj, sessid)
        });
        pre?;
        self.unpuppet(sessid);
        if !others.is_empty() {
            if matches!(self.mode(), 1 | 3) {
                self.msg_session(
                    sessid,
                    format!("Sharing |c{key}|n with another of your sessions."),
                );
                for &o in &others {
                    self.msg_session(
                        o,
                        format!("|c{key}|n|G is now shared from another of your sessions.|n"),
                    );
                }
            } else {
                self.msg_session(
                    sessid,
                    format!("Taking over |c{key}|n from another of your sessions."),
                );
                for &o in &others {
                    self.msg_session(
                        o,
                        format!("|c{key}|n|R is now acted from another of your sessions.|n"),
                    );
                    // The character stays in the world: it changes hands.
                    if let Some(s) = self.sessions.get_mut(o) {
                        s.sync.puppet_id = None;
                        s.dirty = true;
                    }
                    self.msg_session(o, OOC_MSG);
                }
            }
        }
        if let Some(s) = self.sessions.get_mut(sessid) {
            s.sync.puppet_id = Some(obj);
            s.dirty = true;
        }
        self.refresh_feeds(sessid);
        self.world
            .update_account(account, |a| a.last_puppet = Some(obj));
        // Back where the character was when its player left.
        if let Some(o) = self.world.get(obj)
            && o.location.is_none()
        {
            let prelogout = o
                .attr::<ObjId>("prelogout_location")
                .filter(|l| self.world.get(*l).is_some());
            let dest = prelogout
                .or(o.home.filter(|h| self.world.get(*h).is_some()))
                .unwrap_or(self.world.start_room);
            self.world.update(obj, |o| {
                o.db.remove("prelogout_location");
            });
            self.world.move_to(obj, Some(dest));
        }
        self.hook(obj, "at_post_puppet", (), |tc, s| {
            tc.at_post_puppet(s, obj, sessid)
        });
        Ok(())
    }

    /// Releases the session's puppet, if any, and runs its `at_post_unpuppet`
    /// (by default, a character nobody controls leaves the world).
    pub fn unpuppet(&mut self, sessid: SessId) -> Option<ObjId> {
        let s = self.sessions.get_mut(sessid)?;
        let obj = s.sync.puppet_id.take()?;
        s.dirty = true;
        self.feed_states.remove(&sessid);
        self.hook(obj, "at_post_unpuppet", (), |tc, s| {
            tc.at_post_unpuppet(s, obj, sessid)
        });
        Some(obj)
    }

    /// Sends text to every session puppeting `obj`.
    pub fn msg_obj(&mut self, obj: ObjId, text: &str) {
        for s in self.sessions.puppeting(obj) {
            self.msg_session(s, text);
        }
    }

    /// Sends text to everything in `loc` except `exclude`.
    pub fn msg_location(&mut self, loc: ObjId, text: &str, exclude: &[ObjId]) {
        let mut here = self.maybe_played_in(loc);
        here.retain(|o| !exclude.contains(o));
        let sessions = self.sessions.puppeting_any(&here);
        self.send_msg_many(&sessions, Msg::text(text));
    }

    /// The sessions whose puppet is in `room`, sorted.
    pub fn sessions_in(&self, room: ObjId) -> Vec<SessId> {
        self.sessions.puppeting_any(&self.maybe_played_in(room))
    }

    /// The objects in `place` a session plays, by id: found through the
    /// world's index of them, so a room's things are not walked.
    pub fn played_in(&self, place: ObjId) -> Vec<ObjId> {
        let mut v = self.maybe_played_in(place);
        v.retain(|&o| self.sessions.is_puppeted(o));
        v
    }

    /// Every object in `place` a session may play, by id: those the world's
    /// index has there, and those whose change it has not learnt yet that
    /// are there (a few, changed in this event). Some may be played no
    /// longer; asking the sessions tells.
    pub(crate) fn maybe_played_in(&self, place: ObjId) -> Vec<ObjId> {
        let mut v = self.world.played_in(place).to_vec();
        let before = v.len();
        v.extend(
            self.sessions
                .puppets_in_flux()
                .filter(|&p| self.world.get(p).and_then(|o| o.location) == Some(place)),
        );
        if v.len() != before {
            v.sort_unstable();
            v.dedup();
        }
        v
    }

    /// Sends text to every session of an account.
    pub fn msg_account(&mut self, account: AccountId, text: &str) {
        for s in self.sessions.of_account(account) {
            self.msg_session(s, text);
        }
    }

    /// What an account sees out of character: its characters and sessions.
    pub fn ooc_appearance(&self, account: AccountId, sessid: SessId) -> String {
        let Some(a) = self.world.accounts.get(&account) else {
            return String::new();
        };
        let line = "|g--------------------------------------------------------------------|n";
        let mut out = format!(
            "{line}\nAccount |g{}|n (you are Out-of-Character)\n",
            a.name
        );
        let sessions = self.sessions.of_account(account);
        out.push_str("\n|wConnected session(s):|n");
        for s in &sessions {
            let Some(sess) = self.sessions.get(*s) else {
                continue;
            };
            let marker = if *s == sessid { "*" } else { " " };
            out.push_str(&format!(
                "\n {marker}{s} {} {}",
                sess.sync.protocol,
                sess.ip()
            ));
        }
        let chars = self.world.characters_of(account);
        let max = self.settings.server.max_nr_characters;
        let max_s = if max == 0 {
            "-".into()
        } else {
            max.to_string()
        };
        if chars.is_empty() {
            out.push_str("\n\nYou don't have a character yet. Use |wcharcreate <name>|n.");
        } else {
            out.push_str(&format!(
                "\n\nAvailable character(s) ({}/{max_s}, |wic <name>|n to play):",
                chars.len()
            ));
            for c in chars {
                let Some(o) = self.world.get(c) else { continue };
                let players: Vec<SessId> = self.sessions.puppeting(c);
                let played = match players.as_slice() {
                    [] => String::new(),
                    p if p.contains(&sessid) => " (played by you in this session)".into(),
                    p => format!(
                        " (played by you in session {})",
                        p.iter()
                            .map(|s| s.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                out.push_str(&format!("\n - |c{}|n{played}", o.key));
            }
        }
        out.push('\n');
        out.push_str(line);
        out
    }
}

/// "a", "a and b", "a, b and c".
pub fn list_and<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::new();
    push_list_and(&mut out, items);
    out
}

/// [`list_and`], written onto the end of `out`.
pub fn push_list_and<S: AsRef<str>>(out: &mut String, items: &[S]) {
    push_list(out, items, " and ");
}

/// Lists choices as a sentence does: "a", "a or b", "a, b or c".
pub fn list_or<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::new();
    push_list(&mut out, items, " or ");
    out
}

/// Writes `items` onto `out`, separated by commas and the last by `last`.
fn push_list<S: AsRef<str>>(out: &mut String, items: &[S], last_sep: &str) {
    let last = items.len().saturating_sub(1);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(if i == last { last_sep } else { ", " });
        }
        out.push_str(item.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::{list_and, list_or, push_list_and};

    #[test]
    fn names_are_listed_with_commas_and_a_last_and() {
        let none: [&str; 0] = [];
        assert_eq!(list_and(&none), "");
        assert_eq!(list_and(&["a rock"]), "a rock");
        assert_eq!(list_and(&["a rock", "a stick"]), "a rock and a stick");
        let owned = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(list_and(&owned), "a, b and c");
        let mut out = "You see: ".to_string();
        push_list_and(&mut out, &["x", "y", "z", "w"]);
        assert_eq!(out, "You see: x, y, z and w");
        assert_eq!(list_or(&none), "");
        assert_eq!(list_or(&["\"look\""]), "\"look\"");
        assert_eq!(list_or(&["a", "b", "c"]), "a, b or c");
    }
}
