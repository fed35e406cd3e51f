//! Everything one telnet connection speaks, sans-IO: the state machine plus
//! the MUD options on top of it (TTYPE/MTTS, NAWS, EOR/GA prompts, ECHO,
//! MCCP2, MSSP, GMCP, MSDP, CHARSET, NOP keepalive).
//!
//! Bytes from the client go in through [`TelnetProtocol::receive`]; what the
//! portal must act on comes out as [`ProtoEvent`]s, and the bytes to send as
//! the reply. Messages for the client go in through [`TelnetProtocol::render`]
//! and come out as wire bytes, compressed once the client accepted MCCP2.

use std::borrow::Cow;

use flate2::{Compress, Compression, FlushCompress};
use tavern_shared::Msg;
use tavern_shared::markup::{self, ColorMode};
use tavern_shared::session::{ClientChoices, ProtocolFlags};
use tavern_shared::text::clean_input;

use super::mtts::TtypeCycle;
use super::{
    EOR_CMD, GA, IAC, NOP, Opt, SB, SE, Side, Telnet, TelnetEvent, gmcp, msdp, mssp, mtts,
};

/// The largest subnegotiation accepted.
pub const MAX_SUBNEG: usize = 64 * 1024;

const CHARSET_REQUEST: u8 = 1;
const CHARSET_ACCEPTED: u8 = 2;

/// What the portal must act on.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtoEvent {
    /// Input for the server: a line of text, or out-of-band data.
    Input(Msg),
    /// The client's flags changed (name, window size, colours, options).
    FlagsChanged,
    /// A line was longer than the cap and was dropped.
    LineTooLong,
}

/// Facts for MSSP, asked for when a client requests them.
pub type MsspSource = dyn Fn() -> Vec<(String, String)> + Send + Sync;

/// MXP's "lock locked mode": nothing the client reads is MXP until a tag
/// is marked (temp secure mode, `ESC[4z`).
const MXP_LOCKED: &[u8] = b"\x1b[7z";

/// A connection's whole protocol state, carried to another portal process
/// (`tavern upgrade-portal`): see [`TelnetProtocol::suspend`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SuspendedTelnet {
    telnet: super::TelnetState,
    /// What the client negotiated and announced.
    pub flags: ProtocolFlags,
    /// The player's `option` choices.
    pub choices: ClientChoices,
    ttype: TtypeCycle,
    /// MCCP2 was on: the new process starts a fresh stream.
    compressing: bool,
    max_line: usize,
}

/// One telnet connection's protocol state: the byte state machine, what
/// the client negotiated, and the compressor once MCCP2 is on.
pub struct TelnetProtocol {
    telnet: Telnet,
    /// What the client negotiated and told (the session's protocol flags).
    pub flags: ProtocolFlags,
    /// What the player chose over them (`option`): rendering follows these.
    pub choices: ClientChoices,
    ttype: TtypeCycle,
    /// Set once the client accepted MCCP2: everything after the start marker goes through it.
    deflate: Option<Compress>,
    max_line: usize,
}

impl TelnetProtocol {
    /// A new connection's protocol; lines longer than `max_line` bytes are refused.
    pub fn new(max_line: usize) -> Self {
        Self {
            telnet: Telnet::new(
                max_line,
                MAX_SUBNEG,
                &[
                    Opt::SGA,
                    Opt::ECHO,
                    Opt::EOR,
                    Opt::MCCP2,
                    Opt::MSSP,
                    Opt::GMCP,
                    Opt::MSDP,
                    Opt::MXP,
                    Opt::CHARSET,
                ],
                &[Opt::NAWS, Opt::TTYPE],
            ),
            flags: ProtocolFlags::new(),
            choices: ClientChoices::default(),
            ttype: TtypeCycle::default(),
            deflate: None,
            max_line,
        }
    }

    /// The longest line taken.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Stops here to go on in another process: the bytes that end the
    /// compressed stream (MCCP2's zlib stream is finished, after which the
    /// client reads plain bytes again), and the state to resume from.
    pub fn suspend(&mut self) -> (Vec<u8>, SuspendedTelnet) {
        let compressing = self.deflate.is_some();
        let last = self.end_compression();
        let state = SuspendedTelnet {
            telnet: self.telnet.state(),
            flags: self.flags.clone(),
            choices: self.choices.clone(),
            ttype: self.ttype.clone(),
            compressing,
            max_line: self.max_line,
        };
        (last, state)
    }

    /// Goes on from a suspended connection: the protocol, and the bytes to
    /// send first (MCCP2's start marker again, when it was on: compression
    /// restarts with a fresh stream).
    pub fn resume(s: SuspendedTelnet) -> (Self, Vec<u8>) {
        let mut p = Self {
            telnet: super::Telnet::from_state(s.telnet),
            flags: s.flags,
            choices: s.choices,
            ttype: s.ttype,
            deflate: None,
            max_line: s.max_line,
        };
        let mut first = Vec::new();
        if s.compressing {
            first.extend_from_slice(&[IAC, SB, Opt::MCCP2, IAC, SE]);
            p.deflate = Some(Compress::new(Compression::default(), true));
        }
        (p, first)
    }

    /// The negotiation the server opens with.
    pub fn start(&mut self) -> Vec<u8> {
        self.telnet.start()
    }

    /// Whether output is compressed (MCCP2).
    pub fn compressing(&self) -> bool {
        self.deflate.is_some()
    }

    /// Takes bytes from the client. Returns events and the bytes to send back.
    pub fn receive(
        &mut self,
        bytes: &[u8],
        mssp_source: &MsspSource,
    ) -> (Vec<ProtoEvent>, Vec<u8>) {
        let fed = self.telnet.feed(bytes);
        let mut events = Vec::new();
        // Negotiation answers go out first: through the compressor once
        // compression is on (everything after its start marker must be), and
        // plain if it starts in this batch (they go before the marker).
        let mut plain = if self.deflate.is_some() {
            self.wire(&fed.reply)
        } else {
            fed.reply
        };
        let mut after = Vec::new();
        for ev in fed.events {
            match ev {
                TelnetEvent::Line(raw) => {
                    let line = clean_input(&decode(&raw, &self.flags.encoding));
                    events.push(ProtoEvent::Input(Msg::text(line)));
                }
                TelnetEvent::LineTooLong => events.push(ProtoEvent::LineTooLong),
                TelnetEvent::WindowSize { width, height } => {
                    self.flags.screen_width = Some(width);
                    self.flags.screen_height = Some(height);
                    events.push(ProtoEvent::FlagsChanged);
                }
                TelnetEvent::Enabled(side, opt) => {
                    self.option_changed(opt, true, &mut events);
                    match (side, opt) {
                        (Side::Theirs, Opt::TTYPE) => after.extend(mtts::send_request()),
                        (Side::Ours, Opt::MCCP2) if self.deflate.is_none() => {
                            // The marker itself is the last uncompressed byte sequence.
                            plain.extend_from_slice(&[IAC, SB, Opt::MCCP2, IAC, SE]);
                            self.deflate = Some(Compress::new(Compression::default(), true));
                        }
                        (Side::Ours, Opt::MSSP) => after.extend(mssp::encode(&mssp_source())),
                        // MXP starts with an empty subnegotiation; then the
                        // client is put in locked mode, where nothing is read
                        // as MXP but the link tags the renderer marks
                        // (so a player's `<` needs no escaping).
                        (Side::Ours, Opt::MXP) => {
                            after.extend_from_slice(&[IAC, SB, Opt::MXP, IAC, SE]);
                            after.extend_from_slice(MXP_LOCKED);
                        }
                        (Side::Ours, Opt::CHARSET) => {
                            let mut req = vec![IAC, SB, Opt::CHARSET, CHARSET_REQUEST];
                            req.extend_from_slice(b";UTF-8;ISO-8859-1");
                            req.extend_from_slice(&[IAC, SE]);
                            after.extend(req);
                        }
                        _ => {}
                    }
                }
                TelnetEvent::Disabled(side, opt) => {
                    self.option_changed(opt, false, &mut events);
                    if side == Side::Ours && opt == Opt::MCCP2 {
                        after.extend(self.end_compression());
                    }
                }
                TelnetEvent::Subneg(opt, data) => match opt {
                    Opt::TTYPE => {
                        if self.ttype.answer(&data, &mut self.flags) {
                            after.extend(mtts::send_request());
                        }
                        events.push(ProtoEvent::FlagsChanged);
                    }
                    Opt::GMCP => {
                        let text = String::from_utf8_lossy(&data);
                        let msg = gmcp::decode(&text);
                        after.extend(self.gmcp_input(msg, &mut events));
                    }
                    Opt::MSDP => {
                        events.extend(msdp::decode(&data).into_iter().map(ProtoEvent::Input));
                    }
                    Opt::CHARSET if data.first() == Some(&CHARSET_ACCEPTED) => {
                        let name = String::from_utf8_lossy(&data[1..]).to_uppercase();
                        self.flags.encoding = if name.contains("8859-1") || name.contains("LATIN") {
                            "latin-1".into()
                        } else {
                            "utf-8".into()
                        };
                        self.flags.utf8 = self.flags.encoding == "utf-8";
                        events.push(ProtoEvent::FlagsChanged);
                    }
                    _ => {}
                },
                TelnetEvent::SubnegTooLong(_) => {}
            }
        }
        let mut out = plain;
        if !after.is_empty() {
            out.extend(self.wire(&after));
        }
        (events, out)
    }

    /// GMCP the portal answers itself; the rest goes to the server.
    fn gmcp_input(&mut self, msg: Msg, events: &mut Vec<ProtoEvent>) -> Vec<u8> {
        match gmcp::portal_input(msg, &mut self.flags) {
            gmcp::PortalInput::Forward(msg) => {
                events.push(ProtoEvent::Input(msg));
                Vec::new()
            }
            gmcp::PortalInput::Handled {
                flags_changed,
                reply,
            } => {
                if flags_changed {
                    events.push(ProtoEvent::FlagsChanged);
                }
                reply
                    .map(|r| frame_sb(Opt::GMCP, gmcp::encode(&r).as_bytes()))
                    .unwrap_or_default()
            }
        }
    }

    fn option_changed(&mut self, opt: u8, on: bool, events: &mut Vec<ProtoEvent>) {
        let name = match opt {
            Opt::GMCP => "GMCP",
            Opt::MSDP => "MSDP",
            Opt::MCCP2 => "MCCP2",
            Opt::EOR => "EOR",
            Opt::NAWS => "NAWS",
            Opt::TTYPE => "TTYPE",
            Opt::MSSP => "MSSP",
            Opt::CHARSET => "CHARSET",
            Opt::SGA => "SGA",
            Opt::MXP => "MXP",
            _ => return,
        };
        let had = self.flags.options.iter().any(|o| o == name);
        if on && !had {
            self.flags.options.push(name.into());
        } else if !on && had {
            self.flags.options.retain(|o| o != name);
        } else {
            return;
        }
        events.push(ProtoEvent::FlagsChanged);
    }

    /// The colours to render with: the richest the client said it shows,
    /// unless the player chose otherwise.
    pub fn color_mode(&self) -> ColorMode {
        self.choices.color_mode(&self.flags)
    }

    /// Wire bytes for messages to the client.
    pub fn render<'m>(&mut self, msgs: impl IntoIterator<Item = &'m Msg>) -> Vec<u8> {
        let plain = self.render_plain(msgs);
        self.wire_owned(plain)
    }

    /// What decides the bytes [`render_plain`](Self::render_plain) makes of
    /// a message that [`renders_alike`] — so that a line heard by a crowd
    /// is rendered once for each way its clients show it, not once a client.
    pub fn look(&self) -> RenderLook {
        let on = |opt| self.telnet.is_enabled(Side::Ours, opt);
        RenderLook {
            color: self.color_mode(),
            mxp: on(Opt::MXP),
            eor: on(Opt::EOR),
            sga: on(Opt::SGA),
            gmcp: on(Opt::GMCP),
            msdp: on(Opt::MSDP),
            encoding: self.flags.encoding.clone(),
        }
    }

    /// The bytes for messages to the client before compression (MCCP2):
    /// what [`wire_owned`](Self::wire_owned) then sends.
    pub fn render_plain<'m>(&mut self, msgs: impl IntoIterator<Item = &'m Msg>) -> Vec<u8> {
        let mut out = Vec::new();
        for msg in msgs {
            match msg.cmd.as_str() {
                "text" | "prompt" => {
                    let text = msg.first_str().unwrap_or_default();
                    let mxp = self.telnet.is_enabled(Side::Ours, Opt::MXP);
                    let rendered = markup::render_with(text, self.color_mode(), mxp);
                    super::encode_text(&encode(&rendered, &self.flags.encoding), &mut out);
                    if msg.cmd == "text" {
                        out.extend_from_slice(b"\r\n");
                    } else if self.telnet.is_enabled(Side::Ours, Opt::EOR) {
                        out.extend_from_slice(&[IAC, EOR_CMD]);
                    } else if !self.telnet.is_enabled(Side::Ours, Opt::SGA) {
                        out.extend_from_slice(&[IAC, GA]);
                    }
                    // `options: {echo: false}` hides what the player types next (passwords).
                    if let Some(echo) = msg
                        .kwargs
                        .get("options")
                        .and_then(|o| o.get("echo"))
                        .and_then(|e| e.as_bool())
                    {
                        out.extend(self.telnet.set_local(Opt::ECHO, !echo));
                    }
                }
                _ => {
                    let target = gmcp::target_protocol(msg);
                    if self.telnet.is_enabled(Side::Ours, Opt::GMCP)
                        && target.is_none_or(|t| t == "gmcp")
                    {
                        frame_sb_into(Opt::GMCP, gmcp::encode(msg).as_bytes(), &mut out);
                    }
                    if self.telnet.is_enabled(Side::Ours, Opt::MSDP)
                        && target.is_none_or(|t| t == "msdp")
                    {
                        frame_sb_into(Opt::MSDP, &msdp::encode(msg), &mut out);
                    }
                }
            }
        }
        out
    }

    /// Rendered bytes as they go on the wire: compressed when MCCP2 is on,
    /// else as they are (without a copy).
    pub fn wire_owned(&mut self, plain: Vec<u8>) -> Vec<u8> {
        if self.deflate.is_none() {
            return plain;
        }
        self.wire(&plain)
    }

    /// A keepalive the client ignores.
    pub fn nop(&mut self) -> Vec<u8> {
        self.wire(&[IAC, NOP])
    }

    /// Bytes as they go on the wire: compressed when MCCP2 is on.
    pub fn wire(&mut self, bytes: &[u8]) -> Vec<u8> {
        let Some(z) = &mut self.deflate else {
            return bytes.to_vec();
        };
        let mut out = Vec::with_capacity(bytes.len() / 2 + 64);
        let mut input = bytes;
        loop {
            let before_in = z.total_in();
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            if z.compress_vec(input, &mut out, FlushCompress::Sync)
                .is_err()
            {
                // The deflater broke: fall back to plain text would corrupt the stream; end it.
                self.deflate = None;
                return out;
            }
            let used = (z.total_in() - before_in) as usize;
            input = &input[used..];
            if input.is_empty() && out.len() < out.capacity() {
                return out;
            }
        }
    }

    fn end_compression(&mut self) -> Vec<u8> {
        let Some(mut z) = self.deflate.take() else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(64);
        let _ = z.compress_vec(&[], &mut out, FlushCompress::Finish);
        out
    }
}

/// How a connection renders: two with equal looks make the same bytes of
/// any message that [`renders_alike`] ([`TelnetProtocol::look`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderLook {
    color: ColorMode,
    mxp: bool,
    eor: bool,
    sga: bool,
    gmcp: bool,
    msdp: bool,
    encoding: String,
}

/// Whether rendering `msg` depends on the connection's look only: not when
/// it also changes the connection (`options: {echo: …}` turns echo off or
/// on, which only that connection may do).
pub fn renders_alike(msg: &Msg) -> bool {
    !msg.kwargs.contains_key("options")
}

/// `IAC SB opt <data, IAC doubled> IAC SE`
fn frame_sb(opt: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frame_sb_into(opt, data, &mut out);
    out
}

/// [`frame_sb`] at the end of `out`: IAC bytes in the data doubled, the
/// runs between them copied whole.
fn frame_sb_into(opt: u8, data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len() + 5);
    out.extend_from_slice(&[IAC, SB, opt]);
    let mut rest = data;
    while let Some(i) = memchr::memchr(IAC, rest) {
        out.extend_from_slice(&rest[..=i]);
        out.push(IAC);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.extend_from_slice(&[IAC, SE]);
}

/// Input bytes as text in the session's encoding.
pub fn decode(bytes: &[u8], encoding: &str) -> String {
    if encoding == "latin-1" {
        bytes.iter().map(|&b| b as char).collect()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// Output text as bytes in the session's encoding (unrepresentable characters become `?`).
pub fn encode<'t>(text: &'t str, encoding: &str) -> Cow<'t, [u8]> {
    if encoding == "latin-1" {
        Cow::Owned(
            text.chars()
                .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
                .collect(),
        )
    } else {
        Cow::Borrowed(text.as_bytes())
    }
}

#[cfg(test)]
mod tests;
