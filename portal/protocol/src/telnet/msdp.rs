//! MSDP (MUD Server Data Protocol): typed variables in a telnet
//! subnegotiation, mapped to and from `(cmdname, args, kwargs)`.
//!
//! `VAR name VAL value` becomes `name` with `[value]`; an array value becomes
//! the args, a table the kwargs. The MSDP commands `LIST`, `REPORT`,
//! `UNREPORT`, `SEND` and `RESET` become `msdp_list`, `msdp_report`, ...

use serde_json::{Map, Value};
use tavern_shared::Msg;

/// Starts a variable's name.
pub const VAR: u8 = 1;
/// Starts a value.
pub const VAL: u8 = 2;
/// Opens a table (a map of VAR/VAL pairs).
pub const TABLE_OPEN: u8 = 3;
/// Closes a table.
pub const TABLE_CLOSE: u8 = 4;
/// Opens an array (a list of VALs).
pub const ARRAY_OPEN: u8 = 5;
/// Closes an array.
pub const ARRAY_CLOSE: u8 = 6;

/// Nesting deeper than this is refused (bounded recursion on hostile input).
const MAX_DEPTH: usize = 16;

const COMMANDS: &[&str] = &["LIST", "REPORT", "UNREPORT", "SEND", "RESET"];

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn string(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|b| b > ARRAY_CLOSE) {
            self.pos += 1;
        }
        String::from_utf8_lossy(&self.data[start..self.pos]).into_owned()
    }

    /// A value after VAL.
    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek() {
            Some(TABLE_OPEN) => {
                self.pos += 1;
                let mut map = Map::new();
                loop {
                    match self.peek() {
                        Some(TABLE_CLOSE) => {
                            self.pos += 1;
                            break;
                        }
                        Some(VAR) => {
                            self.pos += 1;
                            let k = self.string();
                            let v = if self.peek() == Some(VAL) {
                                self.pos += 1;
                                self.value(depth + 1)?
                            } else {
                                Value::String(String::new())
                            };
                            map.insert(k, v);
                        }
                        _ => return None,
                    }
                }
                Some(Value::Object(map))
            }
            Some(ARRAY_OPEN) => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    match self.peek() {
                        Some(ARRAY_CLOSE) => {
                            self.pos += 1;
                            break;
                        }
                        Some(VAL) => {
                            self.pos += 1;
                            items.push(self.value(depth + 1)?);
                        }
                        _ => return None,
                    }
                }
                Some(Value::Array(items))
            }
            _ => Some(Value::String(self.string())),
        }
    }
}

/// The input messages in one MSDP subnegotiation; malformed data yields what
/// could be read before it.
pub fn decode(data: &[u8]) -> Vec<Msg> {
    let mut r = Reader { data, pos: 0 };
    let mut out = Vec::new();
    while r.peek() == Some(VAR) {
        r.pos += 1;
        let name = r.string();
        let mut values = Vec::new();
        while r.peek() == Some(VAL) {
            r.pos += 1;
            match r.value(0) {
                Some(v) => values.push(v),
                None => return out,
            }
        }
        let cmd = if COMMANDS.contains(&name.to_uppercase().as_str()) {
            format!("msdp_{}", name.to_lowercase())
        } else {
            name
        };
        let mut msg = Msg::new(cmd);
        match values.as_slice() {
            [Value::Array(items)] => msg.args = items.clone(),
            [Value::Object(map)] => msg.kwargs = map.clone(),
            _ => msg.args = values,
        }
        out.push(msg);
    }
    out
}

fn push_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Array(items) => {
            out.push(ARRAY_OPEN);
            for i in items {
                out.push(VAL);
                push_value(i, out);
            }
            out.push(ARRAY_CLOSE);
        }
        Value::Object(map) => push_table(map, out),
        Value::Null => {}
        Value::String(s) => push_str(s, out),
        other => push_str(&other.to_string(), out),
    }
}

fn push_table(map: &Map<String, Value>, out: &mut Vec<u8>) {
    out.push(TABLE_OPEN);
    for (k, v) in map {
        out.push(VAR);
        push_str(k, out);
        out.push(VAL);
        push_value(v, out);
    }
    out.push(TABLE_CLOSE);
}

/// A string with MSDP's control bytes taken out (IAC is doubled by the framing).
fn push_str(s: &str, out: &mut Vec<u8>) {
    out.extend(s.bytes().filter(|&b| b > ARRAY_CLOSE));
}

/// The MSDP data (without the telnet framing) for an output message.
pub fn encode(msg: &Msg) -> Vec<u8> {
    let mut out = vec![VAR];
    push_str(&msg.cmd, &mut out);
    out.push(VAL);
    let kwargs = crate::telnet::gmcp::data_kwargs(msg);
    match (msg.args.as_slice(), kwargs.is_empty()) {
        ([], true) => {}
        ([one], true) => push_value(one, &mut out),
        (args, true) => push_value(&Value::Array(args.to_vec()), &mut out),
        ([], false) => push_table(&kwargs, &mut out),
        (args, false) => {
            let mut items = args.to_vec();
            items.push(Value::Object(kwargs));
            push_value(&Value::Array(items), &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn simple_variables_and_commands() {
        let data = bytes(&[&[VAR], b"REPORT", &[VAL], b"HEALTH", &[VAL], b"MANA"]);
        let msgs = decode(&data);
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].cmd, "msdp_report");
        assert_eq!(msgs[0].args, vec![json!("HEALTH"), json!("MANA")]);
        let msgs = decode(&bytes(&[
            &[VAR],
            b"LIST",
            &[VAL],
            b"COMMANDS",
            &[VAR],
            b"SEND",
            &[VAL],
            b"ROOM",
        ]));
        assert_eq!(
            msgs.iter().map(|m| m.cmd.as_str()).collect::<Vec<_>>(),
            ["msdp_list", "msdp_send"]
        );
    }

    #[test]
    fn arrays_become_args_and_tables_kwargs() {
        let arr = bytes(&[
            &[VAR],
            b"REPORT",
            &[VAL, ARRAY_OPEN, VAL],
            b"HEALTH",
            &[VAL],
            b"MANA",
            &[ARRAY_CLOSE],
        ]);
        assert_eq!(decode(&arr)[0].args, vec![json!("HEALTH"), json!("MANA")]);
        let table = bytes(&[
            &[VAR],
            b"ROOM",
            &[VAL, TABLE_OPEN, VAR],
            b"VNUM",
            &[VAL],
            b"6008",
            &[VAR],
            b"EXITS",
            &[VAL, TABLE_OPEN, VAR],
            b"n",
            &[VAL],
            b"6011",
            &[TABLE_CLOSE, TABLE_CLOSE],
        ]);
        let m = &decode(&table)[0];
        assert_eq!(m.cmd, "ROOM");
        assert_eq!(m.kwargs["VNUM"], json!("6008"));
        assert_eq!(m.kwargs["EXITS"], json!({"n": "6011"}));
    }

    #[test]
    fn encoding_is_byte_exact() {
        assert_eq!(
            encode(&Msg::new("HEALTH").arg(json!(42))),
            bytes(&[&[VAR], b"HEALTH", &[VAL], b"42"])
        );
        assert_eq!(
            encode(&Msg::new("ROOM_EXITS").kwarg("n", json!(2))),
            bytes(&[
                &[VAR],
                b"ROOM_EXITS",
                &[VAL, TABLE_OPEN, VAR],
                b"n",
                &[VAL],
                b"2",
                &[TABLE_CLOSE]
            ])
        );
        assert_eq!(
            encode(&Msg::new("LIST").arg(json!("a")).arg(json!("b"))),
            bytes(&[
                &[VAR],
                b"LIST",
                &[VAL, ARRAY_OPEN, VAL],
                b"a",
                &[VAL],
                b"b",
                &[ARRAY_CLOSE]
            ])
        );
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let m = Msg::new("CHAR")
            .kwarg("name", json!("Anna"))
            .kwarg("stats", json!({"hp": "3"}));
        assert_eq!(decode(&encode(&m))[0].kwargs, m.kwargs);
    }

    #[test]
    fn hostile_data_is_bounded_and_never_panics() {
        let deep: Vec<u8> = std::iter::once(VAR)
            .chain(*b"X")
            .chain(std::iter::repeat_n([VAL, ARRAY_OPEN], 10_000).flatten())
            .collect();
        assert!(
            decode(&deep).is_empty(),
            "nesting past the limit is refused"
        );
        for a in 0..8u8 {
            for b in 0..8u8 {
                for c in [0u8, 1, 2, 3, 4, 5, 6, 65] {
                    let _ = decode(&[a, b, c, a, 65, b]);
                }
            }
        }
    }
}
