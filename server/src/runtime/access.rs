//! Access checks as game code asks them: a lock of an object, for a
//! session or an object, evaluated by the model's lock functions over the
//! world ([`crate::model::locks`]).

use crate::model::locks::{Accessor, LockCtx, LockFuncs, LockSet};
use crate::model::world::{ObjId, Object};
use crate::runtime::server::Server;

impl Server {
    /// Whether `accessor` passes `target`'s lock of `access_type`. Superusers
    /// always do; a missing lock gives `default`.
    pub fn access(
        &self,
        accessor: Accessor,
        target: ObjId,
        access_type: &str,
        default: bool,
    ) -> bool {
        self.object_lock(accessor, target, access_type, default, true)
    }

    /// Like [`Server::access`], but superusers are held to the lock too
    /// (Evennia's `no_superuser_bypass`): used for `call`, so that a
    /// superuser is not offered every nearby character's commands.
    pub fn access_strict(
        &self,
        accessor: Accessor,
        target: ObjId,
        access_type: &str,
        default: bool,
    ) -> bool {
        self.object_lock(accessor, target, access_type, default, false)
    }

    fn object_lock(
        &self,
        accessor: Accessor,
        target: ObjId,
        access_type: &str,
        default: bool,
        superuser_passes: bool,
    ) -> bool {
        match self.world.get(target) {
            Some(obj) => self.eval_lock(
                &obj.locks,
                accessor,
                Some(target),
                access_type,
                default,
                superuser_passes,
            ),
            None => false,
        }
    }

    /// Checks one lock type of a lock set; superusers pass.
    pub fn check_lock(
        &self,
        locks: &LockSet,
        accessor: Accessor,
        target: Option<ObjId>,
        access_type: &str,
        default: bool,
    ) -> bool {
        self.eval_lock(locks, accessor, target, access_type, default, true)
    }

    fn eval_lock(
        &self,
        locks: &LockSet,
        accessor: Accessor,
        target: Option<ObjId>,
        access_type: &str,
        default: bool,
        superuser_passes: bool,
    ) -> bool {
        let ctx = LockCtx {
            world: &self.world,
            accessor,
            target,
        };
        ctx.passes(
            &self.game.lock_funcs,
            locks,
            access_type,
            default,
            superuser_passes,
        )
    }

    /// One accessor's checks of many objects' locks (a room's listing):
    /// whether it is a superuser is asked once, not for each object.
    pub fn lock_checker(&self, accessor: Accessor) -> LockChecker<'_> {
        let ctx = LockCtx {
            world: &self.world,
            accessor,
            target: None,
        };
        LockChecker {
            superuser: ctx.is_superuser(),
            ctx,
            funcs: &self.game.lock_funcs,
        }
    }

    /// Whether the accessor has `perm` (or one above it in the hierarchy).
    pub fn has_perm(&self, accessor: Accessor, perm: &str) -> bool {
        LockCtx {
            world: &self.world,
            accessor,
            target: None,
        }
        .has_perm(perm)
    }

    /// The accessor for a session: its account and puppet.
    pub fn accessor(&self, sessid: tavern_shared::SessId) -> Accessor {
        match self.sessions.get(sessid) {
            Some(s) => Accessor {
                account: s.account(),
                puppet: s.puppet(),
            },
            None => Accessor::default(),
        }
    }
}

/// [`Server::lock_checker`]: one accessor, many objects.
pub struct LockChecker<'a> {
    ctx: LockCtx<'a>,
    funcs: &'a LockFuncs,
    superuser: bool,
}

impl LockChecker<'_> {
    /// Whether the accessor passes `obj`'s lock of `access_type`, as
    /// [`Server::check_lock`] answers: superusers always do; a missing lock
    /// gives `default`.
    pub fn passes(&self, obj: &Object, access_type: &str, default: bool) -> bool {
        if self.superuser {
            return true;
        }
        let ctx = LockCtx {
            target: Some(obj.id),
            ..self.ctx
        };
        ctx.passes(self.funcs, &obj.locks, access_type, default, false)
    }
}
