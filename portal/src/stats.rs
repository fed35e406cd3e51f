//! Live figures the connection tasks read without asking the handler: what
//! MSSP reports to crawlers.

use std::sync::atomic::{AtomicUsize, Ordering};

pub struct PortalStats {
    pub game: String,
    pub started_unix: u64,
    pub telnet_port: u16,
    pub multisession_mode: u8,
    pub logged_in: AtomicUsize,
}

impl PortalStats {
    pub fn set_logged_in(&self, logged_in: usize) {
        self.logged_in.store(logged_in, Ordering::Relaxed);
    }

    /// The MSSP table: the common fields, from settings and live counts.
    pub fn mssp_fields(&self) -> Vec<(String, String)> {
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
            (
                "MULTIPLAYING".into(),
                if self.multisession_mode == 0 {
                    "None"
                } else {
                    "Full"
                }
                .into(),
            ),
        ]
    }
}
