//! TTYPE cycling and the MUD Terminal Type Standard (MTTS).
//!
//! The server asks up to three times: the first answer is the client's name,
//! the second its terminal type, the third `MTTS <bits>`. A client that
//! answers the same twice has no more to say.

use tavern_shared::session::ProtocolFlags;

/// TTYPE subnegotiation: the client's answer (`IS name`).
pub const IS: u8 = 0;
/// TTYPE subnegotiation: the server's question.
pub const SEND: u8 = 1;

/// MTTS bits (the number in the client's third TTYPE answer, `MTTS <n>`).
pub mod bits {
    /// ANSI colours.
    pub const ANSI: u32 = 1;
    /// VT100 escapes.
    pub const VT100: u32 = 2;
    /// UTF-8.
    pub const UTF8: u32 = 4;
    /// xterm's 256 colours.
    pub const XTERM256: u32 = 8;
    /// Mouse tracking.
    pub const MOUSE: u32 = 16;
    /// Colour palette changes (OSC).
    pub const OSC_PALETTE: u32 = 32;
    /// The player uses a screen reader.
    pub const SCREENREADER: u32 = 64;
    /// The connection comes through a proxy.
    pub const PROXY: u32 = 128;
    /// 24-bit colour.
    pub const TRUECOLOR: u32 = 256;
    /// The client speaks MNES (environment variables).
    pub const MNES: u32 = 512;
    /// The client supports MSLP (clickable links).
    pub const MSLP: u32 = 1024;
    /// The connection is encrypted (TLS).
    pub const SSL: u32 = 2048;
}

/// Where a session is in the TTYPE cycle.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TtypeCycle {
    answers: Vec<String>,
    done: bool,
}

impl TtypeCycle {
    /// Whether the client has no more to say.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Takes one `IS` answer (the subnegotiation data after the option byte);
    /// updates the flags and returns whether to ask again.
    pub fn answer(&mut self, data: &[u8], flags: &mut ProtocolFlags) -> bool {
        if self.done || data.first() != Some(&IS) {
            return false;
        }
        let value = String::from_utf8_lossy(&data[1..]).trim().to_string();
        if value.is_empty() || self.answers.last() == Some(&value) || self.answers.len() >= 3 {
            self.done = true;
            return false;
        }
        let round = self.answers.len();
        self.answers.push(value.clone());
        let upper = value.to_uppercase();
        match round {
            0 => {
                flags.client_name = Some(value);
                guess_from_name(&upper, flags);
            }
            _ => {
                if let Some(n) = upper.strip_prefix("MTTS ") {
                    if let Ok(b) = n.trim().parse::<u32>() {
                        apply_bits(b, flags);
                    }
                    self.done = true;
                    return false;
                }
                guess_from_name(&upper, flags);
            }
        }
        true
    }
}

/// What a client or terminal name tells about its colours.
fn guess_from_name(upper: &str, flags: &mut ProtocolFlags) {
    if upper.ends_with("-256COLOR")
        || upper.ends_with("XTERM")
        || [
            "MUDLET",
            "MUSHCLIENT",
            "AXMUD",
            "TINTIN",
            "BLIGHTMUD",
            "BEIP",
        ]
        .iter()
        .any(|n| upper.starts_with(n))
    {
        flags.ansi = true;
        flags.xterm256 = true;
    }
    if upper.ends_with("-TRUECOLOR") || upper.ends_with("-DIRECT") {
        flags.ansi = true;
        flags.xterm256 = true;
        flags.truecolor = true;
    }
    if upper == "DUMB" {
        flags.ansi = false;
        flags.xterm256 = false;
    }
}

/// Applies an MTTS bitfield: it says exactly what the client supports.
pub fn apply_bits(b: u32, flags: &mut ProtocolFlags) {
    flags.ansi = b & bits::ANSI != 0;
    flags.utf8 = b & bits::UTF8 != 0;
    flags.xterm256 = b & bits::XTERM256 != 0;
    flags.truecolor = b & bits::TRUECOLOR != 0;
    flags.screenreader = b & bits::SCREENREADER != 0;
}

/// `IAC SB TTYPE SEND IAC SE`
pub fn send_request() -> Vec<u8> {
    use super::{IAC, SB, SE};
    vec![IAC, SB, super::Opt::TTYPE, SEND, IAC, SE]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is(s: &str) -> Vec<u8> {
        let mut v = vec![IS];
        v.extend_from_slice(s.as_bytes());
        v
    }

    #[test]
    fn mudlet_cycle_sets_name_and_capabilities() {
        let mut f = ProtocolFlags::new();
        f.xterm256 = false;
        let mut c = TtypeCycle::default();
        assert!(c.answer(&is("MUDLET"), &mut f));
        assert_eq!(f.client_name.as_deref(), Some("MUDLET"));
        assert!(f.xterm256, "Mudlet is known to do 256 colours");
        assert!(c.answer(&is("ANSI-TRUECOLOR"), &mut f));
        assert!(f.truecolor);
        // 1 + 4 + 8 + 256 + 2048: ANSI, UTF-8, 256, truecolor, SSL.
        assert!(!c.answer(&is("MTTS 2317"), &mut f));
        assert!(c.done());
        assert!(f.ansi && f.utf8 && f.xterm256 && f.truecolor && !f.screenreader);
    }

    #[test]
    fn screen_reader_bit_and_a_client_that_repeats_itself() {
        let mut f = ProtocolFlags::new();
        let mut c = TtypeCycle::default();
        assert!(c.answer(&is("xterm"), &mut f));
        assert!(
            !c.answer(&is("xterm"), &mut f),
            "the same answer twice ends the cycle"
        );
        assert!(c.done());
        let mut f = ProtocolFlags::new();
        let mut c = TtypeCycle::default();
        c.answer(&is("TinTin++"), &mut f);
        c.answer(&is("xterm-256color"), &mut f);
        c.answer(&is("MTTS 69"), &mut f); // ANSI + UTF-8 + SCREENREADER
        assert!(f.screenreader && f.ansi && !f.xterm256);
    }

    #[test]
    fn dumb_terminals_and_junk() {
        let mut f = ProtocolFlags::new();
        let mut c = TtypeCycle::default();
        c.answer(&is("telnet"), &mut f);
        c.answer(&is("DUMB"), &mut f);
        assert!(!f.ansi && !f.xterm256);
        assert!(!TtypeCycle::default().answer(&[9, 9], &mut f), "not an IS");
        assert!(!TtypeCycle::default().answer(&[IS], &mut f), "empty");
    }
}
