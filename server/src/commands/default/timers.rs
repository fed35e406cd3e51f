//! Commands for time: `scripts` and `tickers` (Builders), `tasks`
//! (Developers) and `time` (everyone), as Evennia's `script`, `tickers`,
//! `tasks` and `time`.

use std::time::Duration;

use tavern_shared::markup::escape;

use crate::commands::default::building::find_any;
use crate::commands::{CmdCtx, CmdSet, Command, span_text, time_text};
use crate::model::timers::{Attached, Due, Schedule, TimerId, TimerState};
use crate::runtime::timers::NewScript;

/// Adds `scripts`, `tickers`, `tasks` and `time`.
pub fn add_all(set: &mut CmdSet) {
    set.add(Scripts).add(Tickers).add(Tasks).add(Time);
}

/// How many lines a listing shows before it says how many more there are.
const MAX_LISTED: usize = 50;

/// When a schedule fires next, as a column: `12s`, `PAUSED 5s`, `stopped`.
fn next_text(s: &Schedule, now: i64) -> String {
    match s.state() {
        TimerState::Running => span_text(s.next_at.unwrap_or(now) - now),
        TimerState::Paused => format!("PAUSED {}", span_text(s.paused_left.unwrap_or(0))),
        TimerState::Stopped => "stopped".into(),
    }
}

/// Repeats so far out of all: `2/5`, or `3/-` for ever.
fn repeats_text(s: &Schedule) -> String {
    if s.repeats == 0 {
        format!("{}/-", s.done)
    } else {
        format!("{}/{}", s.done, s.repeats)
    }
}

fn interval_text(ms: i64) -> String {
    if ms <= 0 {
        "-".into()
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// `scripts`: list, start, stop, pause and delete scripts, or attach one.
pub struct Scripts;

const SCRIPTS_HELP: &str = "scripts[/switch] [<id> | <key> | <object>] [= <kind>]

List the game's scripts, or those matching: a number is a script's id, a
word is a script's key (or else an object's name), #12 is the object #12.

  scripts                    every script
  scripts #12                the scripts on object #12
  scripts/stop 3             stop script 3's timer (it stays; /start starts it)
  scripts/start 3            start it again, or unpause it
  scripts/pause 3            pause it, keeping the time it has left
  scripts/unpause 3          go on with the time it had left
  scripts/repeat 3           repeat it now (the countdown starts again)
  scripts/delete 3           stop and delete it
  scripts <object> = <kind>  attach a new script of that kind to the object
  scripts <object> = <kind>, <seconds>[, <repeats>]
                             ... repeating every so many seconds, so many times

A switch acts on one script: give its id when a key matches several.";

impl Command for Scripts {
    fn key(&self) -> &str {
        "scripts"
    }
    fn aliases(&self) -> &[&str] {
        &["script"]
    }
    fn switches(&self) -> &[&str] {
        &["stop", "start", "pause", "unpause", "repeat", "delete"]
    }
    fn help(&self) -> &str {
        SCRIPTS_HELP
    }
    fn help_category(&self) -> &str {
        "Building"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Builder)"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if let Some(kind) = ctx.rhs.clone() {
            attach(ctx, &kind);
            return;
        }
        let Some(switch) = ctx.switches.first().cloned() else {
            list_scripts(ctx);
            return;
        };
        if ctx.args.is_empty() {
            ctx.msg(format!(
                "Usage: scripts/{switch} <id or key>. Nothing was done."
            ));
            return;
        }
        let Some(id) = one_script(ctx) else { return };
        let key = ctx
            .server
            .script(id)
            .map(|s| escape(&s.key))
            .unwrap_or_default();
        let (done, msg) = match switch.as_str() {
            "stop" => (
                ctx.server.script_stop(id),
                format!("Script {id} ({key}) stopped. scripts/start {id} starts it again."),
            ),
            "start" => (
                ctx.server.script_start(id),
                format!("Script {id} ({key}) started."),
            ),
            "pause" => (
                ctx.server.script_pause(id),
                format!("Script {id} ({key}) paused."),
            ),
            "unpause" => (
                ctx.server.script_unpause(id),
                format!("Script {id} ({key}) unpaused."),
            ),
            "repeat" => (
                ctx.server.script_force_repeat(id),
                format!("Script {id} ({key}) repeated."),
            ),
            _ => (
                ctx.server.script_delete(id),
                format!("Script {id} ({key}) deleted."),
            ),
        };
        if done {
            ctx.msg(msg);
        } else {
            let why = match (
                switch.as_str(),
                ctx.server.script(id).map(|s| s.schedule.state()),
            ) {
                ("start", Some(TimerState::Running)) => "it is running already",
                ("start", _) => "it has no timer",
                ("stop", _) => "it is stopped already",
                ("pause", Some(TimerState::Paused)) => "it is paused already",
                ("pause", _) => "it is not running",
                ("unpause", _) => "it is not paused",
                ("repeat", _) => "it has no timer",
                _ => "it is gone",
            };
            ctx.msg(format!("Script {id} ({key}) was not changed: {why}."));
        }
    }
}

/// The scripts the arguments name: an id, a key, `#obj` or an object's name.
/// `None` (and a message) when there are none.
fn matching_scripts(ctx: &mut CmdCtx<'_>) -> Option<Vec<TimerId>> {
    let arg = ctx.args.trim().to_string();
    if let Ok(id) = arg.parse::<TimerId>() {
        if ctx.server.script(id).is_some() {
            return Some(vec![id]);
        }
        ctx.msg(format!("There is no script {id}."));
        return None;
    }
    if !arg.starts_with('#') {
        let keyed = ctx.server.world.timers.scripts_keyed(&arg);
        if !keyed.is_empty() {
            return Some(keyed);
        }
    }
    let obj = find_any(ctx, &arg)?;
    let on = ctx.server.scripts_on(obj);
    if on.is_empty() {
        let name = ctx
            .server
            .world
            .get(obj)
            .map(|o| o.display_with_id())
            .unwrap_or_default();
        ctx.msg(format!("{} has no scripts.", escape(&name)));
        return None;
    }
    Some(on)
}

/// The one script the arguments name, or a message saying why not.
fn one_script(ctx: &mut CmdCtx<'_>) -> Option<TimerId> {
    let ids = matching_scripts(ctx)?;
    if let [id] = ids[..] {
        return Some(id);
    }
    let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    ctx.msg(format!(
        "Several scripts match ({}): give the id of one. Nothing was done.",
        list.join(", ")
    ));
    None
}

fn on_text(ctx: &CmdCtx<'_>, on: Attached) -> String {
    match on {
        Attached::Global => "(global)".into(),
        Attached::Object(o) => ctx
            .server
            .world
            .get(o)
            .map(|o| escape(&o.display_with_id()))
            .unwrap_or_else(|| format!("#{o}")),
        Attached::Account(a) => ctx
            .server
            .world
            .accounts
            .get(&a)
            .map(|acc| format!("{} (account)", escape(&acc.name)))
            .unwrap_or_else(|| format!("account {a}")),
    }
}

fn list_scripts(ctx: &mut CmdCtx<'_>) {
    let ids: Vec<TimerId> = if ctx.args.is_empty() {
        ctx.server
            .world
            .timers
            .scripts()
            .map(|s| s.id)
            .take(MAX_LISTED + 1)
            .collect()
    } else {
        match matching_scripts(ctx) {
            Some(ids) => ids,
            None => return,
        }
    };
    let total = if ctx.args.is_empty() {
        ctx.server.world.timers.script_count()
    } else {
        ids.len()
    };
    if ids.is_empty() {
        ctx.msg("No scripts.");
        return;
    }
    let now = ctx.server.now();
    let mut out = vec![format!(
        "|w{:>5} {:<24} {:<16} {:>8} {:>12} {:>7}  {}|n",
        "id", "on", "key", "interval", "next", "repeats", "kind"
    )];
    for id in ids.iter().take(MAX_LISTED) {
        let Some(s) = ctx.server.script(*id) else {
            continue;
        };
        let known = ctx.server.game.timers.script(&s.typeclass).is_some();
        let kind = if known {
            escape(&s.typeclass)
        } else {
            format!("{} |r(unknown kind)|n", escape(&s.typeclass))
        };
        let persist = if s.persistent { "" } else { " |y(not saved)|n" };
        let line = format!(
            "{:>5} {:<24} {:<16} {:>8} {:>12} {:>7}  {kind}{persist}",
            s.id,
            on_text(ctx, s.on),
            escape(&s.key),
            interval_text(s.schedule.interval),
            next_text(&s.schedule, now),
            repeats_text(&s.schedule),
        );
        out.push(line);
        if ids.len() == 1 {
            if !s.desc.is_empty() {
                out.push(format!("      {}", escape(&s.desc)));
            }
            if let Some(next) = s.schedule.next_at {
                out.push(format!(
                    "      next repeat at {}, repeats {}",
                    time_text(next),
                    repeats_text(&s.schedule)
                ));
            }
        }
    }
    if total > MAX_LISTED {
        out.push(format!(
            "... and {} more. Name an object or a key to see fewer.",
            total - MAX_LISTED
        ));
    }
    ctx.msg(out.join("\n"));
}

fn attach(ctx: &mut CmdCtx<'_>, rhs: &str) {
    const USAGE: &str =
        "Usage: scripts <object> = <kind>[, <seconds>[, <repeats>]]. Nothing was done.";
    let parts: Vec<&str> = rhs.split(',').map(str::trim).collect();
    let kind = parts[0];
    if ctx.lhs.is_empty() || kind.is_empty() || parts.len() > 3 {
        ctx.msg(USAGE);
        return;
    }
    let every = match parts.get(1).map(|p| p.parse::<f64>()) {
        None => None,
        Some(Ok(secs)) if (0.1..=1e9).contains(&secs) => Some(Duration::from_secs_f64(secs)),
        Some(_) => {
            ctx.msg(format!(
                "The interval must be a number of seconds from 0.1, not '{}'. Nothing was done.",
                escape(parts[1])
            ));
            return;
        }
    };
    let repeats = match parts.get(2).map(|p| p.parse::<u32>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            ctx.msg(format!(
                "The repeats must be a whole number (0: for ever), not '{}'. Nothing was done.",
                escape(parts[2])
            ));
            return;
        }
    };
    let Some(k) = ctx.server.game.timers.script(kind) else {
        let kinds = ctx.server.game.timers.script_names();
        ctx.msg(format!(
            "There is no kind of script called '{}'. Kinds: {}.",
            escape(kind),
            if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(", ")
            }
        ));
        return;
    };
    let target = ctx.lhs.clone();
    let Some(obj) = find_any(ctx, &target) else {
        return;
    };
    let mut spec = NewScript::of(k.as_ref()).on(obj).repeats(repeats);
    if let Some(every) = every {
        spec = spec.every(every);
    }
    match ctx.server.script_add(spec) {
        Ok(id) => {
            let name = ctx
                .server
                .world
                .get(obj)
                .map(|o| escape(&o.display_with_id()))
                .unwrap_or_default();
            ctx.msg(format!(
                "Script {id} ({}) attached to {name}.",
                escape(k.name())
            ));
        }
        Err(e) => ctx.msg(format!("{e}. Nothing was done.")),
    }
}

/// `tickers`: what the tickers are and when they tick next.
pub struct Tickers;

impl Command for Tickers {
    fn key(&self) -> &str {
        "tickers"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn help(&self) -> &str {
        "tickers [<seconds> | <object>]\n\nList the ticker intervals, with when each ticks next \
         and how many subscribe; with a number of seconds, that interval's subscribers; with an \
         object, what ticks on it. Tickers are made by game code (they cannot be changed here)."
    }
    fn help_category(&self) -> &str {
        "Building"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Builder)"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let now = ctx.server.now();
        let arg = ctx.args.trim().to_string();
        if arg.is_empty() {
            let groups: Vec<String> = ctx
                .server
                .world
                .timers
                .tick_groups()
                .map(|(i, g)| {
                    format!(
                        "{:>10} {:>10} {:>12}",
                        interval_text(i),
                        span_text(g.next_at - now),
                        g.subs.len()
                    )
                })
                .collect();
            if groups.is_empty() {
                ctx.msg("No tickers.");
                return;
            }
            let mut out = vec![format!(
                "|w{:>10} {:>10} {:>12}|n",
                "interval", "next tick", "subscribers"
            )];
            out.extend(groups);
            ctx.msg(out.join("\n"));
            return;
        }
        if let Ok(secs) = arg.parse::<f64>() {
            let interval = Duration::from_secs_f64(secs.clamp(0.0, 1e12)).as_millis() as i64;
            let Some(group) = ctx.server.world.timers.tick_group(interval) else {
                ctx.msg(format!("No tickers every {}.", interval_text(interval)));
                return;
            };
            let mut out = vec![format!(
                "|wEvery {}, next in {}:|n",
                interval_text(interval),
                span_text(group.next_at - now)
            )];
            for ((target, hook), args) in group.subs.iter().take(MAX_LISTED) {
                let on = target
                    .map(|t| on_text(ctx, Attached::Object(t)))
                    .unwrap_or_else(|| "(global)".into());
                out.push(format!(
                    "  {:<24} {:<16} {}",
                    on,
                    escape(hook),
                    escape(&args.to_string())
                ));
            }
            if group.subs.len() > MAX_LISTED {
                out.push(format!("  ... and {} more.", group.subs.len() - MAX_LISTED));
            }
            ctx.msg(out.join("\n"));
            return;
        }
        let Some(obj) = find_any(ctx, &arg) else {
            return;
        };
        let subs = ctx.server.world.timers.tickers_on(obj);
        let name = on_text(ctx, Attached::Object(obj));
        if subs.is_empty() {
            ctx.msg(format!("Nothing ticks on {name}."));
            return;
        }
        let lines: Vec<String> = subs
            .iter()
            .map(|(i, h)| format!("  every {:<8} {}", interval_text(*i), escape(h)))
            .collect();
        ctx.msg(format!("|wTickers on {name}:|n\n{}", lines.join("\n")));
    }
}

/// `tasks`: the delays waiting to run.
pub struct Tasks;

impl Command for Tasks {
    fn key(&self) -> &str {
        "tasks"
    }
    fn aliases(&self) -> &[&str] {
        &["delays"]
    }
    fn switches(&self) -> &[&str] {
        &["pause", "unpause", "do_task", "call", "remove", "cancel"]
    }
    fn help(&self) -> &str {
        "tasks[/switch] [<id>]\n\nList the delays waiting to run (made by game code with \
         delay or schedule), or act on one:\n\n  tasks/pause <id>     pause it, keeping the time left\n  \
         tasks/unpause <id>   go on with the time it had left\n  tasks/do_task <id>   run it now; it is done\n  \
         tasks/call <id>      run it now and leave it waiting for its time\n  \
         tasks/cancel <id>    cancel it (also /remove)"
    }
    fn help_category(&self) -> &str {
        "System"
    }
    fn locks(&self) -> &str {
        "cmd:perm(Developer)"
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(switch) = ctx.switches.first().cloned() else {
            list_tasks(ctx);
            return;
        };
        let Ok(id) = ctx.args.trim().parse::<TimerId>() else {
            ctx.msg(format!(
                "Usage: tasks/{switch} <id> (a number from the tasks list). Nothing was done."
            ));
            return;
        };
        let Some(name) = ctx
            .server
            .world
            .timers
            .delay(id)
            .map(|d| escape(&d.callback))
        else {
            ctx.msg(format!("There is no task {id}. Nothing was done."));
            return;
        };
        let (done, msg) = match switch.as_str() {
            "pause" => (ctx.server.delay_pause(id), "paused"),
            "unpause" => (ctx.server.delay_unpause(id), "unpaused"),
            "do_task" => (ctx.server.delay_run_now(id, false), "run now; it is done"),
            "call" => (
                ctx.server.delay_run_now(id, true),
                "run now; it still waits for its time",
            ),
            _ => (ctx.server.delay_cancel(id), "cancelled"),
        };
        if done {
            ctx.msg(format!("Task {id} ({name}) {msg}."));
        } else {
            ctx.msg(format!(
                "Task {id} ({name}) was not changed: it is {} already.",
                if switch == "pause" {
                    "paused or due"
                } else {
                    "running"
                }
            ));
        }
    }
}

fn list_tasks(ctx: &mut CmdCtx<'_>) {
    let now = ctx.server.now();
    let all: Vec<String> = ctx
        .server
        .world
        .timers
        .delays()
        .take(MAX_LISTED)
        .map(|d| {
            let mut args = d.args.to_string();
            if args.len() > 40 {
                let cut = (0..=40)
                    .rev()
                    .find(|i| args.is_char_boundary(*i))
                    .unwrap_or(0);
                args.truncate(cut);
                args.push_str("...");
            }
            let every = if d.schedule.repeats == 1 {
                String::new()
            } else {
                format!(" every {}", interval_text(d.schedule.interval))
            };
            format!(
                "{:>5} {:>12} {:<20} {}{}{}",
                d.id,
                next_text(&d.schedule, now),
                escape(&d.callback),
                escape(&args),
                every,
                if d.persistent { "" } else { " |y(not saved)|n" }
            )
        })
        .collect();
    let total = ctx.server.world.timers.delays().count();
    if all.is_empty() {
        ctx.msg("No tasks are waiting.");
        return;
    }
    let mut out = vec![format!(
        "|w{:>5} {:>12} {:<20} {}|n",
        "id", "runs in", "function", "arguments"
    )];
    out.extend(all);
    if total > MAX_LISTED {
        out.push(format!("... and {} more.", total - MAX_LISTED));
    }
    ctx.msg(out.join("\n"));
}

/// `time`: server and game time, and (for Builders) the next deadlines.
pub struct Time;

impl Command for Time {
    fn key(&self) -> &str {
        "time"
    }
    fn aliases(&self) -> &[&str] {
        &["uptime"]
    }
    fn read_only(&self) -> bool {
        true
    }
    fn help(&self) -> &str {
        "time\n\nHow long the server has run, the real and the game's time. Builders also see \
         what falls due next on the game's clock."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let s = &ctx.server;
        let now = s.now();
        let factor = s.settings.time.factor;
        let game = s.game_datetime();
        let mut out = vec![
            "|wServer time|n".to_string(),
            format!(" Current uptime : {}", span_text(now - s.started)),
            format!(" First start    : {}", time_text(s.world.first_start)),
            format!(" Since then     : {}", span_text(now - s.world.first_start)),
            format!(" Current time   : {}", time_text(now)),
            format!("|wGame time|n (real time x {factor})"),
            format!(" Current time   : {}", game.format("%Y-%m-%d %H:%M:%S")),
        ];
        if ctx.has_perm("Builder") {
            let s = &ctx.server;
            let t = &s.world.timers;
            out.push(format!(
                "|wClock|n: {} armed ({} scripts, {} tickers, {} tasks)",
                t.clock.len(),
                t.script_count(),
                t.ticker_count(),
                t.delays().count()
            ));
            for (at, due) in t.clock.upcoming().take(5) {
                let what = match due {
                    Due::Script(id) => format!(
                        "script {id} ({})",
                        t.script(*id).map(|s| escape(&s.key)).unwrap_or_default()
                    ),
                    Due::Delay(id) => format!(
                        "task {id} ({})",
                        t.delay(*id)
                            .map(|d| escape(&d.callback))
                            .unwrap_or_default()
                    ),
                    Due::Ticks(i) => format!("tickers every {}", interval_text(*i)),
                    Due::Flow(name) => format!("flow {}", escape(name)),
                    Due::IdleCheck => "the look at idle sessions".to_string(),
                };
                out.push(format!("  in {:<8} {what}", span_text(at - now)));
            }
        }
        ctx.msg(out.join("\n"));
    }
}
