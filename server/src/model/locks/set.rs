//! A lock set as data: the parsed `access_type:expression` pairs of an
//! object or a command. Evaluating them against the world is `LockCtx`'s
//! work (`locks/mod.rs`); this file needs nothing of the world, so objects
//! can hold their locks without the model's files importing each other.

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
    /// The expression as written.
    pub source: String,
    /// Who passes.
    pub expr: LockExpr,
}

/// The locks of an object (or a command): at most one per access type.
#[derive(Debug, Clone, Default)]
pub struct LockSet {
    locks: Vec<Lock>,
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
            let expr = LockExpr::parse(&source).map_err(|problem| LockError::Syntax {
                lock: part.to_string(),
                problem,
            })?;
            parsed.push(Lock {
                access_type,
                source,
                expr,
            });
        }
        for lock in parsed {
            self.locks.retain(|l| l.access_type != lock.access_type);
            self.locks.push(lock);
        }
        Ok(())
    }

    /// Removes the lock of one access type; whether there was one.
    pub fn remove(&mut self, access_type: &str) -> bool {
        let before = self.locks.len();
        let t = access_type.to_lowercase();
        self.locks.retain(|l| l.access_type != t);
        self.locks.len() != before
    }

    /// The lock for one access type.
    pub fn get(&self, access_type: &str) -> Option<&Lock> {
        self.locks.iter().find(|l| l.access_type == access_type)
    }

    /// Every lock, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Lock> {
        self.locks.iter()
    }

    /// Whether there are no locks.
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
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
