//! [`Attributes`]: an object's or account's named values (Evennia's `db`
//! and `ndb`), kept as a sorted list.
//!
//! Most objects hold no attribute or a handful; a B-tree (what
//! `serde_json::Map` is) takes a whole node of eleven entries — about
//! 630 bytes — for the first one. A sorted vector holds a few in a few
//! dozen bytes each and is as quick to search at these sizes; a map that
//! grows past [`TIGHT`] entries grows by doubling as any vector.
//!
//! Each entry keeps its name's first eight bytes as a number beside it
//! ([`AttrEntry`]): a search compares those and reads no name's text.
//!
//! Saved as a JSON object, in key order, exactly as the map it replaces
//! (rows written by either read as the other).

use std::cmp::Ordering;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Up to this many entries, the list keeps no spare room.
const TIGHT: usize = 8;

/// The names and values of [`Attributes`], in name order.
pub type Iter<'a> =
    std::iter::Map<std::slice::Iter<'a, AttrEntry>, fn(&'a AttrEntry) -> (&'a String, &'a Value)>;

/// The names and values of [`Attributes`] taken out, in name order.
pub type IntoIter = std::iter::Map<std::vec::IntoIter<AttrEntry>, fn(AttrEntry) -> (String, Value)>;

/// One named value of [`Attributes`].
///
/// Beside the name it keeps the name's first eight bytes as a number, so a
/// search compares numbers held in the list itself and reads no name's
/// text: a game asks an object for its `hp` or `blows` at every blow, and
/// reading each name compared on the way (each in a place of its own in
/// memory, seldom in the cache of a busy server) was most of that cost. A
/// name of eight bytes or fewer is told from another by that number and
/// its length alone.
#[derive(Clone, PartialEq)]
pub struct AttrEntry {
    head: u64,
    name: String,
    value: Value,
}

impl AttrEntry {
    fn new(name: String, value: Value) -> Self {
        Self {
            head: head(&name),
            name,
            value,
        }
    }

    fn pair(&self) -> (&String, &Value) {
        (&self.name, &self.value)
    }

    fn into_pair(self) -> (String, Value) {
        (self.name, self.value)
    }

    /// How this entry's name sorts against `name` (whose head is `head`):
    /// as the names' bytes do.
    fn cmp_name(&self, head: u64, name: &str) -> Ordering {
        self.head.cmp(&head).then_with(|| {
            if self.name.len() <= 8 && name.len() <= 8 {
                // The same first bytes, nothing after: the shorter is the
                // other's start.
                self.name.len().cmp(&name.len())
            } else {
                self.name.as_str().cmp(name)
            }
        })
    }
}

/// A name's first eight bytes (zeros after a shorter one) as a big-endian
/// number: two names whose numbers differ sort as those numbers do.
fn head(name: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let n = name.len().min(8);
    bytes[..n].copy_from_slice(&name.as_bytes()[..n]);
    u64::from_be_bytes(bytes)
}

/// Named serde values, in name order.
#[derive(Clone, Default, PartialEq)]
pub struct Attributes(Vec<AttrEntry>);

impl Attributes {
    /// No attributes (allocates nothing).
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Where `name` is, or where it would go.
    fn find(&self, name: &str) -> Result<usize, usize> {
        let h = head(name);
        self.0.binary_search_by(|e| e.cmp_name(h, name))
    }

    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.find(name).ok().map(|i| &self.0[i].value)
    }

    /// The value named `name`, to change in place.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        let i = self.find(name).ok()?;
        Some(&mut self.0[i].value)
    }

    /// Whether there is a value named `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets `name` to `value`; returns what it held.
    pub fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].value, value)),
            Err(i) => {
                if self.0.len() < TIGHT {
                    // Room for exactly one more: a vector would double (to
                    // four at least) and keep the spare room.
                    self.0.reserve_exact(1);
                }
                self.0.insert(i, AttrEntry::new(name, value));
                None
            }
        }
    }

    /// Takes out the value named `name`; an emptied list gives its room back.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.find(name).ok()?;
        let was = self.0.remove(i).value;
        if self.0.len() <= TIGHT {
            self.0.shrink_to_fit();
        }
        Some(was)
    }

    /// Takes out every value and gives the room back.
    pub fn clear(&mut self) {
        self.0 = Vec::new();
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names and values, in name order.
    pub fn iter(&self) -> Iter<'_> {
        self.0.iter().map(AttrEntry::pair)
    }

    /// The names, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> {
        self.0.iter().map(|e| &e.name)
    }

    /// The values, in their names' order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> {
        self.0.iter().map(|e| &e.value)
    }

    /// The names and values as a JSON object.
    pub fn to_json_map(&self) -> Map<String, Value> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Pairs in any order, a later one of the same name winning (as a
    /// JSON object read twice the same name).
    fn from_pairs(pairs: Vec<(String, Value)>) -> Self {
        let mut entries: Vec<AttrEntry> = pairs
            .into_iter()
            .map(|(k, v)| AttrEntry::new(k, v))
            .collect();
        // Stable: of equal names the later stays later.
        entries.sort_by(|a, b| a.cmp_name(b.head, &b.name));
        let mut out: Vec<AttrEntry> = Vec::with_capacity(entries.len());
        for e in entries {
            match out.last_mut() {
                Some(last) if last.name == e.name => last.value = e.value,
                _ => out.push(e),
            }
        }
        out.shrink_to_fit();
        Self(out)
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// `db["name"]`, as on a JSON object: the value, or null when there is none.
impl std::ops::Index<&str> for Attributes {
    type Output = Value;

    fn index(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(name).unwrap_or(&NULL)
    }
}

impl FromIterator<(String, Value)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Self::from_pairs(iter.into_iter().collect())
    }
}

impl Extend<(String, Value)> for Attributes {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        let mut pairs: Vec<(String, Value)> = std::mem::take(self).into_iter().collect();
        pairs.extend(iter);
        *self = Self::from_pairs(pairs);
    }
}

impl From<Map<String, Value>> for Attributes {
    fn from(map: Map<String, Value>) -> Self {
        // Already in order and without repeats: no sort needed, but the
        // general path is as cheap at these sizes.
        map.into_iter().collect()
    }
}

impl From<Attributes> for Map<String, Value> {
    fn from(attrs: Attributes) -> Self {
        attrs.into_iter().collect()
    }
}

impl From<Attributes> for Value {
    fn from(attrs: Attributes) -> Self {
        Value::Object(attrs.into())
    }
}

impl IntoIterator for Attributes {
    type Item = (String, Value);
    type IntoIter = IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter().map(AttrEntry::into_pair)
    }
}

impl<'a> IntoIterator for &'a Attributes {
    type Item = (&'a String, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Serialize for Attributes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Attributes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of attribute names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attributes, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = map.next_entry::<String, Value>()? {
                    pairs.push(pair);
                }
                Ok(Attributes::from_pairs(pairs))
            }
        }
        d.deserialize_map(Pairs)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn attributes_are_kept_and_saved_as_the_json_object_they_were() {
        let text = r#"{"zeta":1,"alpha":{"x":[1,2]},"mid":"s","alpha":2}"#;
        let a: Attributes = serde_json::from_str(text).unwrap();
        // In name order; of a name read twice, the later value, as serde_json's map reads it.
        let as_map: Map<String, Value> = serde_json::from_str(text).unwrap();
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&as_map).unwrap()
        );
        assert_eq!(a.keys().collect::<Vec<_>>(), ["alpha", "mid", "zeta"]);
        assert_eq!(a.get("alpha"), Some(&json!(2)));
        assert_eq!(a["mid"], json!("s"));
        assert_eq!(a["nothing"], Value::Null);
        assert_eq!(serde_json::to_string(&Attributes::new()).unwrap(), "{}");
        assert!(serde_json::from_str::<Attributes>("[1]").is_err());
        assert_eq!(Attributes::from(as_map.clone()), a);
        assert_eq!(Map::from(a), as_map);
    }

    #[test]
    fn a_few_attributes_take_room_for_just_those() {
        let mut a = Attributes::new();
        for (i, name) in ["hp", "gold", "str", "dex"].into_iter().enumerate() {
            assert_eq!(a.insert(name.into(), json!(i)), None);
            assert_eq!(a.0.capacity(), i + 1, "room for exactly the {} held", i + 1);
        }
        assert_eq!(a.insert("hp".into(), json!(40)), Some(json!(0)));
        assert_eq!(a.keys().collect::<Vec<_>>(), ["dex", "gold", "hp", "str"]);
        assert_eq!(a.remove("gold"), Some(json!(1)));
        assert_eq!(a.remove("gold"), None);
        assert!(a.contains_key("dex") && !a.contains_key("gold"));
        a.remove("hp");
        a.remove("str");
        a.remove("dex");
        assert!(a.is_empty());
        assert_eq!(a.0.capacity(), 0, "an emptied list gives its room back");
    }

    /// The list is searched by the names' first eight bytes as numbers,
    /// then their lengths or the rest: it must sort and find exactly as
    /// the names' bytes do, whatever the names — a prefix of another, the
    /// same eight bytes with different tails, NUL bytes, non-ASCII.
    #[test]
    fn names_sort_and_are_found_as_their_bytes_are() {
        let names = [
            "",
            "a",
            "a\0",
            "a\0\0",
            "ab",
            "abcdefgh",
            "abcdefg",
            "abcdefghi",
            "abcdefgh\0",
            "abcdefghij",
            "abcdefgha",
            "abcdefgh\u{e9}",
            "b",
            "\u{e9}t\u{e9}",
            "\u{ff}",
            "hp",
            "maxhp",
            "blows",
            "strength",
            "zzzzzzzzzzzzzzzzzzzz",
            "zzzzzzzz",
            "zzzzzzzy",
            "\u{1f600}",
        ];
        let mut a = Attributes::new();
        // In an order of their own: every third, then the rest reversed.
        let mut order: Vec<usize> = (0..names.len()).step_by(3).collect();
        order.extend((0..names.len()).rev().filter(|i| i % 3 != 0));
        for &i in &order {
            assert_eq!(
                a.insert(names[i].to_string(), json!(i)),
                None,
                "{:?}",
                names[i]
            );
        }
        let mut sorted: Vec<&str> = names.to_vec();
        sorted.sort();
        assert_eq!(a.keys().map(String::as_str).collect::<Vec<_>>(), sorted);
        for (i, n) in names.iter().enumerate() {
            assert_eq!(a.get(n), Some(&json!(i)), "{n:?}");
        }
        for absent in [
            "a\0\0\0",
            "abcdefgh\0\0",
            "abcdefghik",
            "abcdef",
            "hq",
            "\u{e9}",
        ] {
            assert!(!a.contains_key(absent), "{absent:?}");
        }
        // Read back from JSON, and taken out one by one.
        let back: Attributes = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        for n in sorted.iter().rev() {
            assert!(a.remove(n).is_some(), "{n:?}");
            assert!(!a.contains_key(n));
        }
        assert!(a.is_empty());
    }

    #[test]
    fn many_attributes_stay_sorted_and_found() {
        let mut a = Attributes::new();
        for i in (0..100).rev() {
            a.insert(format!("k{i:03}"), json!(i));
        }
        assert_eq!(a.len(), 100);
        assert!(a.keys().zip(a.keys().skip(1)).all(|(x, y)| x < y));
        assert_eq!(a.get("k042"), Some(&json!(42)));
        let mut seen = 0;
        for (k, v) in &a {
            assert_eq!(*k, format!("k{:03}", v.as_u64().unwrap()));
            seen += 1;
        }
        assert_eq!(seen, 100);
        assert_eq!(a.iter().len(), 100);
        assert_eq!(a.iter().next_back().map(|(k, _)| k.as_str()), Some("k099"));
        *a.get_mut("k042").unwrap() = json!("changed");
        a.extend([
            ("k042".to_string(), json!("again")),
            ("a".to_string(), json!(0)),
        ]);
        assert_eq!(a.get("k042"), Some(&json!("again")));
        assert_eq!(a.keys().next().map(String::as_str), Some("a"));
        a.clear();
        assert!(a.is_empty());
    }
}
