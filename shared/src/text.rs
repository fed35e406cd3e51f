//! Text helpers shared by both processes: cleaning what players type, and
//! rendering Evennia's `|` colour markup for a session.
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

/// How a session's client shows colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// No colour: markup is removed (screen readers, NOCOLOR).
    Plain,
    /// The 16 ANSI colours.
    Ansi,
}

const ANSI_FG: [(char, &str); 16] = [
    ('x', "\x1b[1;30m"),
    ('r', "\x1b[1;31m"),
    ('g', "\x1b[1;32m"),
    ('y', "\x1b[1;33m"),
    ('b', "\x1b[1;34m"),
    ('m', "\x1b[1;35m"),
    ('c', "\x1b[1;36m"),
    ('w', "\x1b[1;37m"),
    ('X', "\x1b[0;30m"),
    ('R', "\x1b[0;31m"),
    ('G', "\x1b[0;32m"),
    ('Y', "\x1b[0;33m"),
    ('B', "\x1b[0;34m"),
    ('M', "\x1b[0;35m"),
    ('C', "\x1b[0;36m"),
    ('W', "\x1b[0;37m"),
];

/// Renders `|` markup: `|r`…`|x` bright and `|R`…`|X` normal colours, `|n`
/// reset, `|h` hilite, `|/` newline, `|-` tab, `|_` space, `||` a literal bar.
/// An unknown code is shown as typed. Any raw ESC in the input is dropped.
pub fn render(markup: &str, mode: ColorMode) -> String {
    let mut out = String::with_capacity(markup.len() + 16);
    let mut colored = false;
    let mut chars = markup.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            continue;
        }
        if c != '|' {
            out.push(c);
            continue;
        }
        let Some(&code) = chars.peek() else {
            out.push('|');
            break;
        };
        let ansi = ANSI_FG.iter().find(|(k, _)| *k == code).map(|(_, s)| *s);
        let handled = match code {
            '|' => {
                out.push('|');
                true
            }
            '/' => {
                out.push('\n');
                true
            }
            '-' => {
                out.push('\t');
                true
            }
            '_' => {
                out.push(' ');
                true
            }
            'n' => {
                if mode == ColorMode::Ansi && colored {
                    out.push_str("\x1b[0m");
                    colored = false;
                }
                true
            }
            'h' => {
                if mode == ColorMode::Ansi {
                    out.push_str("\x1b[1m");
                    colored = true;
                }
                true
            }
            _ if ansi.is_some() => {
                if mode == ColorMode::Ansi
                    && let Some(seq) = ansi
                {
                    out.push_str(seq);
                    colored = true;
                }
                true
            }
            _ => false,
        };
        if handled {
            chars.next();
        } else {
            out.push('|');
        }
    }
    if colored {
        out.push_str("\x1b[0m");
    }
    out
}

/// The markup removed, leaving what a plain-text client shows.
pub fn strip(markup: &str) -> String {
    render(markup, ColorMode::Plain)
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

    #[test]
    fn colours_render_and_reset_at_the_end() {
        assert_eq!(
            render("|rred|n plain", ColorMode::Ansi),
            "\x1b[1;31mred\x1b[0m plain"
        );
        assert_eq!(render("|Gok", ColorMode::Ansi), "\x1b[0;32mok\x1b[0m");
        assert_eq!(render("|rred|n plain", ColorMode::Plain), "red plain");
    }

    #[test]
    fn literal_bars_layout_codes_and_unknown_codes() {
        assert_eq!(strip("a||b|/c|-d|_e"), "a|b\nc\td e");
        assert_eq!(strip("50|% off|"), "50|% off|");
    }

    #[test]
    fn raw_escapes_never_survive_rendering() {
        let out = render("\x1b[2Jboom|r!", ColorMode::Ansi);
        assert!(!out.contains("\x1b[2J"));
        assert!(out.starts_with("[2Jboom"));
    }
}
