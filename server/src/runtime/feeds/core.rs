//! Tavern's own packages, fed from conventional attributes of characters and
//! rooms. A game that keeps these figures elsewhere replaces a package with
//! its own [`Feed`] of the same name.
//!
//! | package | from |
//! |---|---|
//! | `Char.Base` | key; attributes `fullname`, `level`, `class`, `race` |
//! | `Char.Name` | key; attribute `fullname` |
//! | `Char.Vitals` | attributes `hp`, `maxhp`, `mana`, `maxmana`, `movement`, `maxmove` (numbers) |
//! | `Char.StatusVars`, `Char.Status` | the status variables (default: `level`, `class`, `race`, `gold`, `xp`) |
//! | `Room.Info` | the location: id, key, attributes `area`, `terrain`, `coord`; its exits |
//! | `Group.Info`, `Group.Members` | attribute `group` (a name) shared by characters; `group_leader` marks the leader |

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::Feed;
use crate::model::world::{IdMap, Kind, ObjId};
use crate::runtime::server::Server;

fn attr(server: &Server, obj: ObjId, name: &str) -> Option<Value> {
    server
        .world
        .get(obj)?
        .attr::<Value>(name)
        .filter(|v| !v.is_null())
}

/// Copies the attributes present on `obj` into a JSON object.
fn attrs(server: &Server, obj: ObjId, names: &[(&str, &str)], into: &mut Map<String, Value>) {
    for (key, attr_name) in names {
        if let Some(v) = attr(server, obj, attr_name) {
            into.insert(key.to_string(), v);
        }
    }
}

/// The MSDP pairs for fields of a snapshot that are present.
fn msdp_fields(snapshot: &Value, fields: &[(&str, &str)]) -> Vec<(String, Value)> {
    fields
        .iter()
        .filter_map(|(field, var)| Some((var.to_string(), snapshot.get(*field)?.clone())))
        .collect()
}

/// `Char.Base`: `{name, fullname, level, class, race}` (those the character has).
pub struct CharBase;

const BASE_ATTRS: &[(&str, &str)] = &[
    ("fullname", "fullname"),
    ("level", "level"),
    ("class", "class"),
    ("race", "race"),
];
const BASE_MSDP: &[(&str, &str)] = &[
    ("name", "CHARACTER_NAME"),
    ("level", "LEVEL"),
    ("class", "CLASS"),
    ("race", "RACE"),
];

impl Feed for CharBase {
    fn only_played(&self) -> bool {
        true
    }
    fn package(&self) -> &str {
        "Char.Base"
    }
    fn shows_attribute(&self, name: &str, ndb: bool) -> bool {
        !ndb && BASE_ATTRS.iter().any(|(_, a)| *a == name)
    }
    fn follows_location(&self) -> bool {
        false
    }
    fn snapshot(&self, server: &Server, puppet: ObjId) -> Option<Value> {
        let o = server.world.get(puppet)?;
        let mut m = Map::new();
        m.insert("name".into(), json!(o.key));
        attrs(server, puppet, BASE_ATTRS, &mut m);
        Some(Value::Object(m))
    }
    fn msdp(&self, snapshot: &Value) -> Vec<(String, Value)> {
        msdp_fields(snapshot, BASE_MSDP)
    }
    fn msdp_variables(&self) -> &[&str] {
        &["CHARACTER_NAME", "LEVEL", "CLASS", "RACE"]
    }
}

/// `Char.Name`: `{name, fullname}`.
pub struct CharName;

impl Feed for CharName {
    fn only_played(&self) -> bool {
        true
    }
    fn package(&self) -> &str {
        "Char.Name"
    }
    fn shows_attribute(&self, name: &str, ndb: bool) -> bool {
        !ndb && name == "fullname"
    }
    fn follows_location(&self) -> bool {
        false
    }
    fn snapshot(&self, server: &Server, puppet: ObjId) -> Option<Value> {
        let o = server.world.get(puppet)?;
        let fullname = attr(server, puppet, "fullname").unwrap_or_else(|| json!(o.key));
        Some(json!({"name": o.key, "fullname": fullname}))
    }
}

/// `Char.Vitals`: `{hp, maxhp, mana, maxmana, movement, maxmove}` as numbers;
/// nothing for a character with none of them.
pub struct CharVitals;

const VITALS: &[(&str, &str)] = &[
    ("hp", "hp"),
    ("maxhp", "maxhp"),
    ("mana", "mana"),
    ("maxmana", "maxmana"),
    ("movement", "movement"),
    ("maxmove", "maxmove"),
];
const VITALS_MSDP: &[(&str, &str)] = &[
    ("hp", "HEALTH"),
    ("maxhp", "HEALTH_MAX"),
    ("mana", "MANA"),
    ("maxmana", "MANA_MAX"),
    ("movement", "MOVEMENT"),
    ("maxmove", "MOVEMENT_MAX"),
];

impl Feed for CharVitals {
    fn only_played(&self) -> bool {
        true
    }
    fn package(&self) -> &str {
        "Char.Vitals"
    }
    fn shows_attribute(&self, name: &str, ndb: bool) -> bool {
        !ndb && VITALS.iter().any(|(_, a)| *a == name)
    }
    fn follows_location(&self) -> bool {
        false
    }
    fn snapshot(&self, server: &Server, puppet: ObjId) -> Option<Value> {
        let mut m = Map::new();
        for (key, name) in VITALS {
            if let Some(n) = attr(server, puppet, name).filter(Value::is_number) {
                m.insert(key.to_string(), n);
            }
        }
        (!m.is_empty()).then_some(Value::Object(m))
    }
    fn msdp(&self, snapshot: &Value) -> Vec<(String, Value)> {
        msdp_fields(snapshot, VITALS_MSDP)
    }
    fn msdp_variables(&self) -> &[&str] {
        &[
            "HEALTH",
            "HEALTH_MAX",
            "MANA",
            "MANA_MAX",
            "MOVEMENT",
            "MOVEMENT_MAX",
        ]
    }
}

/// The default status variables: attribute name and caption.
pub const DEFAULT_STATUS_VARS: &[(&str, &str)] = &[
    ("level", "Level"),
    ("class", "Class"),
    ("race", "Race"),
    ("gold", "Gold"),
    ("xp", "Experience"),
];

/// `Char.Status`: the status variables the character has; the whole set
/// first, then only what changed (IRE's convention).
#[derive(Clone)]
pub struct CharStatus {
    vars: Arc<Vec<(String, String)>>,
}

impl Default for CharStatus {
    fn default() -> Self {
        CharStatus::new(DEFAULT_STATUS_VARS)
    }
}

impl CharStatus {
    /// Status variables: `(attribute, caption)` pairs.
    pub fn new(vars: &[(&str, &str)]) -> Self {
        CharStatus {
            vars: Arc::new(
                vars.iter()
                    .map(|(a, c)| (a.to_string(), c.to_string()))
                    .collect(),
            ),
        }
    }

    /// `Char.StatusVars` for the same variables.
    pub fn status_vars(&self) -> CharStatusVars {
        CharStatusVars {
            vars: self.vars.clone(),
        }
    }
}

impl Feed for CharStatus {
    fn only_played(&self) -> bool {
        true
    }
    fn package(&self) -> &str {
        "Char.Status"
    }
    fn shows_attribute(&self, name: &str, ndb: bool) -> bool {
        !ndb && self.vars.iter().any(|(a, _)| a == name)
    }
    fn follows_location(&self) -> bool {
        false
    }
    fn snapshot(&self, server: &Server, puppet: ObjId) -> Option<Value> {
        let mut m = Map::new();
        for (name, _) in self.vars.iter() {
            if let Some(v) = attr(server, puppet, name) {
                m.insert(name.clone(), v);
            }
        }
        Some(Value::Object(m))
    }
    fn deltas(&self) -> bool {
        true
    }
}

/// `Char.StatusVars`: `{variable: caption}`, sent after login (and reloads).
pub struct CharStatusVars {
    vars: Arc<Vec<(String, String)>>,
}

impl Default for CharStatusVars {
    fn default() -> Self {
        CharStatus::default().status_vars()
    }
}

impl Feed for CharStatusVars {
    fn only_played(&self) -> bool {
        true
    }
    fn package(&self) -> &str {
        "Char.StatusVars"
    }
    fn follows_location(&self) -> bool {
        false
    }
    fn snapshot(&self, _server: &Server, _puppet: ObjId) -> Option<Value> {
        Some(Value::Object(
            self.vars
                .iter()
                .map(|(a, c)| (a.clone(), json!(c)))
                .collect(),
        ))
    }
    fn watches(&self, _server: &Server, _puppet: ObjId, _changed: ObjId) -> bool {
        false
    }
    /// The captions are the game's, not any object's.
    fn shows_attribute(&self, _name: &str, _ndb: bool) -> bool {
        false
    }
}

/// The attributes of a room that `Room.Info` shows.
const ROOM_ATTRS: &[(&str, &str)] = &[("area", "area"), ("terrain", "terrain"), ("coord", "coord")];

/// `Room.Info`: `{num, id, name, area, terrain, exits: {dir: num}, coord}` of
/// the character's location.
pub struct RoomInfo;

impl Feed for RoomInfo {
    fn package(&self) -> &str {
        "Room.Info"
    }
    fn shows_attribute(&self, name: &str, ndb: bool) -> bool {
        !ndb && ROOM_ATTRS.iter().any(|(_, a)| *a == name)
    }
    fn snapshot(&self, server: &Server, puppet: ObjId) -> Option<Value> {
        let room_id = server.world.get(puppet)?.location?;
        let room = server.world.get(room_id)?;
        let mut m = Map::new();
        m.insert("num".into(), json!(room.id));
        m.insert("id".into(), json!(format!("#{}", room.id)));
        m.insert("name".into(), json!(room.key));
        attrs(server, room_id, ROOM_ATTRS, &mut m);
        // The exits that lead somewhere are among what the room offers
        // (indexed, by id): the room's things, however many, are not read.
        let exits: Map<String, Value> = server
            .world
            .offering(room_id)
            .iter()
            .filter_map(|&e| server.world.get(e))
            .filter(|e| e.kind == Kind::Exit)
            .filter_map(|e| Some((e.key.clone(), json!(e.destination?))))
            .collect();
        m.insert("exits".into(), Value::Object(exits));
        Some(Value::Object(m))
    }
    fn watches(&self, server: &Server, puppet: ObjId, changed: ObjId) -> bool {
        let room = server.world.get(puppet).and_then(|p| p.location);
        changed == puppet
            || Some(changed) == room
            || server
                .world
                .get(changed)
                .is_some_and(|c| c.kind == Kind::Exit && c.location == room)
    }
    fn msdp(&self, snapshot: &Value) -> Vec<(String, Value)> {
        msdp_fields(
            snapshot,
            &[
                ("num", "ROOM_VNUM"),
                ("name", "ROOM_NAME"),
                ("area", "ROOM_AREA"),
                ("terrain", "ROOM_TERRAIN"),
                ("exits", "ROOM_EXITS"),
            ],
        )
    }
    fn msdp_variables(&self) -> &[&str] {
        &[
            "ROOM_VNUM",
            "ROOM_NAME",
            "ROOM_AREA",
            "ROOM_TERRAIN",
            "ROOM_EXITS",
        ]
    }
}

/// The group a character is in (attribute `group`).
pub(crate) fn group_of(server: &Server, obj: ObjId) -> Option<String> {
    server
        .world
        .get(obj)?
        .attr::<String>("group")
        .filter(|g| !g.is_empty())
}

/// Who is in which group, as the feeds last read the `group` attribute: a
/// feed pass reads it for every object it was touched in (a change of the
/// attribute touches the object) and for the character of every fresh
/// session (a login, a puppet change, a reload), so every character played
/// is in it as it is now. A group's members are read from it, never by
/// walking every session.
#[derive(Default)]
pub(crate) struct Roster {
    group: IdMap<ObjId, String>,
    members: HashMap<String, BTreeSet<ObjId>>,
}

impl Roster {
    /// The group `obj` is in, as last read.
    pub(crate) fn group(&self, obj: ObjId) -> Option<&String> {
        self.group.get(&obj)
    }

    /// Records the group `obj` is in now.
    pub(crate) fn set(&mut self, obj: ObjId, now: Option<String>) {
        if self.group.get(&obj) == now.as_ref() {
            return;
        }
        let before = match now {
            Some(g) => {
                self.members.entry(g.clone()).or_default().insert(obj);
                self.group.insert(obj, g)
            }
            None => self.group.remove(&obj),
        };
        if let Some(b) = before
            && let Some(m) = self.members.get_mut(&b)
        {
            m.remove(&obj);
            if m.is_empty() {
                self.members.remove(&b);
            }
        }
    }

    /// The objects in `group`, by id (played or not).
    pub(crate) fn members(&self, group: &str) -> impl Iterator<Item = ObjId> + '_ {
        self.members.get(group).into_iter().flatten().copied()
    }
}

/// The characters, among those played now, in a group: leader first, then by name.
fn members(server: &Server, group: &str) -> Vec<ObjId> {
    let mut ids: Vec<ObjId> = server
        .feed_roster
        .members(group)
        .filter(|&p| server.sessions.is_puppeted(p))
        .collect();
    let leads = |id: &ObjId| attr(server, *id, "group_leader") == Some(json!(true));
    let name = |id: &ObjId| server.world.get(*id).map(|o| o.key.clone());
    ids.sort_by_key(|id| (!leads(id), name(id)));
    ids
}

/// The attributes that say who is in a group and who leads it.
const GROUP_ATTRS: [&str; 2] = ["group", "group_leader"];

/// What `Group.Members` shows of each member: its key and these attributes.
const MEMBER_INFO: &[(&str, &str)] = &[
    ("hp", "hp"),
    ("mhp", "maxhp"),
    ("mn", "mana"),
    ("mmn", "maxmana"),
    ("mv", "movement"),
    ("mmv", "maxmove"),
    ("lvl", "level"),
];

/// A change to the character, or to a member of its group now or before the
/// change (one who just left). Asked during a feed pass, when the roster is
/// right for every character played (a group's members are such).
fn watches_group(server: &Server, puppet: ObjId, changed: ObjId) -> bool {
    let roster = &server.feed_roster;
    if changed == puppet {
        // One in no group, now or before this change, has empty group
        // packages that stay so: a walker outside any group costs no snapshot.
        return roster.group(puppet).is_some() || server.feed_pass_before.contains_key(&puppet);
    }
    if !server.feed_pass_grouped {
        return false; // nothing touched is or was in a group
    }
    roster.group(puppet).is_some_and(|g| {
        roster.group(changed) == Some(g) || server.feed_pass_before.get(&changed) == Some(g)
    })
}

/// `Group.Info`: `{groupname, leader, count}`.
pub struct GroupInfo;

impl Feed for GroupInfo {
    fn only_played(&self) -> bool {
        true
    }
    fn package(&self) -> &str {
        "Group.Info"
    }
    /// Who is in the group and who leads it: nothing of where anyone is.
    fn follows_location(&self) -> bool {
        false
    }
    fn snapshot(&self, server: &Server, puppet: ObjId) -> Option<Value> {
        let Some(group) = group_of(server, puppet) else {
            return Some(json!({}));
        };
        let ids = members(server, &group);
        let leader = ids
            .first()
            .and_then(|id| server.world.get(*id))
            .map(|o| o.key.clone());
        Some(json!({"groupname": group, "leader": leader, "count": ids.len()}))
    }
    fn shows_attribute(&self, name: &str, ndb: bool) -> bool {
        !ndb && GROUP_ATTRS.contains(&name)
    }
    fn watches(&self, server: &Server, puppet: ObjId, changed: ObjId) -> bool {
        watches_group(server, puppet, changed)
    }
}

/// `Group.Members`: `[{name, info: {hp, mhp, mn, mmn, mv, mmv, lvl, here}}]`
/// (Aardwolf's shape), the character's own entry included.
pub struct GroupMembers;

impl Feed for GroupMembers {
    fn only_played(&self) -> bool {
        true
    }
    fn package(&self) -> &str {
        "Group.Members"
    }
    fn snapshot(&self, server: &Server, puppet: ObjId) -> Option<Value> {
        let Some(group) = group_of(server, puppet) else {
            return Some(json!([]));
        };
        let here = server.world.get(puppet).and_then(|p| p.location);
        let list = members(server, &group)
            .into_iter()
            .filter_map(|id| {
                let o = server.world.get(id)?;
                let mut info = Map::new();
                attrs(server, id, MEMBER_INFO, &mut info);
                info.insert("here".into(), json!(u8::from(o.location == here)));
                Some(json!({"name": o.key, "info": info}))
            })
            .collect();
        Some(Value::Array(list))
    }
    fn shows_attribute(&self, name: &str, ndb: bool) -> bool {
        !ndb && (GROUP_ATTRS.contains(&name) || MEMBER_INFO.iter().any(|(_, a)| *a == name))
    }
    fn watches(&self, server: &Server, puppet: ObjId, changed: ObjId) -> bool {
        watches_group(server, puppet, changed)
    }
}
