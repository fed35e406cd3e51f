//! Per-option negotiation state after RFC 1143 (the Q method).

use super::{DO, DONT, IAC, WILL, WONT};

/// Telnet option codes Tavern knows by name.
pub struct Opt;

impl Opt {
    pub const ECHO: u8 = 1;
    pub const SGA: u8 = 3;
    pub const TTYPE: u8 = 24;
    pub const EOR: u8 = 25;
    pub const NAWS: u8 = 31;
    pub const LINEMODE: u8 = 34;
    pub const CHARSET: u8 = 42;
    pub const MSDP: u8 = 69;
    pub const MSSP: u8 = 70;
    pub const MCCP2: u8 = 86;
    pub const GMCP: u8 = 201;
}

/// Which end of the connection an option is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The server performs it (we WILL, they DO): ECHO, SGA, GMCP, MCCP2, ...
    Ours,
    /// The client performs it (they WILL, we DO): NAWS, TTYPE, ...
    Theirs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptionState {
    #[default]
    No,
    Yes,
    WantNo {
        opposite: bool,
    },
    WantYes {
        opposite: bool,
    },
}

#[derive(Clone, Copy, Default)]
struct Entry {
    state: OptionState,
    supported: bool,
}

pub(super) struct OptionTable {
    ours: [Entry; 256],
    theirs: [Entry; 256],
}

impl OptionTable {
    pub fn new(local: &[u8], remote: &[u8]) -> Self {
        let mut t = Self {
            ours: [Entry::default(); 256],
            theirs: [Entry::default(); 256],
        };
        for &o in local {
            t.ours[o as usize].supported = true;
        }
        for &o in remote {
            t.theirs[o as usize].supported = true;
        }
        t
    }

    pub fn enabled(&self, side: Side, opt: u8) -> bool {
        self.table(side)[opt as usize].state == OptionState::Yes
    }

    fn table(&self, side: Side) -> &[Entry; 256] {
        match side {
            Side::Ours => &self.ours,
            Side::Theirs => &self.theirs,
        }
    }

    fn table_mut(&mut self, side: Side) -> &mut [Entry; 256] {
        match side {
            Side::Ours => &mut self.ours,
            Side::Theirs => &mut self.theirs,
        }
    }

    /// Offers every supported option, except ECHO, which is only turned on on demand.
    pub fn start(&mut self, out: &mut Vec<u8>) {
        for side in [Side::Ours, Side::Theirs] {
            for opt in 0..=255u8 {
                if self.table(side)[opt as usize].supported && opt != Opt::ECHO {
                    self.request(side, opt, true, out);
                }
            }
        }
    }

    /// We ask for `opt` on `side` to become `on`.
    pub fn request(&mut self, side: Side, opt: u8, on: bool, out: &mut Vec<u8>) {
        let (yes_verb, no_verb) = verbs(side);
        let e = &mut self.table_mut(side)[opt as usize];
        if on && !e.supported {
            return;
        }
        use OptionState::*;
        e.state = match (e.state, on) {
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
    pub fn receive(&mut self, verb: u8, opt: u8, out: &mut Vec<u8>) {
        let (side, positive) = match verb {
            WILL => (Side::Theirs, true),
            WONT => (Side::Theirs, false),
            DO => (Side::Ours, true),
            _ => (Side::Ours, false),
        };
        let (yes_verb, no_verb) = verbs(side);
        let e = &mut self.table_mut(side)[opt as usize];
        use OptionState::*;
        e.state = if positive {
            match e.state {
                No if e.supported => {
                    send(out, yes_verb, opt);
                    Yes
                }
                No => {
                    send(out, no_verb, opt);
                    No
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
            match e.state {
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
