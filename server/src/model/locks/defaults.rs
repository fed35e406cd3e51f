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
    let mut l = default_locks(Kind::Character);
    l.add(&format!(
        "get:false();call:false();teleport:perm(Admin);teleport_here:perm(Admin);\
         puppet:id({char_id}) or pid({account}) or perm(Developer) or pperm(Developer)"
    ))
    .expect("valid");
    l
}

/// The default locks of a new object of `kind`: parsed once, and shared
/// (every object made is given a copy of the same parsed locks).
pub fn default_locks(kind: Kind) -> LockSet {
    static PARSED: std::sync::OnceLock<[LockSet; 3]> = std::sync::OnceLock::new();
    let [room, exit, thing] = PARSED.get_or_init(|| {
        [ROOM_LOCKS, EXIT_LOCKS, THING_LOCKS].map(|s| LockSet::parse(s).expect("valid"))
    });
    match kind {
        Kind::Room => room,
        Kind::Exit => exit,
        Kind::Character | Kind::Thing => thing,
    }
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_new_object_gets_its_kinds_locks_and_a_copy_of_its_own() {
        for (kind, text) in [
            (Kind::Room, ROOM_LOCKS),
            (Kind::Exit, EXIT_LOCKS),
            (Kind::Thing, THING_LOCKS),
            (Kind::Character, THING_LOCKS),
        ] {
            let mut first = default_locks(kind);
            assert_eq!(first.to_string(), LockSet::parse(text).unwrap().to_string());
            // Changing one object's locks leaves the next object's alone.
            first.add("get:false();mine:all()").unwrap();
            assert!(first.remove("view"));
            let next = default_locks(kind);
            assert_eq!(next.to_string(), LockSet::parse(text).unwrap().to_string());
            assert!(next.get("view").is_some() && next.get("mine").is_none());
        }
        let c = character_locks(12, 3);
        assert_eq!(
            c.get("puppet").unwrap().source,
            "id(12) or pid(3) or perm(Developer) or pperm(Developer)"
        );
        assert_eq!(c.get("get").unwrap().source, "false()");
    }
}
