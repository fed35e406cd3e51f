//! Live figures the connection tasks and the web port read without asking
//! the handler: what MSSP reports to crawlers, and the portal's side of the
//! metrics endpoint (with the server's latest figures).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tavern_shared::metrics::ServerMetrics;

pub(crate) struct PortalStats {
    pub game: String,
    pub started_unix: u64,
    pub telnet_port: u16,
    pub multisession_mode: u8,
    pub max_nr_simultaneous_puppets: usize,
    pub logged_in: AtomicUsize,
    /// This portal's instance, as the metrics label it.
    pub instance: String,
    /// The handler's figures, kept current by it.
    pub hub: Mutex<HubFigures>,
    /// Lines of input players sent.
    pub inputs: AtomicU64,
    /// Whether a server is linked.
    pub server_up: AtomicBool,
    /// The server's latest figures, and when they came.
    pub server: Mutex<Option<(std::time::Instant, ServerMetrics)>>,
}

/// What the handler knows that the metrics report.
#[derive(Debug, Default, Clone)]
pub(crate) struct HubFigures {
    /// Sessions by protocol (`telnet`, `websocket`, ...), and of them logged in.
    pub sessions: BTreeMap<String, (u64, u64)>,
    /// Input sent to the server and not yet acknowledged.
    pub unacked_inputs: u64,
    /// Events waiting for the handler.
    pub queue: u64,
    /// Server processes started (the first, reloads, restarts after a crash).
    pub starts: u64,
}

impl PortalStats {
    /// Figures for a portal that has none yet.
    pub(crate) fn new(game: String, telnet_port: u16, instance: u64) -> Self {
        Self {
            game,
            started_unix: tavern_shared::session::now_millis() / 1000,
            telnet_port,
            multisession_mode: 0,
            max_nr_simultaneous_puppets: 1,
            logged_in: AtomicUsize::new(0),
            instance: format!("{instance:016x}"),
            hub: Mutex::new(HubFigures::default()),
            inputs: AtomicU64::new(0),
            server_up: AtomicBool::new(false),
            server: Mutex::new(None),
        }
    }

    pub(crate) fn set_hub(&self, f: HubFigures) {
        *self.hub.lock().unwrap_or_else(|e| e.into_inner()) = f;
    }

    pub(crate) fn set_server(&self, m: ServerMetrics) {
        *self.server.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((std::time::Instant::now(), m));
    }

    pub(crate) fn set_logged_in(&self, logged_in: usize) {
        self.logged_in.store(logged_in, Ordering::Relaxed);
    }

    /// MSSP's MULTIPLAYING: whether one account may play several characters
    /// at once. Modes 0 and 1 play one; modes 2 and 3 as many as
    /// `max_nr_simultaneous_puppets` allows (0: no limit).
    pub(crate) fn multiplaying(&self) -> &'static str {
        match (self.multisession_mode, self.max_nr_simultaneous_puppets) {
            (0 | 1, _) | (_, 1) => "None",
            (_, 0) => "Full",
            _ => "Restricted",
        }
    }

    /// The MSSP table: the common fields, from settings and live counts.
    pub(crate) fn mssp_fields(&self) -> Vec<(String, String)> {
        let yes = |b: bool| if b { "1" } else { "0" }.to_string();
        vec![
            ("NAME".into(), self.game.clone()),
            (
                "PLAYERS".into(),
                self.logged_in.load(Ordering::Relaxed).to_string(),
            ),
            ("UPTIME".into(), self.started_unix.to_string()),
            ("PORT".into(), self.telnet_port.to_string()),
            (
                "CODEBASE".into(),
                format!("Tavern {}", env!("CARGO_PKG_VERSION")),
            ),
            ("FAMILY".into(), "Custom".into()),
            ("LANGUAGE".into(), "English".into()),
            ("CRAWL DELAY".into(), "-1".into()),
            ("ANSI".into(), yes(true)),
            ("UTF-8".into(), yes(true)),
            ("XTERM 256 COLORS".into(), yes(true)),
            ("XTERM TRUE COLORS".into(), yes(true)),
            ("GMCP".into(), yes(true)),
            ("MSDP".into(), yes(true)),
            ("MCCP".into(), yes(true)),
            ("MSSP".into(), yes(true)),
            ("MULTIPLAYING".into(), self.multiplaying().into()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(mode: u8, puppets: usize) -> PortalStats {
        let mut s = PortalStats::new("Test".into(), 4000, 1);
        s.multisession_mode = mode;
        s.max_nr_simultaneous_puppets = puppets;
        s
    }

    #[test]
    fn mssp_multiplaying_follows_the_multisession_settings() {
        assert_eq!(stats(0, 1).multiplaying(), "None");
        assert_eq!(stats(1, 1).multiplaying(), "None");
        assert_eq!(stats(2, 1).multiplaying(), "None");
        assert_eq!(stats(2, 3).multiplaying(), "Restricted");
        assert_eq!(stats(3, 0).multiplaying(), "Full");
        let table = stats(3, 2).mssp_fields();
        assert!(table.contains(&("MULTIPLAYING".into(), "Restricted".into())));
    }
}
