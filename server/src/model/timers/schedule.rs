//! A timer's schedule: when it fires next, how often, how many times, and
//! what a pause kept. Deadlines are wall-clock times (ms since the Unix
//! epoch), so they mean the same after a reload or a crash; a timer keeps
//! its phase — the *n*th firing is due at `first + n × interval` — however
//! late the ones before it ran.

use serde::{Deserialize, Serialize};

use crate::model::ids::Timestamp;

/// What a timer does about a deadline that passed while the server was
/// down (or so busy that it is late by more than a whole interval).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missed {
    /// Fire once, at once, however many firings were missed; then go on in
    /// the original phase. The default.
    #[default]
    Once,
    /// Do not fire for what fell due while down; go on in the original
    /// phase (a one-shot delay is dropped).
    Skip,
}

/// When a timer fires. `interval ≤ 0` is a timer that never fires (a script
/// that only holds data and hooks).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Milliseconds between firings.
    pub interval: i64,
    /// How many times it fires in all; 0: for ever.
    pub repeats: u32,
    /// How many times it fired.
    pub done: u32,
    /// The next deadline; `None` while stopped or paused.
    pub next_at: Option<Timestamp>,
    /// While paused: how long was left until the next firing.
    pub paused_left: Option<i64>,
    /// What a deadline missed while down does.
    #[serde(default)]
    pub missed: Missed,
}

/// Where a timer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerState {
    /// Armed: it fires at its `next_at`.
    Running,
    /// Paused, keeping the time it had left.
    Paused,
    /// Not armed.
    Stopped,
}

impl Schedule {
    /// Every `interval` ms, `repeats` times (0: for ever); not started.
    pub fn every(interval: i64, repeats: u32) -> Self {
        Self {
            interval,
            repeats,
            ..Default::default()
        }
    }

    /// Once, `after` ms from when it is started.
    pub fn once(after: i64) -> Self {
        Self::every(after.max(1), 1)
    }

    /// Where it stands.
    pub fn state(&self) -> TimerState {
        if self.next_at.is_some() {
            TimerState::Running
        } else if self.paused_left.is_some() {
            TimerState::Paused
        } else {
            TimerState::Stopped
        }
    }

    /// Whether it has fired as many times as it may.
    pub fn exhausted(&self) -> bool {
        self.repeats > 0 && self.done >= self.repeats
    }

    /// How many firings are left (`None`: for ever).
    pub fn repeats_left(&self) -> Option<u32> {
        (self.repeats > 0).then(|| self.repeats.saturating_sub(self.done))
    }

    /// Arms it at `now`: the first firing comes after one interval with
    /// `start_delay`, or at once without (as Evennia's scripts do). A
    /// schedule with no interval, or none left, stays stopped.
    pub fn start(&mut self, now: Timestamp, start_delay: bool) {
        self.paused_left = None;
        self.next_at = (self.interval > 0 && !self.exhausted())
            .then(|| now + if start_delay { self.interval } else { 0 });
    }

    /// Disarms it (what it counted stays).
    pub fn stop(&mut self) {
        self.next_at = None;
        self.paused_left = None;
    }

    /// Pauses it, keeping the time left until the next firing. False when
    /// it was not running.
    pub fn pause(&mut self, now: Timestamp) -> bool {
        let Some(next) = self.next_at.take() else {
            return false;
        };
        self.paused_left = Some((next - now).max(0));
        true
    }

    /// Runs it again with the time it had left when paused. False when it
    /// was not paused.
    pub fn unpause(&mut self, now: Timestamp) -> bool {
        let Some(left) = self.paused_left.take() else {
            return false;
        };
        self.next_at = Some(now + left);
        true
    }

    /// The first deadline of this schedule's phase after `now`, counting on
    /// from `from` (a deadline of the phase).
    fn next_in_phase(&self, from: Timestamp, now: Timestamp) -> Timestamp {
        let step = self.interval.max(1);
        let next = from + step;
        if next > now {
            return next;
        }
        // Late by more than an interval: the missed firings are not made up.
        let behind = (now - from) / step + 1;
        from + behind * step
    }

    /// It fired at `now` (for the deadline it was armed for): the repeat
    /// counts, and it is armed for its next deadline in phase. False when
    /// that was its last firing (it is stopped).
    pub fn fired(&mut self, now: Timestamp) -> bool {
        let due = self.next_at.unwrap_or(now);
        self.done = self.done.saturating_add(1);
        if self.exhausted() || self.interval <= 0 {
            self.next_at = None;
            return false;
        }
        self.next_at = Some(self.next_in_phase(due, now));
        true
    }

    /// Fired ahead of time (Evennia's `force_repeat`): the repeat counts and
    /// the countdown starts again from `now`. False when that was the last.
    pub fn forced(&mut self, now: Timestamp) -> bool {
        let paused = self.paused_left.is_some();
        self.done = self.done.saturating_add(1);
        if self.exhausted() || self.interval <= 0 {
            self.stop();
            return false;
        }
        if paused {
            self.paused_left = Some(self.interval);
        } else {
            self.next_at = Some(now + self.interval);
        }
        true
    }

    /// After a start, for a deadline that passed while the server was down:
    /// true when it should fire now (`Missed::Once`). With `Missed::Skip` it
    /// is moved on to its next deadline in phase without firing (a one-shot
    /// timer is used up) and this returns false.
    pub fn resume(&mut self, now: Timestamp) -> bool {
        let Some(due) = self.next_at else {
            return false;
        };
        if due > now {
            return false;
        }
        match self.missed {
            Missed::Once => true,
            Missed::Skip => {
                if self.repeats == 1 || self.interval <= 0 {
                    self.done = self.done.max(1);
                    self.next_at = None;
                } else {
                    // The deadline passed: make it the one before `now`, then step.
                    let step = self.interval.max(1);
                    let last = due + (now - due) / step * step;
                    self.next_at = Some(last + step);
                }
                false
            }
        }
    }
}
