//! Cmdset stacks on sessions, accounts and objects, and merging them for a
//! line of input.
//!
//! The bottom of each stack is its default set (from
//! [`Commands`](crate::commands::Commands)); sets added by name persist
//! across reloads (their names are stored), sets added as values last until
//! the next reload. For a line of input the runtime collects the session's,
//! account's and puppet's stacks, then (unless a merged set says `no_objs` /
//! `no_exits`) one set per exit in the room (priority 101, one command named
//! like the exit) and the sets of the objects in the room, the room itself
//! and the inventory that the caller may `call` (found through the world's
//! index of objects that offer commands, never by looking at everyone
//! there; another character offers only sets added to it, never its
//! default character set). These merge by priority
//! ([`crate::commands::cmdset::merge_all`]).

use std::sync::Arc;

use tavern_shared::SessId;

use crate::commands::cmdset::{CmdSet, MergeCache};
use crate::commands::handler::{Holder, SESSION_CMDSETS, exit_cmdset, session_cmdsets};
use crate::model::locks::Accessor;
use crate::model::world::{Kind, ObjId};
use crate::runtime::server::Server;

impl Server {
    /// The cmdsets on a holder, bottom (its default) first.
    pub fn cmdset_stack(&self, holder: Holder) -> Vec<Arc<CmdSet>> {
        let cmds = &self.game.commands;
        let mut out = Vec::new();
        // The sets added by name, read where they are kept (no copy of the
        // names on every line typed).
        let add_named = |out: &mut Vec<Arc<CmdSet>>, names: &[String]| {
            for name in names {
                match cmds.named.get(name) {
                    Some(set) => out.push(set.clone()),
                    None => {
                        tracing::warn!(?holder, cmdset = %name, "no cmdset registered by that name")
                    }
                }
            }
        };
        match holder {
            Holder::Session(id) => {
                let Some(s) = self.sessions.get(id) else {
                    return out;
                };
                out.push(if s.sync.logged_in {
                    cmds.session.clone()
                } else {
                    cmds.unloggedin.clone()
                });
                add_named(&mut out, &session_cmdsets(s));
            }
            Holder::Account(id) => {
                let Some(a) = self.world.accounts.get(&id) else {
                    return out;
                };
                out.push(cmds.account.clone());
                add_named(&mut out, &a.cmdsets);
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
                add_named(&mut out, &o.cmdsets);
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
        if let Holder::Object(id) = holder {
            self.world.set_offering_extra(id, true);
        }
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
            if temp.is_empty() {
                self.temp_cmdsets.remove(&holder);
                if let Holder::Object(id) = holder {
                    self.world.set_offering_extra(id, false);
                }
            }
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
        let sets = self.cmdset_layers(sessid);
        if sets.is_empty() && self.sessions.get(sessid).is_none() {
            return Arc::new(CmdSet::new("Empty"));
        }
        self.cmdset_cache().merge(&sets)
    }

    /// The sets merged for a session, before merging: the session's, the
    /// account's, the puppet's, and those its surroundings offer (what
    /// `cmdsets` shows).
    pub fn cmdset_layers(&self, sessid: SessId) -> Vec<Arc<CmdSet>> {
        let Some(s) = self.sessions.get(sessid) else {
            return Vec::new();
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
        sets
    }

    fn cmdset_cache(&self) -> std::sync::MutexGuard<'_, MergeCache> {
        self.cmdset_cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The sets offered by the caller's surroundings: the room, the exits
    /// and objects in it that offer commands, and what the caller carries
    /// that does. Only objects that carry cmdsets are looked at (the
    /// world's index of them), so the people in a crowded room cost
    /// nothing; a character's own default set is never offered to others.
    fn local_cmdsets(&self, caller: ObjId, no_exits: bool) -> Vec<Arc<CmdSet>> {
        let mut out = Vec::new();
        let Some(me) = self.world.get(caller) else {
            return out;
        };
        let mut nearby: Vec<ObjId> = Vec::new();
        if let Some(loc) = me.location {
            nearby.push(loc);
            nearby.extend_from_slice(self.world.offering(loc));
        }
        nearby.extend_from_slice(self.world.offering(caller));
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
            let mut stack = self.cmdset_stack(Holder::Object(id));
            if o.kind == Kind::Character {
                // Its default set is for whoever plays it.
                stack.retain(|s| !Arc::ptr_eq(s, &self.game.commands.character));
            }
            if stack.is_empty() || !self.access_strict(accessor, id, "call", true) {
                continue;
            }
            for set in stack {
                out.push(self.cmdset_cache().offered(id, &set));
            }
        }
        out
    }
}
