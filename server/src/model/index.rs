//! The world's indexes, so that no command scans every object or everyone
//! in a room: names (whole, and by word for prefixes), tags, typeclasses,
//! the characters each account owns, and, per place, the objects there that
//! offer commands to those near them (exits and objects with cmdsets) and
//! those a session plays (the server says which: see
//! [`World::set_played`](super::world::World::set_played)).
//!
//! [`World`](super::world::World) keeps them true: every change to an
//! object goes through it, and it re-indexes an object only when what is
//! indexed changed (a keyed fingerprint of those fields tells, so an
//! attribute change costs one hash).

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Bound;
use std::sync::Arc;

use super::ids::{AccountId, IdMap, Kind, ObjId};
use super::object::Object;
use super::sorted::SortedVec;

/// Whether objects of a typeclass (by stored name and kind) carry a cmdset
/// of their own: the runtime knows, the model asks.
pub type TypeclassOffers = Arc<dyn Fn(&str, Kind) -> bool + Send + Sync>;

/// A set of ids, sorted (most names, tags and places hold few).
type Ids = SortedVec<ObjId>;

/// What one object is indexed under, to take it out again.
#[derive(Debug)]
struct Entry {
    fingerprint: u64,
    names: Box<[Arc<str>]>,
    words: Box<[Arc<str>]>,
    tags: Box<[Arc<str>]>,
    typeclass: Arc<str>,
    owner: Option<AccountId>,
    /// Where it leads, if it is an exit.
    leads_to: Option<ObjId>,
    /// Whether it offers commands to those near it.
    offers: bool,
    /// The place it offers commands in, if it offers any.
    offering_in: Option<ObjId>,
}

/// The indexes (see the module doc).
#[derive(Default)]
pub(crate) struct Indexes {
    names: BTreeMap<Arc<str>, Ids>,
    words: BTreeMap<Arc<str>, Ids>,
    tags: HashMap<Arc<str>, Ids>,
    typeclasses: HashMap<Arc<str>, Ids>,
    characters: IdMap<AccountId, Ids>,
    exits_to: IdMap<ObjId, Ids>,
    offering: IdMap<ObjId, Ids>,
    /// Objects given commands the stored fields do not show (cmdsets added
    /// until the next reload).
    offering_extra: IdMap<ObjId, ()>,
    /// The objects a session plays, as the server last said, each with the
    /// place it is listed in (if it is indexed, and somewhere). Kept when an
    /// object is unloaded: the sessions' truth, not the object's. Apart
    /// from the entries, so that the world's many unplayed objects pay
    /// nothing for it.
    played: IdMap<ObjId, Option<ObjId>>,
    /// Per place, the objects played there.
    played_at: IdMap<ObjId, Ids>,
    typeclass_offers: Option<TypeclassOffers>,
    /// Boxed, as the world's objects are: slots are pointers.
    entries: IdMap<ObjId, Box<Entry>>,
    /// Keys the fingerprints, so that nobody can choose a rename that
    /// leaves it unchanged.
    hasher: std::collections::hash_map::RandomState,
}

/// A name as it is indexed and searched: lowercase.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Adds `id` under `key`; the shared copy of the key. One walk of the tree
/// when the key is there already (a name many objects have).
fn add_interned(map: &mut BTreeMap<Arc<str>, Ids>, key: &str, id: ObjId) -> Arc<str> {
    if let Some((k, ids)) = map
        .range_mut::<str, _>((Bound::Included(key), Bound::Included(key)))
        .next()
    {
        ids.insert(id);
        return k.clone();
    }
    let k: Arc<str> = Arc::from(key);
    let mut ids = Ids::default();
    ids.insert(id);
    map.insert(k.clone(), ids);
    k
}

fn remove_from(map: &mut BTreeMap<Arc<str>, Ids>, key: &str, id: ObjId) {
    if let Some(ids) = map.get_mut(key) {
        ids.remove(&id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}

fn hash_add(map: &mut HashMap<Arc<str>, Ids>, key: &Arc<str>, id: ObjId) {
    map.entry(key.clone()).or_default().insert(id);
}

fn hash_remove(map: &mut HashMap<Arc<str>, Ids>, key: &str, id: ObjId) {
    if let Some(ids) = map.get_mut(key) {
        ids.remove(&id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}

fn id_add(map: &mut IdMap<ObjId, Ids>, key: ObjId, id: ObjId) {
    map.entry(key).or_default().insert(id);
}

fn id_remove(map: &mut IdMap<ObjId, Ids>, key: ObjId, id: ObjId) {
    if let Some(ids) = map.get_mut(&key) {
        ids.remove(&id);
        if ids.is_empty() {
            map.remove(&key);
        }
    }
}

impl Indexes {
    /// The fields indexed, hashed: when it is unchanged, nothing is re-indexed.
    fn fingerprint(&self, o: &Object) -> u64 {
        let mut h = self.hasher.build_hasher();
        o.key.hash(&mut h);
        o.aliases.hash(&mut h);
        for t in &o.tags {
            t.key.hash(&mut h);
        }
        o.typeclass.hash(&mut h);
        o.account.hash(&mut h);
        o.kind.hash(&mut h);
        o.destination.hash(&mut h);
        o.cmdsets.is_empty().hash(&mut h);
        h.finish()
    }

    fn offers(&self, o: &Object) -> bool {
        (o.kind == Kind::Exit && o.destination.is_some())
            || !o.cmdsets.is_empty()
            || self.offering_extra.contains_key(&o.id)
            || self
                .typeclass_offers
                .as_ref()
                .is_some_and(|f| f(&o.typeclass, o.kind))
    }

    /// Indexes an object that is not indexed yet.
    pub(crate) fn add(&mut self, o: &Object) {
        let mut names = Vec::with_capacity(1 + o.aliases.len());
        let mut words = Vec::new();
        for n in std::iter::once(&o.key).chain(&o.aliases) {
            let lower = name_key(n);
            if lower.is_empty() {
                continue;
            }
            for w in lower.split_whitespace().skip(1) {
                words.push(add_interned(&mut self.words, w, o.id));
            }
            names.push(add_interned(&mut self.names, &lower, o.id));
        }
        let mut tags = Vec::with_capacity(o.tags.len());
        for t in &o.tags {
            let k = self
                .tags
                .get_key_value(t.key.as_str())
                .map(|(k, _)| k.clone())
                .unwrap_or_else(|| Arc::from(t.key.as_str()));
            hash_add(&mut self.tags, &k, o.id);
            tags.push(k);
        }
        let tc_lower: std::borrow::Cow<'_, str> = if o.typeclass.chars().any(char::is_uppercase) {
            o.typeclass.to_lowercase().into()
        } else {
            o.typeclass.as_str().into()
        };
        let typeclass = self
            .typeclasses
            .get_key_value(tc_lower.as_ref())
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| Arc::from(tc_lower.as_ref()));
        hash_add(&mut self.typeclasses, &typeclass, o.id);
        let owner = o.account.filter(|_| o.kind == Kind::Character);
        if let Some(a) = owner {
            id_add(&mut self.characters, a, o.id);
        }
        let leads_to = o.destination.filter(|_| o.kind == Kind::Exit);
        if let Some(d) = leads_to {
            id_add(&mut self.exits_to, d, o.id);
        }
        let offers = self.offers(o);
        let offering_in = if offers { o.location } else { None };
        if let Some(loc) = offering_in {
            id_add(&mut self.offering, loc, o.id);
        }
        if let Some(listed) = self.played.get_mut(&o.id) {
            *listed = o.location;
            if let Some(loc) = o.location {
                id_add(&mut self.played_at, loc, o.id);
            }
        }
        let entry = Entry {
            offers,
            leads_to,
            fingerprint: self.fingerprint(o),
            names: names.into_boxed_slice(),
            words: words.into_boxed_slice(),
            tags: tags.into_boxed_slice(),
            typeclass,
            owner,
            offering_in,
        };
        self.entries.insert(o.id, Box::new(entry));
    }

    /// Makes room for `n` more objects.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
    }

    /// Takes an object, gone from the world, out of every index.
    pub(crate) fn remove(&mut self, id: ObjId) {
        self.unindex(id);
        self.offering_extra.remove(&id);
    }

    /// Takes an object out of every index built from its fields.
    fn unindex(&mut self, id: ObjId) {
        let Some(e) = self.entries.remove(&id) else {
            return;
        };
        for n in &e.names {
            remove_from(&mut self.names, n, id);
        }
        for w in &e.words {
            remove_from(&mut self.words, w, id);
        }
        for t in &e.tags {
            hash_remove(&mut self.tags, t, id);
        }
        hash_remove(&mut self.typeclasses, &e.typeclass, id);
        if let Some(a) = e.owner {
            id_remove(&mut self.characters, a, id);
        }
        if let Some(d) = e.leads_to {
            id_remove(&mut self.exits_to, d, id);
        }
        if let Some(loc) = e.offering_in {
            id_remove(&mut self.offering, loc, id);
        }
        if let Some(loc) = self.played.get_mut(&id).and_then(Option::take) {
            id_remove(&mut self.played_at, loc, id);
        }
    }

    /// After a change to the object: re-indexes it if what is indexed
    /// changed (its names, tags, typeclass, kind, owner, destination, or
    /// whether it has cmdsets); whether it did.
    pub(crate) fn changed(&mut self, o: &Object) -> bool {
        let same = self
            .entries
            .get(&o.id)
            .is_some_and(|e| e.fingerprint == self.fingerprint(o));
        if !same {
            self.unindex(o.id);
            self.add(o);
        }
        !same
    }

    /// After the object moved from where it was to `o.location`; whether
    /// what a place offers changed (the object offers commands).
    pub(crate) fn moved(&mut self, o: &Object) -> bool {
        let Some(e) = self.entries.get_mut(&o.id) else {
            return false;
        };
        if let Some(listed) = self.played.get_mut(&o.id) {
            let old = std::mem::replace(listed, o.location);
            if let Some(old) = old {
                id_remove(&mut self.played_at, old, o.id);
            }
            if let Some(new) = o.location {
                id_add(&mut self.played_at, new, o.id);
            }
        }
        if !e.offers {
            return false;
        }
        let old = std::mem::replace(&mut e.offering_in, o.location);
        if let Some(old) = old {
            id_remove(&mut self.offering, old, o.id);
        }
        if let Some(new) = o.location {
            id_add(&mut self.offering, new, o.id);
        }
        true
    }

    /// Sets what tells whether a typeclass offers commands, and re-indexes
    /// the offering of the objects it can change: those of a typeclass that
    /// offers commands under the old answer or the new one (found by the
    /// typeclass index, so a big world of plain objects is not walked).
    pub(crate) fn set_typeclass_offers<'a>(
        &mut self,
        f: TypeclassOffers,
        object: impl Fn(ObjId) -> Option<&'a Object>,
    ) {
        const KINDS: [Kind; 4] = [Kind::Room, Kind::Exit, Kind::Character, Kind::Thing];
        let may_offer = |f: &Option<TypeclassOffers>, tc: &str| {
            f.as_ref().is_some_and(|f| KINDS.iter().any(|&k| f(tc, k)))
        };
        let old = self.typeclass_offers.replace(f);
        let changing: Vec<ObjId> = self
            .typeclasses
            .iter()
            .filter(|(tc, _)| may_offer(&old, tc) || may_offer(&self.typeclass_offers, tc))
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        for id in changing {
            let Some(o) = object(id) else {
                continue;
            };
            let offers = self.offers(o);
            let offering_in = if offers { o.location } else { None };
            let Some(e) = self.entries.get_mut(&id) else {
                continue;
            };
            e.offers = offers;
            let was_in = std::mem::replace(&mut e.offering_in, offering_in);
            if was_in != offering_in {
                if let Some(loc) = was_in {
                    id_remove(&mut self.offering, loc, id);
                }
                if let Some(loc) = offering_in {
                    id_add(&mut self.offering, loc, id);
                }
            }
        }
    }

    /// Marks an object as offering commands beyond its stored fields (or not).
    pub(crate) fn set_offering_extra(&mut self, o: &Object, extra: bool) {
        if extra {
            self.offering_extra.insert(o.id, ());
        } else {
            self.offering_extra.remove(&o.id);
        }
        let offers = self.offers(o);
        let want = if offers { o.location } else { None };
        if let Some(e) = self.entries.get_mut(&o.id) {
            e.offers = offers;
        }
        if let Some(e) = self.entries.get_mut(&o.id)
            && e.offering_in != want
        {
            let old = std::mem::replace(&mut e.offering_in, want);
            if let Some(old) = old {
                id_remove(&mut self.offering, old, o.id);
            }
            if let Some(new) = want {
                id_add(&mut self.offering, new, o.id);
            }
        }
    }

    /// Marks object `id` (at `location`, if it exists) as played by a
    /// session, or no longer.
    pub(crate) fn set_played(&mut self, id: ObjId, location: Option<ObjId>, played: bool) {
        // Listed only where an indexed object is.
        let want = location.filter(|_| self.entries.contains_key(&id));
        let old = if played {
            self.played.insert(id, want)
        } else {
            self.played.remove(&id)
        };
        let old = old.flatten();
        let want = want.filter(|_| played);
        if old != want {
            if let Some(old) = old {
                id_remove(&mut self.played_at, old, id);
            }
            if let Some(new) = want {
                id_add(&mut self.played_at, new, id);
            }
        }
    }

    /// The objects in `place` a session plays, by id.
    pub(crate) fn played_in(&self, place: ObjId) -> &[ObjId] {
        self.played_at
            .get(&place)
            .map(|i| i.as_slice())
            .unwrap_or(&[])
    }

    /// Objects whose key or an alias is `lower` (already lowercase), by id.
    pub(crate) fn named(&self, lower: &str) -> &[ObjId] {
        self.names.get(lower).map(|i| i.as_slice()).unwrap_or(&[])
    }

    /// Objects with a name, or a word of a name, starting with `lower`, by
    /// id; `None` when more than `budget` index entries would be read.
    pub(crate) fn prefixed(&self, lower: &str, budget: usize) -> Option<Vec<ObjId>> {
        let mut out = Vec::new();
        let mut read = 0usize;
        for map in [&self.names, &self.words] {
            for (k, ids) in map.range::<str, _>((Bound::Included(lower), Bound::Unbounded)) {
                if !k.starts_with(lower) {
                    break;
                }
                read += ids.len();
                if read > budget {
                    return None;
                }
                out.extend_from_slice(ids.as_slice());
            }
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }

    /// Objects with a tag of this key (any category), by id.
    pub(crate) fn tagged(&self, key: &str) -> &[ObjId] {
        self.tags.get(key).map(|i| i.as_slice()).unwrap_or(&[])
    }

    /// Objects of a typeclass (stored name, any case), by id.
    /// How many objects each typeclass has (stored names, lowercase).
    pub(crate) fn by_typeclass(&self) -> Vec<(String, Vec<ObjId>)> {
        self.typeclasses
            .iter()
            .map(|(k, ids)| (k.to_string(), ids.as_slice().to_vec()))
            .collect()
    }

    /// Gives up every index without freeing it (see `World::forget_objects`).
    pub(crate) fn forget(&mut self) {
        std::mem::forget(std::mem::take(self));
    }

    pub(crate) fn typeclass_counts(&self) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = self
            .typeclasses
            .iter()
            .filter(|(_, ids)| !ids.is_empty())
            .map(|(k, ids)| (k.to_string(), ids.len()))
            .collect();
        v.sort();
        v
    }

    pub(crate) fn of_typeclass(&self, lower: &str) -> &[ObjId] {
        self.typeclasses
            .get(lower)
            .map(|i| i.as_slice())
            .unwrap_or(&[])
    }

    /// The characters an account owns, by id.
    pub(crate) fn characters_of(&self, account: AccountId) -> &[ObjId] {
        self.characters
            .get(&account)
            .map(|i| i.as_slice())
            .unwrap_or(&[])
    }

    /// The exits that lead to `place`, by id.
    pub(crate) fn exits_to(&self, place: ObjId) -> &[ObjId] {
        self.exits_to
            .get(&place)
            .map(|i| i.as_slice())
            .unwrap_or(&[])
    }

    /// Whether `id` offers commands to those near it, wherever it is (or
    /// would, once somewhere).
    pub(crate) fn offers_any(&self, id: ObjId) -> bool {
        self.entries.get(&id).is_some_and(|e| e.offers)
    }

    /// Whether `id` offers commands to those around it (it is among its
    /// place's [`offering`](Self::offering)).
    pub(crate) fn offers_commands(&self, id: ObjId) -> bool {
        self.entries
            .get(&id)
            .is_some_and(|e| e.offering_in.is_some())
    }

    /// The objects in `place` that offer commands, by id.
    pub(crate) fn offering(&self, place: ObjId) -> &[ObjId] {
        self.offering
            .get(&place)
            .map(|i| i.as_slice())
            .unwrap_or(&[])
    }
}
