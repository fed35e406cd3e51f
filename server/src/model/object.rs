//! Objects and accounts as the running server keeps them, and their rows.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use super::ids::{AccountId, Kind, ObjId, Timestamp};
use crate::model::locks::set::LockSet;

/// The tag category that ties an object to the game code that builds it
/// (`Server::ensure_object`): set only by code, never by the `tag` command.
pub const WORLD_ID: &str = "world_id";

/// The attribute marking a character made outside the game (by the
/// launcher's `account create`): its creation hooks have yet to run.
pub const CREATION_PENDING: &str = "_creation_hooks_pending";

/// A tag: a key and an optional category, both lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Tag {
    /// The tag.
    pub key: String,
    /// Its category, if any (tags with different categories are different tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl Tag {
    /// A tag, with an optional category.
    pub fn new(key: &str, category: Option<&str>) -> Self {
        Self {
            key: key.trim().to_lowercase(),
            category: category
                .map(|c| c.trim().to_lowercase())
                .filter(|c| !c.is_empty()),
        }
    }
}

impl std::fmt::Display for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.category {
            Some(c) => write!(f, "{}:{c}", self.key),
            None => f.write_str(&self.key),
        }
    }
}

pub use super::attributes::Attributes;

/// A thing in the world: a room, a character, an exit, an object.
///
/// The fields are laid out in the order written (`repr(C)`), those that
/// nearly every command reads of every object it considers first: a room's
/// listing, a search by name and a lock check read the id, the kind, the
/// name and the locks of each object, and these are its first 64 bytes:
/// one cache line when the allocator's block is aligned to 64 (mimalloc's
/// blocks of this size class, 384 bytes, usually are), two at most. In
/// Rust's own order they were spread over three lines of the object's six,
/// and a `look` in a room of many things missed the cache on each. (Asking
/// for the alignment with `align(64)` made mimalloc over-allocate each
/// object that did not land on a line: about 1.5 MiB more for the sessions
/// scenario's 40,000 objects.)
#[derive(Debug, Clone, PartialEq)]
#[repr(C)]
pub struct Object {
    /// Its id.
    pub id: ObjId,
    /// Room, exit, character or thing.
    pub kind: Kind,
    /// Its name.
    pub key: String,
    /// Its locks.
    pub locks: LockSet,
    /// Where it is (`None`: nowhere).
    pub location: Option<ObjId>,
    /// Other names it answers to.
    pub aliases: Vec<String>,
    /// The registered typeclass name ("room", "character", or a game's own).
    pub typeclass: String,
    /// The account that owns this object (a character's player).
    pub account: Option<AccountId>,
    /// Where `home` takes it.
    pub home: Option<ObjId>,
    /// Where an exit leads.
    pub destination: Option<ObjId>,
    /// Persistent attributes (Evennia's `db`).
    pub db: Attributes,
    /// Its description.
    pub desc: String,
    /// Its tags.
    pub tags: Vec<Tag>,
    /// Its permissions (characters: added to their account's).
    pub permissions: Vec<String>,
    /// In-memory attributes (Evennia's `ndb`): gone after a reload.
    pub ndb: Attributes,
    /// Names of persistent cmdsets on the object, in stack order.
    pub cmdsets: Vec<String>,
    /// When it was created (set by whoever creates it: the runtime gives its `now`).
    pub created_at: Timestamp,
}

impl Object {
    /// A new object, not yet in any world (see [`crate::model::world::World::create`]).
    pub fn new(id: ObjId, key: &str, typeclass: &str, kind: Kind) -> Self {
        Self {
            id,
            key: key.to_string(),
            aliases: Vec::new(),
            typeclass: typeclass.to_string(),
            kind,
            location: None,
            home: None,
            destination: None,
            account: None,
            desc: String::new(),
            tags: Vec::new(),
            permissions: Vec::new(),
            locks: LockSet::default(),
            db: Attributes::new(),
            ndb: Attributes::new(),
            cmdsets: Vec::new(),
            created_at: 0,
        }
    }

    /// Whether `name` is the key or an alias (any case).
    pub fn answers_to(&self, name: &str) -> bool {
        self.key.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// Whether it has the tag (with that category, or none).
    pub fn has_tag(&self, key: &str, category: Option<&str>) -> bool {
        let want = Tag::new(key, category);
        self.tags
            .iter()
            .any(|t| t.key == want.key && (category.is_none() || t.category == want.category))
    }

    /// A persistent attribute, read as `T`.
    pub fn attr<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        serde_json::from_value(self.db.get(name)?.clone()).ok()
    }

    /// Sets a persistent attribute (mark the object changed: use it inside
    /// [`crate::model::world::World::update`], or change the one attribute
    /// with [`crate::model::world::World::set_attr`]).
    pub fn set_attr(&mut self, name: &str, value: impl Serialize) {
        if let Ok(v) = serde_json::to_value(value) {
            self.db.insert(name.to_string(), v);
        }
    }

    /// Deletes a persistent attribute (inside `World::update`); returns
    /// what it held.
    pub fn del_attr(&mut self, name: &str) -> Option<serde_json::Value> {
        self.db.remove(name)
    }

    /// The world id the game's code built it under, if any (see
    /// `Server::ensure_object`).
    pub fn world_id(&self) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.category.as_deref() == Some(WORLD_ID))
            .map(|t| t.key.as_str())
    }

    /// `key(#id)`, as builders see objects named.
    pub fn display_with_id(&self) -> String {
        format!("{}(#{})", self.key, self.id)
    }
}

/// An account as the running server keeps it (never its password hash).
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Its name, unique without regard to case.
    pub name: String,
    /// Passes every lock (but `call`).
    pub is_superuser: bool,
    /// The character it played last (`auto_puppet_on_login` returns to it).
    pub last_puppet: Option<ObjId>,
    /// Its permissions: `Player`, `Builder`, ...
    pub permissions: Vec<String>,
    /// Persistent attributes.
    pub db: Attributes,
    /// Attributes in memory only.
    pub ndb: Attributes,
    /// Names of persistent cmdsets on it.
    pub cmdsets: Vec<String>,
}

impl Account {
    /// An account of that id and name with nothing else: no permissions,
    /// attributes or cmdsets, not a superuser.
    pub fn new(id: AccountId, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            is_superuser: false,
            last_puppet: None,
            permissions: Vec::new(),
            db: Default::default(),
            ndb: Default::default(),
            cmdsets: Vec::new(),
        }
    }

    /// A persistent attribute, read as `T`.
    pub fn attr<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        serde_json::from_value(self.db.get(name)?.clone()).ok()
    }

    /// Deletes a persistent attribute; returns what it held.
    pub fn del_attr(&mut self, name: &str) -> Option<serde_json::Value> {
        self.db.remove(name)
    }

    /// Sets a persistent attribute (a value that does not serialize is stored as null).
    pub fn set_attr(&mut self, name: &str, value: impl Serialize) {
        self.db.insert(
            name.to_string(),
            serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{LockSet, Object};
    use std::mem::{offset_of, size_of};

    #[test]
    fn what_every_command_reads_of_an_object_shares_its_first_cache_line() {
        for (field, end) in [
            ("id", offset_of!(Object, id) + size_of::<super::ObjId>()),
            ("kind", offset_of!(Object, kind) + size_of::<super::Kind>()),
            ("key", offset_of!(Object, key) + size_of::<String>()),
            ("locks", offset_of!(Object, locks) + size_of::<LockSet>()),
        ] {
            assert!(end <= 64, "{field} ends at byte {end}");
        }
        // Within the allocator's size class of 384 bytes, as before.
        assert!(size_of::<Object>() <= 384, "{}", size_of::<Object>());
    }
}
