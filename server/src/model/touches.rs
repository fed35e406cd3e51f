//! Of the objects a window of changes touched, those changed only in their
//! attributes, and which attributes: what lets the live-data feeds (a
//! batch's window) and the flows' `on_change` listeners (an event's) pass
//! over a change that shows in nothing they look at.

use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap;

use super::ids::ObjId;

/// Names of attributes that changed (`true`: an `ndb` one).
type Names = Vec<(Box<str>, bool)>;

/// The objects of a window changed only through `World::set_attr` and its
/// kin, with those attributes' names (`true`: an `ndb` one). Any other
/// change (`World::update`, a move, a creation), before or after, makes an
/// object changed as a whole: it is not listed, or listed without names.
#[derive(Debug, Default, Clone)]
pub struct AttrTouches {
    listed: FxHashMap<ObjId, Option<Names>>,
}

impl AttrTouches {
    /// `id` changed in any way. (An object not listed is taken as changed
    /// as a whole: only one listed by [`AttrTouches::attr`] needs telling.)
    pub(crate) fn whole(&mut self, id: ObjId) {
        if let Some(e) = self.listed.get_mut(&id) {
            *e = None;
        }
    }

    /// `id`'s attribute `name` changed; `before`: whether the window had
    /// touched it already (then, unless it is listed, in another way).
    pub(crate) fn attr(&mut self, id: ObjId, name: &str, ndb: bool, before: bool) {
        match self.listed.entry(id) {
            Entry::Occupied(mut e) => {
                if let Some(names) = e.get_mut()
                    && !names.iter().any(|(n, k)| &**n == name && *k == ndb)
                {
                    names.push((name.into(), ndb));
                }
            }
            Entry::Vacant(e) => {
                if !before {
                    e.insert(Some(vec![(name.into(), ndb)]));
                }
            }
        }
    }

    /// The attributes of `id` that changed, when they were its only
    /// changes; `None` when it changed otherwise, or not at all.
    pub fn only_attributes(&self, id: ObjId) -> Option<&[(Box<str>, bool)]> {
        self.listed.get(&id)?.as_deref()
    }

    pub(crate) fn clear(&mut self) {
        self.listed.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_change_outweighs_attribute_changes_in_either_order() {
        let mut t = AttrTouches::default();
        t.attr(1, "hp", false, false);
        t.attr(1, "hp", false, true);
        t.attr(1, "guard", true, true);
        assert_eq!(
            t.only_attributes(1),
            Some(&[("hp".into(), false), ("guard".into(), true)][..])
        );
        t.attr(2, "hp", false, false);
        t.whole(2);
        t.attr(2, "mana", false, true);
        // Touched in another way first: never listed.
        t.whole(3);
        t.attr(3, "hp", false, true);
        assert_eq!(t.only_attributes(2), None);
        assert_eq!(t.only_attributes(3), None);
        assert_eq!(t.only_attributes(4), None, "not touched");
        t.clear();
        assert_eq!(t.only_attributes(1), None);
    }
}
