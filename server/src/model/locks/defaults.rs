//! The locks objects start with, by kind, as Evennia sets them.

use super::LockSet;
use crate::model::world::{AccountId, Kind, ObjId};

/// The default locks of things and characters.
pub const THING_LOCKS: &str = "control:perm(Developer);examine:perm(Builder);edit:perm(Admin);\
delete:perm(Admin);get:all();drop:holds();call:true();puppet:pperm(Developer);view:all();\
teleport:true();teleport_here:true()";
/// The default locks of rooms.
pub const ROOM_LOCKS: &str = "control:perm(Developer);examine:perm(Builder);edit:perm(Builder);\
delete:perm(Admin);get:false();puppet:false();call:true();view:all();teleport:false();\
teleport_here:true()";
/// The default locks of exits.
pub const EXIT_LOCKS: &str = "control:perm(Developer);examine:perm(Builder);edit:perm(Builder);\
delete:perm(Admin);traverse:all();get:false();puppet:false();call:true();view:all();\
teleport:false();teleport_here:false()";

/// A character's locks: its account may puppet it, others may not pick it up.
pub fn character_locks(char_id: ObjId, account: AccountId) -> LockSet {
    let mut l = LockSet::parse(THING_LOCKS).expect("valid");
    l.add(&format!(
        "get:false();call:false();teleport:perm(Admin);teleport_here:perm(Admin);\
         puppet:id({char_id}) or pid({account}) or perm(Developer) or pperm(Developer)"
    ))
    .expect("valid");
    l
}

/// The default locks of a new object of `kind`.
pub fn default_locks(kind: Kind) -> LockSet {
    LockSet::parse(match kind {
        Kind::Room => ROOM_LOCKS,
        Kind::Exit => EXIT_LOCKS,
        Kind::Character | Kind::Thing => THING_LOCKS,
    })
    .expect("valid")
}
