//! Finding objects by what players type: a key or alias (exact before
//! prefix, any case), `name-2` for the second of several, `#12` by id, and
//! `me` / `here`.

use super::world::{ObjId, World};

/// Where to look, for whom. Build one with [`Search::new`] and pick scopes.
#[derive(Debug, Clone)]
pub struct Search {
    caller: Option<ObjId>,
    location: bool,
    inventory: bool,
    global: bool,
    candidates: Vec<ObjId>,
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

    /// Only these objects (plus the scopes chosen).
    pub fn among(mut self, ids: impl IntoIterator<Item = ObjId>) -> Self {
        self.candidates.extend(ids);
        self
    }

    fn candidates(&self, world: &World) -> Vec<ObjId> {
        let mut out = self.candidates.clone();
        let here = self
            .caller
            .and_then(|c| world.get(c))
            .and_then(|o| o.location);
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
        if self.global {
            let mut all: Vec<ObjId> = world.objects().map(|o| o.id).collect();
            all.sort();
            out.extend(all);
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|id| seen.insert(*id));
        out
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
            "me" | "self" => return self.caller.into_iter().collect(),
            "here" => return here.into_iter().collect(),
            _ => {}
        }
        let candidates = self.candidates(world);
        if let Some(id) = lower
            .strip_prefix('#')
            .and_then(|n| n.parse::<ObjId>().ok())
        {
            return if world.get(id).is_some() && (self.global || candidates.contains(&id)) {
                vec![id]
            } else {
                Vec::new()
            };
        }
        let found = matching(world, &candidates, &lower);
        if !found.is_empty() {
            return found;
        }
        // `ball-2`: the second of the balls.
        if let Some((name, n)) = lower.rsplit_once('-')
            && let Ok(n) = n.parse::<usize>()
            && n >= 1
        {
            let found = matching(world, &candidates, name);
            return found.get(n - 1).copied().into_iter().collect();
        }
        Vec::new()
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

/// Exact key/alias matches if any, else prefix matches, in candidate order.
fn matching(world: &World, candidates: &[ObjId], lower: &str) -> Vec<ObjId> {
    let exact: Vec<ObjId> = candidates
        .iter()
        .copied()
        .filter(|&id| world.get(id).is_some_and(|o| o.answers_to(lower)))
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    candidates
        .iter()
        .copied()
        .filter(|&id| {
            world.get(id).is_some_and(|o| {
                std::iter::once(&o.key).chain(o.aliases.iter()).any(|n| {
                    let n = n.to_lowercase();
                    n.starts_with(lower) || n.split_whitespace().any(|w| w.starts_with(lower))
                })
            })
        })
        .collect()
}

impl SearchError {
    /// What to tell the player, in Evennia's words.
    pub fn message(&self, world: &World, caller: Option<ObjId>) -> String {
        match self {
            SearchError::NotFound(q) => format!("Could not find '{q}'."),
            SearchError::Multiple { query, matches } => {
                let name = query.rsplit_once('-').map(|(n, _)| n).unwrap_or(query);
                let mut out = format!("More than one match for '{query}' (please narrow target):");
                for (i, id) in matches.iter().enumerate() {
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
}
