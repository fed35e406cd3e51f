//! Per-address rate limits (failed logins, account creations): at most `max`
//! events per address within a sliding window. Memory is bounded: old entries
//! are pruned and the number of addresses tracked is capped.

use std::collections::{HashMap, VecDeque};

use crate::model::world::Timestamp;

const MAX_ADDRESSES: usize = 10_000;

/// A sliding-window rate limit per key (an address, an account name).
pub(crate) struct Throttle {
    max: usize,
    /// The window, in ms.
    window: i64,
    hits: HashMap<String, VecDeque<Timestamp>>,
}

impl Throttle {
    /// `max == 0` means no limit.
    pub(crate) fn new(max: u32, window_secs: u64) -> Self {
        Self {
            max: max as usize,
            window: (window_secs as i64).saturating_mul(1000),
            hits: HashMap::new(),
        }
    }

    /// Whether `addr` may do the throttled thing now.
    pub(crate) fn allows(&mut self, addr: &str, now: Timestamp) -> bool {
        if self.max == 0 {
            return true;
        }
        match self.hits.get_mut(addr) {
            Some(q) => {
                while q.front().is_some_and(|t| now - *t >= self.window) {
                    q.pop_front();
                }
                q.len() < self.max
            }
            None => true,
        }
    }

    /// Counts an event of `addr` at `now` if it is allowed (one step, so
    /// attempts made at once are counted as they start, not as they end).
    pub(crate) fn take(&mut self, addr: &str, now: Timestamp) -> bool {
        if !self.allows(addr, now) {
            return false;
        }
        self.record(addr, now);
        true
    }

    /// Takes back the last event counted for `addr` (an attempt that turned
    /// out not to count: a login that succeeded).
    pub(crate) fn forgive(&mut self, addr: &str) {
        if let Some(q) = self.hits.get_mut(addr) {
            q.pop_back();
            if q.is_empty() {
                self.hits.remove(addr);
            }
        }
    }

    /// How many events of `addr` are within the window at `now`.
    pub(crate) fn count(&mut self, addr: &str, now: Timestamp) -> usize {
        self.allows(addr, now);
        self.hits.get(addr).map_or(0, VecDeque::len)
    }

    /// Counts one event of `addr` at `now`.
    pub(crate) fn record(&mut self, addr: &str, now: Timestamp) {
        if self.max == 0 {
            return;
        }
        if self.hits.len() >= MAX_ADDRESSES && !self.hits.contains_key(addr) {
            let window = self.window;
            self.hits
                .retain(|_, q| q.back().is_some_and(|t| now - *t < window));
            if self.hits.len() >= MAX_ADDRESSES {
                return;
            }
        }
        let q = self.hits.entry(addr.to_string()).or_default();
        q.push_back(now);
        while q.len() > self.max {
            q.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_within_the_window() {
        let mut t = Throttle::new(2, 60);
        let t0: Timestamp = 1_700_000_000_000;
        assert!(t.allows("a", t0));
        t.record("a", t0);
        t.record("a", t0);
        assert!(!t.allows("a", t0));
        assert!(t.allows("b", t0), "other addresses are not affected");
        assert!(t.allows("a", t0 + 61_000), "the window slides");
    }

    #[test]
    fn attempts_count_as_they_start_and_a_success_is_taken_back() {
        let mut t = Throttle::new(2, 60);
        let t0: Timestamp = 1_700_000_000_000;
        // Three attempts at once: the third is refused before any has ended.
        assert!(t.take("a", t0));
        assert!(t.take("a", t0));
        assert!(!t.take("a", t0));
        t.forgive("a");
        assert_eq!(t.count("a", t0), 1);
        assert!(t.take("a", t0));
        assert_eq!(t.count("a", t0 + 61_000), 0, "the window slides");
    }

    #[test]
    fn zero_means_unlimited() {
        let mut t = Throttle::new(0, 60);
        let t0: Timestamp = 1_700_000_000_000;
        for _ in 0..100 {
            t.record("a", t0);
        }
        assert!(t.allows("a", t0));
    }
}
