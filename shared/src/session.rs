//! What the portal and the server both know about a session, and hand each other
//! on every (re)connect: Evennia's session sync data, plus a data map that
//! survives reloads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A session id: unique for the life of one portal instance, never reused.
/// Its top bits name the portal that holds the session ([`portal_of`]), so
/// the sessions of a game's several portals never share an id.
pub type SessId = u64;

/// A portal's id (`[portal] id`): 0 for the main portal.
pub type PortalId = u16;

/// The highest portal id: session ids stay below 2^53, exact in JavaScript.
pub const MAX_PORTAL_ID: PortalId = 31;

/// Where a session id's portal bits start.
const PORTAL_SHIFT: u32 = 48;

/// The portal that holds session `sessid`.
pub fn portal_of(sessid: SessId) -> PortalId {
    (sessid >> PORTAL_SHIFT) as PortalId
}

/// The session ids portal `portal` hands out (the first is the range's start + 1).
pub fn sessids_of(portal: PortalId) -> std::ops::Range<SessId> {
    let start = SessId::from(portal) << PORTAL_SHIFT;
    start..start + (1 << PORTAL_SHIFT)
}

/// Milliseconds since the Unix epoch.
pub type UnixMillis = u64;

/// Now, in milliseconds since the Unix epoch.
pub fn now_millis() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The client-side facts a protocol negotiated (Evennia's `protocol_flags`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProtocolFlags {
    /// The client's name (TTYPE / GMCP Core.Hello), e.g. "MUDLET 4.19".
    pub client_name: Option<String>,
    /// Character encoding of the connection.
    pub encoding: String,
    /// The client shows 16 ANSI colours.
    pub ansi: bool,
    /// The client shows 256 colours.
    pub xterm256: bool,
    /// The client shows 24-bit colour.
    pub truecolor: bool,
    /// The client speaks UTF-8.
    pub utf8: bool,
    /// The client is a screen reader: no decoration.
    pub screenreader: bool,
    /// The player asked for no colour.
    pub nocolor: bool,
    /// Window size from NAWS.
    pub screen_width: Option<u16>,
    /// Screen height in lines (NAWS), if known.
    pub screen_height: Option<u16>,
    /// Telnet options the client accepted (by name): "GMCP", "MSDP", "MCCP2", "EOR", ...
    pub options: Vec<String>,
    /// GMCP packages the client asked for (`Core.Supports.Set/Add/Remove`), e.g. "Char 1".
    pub oob_supports: Vec<String>,
}

impl ProtocolFlags {
    /// The richest colour the client said it shows.
    pub fn color_mode(&self) -> crate::markup::ColorMode {
        ClientChoices::default().color_mode(self)
    }

    /// Flags of a client that said nothing: ANSI colour, UTF-8.
    pub fn new() -> Self {
        Self {
            encoding: "utf-8".into(),
            ansi: true,
            xterm256: true,
            utf8: true,
            ..Default::default()
        }
    }
}

/// What a player chose with the `option` command, over what their client
/// reported (`None`: the client's report stands). The server sets them; the
/// portal renders by them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientChoices {
    /// 16 ANSI colours.
    pub ansi: Option<bool>,
    /// 256 colours.
    pub xterm256: Option<bool>,
    /// 24-bit colour.
    pub truecolor: Option<bool>,
    /// No colour at all.
    pub nocolor: Option<bool>,
    /// A screen reader: no colour, no decoration.
    pub screenreader: Option<bool>,
    /// Screen width in characters.
    pub screen_width: Option<u16>,
    /// Screen height in lines.
    pub screen_height: Option<u16>,
}

impl ClientChoices {
    /// Whether the player chose nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The colours to render with: the player's choices over `f`.
    pub fn color_mode(&self, f: &ProtocolFlags) -> crate::markup::ColorMode {
        use crate::markup::ColorMode;
        let pick = |choice: Option<bool>, reported: bool| choice.unwrap_or(reported);
        if pick(self.nocolor, f.nocolor) || pick(self.screenreader, f.screenreader) {
            ColorMode::Plain
        } else if pick(self.truecolor, f.truecolor) {
            ColorMode::TrueColor
        } else if pick(self.xterm256, f.xterm256) {
            ColorMode::Xterm256
        } else if pick(self.ansi, f.ansi) {
            ColorMode::Ansi
        } else {
            ColorMode::Plain
        }
    }

    /// `f` with the player's choices applied.
    pub fn apply(&self, f: &ProtocolFlags) -> ProtocolFlags {
        let mut out = f.clone();
        let set = |field: &mut bool, choice: Option<bool>| {
            if let Some(c) = choice {
                *field = c;
            }
        };
        set(&mut out.ansi, self.ansi);
        set(&mut out.xterm256, self.xterm256);
        set(&mut out.truecolor, self.truecolor);
        set(&mut out.nocolor, self.nocolor);
        set(&mut out.screenreader, self.screenreader);
        out.screen_width = self.screen_width.or(f.screen_width);
        out.screen_height = self.screen_height.or(f.screen_height);
        out
    }
}

/// Everything needed to rebuild a session on either side of the link.
///
/// The portal owns the connection facts (address, protocol, flags, conn_time);
/// the server owns login state, puppet, counters and `data`, and sends them back
/// whenever they change so that a crashed server's successor can restore them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionSync {
    /// The session's id, unique in the portal's life.
    pub sessid: SessId,
    /// Remote address, e.g. "127.0.0.1:53122".
    pub address: String,
    /// "telnet", "telnet/ssl", "websocket", ...
    pub protocol: String,
    /// When it connected.
    pub conn_time: UnixMillis,
    /// When it last sent input.
    pub cmd_last: UnixMillis,
    /// When it last sent input other than the `idle` keepalive.
    pub cmd_last_visible: UnixMillis,
    /// Lines it sent.
    pub cmd_total: u64,
    /// Whether it is logged in.
    pub logged_in: bool,
    /// The account's id.
    pub account_id: Option<i64>,
    /// The account's name.
    pub account_name: Option<String>,
    /// The puppet's id.
    pub puppet_id: Option<i64>,
    /// What the client can do.
    pub flags: ProtocolFlags,
    /// What the player chose over the client's report (`option`).
    pub choices: ClientChoices,
    /// Game data attached to the session; survives reloads and server crashes.
    pub data: BTreeMap<String, serde_json::Value>,
}

impl Default for SessionSync {
    fn default() -> Self {
        Self {
            sessid: 0,
            address: String::new(),
            protocol: String::new(),
            conn_time: 0,
            cmd_last: 0,
            cmd_last_visible: 0,
            cmd_total: 0,
            logged_in: false,
            account_id: None,
            account_name: None,
            puppet_id: None,
            flags: ProtocolFlags::new(),
            choices: ClientChoices::default(),
            data: BTreeMap::new(),
        }
    }
}

impl SessionSync {
    /// Takes over what the server owns from `server`, keeping this side's connection facts.
    pub fn absorb_server_state(&mut self, server: &SessionSync) {
        self.cmd_last = server.cmd_last;
        self.cmd_last_visible = server.cmd_last_visible;
        self.cmd_total = server.cmd_total;
        self.logged_in = server.logged_in;
        self.account_id = server.account_id;
        self.account_name = server.account_name.clone();
        self.puppet_id = server.puppet_id;
        self.choices = server.choices.clone();
        self.data = server.data.clone();
    }
}
