//! The one clock: a deadline queue that scripts, tickers, delays and flows
//! share. Arming, re-arming and firing are O(log n) in the number of armed
//! timers; asking for the next deadline is O(log n); nothing is scanned.

use std::collections::{BTreeSet, HashMap};

use super::TimerId;
use crate::model::ids::Timestamp;

/// What falls due: one entry per armed timer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Due {
    /// A script's next repeat.
    Script(TimerId),
    /// A delay (a task).
    Delay(TimerId),
    /// Every ticker of one interval (in ms): one deadline serves them all.
    Ticks(i64),
    /// A flow's next timeout, by the flow's name.
    Flow(String),
    /// The server's look at idle sessions (`[server] idle_timeout_secs`).
    IdleCheck,
}

/// The deadline queue.
#[derive(Default, Debug)]
pub struct Clock {
    queue: BTreeSet<(Timestamp, Due)>,
    at: HashMap<Due, Timestamp>,
}

impl Clock {
    /// Arms `due` for `at`, re-arms it, or (`None`) disarms it.
    pub fn set(&mut self, due: Due, at: Option<Timestamp>) {
        let before = self.at.get(&due).copied();
        if before == at {
            return;
        }
        if let Some(b) = before {
            self.queue.remove(&(b, due.clone()));
            self.at.remove(&due);
        }
        if let Some(a) = at {
            self.queue.insert((a, due.clone()));
            self.at.insert(due, a);
        }
    }

    /// When `due` is armed for.
    pub fn when(&self, due: &Due) -> Option<Timestamp> {
        self.at.get(due).copied()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Timestamp> {
        self.queue.first().map(|(t, _)| *t)
    }

    /// Takes the earliest entry if it is due by `now` (it is disarmed: what
    /// fires re-arms itself).
    pub fn pop_due(&mut self, now: Timestamp) -> Option<(Timestamp, Due)> {
        if self.next()? > now {
            return None;
        }
        let (t, due) = self.queue.pop_first()?;
        self.at.remove(&due);
        Some((t, due))
    }

    /// The armed deadlines, earliest first.
    pub fn upcoming(&self) -> impl Iterator<Item = &(Timestamp, Due)> {
        self.queue.iter()
    }

    /// How many timers are armed.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is armed.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}
