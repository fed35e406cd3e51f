//! The template game's own live-data package, next to Tavern's (`Char.Vitals`,
//! `Room.Info`, ...): a client widget can show how often the bell in the room
//! has rung.

use serde_json::{Value, json};
use tavern_server::feeds::Feed;
use tavern_server::{ObjId, Server};

use crate::typeclasses::Bell;

/// GMCP `Tavern.Bell` `{rings}` (MSDP `BELL_RINGS`): the bell in the
/// character's room; nothing where there is no bell.
pub struct BellFeed;

impl BellFeed {
    /// The bell in the puppet's room: found through the index of objects
    /// by typeclass (a game has few bells), never by looking through a
    /// room that may hold a thousand players.
    fn bell_near(server: &Server, puppet: ObjId) -> Option<ObjId> {
        let room = server.world.get(puppet)?.location?;
        let bell_name = tavern_server::Typeclass::name(&Bell);
        server
            .world
            .of_typeclass(bell_name)
            .iter()
            .copied()
            .find(|&id| {
                server
                    .world
                    .get(id)
                    .is_some_and(|o| o.location == Some(room))
            })
    }
}

impl Feed for BellFeed {
    fn package(&self) -> &str {
        "Tavern.Bell"
    }

    fn snapshot(&self, server: &Server, puppet: ObjId) -> Option<Value> {
        let bell = Self::bell_near(server, puppet)?;
        let rings = server.world.get(bell)?.attr::<i64>("rings").unwrap_or(0);
        Some(json!({ "rings": rings }))
    }

    /// The bell itself, and the character (who may walk to or from it).
    /// The puppet, or a bell in its room: asked for every change near every
    /// player after every event, so it looks at the changed object only.
    fn watches(&self, server: &Server, puppet: ObjId, changed: ObjId) -> bool {
        if changed == puppet {
            return true;
        }
        let bell_name = tavern_server::Typeclass::name(&Bell);
        let room = server.world.get(puppet).and_then(|p| p.location);
        server
            .world
            .get(changed)
            .is_some_and(|c| c.typeclass == bell_name && room.is_some() && c.location == room)
    }

    /// Of the attributes of what it watches, only the bell's `rings`: a
    /// change of any other (a fighter's blow counter, say) is passed over
    /// without asking it. Without this, every attribute would count.
    fn shows_attribute(&self, name: &str, ndb: bool) -> bool {
        !ndb && name == "rings"
    }

    fn msdp(&self, snapshot: &Value) -> Vec<(String, Value)> {
        vec![("BELL_RINGS".into(), snapshot["rings"].clone())]
    }

    fn msdp_variables(&self) -> &[&str] {
        &["BELL_RINGS"]
    }
}
