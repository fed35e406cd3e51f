//! Per-option negotiation state after RFC 1143 (the Q method).

use super::{DO, DONT, IAC, WILL, WONT};

/// Telnet option codes Tavern knows by name.
pub struct Opt;

impl Opt {
    /// The server echoes (off while a password is typed).
    pub const ECHO: u8 = 1;
    /// Suppress Go Ahead.
    pub const SGA: u8 = 3;
    /// Terminal type (and MTTS).
    pub const TTYPE: u8 = 24;
    /// End Of Record marks prompts.
    pub const EOR: u8 = 25;
    /// Negotiate About Window Size.
    pub const NAWS: u8 = 31;
    /// Linemode (refused: MUD clients send lines anyway).
    pub const LINEMODE: u8 = 34;
    /// Character set (UTF-8).
    pub const CHARSET: u8 = 42;
    /// MUD Server Data Protocol.
    pub const MSDP: u8 = 69;
    /// MUD Server Status Protocol.
    pub const MSSP: u8 = 70;
    /// MUD Client Compression Protocol v2 (zlib).
    pub const MCCP2: u8 = 86;
    /// MUD eXtension Protocol (links in the text).
    pub const MXP: u8 = 91;
    /// Generic MUD Communication Protocol.
    pub const GMCP: u8 = 201;
}

/// Which end of the connection an option is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Side {
    /// The server performs it (we WILL, they DO): ECHO, SGA, GMCP, MCCP2, ...
    Ours,
    /// The client performs it (they WILL, we DO): NAWS, TTYPE, ...
    Theirs,
}

/// Where one option is in RFC 1143's negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum OptionState {
    /// Disabled.
    #[default]
    No,
    /// Enabled.
    Yes,
    /// Asked to disable, waiting for the answer.
    WantNo {
        /// Asked to enable again meanwhile.
        opposite: bool,
    },
    /// Asked to enable, waiting for the answer.
    WantYes {
        /// Asked to disable again meanwhile.
        opposite: bool,
    },
}

/// The state of every option this end supports; an option it does not
/// support is refused and never leaves `No`, so it needs no entry. (A
/// table of all 256 options on both sides would be 1.5 KiB on every
/// connection, for about ten options in use.)
pub(super) struct OptionTable {
    /// Ours first, then theirs, each by option number (the order `start` offers them in).
    entries: Vec<(Side, u8, OptionState)>,
}

impl OptionTable {
    pub(super) fn new(local: &[u8], remote: &[u8]) -> Self {
        let mut entries: Vec<(Side, u8, OptionState)> = local
            .iter()
            .map(|&o| (Side::Ours, o, OptionState::No))
            .chain(remote.iter().map(|&o| (Side::Theirs, o, OptionState::No)))
            .collect();
        entries.sort_by_key(|&(side, opt, _)| (side == Side::Theirs, opt));
        entries.dedup_by_key(|e| (e.0, e.1));
        Self { entries }
    }

    /// Every option's state.
    pub(super) fn entries(&self) -> &[(Side, u8, OptionState)] {
        &self.entries
    }

    /// A table holding these states.
    pub(super) fn from_entries(entries: Vec<(Side, u8, OptionState)>) -> Self {
        Self { entries }
    }

    fn find(&self, side: Side, opt: u8) -> Option<usize> {
        self.entries
            .iter()
            .position(|&(s, o, _)| s == side && o == opt)
    }

    pub(super) fn enabled(&self, side: Side, opt: u8) -> bool {
        self.find(side, opt)
            .is_some_and(|i| self.entries[i].2 == OptionState::Yes)
    }

    /// Offers every supported option, except ECHO, which is only turned on on demand.
    pub(super) fn start(&mut self, out: &mut Vec<u8>) {
        for i in 0..self.entries.len() {
            let (side, opt, _) = self.entries[i];
            if opt != Opt::ECHO {
                self.request(side, opt, true, out);
            }
        }
    }

    /// We ask for `opt` on `side` to become `on`.
    pub(super) fn request(&mut self, side: Side, opt: u8, on: bool, out: &mut Vec<u8>) {
        let (yes_verb, no_verb) = verbs(side);
        // Unsupported: never asked for, and already off.
        let Some(i) = self.find(side, opt) else {
            return;
        };
        let e = &mut self.entries[i].2;
        use OptionState::*;
        *e = match (*e, on) {
            (No, true) => {
                send(out, yes_verb, opt);
                WantYes { opposite: false }
            }
            (Yes, false) => {
                send(out, no_verb, opt);
                WantNo { opposite: false }
            }
            (WantNo { .. }, true) => WantNo { opposite: true },
            (WantNo { .. }, false) => WantNo { opposite: false },
            (WantYes { .. }, true) => WantYes { opposite: false },
            (WantYes { .. }, false) => WantYes { opposite: true },
            (s, _) => s,
        };
    }

    /// The client sent `verb opt`.
    pub(super) fn receive(&mut self, verb: u8, opt: u8, out: &mut Vec<u8>) {
        let (side, positive) = match verb {
            WILL => (Side::Theirs, true),
            WONT => (Side::Theirs, false),
            DO => (Side::Ours, true),
            _ => (Side::Ours, false),
        };
        let (yes_verb, no_verb) = verbs(side);
        let Some(i) = self.find(side, opt) else {
            // Unsupported: refuse an offer; a refusal needs no answer.
            if positive {
                send(out, no_verb, opt);
            }
            return;
        };
        let e = &mut self.entries[i].2;
        use OptionState::*;
        *e = if positive {
            match *e {
                No => {
                    send(out, yes_verb, opt);
                    Yes
                }
                Yes => Yes,
                WantNo { opposite: false } => No,
                WantNo { opposite: true } => Yes,
                WantYes { opposite: false } => Yes,
                WantYes { opposite: true } => {
                    send(out, no_verb, opt);
                    WantNo { opposite: false }
                }
            }
        } else {
            match *e {
                No => No,
                Yes => {
                    send(out, no_verb, opt);
                    No
                }
                WantNo { opposite: false } => No,
                WantNo { opposite: true } => {
                    send(out, yes_verb, opt);
                    WantYes { opposite: false }
                }
                WantYes { .. } => No,
            }
        };
    }
}

/// The verbs we send to enable / disable an option on `side`.
fn verbs(side: Side) -> (u8, u8) {
    match side {
        Side::Ours => (WILL, WONT),
        Side::Theirs => (DO, DONT),
    }
}

fn send(out: &mut Vec<u8>, verb: u8, opt: u8) {
    out.extend_from_slice(&[IAC, verb, opt]);
}
