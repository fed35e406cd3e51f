//! Finding objects by what players type: a key or alias (exact before
//! prefix, any case), `name-2` for the second of several, `#12` by id, and
//! `me` / `here`.

use super::world::{ObjId, World, name_key};

/// Where to look, for whom. Build one with [`Search::new`] and pick scopes.
#[derive(Debug, Clone)]
pub struct Search {
    caller: Option<ObjId>,
    location: bool,
    inventory: bool,
    global: bool,
    candidates: Vec<ObjId>,
    typeclass: Option<String>,
}

/// Why a search did not find exactly one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchError {
    /// Nothing matched the query.
    NotFound(String),
    /// Several matched; `matches` in the order `name-N` numbers them.
    Multiple {
        /// What was searched for.
        query: String,
        /// The matches, in the order they are numbered (`name-1`, `name-2`).
        matches: Vec<ObjId>,
    },
}

impl Search {
    /// A search on behalf of `caller` (None: only explicit candidates / global).
    pub fn new(caller: Option<ObjId>) -> Self {
        Self {
            caller,
            location: false,
            inventory: false,
            global: false,
            candidates: Vec::new(),
            typeclass: None,
        }
    }

    /// The caller's room, what is in it, and the caller.
    pub fn location(mut self) -> Self {
        self.location = true;
        self
    }

    /// What the caller carries.
    pub fn inventory(mut self) -> Self {
        self.inventory = true;
        self
    }

    /// Everything in the world (for builders); `#id` finds any object.
    pub fn global(mut self) -> Self {
        self.global = true;
        self
    }

    /// Only objects of this typeclass (by name, any case), in every scope:
    /// `Search::new(Some(me)).location().typeclass(Chair.name())`.
    pub fn typeclass(mut self, name: &str) -> Self {
        self.typeclass = Some(name.to_string());
        self
    }

    /// Only these objects (plus the scopes chosen).
    pub fn among(mut self, ids: impl IntoIterator<Item = ObjId>) -> Self {
        self.candidates.extend(ids);
        self
    }

    /// Where `id` comes in the order matches are numbered (`name-N`), or
    /// `None` when it is out of scope: the explicit candidates, then the
    /// room's contents (the caller among them), the room, the caller, what
    /// the caller carries, and the rest of the world.
    fn rank(&self, world: &World, here: Option<ObjId>, id: ObjId) -> Option<usize> {
        if !self.of_typeclass(world, id) {
            return None;
        }
        if let Some(i) = self.candidates.iter().position(|&c| c == id) {
            return Some(i);
        }
        let base = self.candidates.len();
        let o = world.get(id)?;
        if self.location {
            if here.is_some() && o.location == here {
                return Some(base);
            }
            if Some(id) == here {
                return Some(base + 1);
            }
            if Some(id) == self.caller {
                return Some(base + 2);
            }
        }
        if self.inventory && self.caller.is_some() && o.location == self.caller {
            return Some(base + 3);
        }
        self.global.then_some(base + 4)
    }

    fn of_typeclass(&self, world: &World, id: ObjId) -> bool {
        match &self.typeclass {
            Some(tc) => world
                .get(id)
                .is_some_and(|o| o.typeclass.eq_ignore_ascii_case(tc)),
            None => true,
        }
    }

    /// Every object in a local scope (not the world): cheap to compare by
    /// hand when there are few.
    fn local(&self, world: &World, here: Option<ObjId>) -> Vec<ObjId> {
        let mut out = self.candidates.clone();
        if self.location {
            if let Some(here) = here {
                out.extend_from_slice(world.contents(here));
                out.push(here);
            }
            out.extend(self.caller);
        }
        if self.inventory
            && let Some(c) = self.caller
        {
            out.extend_from_slice(world.contents(c));
        }
        out
    }

    fn local_size(&self, world: &World, here: Option<ObjId>) -> usize {
        let mut n = self.candidates.len();
        if self.location {
            n += here.map_or(0, |h| world.contents(h).len() + 1) + 1;
        }
        if self.inventory
            && let Some(c) = self.caller
        {
            n += world.contents(c).len();
        }
        n
    }

    /// Every object matching `query` (after `name-N` picks one, just that).
    pub fn all(&self, world: &World, query: &str) -> Vec<ObjId> {
        let query = query.trim();
        if query.is_empty() {
            return Vec::new();
        }
        let lower = query.to_lowercase();
        let here = self
            .caller
            .and_then(|c| world.get(c))
            .and_then(|o| o.location);
        match lower.as_str() {
            "me" | "self" => {
                return self
                    .caller
                    .filter(|&c| self.of_typeclass(world, c))
                    .into_iter()
                    .collect();
            }
            "here" => {
                return here
                    .filter(|&h| self.of_typeclass(world, h))
                    .into_iter()
                    .collect();
            }
            _ => {}
        }
        if let Some(id) = lower
            .strip_prefix('#')
            .and_then(|n| n.parse::<ObjId>().ok())
        {
            return self.rank(world, here, id).map(|_| id).into_iter().collect();
        }
        let found = self.matching(world, here, &lower);
        if !found.is_empty() {
            return found;
        }
        // `ball-2`: the second of the balls.
        if let Some((name, n)) = lower.rsplit_once('-')
            && let Ok(n) = n.parse::<usize>()
            && n >= 1
        {
            let found = self.matching(world, here, name);
            return found.get(n - 1).copied().into_iter().collect();
        }
        Vec::new()
    }

    /// Exact key/alias matches if any, else prefix matches, in the order
    /// they are numbered. A small scope is compared by hand; a large one
    /// (a crowded room, the whole world) through the world's name index.
    fn matching(&self, world: &World, here: Option<ObjId>, lower: &str) -> Vec<ObjId> {
        let size = self.local_size(world, here);
        // Reading more index entries than this costs more than comparing
        // the local scope by hand.
        let budget = if self.global {
            usize::MAX
        } else {
            size.saturating_mul(4)
        };
        let by_hand = !self.global && size <= SCAN_AT_MOST;
        let ranked = |ids: &mut dyn Iterator<Item = ObjId>| -> Vec<ObjId> {
            let mut v: Vec<(usize, ObjId)> = ids
                .filter_map(|id| self.rank(world, here, id).map(|r| (r, id)))
                .collect();
            v.sort_unstable();
            v.dedup();
            v.into_iter().map(|(_, id)| id).collect()
        };
        let local = || self.local(world, here);
        // Exact names first: through the index whenever it names few
        // enough (one hash look-up, then each id's place), else by hand —
        // comparing a small room's names by hand reads every object in it.
        let named = world.named(lower);
        let exact = if named.len() > budget {
            ranked(&mut local().into_iter().filter(|&id| {
                world.get(id).is_some_and(|o| {
                    std::iter::once(&o.key)
                        .chain(&o.aliases)
                        .any(|n| lower_eq(n, lower))
                })
            }))
        } else {
            ranked(&mut named.iter().copied())
        };
        if !exact.is_empty() {
            return exact;
        }
        let indexed = if by_hand {
            None
        } else {
            world.prefixed(lower, budget)
        };
        match indexed {
            Some(ids) => ranked(&mut ids.into_iter()),
            None => ranked(&mut local().into_iter().filter(|&id| {
                world.get(id).is_some_and(|o| {
                    std::iter::once(&o.key).chain(&o.aliases).any(|n| {
                        let n = name_key(n);
                        n.starts_with(lower) || n.split_whitespace().any(|w| w.starts_with(lower))
                    })
                })
            })),
        }
    }

    /// The one object `query` names, or why not.
    pub fn one(&self, world: &World, query: &str) -> Result<ObjId, SearchError> {
        let found = self.all(world, query);
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(SearchError::NotFound(query.trim().to_string())),
            _ => Err(SearchError::Multiple {
                query: query.trim().to_string(),
                matches: found,
            }),
        }
    }
}

/// A message about several matches lists at most this many.
const MAX_LISTED: usize = 50;

/// Up to this many objects in scope, a search compares every name by hand.
const SCAN_AT_MOST: usize = 64;

/// Whether `name`, as the index keeps it (trimmed, lowercase), is `lower`.
fn lower_eq(name: &str, lower: &str) -> bool {
    name.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .eq(lower.chars())
}

impl SearchError {
    /// What to tell the player, in Evennia's words.
    pub fn message(&self, world: &World, caller: Option<ObjId>) -> String {
        // What the player typed is shown as typed, never as markup.
        use tavern_shared::markup::escape;
        match self {
            SearchError::NotFound(q) => format!("Could not find '{}'.", escape(q)),
            SearchError::Multiple { query, matches } => {
                let name = query.rsplit_once('-').map(|(n, _)| n).unwrap_or(query);
                let (query, name) = (escape(query), escape(name));
                let mut out = format!("More than one match for '{query}' (please narrow target):");
                for (i, id) in matches.iter().enumerate() {
                    if i == MAX_LISTED {
                        out.push_str(&format!(
                            "\n ... and {} more: be more specific.",
                            matches.len() - MAX_LISTED
                        ));
                        break;
                    }
                    let Some(o) = world.get(*id) else { continue };
                    let where_ = match o.location {
                        Some(l) if Some(l) == caller => " [carried]".to_string(),
                        Some(l) => world
                            .get(l)
                            .map(|r| format!(" [in {}]", r.key))
                            .unwrap_or_default(),
                        None => String::new(),
                    };
                    out.push_str(&format!("\n {name}-{} ({}){where_}", i + 1, o.key));
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::world::{Kind, Object};

    fn world() -> World {
        let mut w = World::new(1);
        let mut add = |id, key: &str, loc, aliases: &[&str]| {
            let mut o = Object::new(id, key, "thing", Kind::Thing);
            o.location = loc;
            o.aliases = aliases.iter().map(|a| a.to_string()).collect();
            w.insert_loaded(o);
        };
        add(1, "Limbo", None, &[]);
        add(2, "Anna", Some(1), &[]);
        add(3, "red ball", Some(1), &["ball"]);
        add(4, "blue ball", Some(2), &[]);
        add(5, "ballroom door", Some(1), &["door"]);
        add(6, "Far Room", None, &[]);
        add(7, "hidden gem", Some(6), &[]);
        w
    }

    #[test]
    fn exact_names_win_over_prefixes_and_aliases_count() {
        let w = world();
        let s = Search::new(Some(2)).location().inventory();
        assert_eq!(s.one(&w, "BALL"), Ok(3), "alias 'ball' is exact");
        assert_eq!(s.one(&w, "door"), Ok(5));
        assert_eq!(s.one(&w, "ann"), Ok(2));
        assert_eq!(s.one(&w, "me"), Ok(2));
        assert_eq!(s.one(&w, "here"), Ok(1));
        assert_eq!(s.one(&w, "gem"), Err(SearchError::NotFound("gem".into())));
    }

    #[test]
    fn several_matches_are_numbered_and_name_n_picks_one() {
        let w = world();
        let s = Search::new(Some(2)).location().inventory();
        let err = s.one(&w, "bal").unwrap_err();
        let SearchError::Multiple { matches, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(matches, &vec![3, 5, 4], "room first, then inventory");
        let msg = err.message(&w, Some(2));
        assert!(msg.starts_with("More than one match for 'bal'"), "{msg}");
        assert!(msg.contains(" bal-3 (blue ball) [carried]"), "{msg}");
        assert_eq!(s.one(&w, "bal-3"), Ok(4));
        assert_eq!(s.one(&w, "bal-1"), Ok(3));
        assert!(s.one(&w, "bal-9").is_err());
    }

    #[test]
    fn ids_and_global_search_are_for_wide_scopes_only() {
        let w = world();
        let near = Search::new(Some(2)).location();
        assert!(near.one(&w, "#7").is_err(), "not in reach");
        assert_eq!(near.one(&w, "#3"), Ok(3));
        let global = Search::new(Some(2)).global();
        assert_eq!(global.one(&w, "#7"), Ok(7));
        assert_eq!(global.one(&w, "gem"), Ok(7));
        assert_eq!(Search::new(None).among([6, 7]).one(&w, "far"), Ok(6));
    }

    #[test]
    fn a_name_common_in_the_world_is_found_in_a_small_room_by_hand() {
        let mut w = world();
        // 100 rats far away: more than a look-up in Anna's small room reads.
        for id in 100..200 {
            let mut o = Object::new(id, "rat", "thing", Kind::Thing);
            o.location = Some(6);
            w.insert_loaded(o);
        }
        let mut here = Object::new(300, "Rat", "thing", Kind::Thing);
        here.location = Some(1);
        w.insert_loaded(here);
        let s = Search::new(Some(2)).location().inventory();
        assert!(w.named("rat").len() > 4 * 8, "the by-hand path");
        assert_eq!(s.all(&w, "RAT"), vec![300]);
        assert_eq!(s.one(&w, "ball"), Ok(3), "a rare name, through the index");
    }

    #[test]
    fn a_crowded_room_is_searched_through_the_index_with_the_same_answers() {
        let mut w = world();
        // 200 guests in Limbo: more than a search compares by hand.
        let guests: Vec<ObjId> = (100..300).collect();
        for (i, &id) in guests.iter().enumerate() {
            let mut o = Object::new(id, &format!("Guest {i}"), "character", Kind::Character);
            o.location = Some(1);
            w.insert_loaded(o);
        }
        let mut far = Object::new(999, "Guest 999", "character", Kind::Character);
        far.location = Some(6);
        w.insert_loaded(far);
        let s = Search::new(Some(2)).location().inventory();
        assert_eq!(s.one(&w, "guest 150"), Ok(250));
        assert_eq!(
            s.one(&w, "GUEST 7"),
            Ok(107),
            "exact wins over the prefix of 70-79"
        );
        assert_eq!(
            s.all(&w, "gu"),
            guests,
            "by prefix, in order, the far one out of reach"
        );
        let fifteen: Vec<ObjId> = std::iter::once(115).chain(250..260).collect();
        assert_eq!(s.all(&w, "15"), fifteen, "a later word's prefix");
        assert_eq!(s.one(&w, "ball"), Ok(3), "the alias, as in a small room");
        assert_eq!(s.all(&w, "bal"), vec![3, 5, 4], "room, then carried");
        assert_eq!(s.one(&w, "guest-3"), Ok(102));
        assert!(s.all(&w, "nobody").is_empty());
        assert_eq!(
            Search::new(Some(2)).global().one(&w, "guest 999"),
            Ok(999),
            "the world's index"
        );
        // Many matches are listed in part.
        let msg = s.one(&w, "guest").unwrap_err().message(&w, Some(2));
        assert!(msg.contains("... and 150 more"), "{msg}");
        assert_eq!(msg.lines().count(), 52, "{msg}");
    }
}
