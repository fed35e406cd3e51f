//! The world in memory: objects and accounts, with a location index. Changes
//! mark objects dirty; the server writes dirty objects behind, in order.

use std::collections::{BTreeSet, HashMap};

use crate::db;

pub type ObjId = i64;
pub type AccountId = i64;

/// A thing in the world: a room, a character, an exit, an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub id: ObjId,
    pub key: String,
    /// The kind of object: "room", "character", "exit", "thing", or a game's own.
    pub typeclass: String,
    pub location: Option<ObjId>,
    pub home: Option<ObjId>,
    pub destination: Option<ObjId>,
    /// The account that owns this object (a character's player).
    pub account: Option<AccountId>,
    pub desc: String,
    /// Persistent attributes (Evennia's `db`).
    pub db: serde_json::Map<String, serde_json::Value>,
    pub created_at: i64,
}

impl Object {
    pub fn from_model(m: db::object::Model) -> Self {
        let attrs = serde_json::from_str(&m.attributes).unwrap_or_else(|e| {
            tracing::warn!(
                id = m.id,
                "object attributes unreadable, starting empty: {e}"
            );
            serde_json::Map::new()
        });
        Self {
            id: m.id,
            key: m.key,
            typeclass: m.typeclass,
            location: m.location_id,
            home: m.home_id,
            destination: m.destination_id,
            account: m.account_id,
            desc: m.description,
            db: attrs,
            created_at: m.created_at,
        }
    }

    pub fn to_model(&self) -> db::object::Model {
        db::object::Model {
            id: self.id,
            key: self.key.clone(),
            typeclass: self.typeclass.clone(),
            location_id: self.location,
            home_id: self.home,
            destination_id: self.destination,
            account_id: self.account,
            description: self.desc.clone(),
            attributes: serde_json::Value::Object(self.db.clone()).to_string(),
            created_at: self.created_at,
        }
    }
}

/// An account as the running server keeps it (never its password hash).
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub is_superuser: bool,
    pub last_puppet: Option<ObjId>,
}

impl Account {
    pub fn from_model(m: &db::account::Model) -> Self {
        Self {
            id: m.id,
            name: m.name.clone(),
            is_superuser: m.is_superuser,
            last_puppet: m.last_puppet,
        }
    }
}

#[derive(Default)]
pub struct World {
    objects: HashMap<ObjId, Object>,
    /// location → what is in it, in arrival order.
    contents: HashMap<ObjId, Vec<ObjId>>,
    pub accounts: HashMap<AccountId, Account>,
    pub start_room: ObjId,
    dirty: BTreeSet<ObjId>,
}

impl World {
    pub fn new(start_room: ObjId) -> Self {
        Self {
            start_room,
            ..Default::default()
        }
    }

    /// Adds an object that already exists in the database (loading, or created elsewhere).
    pub fn insert_loaded(&mut self, obj: Object) {
        if let Some(loc) = obj.location {
            self.contents.entry(loc).or_default().push(obj.id);
        }
        self.objects.insert(obj.id, obj);
    }

    pub fn get(&self, id: ObjId) -> Option<&Object> {
        self.objects.get(&id)
    }

    /// Changes an object; it will be written behind.
    pub fn update(&mut self, id: ObjId, f: impl FnOnce(&mut Object)) -> bool {
        match self.objects.get_mut(&id) {
            Some(o) => {
                f(o);
                self.dirty.insert(id);
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// What is in `loc`.
    pub fn contents(&self, loc: ObjId) -> &[ObjId] {
        self.contents.get(&loc).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Moves an object (None: nowhere), keeping the location index true.
    pub fn move_to(&mut self, id: ObjId, dest: Option<ObjId>) {
        let Some(obj) = self.objects.get_mut(&id) else {
            return;
        };
        let from = obj.location;
        if from == dest {
            return;
        }
        obj.location = dest;
        self.dirty.insert(id);
        if let Some(from) = from
            && let Some(c) = self.contents.get_mut(&from)
        {
            c.retain(|&o| o != id);
        }
        if let Some(to) = dest {
            self.contents.entry(to).or_default().push(id);
        }
    }

    /// The objects changed since the last call, as rows to write.
    pub fn take_dirty(&mut self) -> Vec<db::object::Model> {
        let ids = std::mem::take(&mut self.dirty);
        ids.into_iter()
            .filter_map(|id| self.objects.get(&id).map(Object::to_model))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(id: ObjId, key: &str, location: Option<ObjId>) -> Object {
        Object {
            id,
            key: key.into(),
            typeclass: "thing".into(),
            location,
            home: None,
            destination: None,
            account: None,
            desc: String::new(),
            db: Default::default(),
            created_at: 0,
        }
    }

    #[test]
    fn moving_keeps_the_location_index_true_and_marks_dirty() {
        let mut w = World::new(1);
        w.insert_loaded(obj(1, "room", None));
        w.insert_loaded(obj(2, "hall", None));
        w.insert_loaded(obj(3, "ball", Some(1)));
        assert_eq!(w.contents(1), &[3]);
        assert!(w.take_dirty().is_empty(), "loading is not a change");
        w.move_to(3, Some(2));
        assert!(w.contents(1).is_empty());
        assert_eq!(w.contents(2), &[3]);
        let dirty = w.take_dirty();
        assert_eq!(dirty.len(), 1);
        assert_eq!(dirty[0].location_id, Some(2));
        w.move_to(3, None);
        assert!(w.contents(2).is_empty());
    }

    #[test]
    fn attributes_round_trip_through_the_row() {
        let mut o = obj(5, "x", Some(1));
        o.db.insert("hp".into(), serde_json::json!(12));
        let back = Object::from_model(o.to_model());
        assert_eq!(back, o);
    }
}
