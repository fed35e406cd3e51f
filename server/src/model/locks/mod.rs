//! Locks: who may do what to which object, in Evennia's lock-string form.
//!
//! A lock string is one or more `access_type:expression` pairs separated by
//! `;`, for example `get:all();edit:perm(Builder) or id(5)`. An expression is
//! made of lock functions (`perm(Builder)`, `id(5)`, `attr(strength, 10)`),
//! `and`, `or`, `not` and parentheses. The functions are looked up in a
//! [`LockFuncs`] registry that games extend with their own.
//!
//! Superusers pass every lock. A missing lock type fails, unless the caller
//! gives another default (commands without a `cmd` lock are open to all).

mod defaults;
mod funcs;
mod parse;

use std::collections::HashMap;
use std::sync::Arc;

pub use defaults::{EXIT_LOCKS, ROOM_LOCKS, THING_LOCKS, character_locks, default_locks};
pub use funcs::{PERMISSION_HIERARCHY, permission_level};
pub use parse::LockExpr;

use crate::model::world::{AccountId, ObjId, World};

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

/// Who is asking: an account, the object it puppets, or an object acting alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accessor {
    /// The account, when the accessor is a player.
    pub account: Option<AccountId>,
    /// The object acting (a player's puppet, or any object).
    pub puppet: Option<ObjId>,
}

impl Accessor {
    /// An object acting on its own (no account).
    pub fn object(obj: ObjId) -> Self {
        Self {
            account: None,
            puppet: Some(obj),
        }
    }
}

/// What a lock function sees: the world (to read, never to change), who
/// asks, and what about. Evennia's lock functions get the same: objects.
pub struct LockCtx<'a> {
    /// The world, to look things up.
    pub world: &'a World,
    /// Who wants access.
    pub accessor: Accessor,
    /// The object being accessed (None for a command's `cmd` lock).
    pub target: Option<ObjId>,
}

impl LockCtx<'_> {
    /// The accessor's permissions: its account's and its puppet's, lowercased.
    pub fn permissions(&self) -> Vec<String> {
        let mut out = self.account_permissions();
        if let Some(o) = self.accessor.puppet.and_then(|p| self.world.get(p)) {
            out.extend(o.permissions.iter().map(|p| p.to_lowercase()));
        }
        out
    }

    /// The account's permissions only, lowercased.
    pub fn account_permissions(&self) -> Vec<String> {
        self.accessor
            .account
            .and_then(|a| self.world.accounts.get(&a))
            .map(|a| a.permissions.iter().map(|p| p.to_lowercase()).collect())
            .unwrap_or_default()
    }

    /// Whether the accessor's account is a superuser.
    pub fn is_superuser(&self) -> bool {
        let account = self.accessor.account.or_else(|| {
            self.accessor
                .puppet
                .and_then(|p| self.world.get(p))
                .and_then(|o| o.account)
        });
        account
            .and_then(|a| self.world.accounts.get(&a))
            .is_some_and(|a| a.is_superuser)
    }
}

/// A lock function: the context and the arguments as written.
pub type LockFn = Arc<dyn Fn(&LockCtx<'_>, &[String]) -> bool + Send + Sync>;

/// The lock functions a lock expression may call, by name.
#[derive(Clone)]
pub struct LockFuncs {
    funcs: HashMap<String, LockFn>,
}

impl Default for LockFuncs {
    fn default() -> Self {
        let mut f = Self {
            funcs: HashMap::new(),
        };
        funcs::add_defaults(&mut f);
        f
    }
}

impl LockFuncs {
    /// Adds (or replaces) a lock function.
    pub fn add(
        &mut self,
        name: &str,
        f: impl Fn(&LockCtx<'_>, &[String]) -> bool + Send + Sync + 'static,
    ) {
        self.funcs.insert(name.to_lowercase(), Arc::new(f));
    }

    /// The function of a name.
    pub fn get(&self, name: &str) -> Option<&LockFn> {
        self.funcs.get(name)
    }

    /// Evaluates an expression. Unknown functions fail (and are logged).
    pub fn eval(&self, expr: &LockExpr, ctx: &LockCtx<'_>) -> bool {
        match expr {
            LockExpr::Func { name, args } => match self.funcs.get(name) {
                Some(f) => f(ctx, args),
                None => {
                    tracing::warn!(func = %name, "lock calls an unknown lock function");
                    false
                }
            },
            LockExpr::Not(e) => !self.eval(e, ctx),
            LockExpr::And(a, b) => self.eval(a, ctx) && self.eval(b, ctx),
            LockExpr::Or(a, b) => self.eval(a, ctx) || self.eval(b, ctx),
        }
    }
}

/// Parses lock strings once, however often a command is checked. Bounded:
/// the strings come from code (commands), not from players.
pub fn cached(s: &str) -> Arc<LockSet> {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<LockSet>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(l) = map.get(s) {
        return l.clone();
    }
    let set = Arc::new(LockSet::parse(s).unwrap_or_else(|e| {
        tracing::error!("a command's lock string is invalid, so nobody passes it: {e}");
        LockSet::parse("cmd:false()").expect("valid")
    }));
    if map.len() < 10_000 {
        map.insert(s.to_string(), set.clone());
    }
    set
}

impl LockCtx<'_> {
    /// Whether the accessor has `perm` (or one above it in the hierarchy);
    /// superusers have every permission.
    pub fn has_perm(&self, perm: &str) -> bool {
        if self.is_superuser() {
            return true;
        }
        let have = self.permissions();
        match permission_level(perm) {
            Some(want) => have
                .iter()
                .filter_map(|p| permission_level(p))
                .any(|l| l >= want),
            None => have.iter().any(|p| p.eq_ignore_ascii_case(perm)),
        }
    }

    /// Whether the accessor passes `access_type` of `locks` (missing: `default`).
    /// With `superuser_passes`, superusers always do (Evennia's default;
    /// `call` is checked without it).
    pub fn passes(
        &self,
        funcs: &LockFuncs,
        locks: &LockSet,
        access_type: &str,
        default: bool,
        superuser_passes: bool,
    ) -> bool {
        if superuser_passes && self.is_superuser() {
            return true;
        }
        match locks.get(access_type) {
            Some(lock) => funcs.eval(&lock.expr, self),
            None => default,
        }
    }
}

#[cfg(test)]
mod tests;
