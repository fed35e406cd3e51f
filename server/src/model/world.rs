//! The world in memory: objects, accounts, help topics and flow instances,
//! with a location index. Changes mark what they change; [`World::take_changes`]
//! hands the store copies of what changed, to write behind, in order.

use std::collections::{BTreeSet, VecDeque};

pub use super::ids::{AccountId, IdMap, Kind, ObjId, SessId, Timestamp};
use super::index::Indexes;
pub use super::index::{TypeclassOffers, name_key};
pub use super::object::{Account, Attributes, Object, Tag, WORLD_ID};
pub use super::search::{Search, SearchError};
pub use super::touches::AttrTouches;
use crate::model::channels::{ChannelChanges, Channels};
use crate::model::flows::FlowInstance;
use crate::model::timers::{TimerRecord, Timers};

/// What changed since the last take: copies of the values to write, and the
/// ids to delete. Turning them into database rows is the store's work, done
/// off the game thread.
#[derive(Debug, Default)]
pub struct Changes {
    /// Objects to write.
    pub objects: Vec<Object>,
    /// Objects whose persistent attributes are all that changed besides,
    /// perhaps, where they are (then they are among `moves` too): their
    /// attributes, written without the rest of the row. The commonest
    /// change after a move (hit points, counters, a ticker's work); the
    /// row exists, as the object was loaded or written whole before.
    pub attributes: Vec<(ObjId, Attributes)>,
    /// Objects that only moved: their new location (the commonest change of
    /// all, written without the rest of the row).
    pub moves: Vec<(ObjId, Option<ObjId>)>,
    /// Objects to delete.
    pub deleted: Vec<ObjId>,
    /// Accounts to write (the columns the game changes; never the name or
    /// the password hash).
    pub accounts: Vec<Account>,
    /// Accounts deleted (`accounts/delete`), by id.
    pub accounts_deleted: Vec<AccountId>,
    /// Flow instances to write, by name.
    pub flows: Vec<(String, FlowInstance)>,
    /// Flows that ended, by name.
    pub flows_deleted: Vec<String>,
    /// World ids whose objects were destroyed: the code that built them
    /// must not build them again.
    pub retired: Vec<String>,
    /// Scripts, delays and tickers to write.
    pub timers: Vec<TimerRecord>,
    /// Timer rows to delete, by key.
    pub timers_deleted: Vec<String>,
    /// Channels and lines said on them.
    pub channels: ChannelChanges,
    /// `server_config` rows to write (key, value; `None`: delete the row):
    /// the bans, the prototypes builders saved.
    pub config: Vec<(String, Option<String>)>,
    /// When the changes were taken (flow rows record it).
    pub at: Timestamp,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
            && self.attributes.is_empty()
            && self.moves.is_empty()
            && self.deleted.is_empty()
            && self.accounts.is_empty()
            && self.flows.is_empty()
            && self.flows_deleted.is_empty()
            && self.retired.is_empty()
            && self.timers.is_empty()
            && self.timers_deleted.is_empty()
            && self.channels.is_empty()
            && self.config.is_empty()
            && self.accounts_deleted.is_empty()
    }
}

/// A help topic stored in the database (written with `sethelp`).
#[derive(Debug, Clone)]
pub struct HelpEntry {
    /// The topic's name.
    pub key: String,
    /// The category `help` lists it under.
    pub category: String,
    /// The text.
    pub text: String,
    /// Who may read (`read`) and change (`edit`) it.
    pub locks: crate::model::locks::LockSet,
}

/// The world in memory: every object and account, what changed since the last
/// write, and the stored help topics. Change objects through [`World::update`]
/// so the change is written behind.
#[derive(Default)]
pub struct World {
    /// Boxed: a big world's table has twice as many slots as objects, and
    /// a slot is then a pointer rather than a whole object.
    objects: IdMap<ObjId, Box<Object>>,
    /// location → what is in it, in arrival order.
    contents: IdMap<ObjId, Vec<ObjId>>,
    /// Every account, by id (password hashes are never loaded).
    pub accounts: IdMap<AccountId, Account>,
    /// Accounts by lowercase name, and how many accounts it was built from:
    /// accounts are only ever added and never renamed, so a count that no
    /// longer matches means it is rebuilt (see [`World::account_named`]).
    account_names: std::sync::Mutex<(usize, std::collections::HashMap<String, AccountId>)>,
    /// Stored help topics, by lowercase key (see [`World::help`]).
    help: std::collections::BTreeMap<String, HelpEntry>,
    /// Counts changes of `help` (see [`World::help_revision`]).
    help_revision: u64,
    /// Where new characters start (Evennia's Limbo).
    pub start_room: ObjId,
    /// When the game first started (game time counts from it).
    pub first_start: Timestamp,
    /// The running flows, by name (see [`crate::model::flows`]). Mark what
    /// you change with [`World::flow_changed`] / [`World::flow_ended`].
    pub flows: std::collections::BTreeMap<String, FlowInstance>,
    dirty_flows: BTreeSet<String>,
    ended_flows: BTreeSet<String>,
    /// Scripts, tickers and delays, and the clock they share with the
    /// flows (see [`crate::model::timers`]).
    pub timers: Timers,
    /// The channels (see [`crate::model::channels`]).
    pub channels: Channels,
    /// How many changes were made so far (see [`World::change_count`]).
    changes: u64,
    /// Counts the changes that may change the commands someone is offered
    /// (see [`World::cmdset_epoch`]).
    cmdset_epoch: u64,
    /// Objects to write whole at the next take.
    dirty: BTreeSet<ObjId>,
    /// Objects whose persistent attributes changed since the last take,
    /// and nothing else but perhaps where they are (never among `dirty`).
    attr_dirty: BTreeSet<ObjId>,
    /// Objects that moved since the last take and are not among `dirty`.
    moved: BTreeSet<ObjId>,
    deleted: BTreeSet<ObjId>,
    dirty_accounts: BTreeSet<AccountId>,
    /// Accounts deleted since the last take.
    deleted_accounts: Vec<AccountId>,
    /// Objects changed, moved, created or deleted (and the places things left)
    /// since the live-data feeds last looked.
    touched: BTreeSet<ObjId>,
    /// Of those touches, the objects changed only in attributes (through
    /// [`World::set_attr`] and its kin), with the attributes' names.
    attr_touches: AttrTouches,
    /// The same touches since the flows last looked (after each event), in
    /// order, repeats kept: an object touched again later in a batch is
    /// news to them again.
    recent_touches: Vec<ObjId>,
    /// Of those, the objects changed only in attributes, with their names.
    recent_attr_touches: AttrTouches,
    /// Object ids reserved in the database, ready for new objects.
    free_ids: VecDeque<ObjId>,
    /// The highest id an object has had (ids are handed out rising).
    max_id: ObjId,
    /// Account names and addresses kept out (change them with
    /// [`World::update_bans`]).
    bans: crate::model::bans::Bans,
    /// The bans changed since the last [`World::take_changes`].
    bans_dirty: bool,
    /// Prototypes builders saved (`spawn/save`), by key.
    stored_prototypes: std::collections::BTreeMap<String, crate::model::prototypes::Prototype>,
    /// `server_config` rows changed since the last take.
    config_changes: Vec<(String, Option<String>)>,
    /// Names, tags, typeclasses, owners and what offers commands where.
    index: Indexes,
    /// World ids of code-built objects that were destroyed (they stay so).
    retired: std::collections::HashSet<String>,
    newly_retired: Vec<String>,
    /// After [`World::start_marking`]: every object handed to the store
    /// (written, moved, deleted) or loaded from it since.
    marked: Option<std::collections::HashSet<ObjId>>,
}

/// How many of an event's touches are searched to tell whether a change of
/// attributes was its object's only change in the event.
const RECENT_SEARCHED_AT_MOST: usize = 64;

impl World {
    /// An empty world around a start room.
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
        if let Some(m) = &mut self.marked {
            m.insert(obj.id);
        }
        self.hold_loaded(obj);
    }

    /// A loaded object into the tables and indexes (its place's contents
    /// are the caller's).
    fn hold_loaded(&mut self, obj: Object) {
        self.cmdset_epoch += 1;
        self.index.add(&obj);
        self.max_id = self.max_id.max(obj.id);
        self.objects.insert(obj.id, Box::new(obj));
    }

    /// From now on, note every object handed to the store or loaded from
    /// it (a reload's standby server, which loaded a snapshot of the
    /// objects, reads those again when this server has stopped).
    pub fn start_marking(&mut self) {
        self.marked.get_or_insert_with(Default::default);
    }

    /// The objects noted since [`World::start_marking`], by id; `None`
    /// when not marking.
    pub fn take_marked(&mut self) -> Option<Vec<ObjId>> {
        let mut ids: Vec<ObjId> = self.marked.take()?.into_iter().collect();
        ids.sort_unstable();
        Some(ids)
    }

    /// Puts a fresher copy of an object read from the database in place of
    /// the one loaded before (or adds it): a standby catching up. Contents
    /// stay in the order of ids, as a load makes them.
    pub fn replace_loaded(&mut self, obj: Object) {
        self.unload(obj.id);
        if let Some(loc) = obj.location {
            let c = self.contents.entry(loc).or_default();
            let at = c.partition_point(|&o| o < obj.id);
            c.insert(at, obj.id);
        }
        self.hold_loaded(obj);
    }

    /// Takes an object out of the world as if it had never been loaded
    /// (gone from the database since a snapshot): nothing is written.
    /// What it contains is left as it is. Whether it was there.
    pub fn unload(&mut self, id: ObjId) -> bool {
        let Some(obj) = self.objects.remove(&id) else {
            return false;
        };
        self.cmdset_epoch += 1;
        if let Some(loc) = obj.location
            && let Some(c) = self.contents.get_mut(&loc)
        {
            c.retain(|&o| o != id);
            if c.is_empty() {
                self.contents.remove(&loc);
            }
        }
        self.index.remove(id);
        true
    }

    /// Makes room for `n` more objects (a load that knows how many rows
    /// come: the tables grow once instead of doubling their way there).
    pub fn reserve_objects(&mut self, n: usize) {
        self.objects.reserve(n);
        self.index.reserve(n);
    }

    /// An object by id.
    pub fn get(&self, id: ObjId) -> Option<&Object> {
        self.objects.get(&id).map(|o| &**o)
    }

    /// An object's name (its key), or `""` when there is no such object.
    pub fn name_of(&self, id: ObjId) -> &str {
        self.objects.get(&id).map(|o| o.key.as_str()).unwrap_or("")
    }

    /// The account with this name (case does not matter), by an index.
    pub fn account_named(&self, name: &str) -> Option<AccountId> {
        let mut idx = self.account_names.lock().unwrap_or_else(|e| e.into_inner());
        if idx.0 != self.accounts.len() {
            idx.1 = self
                .accounts
                .values()
                .map(|a| (a.name.to_lowercase(), a.id))
                .collect();
            idx.0 = self.accounts.len();
        }
        idx.1
            .get(&name.trim().to_lowercase())
            .copied()
            .filter(|id| self.accounts.contains_key(id))
    }

    /// Deletes an account (its row goes with the next commit); what it
    /// was. Its characters are not touched: destroy them first.
    pub fn delete_account(&mut self, id: AccountId) -> Option<Account> {
        let a = self.accounts.remove(&id)?;
        self.dirty_accounts.remove(&id);
        self.deleted_accounts.push(id);
        self.changes += 1;
        // The name index is rebuilt on its next use.
        self.account_names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0 = usize::MAX;
        Some(a)
    }

    /// An account's name, or `""` when there is no such account.
    pub fn account_name(&self, id: AccountId) -> &str {
        self.accounts
            .get(&id)
            .map(|a| a.name.as_str())
            .unwrap_or("")
    }

    /// Every object, in no particular order.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.objects.values().map(|o| &**o)
    }

    /// Adds reserved ids for new objects.
    pub fn add_free_ids(&mut self, ids: impl IntoIterator<Item = ObjId>) {
        self.free_ids.extend(ids);
    }

    /// How many new objects can be made before more ids are reserved.
    pub fn free_id_count(&self) -> usize {
        self.free_ids.len()
    }

    /// How many changes have been made to the world so far: compare two
    /// readings to know whether something changed in between (the runtime
    /// holds what an event said until its changes are saved).
    pub fn change_count(&self) -> u64 {
        self.changes + self.timers.change_count() + self.channels.change_count()
    }

    /// The stored help topics, by lowercase key.
    pub fn help(&self) -> &std::collections::BTreeMap<String, HelpEntry> {
        &self.help
    }

    /// Stores a help topic in memory (the caller wrote it to the database),
    /// in place of one of the same key.
    pub fn put_help(&mut self, entry: HelpEntry) {
        self.help_revision += 1;
        self.help.insert(entry.key.clone(), entry);
    }

    /// Forgets a stored help topic; whether there was one.
    pub fn remove_help(&mut self, key: &str) -> bool {
        self.help_revision += 1;
        self.help.remove(key).is_some()
    }

    /// A number that changes whenever a stored help topic is put or removed.
    pub fn help_revision(&self) -> u64 {
        self.help_revision
    }

    /// A number that changes whenever anything may have changed the cmdsets
    /// someone is offered, other than where they are: an object that offers
    /// commands (before or after) changed through [`World::update`] (its
    /// cmdsets, typeclass, names, locks, destination), created somewhere,
    /// moved or deleted; any object's names, tags, kind, typeclass, owner or
    /// destination changed; any object loaded or unloaded; an account
    /// changed; what offers commands re-indexed; or
    /// [`World::cmdsets_changed`] called. Other changes to objects that
    /// offer nothing (a room described, a thing made, its locks or
    /// permissions set) and attribute changes leave it: a merged
    /// cmdset remembered with it stays good while players build, walk and
    /// fight. (A set whose `call` lock was consulted is never remembered by
    /// it: locks may read attributes.)
    pub fn cmdset_epoch(&self) -> u64 {
        self.cmdset_epoch
    }

    /// Notes a change of cmdsets kept outside the world (a session's, or
    /// sets added until the next reload).
    pub fn cmdsets_changed(&mut self) {
        self.cmdset_epoch += 1;
    }

    /// Adds a new object to the world (to be written behind) and returns its
    /// id. `None` when no reserved id is left (many thousand objects made within
    /// one moment; the server reserves more in the background).
    pub fn create(&mut self, mut obj: Object) -> Option<ObjId> {
        let id = self.free_ids.pop_front()?;
        self.changes += 1;
        // Whether it offers commands where it is: the move below tells
        // (nothing else can hold a merge with an id nobody has seen).
        obj.id = id;
        self.max_id = self.max_id.max(id);
        let loc = obj.location.take();
        self.index.add(&obj);
        self.objects.insert(id, Box::new(obj));
        self.dirty.insert(id);
        self.touch(id);
        self.move_to(id, loc);
        Some(id)
    }

    /// Removes an object from the world and the database. What it contained
    /// is left nowhere: move it first. Its scripts and ticker subscriptions
    /// go with it (the runtime runs the scripts' `at_stop` first).
    pub fn delete(&mut self, id: ObjId) -> Option<Object> {
        self.changes += 1;
        self.cmdset_epoch += 1;
        self.timers.forget_object(id);
        self.move_to(id, None);
        self.touch(id);
        let obj = *self.objects.remove(&id)?;
        if let Some(w) = obj.world_id()
            && self.retired.insert(w.to_string())
        {
            self.newly_retired.push(w.to_string());
        }
        self.index.remove(id);
        self.contents.remove(&id);
        self.dirty.remove(&id);
        self.attr_dirty.remove(&id);
        self.moved.remove(&id);
        self.deleted.insert(id);
        Some(obj)
    }

    /// Changes an account; it will be written behind.
    pub fn update_account(&mut self, id: AccountId, f: impl FnOnce(&mut Account)) -> bool {
        match self.accounts.get_mut(&id) {
            Some(a) => {
                f(a);
                self.changes += 1;
                self.cmdset_epoch += 1;
                self.dirty_accounts.insert(id);
                true
            }
            None => false,
        }
    }

    /// The characters an account owns, oldest first.
    pub fn characters_of(&self, account: AccountId) -> Vec<ObjId> {
        let mut v: Vec<&Object> = self
            .index
            .characters_of(account)
            .iter()
            .filter_map(|id| self.get(*id))
            .collect();
        v.sort_by_key(|o| (o.created_at, o.id));
        v.into_iter().map(|o| o.id).collect()
    }

    /// Objects with a tag (with that category, or any when `None`), by id.
    pub fn tagged(&self, key: &str, category: Option<&str>) -> Vec<ObjId> {
        let want = Tag::new(key, category);
        self.index
            .tagged(&want.key)
            .iter()
            .copied()
            .filter(|id| {
                self.objects
                    .get(id)
                    .is_some_and(|o| o.has_tag(key, category))
            })
            .collect()
    }

    /// Objects of a typeclass (its registered name, any case), by id.
    pub fn of_typeclass(&self, name: &str) -> &[ObjId] {
        self.index.of_typeclass(&name.to_lowercase())
    }

    /// The prototypes builders saved, by key.
    pub fn stored_prototypes(
        &self,
    ) -> &std::collections::BTreeMap<String, crate::model::prototypes::Prototype> {
        &self.stored_prototypes
    }

    /// Adds a saved prototype as loaded from the database.
    pub fn insert_loaded_prototype(&mut self, p: crate::model::prototypes::Prototype) {
        self.stored_prototypes.insert(p.prototype_key.clone(), p);
    }

    /// Saves a prototype (it is written with the next commit).
    pub fn store_prototype(&mut self, p: crate::model::prototypes::Prototype) {
        let key = format!(
            "{}{}",
            crate::model::prototypes::STORED_PREFIX,
            p.prototype_key
        );
        let value = serde_json::to_string(&p).ok();
        self.stored_prototypes.insert(p.prototype_key.clone(), p);
        self.config_changes.push((key, value));
        self.changes += 1;
    }

    /// Deletes a saved prototype (with the next commit); what it was.
    pub fn unstore_prototype(&mut self, key: &str) -> Option<crate::model::prototypes::Prototype> {
        let p = self.stored_prototypes.remove(key)?;
        self.config_changes.push((
            format!("{}{key}", crate::model::prototypes::STORED_PREFIX),
            None,
        ));
        self.changes += 1;
        Some(p)
    }

    /// Sets (or, with `None`, deletes) a row of the server's own
    /// bookkeeping (`server_config`), written with the next commit.
    pub fn set_config(&mut self, key: &str, value: Option<String>) {
        self.config_changes.push((key.to_string(), value));
        self.changes += 1;
    }

    /// The bans.
    pub fn bans(&self) -> &crate::model::bans::Bans {
        &self.bans
    }

    /// Sets the bans as loaded from the database.
    pub fn insert_loaded_bans(&mut self, bans: crate::model::bans::Bans) {
        self.bans = bans;
    }

    /// Changes the bans; they are saved with the next commit.
    pub fn update_bans<R>(&mut self, f: impl FnOnce(&mut crate::model::bans::Bans) -> R) -> R {
        let r = f(&mut self.bans);
        self.bans_dirty = true;
        self.changes += 1;
        r
    }

    /// The highest id an object has had: the newest objects are at and below it.
    pub fn max_id(&self) -> ObjId {
        self.max_id
    }

    /// Every object's id, by typeclass (its name in lowercase), from the
    /// index: what runs a hook of every object resolves each typeclass
    /// once, not once an object.
    pub fn by_typeclass(&self) -> Vec<(String, Vec<ObjId>)> {
        self.index.by_typeclass()
    }

    /// Gives up the objects without freeing them one by one: a process
    /// about to exit (the OS takes the memory back at once, where freeing
    /// a million objects' allocations takes seconds). The world is empty
    /// afterwards.
    pub fn forget_objects(&mut self) {
        self.cmdset_epoch += 1;
        std::mem::forget(std::mem::take(&mut self.objects));
        std::mem::forget(std::mem::take(&mut self.contents));
        self.index.forget();
    }

    /// How many objects each typeclass has, from the index (no scan).
    pub fn typeclass_counts(&self) -> Vec<(String, usize)> {
        self.index.typeclass_counts()
    }

    /// Objects whose key or an alias is `name` (any case), by id.
    pub fn named(&self, name: &str) -> &[ObjId] {
        self.index.named(&name_key(name))
    }

    /// Objects whose key, an alias, or a word of one starts with `prefix`
    /// (lowercase), by id; `None` when more than `budget` entries match
    /// (then searching a small scope by hand is cheaper).
    pub fn prefixed(&self, prefix: &str, budget: usize) -> Option<Vec<ObjId>> {
        self.index.prefixed(prefix, budget)
    }

    /// The exits that lead to `place`, by id.
    pub fn exits_to(&self, place: ObjId) -> &[ObjId] {
        self.index.exits_to(place)
    }

    /// The objects in `place` that offer commands to those near them: exits
    /// that lead somewhere, and objects with cmdsets (named ones, their
    /// typeclass's, or ones added until the next reload), by id.
    pub fn offering(&self, place: ObjId) -> &[ObjId] {
        self.index.offering(place)
    }

    /// Whether `id` offers commands to those in its place (it is among
    /// their [`offering`](Self::offering)).
    pub fn offers_commands(&self, id: ObjId) -> bool {
        self.index.offers_commands(id)
    }

    /// Whether the object built from code as `world_id` was destroyed (it
    /// is not built again; see `Server::ensure_object`).
    pub fn is_retired(&self, world_id: &str) -> bool {
        self.retired.contains(world_id)
    }

    /// Records a world id as done with, saved with the next commit: it is
    /// not built again (a first-start batch marks itself so).
    pub fn retire(&mut self, world_id: &str) {
        if self.retired.insert(world_id.to_string()) {
            self.newly_retired.push(world_id.to_string());
            self.changes += 1;
        }
    }

    /// Records a world id as destroyed, as loaded from the database.
    pub fn insert_retired(&mut self, world_id: String) {
        self.retired.insert(world_id);
    }

    /// Tells the world which typeclasses carry a cmdset of their own (the
    /// runtime's registry knows); re-indexes what offers commands.
    pub fn set_typeclass_offers(&mut self, f: TypeclassOffers) {
        self.cmdset_epoch += 1;
        let objects = &self.objects;
        self.index
            .set_typeclass_offers(f, |id| objects.get(&id).map(|o| &**o));
    }

    /// Marks an object as offering commands beyond what is stored (a cmdset
    /// added until the next reload), or no longer.
    pub fn set_offering_extra(&mut self, id: ObjId, extra: bool) {
        self.cmdset_epoch += 1;
        if let Some(o) = self.objects.get(&id) {
            self.index.set_offering_extra(o, extra);
        }
    }

    /// Marks an object as played by a session, or no longer: the server's
    /// sessions say, and [`played_in`](Self::played_in) lists them by place.
    /// Nothing is written; it is not a change to the object.
    pub(crate) fn set_played(&mut self, id: ObjId, played: bool) {
        let location = self.objects.get(&id).and_then(|o| o.location);
        self.index.set_played(id, location, played);
    }

    /// The objects in `place` a session plays (as last marked with
    /// [`set_played`](Self::set_played)), by id: a room's players without
    /// walking its things. Within an event it may lag the sessions; game
    /// code asks [`Server::played_in`](crate::Server::played_in).
    pub(crate) fn played_in(&self, place: ObjId) -> &[ObjId] {
        self.index.played_in(place)
    }

    /// Changes an object; it will be written behind.
    pub fn update(&mut self, id: ObjId, f: impl FnOnce(&mut Object)) -> bool {
        match self.objects.get_mut(&id) {
            Some(o) => {
                let offered = self.index.offers_any(id);
                f(o);
                let reindexed = self.index.changed(o);
                self.changes += 1;
                // An object that offers no commands, before or after, is in
                // nobody's merged cmdset but its player's, whose own layers
                // follow its kind and typeclass (indexed fields: a change
                // of any of those counts). Its description, permissions,
                // locks and attributes are in no merge.
                if offered || reindexed || self.index.offers_any(id) {
                    self.cmdset_epoch += 1;
                }
                self.dirty.insert(id);
                self.attr_dirty.remove(&id);
                self.moved.remove(&id);
                self.touch(id);
                true
            }
            None => false,
        }
    }

    /// Sets a persistent attribute of an object, as `update` with
    /// [`Object::set_attr`] would, and records that only that attribute
    /// changed: a GMCP package that shows nothing of it is not rebuilt, a
    /// flow whose conditions do not read it is not woken. `false` when there
    /// is no such object.
    pub fn set_attr(&mut self, id: ObjId, name: &str, value: impl serde::Serialize) -> bool {
        let Some(o) = self.objects.get_mut(&id) else {
            return false;
        };
        o.set_attr(name, value);
        self.attr_written(id, name);
        true
    }

    /// Deletes a persistent attribute of an object (what it held, if
    /// anything), telling the feeds only that attribute changed.
    pub fn del_attr(&mut self, id: ObjId, name: &str) -> Option<serde_json::Value> {
        let old = self.objects.get_mut(&id)?.del_attr(name)?;
        self.attr_written(id, name);
        Some(old)
    }

    /// Sets an in-memory attribute (`ndb`) of an object: nothing is written
    /// to the database, and the feeds learn that only that attribute changed.
    pub fn set_ndb(&mut self, id: ObjId, name: &str, value: serde_json::Value) -> bool {
        let Some(o) = self.objects.get_mut(&id) else {
            return false;
        };
        o.ndb.insert(name.to_string(), value);
        self.touch_attr(id, name, true);
        true
    }

    /// Deletes an in-memory attribute (`ndb`) of an object: what it held.
    pub fn del_ndb(&mut self, id: ObjId, name: &str) -> Option<serde_json::Value> {
        let old = self.objects.get_mut(&id)?.ndb.remove(name)?;
        self.touch_attr(id, name, true);
        Some(old)
    }

    /// A persistent attribute of `id` was written: its row's attributes
    /// will be too (the whole row, if it is to be written anyway).
    fn attr_written(&mut self, id: ObjId, name: &str) {
        self.changes += 1;
        if !self.dirty.contains(&id) {
            self.attr_dirty.insert(id);
        }
        self.touch_attr(id, name, false);
    }

    /// Changes an object's in-memory attributes (`ndb`) only: nothing is
    /// written to the database and nothing an event says waits for a commit
    /// because of it (Evennia's `ndb` never touches the database). The
    /// object counts as touched for those who watch it (flows' conditions,
    /// live data). `None` when there is no such object.
    pub fn update_ndb<R>(
        &mut self,
        id: ObjId,
        f: impl FnOnce(&mut super::object::Attributes) -> R,
    ) -> Option<R> {
        let o = self.objects.get_mut(&id)?;
        let r = f(&mut o.ndb);
        self.touch(id);
        Some(r)
    }

    /// How many objects there are.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether there are none.
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
        if self.index.moved(obj) {
            // What a place offers changed; a mover that offers nothing
            // changes only its own surroundings (its place is in the memo's key).
            self.cmdset_epoch += 1;
        }
        self.changes += 1;
        if !self.dirty.contains(&id) {
            self.moved.insert(id);
        }
        self.touch(id);
        if let Some(from) = from {
            self.touch(from);
            if let Some(c) = self.contents.get_mut(&from) {
                c.retain(|&o| o != id);
            }
        }
        if let Some(to) = dest {
            self.contents.entry(to).or_default().push(id);
        }
    }

    /// Whether the object's only change since the last batch is where it is.
    pub fn only_moved(&self, id: ObjId) -> bool {
        self.moved.contains(&id) && !self.attr_dirty.contains(&id)
    }

    fn touch(&mut self, id: ObjId) {
        self.touched.insert(id);
        self.recent_touches.push(id);
        self.attr_touches.whole(id);
        self.recent_attr_touches.whole(id);
    }

    /// Touches `id` for a change of its attribute `name` alone (an object
    /// touched otherwise stays changed as a whole).
    fn touch_attr(&mut self, id: ObjId, name: &str, ndb: bool) {
        let before = self.touched.contains(&id);
        // An event that touched many objects already is not searched: its
        // objects count as changed as a whole (a look too many, never one
        // too few).
        let recently = self.recent_touches.len() > RECENT_SEARCHED_AT_MOST
            || self.recent_touches.contains(&id);
        self.attr_touches.attr(id, name, ndb, before);
        self.recent_attr_touches.attr(id, name, ndb, recently);
        self.touched.insert(id);
        self.recent_touches.push(id);
    }

    /// The objects touched since the touches were last taken, with the
    /// attributes of those whose only changes were to attributes
    /// (`set_attr`, `del_attr`, `set_ndb`, `del_ndb`); forgets them. Take
    /// them before [`World::take_touched`], which forgets them too.
    pub fn take_attr_touches(&mut self) -> AttrTouches {
        std::mem::take(&mut self.attr_touches)
    }

    /// The same for the touches since [`World::take_recent_touches`]: take
    /// them before it, as it forgets them too.
    pub fn take_recent_attr_touches(&mut self) -> AttrTouches {
        std::mem::take(&mut self.recent_attr_touches)
    }

    /// The objects changed, moved, created or deleted since the touched
    /// objects were last taken, and the places things moved out of.
    pub fn touched(&self) -> &BTreeSet<ObjId> {
        &self.touched
    }

    /// The objects changed, moved, created or deleted since the last call, and
    /// the places things moved out of (what the live-data feeds look at); forgets them.
    pub fn take_touched(&mut self) -> BTreeSet<ObjId> {
        self.recent_touches.clear();
        self.recent_attr_touches.clear();
        self.attr_touches.clear();
        std::mem::take(&mut self.touched)
    }

    /// Forgets the objects touched since [`World::take_recent_touches`]
    /// (nobody listens for them).
    pub fn forget_recent_touches(&mut self) {
        self.recent_touches.clear();
        self.recent_attr_touches.clear();
    }

    /// The objects touched since the last call (or since the touched objects
    /// were taken), each once, in id order: what the flows' `on_change`
    /// listeners look at after an event. Its cost is the event's touches,
    /// however many the batch made before it.
    pub fn take_recent_touches(&mut self) -> Vec<ObjId> {
        self.recent_attr_touches.clear();
        let mut v = std::mem::take(&mut self.recent_touches);
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The flow `name` changed (or started): it will be written behind.
    pub fn flow_changed(&mut self, name: &str) {
        self.changes += 1;
        self.ended_flows.remove(name);
        if !self.dirty_flows.contains(name) {
            self.dirty_flows.insert(name.to_string());
        }
    }

    /// The flow `name` ended (it is no longer in [`World::flows`]): its row
    /// will be deleted.
    pub fn flow_ended(&mut self, name: &str) {
        self.changes += 1;
        self.dirty_flows.remove(name);
        self.ended_flows.insert(name.to_string());
    }

    /// What changed since the last call, as copies to write; `at` is now.
    pub fn take_changes(&mut self, at: Timestamp) -> Changes {
        let ids = std::mem::take(&mut self.dirty);
        let attr_ids = std::mem::take(&mut self.attr_dirty);
        let moved = std::mem::take(&mut self.moved);
        if let Some(m) = &mut self.marked {
            m.extend(
                ids.iter()
                    .chain(&attr_ids)
                    .chain(&moved)
                    .chain(&self.deleted),
            );
        }
        let accounts = std::mem::take(&mut self.dirty_accounts);
        let flows = std::mem::take(&mut self.dirty_flows);
        let (timers, timers_deleted) = self.timers.take_changes();
        Changes {
            at,
            timers,
            timers_deleted,
            channels: self.channels.take_changes(),
            flows: flows
                .into_iter()
                .filter_map(|n| self.flows.get(&n).map(|f| (n, f.clone())))
                .collect(),
            flows_deleted: std::mem::take(&mut self.ended_flows).into_iter().collect(),
            objects: ids
                .into_iter()
                .filter_map(|id| self.get(id).cloned())
                .collect(),
            attributes: attr_ids
                .into_iter()
                .filter_map(|id| self.get(id).map(|o| (id, o.db.clone())))
                .collect(),
            moves: moved
                .into_iter()
                .filter_map(|id| self.objects.get(&id).map(|o| (id, o.location)))
                .collect(),
            deleted: std::mem::take(&mut self.deleted).into_iter().collect(),
            retired: std::mem::take(&mut self.newly_retired),
            accounts_deleted: std::mem::take(&mut self.deleted_accounts),
            config: {
                let mut c = std::mem::take(&mut self.config_changes);
                if std::mem::take(&mut self.bans_dirty)
                    && let Ok(v) = serde_json::to_string(&self.bans)
                {
                    c.push((crate::model::bans::BANS_KEY.to_string(), Some(v)));
                }
                c
            },
            accounts: accounts
                .into_iter()
                .filter_map(|id| self.accounts.get(&id).cloned())
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(id: ObjId, key: &str, location: Option<ObjId>) -> Object {
        let mut o = Object::new(id, key, "thing", Kind::Thing);
        o.location = location;
        o
    }

    #[test]
    fn a_change_of_attributes_alone_is_taken_as_attributes_alone() {
        let ids = |v: &[Object]| v.iter().map(|o| o.id).collect::<Vec<_>>();
        let mut w = World::new(1);
        w.add_free_ids([20]);
        for (id, key) in [
            (1, "room"),
            (2, "dummy"),
            (3, "runner"),
            (4, "statue"),
            (5, "vase"),
        ] {
            w.insert_loaded(obj(id, key, if id == 1 { None } else { Some(1) }));
        }
        w.start_marking();
        // Only attributes: no copy of the rest of the row.
        assert!(w.set_attr(2, "hp", 5));
        assert!(w.set_attr(2, "hp", 4));
        // Attributes and a move: each written as what it is.
        w.set_attr(3, "blows", 1);
        w.move_to(3, None);
        assert!(!w.only_moved(3), "its attributes changed too");
        // Attributes, then something else: the whole row.
        w.set_attr(4, "shine", 1);
        w.update(4, |o| o.desc = "Marble.".into());
        // Something else, then attributes: still the whole row.
        w.update(5, |o| o.key = "urn".into());
        w.set_attr(5, "cracked", true);
        // A new object's attributes go with its first row.
        let made = w.create(obj(0, "bell", Some(1))).unwrap();
        w.set_attr(made, "rung", 0);
        // A destroyed one's are not written.
        w.set_attr(4, "gone", true);
        w.delete(4);
        w.set_ndb(2, "guard", serde_json::json!(1));
        let ch = w.take_changes(0);
        assert_eq!(ids(&ch.objects), vec![5, made]);
        assert_eq!(ch.objects[0].attr::<bool>("cracked"), Some(true));
        assert_eq!(ch.objects[1].attr::<i64>("rung"), Some(0));
        let attrs: Vec<(ObjId, Option<i64>, usize)> = ch
            .attributes
            .iter()
            .map(|(id, a)| (*id, a.get("hp").and_then(|v| v.as_i64()), a.len()))
            .collect();
        assert_eq!(
            attrs,
            vec![(2, Some(4), 1), (3, None, 1)],
            "db alone, as it is now"
        );
        assert_eq!(ch.moves, vec![(3, None)]);
        assert_eq!(ch.deleted, vec![4]);
        assert_eq!(
            w.take_marked(),
            Some(vec![2, 3, 4, 5, made]),
            "a standby reads each again"
        );
        assert!(w.take_changes(0).is_empty(), "taken once");
        assert!(!w.set_attr(4, "gone", false), "destroyed");
        assert!(w.take_changes(0).is_empty());
    }

    #[test]
    fn moving_keeps_the_location_index_true_and_marks_dirty() {
        let mut w = World::new(1);
        w.insert_loaded(obj(1, "room", None));
        w.insert_loaded(obj(2, "hall", None));
        w.insert_loaded(obj(3, "ball", Some(1)));
        assert_eq!(w.contents(1), &[3]);
        assert!(w.take_changes(0).is_empty(), "loading is not a change");
        w.move_to(3, Some(2));
        assert!(w.contents(1).is_empty());
        assert_eq!(w.contents(2), &[3]);
        let ch = w.take_changes(0);
        assert!(ch.objects.is_empty(), "a move alone is written as a move");
        assert_eq!(ch.moves, vec![(3, Some(2))]);
        // Changed and moved: the whole row, with where it is now.
        w.update(3, |o| o.key = "red ball".into());
        w.move_to(3, None);
        assert!(w.contents(2).is_empty());
        let ch = w.take_changes(0);
        assert!(ch.moves.is_empty());
        assert_eq!(ch.objects.len(), 1);
        assert_eq!(ch.objects[0].location, None);
        // Moved, then changed: the same.
        w.move_to(3, Some(1));
        w.update(3, |o| o.key = "ball".into());
        let ch = w.take_changes(0);
        assert!(ch.moves.is_empty());
        assert_eq!(ch.objects[0].location, Some(1));
    }

    #[test]
    fn a_marked_world_notes_every_object_it_hands_the_store_from_the_mark_on() {
        let mut w = World::new(1);
        w.insert_loaded(obj(1, "room", None));
        w.insert_loaded(obj(2, "hall", None));
        w.insert_loaded(obj(3, "ball", Some(1)));
        w.insert_loaded(obj(4, "cup", Some(1)));
        w.insert_loaded(obj(5, "drum", Some(1)));
        // Written before the mark: a snapshot taken after it has it.
        w.update(5, |o| o.key = "tom".into());
        let _ = w.take_changes(0);
        assert_eq!(w.take_marked(), None, "not marking");
        w.start_marking();
        w.update(2, |o| o.key = "great hall".into());
        w.move_to(3, Some(2));
        w.add_free_ids(10..11);
        let made = w.create(obj(0, "bell", Some(1))).unwrap();
        w.delete(4);
        let _ = w.take_changes(0);
        // Loaded later (an account the launcher made, with its character).
        w.insert_loaded(obj(20, "newcomer", Some(1)));
        // Marking again keeps what was noted.
        w.start_marking();
        assert_eq!(w.take_marked(), Some(vec![2, 3, 4, made, 20]));
        assert_eq!(w.take_marked(), None, "taken: no longer marking");
    }

    #[test]
    fn an_object_read_again_takes_the_old_ones_place_in_order() {
        let mut w = World::new(1);
        w.insert_loaded(obj(1, "room", None));
        w.insert_loaded(obj(2, "hall", None));
        for (id, key) in [(3, "ball"), (4, "cup"), (5, "drum")] {
            w.insert_loaded(obj(id, key, Some(1)));
        }
        w.replace_loaded(obj(4, "red cup", Some(1)));
        assert_eq!(w.contents(1), &[3, 4, 5], "in the order of ids, as loaded");
        assert!(w.named("cup").is_empty());
        assert_eq!(w.named("red cup"), &[4]);
        w.replace_loaded(obj(3, "ball", Some(2)));
        assert_eq!(w.contents(1), &[4, 5]);
        assert_eq!(w.contents(2), &[3]);
        w.replace_loaded(obj(9, "bell", Some(1)));
        assert_eq!(w.contents(1), &[4, 5, 9], "new: added");
        assert_eq!(w.max_id(), 9);
        assert!(w.unload(5));
        assert!(!w.unload(5), "gone already");
        assert_eq!(w.contents(1), &[4, 9]);
        assert!(w.named("drum").is_empty());
        let ch = w.take_changes(0);
        assert!(ch.is_empty(), "nothing of it is written");
    }

    #[test]
    fn an_ndb_change_is_seen_but_never_written_nor_waited_for() {
        let mut w = World::new(1);
        w.insert_loaded(obj(1, "guard", None));
        let before = w.change_count();
        let old = w.update_ndb(1, |ndb| ndb.insert("on_guard".into(), serde_json::json!(7)));
        assert_eq!(old, Some(None));
        assert_eq!(w.get(1).unwrap().ndb["on_guard"], serde_json::json!(7));
        assert_eq!(w.change_count(), before, "nothing for an event to wait for");
        assert!(w.touched().contains(&1), "its watchers see it");
        let ch = w.take_changes(0);
        assert!(
            ch.objects.is_empty() && ch.moves.is_empty(),
            "nothing to write"
        );
        assert_eq!(w.update_ndb(99, |ndb| ndb.len()), None, "no such object");
        // A `db` change through update is written, as always.
        w.update(1, |o| o.desc = "Alert.".into());
        assert_eq!(w.take_changes(0).objects.len(), 1);
    }

    #[test]
    fn created_objects_take_reserved_ids_and_deleted_ones_leave_the_index() {
        let mut w = World::new(1);
        w.insert_loaded(obj(1, "room", None));
        assert!(
            w.create(obj(0, "early", None)).is_none(),
            "no ids reserved yet"
        );
        w.add_free_ids(10..12);
        let a = w.create(obj(0, "apple", Some(1))).unwrap();
        let b = w.create(obj(0, "box", Some(1))).unwrap();
        assert_eq!((a, b), (10, 11));
        assert_eq!(w.contents(1), &[10, 11]);
        w.delete(a);
        assert_eq!(w.contents(1), &[11]);
        let ch = w.take_changes(0);
        assert_eq!(ch.deleted, vec![10]);
        assert_eq!(
            ch.objects.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![11]
        );
    }

    #[test]
    fn a_change_of_attributes_alone_is_told_with_their_names() {
        let mut w = World::new(1);
        w.insert_loaded(obj(1, "room", None));
        w.insert_loaded(obj(2, "Anna", Some(1)));
        w.insert_loaded(obj(3, "Bert", Some(1)));
        w.insert_loaded(obj(4, "ball", Some(1)));
        w.take_changes(0);
        w.take_touched();
        assert!(w.set_attr(2, "blows", 1));
        assert!(w.set_attr(2, "blows", 2), "named once however often");
        assert!(w.set_ndb(2, "guard", serde_json::json!(7)));
        assert_eq!(
            w.del_attr(3, "nothing"),
            None,
            "no such attribute: no change"
        );
        assert!(!w.set_attr(99, "blows", 1), "no such object");
        let recent = w.take_recent_attr_touches();
        let told = w.take_attr_touches();
        for t in [&told, &recent] {
            assert_eq!(
                t.only_attributes(2),
                Some(&[("blows".into(), false), ("guard".into(), true)][..])
            );
            assert_eq!(t.only_attributes(3), None);
        }
        assert_eq!(w.take_touched(), BTreeSet::from([2]));
        // Written behind like any change; the ndb one is not written.
        let ch = w.take_changes(0);
        assert!(ch.objects.is_empty(), "the rest of the row is as it was");
        assert_eq!(ch.attributes.len(), 1);
        assert_eq!(ch.attributes[0].1["blows"], serde_json::json!(2));
        let row = crate::store::attributes_text(&ch.attributes[0].1);
        assert!(!row.contains("guard"), "ndb is never written: {row}");

        // Any other change makes it a change of everything, before or after.
        w.set_attr(2, "blows", 3);
        w.update(2, |o| o.desc = "Tall.".into());
        w.update(3, |o| o.desc = "Short.".into());
        w.set_attr(3, "blows", 1);
        // A move, of the object or out of the place.
        w.set_attr(1, "area", "Docks");
        w.set_attr(4, "shine", 1);
        w.move_to(4, Some(2));
        let told = w.take_attr_touches();
        assert!((1..=4).all(|id| told.only_attributes(id).is_none()));
        assert_eq!(w.take_touched(), BTreeSet::from([1, 2, 3, 4]));
        assert_eq!(w.del_attr(2, "blows"), Some(serde_json::json!(3)));
        assert_eq!(w.del_ndb(2, "guard"), Some(serde_json::json!(7)));
        w.take_touched();
        assert_eq!(
            w.take_attr_touches().only_attributes(2),
            None,
            "forgotten by take_touched"
        );
        w.set_attr(2, "blows", 4);
        assert_eq!(w.take_recent_touches(), vec![2]);
        assert_eq!(
            w.take_recent_attr_touches().only_attributes(2),
            None,
            "forgotten by take_recent_touches"
        );
        // An event that touched many objects is not searched: its changes
        // of attributes count as whole changes for the flows (never as
        // less), while the batch's window still knows them.
        w.take_touched();
        for _ in 0..=RECENT_SEARCHED_AT_MOST {
            w.update(3, |o| o.desc.push('.'));
        }
        w.set_attr(2, "blows", 5);
        assert_eq!(w.take_recent_attr_touches().only_attributes(2), None);
        assert_eq!(
            w.take_attr_touches().only_attributes(2),
            Some(&[("blows".into(), false)][..])
        );
    }

    #[test]
    fn the_indexes_follow_renames_tags_owners_exits_and_moves() {
        let mut w = World::new(1);
        w.insert_loaded(obj(1, "room", None));
        w.insert_loaded(obj(2, "hall", None));
        w.add_free_ids(10..20);
        let ball = w.create(obj(0, "Red Ball", Some(1))).unwrap();
        assert_eq!(w.named("red ball"), &[ball]);
        assert_eq!(w.named("RED BALL"), &[ball], "any case");
        assert_eq!(w.prefixed("ba", 100), Some(vec![ball]), "a word's prefix");
        assert_eq!(w.prefixed("red b", 100), Some(vec![ball]));
        assert_eq!(w.prefixed("x", 100), Some(vec![]));
        w.update(ball, |o| {
            o.key = "blue cube".into();
            o.aliases = vec!["cube".into()];
            o.tags.push(Tag::new("toy", Some("kind")));
            o.typeclass = "Toy".into();
        });
        assert!(w.named("red ball").is_empty(), "the old name is gone");
        assert_eq!(w.prefixed("ba", 100), Some(vec![]));
        assert_eq!(w.named("cube"), &[ball]);
        assert_eq!(w.tagged("toy", None), vec![ball]);
        assert_eq!(w.tagged("TOY", Some("kind")), vec![ball]);
        assert!(w.tagged("toy", Some("other")).is_empty());
        assert_eq!(w.of_typeclass("toy"), &[ball]);
        assert!(!w.of_typeclass("thing").contains(&ball));
        // Many with one name; a budget bounds what a prefix reads.
        let balls: Vec<ObjId> = (0..5)
            .map(|_| w.create(obj(0, "ball", Some(2))).unwrap())
            .collect();
        assert_eq!(w.named("ball"), balls.as_slice());
        assert_eq!(w.prefixed("b", 3), None, "more than the budget");
        // Characters by owner, oldest first.
        let mut c = Object::new(0, "Anna", "character", Kind::Character);
        c.account = Some(7);
        c.created_at = 5;
        let anna = w.create(c.clone()).unwrap();
        c.created_at = 1;
        let bert = w.create(c).unwrap();
        assert_eq!(w.characters_of(7), vec![bert, anna]);
        w.delete(bert);
        assert_eq!(w.characters_of(7), vec![anna]);
        assert!(w.named("anna").contains(&anna) && w.named("ball").len() == 5);
        // Exits by destination, and what offers commands where.
        let mut e = Object::new(0, "north", "exit", Kind::Exit);
        e.location = Some(1);
        e.destination = Some(2);
        let north = w.create(e).unwrap();
        assert_eq!(w.exits_to(2), &[north]);
        assert_eq!(
            w.offering(1),
            &[north],
            "an exit that leads somewhere offers itself"
        );
        assert!(w.offering(2).is_empty());
        w.update(north, |o| o.destination = None);
        assert!(w.exits_to(2).is_empty());
        assert!(
            w.offering(1).is_empty(),
            "an exit to nowhere offers nothing"
        );
        w.update(ball, |o| o.cmdsets.push("toyset".into()));
        assert_eq!(w.offering(1), &[ball]);
        w.move_to(ball, Some(2));
        assert!(w.offering(1).is_empty());
        assert_eq!(w.offering(2), &[ball], "it offers where it is");
        w.set_offering_extra(anna, true);
        assert!(
            w.offering(2).is_empty() || !w.offering(2).contains(&anna),
            "anna is nowhere"
        );
        w.move_to(anna, Some(2));
        assert!(
            w.offering(2).contains(&anna),
            "commands added until the reload count"
        );
        w.update(anna, |o| o.key = "Annabel".into());
        assert!(
            w.offering(2).contains(&anna),
            "a rename keeps what was added"
        );
        w.set_offering_extra(anna, false);
        assert!(!w.offering(2).contains(&anna));
        // Typeclasses with cmdsets, as the runtime tells.
        w.set_typeclass_offers(std::sync::Arc::new(|tc, _| {
            tc.eq_ignore_ascii_case("character")
        }));
        assert!(w.offering(2).contains(&anna));
        // Told again, otherwise: what offered by the old answer no longer does.
        w.set_typeclass_offers(std::sync::Arc::new(|_, _| false));
        assert!(!w.offering(2).contains(&anna));
        w.set_typeclass_offers(std::sync::Arc::new(|tc, _| {
            tc.eq_ignore_ascii_case("character")
        }));
        assert!(w.offering(2).contains(&anna));
        w.delete(anna);
        assert!(!w.offering(2).contains(&anna));
    }

    #[test]
    fn the_objects_played_in_a_place_follow_moves_and_changes() {
        let mut w = World::new(1);
        w.insert_loaded(obj(1, "square", None));
        w.insert_loaded(obj(2, "inn", None));
        // A square of many things, and two characters in it.
        for id in 10..200 {
            w.insert_loaded(obj(id, "pebble", Some(1)));
        }
        w.insert_loaded(obj(3, "Anna", Some(1)));
        w.insert_loaded(obj(4, "Bert", Some(1)));
        assert!(w.played_in(1).is_empty(), "nobody is played yet");
        let changes = w.change_count();
        w.set_played(4, true);
        w.set_played(3, true);
        assert_eq!(w.played_in(1), &[3, 4], "by id, and no pebble");
        assert_eq!(w.change_count(), changes, "being played is not saved");
        w.move_to(3, Some(2));
        assert_eq!(w.played_in(1), &[4]);
        assert_eq!(w.played_in(2), &[3], "it is played where it went");
        w.move_to(3, None);
        assert!(w.played_in(2).is_empty());
        w.move_to(3, Some(1));
        assert_eq!(w.played_in(1), &[3, 4]);
        // A change re-indexing the object keeps it played.
        w.update(3, |o| o.key = "Annabel".into());
        assert_eq!(w.played_in(1), &[3, 4]);
        // A pebble moved is not played; an object left is no longer listed.
        w.move_to(10, Some(2));
        assert!(w.played_in(2).is_empty());
        w.set_played(4, false);
        assert_eq!(w.played_in(1), &[3]);
        w.move_to(4, Some(2));
        assert!(w.played_in(2).is_empty(), "no longer played, not followed");
        // A fresher copy loaded in its place (a standby catching up) is
        // still played; a deleted object leaves the place's list.
        let mut fresh = obj(3, "Annabel", Some(2));
        fresh.desc = "new".into();
        w.replace_loaded(fresh);
        assert!(w.played_in(1).is_empty());
        assert_eq!(w.played_in(2), &[3]);
        w.delete(3);
        assert!(w.played_in(2).is_empty());
        // Marked before it is loaded: listed once it is.
        w.set_played(5, true);
        w.insert_loaded(obj(5, "Cid", Some(1)));
        assert_eq!(w.played_in(1), &[5]);
    }

    #[test]
    fn an_attribute_change_leaves_the_indexes_as_they_were() {
        let mut w = World::new(1);
        w.insert_loaded(obj(1, "room", None));
        w.insert_loaded(obj(2, "apple", Some(1)));
        w.update(2, |o| o.set_attr("bites", 3));
        assert_eq!(w.named("apple"), &[2]);
        assert_eq!(w.prefixed("app", 10), Some(vec![2]));
    }
}
