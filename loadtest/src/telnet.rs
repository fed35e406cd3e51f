//! A MUD client's side of telnet, sans-IO: bytes from the server go in; the
//! text (telnet commands and ANSI escapes taken out, `\r` dropped) and the
//! client's answers to the server's negotiation come out.
//!
//! The client is deliberately plain, like a bare `telnet` with two options a
//! MUD client usually takes: GMCP (to send `Core.Echo` markers) and MCCP2
//! (compressed output, so the portal pays for compression as it does for
//! Mudlet). Every other option is refused, as RFC 854 asks.

use flate2::{Decompress, FlushDecompress, Status};

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;
/// GMCP's option number.
pub const GMCP: u8 = 201;
/// MCCP2's option number.
pub const MCCP2: u8 = 86;
/// Subnegotiations longer than this are skipped without being kept.
const MAX_SUBNEG: usize = 64 * 1024;

/// Which options the client takes when the server offers them.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientOptions {
    /// Answer `WILL GMCP` with `DO GMCP`.
    pub gmcp: bool,
    /// Answer `WILL MCCP2` with `DO MCCP2` and inflate what follows.
    pub mccp: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Data,
    Iac,
    /// After `IAC WILL/WONT/DO/DONT`: the option byte comes next.
    Neg(u8),
    /// After `IAC SB`: the option byte comes next.
    SbOpt,
    Sb,
    SbIac,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ansi {
    Text,
    Esc,
    Csi,
}

/// A failure of the server's byte stream.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TelnetError {
    /// The MCCP2 stream could not be inflated.
    #[error("the compressed stream is corrupt: {0}")]
    Inflate(String),
}

/// The client's telnet state for one connection.
pub struct ClientTelnet {
    opts: ClientOptions,
    state: State,
    ansi: Ansi,
    sb_opt: u8,
    sb: Vec<u8>,
    gmcp_on: bool,
    inflate: Option<Decompress>,
    /// GMCP messages received: `Package.Name payload`.
    pub gmcp_in: usize,
}

impl ClientTelnet {
    /// A connection that takes the options in `opts`.
    pub fn new(opts: ClientOptions) -> Self {
        Self {
            opts,
            state: State::Data,
            ansi: Ansi::Text,
            sb_opt: 0,
            sb: Vec::new(),
            gmcp_on: false,
            inflate: None,
            gmcp_in: 0,
        }
    }

    /// Whether the server agreed to GMCP.
    pub fn gmcp_on(&self) -> bool {
        self.gmcp_on
    }

    /// Whether the server's output is being inflated.
    pub fn compressed(&self) -> bool {
        self.inflate.is_some()
    }

    /// Takes bytes from the server; appends the text to `text` and the
    /// client's answers to `reply`.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        text: &mut Vec<u8>,
        reply: &mut Vec<u8>,
    ) -> Result<(), TelnetError> {
        let mut rest = bytes;
        loop {
            if self.inflate.is_some() {
                let (plain, used) = self.inflate_some(rest)?;
                rest = &rest[used..];
                let parsed = self.parse(&plain, text, reply);
                debug_assert_eq!(parsed, plain.len(), "compression cannot start while on");
            } else {
                let used = self.parse(rest, text, reply);
                rest = &rest[used..];
            }
            if rest.is_empty() {
                return Ok(());
            }
            // Compression started, or ended, part way through `rest`.
        }
    }

    /// Inflates compressed input; returns the plain bytes and how much input
    /// was used (less than all when the stream ended: the rest is plain).
    fn inflate_some(&mut self, input: &[u8]) -> Result<(Vec<u8>, usize), TelnetError> {
        let z = self.inflate.as_mut().expect("inflating");
        let mut out = Vec::with_capacity(input.len() * 4 + 64);
        let mut used = 0;
        loop {
            if out.capacity() - out.len() < 256 {
                out.reserve(out.capacity().max(1024));
            }
            let before = z.total_in();
            let status = z
                .decompress_vec(&input[used..], &mut out, FlushDecompress::Sync)
                .map_err(|e| TelnetError::Inflate(e.to_string()))?;
            used += (z.total_in() - before) as usize;
            if status == Status::StreamEnd {
                // The server ended compression: what follows is plain.
                self.inflate = None;
                return Ok((out, used));
            }
            if used == input.len() && out.len() < out.capacity() {
                return Ok((out, used));
            }
        }
    }

    /// Parses plain bytes; returns how many were used (fewer when MCCP2
    /// starts in the middle: the rest is compressed).
    fn parse(&mut self, bytes: &[u8], text: &mut Vec<u8>, reply: &mut Vec<u8>) -> usize {
        for (i, &b) in bytes.iter().enumerate() {
            match self.state {
                State::Data => {
                    if b == IAC {
                        self.state = State::Iac;
                    } else {
                        self.text_byte(b, text);
                    }
                }
                State::Iac => {
                    self.state = State::Data;
                    match b {
                        IAC => self.text_byte(IAC, text),
                        WILL | WONT | DO | DONT => self.state = State::Neg(b),
                        SB => self.state = State::SbOpt,
                        // GA, EOR, NOP and the rest carry nothing for us.
                        _ => {}
                    }
                }
                State::Neg(cmd) => {
                    self.state = State::Data;
                    self.negotiate(cmd, b, reply);
                }
                State::SbOpt => {
                    self.sb_opt = b;
                    self.sb.clear();
                    self.state = State::Sb;
                }
                State::Sb => {
                    if b == IAC {
                        self.state = State::SbIac;
                    } else if self.sb.len() < MAX_SUBNEG {
                        self.sb.push(b);
                    }
                }
                State::SbIac => match b {
                    SE => {
                        self.state = State::Data;
                        if self.sb_opt == MCCP2 && self.opts.mccp {
                            self.inflate = Some(Decompress::new(true));
                            return i + 1;
                        }
                        if self.sb_opt == GMCP {
                            self.gmcp_in += 1;
                        }
                    }
                    IAC => {
                        if self.sb.len() < MAX_SUBNEG {
                            self.sb.push(IAC);
                        }
                        self.state = State::Sb;
                    }
                    _ => self.state = State::Sb,
                },
            }
        }
        bytes.len()
    }

    fn negotiate(&mut self, cmd: u8, opt: u8, reply: &mut Vec<u8>) {
        let wanted = (opt == GMCP && self.opts.gmcp) || (opt == MCCP2 && self.opts.mccp);
        match cmd {
            WILL if wanted => {
                if opt == GMCP {
                    self.gmcp_on = true;
                }
                reply.extend_from_slice(&[IAC, DO, opt]);
            }
            WILL => reply.extend_from_slice(&[IAC, DONT, opt]),
            DO => reply.extend_from_slice(&[IAC, WONT, opt]),
            WONT if opt == GMCP => self.gmcp_on = false,
            _ => {}
        }
    }

    fn text_byte(&mut self, b: u8, text: &mut Vec<u8>) {
        match self.ansi {
            Ansi::Text => match b {
                0x1b => self.ansi = Ansi::Esc,
                b'\r' | 0 => {}
                _ => text.push(b),
            },
            Ansi::Esc => {
                self.ansi = if b == b'[' { Ansi::Csi } else { Ansi::Text };
            }
            Ansi::Csi => {
                if (0x40..=0x7e).contains(&b) {
                    self.ansi = Ansi::Text;
                }
            }
        }
    }
}

/// A line of input as the client sends it.
pub fn line(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    for &b in text.as_bytes() {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A GMCP message (`Core.Echo "marker"`) as the client sends it.
pub fn gmcp(package: &str, json: &str) -> Vec<u8> {
    let mut out = vec![IAC, SB, GMCP];
    for &b in package.as_bytes().iter().chain(b" ").chain(json.as_bytes()) {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
    out.extend_from_slice(&[IAC, SE]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, FlushCompress};

    fn feed_split(t: &mut ClientTelnet, bytes: &[u8], at: usize) -> (Vec<u8>, Vec<u8>) {
        let (mut text, mut reply) = (Vec::new(), Vec::new());
        t.feed(&bytes[..at], &mut text, &mut reply).unwrap();
        t.feed(&bytes[at..], &mut text, &mut reply).unwrap();
        (text, reply)
    }

    #[test]
    fn text_comes_out_without_telnet_commands_or_colours_at_any_split() {
        let mut wire = vec![IAC, WILL, 1, IAC, DO, 24, IAC, WILL, GMCP];
        wire.extend_from_slice(b"\x1b[1;31mHello\x1b[0m\r\n");
        wire.extend_from_slice(&[IAC, SB, GMCP]);
        wire.extend_from_slice(b"Char.Vitals {\"hp\": 1}");
        wire.extend_from_slice(&[IAC, SE, IAC, 249]);
        wire.extend_from_slice(b"a\xff\xffb\r\n");
        for at in 0..=wire.len() {
            let mut t = ClientTelnet::new(ClientOptions {
                gmcp: true,
                mccp: false,
            });
            let (text, reply) = feed_split(&mut t, &wire, at);
            assert_eq!(text, b"Hello\na\xffb\n", "split at {at}");
            assert_eq!(
                reply,
                vec![IAC, DONT, 1, IAC, WONT, 24, IAC, DO, GMCP],
                "split at {at}"
            );
            assert!(t.gmcp_on());
            assert_eq!(t.gmcp_in, 1);
        }
    }

    #[test]
    fn options_not_asked_for_are_refused() {
        let mut t = ClientTelnet::new(ClientOptions::default());
        let (mut text, mut reply) = (Vec::new(), Vec::new());
        t.feed(&[IAC, WILL, GMCP, IAC, WILL, MCCP2], &mut text, &mut reply)
            .unwrap();
        assert_eq!(reply, vec![IAC, DONT, GMCP, IAC, DONT, MCCP2]);
        assert!(!t.gmcp_on());
    }

    #[test]
    fn compressed_output_is_inflated_whatever_the_split() {
        let mut z = Compress::new(Compression::default(), true);
        let mut packed = Vec::with_capacity(4096);
        z.compress_vec(b"first line\r\n", &mut packed, FlushCompress::Sync)
            .unwrap();
        z.compress_vec(
            b"\x1b[32msecond\x1b[0m\r\n",
            &mut packed,
            FlushCompress::Sync,
        )
        .unwrap();
        let mut wire = vec![IAC, WILL, MCCP2];
        wire.extend_from_slice(b"plain\r\n");
        wire.extend_from_slice(&[IAC, SB, MCCP2, IAC, SE]);
        wire.extend_from_slice(&packed);
        for at in 0..=wire.len() {
            let mut t = ClientTelnet::new(ClientOptions {
                gmcp: false,
                mccp: true,
            });
            let (text, reply) = feed_split(&mut t, &wire, at);
            assert_eq!(text, b"plain\nfirst line\nsecond\n", "split at {at}");
            assert_eq!(reply, vec![IAC, DO, MCCP2]);
            assert!(t.compressed());
        }
    }

    #[test]
    fn the_end_of_compression_returns_to_plain_text() {
        let mut z = Compress::new(Compression::default(), true);
        let mut packed = Vec::with_capacity(4096);
        z.compress_vec(b"zipped\r\n", &mut packed, FlushCompress::Finish)
            .unwrap();
        let mut wire = vec![IAC, SB, MCCP2, IAC, SE];
        wire.extend_from_slice(&packed);
        wire.extend_from_slice(b"unzipped\r\n");
        let mut t = ClientTelnet::new(ClientOptions {
            gmcp: false,
            mccp: true,
        });
        let (text, _) = feed_split(&mut t, &wire, wire.len());
        assert_eq!(text, b"zipped\nunzipped\n");
        assert!(!t.compressed());
    }

    #[test]
    fn a_corrupt_compressed_stream_is_an_error_not_a_panic() {
        let mut t = ClientTelnet::new(ClientOptions {
            gmcp: false,
            mccp: true,
        });
        let mut wire = vec![IAC, SB, MCCP2, IAC, SE];
        wire.extend_from_slice(b"this is not zlib at all");
        let (mut text, mut reply) = (Vec::new(), Vec::new());
        assert!(t.feed(&wire, &mut text, &mut reply).is_err());
    }

    #[test]
    fn lines_and_gmcp_are_framed_with_iac_doubled() {
        assert_eq!(line("a\u{ff}"), b"a\xc3\xbf\r\n".to_vec());
        assert_eq!(
            gmcp("Core.Echo", "\"m1\""),
            [&[IAC, SB, GMCP][..], b"Core.Echo \"m1\"", &[IAC, SE]].concat()
        );
    }
}
