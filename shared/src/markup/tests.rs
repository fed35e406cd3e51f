use super::*;

const E: &str = "\x1b[";

fn ansi(m: &str) -> String {
    render(m, ColorMode::Ansi)
}

#[test]
fn bright_and_normal_foregrounds() {
    assert_eq!(ansi("|rred|n plain"), format!("{E}0;1;31mred{E}0m plain"));
    assert_eq!(ansi("|Rdark"), format!("{E}0;31mdark{E}0m"));
    assert_eq!(ansi("|gA|GB"), format!("{E}0;1;32mA{E}0;32mB{E}0m"));
    // |! sets the colour and leaves hilite as it was.
    assert_eq!(ansi("|h|!Rx"), format!("{E}0;1;31mx{E}0m"));
    assert_eq!(ansi("|!Rx"), format!("{E}0;31mx{E}0m"));
}

#[test]
fn xterm256_codes_by_client_capability() {
    assert_eq!(
        render("|500x", ColorMode::Xterm256),
        format!("{E}0;38;5;196mx{E}0m")
    );
    assert_eq!(
        render("|500x", ColorMode::TrueColor),
        format!("{E}0;38;5;196mx{E}0m")
    );
    assert_eq!(
        ansi("|500x"),
        format!("{E}0;1;31mx{E}0m"),
        "nearest: bright red"
    );
    assert_eq!(
        ansi("|005x"),
        format!("{E}0;34mx{E}0m"),
        "nearest: blue (0,0,238)"
    );
    assert_eq!(
        render("|[005x", ColorMode::Xterm256),
        format!("{E}0;48;5;21mx{E}0m")
    );
}

#[test]
fn truecolor_and_its_fallbacks() {
    assert_eq!(
        render("|#ff8800x", ColorMode::TrueColor),
        format!("{E}0;38;2;255;136;0mx{E}0m")
    );
    assert_eq!(
        render("|#f80x", ColorMode::TrueColor),
        render("|#ff8800x", ColorMode::TrueColor)
    );
    assert_eq!(
        render("|#ff8800x", ColorMode::Xterm256),
        format!("{E}0;38;5;208mx{E}0m")
    );
    assert_eq!(
        ansi("|#ff8800x"),
        format!("{E}0;33mx{E}0m"),
        "nearest: yellow"
    );
    assert_eq!(
        render("|[#000080x", ColorMode::TrueColor),
        format!("{E}0;48;2;0;0;128mx{E}0m")
    );
}

#[test]
fn greys_run_from_black_to_white() {
    assert_eq!(
        parse("|=a")[0],
        Span::Style(Style {
            fg: Some(Color::Xterm(16)),
            ..Style::default()
        })
    );
    assert_eq!(
        parse("|=z")[0],
        Span::Style(Style {
            fg: Some(Color::Xterm(231)),
            ..Style::default()
        })
    );
    assert_eq!(
        render("|=mx", ColorMode::Xterm256),
        format!("{E}0;38;5;243mx{E}0m")
    );
    assert_eq!(
        render("|[=bx", ColorMode::Xterm256),
        format!("{E}0;48;5;232mx{E}0m")
    );
}

#[test]
fn backgrounds() {
    assert_eq!(ansi("|[Rx"), format!("{E}0;41mx{E}0m"));
    assert_eq!(
        render("|[rx", ColorMode::Xterm256),
        format!("{E}0;48;5;9mx{E}0m")
    );
    assert_eq!(
        ansi("|[rx"),
        format!("{E}0;41mx{E}0m"),
        "no bright backgrounds in 16 colours"
    );
    assert_eq!(ansi("|y|[Bx"), format!("{E}0;1;33;44mx{E}0m"));
}

#[test]
fn attributes_turn_on_and_off() {
    assert_eq!(ansi("|ua|Ub"), format!("{E}0;4ma{E}0mb"));
    assert_eq!(ansi("|i|s|*|^x"), format!("{E}0;3;5;7;9mx{E}0m"));
    assert_eq!(ansi("|hx|Hy"), format!("{E}0;1mx{E}0my"));
}

#[test]
fn layout_codes_literal_bars_and_unknown_codes() {
    assert_eq!(strip("a||b|/c|-d|_e|>f"), "a|b\nc\td e    f");
    assert_eq!(strip("50|% off|"), "50|% off|");
    assert_eq!(
        strip("|#zz|[q|=1"),
        "|#zz|[q|=1",
        "malformed codes are shown as typed"
    );
    assert_eq!(ansi("plain"), "plain", "no codes, no escapes");
}

#[test]
fn plain_text_for_screen_readers_has_no_escapes() {
    let m = "|rred |[500bg |#123456tc |=g grey |u|i|s|*|^ all|n done";
    assert_eq!(strip(m), "red bg tc  grey  all done");
    assert!(!strip(m).contains('\x1b'));
}

#[test]
fn raw_escapes_never_survive() {
    for mode in [
        ColorMode::Plain,
        ColorMode::Ansi,
        ColorMode::Xterm256,
        ColorMode::TrueColor,
    ] {
        let out = render("\x1b[2Jboom|r!\x1b]0;title\x07", mode);
        assert!(
            !out.contains("\x1b[2J") && !out.contains("\x1b]"),
            "{mode:?}: {out:?}"
        );
    }
    assert!(!to_html("\x1b[2Jx").contains('\x1b'));
}

#[test]
fn html_escapes_and_styles() {
    assert_eq!(to_html("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    assert_eq!(
        to_html("|rX|n y"),
        "<span style=\"color:#ff0000;font-weight:bold\">X</span> y"
    );
    assert_eq!(
        to_html("|[#102030|uZ"),
        "<span style=\"background-color:#102030;text-decoration:underline\">Z</span>"
    );
    assert_eq!(to_html("a|/b"), "a\nb");
    assert_eq!(
        to_html("|r<script>"),
        "<span style=\"color:#ff0000;font-weight:bold\">&lt;script&gt;</span>"
    );
}

#[test]
fn nearest_colours() {
    assert_eq!(nearest_xterm((255, 0, 0)), 196);
    assert_eq!(nearest_xterm((128, 128, 128)), 244);
    assert_eq!(nearest_xterm((0, 0, 0)), 16);
    assert_eq!(nearest_ansi((250, 250, 250)), 15);
    assert_eq!(nearest_ansi((10, 10, 10)), 0);
    for i in 0..=255u8 {
        assert_eq!(
            nearest_xterm(xterm_rgb(i)).max(16),
            nearest_xterm(xterm_rgb(i))
        );
    }
}

#[test]
fn any_input_renders_without_panicking() {
    let alphabet: Vec<char> = "|[]#=!abcrRxXzZ059/-_>*^nhHuUiIsS \x1b\u{e9}"
        .chars()
        .collect();
    for a in &alphabet {
        for b in &alphabet {
            for c in &alphabet {
                let m: String = ['|', *a, *b, *c, '|'].iter().collect();
                for mode in [
                    ColorMode::Plain,
                    ColorMode::Ansi,
                    ColorMode::Xterm256,
                    ColorMode::TrueColor,
                ] {
                    let _ = render(&m, mode);
                }
                assert!(!strip(&m).contains('\x1b'));
                let _ = to_html(&m);
            }
        }
    }
}

/// The parser as it was first written (a char at a time), kept to check
/// that the faster one reads every input the same way.
mod reference {
    use super::super::{Color, Span, Style};

    enum Code {
        Text(&'static str),
        Style(Style),
    }

    fn basic(c: char) -> Option<u8> {
        "xrgybmcw".find(c.to_ascii_lowercase()).map(|i| i as u8)
    }

    fn color_spec(s: &[char], bg: bool) -> Option<(Color, usize, Option<bool>)> {
        let first = *s.first()?;
        if s.len() >= 3 && s[..3].iter().all(|c| ('0'..='5').contains(c)) {
            let d = |c: char| c as u8 - b'0';
            return Some((
                Color::Xterm(16 + 36 * d(s[0]) + 6 * d(s[1]) + d(s[2])),
                3,
                None,
            ));
        }
        if first == '=' {
            let g = *s.get(1)?;
            if !g.is_ascii_lowercase() {
                return None;
            }
            let idx = match g {
                'a' => 16,
                'z' => 231,
                g => 232 + (g as u8 - b'b'),
            };
            return Some((Color::Xterm(idx), 2, None));
        }
        if first == '#' {
            let hex: Vec<u8> = s[1..]
                .iter()
                .take(6)
                .map_while(|c| c.to_digit(16).map(|d| d as u8))
                .collect();
            if hex.len() == 6 {
                let rgb = Color::Rgb(
                    hex[0] * 16 + hex[1],
                    hex[2] * 16 + hex[3],
                    hex[4] * 16 + hex[5],
                );
                return Some((rgb, 7, None));
            }
            if hex.len() >= 3 {
                return Some((Color::Rgb(hex[0] * 17, hex[1] * 17, hex[2] * 17), 4, None));
            }
            return None;
        }
        let b = basic(first)?;
        let bright = first.is_ascii_lowercase();
        if bg {
            return Some((
                if bright {
                    Color::Xterm(8 + b)
                } else {
                    Color::Basic(b)
                },
                1,
                None,
            ));
        }
        Some((Color::Basic(b), 1, Some(bright)))
    }

    fn code(s: &[char], mut style: Style) -> Option<(Code, usize)> {
        let c = *s.first()?;
        let text = |t| Some((Code::Text(t), 1));
        match c {
            '|' => return text("|"),
            '/' => return text("\n"),
            '-' => return text("\t"),
            '_' => return text(" "),
            '>' => return text("    "),
            _ => {}
        }
        let flagged = match c {
            'n' => Some(Style::default()),
            'h' => Some(Style {
                hilite: true,
                ..style
            }),
            'H' => Some(Style {
                hilite: false,
                ..style
            }),
            'u' => Some(Style {
                underline: true,
                ..style
            }),
            'U' => Some(Style {
                underline: false,
                ..style
            }),
            'i' => Some(Style {
                italic: true,
                ..style
            }),
            'I' => Some(Style {
                italic: false,
                ..style
            }),
            's' => Some(Style {
                strike: true,
                ..style
            }),
            'S' => Some(Style {
                strike: false,
                ..style
            }),
            '*' => Some(Style {
                inverse: true,
                ..style
            }),
            '^' => Some(Style {
                blink: true,
                ..style
            }),
            _ => None,
        };
        if let Some(st) = flagged {
            return Some((Code::Style(st), 1));
        }
        if c == '[' {
            let (color, used, _) = color_spec(&s[1..], true)?;
            style.bg = Some(color);
            return Some((Code::Style(style), 1 + used));
        }
        if c == '!' {
            let (color, used, _) = color_spec(&s[1..], false)?;
            style.fg = Some(color);
            return Some((Code::Style(style), 1 + used));
        }
        let (color, used, bright) = color_spec(s, false)?;
        style.fg = Some(color);
        if let Some(b) = bright {
            style.hilite = b;
        }
        Some((Code::Style(style), used))
    }

    pub(super) fn parse(markup: &str) -> Vec<Span> {
        let mut spans = Vec::new();
        let mut text = String::new();
        let mut style = Style::default();
        let chars: Vec<char> = markup.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\x1b' {
                i += 1;
                continue;
            }
            if c != '|' || i + 1 >= chars.len() {
                text.push(c);
                i += 1;
                continue;
            }
            match code(&chars[i + 1..], style) {
                Some((Code::Text(t), used)) => {
                    text.push_str(t);
                    i += 1 + used;
                }
                Some((Code::Style(s), used)) => {
                    style = s;
                    if !text.is_empty() {
                        spans.push(Span::Text(std::mem::take(&mut text)));
                    }
                    spans.push(Span::Style(style));
                    i += 1 + used;
                }
                None => {
                    text.push('|');
                    i += 1;
                }
            }
        }
        if !text.is_empty() {
            spans.push(Span::Text(text));
        }
        spans
    }
}

#[test]
fn the_byte_parser_reads_everything_as_the_char_parser_did() {
    let mut checked = 0;
    let check = |m: &str| assert_eq!(parse(m), reference::parse(m), "{m:?}");
    // Every input the fuzzer kept.
    checked += crate::fuzz::replay("markup", |data| check(&String::from_utf8_lossy(data)));
    // And every short mix of codes, multi-byte letters and escapes.
    let alphabet: Vec<char> = "|[]#=!abcfrRxXzZ0159/-_>*^nhHuUiIsS \x1b\u{e9}\u{1f600}"
        .chars()
        .collect();
    for a in &alphabet {
        for b in &alphabet {
            for c in &alphabet {
                for d in ['|', 'x', '\u{e9}'] {
                    check(&[*a, '|', *b, *c, d, '|'].iter().collect::<String>());
                }
            }
        }
    }
    checked += 1;
    assert!(checked > 100, "the corpus was found");
}

#[test]
fn a_player_s_text_cannot_pass_for_the_game_s_nor_grow_without_bound() {
    let forged = player_text("hi|/SYSTEM: the server restarts, re-enter your password|>x");
    assert!(
        !render(&forged, ColorMode::Plain).contains('\n'),
        "{forged}"
    );
    assert_eq!(
        strip(&forged),
        "hi SYSTEM: the server restarts, re-enter your password x"
    );
    // Styles end with the text.
    assert_eq!(player_text("|rred"), "|rred|n");
    assert_eq!(player_text("plain || bar"), "plain || bar");
    // A flood of codes keeps a few: the listener's copy stays small.
    let flood = "|r|g|b|[500".repeat(2000) + "x";
    let kept = player_text(&flood);
    assert_eq!(strip(&kept), "x");
    assert!(
        to_html(&kept).len() < 2_000,
        "{} bytes",
        to_html(&kept).len()
    );
    // Escaped text shows as typed.
    assert_eq!(strip(&escape("|rred|n test")), "|rred|n test");
    // A lone bar stays a bar when the codes after it are dropped (found by
    // the markup_html fuzz target: it grew new codes past the cap).
    let tricky = "|r".repeat(MAX_PLAYER_STYLES) + &"|[|rb x |[|gr y ".repeat(20);
    let kept = player_text(&tricky);
    assert!(
        to_html(&kept).matches("<span").count() <= MAX_PLAYER_STYLES + 2,
        "{kept}"
    );
    assert_eq!(strip(&player_text("a | b |")), "a | b |");
}

#[test]
fn links_show_their_text_and_become_mxp_tags_for_an_mxp_client() {
    let m = "Exits: |lcnorth|ltnorth|le and |lu https://x.org/a?b=1&c=2|ltthe site|le.";
    assert_eq!(strip(m), "Exits: north and the site.");
    // An address with a space before it is not followed (shown as text).
    let m = "Exits: |lcnorth|ltnorth|le and |luhttps://x.org/a?b=1&c=2|ltthe site|le.";
    assert_eq!(
        render_with(m, ColorMode::Plain, true),
        "Exits: \x1b[4z<SEND HREF=\"north\">\x1b[7znorth\x1b[4z</SEND>\x1b[7z and \
         \x1b[4z<A HREF=\"https://x.org/a?b=1&amp;c=2\">\x1b[7zthe site\x1b[4z</A>\x1b[7z."
    );
    // Quotes and angle brackets in a command are escaped in the tag; the
    // text around it is sent as it is (the client is in locked mode).
    assert_eq!(
        render_with("|lcsay \"<hi>\"|lt<b>say it</b>|le", ColorMode::Plain, true),
        "\x1b[4z<SEND HREF=\"say &quot;&lt;hi&gt;&quot;\">\x1b[7z<b>say it</b>\x1b[4z</SEND>\x1b[7z"
    );
    // Colour inside a link.
    assert_eq!(
        render_with("|lclook|lt|rlook|n|le", ColorMode::Ansi, true),
        format!("\x1b[4z<SEND HREF=\"look\">\x1b[7z{E}0;1;31mlook\x1b[4z</SEND>\x1b[7z{E}0m")
    );
}

#[test]
fn odd_link_codes_are_text_or_nothing_and_never_unbalanced() {
    // No |lt after |lc: the bar is text.
    assert_eq!(strip("a |lcb c"), "a |lcb c");
    // A stray |lt or |le draws as nothing.
    assert_eq!(strip("a|le b|lt c"), "a b c");
    // A link opened inside another closes the first; an unclosed one ends
    // with the text.
    assert_eq!(
        render_with("|lca|ltA|lcb|ltB", ColorMode::Plain, true),
        "\x1b[4z<SEND HREF=\"a\">\x1b[7zA\x1b[4z</SEND>\x1b[7z\
         \x1b[4z<SEND HREF=\"b\">\x1b[7zB\x1b[4z</SEND>\x1b[7z"
    );
    // Addresses other than http(s) are never links: the text stays.
    for bad in [
        "javascript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "",
    ] {
        let m = format!("|lu{bad}|ltclick|le");
        assert_eq!(render_with(&m, ColorMode::Plain, true), "click", "{bad}");
        assert_eq!(to_html(&m), "click", "{bad}");
    }
}

#[test]
fn links_in_html_send_their_command_or_open_a_new_tab_and_are_escaped() {
    assert_eq!(
        to_html("|lclook \"bell\"|lt|rthe <bell>|n|le"),
        "<a href=\"#\" class=\"cmd\" data-cmd=\"look &quot;bell&quot;\">\
         <span style=\"color:#ff0000;font-weight:bold\">the &lt;bell&gt;</span></a>"
    );
    assert_eq!(
        to_html("|luhttps://example.org/?a=1&b=2|ltsite|le"),
        "<a target=\"_blank\" rel=\"noopener noreferrer\" href=\"https://example.org/?a=1&amp;b=2\">site</a>"
    );
}

#[test]
fn a_player_cannot_make_a_link() {
    let said = player_text("|lcgive all to me|ltfree gold!|le");
    assert_eq!(strip(&said), "|lcgive all to me|ltfree gold!|le");
    assert!(!to_html(&said).contains("<a"));
    assert!(!render_with(&said, ColorMode::Plain, true).contains('\x1b'));
}
