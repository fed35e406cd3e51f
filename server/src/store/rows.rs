//! Between the model's values and the tables' rows. The persister calls
//! these on its own task: the game thread hands over values, never JSON.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{AccountRow, account, flow_instance, help_entry, object, timer};
use crate::model::flows::FlowInstance;
use crate::model::locks::LockSet;
use crate::model::timers::TimerRecord;
use crate::model::world::{Account, Attributes, HelpEntry, Kind, Object, Timestamp};

fn json_or_default<T: DeserializeOwned + Default>(id: i64, what: &str, s: &str) -> T {
    // An empty list or map is most objects' aliases, tags, permissions or
    // cmdsets: no need to parse it.
    if s.is_empty() || s == "[]" || s == "{}" {
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

impl From<object::Model> for Object {
    fn from(m: object::Model) -> Self {
        let locks = parse_locks(m.id, &m.locks);
        object_with_locks(m, locks)
    }
}

fn parse_locks(id: i64, text: &str) -> LockSet {
    LockSet::parse(text).unwrap_or_else(|e| {
        tracing::warn!(id, "object locks unreadable, starting empty: {e}");
        LockSet::default()
    })
}

/// Makes objects of many rows, parsing each distinct lock text once (most
/// objects of a kind have the same locks): loading a big world.
#[derive(Default)]
pub(super) struct ObjectBuilder {
    locks: std::collections::HashMap<String, LockSet, rustc_hash::FxBuildHasher>,
}

impl ObjectBuilder {
    /// Most lock texts kept; past it a text is parsed every time (a world
    /// whose locks mostly name ids, one text per object).
    const MAX_TEXTS: usize = 10_000;

    /// The object of one row.
    pub(super) fn object(&mut self, m: object::Model) -> Object {
        let locks = match self.locks.get(&m.locks) {
            Some(l) => l.clone(),
            None => {
                let l = parse_locks(m.id, &m.locks);
                if self.locks.len() < Self::MAX_TEXTS {
                    self.locks.insert(m.locks.clone(), l.clone());
                }
                l
            }
        };
        object_with_locks(m, locks)
    }
}

fn object_with_locks(m: object::Model, locks: LockSet) -> Object {
    let kind = Kind::parse(&m.kind).unwrap_or_else(|| {
        tracing::warn!(id = m.id, kind = %m.kind, "unknown object kind, treating it as a thing");
        Kind::Thing
    });
    Object {
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

/// The `attributes` column of an object's row: its persistent attributes as JSON.
pub(crate) fn attributes_column(o: &Object) -> String {
    attributes_text(&o.db)
}

/// Persistent attributes as the `attributes` column holds them.
pub(crate) fn attributes_text(a: &Attributes) -> String {
    to_json(a)
}

impl From<&Object> for object::Model {
    fn from(o: &Object) -> Self {
        Self {
            id: o.id,
            key: o.key.clone(),
            typeclass: o.typeclass.clone(),
            kind: o.kind.as_str().to_string(),
            location_id: o.location,
            home_id: o.home,
            destination_id: o.destination,
            account_id: o.account,
            description: o.desc.clone(),
            attributes: attributes_column(o),
            aliases: to_json(&o.aliases),
            tags: to_json(&o.tags),
            permissions: to_json(&o.permissions),
            locks: o.locks.to_string(),
            cmdsets: to_json(&o.cmdsets),
            created_at: o.created_at,
        }
    }
}

impl From<&account::Model> for Account {
    /// Everything but the password hash, which never leaves the database
    /// but to be checked.
    fn from(m: &account::Model) -> Self {
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
}

impl From<&Account> for AccountRow {
    /// The columns the server changes (never the name or the password hash).
    fn from(a: &Account) -> Self {
        Self {
            id: a.id,
            is_superuser: a.is_superuser,
            last_puppet: a.last_puppet,
            permissions: to_json(&a.permissions),
            attributes: to_json(&a.db),
            cmdsets: to_json(&a.cmdsets),
        }
    }
}

impl From<help_entry::Model> for HelpEntry {
    fn from(m: help_entry::Model) -> Self {
        Self {
            locks: LockSet::parse(&m.locks).unwrap_or_default(),
            key: m.key,
            category: m.category,
            text: m.text,
        }
    }
}

/// A flow instance's row: its whole state as JSON; None when it cannot be
/// encoded (logged).
pub fn flow_row(name: &str, f: &FlowInstance, at: Timestamp) -> Option<flow_instance::Model> {
    match serde_json::to_string(f) {
        Ok(data) => Some(flow_instance::Model {
            name: name.to_string(),
            definition: f.def.clone(),
            data,
            updated_at: at,
        }),
        Err(e) => {
            tracing::error!(flow = %name, "a flow cannot be saved: {e}");
            None
        }
    }
}

/// A saved flow, or None (logged) when its row does not load.
pub(super) fn flow_from_row(row: &flow_instance::Model) -> Option<FlowInstance> {
    serde_json::from_str(&row.data)
        .map_err(|e| tracing::error!(flow = %row.name, "a saved flow does not load: {e}"))
        .ok()
}

/// A timer's row: the record as JSON; None when it cannot be encoded (logged).
pub fn timer_row(rec: &TimerRecord, at: Timestamp) -> Option<timer::Model> {
    let key = rec.row_key().to_string();
    match serde_json::to_string(rec) {
        Ok(data) => Some(timer::Model {
            key,
            kind: rec.kind().to_string(),
            data,
            updated_at: at,
        }),
        Err(e) => {
            tracing::error!(timer = %key, "a timer cannot be saved: {e}");
            None
        }
    }
}

/// A saved timer, or None (logged) when its row does not load.
pub(super) fn timer_from_row(row: &timer::Model) -> Option<TimerRecord> {
    serde_json::from_str(&row.data)
        .map_err(|e| tracing::error!(timer = %row.key, "a saved timer does not load: {e}"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::world::Tag;

    #[test]
    fn objects_round_trip_through_their_row() {
        let mut o = Object::new(5, "x", "thing", Kind::Thing);
        o.location = Some(1);
        o.created_at = 1_700_000_000_000;
        o.db.insert("hp".into(), serde_json::json!(12));
        o.aliases = vec!["ex".into()];
        o.tags = vec![Tag::new("Shiny", Some("Looks"))];
        o.permissions = vec!["Builder".into()];
        o.locks = LockSet::parse("get:perm(Builder) or id(3);view:all()").unwrap();
        o.cmdsets = vec!["Sword".into()];
        o.ndb.insert("gone".into(), serde_json::json!(true));
        let mut back = Object::from(object::Model::from(&o));
        assert!(back.ndb.is_empty(), "ndb is not persisted");
        back.ndb = o.ndb.clone();
        assert_eq!(back, o);
        assert!(back.has_tag("shiny", Some("looks")) && back.has_tag("SHINY", None));
        assert!(!back.has_tag("shiny", Some("other")));
    }
}
