//! Text helpers shared by both processes: cleaning what players type, and
//! laying markup out — widths, wrapping, padding ([`layout`]), tables
//! ([`table`]) and forms ([`form`]); the colour markup itself is in
//! [`crate::markup`].
//!
//! Sans-IO: plain functions over strings.

pub mod form;
pub mod layout;
pub mod table;

pub use form::Form;
pub use layout::{Align, crop, pad, width, wrap, wrapped_height};
pub use table::{Border, Table};

/// What a player typed, made safe to store and to show to others: control
/// characters (ESC, NUL, BEL, ...) are removed, tabs become spaces, and
/// surrounding whitespace is trimmed. Markup stays markup (`|r` is a colour
/// code, not an escape sequence), so nothing a player types can put a raw
/// terminal escape on another player's screen.
pub fn clean_input(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

/// Told to a client whose input was longer than the portal takes.
pub fn too_long_msg(max_line: usize) -> String {
    format!("Your input was longer than {max_line} bytes and was dropped.")
}

/// Input from any protocol — a telnet line, GMCP `Core.Text`, MSDP, a
/// websocket message — made safe and bounded the same way before it reaches
/// the game: a line of text (`text`) is cleaned as a typed line is (see
/// [`clean_input`]) and refused when longer than `max_line` bytes; any other
/// message is refused when its data is larger than four lines. `Err` is what
/// to tell the client.
pub fn bound_input(mut msg: crate::Msg, max_line: usize) -> Result<crate::Msg, String> {
    if msg.cmd == "text" {
        let line = match msg.args.first() {
            Some(serde_json::Value::String(s)) => s.as_str(),
            Some(_) | None => "",
        };
        if line.len() > max_line {
            return Err(too_long_msg(max_line));
        }
        let cleaned = clean_input(line);
        msg.args = vec![serde_json::Value::String(cleaned)];
        msg.kwargs.retain(|k, _| k == "options");
        return Ok(msg);
    }
    let size = serde_json::to_vec(&msg.args).map_or(usize::MAX, |v| v.len())
        + serde_json::to_vec(&msg.kwargs).map_or(usize::MAX, |v| v.len());
    if size > 4 * max_line {
        return Err(too_long_msg(4 * max_line));
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_s_text_is_cleaned_and_bounded_alike() {
        use serde_json::json;
        let m = crate::Msg::text("say \u{7}\u{8}\u{e}hi\u{9b}31m there\u{1b}[2J");
        let out = bound_input(m, 100).unwrap();
        assert_eq!(out.first_str(), Some("say hi31m there[2J"));
        let long = crate::Msg::text("x".repeat(101));
        assert_eq!(bound_input(long, 100).unwrap_err(), too_long_msg(100));
        // Text that came as something else than a string is no text at all.
        let odd = crate::Msg::new("text").arg(json!({"a": 1}));
        assert_eq!(bound_input(odd, 100).unwrap().first_str(), Some(""));
        let big = crate::Msg::new("char_skills_get").arg(json!("y".repeat(500)));
        assert!(bound_input(big, 100).is_err());
        let small = crate::Msg::new("char_skills_get").arg(json!("y"));
        assert!(bound_input(small, 100).is_ok());
    }

    #[test]
    fn input_loses_control_characters_and_escapes() {
        assert_eq!(
            clean_input("  say \x1b[31mred\x07\0 \t x\r"),
            "say [31mred   x"
        );
        assert_eq!(clean_input("héllo wörld"), "héllo wörld");
    }
}
