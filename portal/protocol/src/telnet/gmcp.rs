//! GMCP (Generic MUD Communication Protocol): `Package.Name <json>` in a
//! telnet subnegotiation, mapped to and from Evennia's `(cmdname, args,
//! kwargs)` the way Evennia maps it.
//!
//! Out: a cmdname that already is a package name (`Char.Vitals`) is sent as
//! is; `foo_bar` becomes `Foo.Bar`; a name without an underscore becomes
//! `Core.Name` (and `core_x` is `Core.Core.X`, so it comes back the same);
//! a few names have fixed packages (`client_options` ↔
//! `Core.Supports.Get`, ...). The payload is nothing, the single argument, a
//! list, an object, or `[args, kwargs]`.
//!
//! In: the package is lowercased with dots made underscores and a leading
//! `core_` dropped (`Core.Hello` → `hello`); an object payload becomes kwargs,
//! a list becomes args, anything else the single argument.

use serde_json::Value;
use tavern_shared::Msg;

const FIXED: &[(&str, &str)] = &[
    ("client_options", "Core.Supports.Get"),
    ("get_inputfuncs", "Core.Commands.Get"),
    ("get_value", "Char.Value.Get"),
    ("repeat", "Char.Repeat.Update"),
    ("monitor", "Char.Monitor.Update"),
];

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The GMCP package name for an output cmdname.
pub fn package_name(cmd: &str) -> String {
    if let Some((_, pkg)) = FIXED.iter().find(|(c, _)| *c == cmd) {
        return pkg.to_string();
    }
    if cmd.contains('.') {
        return cmd.to_string();
    }
    if cmd.contains('_') {
        let name = cmd
            .split('_')
            .filter(|p| !p.is_empty())
            .map(capitalize)
            .collect::<Vec<_>>()
            .join(".");
        // Coming in, one leading `Core.` is dropped; a name that starts with
        // core keeps it by carrying one more (`core_x` ↔ `Core.Core.X`).
        if name.starts_with("Core.") {
            return format!("Core.{name}");
        }
        return name;
    }
    format!("Core.{}", capitalize(cmd))
}

/// The kwargs that are data: `options` is for the portal, not the client.
pub fn data_kwargs(msg: &Msg) -> serde_json::Map<String, Value> {
    let mut k = msg.kwargs.clone();
    k.remove("options");
    k
}

/// Which out-of-band protocol a message is meant for, if only one
/// (`options: {protocol: "msdp"}`); None: every one the client speaks.
pub fn target_protocol(msg: &Msg) -> Option<&str> {
    msg.kwargs.get("options")?.get("protocol")?.as_str()
}

/// The GMCP text (without the telnet framing) for an output message.
/// Written from the message as it is (a line said to a crowd is encoded
/// once per listener: no copy of its data is made for it).
pub fn encode(msg: &Msg) -> String {
    /// The keyword arguments but `options`, as a JSON object.
    struct Data<'a>(&'a serde_json::Map<String, Value>);
    impl serde::Serialize for Data<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().filter(|(k, _)| *k != "options"))
        }
    }
    fn with(mut name: String, payload: &impl serde::Serialize) -> String {
        let bare = name.len();
        name.push(' ');
        let mut out = name.into_bytes();
        if serde_json::to_writer(&mut out, payload).is_err() {
            // A JSON value always serializes; were it not to, nothing
            // half-written is sent.
            out.truncate(bare);
        }
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }
    let name = package_name(&msg.cmd);
    let kwargs = Data(&msg.kwargs);
    let has_kwargs = msg.kwargs.keys().any(|k| k != "options");
    match (msg.args.as_slice(), has_kwargs) {
        ([], false) => name,
        ([one], false) => with(name, one),
        (args, false) => with(name, &args),
        ([], true) => with(name, &kwargs),
        (args, true) => with(name, &(args, kwargs)),
    }
}

/// The input message for a GMCP text received from a client.
pub fn decode(text: &str) -> Msg {
    let text = text.trim();
    let (name, payload) = match text.split_once(char::is_whitespace) {
        Some((n, p)) => (n, p.trim()),
        None => (text, ""),
    };
    if let Some((cmd, _)) = FIXED.iter().find(|(_, p)| p.eq_ignore_ascii_case(name)) {
        return with_payload(Msg::new(*cmd), payload);
    }
    let mut cmd = name.to_lowercase().replace('.', "_");
    if let Some(rest) = cmd.strip_prefix("core_") {
        cmd = rest.to_string();
    }
    with_payload(Msg::new(cmd), payload)
}

fn with_payload(mut msg: Msg, payload: &str) -> Msg {
    if payload.is_empty() {
        return msg;
    }
    match serde_json::from_str::<Value>(payload) {
        Ok(Value::Object(map)) => msg.kwargs = map,
        Ok(Value::Array(items)) => msg.args = items,
        Ok(v) => msg.args = vec![v],
        // Not JSON: keep it as one string rather than lose it.
        Err(_) => msg.args = vec![Value::String(payload.to_string())],
    }
    msg
}

/// What the portal does with a GMCP input.
#[derive(Debug, PartialEq)]
pub enum PortalInput {
    /// Handled here: the flags may have changed; `reply` goes back to the client.
    Handled {
        /// The session's flags changed (the server must hear of it).
        flags_changed: bool,
        /// What to send back to the client, if anything.
        reply: Option<Msg>,
    },
    /// For the server.
    Forward(Msg),
}

/// The most GMCP packages one session may say it supports; more are ignored.
pub const MAX_SUPPORTS: usize = 64;
/// The longest package entry taken (`"Char.Vitals 1"`); longer ones are ignored.
pub const MAX_SUPPORT_LEN: usize = 64;
/// The longest client name (`Core.Hello`) kept.
pub const MAX_CLIENT_NAME: usize = 64;

/// Whether a `Core.Supports` entry is one to keep: short, printable.
fn is_package_entry(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SUPPORT_LEN
        && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
}

/// The GMCP the portal answers itself, for any protocol that carries GMCP:
/// `Core.Hello` (client name), `Core.Supports.Set/Add/Remove` (tracked per
/// session), `Core.Ping` (answered). Everything else goes to the server.
pub fn portal_input(msg: Msg, flags: &mut tavern_shared::session::ProtocolFlags) -> PortalInput {
    // Bounded, whatever the client sends: at most MAX_SUPPORTS entries, each
    // short; the flags change (and the server hears of it) only when the set does.
    let strings = |m: &Msg| -> Vec<String> {
        m.args
            .iter()
            .filter_map(|a| a.as_str())
            .filter(|s| is_package_entry(s))
            .take(MAX_SUPPORTS)
            .map(str::to_string)
            .collect()
    };
    let handled = |flags_changed| PortalInput::Handled {
        flags_changed,
        reply: None,
    };
    match msg.cmd.as_str() {
        "hello" => {
            let client = msg.kwargs.get("client").and_then(|v| v.as_str());
            let version = msg.kwargs.get("version").and_then(|v| v.as_str());
            let Some(c) = client else {
                return handled(false);
            };
            let mut name = match version {
                Some(v) => format!("{c} {v}"),
                None => c.to_string(),
            };
            name.retain(|ch| !ch.is_control());
            if let Some((cut, _)) = name.char_indices().nth(MAX_CLIENT_NAME) {
                name.truncate(cut);
            }
            let changed = flags.client_name.as_deref() != Some(name.as_str());
            flags.client_name = Some(name);
            handled(changed)
        }
        "supports_set" => {
            let mut set = strings(&msg);
            set.dedup();
            let changed = set != flags.oob_supports;
            flags.oob_supports = set;
            handled(changed)
        }
        "supports_add" => {
            let mut changed = false;
            for s in strings(&msg) {
                if flags.oob_supports.len() >= MAX_SUPPORTS {
                    break;
                }
                if !flags.oob_supports.contains(&s) {
                    flags.oob_supports.push(s);
                    changed = true;
                }
            }
            handled(changed)
        }
        "supports_remove" => {
            let gone = strings(&msg);
            let before = flags.oob_supports.len();
            // "Char" removes "Char 1" too: entries are matched by package name.
            flags.oob_supports.retain(|s| {
                let pkg = s.split_whitespace().next().unwrap_or("");
                !gone.iter().any(|g| g == s || g == pkg)
            });
            handled(flags.oob_supports.len() != before)
        }
        "ping" => PortalInput::Handled {
            flags_changed: false,
            reply: Some(Msg::new("ping")),
        },
        _ => PortalInput::Forward(msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Found by the gmcp fuzz target: `Core.Core.X` came in as `core_x`
    /// but went out as `Core.X`.
    #[test]
    fn a_name_that_starts_with_core_comes_back_the_same() {
        for pkg in [
            "Core.Core.Mooppmokme",
            "Core.Core.Core.X",
            "Core.Hello",
            "Char.Vitals",
        ] {
            let m = decode(pkg);
            assert_eq!(decode(&encode(&m)).cmd, m.cmd, "{pkg}");
        }
        assert_eq!(package_name("core_x"), "Core.Core.X");
    }

    #[test]
    fn output_names_follow_evennia() {
        assert_eq!(package_name("client_options"), "Core.Supports.Get");
        assert_eq!(package_name("char_vitals"), "Char.Vitals");
        assert_eq!(package_name("ping"), "Core.Ping");
        assert_eq!(package_name("Room.Info"), "Room.Info");
    }

    #[test]
    fn output_payload_shapes() {
        assert_eq!(encode(&Msg::new("ping")), "Core.Ping");
        assert_eq!(encode(&Msg::new("char_hp").arg(json!(12))), "Char.Hp 12");
        assert_eq!(
            encode(&Msg::new("char_list").arg(json!("a")).arg(json!("b"))),
            "Char.List [\"a\",\"b\"]"
        );
        assert_eq!(
            encode(&Msg::new("Char.Vitals").kwarg("hp", json!(10))),
            "Char.Vitals {\"hp\":10}"
        );
        assert_eq!(
            encode(&Msg::new("x_y").arg(json!(1)).kwarg("k", json!(2))),
            "X.Y [[1],{\"k\":2}]"
        );
        // Options are for the portal, never part of the payload.
        let options = json!({"protocol": "gmcp"});
        assert_eq!(
            encode(
                &Msg::new("Char.Vitals")
                    .kwarg("hp", json!(10))
                    .kwarg("options", options.clone())
                    .kwarg("sp", json!(3))
            ),
            "Char.Vitals {\"hp\":10,\"sp\":3}"
        );
        assert_eq!(
            encode(&Msg::new("ping").kwarg("options", options.clone())),
            "Core.Ping"
        );
        assert_eq!(
            encode(&Msg::new("char_hp").arg(json!(12)).kwarg("options", options)),
            "Char.Hp 12"
        );
    }

    #[test]
    fn input_is_mapped_to_cmdname_args_kwargs() {
        let m = decode("Core.Hello {\"client\":\"Mudlet\",\"version\":\"4.20.0\"}");
        assert_eq!(m.cmd, "hello");
        assert_eq!(m.kwargs["client"], json!("Mudlet"));
        let m = decode("Core.Supports.Set [\"Char 1\", \"Room 1\"]");
        assert_eq!(m.cmd, "supports_set");
        assert_eq!(m.args, vec![json!("Char 1"), json!("Room 1")]);
        let m = decode("Core.Ping");
        assert_eq!((m.cmd.as_str(), m.args.len()), ("ping", 0));
        assert_eq!(decode("Char.Value.Get {\"name\":\"hp\"}").cmd, "get_value");
        let m = decode("Char.Skills.Get 42");
        assert_eq!(
            (m.cmd.as_str(), m.args[0].clone()),
            ("char_skills_get", json!(42))
        );
        let m = decode("Comm.Say not json at all");
        assert_eq!(m.args, vec![json!("not json at all")]);
    }

    #[test]
    fn a_client_cannot_grow_its_supports_without_bound_nor_make_work_for_nothing() {
        let mut flags = tavern_shared::session::ProtocolFlags::new();
        let add = |names: Vec<String>| {
            let mut m = Msg::new("supports_add");
            for n in names {
                m = m.arg(json!(n));
            }
            m
        };
        let many: Vec<String> = (0..10_000).map(|i| format!("Pkg{i} 1")).collect();
        for chunk in many.chunks(500) {
            portal_input(add(chunk.to_vec()), &mut flags);
        }
        assert_eq!(flags.oob_supports.len(), MAX_SUPPORTS);
        // Full: adding more changes nothing, so the server hears nothing.
        assert_eq!(
            portal_input(add(vec!["Char 1".into()]), &mut flags),
            PortalInput::Handled {
                flags_changed: false,
                reply: None
            }
        );
        // Long or odd names are not kept.
        let mut f = tavern_shared::session::ProtocolFlags::new();
        portal_input(
            add(vec![
                "x".repeat(1000),
                "Bad\u{7}Name 1".into(),
                "Room 1".into(),
            ]),
            &mut f,
        );
        assert_eq!(f.oob_supports, vec!["Room 1".to_string()]);
        // The same set again changes nothing.
        let set = Msg::new("supports_set").arg(json!("Room 1"));
        assert_eq!(
            portal_input(set, &mut f),
            PortalInput::Handled {
                flags_changed: false,
                reply: None
            }
        );
        let hello = Msg::new("hello").kwarg("client", json!("x".repeat(5000)));
        portal_input(hello, &mut f);
        assert_eq!(
            f.client_name.map(|n| n.chars().count()),
            Some(MAX_CLIENT_NAME)
        );
    }

    #[test]
    fn a_round_trip_keeps_the_data() {
        let out = Msg::new("char_vitals")
            .kwarg("hp", json!(3))
            .kwarg("maxhp", json!(9));
        let back = decode(&encode(&out));
        assert_eq!(back.cmd, "char_vitals");
        assert_eq!(back.kwargs, out.kwargs);
    }
}
