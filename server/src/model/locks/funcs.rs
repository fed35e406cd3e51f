//! The built-in lock functions, named as in Evennia.

use super::{LockCtx, LockFuncs};
use crate::model::world::ObjId;

/// Permissions that imply every one below them.
pub const PERMISSION_HIERARCHY: [&str; 5] = ["Player", "Helper", "Builder", "Admin", "Developer"];

/// A permission's place in the hierarchy (singular or plural, any case).
pub fn permission_level(perm: &str) -> Option<usize> {
    // The names are ASCII: no other letter is one of theirs in any case
    // (the Kelvin sign lowercases to `k`, which none has).
    let p = perm.strip_suffix(['s', 'S']).unwrap_or(perm);
    PERMISSION_HIERARCHY
        .iter()
        .position(|h| h.eq_ignore_ascii_case(p))
}

/// Whether `perms` grant `want`: by hierarchy (`above`: strictly above), or
/// by name for permissions outside it (a permission in any case, an
/// argument in lowercase or in the permission's own ASCII case).
pub(super) fn grants<'a>(
    mut perms: impl Iterator<Item = &'a str>,
    want: &str,
    above: bool,
) -> bool {
    match permission_level(want) {
        Some(level) => perms
            .filter_map(permission_level)
            .any(|l| if above { l > level } else { l >= level }),
        None => !above && perms.any(|p| same_name(p, want)),
    }
}

/// A permission, lowercased, is `want` but for ASCII case.
fn same_name(perm: &str, want: &str) -> bool {
    if perm.is_ascii() {
        perm.eq_ignore_ascii_case(want)
    } else {
        perm.to_lowercase().eq_ignore_ascii_case(want)
    }
}

fn parse_id(s: &str) -> Option<i64> {
    s.trim().trim_start_matches('#').parse().ok()
}

fn attr_of<'a>(
    ctx: &'a LockCtx<'_>,
    obj: Option<ObjId>,
    name: &str,
) -> Option<&'a serde_json::Value> {
    ctx.world.get(obj?)?.db.get(name)
}

/// Whether a stored value equals an argument as written (`10`, `"red"`, `red`).
fn value_is(v: &serde_json::Value, arg: &str) -> bool {
    match v {
        serde_json::Value::String(s) => s == arg,
        other => serde_json::from_str::<serde_json::Value>(arg).is_ok_and(|a| &a == other),
    }
}

fn compare(
    ctx: &LockCtx<'_>,
    obj: Option<ObjId>,
    args: &[String],
    ok: fn(f64, f64) -> bool,
) -> bool {
    let [name, want] = args else { return false };
    let (Some(have), Ok(want)) = (
        attr_of(ctx, obj, name).and_then(|v| v.as_f64()),
        want.parse::<f64>(),
    ) else {
        return false;
    };
    ok(have, want)
}

fn has_tag(ctx: &LockCtx<'_>, obj: Option<ObjId>, args: &[String]) -> bool {
    let Some(o) = obj.and_then(|o| ctx.world.get(o)) else {
        return false;
    };
    match args {
        [key] => o.has_tag(key, None),
        [key, category] => o.has_tag(key, Some(category)),
        _ => false,
    }
}

pub(super) fn add_defaults(f: &mut LockFuncs) {
    f.add("true", |_, _| true);
    f.add("all", |_, _| true);
    f.add("false", |_, _| false);
    f.add("none", |_, _| false);
    f.add("superuser", |ctx, _| ctx.is_superuser());
    f.add("perm", |ctx, args| {
        args.first().is_some_and(|p| ctx.grants(p, false))
    });
    f.add("perm_above", |ctx, args| {
        args.first().is_some_and(|p| ctx.grants(p, true))
    });
    f.add("pperm", |ctx, args| {
        args.first().is_some_and(|p| ctx.account_grants(p, false))
    });
    f.add("pperm_above", |ctx, args| {
        args.first().is_some_and(|p| ctx.account_grants(p, true))
    });
    let id = |ctx: &LockCtx<'_>, args: &[String]| {
        args.first()
            .and_then(|a| parse_id(a))
            .is_some_and(|id| ctx.accessor.puppet == Some(id))
    };
    f.add("id", id);
    f.add("dbref", id);
    f.add("pid", |ctx, args| {
        args.first()
            .and_then(|a| parse_id(a))
            .is_some_and(|id| ctx.account_id() == Some(id))
    });
    f.add("self", |ctx, _| {
        ctx.accessor.puppet.is_some() && ctx.accessor.puppet == ctx.target
    });
    f.add("is_ooc", |ctx, _| ctx.accessor.puppet.is_none());
    f.add("attr", |ctx, args| match args {
        [name] => attr_of(ctx, ctx.accessor.puppet, name).is_some(),
        [name, want] => attr_of(ctx, ctx.accessor.puppet, name).is_some_and(|v| value_is(v, want)),
        _ => false,
    });
    f.add("objattr", |ctx, args| match args {
        [name] => attr_of(ctx, ctx.target, name).is_some(),
        [name, want] => attr_of(ctx, ctx.target, name).is_some_and(|v| value_is(v, want)),
        _ => false,
    });
    f.add("attr_eq", |ctx, args| {
        compare(ctx, ctx.accessor.puppet, args, |a, b| a == b)
    });
    f.add("attr_gt", |ctx, args| {
        compare(ctx, ctx.accessor.puppet, args, |a, b| a > b)
    });
    f.add("attr_ge", |ctx, args| {
        compare(ctx, ctx.accessor.puppet, args, |a, b| a >= b)
    });
    f.add("attr_lt", |ctx, args| {
        compare(ctx, ctx.accessor.puppet, args, |a, b| a < b)
    });
    f.add("attr_le", |ctx, args| {
        compare(ctx, ctx.accessor.puppet, args, |a, b| a <= b)
    });
    f.add("tag", |ctx, args| has_tag(ctx, ctx.accessor.puppet, args));
    f.add("objtag", |ctx, args| has_tag(ctx, ctx.target, args));
    f.add("holds", |ctx, args| {
        let Some(me) = ctx.accessor.puppet else {
            return false;
        };
        let world = ctx.world;
        match args.first() {
            None => ctx
                .target
                .and_then(|t| world.get(t))
                .is_some_and(|t| t.location == Some(me)),
            Some(what) => {
                let id = parse_id(what);
                world.contents(me).iter().any(|&c| {
                    Some(c) == id
                        || world
                            .get(c)
                            .is_some_and(|o| o.key.eq_ignore_ascii_case(what))
                })
            }
        }
    });
    f.add("inside", |ctx, _| {
        let (Some(me), Some(t)) = (ctx.accessor.puppet, ctx.target) else {
            return false;
        };
        ctx.world.get(me).is_some_and(|o| o.location == Some(t))
    });
}
