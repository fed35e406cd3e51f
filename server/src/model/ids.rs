//! The ids the game hands out, and the base kinds of objects.

pub use tavern_shared::SessId;

/// An object's id, unique for good (ids are never reused): `#12`.
pub type ObjId = i64;
/// An account's id.
pub type AccountId = i64;

/// A moment, in milliseconds since the Unix epoch: what the runtime is
/// handed as `now`, and what flows and timers store (it means the same after
/// a restart, which an `Instant` would not).
pub type Timestamp = i64;

/// A map keyed by ids the server hands out (objects, accounts, sessions):
/// hashed with FxHash, several times faster than the default SipHash, whose
/// resistance to chosen keys these keys do not need.
pub type IdMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;

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
