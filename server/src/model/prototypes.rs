//! Prototypes (Evennia's spawner): objects described as data — name,
//! typeclass, description, aliases, attributes, tags, locks, home and
//! location — that `spawn` makes, with parents to inherit from and values
//! computed when spawning (`$randint(1, 6)`).
//!
//! This module is the data: reading prototypes (TOML, JSON), checking them
//! (cycles, unknown parents, bad fields are named), and resolving one with
//! its parents into what to make. Spawning is the runtime's.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The tag category that marks what was spawned from which prototype.
pub const FROM_PROTOTYPE: &str = "from_prototype";
/// The attribute that keeps what a prototype last applied to an object
/// (`spawn/update` changes only objects nobody changed by hand since).
pub const APPLIED_ATTR: &str = "_prototype_applied";
/// The `server_config` key prefix of prototypes builders saved.
pub const STORED_PREFIX: &str = "prototype:";
/// How deep parents may go.
pub const MAX_PARENT_DEPTH: usize = 16;

/// One prototype, as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prototype {
    /// Its key (lowercased).
    pub prototype_key: String,
    /// Parents, inherited in order (a later parent wins over an earlier
    /// one, the prototype itself over all).
    #[serde(default, deserialize_with = "one_or_many")]
    pub prototype_parent: Vec<String>,
    /// What it is, for `spawn/list`.
    #[serde(default)]
    pub prototype_desc: String,
    /// Tags for finding it in `spawn/list`.
    #[serde(default)]
    pub prototype_tags: Vec<String>,
    /// Who may spawn it and edit it (`spawn:all();edit:perm(Builder)`).
    #[serde(default)]
    pub prototype_locks: String,
    /// The typeclass (its kind follows from it; a thing by default).
    #[serde(default)]
    pub typeclass: Option<String>,
    /// The object's name.
    #[serde(default)]
    pub key: Option<String>,
    /// Other names.
    #[serde(default)]
    pub aliases: Option<Vec<String>>,
    /// The description.
    #[serde(default)]
    pub desc: Option<String>,
    /// Attributes (merged with the parents' by name).
    #[serde(default)]
    pub attrs: Map<String, Value>,
    /// Tags, `key` or `key:category` (merged with the parents').
    #[serde(default)]
    pub tags: Vec<String>,
    /// A lock string added to the typeclass's defaults.
    #[serde(default)]
    pub locks: Option<String>,
    /// Home, as `#id`.
    #[serde(default)]
    pub home: Option<String>,
    /// Where it is made, as `#id` (otherwise where the spawner says).
    #[serde(default)]
    pub location: Option<String>,
    /// For exits: where it leads, as `#id`.
    #[serde(default)]
    pub destination: Option<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Why a prototype cannot be used; the message names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrototypeError {
    /// Not valid TOML/JSON of a prototype's shape.
    #[error("not a prototype: {0}")]
    Syntax(String),
    /// A field has a bad value.
    #[error("prototype '{key}': {field} {why}")]
    Field {
        /// The prototype.
        key: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
    /// A parent does not exist.
    #[error("prototype '{key}': prototype_parent '{parent}' does not exist")]
    NoParent {
        /// The prototype.
        key: String,
        /// The missing parent.
        parent: String,
    },
    /// The parents loop.
    #[error("prototype '{key}': prototype_parent makes a cycle ({path})")]
    Cycle {
        /// The prototype.
        key: String,
        /// The loop, `a -> b -> a`.
        path: String,
    },
    /// No prototype of that key.
    #[error("there is no prototype '{0}'")]
    Unknown(String),
}

/// A file of prototypes: `[[prototype]]` tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    prototype: Vec<Prototype>,
}

fn field(key: &str, field: &'static str, why: impl Into<String>) -> PrototypeError {
    PrototypeError::Field {
        key: key.to_string(),
        field,
        why: why.into(),
    }
}

/// Reads an `#id`.
pub fn parse_ref(s: &str) -> Option<i64> {
    s.trim().strip_prefix('#')?.parse().ok()
}

impl Prototype {
    /// Reads the prototypes of a TOML file (`[[prototype]]` tables).
    pub fn from_toml_file(text: &str) -> Result<Vec<Self>, PrototypeError> {
        let f: File = toml::from_str(text).map_err(|e| PrototypeError::Syntax(e.to_string()))?;
        f.prototype.into_iter().map(Self::checked).collect()
    }

    /// Reads one prototype: a TOML table (an inline one works:
    /// `{ prototype_key = "rock", key = "rock" }`) or a JSON object.
    pub fn parse_one(text: &str) -> Result<Self, PrototypeError> {
        let t = text.trim();
        let p: Prototype = if t.starts_with('{') && serde_json::from_str::<Value>(t).is_ok() {
            serde_json::from_str(t).map_err(|e| PrototypeError::Syntax(e.to_string()))?
        } else if t.starts_with('{') {
            #[derive(Deserialize)]
            struct One {
                p: Prototype,
            }
            toml::from_str::<One>(&format!("p = {t}"))
                .map_err(|e| PrototypeError::Syntax(e.to_string()))?
                .p
        } else {
            toml::from_str(t).map_err(|e| PrototypeError::Syntax(e.to_string()))?
        };
        Self::checked(p)
    }

    /// Its fields checked, its key lowercased.
    pub fn checked(mut self) -> Result<Self, PrototypeError> {
        self.prototype_key = self.prototype_key.trim().to_lowercase();
        let k = self.prototype_key.clone();
        if k.is_empty()
            || k.len() > 60
            || !k.chars().all(|c| c.is_alphanumeric() || "_- ".contains(c))
        {
            return Err(field(
                &k,
                "prototype_key",
                "must be letters, digits, _ - or spaces (at most 60)",
            ));
        }
        for p in &mut self.prototype_parent {
            *p = p.trim().to_lowercase();
        }
        if self.prototype_parent.contains(&k) {
            return Err(PrototypeError::Cycle {
                key: k.clone(),
                path: format!("{k} -> {k}"),
            });
        }
        if let Some(name) = &self.key
            && (name.trim().is_empty() || name.chars().count() > 80)
        {
            return Err(field(&k, "key", "must be a name of 1 to 80 characters"));
        }
        for (name, v) in [
            ("home", &self.home),
            ("location", &self.location),
            ("destination", &self.destination),
        ] {
            if let Some(v) = v
                && parse_ref(v).is_none()
            {
                let f: &'static str = match name {
                    "home" => "home",
                    "location" => "location",
                    _ => "destination",
                };
                return Err(field(&k, f, format!("must be an object's #id, not '{v}'")));
            }
        }
        if let Some(locks) = &self.locks
            && let Err(e) = crate::model::locks::LockSet::parse(locks)
        {
            return Err(field(&k, "locks", e.to_string()));
        }
        if let Err(e) = crate::model::locks::LockSet::parse(&self.prototype_locks) {
            return Err(field(&k, "prototype_locks", e.to_string()));
        }
        if self
            .tags
            .iter()
            .any(|t| t.trim().is_empty() || t.len() > 100)
        {
            return Err(field(
                &k,
                "tags",
                "must be non-empty names of at most 100 characters",
            ));
        }
        if serde_json::to_vec(&self.attrs).map_or(usize::MAX, |v| v.len()) > 64 * 1024 {
            return Err(field(&k, "attrs", "are larger than 64 KiB"));
        }
        Ok(self)
    }
}

/// Every prototype the game knows, by key.
#[derive(Debug, Clone, Default)]
pub struct Prototypes {
    by_key: HashMap<String, Prototype>,
    /// Where each came from: `code`, a file name, or `stored`.
    source: HashMap<String, String>,
}

impl Prototypes {
    /// Adds one (a later one of the same key replaces it).
    pub fn add(&mut self, p: Prototype, source: &str) {
        self.source
            .insert(p.prototype_key.clone(), source.to_string());
        self.by_key.insert(p.prototype_key.clone(), p);
    }

    /// Removes one.
    pub fn remove(&mut self, key: &str) -> Option<Prototype> {
        self.source.remove(key);
        self.by_key.remove(key)
    }

    /// One by key (any case).
    pub fn get(&self, key: &str) -> Option<&Prototype> {
        self.by_key.get(&key.trim().to_lowercase())
    }

    /// Where one came from.
    pub fn source(&self, key: &str) -> Option<&str> {
        self.source
            .get(&key.trim().to_lowercase())
            .map(String::as_str)
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.by_key.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The prototype with its parents merged in, in order; cycles and
    /// missing parents are errors naming the prototype.
    pub fn resolve(&self, key: &str) -> Result<Prototype, PrototypeError> {
        let key = key.trim().to_lowercase();
        let p = self
            .get(&key)
            .ok_or_else(|| PrototypeError::Unknown(key.clone()))?;
        self.resolve_in(p, &mut vec![key])
    }

    /// Checks that every prototype resolves (at load).
    pub fn check_all(&self) -> Vec<PrototypeError> {
        self.keys()
            .into_iter()
            .filter_map(|k| self.resolve(k).err())
            .collect()
    }

    /// Resolves a prototype that may not be stored yet (`spawn/save` checks
    /// a new one against the others).
    pub fn resolve_new(&self, p: &Prototype) -> Result<Prototype, PrototypeError> {
        self.resolve_in(p, &mut vec![p.prototype_key.clone()])
    }

    fn resolve_in(
        &self,
        p: &Prototype,
        path: &mut Vec<String>,
    ) -> Result<Prototype, PrototypeError> {
        if path.len() > MAX_PARENT_DEPTH {
            return Err(field(&path[0], "prototype_parent", "goes deeper than 16"));
        }
        let mut merged = Prototype::default();
        for parent in &p.prototype_parent {
            if path.contains(parent) {
                path.push(parent.clone());
                return Err(PrototypeError::Cycle {
                    key: path[0].clone(),
                    path: path.join(" -> "),
                });
            }
            let Some(pp) = self.get(parent) else {
                return Err(PrototypeError::NoParent {
                    key: p.prototype_key.clone(),
                    parent: parent.clone(),
                });
            };
            path.push(parent.clone());
            let resolved = self.resolve_in(pp, path)?;
            path.pop();
            merge(&mut merged, &resolved);
        }
        merge(&mut merged, p);
        merged.prototype_key = p.prototype_key.clone();
        merged.prototype_parent = p.prototype_parent.clone();
        merged.prototype_desc = p.prototype_desc.clone();
        merged.prototype_tags = p.prototype_tags.clone();
        merged.prototype_locks = p.prototype_locks.clone();
        Ok(merged)
    }
}

/// `over` laid onto `base`: its fields win; attributes and tags merge.
fn merge(base: &mut Prototype, over: &Prototype) {
    macro_rules! take {
        ($($f:ident),*) => {$(
            if over.$f.is_some() {
                base.$f = over.$f.clone();
            }
        )*};
    }
    take!(
        typeclass,
        key,
        aliases,
        desc,
        locks,
        home,
        location,
        destination
    );
    for (k, v) in &over.attrs {
        base.attrs.insert(k.clone(), v.clone());
    }
    let mut tags: BTreeMap<String, ()> = base.tags.iter().map(|t| (t.clone(), ())).collect();
    for t in &over.tags {
        tags.insert(t.clone(), ());
    }
    base.tags = tags.into_keys().collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[prototype]]
prototype_key = "monster"
typeclass = "thing"
desc = "Something with teeth."
attrs = { hp = 10, hostile = true }
tags = ["monster"]

[[prototype]]
prototype_key = "small"
attrs = { size = "small", hp = 4 }

[[prototype]]
prototype_key = "Goblin"
prototype_parent = ["monster", "small"]
prototype_desc = "A goblin for the caves"
key = "goblin"
attrs = { hp = "$randint(3, 7)" }
tags = ["goblinoid:race"]
"#;

    fn protos() -> Prototypes {
        let mut p = Prototypes::default();
        for x in Prototype::from_toml_file(FILE).unwrap() {
            p.add(x, "test");
        }
        p
    }

    #[test]
    fn parents_merge_in_order_and_the_child_wins() {
        let g = protos().resolve("GOBLIN").unwrap();
        assert_eq!(g.key.as_deref(), Some("goblin"));
        assert_eq!(g.desc.as_deref(), Some("Something with teeth."));
        assert_eq!(g.attrs["hp"], "$randint(3, 7)");
        assert_eq!(g.attrs["size"], "small");
        assert_eq!(g.attrs["hostile"], true);
        assert_eq!(g.tags, ["goblinoid:race", "monster"]);
        assert_eq!(g.prototype_desc, "A goblin for the caves");
    }

    #[test]
    fn bad_prototypes_are_refused_naming_the_field() {
        let mut p = protos();
        let e = Prototype::parse_one(r#"{ prototype_key = "x", home = "limbo" }"#).unwrap_err();
        assert!(
            e.to_string().contains("home must be an object's #id"),
            "{e}"
        );
        let e =
            Prototype::parse_one(r#"{ prototype_key = "x", locks = "get:nosuch(" }"#).unwrap_err();
        assert!(e.to_string().contains("'x': locks"), "{e}");
        let e = Prototype::parse_one(r#"{ prototype_key = "", key = "a" }"#).unwrap_err();
        assert!(e.to_string().contains("prototype_key"), "{e}");
        assert!(Prototype::parse_one(r#"{ prototype_key = "x", colour = "red" }"#).is_err());
        let a = Prototype::parse_one(r#"{ prototype_key = "a", prototype_parent = "b" }"#).unwrap();
        let b =
            Prototype::parse_one(r#"{"prototype_key": "b", "prototype_parent": ["a"]}"#).unwrap();
        p.add(a, "t");
        p.add(b, "t");
        let e = p.resolve("a").unwrap_err();
        assert_eq!(
            e.to_string(),
            "prototype 'a': prototype_parent makes a cycle (a -> b -> a)"
        );
        let c =
            Prototype::parse_one(r#"{ prototype_key = "c", prototype_parent = "gone" }"#).unwrap();
        assert!(
            p.resolve_new(&c)
                .unwrap_err()
                .to_string()
                .contains("'gone' does not exist")
        );
        assert_eq!(p.check_all().len(), 2);
    }
}
