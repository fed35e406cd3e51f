//! The websocket wire formats, sans-IO: frames in, messages out, and back.
//!
//! | subprotocol | client → portal | portal → client |
//! |---|---|---|
//! | `v1.evennia.com` (also: none offered) | TEXT `["cmdname", [args], {kwargs}]` | the same; `text`/`prompt` as HTML |
//! | `json.mudstandards.org` | BINARY lines; TEXT `{"proto":"gmcp","id":..,"data":..}` | BINARY ANSI; TEXT the same JSON |
//! | `gmcp.mudstandards.org` | BINARY lines; TEXT `Package.Name json` | BINARY ANSI; TEXT GMCP |
//! | `terminal.mudstandards.org` | BINARY lines | BINARY ANSI |

use serde_json::{Value, json};
use tavern_shared::Msg;
use tavern_shared::markup::{self, ColorMode};
use tavern_shared::text::clean_input;

use crate::telnet::gmcp;

/// Evennia's webclient protocol: `["cmdname", [args], {kwargs}]` in TEXT frames.
pub const V1: &str = "v1.evennia.com";
/// mudstandards JSON: one `{"proto": ..., "data": ...}` object per frame.
pub const JSON: &str = "json.mudstandards.org";
/// mudstandards GMCP: text as BINARY frames, GMCP as `Package json` TEXT frames.
pub const GMCP: &str = "gmcp.mudstandards.org";
/// mudstandards terminal: the telnet stream's text, ANSI colours, in BINARY frames.
pub const TERMINAL: &str = "terminal.mudstandards.org";
/// In the order the portal prefers them when a client offers several.
pub const PROTOCOLS: [&str; 4] = [V1, JSON, GMCP, TERMINAL];

/// How messages travel over one websocket: by its negotiated subprotocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// [`V1`] (also when no subprotocol was asked for, as Evennia does).
    EvenniaV1,
    /// [`JSON`].
    MudstandardsJson,
    /// [`GMCP`].
    MudstandardsGmcp,
    /// [`TERMINAL`].
    Terminal,
}

/// A websocket frame to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A TEXT frame.
    Text(String),
    /// A BINARY frame.
    Binary(Vec<u8>),
}

impl WireFormat {
    /// Every format.
    pub const ALL: [WireFormat; 4] = [
        WireFormat::EvenniaV1,
        WireFormat::MudstandardsJson,
        WireFormat::MudstandardsGmcp,
        WireFormat::Terminal,
    ];

    /// The format for the negotiated subprotocol; none means v1, as in Evennia.
    pub fn for_protocol(p: Option<&str>) -> Self {
        match p {
            Some(JSON) => Self::MudstandardsJson,
            Some(GMCP) => Self::MudstandardsGmcp,
            Some(TERMINAL) => Self::Terminal,
            _ => Self::EvenniaV1,
        }
    }

    /// The subprotocol's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::EvenniaV1 => V1,
            Self::MudstandardsJson => JSON,
            Self::MudstandardsGmcp => GMCP,
            Self::Terminal => TERMINAL,
        }
    }

    /// Messages in a TEXT frame. Malformed frames yield nothing.
    pub fn decode_text(self, text: &str) -> Vec<Msg> {
        match self {
            Self::EvenniaV1 => decode_v1(text).into_iter().collect(),
            Self::MudstandardsJson => {
                let Ok(v) = serde_json::from_str::<Value>(text) else {
                    return Vec::new();
                };
                if v.get("proto").and_then(Value::as_str) != Some("gmcp") {
                    return Vec::new();
                }
                let id = v.get("id").and_then(Value::as_str).unwrap_or_default();
                let data = match v.get("data") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                vec![gmcp::decode(&format!("{id} {data}"))]
            }
            Self::MudstandardsGmcp => vec![gmcp::decode(text)],
            Self::Terminal => Vec::new(),
        }
    }

    /// Lines of input in a BINARY frame.
    pub fn decode_binary(self, bytes: &[u8]) -> Vec<Msg> {
        if self == Self::EvenniaV1 {
            return Vec::new();
        }
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        text.split('\n')
            .map(|l| Msg::text(clean_input(l)))
            .collect()
    }

    /// The frame for one output message, if this format carries it; text
    /// in `color` (`ColorMode::Plain`: no styles at all).
    pub fn encode(self, msg: &Msg, color: ColorMode) -> Option<Frame> {
        let is_text = msg.cmd == "text" || msg.cmd == "prompt";
        match self {
            Self::EvenniaV1 => {
                let args = if is_text {
                    let text = msg.first_str().unwrap_or_default();
                    let html = if color == ColorMode::Plain {
                        // The text without its styles, still escaped for the page.
                        markup::to_html(&markup::escape(&markup::render(text, ColorMode::Plain)))
                    } else {
                        markup::to_html(text)
                    };
                    vec![Value::String(html)]
                } else {
                    msg.args.clone()
                };
                Some(Frame::Text(
                    json!([msg.cmd, args, Value::Object(msg.kwargs.clone())]).to_string(),
                ))
            }
            _ if is_text => {
                let mut ansi = markup::render(msg.first_str().unwrap_or_default(), color);
                if msg.cmd == "text" {
                    ansi.push_str("\r\n");
                }
                Some(Frame::Binary(ansi.into_bytes()))
            }
            Self::MudstandardsJson => {
                let text = gmcp::encode(msg);
                let (id, data) = text.split_once(' ').unwrap_or((&text, ""));
                Some(Frame::Text(
                    json!({"proto": "gmcp", "id": id, "data": data}).to_string(),
                ))
            }
            Self::MudstandardsGmcp => Some(Frame::Text(gmcp::encode(msg))),
            Self::Terminal => None,
        }
    }
}

/// `["cmdname", [args], {kwargs}]`; a `text` input is cleaned like a telnet line.
fn decode_v1(text: &str) -> Option<Msg> {
    let Ok(Value::Array(parts)) = serde_json::from_str::<Value>(text) else {
        return None;
    };
    let cmd = parts.first()?.as_str()?.to_string();
    let mut msg = Msg::new(cmd);
    if let Some(Value::Array(args)) = parts.get(1) {
        msg.args = args.clone();
    }
    if let Some(Value::Object(kwargs)) = parts.get(2) {
        msg.kwargs = kwargs.clone();
    }
    if msg.cmd == "text" {
        let line = msg.first_str().map(clean_input).unwrap_or_default();
        msg.args = vec![Value::String(line)];
    }
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TC: ColorMode = ColorMode::TrueColor;

    #[test]
    fn a_player_who_chose_no_colour_gets_none_in_any_format() {
        let v1 = WireFormat::for_protocol(None);
        assert_eq!(
            v1.encode(&Msg::text("|rHi|n <you> ||"), ColorMode::Plain),
            Some(Frame::Text(r#"["text",["Hi &lt;you&gt; |"],{}]"#.into()))
        );
        let json = WireFormat::for_protocol(Some(JSON));
        assert_eq!(
            json.encode(&Msg::text("|gok"), ColorMode::Plain),
            Some(Frame::Binary(b"ok\r\n".to_vec()))
        );
    }

    #[test]
    fn v1_is_evennias_json_with_html_text() {
        let f = WireFormat::for_protocol(None);
        assert_eq!(f, WireFormat::EvenniaV1);
        let m = f.decode_text(r#"["text", ["  look \u001b[2J "], {}]"#);
        assert_eq!(m, vec![Msg::text("look [2J")]);
        let m = f.decode_text(r#"["webclient_options", [], {"x": 1}]"#);
        assert_eq!(m[0].cmd, "webclient_options");
        assert!(f.decode_text("not json").is_empty());
        assert!(f.decode_text("[1,2]").is_empty());
        assert_eq!(
            f.encode(&Msg::text("|rHi|n <you>"), TC),
            Some(Frame::Text(
                r#"["text",["<span style=\"color:#ff0000;font-weight:bold\">Hi</span> &lt;you&gt;"],{}]"#.into()
            ))
        );
        let hidden = Msg::prompt("Password:").kwarg("options", json!({"echo": false}));
        let Some(Frame::Text(t)) = f.encode(&hidden, TC) else {
            panic!()
        };
        assert_eq!(t, r#"["prompt",["Password:"],{"options":{"echo":false}}]"#);
    }

    #[test]
    fn mudstandards_json_carries_gmcp_in_text_and_ansi_in_binary() {
        let f = WireFormat::for_protocol(Some(JSON));
        let m = f.decode_text(r#"{"proto":"gmcp","id":"Core.Hello","data":"{\"client\":\"x\"}"}"#);
        assert_eq!(m[0].cmd, "hello");
        assert_eq!(m[0].kwargs["client"], json!("x"));
        assert_eq!(
            f.decode_binary(b"look\r\nsay hi\n"),
            vec![Msg::text("look"), Msg::text("say hi")]
        );
        assert_eq!(
            f.encode(&Msg::text("|gok"), TC),
            Some(Frame::Binary(b"\x1b[0;1;32mok\x1b[0m\r\n".to_vec()))
        );
        let Some(Frame::Text(t)) = f.encode(&Msg::new("Char.Vitals").kwarg("hp", json!(3)), TC)
        else {
            panic!()
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(
            v,
            json!({"proto": "gmcp", "id": "Char.Vitals", "data": "{\"hp\":3}"})
        );
    }

    #[test]
    fn mudstandards_gmcp_and_terminal() {
        let g = WireFormat::for_protocol(Some(GMCP));
        assert_eq!(g.decode_text("Core.Ping")[0].cmd, "ping");
        assert_eq!(
            g.encode(&Msg::new("Room.Info").kwarg("num", json!(1)), TC),
            Some(Frame::Text("Room.Info {\"num\":1}".into()))
        );
        let t = WireFormat::for_protocol(Some(TERMINAL));
        assert!(
            t.decode_text("look").is_empty(),
            "text frames carry nothing on terminal"
        );
        assert_eq!(t.decode_binary(b"look"), vec![Msg::text("look")]);
        assert_eq!(t.encode(&Msg::new("Room.Info"), TC), None);
        assert_eq!(
            t.encode(&Msg::prompt("> "), TC),
            Some(Frame::Binary(b"> ".to_vec()))
        );
    }
}
