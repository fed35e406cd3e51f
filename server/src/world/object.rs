//! Objects and accounts as the running server keeps them, and their rows.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db;
use crate::locks::LockSet;

/// An object's id, unique for good (ids are never reused): `#12`.
pub type ObjId = i64;
/// An account's id.
pub type AccountId = i64;

/// The base kind of an object. A typeclass is always one of these, so that
/// the server knows how to treat an object whose typeclass it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A place: it contains characters, things and exits.
    Room,
    /// A way from its location to its destination.
    Exit,
    /// Something a player can puppet.
    Character,
    /// Anything else.
    Thing,
}

impl Kind {
    /// Its stored name: `room`, `exit`, `character`, `thing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Room => "room",
            Kind::Exit => "exit",
            Kind::Character => "character",
            Kind::Thing => "thing",
        }
    }

    /// A kind from its stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "room" => Kind::Room,
            "exit" => Kind::Exit,
            "character" => Kind::Character,
            "thing" | "object" => Kind::Thing,
            _ => return None,
        })
    }
}

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

/// Attributes: named serde values (Evennia's `db`, and `ndb` when not persisted).
pub type Attributes = serde_json::Map<String, serde_json::Value>;

/// A thing in the world: a room, a character, an exit, an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Its id.
    pub id: ObjId,
    /// Its name.
    pub key: String,
    /// Other names it answers to.
    pub aliases: Vec<String>,
    /// The registered typeclass name ("room", "character", or a game's own).
    pub typeclass: String,
    /// Room, exit, character or thing.
    pub kind: Kind,
    /// Where it is (`None`: nowhere).
    pub location: Option<ObjId>,
    /// Where `home` takes it.
    pub home: Option<ObjId>,
    /// Where an exit leads.
    pub destination: Option<ObjId>,
    /// The account that owns this object (a character's player).
    pub account: Option<AccountId>,
    /// Its description.
    pub desc: String,
    /// Its tags.
    pub tags: Vec<Tag>,
    /// Its permissions (characters: added to their account's).
    pub permissions: Vec<String>,
    /// Its locks.
    pub locks: LockSet,
    /// Persistent attributes (Evennia's `db`).
    pub db: Attributes,
    /// In-memory attributes (Evennia's `ndb`): gone after a reload.
    pub ndb: Attributes,
    /// Names of persistent cmdsets on the object, in stack order.
    pub cmdsets: Vec<String>,
    /// When it was created (milliseconds since the Unix epoch).
    pub created_at: i64,
}

fn json_or_default<T: DeserializeOwned + Default>(id: i64, what: &str, s: &str) -> T {
    if s.is_empty() {
        return T::default();
    }
    serde_json::from_str(s).unwrap_or_else(|e| {
        tracing::warn!(id, "{what} unreadable, starting empty: {e}");
        T::default()
    })
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

impl Object {
    /// A new object, not yet in any world (see [`crate::world::World::create`]).
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
            created_at: tavern_shared::session::now_millis() as i64,
        }
    }

    /// From its database row.
    pub fn from_model(m: db::object::Model) -> Self {
        let locks = LockSet::parse(&m.locks).unwrap_or_else(|e| {
            tracing::warn!(id = m.id, "object locks unreadable, starting empty: {e}");
            LockSet::default()
        });
        let kind = Kind::parse(&m.kind).unwrap_or_else(|| {
            tracing::warn!(id = m.id, kind = %m.kind, "unknown object kind, treating it as a thing");
            Kind::Thing
        });
        Self {
            id: m.id,
            aliases: json_or_default(m.id, "aliases", &m.aliases),
            tags: json_or_default(m.id, "tags", &m.tags),
            permissions: json_or_default(m.id, "permissions", &m.permissions),
            db: json_or_default(m.id, "attributes", &m.attributes),
            cmdsets: json_or_default(m.id, "cmdsets", &m.cmdsets),
            ndb: Attributes::new(),
            key: m.key,
            typeclass: m.typeclass,
            kind,
            location: m.location_id,
            home: m.home_id,
            destination: m.destination_id,
            account: m.account_id,
            desc: m.description,
            locks,
            created_at: m.created_at,
        }
    }

    /// Its database row.
    pub fn to_model(&self) -> db::object::Model {
        db::object::Model {
            id: self.id,
            key: self.key.clone(),
            typeclass: self.typeclass.clone(),
            kind: self.kind.as_str().to_string(),
            location_id: self.location,
            home_id: self.home,
            destination_id: self.destination,
            account_id: self.account,
            description: self.desc.clone(),
            attributes: to_json(&self.db),
            aliases: to_json(&self.aliases),
            tags: to_json(&self.tags),
            permissions: to_json(&self.permissions),
            locks: self.locks.to_string(),
            cmdsets: to_json(&self.cmdsets),
            created_at: self.created_at,
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
    /// [`crate::world::World::update`]).
    pub fn set_attr(&mut self, name: &str, value: impl Serialize) {
        if let Ok(v) = serde_json::to_value(value) {
            self.db.insert(name.to_string(), v);
        }
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
    /// From its database row (without the password hash).
    pub fn from_model(m: &db::account::Model) -> Self {
        Self {
            id: m.id,
            name: m.name.clone(),
            is_superuser: m.is_superuser,
            last_puppet: m.last_puppet,
            permissions: json_or_default(m.id, "permissions", &m.permissions),
            db: json_or_default(m.id, "attributes", &m.attributes),
            ndb: Attributes::new(),
            cmdsets: json_or_default(m.id, "cmdsets", &m.cmdsets),
        }
    }

    /// The columns the server changes (never the name or the password hash).
    pub fn to_row(&self) -> db::AccountRow {
        db::AccountRow {
            id: self.id,
            is_superuser: self.is_superuser,
            last_puppet: self.last_puppet,
            permissions: to_json(&self.permissions),
            attributes: to_json(&self.db),
            cmdsets: to_json(&self.cmdsets),
        }
    }

    /// A persistent attribute, read as `T`.
    pub fn attr<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        serde_json::from_value(self.db.get(name)?.clone()).ok()
    }
}
