//! The server's figures for the metrics endpoint: what the server process
//! measures, sent to the portal over the link every few seconds
//! ([`crate::link::ToPortal::Metrics`]), where the web port serves them in
//! Prometheus' format with the portal's own.

use serde::{Deserialize, Serialize};

/// A histogram: counts of observations per bucket (each bucket's upper
/// bound; the last bucket is everything above the last bound), and their sum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// The buckets' upper bounds, ascending.
    pub bounds: Vec<f64>,
    /// Observations per bucket (not cumulative): one more than `bounds`.
    pub counts: Vec<u64>,
    /// The sum of every observation.
    pub sum: f64,
}

/// Bounds for durations in seconds, from 50 µs to 2.5 s.
pub const SECONDS_BOUNDS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5,
];

/// Bounds for sizes (rows in a commit, ...): powers of four.
pub const SIZE_BOUNDS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0,
];

impl Histogram {
    /// An empty histogram over these bounds.
    pub fn new(bounds: &[f64]) -> Self {
        Self {
            bounds: bounds.to_vec(),
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    /// Counts one observation.
    pub fn observe(&mut self, v: f64) {
        let i = self.bounds.partition_point(|b| *b < v);
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.sum += v;
    }

    /// How many observations there were.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(upper bound, count)` per bucket, the last with an infinite bound.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        self.bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.counts.iter().copied())
            .collect()
    }
}

/// A snapshot of the server process's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerMetrics {
    /// The server's pid.
    pub pid: u32,
    /// Seconds since the server process started.
    pub uptime_secs: u64,
    /// Its resident memory, in bytes (0 where unknown).
    pub rss_bytes: u64,
    /// Commands run since it started.
    pub commands_total: u64,
    /// How long commands took on the game thread, in seconds.
    pub command_seconds: Histogram,
    /// Messages sent to sessions since it started.
    pub messages_total: u64,
    /// Events waiting for the game thread (input, timers' wake-ups, ...).
    pub event_queue: u64,
    /// Answers held until what they report is saved.
    pub held_frames: u64,
    /// Changes handed to the persister and not yet durable.
    pub persister_lag: u64,
    /// How long the oldest of them has waited, in seconds.
    pub persister_lag_seconds: f64,
    /// Commits written since the server started.
    pub commits_total: u64,
    /// How long each commit took to write, in seconds.
    pub commit_seconds: Histogram,
    /// Rows (objects, accounts, ...) per commit.
    pub commit_rows: Histogram,
    /// Writes to the database that failed (each retried until it lands).
    pub database_errors_total: u64,
    /// Objects in the world.
    pub objects: u64,
    /// Accounts.
    pub accounts: u64,
    /// Sessions the server knows.
    pub sessions: u64,
    /// Sessions logged in.
    pub logged_in: u64,
    /// Flows running.
    pub flows: u64,
    /// Scripts.
    pub scripts: u64,
    /// Tickers, delays and other timers waiting.
    pub timers: u64,
}

impl Default for ServerMetrics {
    fn default() -> Self {
        Self {
            pid: 0,
            uptime_secs: 0,
            rss_bytes: 0,
            commands_total: 0,
            command_seconds: Histogram::new(SECONDS_BOUNDS),
            messages_total: 0,
            event_queue: 0,
            held_frames: 0,
            persister_lag: 0,
            persister_lag_seconds: 0.0,
            commits_total: 0,
            commit_seconds: Histogram::new(SECONDS_BOUNDS),
            commit_rows: Histogram::new(SIZE_BOUNDS),
            database_errors_total: 0,
            objects: 0,
            accounts: 0,
            sessions: 0,
            logged_in: 0,
            flows: 0,
            scripts: 0,
            timers: 0,
        }
    }
}

/// This process's resident memory in bytes, where the system tells it
/// (Linux's `/proc/self/status`).
pub fn rss_bytes() -> Option<u64> {
    rss_of("/proc/self/status")
}

/// Another process's resident memory, in bytes (Linux; `None` elsewhere).
pub fn rss_bytes_of(pid: u32) -> Option<u64> {
    rss_of(&format!("/proc/{pid}/status"))
}

fn rss_of(path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_fall_in_the_first_bucket_that_holds_them() {
        let mut h = Histogram::new(&[1.0, 2.0]);
        for v in [0.5, 1.0, 1.5, 3.0, 9.0] {
            h.observe(v);
        }
        assert_eq!(h.counts, vec![2, 1, 2]);
        assert_eq!(h.count(), 5);
        assert_eq!(h.sum, 15.0);
        assert_eq!(h.buckets(), vec![(1.0, 2), (2.0, 1), (f64::INFINITY, 2)]);
    }
}
