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
//!
//! A session remembers the merge its last line used ([`CmdsetMemo`]) with
//! what it was merged under: its login, account, puppet and the puppet's
//! place, and the world's [`cmdset_epoch`](crate::model::world::World::cmdset_epoch).
//! While none of those changed, the next line takes it without collecting
//! a set. A merge that asked a nearby object's `call` lock is not
//! remembered: a lock may read anything (an attribute, a tag) that the
//! epoch does not follow. The memo keeps the session's own layers (its,
//! its account's and its puppet's stacks) apart, good while only the place
//! changed; and a merge made in a place for someone who brings nothing of
//! their own there is remembered for that place and those own sets
//! ([`MergeCache::in_place`]), so whoever walks in next with the same sets
//! takes it.

use std::sync::Arc;

use tavern_shared::SessId;

use crate::commands::cmdset::{CmdSet, MergeCache, own_hash};
use crate::commands::handler::{Holder, SESSION_CMDSETS, exit_cmdset, session_cmdsets};
use crate::model::locks::Accessor;
use crate::model::world::{AccountId, Kind, ObjId};
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
        self.world.cmdsets_changed();
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
        self.world.cmdsets_changed();
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
        self.world.cmdsets_changed();
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
        self.merge_for(sessid).0
    }

    /// As [`Server::merged_cmdset`], and the session remembers it for its
    /// next line while it stays good (see [`CmdsetMemo`]).
    pub(crate) fn merged_cmdset_remembered(&mut self, sessid: SessId) -> Arc<CmdSet> {
        let (merged, memo) = self.merge_for(sessid);
        if let Some(memo) = memo
            && let Some(s) = self.sessions.get_mut(sessid)
        {
            s.cmdsets = Some(Box::new(memo));
        }
        merged
    }

    /// The merged set, and a memo of it when it was merged anew.
    fn merge_for(&self, sessid: SessId) -> (Arc<CmdSet>, Option<CmdsetMemo>) {
        let Some(s) = self.sessions.get(sessid) else {
            return (Arc::new(CmdSet::new("Empty")), None);
        };
        let stamp = self.cmdset_stamp(s);
        let kept = s.cmdsets.as_deref();
        if let Some(m) = kept
            && m.stamp == stamp
            && let Some(merged) = &m.merged
        {
            return (merged.clone(), None);
        }
        // A walk changes only the place: the session's, account's and
        // puppet's own sets are those the last line collected.
        let own = match kept {
            Some(m) if m.stamp.own() == stamp.own() => m.own.clone(),
            _ => Arc::new(self.own_layers(s)),
        };
        let epoch = stamp.epoch;
        // What the place adds is the same for everyone there with the same
        // own sets, unless the player brings something of their own.
        let shared_place = match (stamp.puppet, stamp.place) {
            (Some(p), Some(place))
                if !own.no_objs
                    && self.world.offering(p).is_empty()
                    && !self.world.offers_commands(p) =>
            {
                Some(place)
            }
            _ => None,
        };
        if let Some(place) = shared_place
            && let Some(merged) = self
                .cmdset_cache()
                .in_place(&own.sets, own.hash, place, epoch)
        {
            let memo = CmdsetMemo {
                stamp,
                merged: Some(merged.clone()),
                own,
            };
            return (merged, Some(memo));
        }
        let mut consulted = false;
        let sets = self.with_surroundings(&own, stamp.puppet, &mut consulted);
        let mut cache = self.cmdset_cache();
        let merged = cache.merge(&sets);
        if let Some(place) = shared_place
            && !consulted
        {
            cache.remember_in_place(own.sets.clone(), own.hash, place, epoch, merged.clone());
        }
        drop(cache);
        let memo = CmdsetMemo {
            stamp,
            merged: (!consulted).then(|| merged.clone()),
            own,
        };
        (merged, Some(memo))
    }

    /// What a session's merged set was merged under.
    fn cmdset_stamp(&self, s: &crate::runtime::sessions::ServerSession) -> MemoStamp {
        let puppet = s.puppet();
        MemoStamp {
            epoch: self.world.cmdset_epoch(),
            logged_in: s.sync.logged_in,
            account: s.account(),
            puppet,
            place: puppet
                .and_then(|p| self.world.get(p))
                .and_then(|o| o.location),
        }
    }

    /// The sets merged for a session, before merging: the session's, the
    /// account's, the puppet's, and those its surroundings offer (what
    /// `cmdsets` shows).
    pub fn cmdset_layers(&self, sessid: SessId) -> Vec<Arc<CmdSet>> {
        let Some(s) = self.sessions.get(sessid) else {
            return Vec::new();
        };
        self.with_surroundings(&self.own_layers(s), s.puppet(), &mut false)
    }

    /// The own layers, then what the puppet's surroundings offer (unless
    /// the own layers say `no_objs`): every set to merge, in order.
    fn with_surroundings(
        &self,
        own: &OwnLayers,
        puppet: Option<ObjId>,
        consulted: &mut bool,
    ) -> Vec<Arc<CmdSet>> {
        let mut sets = own.sets.to_vec();
        if let Some(p) = puppet
            && !own.no_objs
        {
            sets.extend(self.local_cmdsets(p, own.no_exits, consulted));
        }
        sets
    }

    /// The session's, its account's and its puppet's stacks, and whether
    /// they leave out what is nearby.
    fn own_layers(&self, s: &crate::runtime::sessions::ServerSession) -> OwnLayers {
        let (account, puppet) = (s.account(), s.puppet());
        let mut sets = self.cmdset_stack(Holder::Session(s.sync.sessid));
        if let Some(a) = account {
            sets.extend(self.cmdset_stack(Holder::Account(a)));
        }
        let (mut no_objs, mut no_exits) = (true, true);
        if let Some(p) = puppet {
            sets.extend(self.cmdset_stack(Holder::Object(p)));
            // The highest-priority set with an opinion decides.
            let mut by_prio: Vec<&Arc<CmdSet>> = sets.iter().collect();
            by_prio.sort_by_key(|s| std::cmp::Reverse(s.priority));
            no_objs = by_prio.iter().find_map(|s| s.no_objs).unwrap_or(false);
            no_exits = by_prio.iter().find_map(|s| s.no_exits).unwrap_or(false);
        }
        OwnLayers {
            hash: own_hash(&sets),
            sets: sets.into(),
            no_objs,
            no_exits,
        }
    }

    fn cmdset_cache(&self) -> std::sync::MutexGuard<'_, MergeCache> {
        self.cmdset_cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The sets offered by the caller's surroundings: the room, the exits
    /// and objects in it that offer commands, and what the caller carries
    /// that does. Only objects that carry cmdsets are looked at (the
    /// world's index of them), so the people in a crowded room cost
    /// nothing; a character's own default set is never offered to others.
    fn local_cmdsets(
        &self,
        caller: ObjId,
        no_exits: bool,
        consulted: &mut bool,
    ) -> Vec<Arc<CmdSet>> {
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
            if stack.is_empty() {
                continue;
            }
            *consulted = true;
            if !self.access_strict(accessor, id, "call", true) {
                continue;
            }
            for set in stack {
                out.push(self.cmdset_cache().offered(id, &set));
            }
        }
        out
    }
}

/// The merged cmdset a session's last line used, with what it was merged
/// under: good while the stamp is the same. The session's own layers are
/// kept apart, good while the stamp differs only in the place.
pub(crate) struct CmdsetMemo {
    stamp: MemoStamp,
    /// `None` when the merge asked a nearby object's `call` lock.
    merged: Option<Arc<CmdSet>>,
    own: Arc<OwnLayers>,
}

/// The stacks of a session, its account and its puppet, in merge order.
struct OwnLayers {
    sets: Arc<[Arc<CmdSet>]>,
    /// [`own_hash`] of `sets`.
    hash: u64,
    /// What the highest-priority set with an opinion said (both true when
    /// there is no puppet: nothing is nearby).
    no_objs: bool,
    no_exits: bool,
}

/// What a merge depends on besides the world's cmdset epoch: who types,
/// as whom, and where.
#[derive(Clone, Copy, PartialEq, Eq)]
struct MemoStamp {
    epoch: u64,
    logged_in: bool,
    account: Option<AccountId>,
    puppet: Option<ObjId>,
    place: Option<ObjId>,
}

impl MemoStamp {
    /// What the session's own layers depend on: all but the place.
    fn own(&self) -> (u64, bool, Option<AccountId>, Option<ObjId>) {
        (self.epoch, self.logged_in, self.account, self.puppet)
    }
}
