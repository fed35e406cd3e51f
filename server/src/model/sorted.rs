//! A small sorted set kept in a vector: what the indexes hold per name,
//! place, owner or object, where most sets have one to a few members. A
//! `BTreeSet` of one member takes a whole node (eleven places); a vector
//! of one, one place.

use std::borrow::Borrow;

/// Members in order, each once. Grows one place at a time while small, as
/// a vector does beyond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SortedVec<T>(Vec<T>);

impl<T> Default for SortedVec<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

/// Up to this many members, a set grows by exactly one place.
const TIGHT: usize = 8;

impl<T: Ord> SortedVec<T> {
    /// Adds a member; false if it was there.
    pub(crate) fn insert(&mut self, x: T) -> bool {
        match self.0.binary_search(&x) {
            Ok(_) => false,
            Err(at) => {
                if self.0.len() == self.0.capacity() && self.0.len() < TIGHT {
                    self.0.reserve_exact(1);
                }
                self.0.insert(at, x);
                true
            }
        }
    }

    /// Removes a member; false if it was not there.
    pub(crate) fn remove<Q>(&mut self, x: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self.0.binary_search_by(|m| m.borrow().cmp(x)) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// Whether `x` is a member.
    pub(crate) fn contains<Q>(&self, x: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.0.binary_search_by(|m| m.borrow().cmp(x)).is_ok()
    }
}

impl<T> SortedVec<T> {
    /// The members, in order.
    pub(crate) fn as_slice(&self) -> &[T] {
        &self.0
    }

    /// The members, in order.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    /// How many.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a, T> IntoIterator for &'a SortedVec<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::SortedVec;

    #[test]
    fn members_stay_sorted_and_single_and_small_sets_take_only_their_room() {
        let mut s = SortedVec::default();
        assert!(s.insert(5));
        assert!(s.insert(1));
        assert!(!s.insert(5), "already there");
        assert!(s.insert(3));
        assert_eq!(s.as_slice(), &[1, 3, 5]);
        assert_eq!(s.0.capacity(), 3, "grown one place at a time while small");
        assert!(s.contains(&3));
        assert!(s.remove(&3));
        assert!(!s.remove(&3));
        assert_eq!(s.as_slice(), &[1, 5]);
        for i in 10..100 {
            s.insert(i);
        }
        assert_eq!(s.len(), 92);
        assert!(s.iter().zip(s.iter().skip(1)).all(|(a, b)| a < b));
        let mut names: SortedVec<String> = SortedVec::default();
        names.insert("b".to_string());
        names.insert("a".to_string());
        assert!(names.contains("a"));
        assert!(names.remove("b"));
        assert_eq!(names.as_slice(), &["a".to_string()]);
    }
}
