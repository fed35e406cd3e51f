//! A sans-IO telnet state machine for the server side of a connection.
//!
//! [`Telnet::feed`] takes whatever bytes arrived (split anywhere) and returns
//! events plus the bytes to answer with; nothing here touches a socket. Option
//! negotiation follows RFC 1143's Q method, so no WILL/DO loop can occur
//! whatever the client sends. Lines end at CR LF, CR NUL, a lone LF or a lone
//! CR; a line longer than the cap and a subnegotiation longer than its cap are
//! reported once and discarded, never buffered without bound.

pub mod gmcp;
pub mod msdp;
pub mod mssp;
pub mod mtts;
mod options;
pub mod protocol;

pub use options::{Opt, OptionState, Side};

/// Interpret As Command: every telnet command starts with it.
pub const IAC: u8 = 255;
/// Refuses, or asks the other side to stop, an option on its side.
pub const DONT: u8 = 254;
/// Asks the other side to enable an option on its side.
pub const DO: u8 = 253;
/// Refuses, or stops, an option on our side.
pub const WONT: u8 = 252;
/// Offers, or agrees, to enable an option on our side.
pub const WILL: u8 = 251;
/// Starts a subnegotiation (`IAC SB option data IAC SE`).
pub const SB: u8 = 250;
/// Go Ahead: marks the end of a prompt for clients that want it.
pub const GA: u8 = 249;
/// No operation (a keepalive).
pub const NOP: u8 = 241;
/// Ends a subnegotiation.
pub const SE: u8 = 240;
/// End Of Record: marks the end of a prompt once EOR is enabled.
pub const EOR_CMD: u8 = 239;

/// Something the connection's owner must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelnetEvent {
    /// A complete line, without its line end, as raw bytes (the encoding is the session's).
    Line(Vec<u8>),
    /// A line was longer than the cap; its bytes were discarded.
    LineTooLong,
    /// A subnegotiation was longer than the cap; it was discarded.
    SubnegTooLong(u8),
    /// An option became enabled on `side` (ours: we WILL it; theirs: they WILL it).
    Enabled(Side, u8),
    /// An option became disabled.
    Disabled(Side, u8),
    /// A complete subnegotiation for an enabled option: `IAC SB opt <data> IAC SE`.
    Subneg(u8, Vec<u8>),
    /// The client's window size (NAWS).
    WindowSize {
        /// Columns.
        width: u16,
        /// Rows.
        height: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum State {
    Data,
    /// Seen CR in data: the next LF or NUL belongs to it.
    Cr,
    Iac,
    Verb(u8),
    Sb,
    SbData,
    SbIac,
    /// Discarding an over-long subnegotiation until IAC SE.
    SbDiscard,
    SbDiscardIac,
}

/// The server side of one telnet connection.
pub struct Telnet {
    state: State,
    line: Vec<u8>,
    discarding_line: bool,
    sb_opt: u8,
    sb: Vec<u8>,
    max_line: usize,
    max_subneg: usize,
    opts: options::OptionTable,
}

/// What one call to [`Telnet::feed`] produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Feed {
    /// What happened, in order.
    pub events: Vec<TelnetEvent>,
    /// Bytes to send back to the client (negotiation answers).
    pub reply: Vec<u8>,
}

/// Where a [`Telnet`] parser is, to carry a connection over to another
/// process (`tavern upgrade-portal`) and go on there byte for byte.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TelnetState {
    state: State,
    line: Vec<u8>,
    discarding_line: bool,
    sb_opt: u8,
    sb: Vec<u8>,
    max_line: usize,
    max_subneg: usize,
    opts: Vec<(Side, u8, OptionState)>,
}

impl Telnet {
    /// The parser's whole state.
    pub fn state(&self) -> TelnetState {
        TelnetState {
            state: self.state,
            line: self.line.clone(),
            discarding_line: self.discarding_line,
            sb_opt: self.sb_opt,
            sb: self.sb.clone(),
            max_line: self.max_line,
            max_subneg: self.max_subneg,
            opts: self.opts.entries().to_vec(),
        }
    }

    /// A parser that goes on from `s`.
    pub fn from_state(s: TelnetState) -> Self {
        Self {
            state: s.state,
            line: s.line,
            discarding_line: s.discarding_line,
            sb_opt: s.sb_opt,
            sb: s.sb,
            max_line: s.max_line,
            max_subneg: s.max_subneg,
            opts: options::OptionTable::from_entries(s.opts),
        }
    }

    /// `local` are the options we offer (we WILL), `remote` the options we ask the client for (DO).
    pub fn new(max_line: usize, max_subneg: usize, local: &[u8], remote: &[u8]) -> Self {
        Self {
            state: State::Data,
            line: Vec::new(),
            discarding_line: false,
            sb_opt: 0,
            sb: Vec::new(),
            max_line,
            max_subneg,
            opts: options::OptionTable::new(local, remote),
        }
    }

    /// The bytes that open negotiation: WILL for every option we offer, DO for every one we want.
    pub fn start(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.opts.start(&mut out);
        out
    }

    /// Ask to enable or disable an option on our side (e.g. ECHO to hide a password).
    pub fn set_local(&mut self, opt: u8, on: bool) -> Vec<u8> {
        let mut out = Vec::new();
        self.opts.request(Side::Ours, opt, on, &mut out);
        out
    }

    /// Whether an option is enabled on a side.
    pub fn is_enabled(&self, side: Side, opt: u8) -> bool {
        self.opts.enabled(side, opt)
    }

    /// Feeds received bytes; split input is fine at any byte.
    pub fn feed(&mut self, bytes: &[u8]) -> Feed {
        let mut f = Feed::default();
        for &b in bytes {
            self.step(b, &mut f);
        }
        f
    }

    fn step(&mut self, b: u8, f: &mut Feed) {
        match self.state {
            State::Data => match b {
                IAC => self.state = State::Iac,
                b'\r' => {
                    self.end_line(f);
                    self.state = State::Cr;
                }
                b'\n' => self.end_line(f),
                _ => self.push(b, f),
            },
            State::Cr => {
                self.state = State::Data;
                match b {
                    b'\n' | 0 => {}
                    _ => self.step(b, f),
                }
            }
            State::Iac => {
                self.state = State::Data;
                match b {
                    IAC => self.push(IAC, f),
                    WILL | WONT | DO | DONT => self.state = State::Verb(b),
                    SB => self.state = State::Sb,
                    // NOP, GA, AYT, ... carry nothing we act on.
                    _ => {}
                }
            }
            State::Verb(verb) => {
                self.state = State::Data;
                let before = (
                    self.opts.enabled(Side::Ours, b),
                    self.opts.enabled(Side::Theirs, b),
                );
                self.opts.receive(verb, b, &mut f.reply);
                let after = (
                    self.opts.enabled(Side::Ours, b),
                    self.opts.enabled(Side::Theirs, b),
                );
                for (side, was, now) in [
                    (Side::Ours, before.0, after.0),
                    (Side::Theirs, before.1, after.1),
                ] {
                    if was != now {
                        f.events.push(if now {
                            TelnetEvent::Enabled(side, b)
                        } else {
                            TelnetEvent::Disabled(side, b)
                        });
                    }
                }
            }
            State::Sb => {
                self.sb_opt = b;
                self.sb.clear();
                self.state = State::SbData;
            }
            State::SbData => {
                if b == IAC {
                    self.state = State::SbIac;
                } else {
                    self.push_sb(b, f);
                }
            }
            State::SbIac => match b {
                SE => {
                    self.state = State::Data;
                    let data = std::mem::take(&mut self.sb);
                    self.subneg(data, f);
                }
                IAC => {
                    self.state = State::SbData;
                    self.push_sb(IAC, f);
                }
                // An IAC followed by anything else inside SB is a broken client:
                // end the subnegotiation there and read on as data.
                _ => {
                    self.state = State::Data;
                    self.sb.clear();
                    self.step(IAC, f);
                    self.step(b, f);
                }
            },
            State::SbDiscard => {
                if b == IAC {
                    self.state = State::SbDiscardIac;
                }
            }
            State::SbDiscardIac => {
                self.state = if b == SE {
                    State::Data
                } else {
                    State::SbDiscard
                };
            }
        }
    }

    fn push(&mut self, b: u8, f: &mut Feed) {
        if self.discarding_line {
            return;
        }
        if self.line.len() >= self.max_line {
            self.line = Vec::new();
            self.discarding_line = true;
            f.events.push(TelnetEvent::LineTooLong);
            return;
        }
        self.line.push(b);
    }

    fn end_line(&mut self, f: &mut Feed) {
        if self.discarding_line {
            self.discarding_line = false;
            return;
        }
        f.events
            .push(TelnetEvent::Line(std::mem::take(&mut self.line)));
    }

    fn push_sb(&mut self, b: u8, f: &mut Feed) {
        if self.sb.len() >= self.max_subneg {
            self.sb = Vec::new();
            self.state = State::SbDiscard;
            f.events.push(TelnetEvent::SubnegTooLong(self.sb_opt));
            return;
        }
        self.sb.push(b);
    }

    fn subneg(&mut self, data: Vec<u8>, f: &mut Feed) {
        let opt = self.sb_opt;
        if !self.opts.enabled(Side::Theirs, opt) && !self.opts.enabled(Side::Ours, opt) {
            return;
        }
        if opt == Opt::NAWS && data.len() == 4 {
            f.events.push(TelnetEvent::WindowSize {
                width: u16::from_be_bytes([data[0], data[1]]),
                height: u16::from_be_bytes([data[2], data[3]]),
            });
            return;
        }
        f.events.push(TelnetEvent::Subneg(opt, data));
    }
}

/// Text for the wire: `\n` becomes CR LF and IAC bytes are doubled. The
/// runs between those bytes are copied whole (most text has a line end or
/// two and no IAC at all), into room made once.
pub fn encode_text(text: &[u8], out: &mut Vec<u8>) {
    out.reserve(text.len() + 8);
    let mut rest = text;
    while let Some(i) = memchr::memchr3(b'\n', b'\r', IAC, rest) {
        out.extend_from_slice(&rest[..i]);
        match rest[i] {
            b'\n' => out.extend_from_slice(b"\r\n"),
            b'\r' => {}
            _ => out.extend_from_slice(&[IAC, IAC]),
        }
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

#[cfg(test)]
mod tests;
