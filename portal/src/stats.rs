//! Live figures the connection tasks read without asking the handler: what
//! MSSP reports to crawlers.

use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) struct PortalStats {
    pub game: String,
    pub started_unix: u64,
    pub telnet_port: u16,
    pub multisession_mode: u8,
    pub max_nr_simultaneous_puppets: usize,
    pub logged_in: AtomicUsize,
}

impl PortalStats {
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
        PortalStats {
            game: "Test".into(),
            started_unix: 0,
            telnet_port: 4000,
            multisession_mode: mode,
            max_nr_simultaneous_puppets: puppets,
            logged_in: AtomicUsize::new(0),
        }
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
