//! Typeclasses: the kinds of objects a game defines, with Rust hooks.
//!
//! Every object stores the name of its typeclass. A typeclass is a type that
//! implements [`Typeclass`]: a name, a base [`Kind`] (room, exit, character,
//! thing), optional commands it gives to those near it, and hooks the server
//! calls at the moments Evennia calls them. Each hook has a default; an
//! override that wants the default as well calls the matching function of
//! [`defaults`].
//!
//! ```
//! use tavern_server::typeclass::{Typeclass, defaults};
//! use tavern_server::world::{Kind, ObjId};
//! use tavern_server::Server;
//!
//! /// A character who hums after every sentence.
//! struct Bard;
//!
//! impl Typeclass for Bard {
//!     fn name(&self) -> &str { "bard" }
//!     fn kind(&self) -> Kind { Kind::Character }
//!     fn at_say(&self, server: &mut Server, speaker: ObjId, message: &str) {
//!         defaults::say(server, speaker, &format!("{message} (hums)"));
//!     }
//! }
//! ```
//!
//! An object whose typeclass name is not registered (the game removed it)
//! behaves as the default typeclass of its kind, and the server warns once at
//! start.

use std::collections::HashMap;
use std::sync::Arc;

use tavern_shared::SessId;

use crate::commands::CmdSet;
use crate::model::world::{AccountId, Kind, ObjId};
use crate::runtime::server::Server;

/// A kind of object, with the hooks the server calls. Only `name` and `kind`
/// are required.
#[allow(unused_variables)]
pub trait Typeclass: std::any::Any + Send + Sync {
    /// The name stored with each object of this kind. Keep it stable.
    fn name(&self) -> &str;
    /// What the server treats it as.
    fn kind(&self) -> Kind;
    /// Commands this kind of object offers to whoever is near it or carries it
    /// (subject to its `call` lock), like a tree's `climb`.
    fn cmdset(&self) -> Option<CmdSet> {
        None
    }
    /// Locks a new object of this kind starts with, on top of its kind's defaults.
    fn locks(&self) -> &str {
        ""
    }
    /// Once, when the object is created.
    fn at_object_creation(&self, server: &mut Server, obj: ObjId) {}
    /// Before a session takes control; an `Err` refuses with that message.
    fn at_pre_puppet(&self, server: &mut Server, obj: ObjId, sessid: SessId) -> Result<(), String> {
        Ok(())
    }
    /// After a session took control: by default, announce and look around.
    fn at_post_puppet(&self, server: &mut Server, obj: ObjId, sessid: SessId) {
        defaults::post_puppet(server, obj, sessid)
    }
    /// After a session let go: by default, when nobody controls it any more,
    /// it leaves the world until played again.
    fn at_post_unpuppet(&self, server: &mut Server, obj: ObjId, sessid: SessId) {
        defaults::post_unpuppet(server, obj, sessid)
    }
    /// What `looker` sees when looking at the object.
    fn return_appearance(&self, server: &Server, obj: ObjId, looker: ObjId) -> String {
        defaults::appearance(server, obj, looker)
    }
    /// The object says something (the `say` command calls this).
    fn at_say(&self, server: &mut Server, speaker: ObjId, message: &str) {
        defaults::say(server, speaker, message)
    }
    /// Before the object moves; `false` stops the move. Tell the mover why
    /// (`server.msg_obj(obj, ...)`): through an exit, what it said is the
    /// whole answer; if it says nothing, "You cannot go that way."
    fn at_pre_move(&self, server: &mut Server, obj: ObjId, destination: Option<ObjId>) -> bool {
        true
    }
    /// After the object moved: by default, whoever controls it looks around.
    fn at_post_move(&self, server: &mut Server, obj: ObjId, source: Option<ObjId>) {
        defaults::post_move(server, obj, source)
    }
    /// Something arrived inside this object (a room or a container).
    fn at_object_receive(
        &self,
        server: &mut Server,
        obj: ObjId,
        arrived: ObjId,
        source: Option<ObjId>,
    ) {
    }
    /// Something is leaving this object.
    fn at_object_leave(
        &self,
        server: &mut Server,
        obj: ObjId,
        leaving: ObjId,
        destination: Option<ObjId>,
    ) {
    }
    /// An exit is traversed by `traveller` (exits only): by default, move.
    fn at_traverse(&self, server: &mut Server, exit: ObjId, traveller: ObjId) {
        defaults::traverse(server, exit, traveller)
    }
    /// Every time a server starts (cold start, reload, reset or after a crash).
    fn at_server_start(&self, server: &mut Server, obj: ObjId) {}
    /// On the old server, just before a reload or reset hands over.
    fn at_server_reload(&self, server: &mut Server, obj: ObjId) {}
    /// Before a shutdown.
    fn at_server_shutdown(&self, server: &mut Server, obj: ObjId) {}
}

/// The kind of account a game has (Evennia's BASE_ACCOUNT_TYPECLASS): hooks
/// for an account's life. One per game, set with
/// [`Game::account_typeclass`](crate::Game::account_typeclass).
#[allow(unused_variables)]
pub trait AccountTypeclass: Send + Sync + 'static {
    /// The name (for logs; there is one account typeclass per game).
    fn name(&self) -> &str;
    /// Once, when the account is created (after it is stored).
    fn at_account_creation(&self, server: &mut Server, account: AccountId) {}
    /// After a session logged in: by default, puppet the last character
    /// (with `auto_puppet_on_login`) or show the out-of-character screen.
    fn at_post_login(&self, server: &mut Server, account: AccountId, sessid: SessId) {
        defaults::post_login(server, account, sessid)
    }
    /// A session of the account disconnected (its puppet is already released).
    fn at_disconnect(&self, server: &mut Server, account: AccountId, sessid: SessId) {}
}

/// The default account.
pub struct DefaultAccount;

impl AccountTypeclass for DefaultAccount {
    fn name(&self) -> &str {
        "account"
    }
}

macro_rules! base_typeclass {
    ($(#[$doc:meta])* $name:ident, $key:literal, $kind:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl Typeclass for $name {
            fn name(&self) -> &str {
                $key
            }
            fn kind(&self) -> Kind {
                $kind
            }
        }
    };
}

base_typeclass!(
    /// The default room.
    DefaultRoom,
    "room",
    Kind::Room
);
base_typeclass!(
    /// The default exit.
    DefaultExit,
    "exit",
    Kind::Exit
);
base_typeclass!(
    /// The default character.
    DefaultCharacter,
    "character",
    Kind::Character
);
base_typeclass!(
    /// The default thing.
    DefaultObject,
    "thing",
    Kind::Thing
);

struct Registered {
    typeclass: Arc<dyn Typeclass>,
    cmdset: Option<Arc<CmdSet>>,
}

/// The game's typeclasses, by name, with a default for each kind.
#[derive(Clone)]
pub struct Typeclasses {
    /// FxHash: looked up on every command (the puppet's typeclass set, hooks).
    by_name: rustc_hash::FxHashMap<String, Arc<Registered>>,
    defaults: HashMap<Kind, String>,
}

impl Default for Typeclasses {
    fn default() -> Self {
        let mut t = Self {
            by_name: Default::default(),
            defaults: HashMap::new(),
        };
        for (tc, kind) in [
            (Arc::new(DefaultRoom) as Arc<dyn Typeclass>, Kind::Room),
            (Arc::new(DefaultExit), Kind::Exit),
            (Arc::new(DefaultCharacter), Kind::Character),
            (Arc::new(DefaultObject), Kind::Thing),
        ] {
            t.defaults.insert(kind, tc.name().to_string());
            t.add(tc);
        }
        t
    }
}

impl Typeclasses {
    /// Registers a typeclass (replacing one of the same name).
    pub fn add(&mut self, tc: Arc<dyn Typeclass>) {
        let cmdset = tc.cmdset().map(Arc::new);
        self.by_name.insert(
            tc.name().to_lowercase(),
            Arc::new(Registered {
                typeclass: tc,
                cmdset,
            }),
        );
    }

    /// Makes a registered typeclass the one new objects of its kind get.
    pub fn set_default(&mut self, name: &str) {
        if let Some(r) = self.by_name.get(&name.to_lowercase()) {
            self.defaults
                .insert(r.typeclass.kind(), r.typeclass.name().to_string());
        }
    }

    /// The typeclass new objects of `kind` get.
    pub fn default_for(&self, kind: Kind) -> Arc<dyn Typeclass> {
        let name = self.defaults.get(&kind).map(String::as_str).unwrap_or("");
        self.get(name)
            .unwrap_or_else(|| self.by_name[kind.as_str()].typeclass.clone())
    }

    /// The typeclass registered under a name.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Typeclass>> {
        self.named(name).map(|r| r.typeclass.clone())
    }

    /// A registration by name, without case. Names are kept lowercase, and
    /// most names asked for are: those find it without a lowercase copy (this
    /// runs for every hook of every command).
    fn named(&self, name: &str) -> Option<&Arc<Registered>> {
        self.by_name.get(name).or_else(|| {
            name.chars()
                .any(char::is_uppercase)
                .then(|| self.by_name.get(&name.to_lowercase()))
                .flatten()
        })
    }

    /// The typeclass for a stored name, falling back to the kind's default.
    pub fn resolve(&self, name: &str, kind: Kind) -> Arc<dyn Typeclass> {
        match self.named(name) {
            Some(r) if r.typeclass.kind() == kind => r.typeclass.clone(),
            _ => self.default_for(kind),
        }
    }

    /// The commands objects of this typeclass offer.
    pub fn cmdset(&self, name: &str) -> Option<Arc<CmdSet>> {
        self.named(name)?.cmdset.clone()
    }

    /// Whether objects stored with this typeclass name and kind carry a
    /// cmdset of their own (what [`Typeclasses::resolve`] finds).
    pub fn offers_commands(&self, name: &str, kind: Kind) -> bool {
        let tc = self.resolve(name, kind);
        self.named(tc.name()).is_some_and(|r| r.cmdset.is_some())
    }

    /// Every registered name with its kind, sorted.
    pub fn list(&self) -> Vec<(String, Kind)> {
        let mut v: Vec<_> = self
            .by_name
            .values()
            .map(|r| (r.typeclass.name().to_string(), r.typeclass.kind()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

impl Server {
    /// Runs an account hook, catching a panic in game code.
    pub fn account_hook(
        &mut self,
        what: &'static str,
        f: impl FnOnce(&dyn AccountTypeclass, &mut Server),
    ) {
        let tc = self.game.account_typeclass.clone();
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(tc.as_ref(), self))).is_err()
        {
            tracing::error!(hook = what, "an account hook panicked");
        }
    }

    /// The typeclass an object behaves as.
    pub fn typeclass_of(&self, obj: ObjId) -> Arc<dyn Typeclass> {
        match self.world.get(obj) {
            Some(o) => self.game.typeclasses.resolve(&o.typeclass, o.kind),
            None => Arc::new(DefaultObject),
        }
    }

    /// The object's typeclass as the Rust type `T`, when it is one: game
    /// code calls its own methods on it, no string compared.
    ///
    /// ```ignore
    /// if let Some(chair) = server.typeclass_as::<Chair>(id) {
    ///     chair.sit(server, id, who);
    /// }
    /// ```
    pub fn typeclass_as<T: Typeclass>(&self, obj: ObjId) -> Option<Arc<T>> {
        let any: Arc<dyn std::any::Any + Send + Sync> = self.typeclass_of(obj);
        any.downcast::<T>().ok()
    }

    /// Whether the object is of the typeclass `tc` (`server.is_a(id, &Chair)`).
    pub fn is_a(&self, obj: ObjId, tc: &dyn Typeclass) -> bool {
        self.world
            .get(obj)
            .is_some_and(|o| o.typeclass.eq_ignore_ascii_case(tc.name()))
    }

    /// Every object of the typeclass `tc`, by id (through the world's index).
    pub fn objects_of(&self, tc: &dyn Typeclass) -> &[ObjId] {
        self.world.of_typeclass(tc.name())
    }

    /// Runs `f` with the object's typeclass, catching a panic in game code so
    /// one bad hook cannot stop the server.
    pub fn hook<R>(
        &mut self,
        obj: ObjId,
        what: &'static str,
        fallback: R,
        f: impl FnOnce(&dyn Typeclass, &mut Server) -> R,
    ) -> R {
        let tc = self.typeclass_of(obj);
        self.hook_of(&tc, obj, what, fallback, f)
    }

    /// A hook of `tc` run for `obj`; a panic is logged and gives `fallback`.
    fn hook_of<R>(
        &mut self,
        tc: &Arc<dyn Typeclass>,
        obj: ObjId,
        what: &'static str,
        fallback: R,
        f: impl FnOnce(&dyn Typeclass, &mut Server) -> R,
    ) -> R {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(tc.as_ref(), self))) {
            Ok(r) => r,
            Err(_) => {
                tracing::error!(
                    obj,
                    typeclass = tc.name(),
                    hook = what,
                    "a typeclass hook panicked"
                );
                fallback
            }
        }
    }

    /// Runs a hook of every object (start, reload, shutdown), object by
    /// object as [`Server::hook`] does, but resolving each typeclass once
    /// for all its objects (by the world's typeclass index) rather than
    /// once an object: a big world's start and stop.
    pub(crate) fn hook_every_object(
        &mut self,
        what: &'static str,
        f: impl Fn(&dyn Typeclass, &mut Server, ObjId),
    ) {
        for (name, ids) in self.world.by_typeclass() {
            // Resolved by kind: a stored name of another kind's typeclass
            // falls back to the kind's default, as `resolve` says.
            let mut by_kind: [Option<Arc<dyn Typeclass>>; 4] = Default::default();
            for id in ids {
                let Some(kind) = self.world.get(id).map(|o| o.kind) else {
                    continue;
                };
                let slot = kind as usize;
                let tc = match &by_kind[slot] {
                    Some(tc) => tc.clone(),
                    None => {
                        let tc = self.game.typeclasses.resolve(&name, kind);
                        by_kind[slot] = Some(tc.clone());
                        tc
                    }
                };
                self.hook_of(&tc, id, what, (), |tc, s| f(tc, s, id));
            }
        }
    }

    /// What `looker` sees looking at `target`, through its typeclass.
    pub fn appearance(&self, target: ObjId, looker: ObjId) -> String {
        let tc = self.typeclass_of(target);
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tc.return_appearance(self, target, looker)
        }))
        .unwrap_or_else(|_| {
            tracing::error!(target, "return_appearance panicked");
            defaults::appearance(self, target, looker)
        })
    }
}

/// The default behaviour of each hook, for overrides that add to it.
pub mod defaults {
    use super::*;
    use crate::runtime::actions::push_list_and;

    /// Puppets the last character played (`auto_puppet_on_login`), else
    /// shows the out-of-character screen.
    pub fn post_login(server: &mut Server, account: AccountId, sessid: SessId) {
        let last = server
            .world
            .accounts
            .get(&account)
            .and_then(|a| a.last_puppet)
            .filter(|p| server.world.get(*p).is_some());
        if server.settings.server.auto_puppet_on_login
            && let Some(p) = last
        {
            match server.puppet(sessid, p) {
                Ok(()) => return,
                Err(e) => server.msg_session(sessid, e),
            }
        }
        server.msg_session(sessid, crate::runtime::actions::OOC_MSG);
        let look = server.ooc_appearance(account, sessid);
        server.msg_session(sessid, look);
    }

    /// Announces the arrival in the world (when nobody else controlled the
    /// object) and shows the player where they are.
    pub fn post_puppet(server: &mut Server, obj: ObjId, sessid: SessId) {
        let Some(o) = server.world.get(obj) else {
            return;
        };
        let key = o.key.clone();
        server.msg_session(sessid, format!("\nYou become |c{key}|n.\n"));
        if server.sessions.puppeting(obj).len() == 1
            && let Some(loc) = server.world.get(obj).and_then(|o| o.location)
        {
            server.msg_location(loc, &format!("{key} has entered the game."), &[obj]);
        }
        if let Some(loc) = server.world.get(obj).and_then(|o| o.location) {
            let look = server.appearance(loc, obj);
            server.msg_session(sessid, look);
        }
    }

    /// When nobody controls the object any more, it leaves the world and
    /// remembers where it was.
    pub fn post_unpuppet(server: &mut Server, obj: ObjId, _sessid: SessId) {
        if !server.sessions.puppeting(obj).is_empty() {
            return;
        }
        let Some(o) = server.world.get(obj) else {
            return;
        };
        let (key, loc) = (o.key.clone(), o.location);
        if let Some(loc) = loc {
            server.msg_location(loc, &format!("{key} has left the game."), &[obj]);
            server.world.update(obj, |o| {
                o.db.insert("prelogout_location".into(), loc.into());
            });
            server.world.move_to(obj, None);
        }
    }

    /// Name, description, then exits, characters and things (what `looker` may see).
    pub fn appearance(server: &Server, target: ObjId, looker: ObjId) -> String {
        let Some(t) = server.world.get(target) else {
            return "You see nothing special.".into();
        };
        let mut out = format!("|c{}|n", t.key);
        if !t.desc.is_empty() {
            out.push('\n');
            out.push_str(&t.desc);
        }
        let mut exits = Vec::new();
        let mut characters = Vec::new();
        let mut things = Vec::new();
        // Whether the looker is a superuser is asked once for the room.
        let checker = server.lock_checker(crate::model::locks::Accessor::object(looker));
        // Every object found first, then each read: the reads of a room of
        // many things wait on memory, and found apart they overlap.
        let here: Vec<&crate::model::world::Object> = server
            .world
            .contents(target)
            .iter()
            .filter(|&&id| id != looker)
            .filter_map(|&id| server.world.get(id))
            .collect();
        for o in here {
            // The object in hand: `access` would find it again by id.
            if !checker.passes(o, "view", true) {
                continue;
            }
            match o.kind {
                Kind::Exit => exits.push(o.key.as_str()),
                Kind::Character => characters.push(o.key.as_str()),
                _ => things.push(o.key.as_str()),
            }
        }
        for (label, names) in [
            ("Exits", exits),
            ("Characters", characters),
            ("You see", things),
        ] {
            if !names.is_empty() {
                out.push_str("\n|w");
                out.push_str(label);
                out.push_str(":|n ");
                push_list_and(&mut out, &names);
            }
        }
        out
    }

    /// `You say, "..."` to the speaker, `Name says, "..."` to the room.
    pub fn say(server: &mut Server, speaker: ObjId, message: &str) {
        let Some(o) = server.world.get(speaker) else {
            return;
        };
        let (name, loc) = (o.key.clone(), o.location);
        let template = format!(
            "$You() $conj(say), \"{}|n\"",
            crate::runtime::funcparser::escape_inline(message)
        );
        match loc {
            Some(loc) => server.msg_contents(loc, &template, Some(speaker), &[], &[]),
            None => {
                let text = server.render_inline(&template, Some(speaker), Some(speaker), &[]);
                server.msg_obj(speaker, &text);
            }
        }
        // Clients with a chat window get it as channel text too (IRE's "say" channel).
        let hearers = match loc {
            Some(loc) => server.sessions_in(loc),
            None => server.sessions.puppeting(speaker),
        };
        server.channel_text(&hearers, "say", &name, message);
    }

    /// Whoever controls the object looks around its new location.
    pub fn post_move(server: &mut Server, obj: ObjId, _source: Option<ObjId>) {
        let Some(loc) = server.world.get(obj).and_then(|o| o.location) else {
            return;
        };
        if server.sessions.puppeting(obj).is_empty() {
            return;
        }
        let look = server.appearance(loc, obj);
        server.msg_obj(obj, &look);
    }

    /// Moves the traveller to the exit's destination, announcing it.
    pub fn traverse(server: &mut Server, exit: ObjId, traveller: ObjId) {
        let Some(dest) = server.world.get(exit).and_then(|e| e.destination) else {
            server.msg_obj(traveller, "That exit leads nowhere.");
            return;
        };
        let before = server.messages_sent;
        match server.move_obj(traveller, Some(dest), false) {
            Ok(()) => {}
            // An `at_pre_move` that said why is the whole answer.
            Err(MoveError::Refused) if server.messages_sent != before => {}
            Err(_) => server.msg_obj(traveller, "You cannot go that way."),
        }
    }
}

/// Why an object did not move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    /// The object does not exist.
    #[error("There is no object #{0}.")]
    NoObject(ObjId),
    /// The destination does not exist.
    #[error("There is no place #{0}.")]
    NoDestination(ObjId),
    /// The destination is the object, or inside it.
    #[error("Nothing can be put inside itself.")]
    IntoItself,
    /// Its `at_pre_move` said no (and said why, if it wanted to).
    #[error("It does not move.")]
    Refused,
}

impl Server {
    /// Moves an object with its hooks: the mover's `at_pre_move` may refuse;
    /// the old location hears `at_object_leave`, the new one
    /// `at_object_receive`, the mover `at_post_move`. Unless `quiet`, both
    /// rooms are told.
    pub fn move_obj(
        &mut self,
        obj: ObjId,
        dest: Option<ObjId>,
        quiet: bool,
    ) -> Result<(), MoveError> {
        let Some(o) = self.world.get(obj) else {
            return Err(MoveError::NoObject(obj));
        };
        if let Some(d) = dest {
            if self.world.get(d).is_none() {
                return Err(MoveError::NoDestination(d));
            }
            if self.contains(obj, d) {
                return Err(MoveError::IntoItself);
            }
        }
        let (source, name) = (o.location, o.key.clone());
        if !self.hook(obj, "at_pre_move", false, |tc, s| {
            tc.at_pre_move(s, obj, dest)
        }) {
            return Err(MoveError::Refused);
        }
        let key_of = |s: &Server, id: Option<ObjId>| {
            id.and_then(|i| s.world.get(i))
                .map(|o| o.key.clone())
                .unwrap_or_else(|| "nowhere".into())
        };
        let (from_name, to_name) = (key_of(self, source), key_of(self, dest));
        if let Some(src) = source {
            if !quiet {
                self.msg_location(
                    src,
                    &format!("{name} is leaving {from_name}, heading for {to_name}."),
                    &[obj],
                );
            }
            self.hook(src, "at_object_leave", (), |tc, s| {
                tc.at_object_leave(s, src, obj, dest)
            });
        }
        self.world.move_to(obj, dest);
        if let Some(d) = dest {
            if !quiet {
                self.msg_location(
                    d,
                    &format!("{name} arrives to {to_name} from {from_name}."),
                    &[obj],
                );
            }
            self.hook(d, "at_object_receive", (), |tc, s| {
                tc.at_object_receive(s, d, obj, source)
            });
        }
        self.hook(obj, "at_post_move", (), |tc, s| {
            tc.at_post_move(s, obj, source)
        });
        Ok(())
    }

    /// Whether `outer` is `inner` or contains it, at any depth (moving a box
    /// into itself is refused).
    pub fn contains(&self, outer: ObjId, inner: ObjId) -> bool {
        let mut cur = Some(inner);
        let mut steps = 0;
        while let Some(c) = cur {
            if c == outer {
                return true;
            }
            steps += 1;
            if steps > 10_000 {
                return true;
            }
            cur = self.world.get(c).and_then(|o| o.location);
        }
        false
    }
}
