//! Time in game code: scripts, tickers and delays on the server's one
//! clock (the deadline queue of [`crate::model::timers`], shared with the
//! flows' timeouts), and game time.
//!
//! - A **script** is a kind of game code (a [`Script`], registered with
//!   `Game::script`) attached to an object, an account or nothing (global),
//!   with a timer, a key and attributes of its own: `at_repeat` runs every
//!   interval. Make one with [`Server::script_add`] and a [`NewScript`].
//! - A **ticker** runs a registered function (`Game::timer_fn`) for each
//!   subscriber of one interval; every subscriber of an interval shares one
//!   deadline ([`Server::ticker_add`]).
//! - A **delay** runs a registered function once, later ([`Server::delay`]);
//!   [`Server::schedule`] runs one at a game time of day.
//!
//! Deadlines are wall-clock times saved with the world: after a reload or a
//! crash every timer fires at its original time — at once if that passed
//! while the server was down, and then only once (see [`Missed`] for the
//! choice to skip instead). A firing's effects and the timer's new count are
//! saved in one commit, and what the firing tells players leaves only after
//! it, so no firing is lost or seen twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tracing::{error, warn};

use crate::model::ids::{AccountId, ObjId, Timestamp};
use crate::model::timers::{
    Attached, DelayData, Due, Missed, Schedule, ScriptData, TickerSub, TimerId, TimerState,
};
use crate::runtime::server::Server;

/// How many timers one turn of the clock fires at most; the rest fire on
/// the next turn, after the input that waited.
const MAX_FIRINGS_PER_TURN: usize = 100_000;

/// A kind of script: game code with hooks, run for each script of its kind.
/// Register it with `Game::script`; its state (timer, attributes) is the
/// script's, found with [`Server::script`].
///
/// ```
/// use tavern_server::timers::{Script, TimerId};
/// use tavern_server::Server;
///
/// /// Rain or shine, changing every few minutes.
/// struct Weather;
///
/// impl Script for Weather {
///     fn name(&self) -> &str { "weather" }
///     fn at_repeat(&self, server: &mut Server, id: TimerId) {
///         let Some(room) = server.script_obj(id) else { return };
///         let n = server.script_attr::<u32>(id, "turn").unwrap_or(0) + 1;
///         server.script_set_attr(id, "turn", n);
///         let sky = if n % 2 == 0 { "The rain stops." } else { "It starts to rain." };
///         server.msg_location(room, sky, &[]);
///     }
/// }
/// ```
pub trait Script: std::any::Any + Send + Sync {
    /// Its name: what `NewScript::named` and builders' `scripts obj = name` use.
    fn name(&self) -> &str;
    /// How often a new script of this kind repeats unless told otherwise
    /// (`None`: it has no timer of its own).
    fn interval(&self) -> Option<Duration> {
        None
    }
    /// What a new script of this kind is for, unless told otherwise.
    fn desc(&self) -> &str {
        ""
    }
    /// Once, when a script of this kind is made.
    fn at_script_creation(&self, _server: &mut Server, _script: TimerId) {}
    /// When it starts, is unpaused, and at every server start while it runs.
    fn at_start(&self, _server: &mut Server, _script: TimerId) {}
    /// Every interval (the repeat is already counted when this runs).
    fn at_repeat(&self, _server: &mut Server, _script: TimerId) {}
    /// When it is paused.
    fn at_pause(&self, _server: &mut Server, _script: TimerId) {}
    /// When it stops: stopped by hand, its repeats used up, no longer
    /// valid, deleted, or its object destroyed.
    fn at_stop(&self, _server: &mut Server, _script: TimerId) {}
    /// Checked before each repeat: false stops and deletes it.
    fn is_valid(&self, _server: &Server, _script: TimerId) -> bool {
        true
    }
}

/// Game code a ticker or a delay runs, registered by name with
/// `Game::timer_fn`: it is found again by that name after a reload.
pub type TimerFn = Arc<dyn Fn(&mut Server, &TimerCall<'_>) + Send + Sync>;

/// What a [`TimerFn`] is called with.
#[derive(Debug)]
pub struct TimerCall<'a> {
    /// The delay's id (`None` for a ticker).
    pub id: Option<TimerId>,
    /// The ticker's object (`None` for a delay or a global ticker).
    pub target: Option<ObjId>,
    /// The arguments it was given.
    pub args: &'a Value,
}

/// The game's kinds of scripts and timer functions, by name.
#[derive(Clone, Default)]
pub struct TimerCode {
    scripts: HashMap<String, Arc<dyn Script>>,
    fns: HashMap<String, TimerFn>,
    /// The global scripts the game declares: made at a start when missing.
    pub(crate) globals: Vec<NewScript>,
}

impl TimerCode {
    /// Registers a kind of script.
    pub fn add_script(&mut self, s: Arc<dyn Script>) {
        self.scripts.insert(s.name().to_string(), s);
    }

    /// Registers a timer function.
    pub fn add_fn(&mut self, name: &str, f: TimerFn) {
        self.fns.insert(name.to_string(), f);
    }

    /// A kind of script by name.
    pub fn script(&self, name: &str) -> Option<Arc<dyn Script>> {
        self.scripts.get(name).cloned()
    }

    /// A timer function by name.
    pub fn timer_fn(&self, name: &str) -> Option<TimerFn> {
        self.fns.get(name).cloned()
    }

    /// The names of the kinds of scripts, sorted.
    pub fn script_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.scripts.keys().cloned().collect();
        v.sort();
        v
    }
}

/// Why a timer could not be made or changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimerError {
    /// No kind of script has that name.
    #[error("there is no kind of script called '{0}'")]
    UnknownScript(String),
    /// No timer function has that name.
    #[error("there is no timer function called '{0}'")]
    UnknownFn(String),
    /// The object it would be on does not exist.
    #[error("there is no object #{0}")]
    NoObject(ObjId),
    /// The account it would be on does not exist.
    #[error("there is no account #{0}")]
    NoAccount(AccountId),
    /// A timer needs an interval of at least a millisecond.
    #[error("the interval must be at least 1 ms")]
    BadInterval,
    /// No script has that id.
    #[error("there is no script #{0}")]
    NoScript(TimerId),
}

/// A script to make: its kind, and how it is set up. Built like
/// `NewObject`:
///
/// ```
/// # use std::time::Duration;
/// # use tavern_server::timers::NewScript;
/// let spec = NewScript::named("weather")
///     .on(12)
///     .every(Duration::from_secs(300))
///     .desc("rain or shine");
/// # let _ = spec;
/// ```
#[derive(Clone, Debug)]
pub struct NewScript {
    typeclass: String,
    key: Option<String>,
    desc: String,
    on: Attached,
    interval: Option<Duration>,
    start_delay: bool,
    repeats: u32,
    persistent: bool,
    missed: Missed,
    attrs: Map<String, Value>,
}

impl NewScript {
    /// A script of the kind registered as `typeclass`: global, persistent,
    /// with no timer until [`NewScript::every`] gives it one.
    pub fn named(typeclass: &str) -> Self {
        Self {
            typeclass: typeclass.to_string(),
            key: None,
            desc: String::new(),
            on: Attached::Global,
            interval: None,
            start_delay: true,
            repeats: 0,
            persistent: true,
            missed: Missed::Once,
            attrs: Map::new(),
        }
    }

    /// A script of this kind, with its default interval and description.
    pub fn of(kind: &dyn Script) -> Self {
        Self {
            interval: kind.interval(),
            desc: kind.desc().to_string(),
            ..Self::named(kind.name())
        }
    }

    /// The key to find it by (default: the kind's name).
    pub fn key(mut self, key: &str) -> Self {
        self.key = Some(key.to_string());
        self
    }

    /// What it is for, shown by `scripts`.
    pub fn desc(mut self, desc: &str) -> Self {
        self.desc = desc.to_string();
        self
    }

    /// On an object (it goes when the object is destroyed).
    pub fn on(mut self, obj: ObjId) -> Self {
        self.on = Attached::Object(obj);
        self
    }

    /// On an account.
    pub fn on_account(mut self, account: AccountId) -> Self {
        self.on = Attached::Account(account);
        self
    }

    /// `at_repeat` every `interval`.
    pub fn every(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Whether the first repeat waits one interval (true, the default) or
    /// comes at once (Evennia's `start_delay=False`).
    pub fn start_delay(mut self, wait: bool) -> Self {
        self.start_delay = wait;
        self
    }

    /// How many repeats in all (0, the default: for ever); then it stops
    /// and is deleted.
    pub fn repeats(mut self, n: u32) -> Self {
        self.repeats = n;
        self
    }

    /// Whether it is saved (the default); a script that is not ends with
    /// the server process (a reload or a crash).
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.persistent = persistent;
        self
    }

    /// What a repeat that fell due while the server was down does.
    pub fn missed(mut self, missed: Missed) -> Self {
        self.missed = missed;
        self
    }

    /// An attribute of its own to start with.
    pub fn attr(mut self, name: &str, value: impl serde::Serialize) -> Self {
        self.attrs.insert(
            name.to_string(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
        self
    }

    /// The key it will have.
    pub fn key_text(&self) -> &str {
        self.key.as_deref().unwrap_or(&self.typeclass)
    }
}

/// A time of the game's day (see [`Server::schedule`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GameTimeOfDay {
    /// 0–23.
    pub hour: u32,
    /// 0–59.
    pub minute: u32,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Server {
    // ---- the clock ----

    /// Fires what is due on the one clock: scripts, delays, ticks and flow
    /// timeouts, earliest first.
    pub(crate) fn fire_timers(&mut self) {
        let now = self.now();
        for _ in 0..MAX_FIRINGS_PER_TURN {
            let Some((_, due)) = self.world.timers.clock.pop_due(now) else {
                break;
            };
            match due {
                Due::Script(id) => self.fire_script(id),
                Due::Delay(id) => self.fire_delay(id),
                Due::Ticks(interval) => self.fire_ticks(interval),
                Due::Flow(name) => self.flow_timeout(&name),
                Due::IdleCheck => self.check_idle(),
            }
        }
    }

    /// The next deadline on the clock.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.world.timers.clock.next()
    }

    /// After the world is loaded: what fell due while the server was down
    /// and is to be skipped is moved on; the game's global scripts are made
    /// if missing; every running script's `at_start` runs.
    pub(crate) fn start_timers(&mut self) {
        let now = self.now();
        let scripts: Vec<TimerId> = self.world.timers.scripts().map(|s| s.id).collect();
        for id in &scripts {
            let skip = self
                .world
                .timers
                .script(*id)
                .is_some_and(|s| s.schedule.missed == Missed::Skip);
            if skip {
                self.world
                    .timers
                    .update_script(*id, |s| s.schedule.resume(now));
            }
        }
        let delays: Vec<TimerId> = self
            .world
            .timers
            .delays()
            .filter(|d| d.schedule.missed == Missed::Skip)
            .map(|d| d.id)
            .collect();
        for id in delays {
            self.world
                .timers
                .update_delay(id, |d| d.schedule.resume(now));
            if self
                .world
                .timers
                .delay(id)
                .is_some_and(|d| d.schedule.state() == TimerState::Stopped)
            {
                self.world.timers.remove_delay(id);
            }
        }
        for id in scripts {
            if self
                .world
                .timers
                .script(id)
                .is_some_and(|s| s.schedule.state() == TimerState::Running)
            {
                self.script_hook(id, "at_start", |k, s| k.at_start(s, id));
            }
        }
        self.arm_idle_check();
        let globals = self.game.timers.globals.clone();
        for spec in globals {
            let exists = self
                .world
                .timers
                .scripts_keyed(spec.key_text())
                .into_iter()
                .any(|id| {
                    self.world
                        .timers
                        .script(id)
                        .is_some_and(|s| s.on == Attached::Global)
                });
            if !exists && let Err(e) = self.script_add(spec.clone()) {
                error!(
                    script = spec.key_text(),
                    "a global script cannot be made: {e}"
                );
            }
        }
    }

    // ---- scripts ----

    /// Runs a hook of a script's kind, catching a panic in game code.
    fn script_hook(
        &mut self,
        id: TimerId,
        what: &'static str,
        f: impl FnOnce(&dyn Script, &mut Server),
    ) {
        let Some(kind) = self
            .world
            .timers
            .script(id)
            .and_then(|s| self.game.timers.script(&s.typeclass))
        else {
            return;
        };
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(kind.as_ref(), self)));
        if ran.is_err() {
            error!(
                script = id,
                kind = kind.name(),
                hook = what,
                "a script hook panicked"
            );
        }
    }

    /// Makes a script and starts its timer; `at_script_creation` and
    /// `at_start` run. Its id.
    pub fn script_add(&mut self, spec: NewScript) -> Result<TimerId, TimerError> {
        if self.game.timers.script(&spec.typeclass).is_none() {
            return Err(TimerError::UnknownScript(spec.typeclass));
        }
        match spec.on {
            Attached::Object(o) if self.world.get(o).is_none() => {
                return Err(TimerError::NoObject(o));
            }
            Attached::Account(a) if !self.world.accounts.contains_key(&a) => {
                return Err(TimerError::NoAccount(a));
            }
            _ => {}
        }
        let interval = match spec.interval {
            Some(d) if millis(d) < 1 => return Err(TimerError::BadInterval),
            Some(d) => millis(d),
            None => 0,
        };
        let now = self.now();
        let mut schedule = Schedule::every(interval, spec.repeats);
        schedule.missed = spec.missed;
        schedule.start(now, spec.start_delay);
        let key = spec.key_text().to_string();
        let id = self.world.timers.add_script(ScriptData {
            id: 0,
            key,
            typeclass: spec.typeclass,
            desc: spec.desc,
            on: spec.on,
            schedule,
            persistent: spec.persistent,
            attrs: spec.attrs,
            created_at: now,
        });
        self.script_hook(id, "at_script_creation", |k, s| k.at_script_creation(s, id));
        if self
            .world
            .timers
            .script(id)
            .is_some_and(|s| s.schedule.state() == TimerState::Running)
        {
            self.script_hook(id, "at_start", |k, s| k.at_start(s, id));
        }
        Ok(id)
    }

    /// A script, to read its key, schedule and attributes.
    pub fn script(&self, id: TimerId) -> Option<&ScriptData> {
        self.world.timers.script(id)
    }

    /// The object a script is on.
    pub fn script_obj(&self, id: TimerId) -> Option<ObjId> {
        match self.script(id)?.on {
            Attached::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The scripts on an object.
    pub fn scripts_on(&self, obj: ObjId) -> Vec<TimerId> {
        self.world.timers.scripts_on(Attached::Object(obj))
    }

    /// The scripts with this key (case does not matter), wherever they are.
    pub fn scripts_keyed(&self, key: &str) -> Vec<TimerId> {
        self.world.timers.scripts_keyed(key)
    }

    /// The global script with this key (what `Game::global_script` made).
    pub fn global_script(&self, key: &str) -> Option<TimerId> {
        self.world
            .timers
            .scripts_keyed(key)
            .into_iter()
            .find(|id| self.script(*id).is_some_and(|s| s.on == Attached::Global))
    }

    /// A script's attribute, converted.
    pub fn script_attr<T: serde::de::DeserializeOwned>(
        &self,
        id: TimerId,
        name: &str,
    ) -> Option<T> {
        self.script(id)?.attr(name)
    }

    /// Sets a script's attribute (saved with the script). False when there
    /// is no such script.
    pub fn script_set_attr(
        &mut self,
        id: TimerId,
        name: &str,
        value: impl serde::Serialize,
    ) -> bool {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.world
            .timers
            .update_script(id, |s| s.attrs.insert(name.to_string(), value))
            .is_some()
    }

    fn fire_script(&mut self, id: TimerId) {
        let Some(s) = self.world.timers.script(id) else {
            return;
        };
        let Some(kind) = self.game.timers.script(&s.typeclass) else {
            error!(script = id, kind = %s.typeclass, "a script of an unknown kind is stopped");
            self.world.timers.update_script(id, |s| s.schedule.stop());
            return;
        };
        let valid =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| kind.is_valid(self, id)))
                .unwrap_or(false);
        if !valid {
            self.end_script(id);
            return;
        }
        let now = self.now();
        self.world
            .timers
            .update_script(id, |s| s.schedule.fired(now));
        self.script_hook(id, "at_repeat", |k, s| k.at_repeat(s, id));
        if self
            .world
            .timers
            .script(id)
            .is_some_and(|s| s.schedule.exhausted())
        {
            self.end_script(id);
        }
    }

    /// Stops a script for good: `at_stop`, then it is deleted.
    fn end_script(&mut self, id: TimerId) {
        self.script_hook(id, "at_stop", |k, s| k.at_stop(s, id));
        self.world.timers.remove_script(id);
    }

    /// Stops a script's timer (`at_stop` runs); the script stays, and
    /// [`Server::script_start`] starts it again. False when it was not
    /// running or paused.
    pub fn script_stop(&mut self, id: TimerId) -> bool {
        let running = self
            .script(id)
            .is_some_and(|s| s.schedule.state() != TimerState::Stopped);
        if !running {
            return false;
        }
        self.world.timers.update_script(id, |s| s.schedule.stop());
        self.script_hook(id, "at_stop", |k, s| k.at_stop(s, id));
        true
    }

    /// Starts a stopped script again (its count starts over if it was used
    /// up), or unpauses a paused one. False when it was running already or
    /// has no interval.
    pub fn script_start(&mut self, id: TimerId) -> bool {
        match self.script(id).map(|s| s.schedule.state()) {
            Some(TimerState::Paused) => return self.script_unpause(id),
            Some(TimerState::Stopped) => {}
            _ => return false,
        }
        let now = self.now();
        let started = self
            .world
            .timers
            .update_script(id, |s| {
                if s.schedule.exhausted() {
                    s.schedule.done = 0;
                }
                s.schedule.start(now, true);
                s.schedule.state() == TimerState::Running
            })
            .unwrap_or(false);
        if started {
            self.script_hook(id, "at_start", |k, s| k.at_start(s, id));
        }
        started
    }

    /// Pauses a script, keeping the time left to its next repeat
    /// (`at_pause` runs). False when it was not running.
    pub fn script_pause(&mut self, id: TimerId) -> bool {
        let now = self.now();
        let paused = self
            .world
            .timers
            .update_script(id, |s| s.schedule.pause(now))
            .unwrap_or(false);
        if paused {
            self.script_hook(id, "at_pause", |k, s| k.at_pause(s, id));
        }
        paused
    }

    /// Runs a paused script again with the time it had left (`at_start`
    /// runs). False when it was not paused.
    pub fn script_unpause(&mut self, id: TimerId) -> bool {
        let now = self.now();
        let unpaused = self
            .world
            .timers
            .update_script(id, |s| s.schedule.unpause(now))
            .unwrap_or(false);
        if unpaused {
            self.script_hook(id, "at_start", |k, s| k.at_start(s, id));
        }
        unpaused
    }

    /// Repeats a script now (`at_repeat` runs, the repeat counts, the
    /// countdown starts again). False when there is no such script or it
    /// has no timer.
    pub fn script_force_repeat(&mut self, id: TimerId) -> bool {
        let now = self.now();
        let has_timer = self.script(id).is_some_and(|s| s.schedule.interval > 0);
        if !has_timer {
            return false;
        }
        self.world
            .timers
            .update_script(id, |s| s.schedule.forced(now));
        self.script_hook(id, "at_repeat", |k, s| k.at_repeat(s, id));
        if self.script(id).is_some_and(|s| s.schedule.exhausted()) {
            self.end_script(id);
        }
        true
    }

    /// Deletes a script (`at_stop` runs first if it was running or
    /// paused). False when there was no such script.
    pub fn script_delete(&mut self, id: TimerId) -> bool {
        let Some(state) = self.script(id).map(|s| s.schedule.state()) else {
            return false;
        };
        if state != TimerState::Stopped {
            self.script_hook(id, "at_stop", |k, s| k.at_stop(s, id));
        }
        self.world.timers.remove_script(id).is_some()
    }

    /// An object is about to be destroyed: its scripts stop (`at_stop`)
    /// and are deleted.
    pub(crate) fn stop_scripts_on(&mut self, obj: ObjId) {
        for id in self.scripts_on(obj) {
            self.script_delete(id);
        }
    }

    // ---- delays ----

    /// Runs the timer function registered as `callback` with `args` once,
    /// `after` from now. A persistent delay is saved and runs after a
    /// reload or a crash (at once if its time passed meanwhile); one that is
    /// not ends with the server process. Its id (`tasks` shows it).
    pub fn delay(
        &mut self,
        after: Duration,
        callback: &str,
        args: Value,
        persistent: bool,
    ) -> Result<TimerId, TimerError> {
        let mut schedule = Schedule::once(millis(after).max(1));
        schedule.start(self.now(), true);
        self.add_delay(callback, args, schedule, persistent)
    }

    fn add_delay(
        &mut self,
        callback: &str,
        args: Value,
        schedule: Schedule,
        persistent: bool,
    ) -> Result<TimerId, TimerError> {
        if self.game.timers.timer_fn(callback).is_none() {
            return Err(TimerError::UnknownFn(callback.to_string()));
        }
        let created_at = self.now();
        Ok(self.world.timers.add_delay(DelayData {
            id: 0,
            callback: callback.to_string(),
            args,
            schedule,
            persistent,
            created_at,
        }))
    }

    /// Arms a delay again to run `after` from now, with the same function
    /// and arguments, whether it was waiting or paused (a fighter's guard
    /// that every blow keeps up, an idle timeout every command puts off).
    /// A persistent one is saved with its new time. False when there is no
    /// such delay (it ran, or was cancelled): arm a new one then.
    pub fn delay_rearm(&mut self, id: TimerId, after: Duration) -> bool {
        let now = self.now();
        self.world
            .timers
            .update_delay(id, |d| {
                d.schedule = Schedule::once(millis(after).max(1));
                d.schedule.start(now, true);
            })
            .is_some()
    }

    /// Cancels a delay. False when there was none.
    pub fn delay_cancel(&mut self, id: TimerId) -> bool {
        self.world.timers.remove_delay(id).is_some()
    }

    /// Pauses a delay, keeping the time it had left. False when it was not running.
    pub fn delay_pause(&mut self, id: TimerId) -> bool {
        let now = self.now();
        self.world
            .timers
            .update_delay(id, |d| d.schedule.pause(now))
            .unwrap_or(false)
    }

    /// Runs a paused delay on with the time it had left. False when it was not paused.
    pub fn delay_unpause(&mut self, id: TimerId) -> bool {
        let now = self.now();
        self.world
            .timers
            .update_delay(id, |d| d.schedule.unpause(now))
            .unwrap_or(false)
    }

    /// Runs a delay's function now: `keep` leaves the delay waiting for
    /// its time (Evennia's `tasks/call`), otherwise it is done (`do_task`).
    /// False when there is no such delay.
    pub fn delay_run_now(&mut self, id: TimerId, keep: bool) -> bool {
        let Some(d) = self.world.timers.delay(id).cloned() else {
            return false;
        };
        if !keep {
            self.world.timers.remove_delay(id);
        }
        self.call_timer_fn(&d.callback, Some(id), None, &d.args);
        true
    }

    fn call_timer_fn(
        &mut self,
        name: &str,
        id: Option<TimerId>,
        target: Option<ObjId>,
        args: &Value,
    ) {
        let Some(f) = self.game.timers.timer_fn(name) else {
            error!(
                timer_fn = name,
                "no timer function has this name: nothing was run"
            );
            return;
        };
        let call = TimerCall { id, target, args };
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self, &call)));
        if ran.is_err() {
            error!(timer_fn = name, ?id, ?target, "a timer function panicked");
        }
    }

    fn fire_delay(&mut self, id: TimerId) {
        let now = self.now();
        let Some(d) = self.world.timers.delay(id).cloned() else {
            return;
        };
        let more = self
            .world
            .timers
            .update_delay(id, |d| d.schedule.fired(now))
            .unwrap_or(false);
        if !more {
            self.world.timers.remove_delay(id);
        }
        self.call_timer_fn(&d.callback, Some(id), None, &d.args);
    }

    // ---- tickers ----

    /// Runs the timer function `hook` with `target` and `args` every
    /// `every`, until [`Server::ticker_remove`] (or `target` is destroyed).
    /// Every ticker of one interval shares one timer, and ticks fall on
    /// multiples of the interval, the same after a reload. Adding the same
    /// `(every, target, hook)` again replaces its arguments.
    pub fn ticker_add(
        &mut self,
        every: Duration,
        target: Option<ObjId>,
        hook: &str,
        args: Value,
    ) -> Result<(), TimerError> {
        let interval = millis(every);
        if interval < 1 {
            return Err(TimerError::BadInterval);
        }
        if self.game.timers.timer_fn(hook).is_none() {
            return Err(TimerError::UnknownFn(hook.to_string()));
        }
        if let Some(t) = target
            && self.world.get(t).is_none()
        {
            return Err(TimerError::NoObject(t));
        }
        let now = self.now();
        self.world.timers.add_ticker(
            TickerSub {
                interval,
                target,
                hook: hook.to_string(),
                args,
            },
            now,
        );
        Ok(())
    }

    /// Ends a ticker subscription. False when there was none.
    pub fn ticker_remove(&mut self, every: Duration, target: Option<ObjId>, hook: &str) -> bool {
        self.world.timers.remove_ticker(millis(every), target, hook)
    }

    fn fire_ticks(&mut self, interval: i64) {
        let now = self.now();
        let Some(group) = self.world.timers.tick_group(interval) else {
            return;
        };
        let subs: Vec<((Option<ObjId>, String), Value)> = group
            .subs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.world.timers.ticked(interval, now);
        for ((target, hook), args) in subs {
            if let Some(t) = target
                && self.world.get(t).is_none()
            {
                self.world.timers.remove_ticker(interval, Some(t), &hook);
                continue;
            }
            if self.game.timers.timer_fn(&hook).is_none() {
                warn!(hook = %hook, "a ticker's function is not registered: skipped");
                continue;
            }
            self.call_timer_fn(&hook, None, target, &args);
        }
    }

    // ---- game time ----

    /// The game's date and time at its first start (`[time] game_epoch`,
    /// or the real date of the first start), in ms since the Unix epoch.
    fn game_epoch_ms(&self) -> i64 {
        let text = self.settings.time.game_epoch.trim();
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or(self.world.first_start)
    }

    /// Game time now, in ms since the Unix epoch of the game's calendar: it
    /// runs `[time] factor` times faster than real time from the first
    /// start, downtime included.
    pub fn game_time_ms(&self) -> i64 {
        let real = (self.now() - self.world.first_start).max(0) as f64;
        self.game_epoch_ms() + (real * self.settings.time.factor) as i64
    }

    /// Game time now as a date and time.
    pub fn game_datetime(&self) -> chrono::NaiveDateTime {
        chrono::DateTime::from_timestamp_millis(self.game_time_ms())
            .unwrap_or_default()
            .naive_utc()
    }

    /// Runs the timer function `callback` with `args` at the next `at` of
    /// the game's day, and (`repeat`) every game day after: dawn and dusk.
    /// Saved like a persistent delay; `tasks` lists it. Its id.
    pub fn schedule(
        &mut self,
        at: GameTimeOfDay,
        repeat: bool,
        callback: &str,
        args: Value,
    ) -> Result<TimerId, TimerError> {
        let factor = self.settings.time.factor;
        let day_ms = 86_400_000i64;
        let game_now = self.game_time_ms();
        let into_day = game_now.rem_euclid(day_ms);
        let target = (i64::from(at.hour.min(23)) * 3600 + i64::from(at.minute.min(59)) * 60) * 1000;
        let mut wait_game = target - into_day;
        if wait_game <= 0 {
            wait_game += day_ms;
        }
        let wait_real = ((wait_game as f64) / factor).ceil() as i64;
        let period_real = ((day_ms as f64) / factor).round().max(1.0) as i64;
        let mut schedule = Schedule::every(period_real, if repeat { 0 } else { 1 });
        schedule.next_at = Some(self.now() + wait_real.max(1));
        self.add_delay(callback, args, schedule, true)
    }
}
