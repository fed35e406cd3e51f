//! A lock set as data: the parsed `access_type:expression` pairs of an
//! object or a command. Evaluating them against the world is `LockCtx`'s
//! work (`locks/mod.rs`); this file needs nothing of the world, so objects
//! can hold their locks without the model's files importing each other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::parse::LockExpr;

/// Longest lock string accepted (they come from builders' input).
pub const MAX_LOCK_STRING: usize = 2000;

/// Why a lock string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// A part without `access_type:`.
    #[error("lock '{0}' has no access type (write it as type:expression)")]
    NoAccessType(String),
    /// An expression that does not parse.
    #[error("lock '{lock}': {problem}")]
    Syntax {
        /// The part that failed.
        lock: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A lock string longer than a builder may type.
    #[error("lock string longer than {MAX_LOCK_STRING} characters")]
    TooLong,
}

/// One `access_type:expression` pair.
#[derive(Debug, Clone)]
pub struct Lock {
    /// What it guards: `get`, `traverse`, `cmd`, ...
    pub access_type: String,
    /// A hash of `access_type`, kept beside the rest: finding one access
    /// type among an object's locks compares these and reads no other
    /// lock's text (a set is asked for its `view` lock for every object a
    /// `look` shows).
    kind: u64,
    /// The expression as written.
    pub source: String,
    /// Who passes.
    pub expr: LockExpr,
}

/// The locks of an object (or a command): at most one per access type.
///
/// Each lock is shared by every object that has the same one
/// (`get:false()`, `traverse:all()`, `delete:perm(Admin)`): a parsed lock
/// is a tree of boxes and strings, about 1 KiB for a typical object's set,
/// and most objects' locks repeat. Cloning a set (an object's change on its
/// way to the database) copies pointers.
#[derive(Debug, Clone, Default)]
pub struct LockSet {
    /// In the order written; no spare places (every object holds a set,
    /// and eleven locks would grow a vector to sixteen).
    locks: Box<[Arc<Lock>]>,
    /// The `view` lock again, if there is one. A room's listing asks each
    /// object it shows for this lock: held here, in the object's first
    /// cache line ([`Object`](crate::model::object::Object)), the answer
    /// reads neither the list nor any other lock.
    view: Option<Arc<Lock>>,
}

/// The access type a listing asks every object for.
const VIEW: &str = "view";

/// Parsed locks by a hash of their text, while any object holds them. The
/// text itself is kept once, in the lock (a character's own locks, such as
/// `puppet:id(#12) or pid(#3) or ...`, are unique to it: a key of their text
/// would keep it twice).
struct Interned {
    locks: HashMap<u64, Weak<Lock>, rustc_hash::FxBuildHasher>,
    /// Forget the dropped ones once the table has grown to this.
    sweep_at: usize,
}

/// The shared parsed lock for `access_type:source`, parsing it if no object
/// holds one now.
fn interned(access_type: String, source: String, part: &str) -> Result<Arc<Lock>, LockError> {
    use std::hash::BuildHasher;
    static TABLE: OnceLock<Mutex<Interned>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        Mutex::new(Interned {
            locks: HashMap::default(),
            sweep_at: 1024,
        })
    });
    let key = rustc_hash::FxBuildHasher.hash_one((access_type.as_str(), source.as_str()));
    // The same hash is the same lock only if its text is the same: on a
    // collision the lock is parsed and takes the place (the other stays
    // whole for those holding it; it is only not shared any more).
    if let Some(lock) = table
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .locks
        .get(&key)
        .and_then(Weak::upgrade)
        .filter(|l| l.access_type == access_type && l.source == source)
    {
        return Ok(lock);
    }
    let expr = LockExpr::parse(&source).map_err(|problem| LockError::Syntax {
        lock: part.to_string(),
        problem,
    })?;
    let lock = Arc::new(Lock {
        kind: kind_of(&access_type),
        access_type,
        source,
        expr,
    });
    let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
    if t.locks.len() >= t.sweep_at {
        t.locks.retain(|_, w| w.strong_count() > 0);
        t.sweep_at = (t.locks.len() * 2).max(1024);
    }
    t.locks.insert(key, Arc::downgrade(&lock));
    Ok(lock)
}

/// The hash of an access type a lock keeps ([`Lock::kind`](Lock)).
fn kind_of(access_type: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(access_type)
}

impl PartialEq for LockSet {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl LockSet {
    /// Parses `type:expr;type:expr`. Empty parts are ignored.
    pub fn parse(s: &str) -> Result<Self, LockError> {
        let mut set = Self::default();
        set.add(s)?;
        Ok(set)
    }

    /// Adds locks, replacing those of the same access types.
    pub fn add(&mut self, s: &str) -> Result<(), LockError> {
        if s.len() > MAX_LOCK_STRING {
            return Err(LockError::TooLong);
        }
        let mut parsed = Vec::new();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((access_type, source)) = part.split_once(':') else {
                return Err(LockError::NoAccessType(part.to_string()));
            };
            let access_type = access_type.trim().to_lowercase();
            if access_type.is_empty()
                || !access_type.chars().all(|c| c.is_alphanumeric() || c == '_')
            {
                return Err(LockError::NoAccessType(part.to_string()));
            }
            let source = source.trim().to_string();
            parsed.push(interned(access_type, source, part)?);
        }
        if parsed.is_empty() {
            return Ok(());
        }
        let mut locks = std::mem::take(&mut self.locks).into_vec();
        for lock in parsed {
            locks.retain(|l| l.access_type != lock.access_type);
            locks.push(lock);
        }
        self.set(locks);
        Ok(())
    }

    /// Removes the lock of one access type; whether there was one.
    pub fn remove(&mut self, access_type: &str) -> bool {
        let t = access_type.to_lowercase();
        if !self.locks.iter().any(|l| l.access_type == t) {
            return false;
        }
        let mut locks = std::mem::take(&mut self.locks).into_vec();
        locks.retain(|l| l.access_type != t);
        self.set(locks);
        true
    }

    /// Holds `locks`, and their `view` lock apart.
    fn set(&mut self, locks: Vec<Arc<Lock>>) {
        self.view = locks.iter().find(|l| l.access_type == VIEW).cloned();
        self.locks = locks.into_boxed_slice();
    }

    /// The lock for one access type.
    pub fn get(&self, access_type: &str) -> Option<&Lock> {
        if access_type == VIEW {
            return self.view.as_deref();
        }
        if self.locks.is_empty() {
            return None;
        }
        let kind = kind_of(access_type);
        self.locks
            .iter()
            .find(|l| l.kind == kind && l.access_type == access_type)
            .map(|l| &**l)
    }

    /// Every lock, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Lock> {
        self.locks.iter().map(|l| &**l)
    }

    /// Whether there are no locks.
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }
}

/// Hashes what the set's text says (each lock's access type and expression
/// as written, in order): two sets that print alike hash alike.
impl std::hash::Hash for LockSet {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(self.locks.len());
        for l in &self.locks {
            l.access_type.hash(state);
            l.source.hash(state);
        }
    }
}

impl std::fmt::Display for LockSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, l) in self.locks.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{}:{}", l.access_type, l.source)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_with_the_same_lock_share_one_parsed_lock() {
        let a = LockSet::parse("get:false();puppet:id(#1) or perm(Admin)").unwrap();
        let b = LockSet::parse("get: false() ; edit:perm(Builder)").unwrap();
        assert!(
            std::ptr::eq(a.get("get").unwrap(), b.get("get").unwrap()),
            "one parsed get:false() for both"
        );
        assert!(!std::ptr::eq(
            a.get("get").unwrap(),
            a.get("puppet").unwrap()
        ));
        // The same expression under another access type is another lock.
        let e = LockSet::parse("edit:false();get:true()").unwrap();
        assert_eq!(e.get("edit").unwrap().access_type, "edit");
        assert_eq!(e.get("get").unwrap().source, "true()");
        assert!(!std::ptr::eq(e.get("edit").unwrap(), a.get("get").unwrap()));
        // What a set says does not change: text and order as written.
        assert_eq!(a.to_string(), "get:false();puppet:id(#1) or perm(Admin)");
        assert_eq!(b.to_string(), "get:false();edit:perm(Builder)");
        // A lock no object holds any more is parsed again when needed.
        drop((a, b));
        let c = LockSet::parse("puppet:id(#1) or perm(Admin)").unwrap();
        assert_eq!(c.get("puppet").unwrap().source, "id(#1) or perm(Admin)");
        // The view lock, held apart, follows what the set says.
        let mut v = LockSet::parse("get:all();view:perm(Builder)").unwrap();
        assert_eq!(v.get("view").unwrap().source, "perm(Builder)");
        v.add("View: all()").unwrap();
        assert_eq!(v.get("view").unwrap().source, "all()");
        assert_eq!(v.to_string(), "get:all();view:all()");
        assert!(v.remove("VIEW"));
        assert!(v.get("view").is_none());
        assert!(!v.remove("view"));
        assert_eq!(v.get("get").unwrap().source, "all()");
        assert_eq!(v.to_string(), "get:all()");
        v.add("").unwrap();
        assert_eq!(v.to_string(), "get:all()");
        // Broken locks are still refused, shared or not.
        assert!(matches!(
            LockSet::parse("get:false(("),
            Err(LockError::Syntax { .. })
        ));
        assert!(matches!(
            LockSet::parse("get:false(("),
            Err(LockError::Syntax { .. })
        ));
    }
}
