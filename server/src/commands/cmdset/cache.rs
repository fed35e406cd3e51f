//! Merged cmdsets, remembered (Evennia keeps a cache of merges too): the
//! same sets, merged in the same order, always give the same result, and a
//! player's sets rarely change between two lines.
//!
//! A merge is remembered by the identity of the sets that went in (their
//! `Arc`s, which the cache keeps alive, so no other set can take their
//! address). For that to find anything, the sets an exit or a nearby object
//! offers are made once and reused while they stay the same. A merge is
//! also remembered by place, for everyone with the same own sets there
//! ([`MergeCache::in_place`]).

use std::sync::Arc;

use super::{CmdSet, merge_all};
use crate::model::world::{IdMap, ObjId};

/// How many merges, exit sets and offered sets are kept before starting over.
const MAX_ENTRIES: usize = 4096;

type SetKey = Vec<usize>;

fn key(sets: &[Arc<CmdSet>]) -> SetKey {
    sets.iter().map(|s| Arc::as_ptr(s) as usize).collect()
}

/// A merge remembered for a place: the own sets it was made with (kept, so
/// that no other set takes their addresses), the epoch, and the merge.
struct InPlace {
    own: Arc<[Arc<CmdSet>]>,
    epoch: u64,
    merged: Arc<CmdSet>,
}

/// The hash of a player's own sets' addresses, for [`MergeCache::in_place`].
pub fn own_hash(own: &[Arc<CmdSet>]) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(key(own))
}

/// What the command handler remembers between lines.
#[derive(Default)]
pub struct MergeCache {
    merged: IdMap<SetKey, (Vec<Arc<CmdSet>>, Arc<CmdSet>)>,
    /// Per exit: the key and aliases its set was made for, and the set.
    exits: IdMap<ObjId, (String, Vec<String>, Arc<CmdSet>)>,
    offered: IdMap<(ObjId, usize), (Arc<CmdSet>, Arc<CmdSet>)>,
    /// Merges by the player's own sets (a hash of their addresses) and the
    /// place: what everyone with the same sets gets there, while the
    /// world's cmdset epoch stays what it was (see [`MergeCache::in_place`]).
    places: IdMap<(u64, ObjId), InPlace>,
    /// Merges found / made, for the benchmarks.
    pub hits: u64,
    /// Merges made.
    pub misses: u64,
}

impl MergeCache {
    /// `sets` merged (see [`merge_all`]).
    pub fn merge(&mut self, sets: &[Arc<CmdSet>]) -> Arc<CmdSet> {
        let k = key(sets);
        if let Some((_, merged)) = self.merged.get(&k) {
            self.hits += 1;
            return merged.clone();
        }
        self.misses += 1;
        if self.merged.len() >= MAX_ENTRIES {
            self.merged.clear();
        }
        let merged = Arc::new(merge_all(sets));
        self.merged.insert(k, (sets.to_vec(), merged.clone()));
        merged
    }

    /// The merge of `own` (the sets of a player's session, account and
    /// character; `hash` is [`own_hash`] of them) with what `place` offers,
    /// remembered under `epoch`. Only merges whose place's part depends on
    /// nothing but the place and the epoch are remembered (see
    /// [`MergeCache::remember_in_place`]).
    pub fn in_place(
        &self,
        own: &[Arc<CmdSet>],
        hash: u64,
        place: ObjId,
        epoch: u64,
    ) -> Option<Arc<CmdSet>> {
        let e = self.places.get(&(hash, place))?;
        let same = e.epoch == epoch
            && e.own.len() == own.len()
            && e.own.iter().zip(own).all(|(a, b)| Arc::ptr_eq(a, b));
        same.then(|| e.merged.clone())
    }

    /// Remembers a merge for [`MergeCache::in_place`]. The caller vouches
    /// that what `place` added to it is the same for anyone with these own
    /// sets there while `epoch` holds: it asked no lock, and the player
    /// offered nothing of their own (nothing carried, no set of theirs
    /// offered to the room).
    pub fn remember_in_place(
        &mut self,
        own: Arc<[Arc<CmdSet>]>,
        hash: u64,
        place: ObjId,
        epoch: u64,
        merged: Arc<CmdSet>,
    ) {
        if self.places.len() >= MAX_ENTRIES {
            self.places.clear();
        }
        self.places
            .insert((hash, place), InPlace { own, epoch, merged });
    }

    /// The set an exit offers, made by `make` unless the one made before
    /// still answers to the exit's names.
    pub fn exit_set(
        &mut self,
        exit: ObjId,
        key: &str,
        aliases: &[String],
        make: impl FnOnce() -> CmdSet,
    ) -> Arc<CmdSet> {
        if let Some((k, a, set)) = self.exits.get(&exit)
            && k == key
            && a == aliases
        {
            return set.clone();
        }
        if self.exits.len() >= MAX_ENTRIES {
            self.exits.clear();
        }
        let set = Arc::new(make());
        self.exits
            .insert(exit, (key.to_string(), aliases.to_vec(), set.clone()));
        set
    }

    /// `set` as offered by the object `obj` nearby: its commands know the
    /// object, and same-named ones of several objects are all kept.
    pub fn offered(&mut self, obj: ObjId, set: &Arc<CmdSet>) -> Arc<CmdSet> {
        let k = (obj, Arc::as_ptr(set) as usize);
        if let Some((_, offered)) = self.offered.get(&k) {
            return offered.clone();
        }
        if self.offered.len() >= MAX_ENTRIES {
            self.offered.clear();
        }
        let mut s = (**set).clone().offered_by(obj);
        s.duplicates = Some(true);
        let s = Arc::new(s);
        self.offered.insert(k, (set.clone(), s.clone()));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{CmdCtx, Command};

    struct Named(&'static str);
    impl Command for Named {
        fn key(&self) -> &str {
            self.0
        }
        fn help(&self) -> &str {
            ""
        }
        fn func(&self, _ctx: &mut CmdCtx<'_>) {}
    }

    fn set(key: &str, cmds: &[&'static str]) -> Arc<CmdSet> {
        let mut s = CmdSet::new(key);
        for c in cmds {
            s.add(Named(c));
        }
        Arc::new(s)
    }

    fn names(s: &CmdSet) -> Vec<String> {
        s.commands().iter().map(|c| c.key.clone()).collect()
    }

    #[test]
    fn the_same_sets_give_the_remembered_merge_and_others_their_own() {
        let mut cache = MergeCache::default();
        let a = set("A", &["look", "say"]);
        let b = set("B", &["get"]);
        let ab = cache.merge(&[a.clone(), b.clone()]);
        assert_eq!(names(&ab), names(&merge_all(&[a.clone(), b.clone()])));
        let again = cache.merge(&[a.clone(), b.clone()]);
        assert!(Arc::ptr_eq(&ab, &again), "remembered");
        assert_eq!((cache.hits, cache.misses), (1, 1));
        // Order matters, and so does a different set with the same contents.
        let ba = cache.merge(&[b.clone(), a.clone()]);
        assert!(!Arc::ptr_eq(&ab, &ba));
        let b2 = set("B", &["get"]);
        let ab2 = cache.merge(&[a, b2]);
        assert!(!Arc::ptr_eq(&ab, &ab2));
        assert_eq!(cache.misses, 3);
    }

    #[test]
    fn an_exit_set_is_made_again_when_the_exit_is_renamed() {
        let mut cache = MergeCache::default();
        let make = |k: &'static str| move || (*set("ExitCmdSet", &[k])).clone();
        let first = cache.exit_set(7, "north", &[], make("north"));
        let same = cache.exit_set(7, "north", &[], make("north"));
        assert!(Arc::ptr_eq(&first, &same));
        let aliased = cache.exit_set(7, "north", &["n".into()], make("north"));
        assert!(!Arc::ptr_eq(&first, &aliased), "new aliases, a new set");
        let renamed = cache.exit_set(7, "south", &[], make("south"));
        assert_eq!(names(&renamed), vec!["south"]);
    }

    #[test]
    fn offered_sets_know_their_object_and_keep_duplicates() {
        let mut cache = MergeCache::default();
        let bell = set("Bell", &["ring"]);
        let offered = cache.offered(42, &bell);
        assert_eq!(offered.commands()[0].obj, Some(42));
        assert_eq!(offered.duplicates, Some(true));
        assert!(Arc::ptr_eq(&offered, &cache.offered(42, &bell)));
        assert_eq!(cache.offered(43, &bell).commands()[0].obj, Some(43));
    }
}
