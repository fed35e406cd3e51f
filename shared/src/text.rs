//! Text helpers shared by both processes: cleaning what players type; the
//! colour markup itself is in [`crate::markup`].
//!
//! Sans-IO: plain functions over strings.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_loses_control_characters_and_escapes() {
        assert_eq!(
            clean_input("  say \x1b[31mred\x07\0 \t x\r"),
            "say [31mred   x"
        );
        assert_eq!(clean_input("héllo wörld"), "héllo wörld");
    }
}
