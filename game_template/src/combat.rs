//! A fight, as small as a game's can be: `attack <target>` strikes anything
//! with hit points — another character, or a training dummy a builder made
//! (`create/drop dummy`, `set dummy/hp = 30`, `set dummy/maxhp = 30`).
//!
//! One blow is what a game's commands are made of: it reads and changes
//! both fighters (the target's `hp`, the attacker's count of `blows`), tells
//! the room in words fit for each listener (`$You() $conj(hit) $you(target)`),
//! and keeps the attacker on guard for a while — a delay that every blow
//! arms again, and whose end the attacker is told.

use std::time::Duration;

use serde_json::json;
use tavern_server::timers::TimerCall;
use tavern_server::{CmdCtx, Command, Server};

/// How long a fighter stays on guard after their last blow.
pub const GUARD_LASTS: Duration = Duration::from_secs(10);

/// The in-memory attribute that holds the guard's delay.
const GUARD: &str = "guard";

/// `attack <target>`: one blow.
pub struct Attack;

impl Command for Attack {
    fn key(&self) -> &str {
        "attack"
    }

    fn aliases(&self) -> &[&str] {
        &["hit"]
    }

    fn help(&self) -> &str {
        "attack <target>\n\nStrike something that has hit points: another character, or a \
         training dummy. Your blows land harder as they follow each other (one to six \
         points, and your `strength` attribute more). Knocked down, a target gets back \
         up with all its hit points. You stay on guard for ten seconds after your last blow."
    }

    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let query = ctx.args.trim().to_string();
        if query.is_empty() {
            ctx.msg("Usage: attack <target>");
            return;
        }
        let Some(me) = ctx.caller() else {
            ctx.msg("You have no body to fight with.");
            return;
        };
        let Some(target) = ctx.search(&query) else {
            return;
        };
        if target == me {
            ctx.msg("You cannot attack yourself.");
            return;
        }
        let world = &ctx.server.world;
        let Some((name, hp, max)) = world
            .get(target)
            .and_then(|o| Some((o.key.clone(), o.attr::<i64>("hp")?, o.attr::<i64>("maxhp")?)))
        else {
            let name = world.get(target).map(|o| o.key.clone()).unwrap_or_default();
            ctx.msg(format!("{name} cannot be fought."));
            return;
        };
        let (blows, strength) = world
            .get(me)
            .map(|o| {
                (
                    o.attr::<i64>("blows").unwrap_or(0),
                    o.attr::<i64>("strength").unwrap_or(0),
                )
            })
            .unwrap_or((0, 0));
        let damage = 1 + blows.rem_euclid(6) + strength.clamp(0, 1_000);
        ctx.server
            .world
            .set_attr(me, "blows", blows.saturating_add(1));
        let left = hp.saturating_sub(damage);
        if left <= 0 {
            ctx.server.world.set_attr(target, "hp", max);
            ctx.msg_contents(
                "$You() $conj(knock) $you(target) down! Back up at once, whole again.",
                &[("target", target)],
            );
        } else {
            ctx.server.world.set_attr(target, "hp", left);
            ctx.msg_contents(
                &format!("$You() $conj(hit) $you(target) for {damage}."),
                &[("target", target)],
            );
            ctx.msg(format!("{name} has {left} of {max} hit points left."));
        }
        keep_on_guard(ctx);
    }
}

/// Keeps the caller on guard: the last blow's delay is armed again for
/// the whole time (one delay per fighter, however fast they strike), or a
/// new one is armed for the first blow.
fn keep_on_guard(ctx: &mut CmdCtx<'_>) {
    let Some(me) = ctx.caller() else { return };
    let old = ctx
        .server
        .world
        .get(me)
        .and_then(|o| o.ndb.get(GUARD))
        .and_then(|v| v.as_u64());
    match old {
        Some(id) if ctx.server.delay_rearm(id, GUARD_LASTS) => return,
        // The note outlived its delay (not expected: the delay's end takes
        // the note away): a new one, silently, as the guard was up.
        Some(_) => {}
        None => ctx.msg("You raise your guard."),
    }
    match ctx
        .server
        .delay(GUARD_LASTS, "guard_down", json!({ "who": me }), false)
    {
        Ok(id) => {
            ctx.server.world.set_ndb(me, GUARD, json!(id));
        }
        Err(e) => tracing::error!("a fighter's guard cannot be kept: {e}"),
    }
}

/// The guard's delay: ten seconds after the last blow.
pub fn guard_down(server: &mut Server, call: &TimerCall<'_>) {
    let Some(who) = call.args["who"].as_i64() else {
        return;
    };
    if server.world.get(who).is_none() {
        return;
    }
    server.world.del_ndb(who, GUARD);
    server.msg_obj(who, "You lower your guard.");
}
