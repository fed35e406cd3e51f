//! [`Attributes`]: an object's or account's named values (Evennia's `db`
//! and `ndb`), kept as a sorted list.
//!
//! Most objects hold no attribute or a handful; a B-tree (what
//! `serde_json::Map` is) takes a whole node of eleven entries — about
//! 630 bytes — for the first one. A sorted vector holds a few in a few
//! dozen bytes each and is as quick to search at these sizes; a map that
//! grows past [`TIGHT`] entries grows by doubling as any vector.
//!
//! Saved as a JSON object, in key order, exactly as the map it replaces
//! (rows written by either read as the other).

use std::fmt;

use litemap::LiteMap;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Up to this many entries, the list keeps no spare room.
const TIGHT: usize = 8;

/// The names and values of [`Attributes`], in name order.
pub type Iter<'a> = std::iter::Map<
    std::slice::Iter<'a, (String, Value)>,
    fn(&'a (String, Value)) -> (&'a String, &'a Value),
>;

/// Named serde values, in name order.
#[derive(Clone, Default, PartialEq)]
pub struct Attributes(LiteMap<String, Value>);

impl Attributes {
    /// No attributes (allocates nothing).
    pub const fn new() -> Self {
        Self(LiteMap::new())
    }

    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// The value named `name`, to change in place.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.0.get_mut(name)
    }

    /// Whether there is a value named `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Sets `name` to `value`; returns what it held.
    pub fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        if let Some(old) = self.0.get_mut(name.as_str()) {
            return Some(std::mem::replace(old, value));
        }
        if self.0.len() < TIGHT {
            // Room for exactly one more: a vector would double (to four at
            // least) and keep the spare room.
            let mut pairs = std::mem::take(&mut self.0).into_tuple_vec();
            pairs.reserve_exact(1);
            self.0 = LiteMap::from_sorted_store_unchecked(pairs);
        }
        self.0.insert(name, value)
    }

    /// Takes out the value named `name`; an emptied list gives its room back.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let was = self.0.remove(name)?;
        if self.0.len() <= TIGHT {
            self.shrink();
        }
        Some(was)
    }

    /// Takes out every value and gives the room back.
    pub fn clear(&mut self) {
        self.0 = LiteMap::new();
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
        fn pair(p: &(String, Value)) -> (&String, &Value) {
            (&p.0, &p.1)
        }
        self.0.as_slice().iter().map(pair)
    }

    /// The names, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> {
        self.0.keys()
    }

    /// The values, in their names' order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> {
        self.0.values()
    }

    /// The names and values as a JSON object.
    pub fn to_json_map(&self) -> Map<String, Value> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn shrink(&mut self) {
        let mut pairs = std::mem::take(&mut self.0).into_tuple_vec();
        pairs.shrink_to_fit();
        self.0 = LiteMap::from_sorted_store_unchecked(pairs);
    }

    /// Pairs in any order, a later one of the same name winning (as a
    /// JSON object read twice the same name).
    fn from_pairs(mut pairs: Vec<(String, Value)>) -> Self {
        // Stable: of equal names the later stays later.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(String, Value)> = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => out.push((k, v)),
            }
        }
        out.shrink_to_fit();
        Self(LiteMap::from_sorted_store_unchecked(out))
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
        let mut pairs = std::mem::take(&mut self.0).into_tuple_vec();
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
    type IntoIter = std::vec::IntoIter<(String, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_tuple_vec().into_iter()
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
            let pairs = std::mem::take(&mut a.0).into_tuple_vec();
            assert_eq!(
                pairs.capacity(),
                i + 1,
                "room for exactly the {} held",
                i + 1
            );
            a.0 = LiteMap::from_sorted_store_unchecked(pairs);
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
        assert_eq!(
            std::mem::take(&mut a.0).into_tuple_vec().capacity(),
            0,
            "an emptied list gives its room back"
        );
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
