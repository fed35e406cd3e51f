//! Creating and destroying objects from game code, synchronously: ids are
//! reserved in the database ahead of time, rows are written behind.
//!
//! ```
//! use tavern_server::create::NewObject;
//! use tavern_server::world::Kind;
//! # fn build(server: &mut tavern_server::Server, room: i64) -> Result<(), String> {
//! let lamp = server.create_object(
//!     NewObject::new(Kind::Thing, "brass lamp")
//!         .aliases(["lamp"])
//!         .desc("It hums faintly.")
//!         .location(room)
//!         .attr("lit", false),
//! )?;
//! # let _ = lamp; Ok(()) }
//! ```

use crate::model::locks::{LockError, character_locks, default_locks};
use crate::model::world::{AccountId, Attributes, Kind, ObjId, Object, Tag};
use crate::runtime::server::{Completion, Server};
use crate::store::{self, ID_BLOCK};

/// Why an object could not be created or destroyed. Its text is what to
/// tell a player; game code can branch on the variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    /// [`NewObject::typeclass`] names no registered typeclass.
    #[error("No typeclass named '{0}'.")]
    NoTypeclass(String),
    /// The name is empty.
    #[error("An object needs a name.")]
    NoName,
    /// A location, home or destination (or the object to destroy) does not exist.
    #[error("There is no object #{0}.")]
    NoObject(ObjId),
    /// A lock string does not parse.
    #[error("{0}")]
    Locks(#[from] LockError),
    /// More objects were made within a moment than ids were reserved; more
    /// are being reserved.
    #[error("The game is creating objects too fast; try again in a moment.")]
    OutOfIds,
    /// The start room is never destroyed.
    #[error("The start room cannot be destroyed.")]
    StartRoom,
    /// The object the code builds as this world id was destroyed in the
    /// game: it stays destroyed (see [`Server::ensure_object`]).
    #[error("The object built as '{0}' was destroyed in the game; it is not built again.")]
    Retired(String),
}

impl From<CreateError> for String {
    fn from(e: CreateError) -> Self {
        e.to_string()
    }
}

pub use crate::model::object::WORLD_ID;

/// What to create; see [`Server::create_object`].
#[derive(Debug, Clone)]
pub struct NewObject {
    /// Room, exit, character or thing.
    pub kind: Kind,
    /// The name.
    pub key: String,
    /// A registered typeclass name; None: the default for `kind`.
    pub typeclass: Option<String>,
    /// Other names it answers to.
    pub aliases: Vec<String>,
    /// Where it is (`None`: nowhere, like a character nobody plays).
    pub location: Option<ObjId>,
    /// Where `home` takes it (default: the start room).
    pub home: Option<ObjId>,
    /// Where an exit leads.
    pub destination: Option<ObjId>,
    /// The account that owns it (characters).
    pub account: Option<AccountId>,
    /// Its description.
    pub desc: String,
    /// Its tags.
    pub tags: Vec<Tag>,
    /// Its persistent attributes.
    pub attrs: Attributes,
    /// A lock string added to the typeclass's defaults.
    pub locks: String,
    /// Its permissions (characters).
    pub permissions: Vec<String>,
}

impl NewObject {
    /// A new object of a kind, with the kind's default typeclass.
    pub fn new(kind: Kind, key: impl Into<String>) -> Self {
        Self {
            kind,
            key: key.into(),
            typeclass: None,
            aliases: Vec::new(),
            location: None,
            home: None,
            destination: None,
            account: None,
            desc: String::new(),
            tags: Vec::new(),
            attrs: Attributes::new(),
            locks: String::new(),
            permissions: Vec::new(),
        }
    }

    /// A registered typeclass, by name (builders type these); its kind
    /// replaces `kind`. In game code prefer [`NewObject::of`].
    pub fn typeclass(mut self, name: &str) -> Self {
        self.typeclass = Some(name.to_string());
        self
    }

    /// An object of a typeclass given as a value, so a typo is a compile
    /// error: `NewObject::of(&Bell, "brass bell")`. It must be registered with
    /// the game ([`crate::Game::typeclass`]).
    pub fn of(tc: &dyn crate::runtime::typeclass::Typeclass, key: impl Into<String>) -> Self {
        Self::new(tc.kind(), key).typeclass(tc.name())
    }

    /// Other names it answers to.
    pub fn aliases<S: Into<String>>(mut self, aliases: impl IntoIterator<Item = S>) -> Self {
        self.aliases = aliases.into_iter().map(Into::into).collect();
        self
    }

    /// Where it is created.
    pub fn location(mut self, loc: ObjId) -> Self {
        self.location = Some(loc);
        self
    }

    /// Where `home` takes it.
    pub fn home(mut self, home: ObjId) -> Self {
        self.home = Some(home);
        self
    }

    /// Where an exit leads.
    pub fn destination(mut self, dest: ObjId) -> Self {
        self.destination = Some(dest);
        self
    }

    /// The account that owns it.
    pub fn account(mut self, account: AccountId) -> Self {
        self.account = Some(account);
        self
    }

    /// Its description.
    pub fn desc(mut self, desc: impl Into<String>) -> Self {
        self.desc = desc.into();
        self
    }

    /// Adds a tag (with an optional category).
    pub fn tag(mut self, key: &str, category: Option<&str>) -> Self {
        self.tags.push(Tag::new(key, category));
        self
    }

    /// Sets a persistent attribute (any serde value).
    pub fn attr(mut self, name: &str, value: impl serde::Serialize) -> Self {
        if let Ok(v) = serde_json::to_value(value) {
            self.attrs.insert(name.to_string(), v);
        }
        self
    }

    /// Locks on top of the typeclass's defaults, `type:expr;...`.
    pub fn locks(mut self, locks: &str) -> Self {
        self.locks = locks.to_string();
        self
    }
}

impl Server {
    /// Creates an object now: it is in the world when this returns, and in
    /// the database soon after (before any reload). Its typeclass's
    /// `at_object_creation` runs.
    pub fn create_object(&mut self, spec: NewObject) -> Result<ObjId, CreateError> {
        let tc = match &spec.typeclass {
            Some(name) => self
                .game
                .typeclasses
                .get(name)
                .ok_or_else(|| CreateError::NoTypeclass(name.clone()))?,
            None => self.game.typeclasses.default_for(spec.kind),
        };
        let kind = tc.kind();
        if spec.key.trim().is_empty() {
            return Err(CreateError::NoName);
        }
        for id in [spec.location, spec.home, spec.destination]
            .into_iter()
            .flatten()
        {
            if self.world.get(id).is_none() {
                return Err(CreateError::NoObject(id));
            }
        }
        let mut obj = Object::new(0, spec.key.trim(), tc.name(), kind);
        obj.created_at = self.now();
        obj.aliases = spec.aliases;
        obj.location = spec.location;
        obj.home = spec.home.or(match kind {
            Kind::Room | Kind::Exit => None,
            _ => Some(self.world.start_room),
        });
        obj.destination = spec.destination;
        obj.account = spec.account;
        obj.desc = spec.desc;
        obj.tags = spec.tags;
        obj.db = spec.attrs;
        obj.permissions = spec.permissions;
        obj.locks = default_locks(kind);
        let extra = [tc.locks(), spec.locks.as_str()];
        for l in extra.iter().filter(|l| !l.is_empty()) {
            obj.locks.add(l)?;
        }
        let Some(id) = self.world.create(obj) else {
            self.refill_ids();
            return Err(CreateError::OutOfIds);
        };
        if kind == Kind::Character {
            let account = spec.account.unwrap_or(0);
            let mut locks = character_locks(id, account);
            if !spec.locks.is_empty() {
                let _ = locks.add(&spec.locks);
            }
            self.world.update(id, |o| o.locks = locks);
        }
        self.refill_ids();
        self.hook(id, "at_object_creation", (), |tc, s| {
            tc.at_object_creation(s, id)
        });
        Ok(id)
    }

    /// Finds the object built from code as `world_id` (a tag in the category
    /// `world_id`), or creates it from `spec`. Building a game's world this
    /// way is idempotent: run it at every start, and what builders changed
    /// since stays changed — including a destroy: once the object built as
    /// `world_id` is destroyed, this returns [`CreateError::Retired`] and
    /// builds nothing (skip what depends on it; [`Server::ensure_kept`]
    /// says it as an `Option`). The `world_id` tag cannot be set or removed
    /// with the `tag` command, so builders cannot forge or orphan one.
    pub fn ensure_object(&mut self, world_id: &str, spec: NewObject) -> Result<ObjId, CreateError> {
        let world_id = world_id.trim().to_lowercase();
        if let Some(&id) = self.world.tagged(&world_id, Some(WORLD_ID)).first() {
            return Ok(id);
        }
        if self.world.is_retired(&world_id) {
            return Err(CreateError::Retired(world_id));
        }
        self.create_object(spec.tag(&world_id, Some(WORLD_ID)))
    }

    /// [`Server::ensure_object`], with an object destroyed in the game
    /// as `None`: `Some(id)` when it exists (found or made now).
    pub fn ensure_kept(
        &mut self,
        world_id: &str,
        spec: NewObject,
    ) -> Result<Option<ObjId>, CreateError> {
        match self.ensure_object(world_id, spec) {
            Ok(id) => Ok(Some(id)),
            Err(CreateError::Retired(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Destroys an object. What it held goes to its own home (or the start
    /// room); exits leading to it are destroyed too; sessions puppeting it are
    /// released. The start room cannot be destroyed.
    pub fn destroy_object(&mut self, obj: ObjId) -> Result<(), CreateError> {
        if obj == self.world.start_room {
            return Err(CreateError::StartRoom);
        }
        let Some(o) = self.world.get(obj) else {
            return Err(CreateError::NoObject(obj));
        };
        let name = o.key.clone();
        for s in self.sessions.puppeting(obj) {
            self.unpuppet(s);
            self.msg_session(
                s,
                format!("|r{name} was destroyed.|n You are out-of-character."),
            );
        }
        let contents: Vec<ObjId> = self.world.contents(obj).to_vec();
        let (own_exits, contents): (Vec<ObjId>, Vec<ObjId>) = contents
            .into_iter()
            .partition(|c| self.world.get(*c).is_some_and(|o| o.kind == Kind::Exit));
        for c in contents {
            let home = self
                .world
                .get(c)
                .and_then(|o| o.home)
                .filter(|h| *h != obj && self.world.get(*h).is_some())
                .unwrap_or(self.world.start_room);
            self.msg_obj(c, &format!("{name} is destroyed: you are sent home."));
            let _ = self.move_obj(c, Some(home), true);
        }
        let exits: Vec<ObjId> = self.world.exits_to(obj).to_vec();
        for e in exits.into_iter().chain(own_exits) {
            self.stop_scripts_on(e);
            self.world.delete(e);
            self.temp_cmdsets
                .remove(&crate::commands::Holder::Object(e));
        }
        self.stop_scripts_on(obj);
        self.world.delete(obj);
        self.temp_cmdsets
            .remove(&crate::commands::Holder::Object(obj));
        Ok(())
    }

    /// Reserves another block of object ids in the background when running low.
    pub(crate) fn refill_ids(&mut self) {
        if self.world.free_id_count() >= (ID_BLOCK / 2) as usize || self.refilling_ids {
            return;
        }
        self.refilling_ids = true;
        let db = self.db.clone();
        self.spawn_task(async move {
            let mut delay = std::time::Duration::from_millis(100);
            let first = loop {
                match store::reserve_ids(&db, ID_BLOCK).await {
                    Ok(first) => break first,
                    Err(e) => {
                        tracing::error!("cannot reserve object ids, retrying: {e}");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(std::time::Duration::from_secs(5));
                    }
                }
            };
            let done: Completion = Box::new(move |server: &mut Server| {
                server.refilling_ids = false;
                server.world.add_free_ids(first..first + ID_BLOCK);
            });
            done
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::typeclass::MoveError;
    use crate::testing::harness::harness;

    #[tokio::test]
    async fn game_code_can_tell_why_creating_or_moving_failed() {
        let mut h = harness().await;
        let s = &mut h.server;
        let room = s.world.start_room;
        assert_eq!(
            s.create_object(NewObject::new(Kind::Thing, "x").typeclass("dragon")),
            Err(CreateError::NoTypeclass("dragon".into()))
        );
        assert_eq!(
            s.create_object(NewObject::new(Kind::Thing, "  ")),
            Err(CreateError::NoName)
        );
        assert_eq!(
            s.create_object(NewObject::new(Kind::Thing, "x").location(999_999)),
            Err(CreateError::NoObject(999_999))
        );
        assert!(matches!(
            s.create_object(NewObject::new(Kind::Thing, "x").locks("get")),
            Err(CreateError::Locks(_))
        ));
        assert_eq!(s.destroy_object(room), Err(CreateError::StartRoom));
        let bag = s
            .create_object(NewObject::new(Kind::Thing, "bag").location(room))
            .unwrap();
        let box_id = s
            .create_object(NewObject::new(Kind::Thing, "box").location(bag))
            .unwrap();
        assert_eq!(
            s.move_obj(bag, Some(box_id), true),
            Err(MoveError::IntoItself)
        );
        assert_eq!(s.move_obj(bag, Some(bag), true), Err(MoveError::IntoItself));
        assert_eq!(
            s.move_obj(bag, Some(999_999), true),
            Err(MoveError::NoDestination(999_999))
        );
        assert_eq!(
            s.move_obj(999_998, Some(room), true),
            Err(MoveError::NoObject(999_998))
        );
        assert_eq!(s.move_obj(box_id, Some(room), true), Ok(()));
        // The text is what a player is told.
        assert_eq!(String::from(CreateError::NoName), "An object needs a name.");
    }
}
