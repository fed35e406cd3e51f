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
pub(crate) mod set;

use std::collections::HashMap;
use std::sync::Arc;

pub use defaults::{EXIT_LOCKS, ROOM_LOCKS, THING_LOCKS, character_locks, default_locks};
pub use funcs::{PERMISSION_HIERARCHY, permission_level};
pub use parse::LockExpr;
pub use set::{Lock, LockError, LockSet, MAX_LOCK_STRING};

use crate::model::world::{AccountId, ObjId, World};

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

/// The account attribute that says its permissions are quelled (Evennia's
/// `_quell`, set by `quell`).
pub const QUELL_ATTR: &str = "_quell";

impl LockCtx<'_> {
    /// The accessor's permissions: its account's and its puppet's,
    /// lowercased. While the account is quelled ([`LockCtx::quelled`]) only
    /// the puppet's count, and never above the account's own level.
    pub fn permissions(&self) -> Vec<String> {
        self.perms().map(str::to_lowercase).collect()
    }

    /// The permissions [`LockCtx::permissions`] lists, as written.
    fn perms(&self) -> impl Iterator<Item = &str> {
        // Quelled: the puppet's alone, capped at the account's level.
        let cap = self.quelled().then(|| self.account_level());
        let account = cap
            .is_none()
            .then(|| self.account_perms())
            .into_iter()
            .flatten();
        let puppet = self
            .accessor
            .puppet
            .and_then(|p| self.world.get(p))
            .into_iter()
            .flat_map(|o| o.permissions.iter().map(String::as_str))
            .filter(move |p| {
                cap.is_none_or(|cap| permission_level(p).is_none_or(|l| Some(l) <= cap))
            });
        account.chain(puppet)
    }

    /// The account's highest level in the hierarchy (superusers: above all).
    fn account_level(&self) -> Option<usize> {
        let account = self.account()?;
        if account.is_superuser {
            return Some(usize::MAX);
        }
        account
            .permissions
            .iter()
            .filter_map(|p| permission_level(p))
            .max()
    }

    /// The accessor's account: the one asking, or, for an object acting on
    /// its own, the account that plays it (a character in a room's listing
    /// asks with its player's permissions, as Evennia's `perm()` does).
    pub fn account_id(&self) -> Option<AccountId> {
        self.accessor.account.or_else(|| {
            self.accessor
                .puppet
                .and_then(|p| self.world.get(p))
                .and_then(|o| o.account)
        })
    }

    fn account(&self) -> Option<&crate::model::world::Account> {
        self.world.accounts.get(&self.account_id()?)
    }

    /// Whether the accessor plays a character with its account's
    /// permissions quelled (`quell`): the character's permissions count,
    /// and a superuser is not one, as Evennia does.
    pub fn quelled(&self) -> bool {
        self.accessor.puppet.is_some()
            && self.account().is_some_and(|a| {
                a.db.get(QUELL_ATTR)
                    .is_some_and(|v| v == &serde_json::Value::Bool(true))
            })
    }

    /// The account's permissions only, lowercased.
    pub fn account_permissions(&self) -> Vec<String> {
        self.account_perms().map(str::to_lowercase).collect()
    }

    /// Whether the accessor's account is a superuser (and not quelled).
    pub fn is_superuser(&self) -> bool {
        self.account().is_some_and(|a| a.is_superuser) && !self.quelled()
    }
}

/// A lock function: the context and the arguments as written.
pub type LockFn = Arc<dyn Fn(&LockCtx<'_>, &[String]) -> bool + Send + Sync>;

/// The lock functions a lock expression may call, by name.
#[derive(Clone)]
pub struct LockFuncs {
    /// FxHash: looked up at every lock a command checks.
    funcs: rustc_hash::FxHashMap<String, LockFn>,
}

impl Default for LockFuncs {
    fn default() -> Self {
        let mut f = Self {
            funcs: Default::default(),
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
            LockExpr::Func { name, args } => match self.funcs.get(&**name) {
                Some(f) => f(ctx, args),
                None => {
                    tracing::warn!(func = %name, "lock calls an unknown lock function");
                    false
                }
            },
            LockExpr::Not(e) => !self.eval(e, ctx),
            LockExpr::All(terms) => terms.iter().all(|e| self.eval(e, ctx)),
            LockExpr::Any(terms) => terms.iter().any(|e| self.eval(e, ctx)),
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
        self.is_superuser() || self.grants(perm, false)
    }

    /// Whether the accessor's permissions (as [`LockCtx::permissions`]
    /// lists them) grant `want`: one at or (`above`) strictly above it in
    /// the hierarchy, or, outside it, one of its name. Read where they are:
    /// every command's `cmd` lock asks this, at every line typed.
    pub fn grants(&self, want: &str, above: bool) -> bool {
        funcs::grants(self.perms(), want, above)
    }

    /// The accessor's account's permissions as written (those
    /// [`LockCtx::account_permissions`] lists).
    fn account_perms(&self) -> impl Iterator<Item = &str> {
        self.account()
            .into_iter()
            .flat_map(|a| a.permissions.iter().map(String::as_str))
    }

    /// Whether the account's permissions alone grant `want` (`pperm`).
    pub fn account_grants(&self, want: &str, above: bool) -> bool {
        funcs::grants(self.account_perms(), want, above)
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
