//! Per-address connection limits: how many connections one address may hold
//! open, and how many it may open per minute, across every listener (telnet,
//! TLS, HTTP and websocket share one gate, so the limits hold whatever
//! protocol an address uses). A connection holds a [`Permit`] for as long as
//! it lives. The accept tasks share the gate through a concurrent map
//! (dashmap): an address's entry is locked, never the whole gate. Memory is
//! bounded: idle addresses are forgotten, and the number tracked is capped.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;

/// Told to an address over its limit, before the connection is closed.
pub(crate) const TOO_MANY_MSG: &str =
    "Too many connections from your address. Please try again in a little while.";

const WINDOW: Duration = Duration::from_secs(60);
const MAX_ADDRESSES: usize = 100_000;

#[derive(Default)]
struct Entry {
    open: usize,
    recent: VecDeque<Instant>,
}

/// The limits, and what each address holds.
pub(crate) struct ConnectionGate {
    max_open: usize,
    max_per_minute: usize,
    entries: DashMap<IpAddr, Entry>,
}

/// One admitted connection; dropping it frees its place.
pub(crate) struct Permit {
    gate: Arc<ConnectionGate>,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(mut e) = self.gate.entries.get_mut(&self.ip) {
            e.open = e.open.saturating_sub(1);
        }
    }
}

impl ConnectionGate {
    /// `0` for either limit means no limit.
    pub(crate) fn new(max_open: usize, max_per_minute: usize) -> Arc<Self> {
        Arc::new(Self {
            max_open,
            max_per_minute,
            entries: DashMap::new(),
        })
    }

    /// Admits a connection from `ip`, or refuses it.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Option<Permit> {
        if self.entries.len() >= MAX_ADDRESSES && !self.entries.contains_key(&ip) {
            self.entries.retain(|_, e| {
                e.open > 0
                    || e.recent
                        .back()
                        .is_some_and(|t| now.duration_since(*t) < WINDOW)
            });
            if self.entries.len() >= MAX_ADDRESSES {
                return None;
            }
        }
        let mut e = self.entries.entry(ip).or_default();
        while e
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            e.recent.pop_front();
        }
        if (self.max_open > 0 && e.open >= self.max_open)
            || (self.max_per_minute > 0 && e.recent.len() >= self.max_per_minute)
        {
            return None;
        }
        e.open += 1;
        if self.max_per_minute > 0 {
            e.recent.push_back(now);
        }
        Some(Permit {
            gate: self.clone(),
            ip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_connections_are_limited_and_freed_on_drop() {
        let gate = ConnectionGate::new(2, 0);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let now = Instant::now();
        let a = gate.admit(ip, now).unwrap();
        let _b = gate.admit(ip, now).unwrap();
        assert!(gate.admit(ip, now).is_none(), "a third at once is refused");
        assert!(
            gate.admit("10.0.0.2".parse().unwrap(), now).is_some(),
            "others are not affected"
        );
        drop(a);
        assert!(
            gate.admit(ip, now).is_some(),
            "a closed connection frees its place"
        );
    }

    #[test]
    fn the_rate_is_limited_per_minute() {
        let gate = ConnectionGate::new(0, 3);
        let ip: IpAddr = "::1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            drop(gate.admit(ip, t0).unwrap());
        }
        assert!(gate.admit(ip, t0).is_none());
        assert!(gate.admit(ip, t0 + Duration::from_secs(61)).is_some());
    }

    #[test]
    fn zero_means_no_limit() {
        let gate = ConnectionGate::new(0, 0);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..1000)
            .map(|_| gate.admit(ip, Instant::now()).unwrap())
            .collect();
        assert_eq!(held.len(), 1000);
    }
}
