//! Evennia's `|` colour markup, parsed once and rendered per client: truecolor,
//! xterm256, 16-colour ANSI (nearest colour), HTML for the webclient, or plain
//! text for screen readers and clients without colour.
//!
//! | markup | meaning |
//! |---|---|
//! | `|r |g |y |b |m |c |w |x` | bright foreground (hilite on) |
//! | `|R |G |Y |B |M |C |W |X` | normal foreground (hilite off) |
//! | `|!r` … `|!X` | foreground, hilite unchanged |
//! | `|[r` … `|[X` | background (`|[r`–`|[x` are the bright ones, as xterm256) |
//! | `|500`, `|[500` | xterm256 colour cube, red/green/blue digits 0–5 |
//! | `|=a` … `|=z`, `|[=a` … | 26 greys, black to white |
//! | `|#ff8800`, `|#f80`, `|[#…` | truecolor |
//! | `|n` reset, `|h`/`|H` hilite on/off, `|u`/`|U` underline, `|i`/`|I` italic, `|s`/`|S` strike | |
//! | `|*` inverse, `|^` blink | |
//! | `|/` newline, `|-` tab, `|>` indent, `|_` space, `||` a literal bar | |
//!
//! Unknown codes are shown as typed. Raw ESC characters never pass through:
//! the only escape sequences in the output are the ones the renderer writes.
//!
//! Sans-IO: plain functions over strings.

/// A colour as the markup named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// One of the 8 basic colours (0 black … 7 white).
    Basic(u8),
    /// An xterm256 palette index.
    Xterm(u8),
    /// A 24-bit colour.
    Rgb(u8, u8, u8),
}

/// The style text is drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    /// Foreground colour.
    pub fg: Option<Color>,
    /// Background colour.
    pub bg: Option<Color>,
    /// Bright (bold).
    pub hilite: bool,
    /// Underlined.
    pub underline: bool,
    /// Italic.
    pub italic: bool,
    /// Struck through.
    pub strike: bool,
    /// Foreground and background swapped.
    pub inverse: bool,
    /// Blinking.
    pub blink: bool,
}

/// A piece of parsed markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    /// Text in the current style.
    Text(String),
    /// The style changes.
    Style(Style),
    /// A link starts: what follows until [`Span::LinkEnd`] is its text.
    Link(LinkKind, String),
    /// The link ends.
    LinkEnd,
}

/// What a link does when it is clicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Sends its target as a command (`|lc<command>|lt<text>|le`).
    Command,
    /// Opens its target, a web address (`|lu<url>|lt<text>|le`).
    Url,
}

/// The longest link target taken; a longer one is left as text.
pub const MAX_LINK_TARGET: usize = 1000;

/// Whether a link's target may be followed: a command without control
/// characters, or an `http(s)://` address (never `javascript:` and the like).
pub fn link_allowed(kind: LinkKind, target: &str) -> bool {
    if target.is_empty() || target.chars().any(char::is_control) {
        return false;
    }
    match kind {
        LinkKind::Command => true,
        LinkKind::Url => {
            let lower = target.to_ascii_lowercase();
            (lower.starts_with("https://") || lower.starts_with("http://"))
                && !target.contains(['"', '<', '>', ' ', '\\'])
        }
    }
}

/// How a client shows colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// No colour: markup removed (screen readers, NOCOLOR).
    Plain,
    /// The 16 ANSI colours; richer colours become the nearest of them.
    Ansi,
    /// The xterm 256-colour palette; truecolor becomes the nearest entry.
    Xterm256,
    /// 24-bit colour.
    TrueColor,
}

/// A piece of markup as [`walk`] finds it.
enum Piece<'a> {
    Text(&'a str),
    Style(Style),
    /// A link opens (links never nest: an open one is closed first).
    Link(LinkKind, &'a str),
    /// The open link ends (always after a [`Piece::Link`]).
    LinkEnd,
}

/// A link code at the start of `s` (just after its bar): `lc`/`lu` with
/// their target up to the next `|lt`, or `lt`/`le`; and how many bytes it
/// takes. `None`: no link code (a `|lc` without a `|lt` after it is text).
fn link_code(s: &str) -> Option<(LinkCode<'_>, usize)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'l') {
        return None;
    }
    match b.get(1)? {
        c @ (b'c' | b'u') => {
            let rest = &s[2..];
            let end = rest.find("|lt")?;
            if end > MAX_LINK_TARGET {
                return None;
            }
            let kind = if *c == b'c' {
                LinkKind::Command
            } else {
                LinkKind::Url
            };
            Some((LinkCode::Open(kind, &rest[..end]), 2 + end + 3))
        }
        b't' => Some((LinkCode::Stray, 2)),
        b'e' => Some((LinkCode::End, 2)),
        _ => None,
    }
}

enum LinkCode<'a> {
    Open(LinkKind, &'a str),
    End,
    /// A `|lt` with no link before it: drawn as nothing.
    Stray,
}

/// Walks markup, handing `f` its text (in pieces, never empty) and its
/// style changes. Every code is ASCII, so the markup is scanned as bytes and
/// the text between codes handed on as it stands.
fn walk<'a>(markup: &'a str, mut f: impl FnMut(Piece<'a>)) {
    let bytes = markup.as_bytes();
    let mut style = Style::default();
    // Where the text not yet handed on starts.
    let mut run = 0;
    let mut i = 0;
    let mut in_link = false;
    let text = |f: &mut dyn FnMut(Piece<'a>), t: &'a str| {
        if !t.is_empty() {
            f(Piece::Text(t));
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0x1b {
            // Raw escapes never pass through.
            text(&mut f, &markup[run..i]);
            i += 1;
            run = i;
            continue;
        }
        if b != b'|' || i + 1 >= bytes.len() {
            i += 1;
            continue;
        }
        if let Some((link, used)) = link_code(&markup[i + 1..]) {
            text(&mut f, &markup[run..i]);
            match link {
                LinkCode::Open(kind, target) => {
                    if in_link {
                        f(Piece::LinkEnd);
                    }
                    f(Piece::Link(kind, target));
                    in_link = true;
                }
                LinkCode::End if in_link => {
                    f(Piece::LinkEnd);
                    in_link = false;
                }
                LinkCode::End | LinkCode::Stray => {}
            }
            i += 1 + used;
            run = i;
            continue;
        }
        match code(&bytes[i + 1..], style) {
            Some((Code::Text(t), used)) => {
                text(&mut f, &markup[run..i]);
                text(&mut f, t);
                i += 1 + used;
                run = i;
            }
            Some((Code::Style(st), used)) => {
                text(&mut f, &markup[run..i]);
                style = st;
                f(Piece::Style(style));
                i += 1 + used;
                run = i;
            }
            // A bar that starts no code is text.
            None => i += 1,
        }
    }
    text(&mut f, &markup[run..]);
    if in_link {
        f(Piece::LinkEnd);
    }
}

/// A piece of markup as it stands in the source, for tools that lay text
/// out (wrapping, tables): a style code, drawn as nothing, or text, drawn as
/// `shown` (`||` is drawn as `|`, `|/` as a newline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A style code as written (`|r`, `|[500`, `|n`); `reset`: it returns
    /// to the default style (`|n`).
    Style {
        /// The code as written.
        raw: &'a str,
        /// Whether it resets every style.
        reset: bool,
    },
    /// Text: as written, and as drawn.
    Text {
        /// As written (a code such as `||` or `|/`, or a run of text).
        raw: &'a str,
        /// As drawn.
        shown: &'a str,
    },
    /// A link code, drawn as nothing: `open` (`|lc…|lt`, `|lu…|lt`) or
    /// its end (`|le`).
    Link {
        /// The code as written.
        raw: &'a str,
        /// Whether it opens a link.
        open: bool,
    },
}

/// Splits markup into its codes and its text, as the renderers read it.
/// Raw ESC characters are left out, as every renderer leaves them out.
pub fn tokens(markup: &str) -> Vec<Token<'_>> {
    let bytes = markup.as_bytes();
    let mut out = Vec::new();
    let mut style = Style::default();
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0x1b {
            if run < i {
                out.push(Token::Text {
                    raw: &markup[run..i],
                    shown: &markup[run..i],
                });
            }
            i += 1;
            run = i;
            continue;
        }
        if b != b'|' || i + 1 >= bytes.len() {
            i += 1;
            continue;
        }
        let found = match link_code(&markup[i + 1..]) {
            Some((link, used)) => (Err(link), used),
            None => match code(&bytes[i + 1..], style) {
                Some((c, used)) => (Ok(c), used),
                None => {
                    i += 1;
                    continue;
                }
            },
        };
        let (found, used) = found;
        if run < i {
            out.push(Token::Text {
                raw: &markup[run..i],
                shown: &markup[run..i],
            });
        }
        let raw = &markup[i..i + 1 + used];
        match found {
            Ok(Code::Text(t)) => out.push(Token::Text { raw, shown: t }),
            Ok(Code::Style(st)) => {
                style = st;
                out.push(Token::Style {
                    raw,
                    reset: st == Style::default(),
                });
            }
            Err(LinkCode::Open(..)) => out.push(Token::Link { raw, open: true }),
            Err(LinkCode::End) => out.push(Token::Link { raw, open: false }),
            Err(LinkCode::Stray) => {}
        }
        i += 1 + used;
        run = i;
    }
    if run < bytes.len() {
        out.push(Token::Text {
            raw: &markup[run..],
            shown: &markup[run..],
        });
    }
    out
}

/// The most colour and style codes kept in one piece of a player's text.
pub const MAX_PLAYER_STYLES: usize = 16;

/// A player's text (a `say`, a pose, a channel line) made fit to put inside
/// the game's own lines: it cannot start a line of its own (`|/`, `|>` become
/// a space; newlines were removed when it was typed), it keeps at most
/// [`MAX_PLAYER_STYLES`] colour codes (the rest are dropped, so a line of
/// codes cannot grow into a page of spans for every listener), and its style
/// ends with it (a reset is added after it when it styled anything).
pub fn player_text(markup: &str) -> String {
    let bytes = markup.as_bytes();
    let mut out = String::with_capacity(markup.len() + 2);
    let mut styles = 0;
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'|' || i + 1 >= bytes.len() {
            i += 1;
            continue;
        }
        match code(&bytes[i + 1..], Style::default()) {
            Some((Code::Text("\n" | "    "), used)) => {
                out.push_str(&markup[run..i]);
                out.push(' ');
                i += 1 + used;
                run = i;
            }
            Some((Code::Text(_), used)) => i += 1 + used,
            Some((Code::Style(_), used)) => {
                out.push_str(&markup[run..i]);
                if styles < MAX_PLAYER_STYLES {
                    out.push_str(&markup[i..i + 1 + used]);
                }
                styles += 1;
                i += 1 + used;
                run = i;
            }
            // A bar that starts no code is text; it is written escaped, so
            // that dropping a code after it cannot make it start one (found
            // by the markup_html fuzz target: `||` + a dropped code + `r`).
            None => {
                out.push_str(&markup[run..i]);
                out.push_str("||");
                i += 1;
                run = i;
            }
        }
    }
    out.push_str(&markup[run..]);
    if styles > 0 {
        out.push_str("|n");
    }
    out
}

/// Text shown to a player exactly as it was typed: every `|` doubled, so no
/// markup in it takes effect (an unknown command echoed back, a name).
pub fn escape(text: &str) -> String {
    text.replace('|', "||")
}

/// Parses markup into text and style changes.
pub fn parse(markup: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut text = String::new();
    walk(markup, |p| {
        let span = match p {
            Piece::Text(t) => return text.push_str(t),
            Piece::Style(s) => Span::Style(s),
            Piece::Link(kind, target) => Span::Link(kind, target.to_string()),
            Piece::LinkEnd => Span::LinkEnd,
        };
        if !text.is_empty() {
            spans.push(Span::Text(std::mem::take(&mut text)));
        }
        spans.push(span);
    });
    if !text.is_empty() {
        spans.push(Span::Text(text));
    }
    spans
}

enum Code {
    Text(&'static str),
    Style(Style),
}

fn basic(c: u8) -> Option<u8> {
    match c.to_ascii_lowercase() {
        b'x' => Some(0),
        b'r' => Some(1),
        b'g' => Some(2),
        b'y' => Some(3),
        b'b' => Some(4),
        b'm' => Some(5),
        b'c' => Some(6),
        b'w' => Some(7),
        _ => None,
    }
}

fn hexval(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// A colour spec after `|` or `|[`: returns the colour and how many bytes it used.
fn color_spec(s: &[u8], bg: bool) -> Option<(Color, usize, Option<bool>)> {
    let first = *s.first()?;
    // xterm256 cube: three digits 0-5
    if s.len() >= 3 && s[..3].iter().all(|c| (b'0'..=b'5').contains(c)) {
        let d = |c: u8| c - b'0';
        return Some((
            Color::Xterm(16 + 36 * d(s[0]) + 6 * d(s[1]) + d(s[2])),
            3,
            None,
        ));
    }
    if first == b'=' {
        let g = *s.get(1)?;
        if !g.is_ascii_lowercase() {
            return None;
        }
        let idx = match g {
            b'a' => 16,
            b'z' => 231,
            g => 232 + (g - b'b'),
        };
        return Some((Color::Xterm(idx), 2, None));
    }
    if first == b'#' {
        let mut hex = [0u8; 6];
        let mut n = 0;
        for &c in s[1..].iter().take(6) {
            let Some(v) = hexval(c) else { break };
            hex[n] = v;
            n += 1;
        }
        if n == 6 {
            return Some((
                Color::Rgb(
                    hex[0] * 16 + hex[1],
                    hex[2] * 16 + hex[3],
                    hex[4] * 16 + hex[5],
                ),
                7,
                None,
            ));
        }
        if n >= 3 {
            return Some((Color::Rgb(hex[0] * 17, hex[1] * 17, hex[2] * 17), 4, None));
        }
        return None;
    }
    let b = basic(first)?;
    let bright = first.is_ascii_lowercase();
    if bg {
        // Bright backgrounds exist only in the 256-colour palette.
        let color = if bright {
            Color::Xterm(8 + b)
        } else {
            Color::Basic(b)
        };
        return Some((color, 1, None));
    }
    Some((Color::Basic(b), 1, Some(bright)))
}

fn code(s: &[u8], mut style: Style) -> Option<(Code, usize)> {
    let c = *s.first()?;
    let text = |t| Some((Code::Text(t), 1));
    match c {
        b'|' => return text("|"),
        b'/' => return text("\n"),
        b'-' => return text("\t"),
        b'_' => return text(" "),
        b'>' => return text("    "),
        _ => {}
    }
    let flag = |style: &mut Style| -> Option<()> {
        match c {
            b'n' => *style = Style::default(),
            b'h' => style.hilite = true,
            b'H' => style.hilite = false,
            b'u' => style.underline = true,
            b'U' => style.underline = false,
            b'i' => style.italic = true,
            b'I' => style.italic = false,
            b's' => style.strike = true,
            b'S' => style.strike = false,
            b'*' => style.inverse = true,
            b'^' => style.blink = true,
            _ => return None,
        }
        Some(())
    };
    if flag(&mut style).is_some() {
        return Some((Code::Style(style), 1));
    }
    if c == b'[' {
        let (color, used, _) = color_spec(&s[1..], true)?;
        style.bg = Some(color);
        return Some((Code::Style(style), 1 + used));
    }
    if c == b'!' {
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

/// The xterm palette's first 16 colours, as RGB.
const ANSI_RGB: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// The RGB value of an xterm palette index.
pub fn xterm_rgb(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => ANSI_RGB[i as usize],
        16..=231 => {
            let n = i - 16;
            (
                CUBE[(n / 36) as usize],
                CUBE[(n / 6 % 6) as usize],
                CUBE[(n % 6) as usize],
            )
        }
        _ => {
            let v = 8 + 10 * (i - 232);
            (v, v, v)
        }
    }
}

fn dist(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (x as i32 - y as i32).pow(2) as u32;
    d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)
}

/// The nearest xterm256 entry (cube or grey ramp) to an RGB colour.
pub fn nearest_xterm(rgb: (u8, u8, u8)) -> u8 {
    let level = |v: u8| {
        (0..6)
            .min_by_key(|&i| (CUBE[i] as i32 - v as i32).abs())
            .unwrap_or(0) as u8
    };
    let cube = 16 + 36 * level(rgb.0) + 6 * level(rgb.1) + level(rgb.2);
    let avg = ((rgb.0 as u32 + rgb.1 as u32 + rgb.2 as u32) / 3) as i32;
    let grey = 232 + ((avg - 8).clamp(0, 230) / 10).min(23) as u8;
    if dist(xterm_rgb(grey), rgb) < dist(xterm_rgb(cube), rgb) {
        grey
    } else {
        cube
    }
}

/// The nearest of the 16 ANSI colours (8 and up are the bright ones).
pub fn nearest_ansi(rgb: (u8, u8, u8)) -> u8 {
    (0..16u8)
        .min_by_key(|&i| dist(ANSI_RGB[i as usize], rgb))
        .unwrap_or(7)
}

fn rgb_of(c: Color, hilite: bool) -> (u8, u8, u8) {
    match c {
        Color::Basic(b) => ANSI_RGB[(b + if hilite { 8 } else { 0 }) as usize],
        Color::Xterm(i) => xterm_rgb(i),
        Color::Rgb(r, g, b) => (r, g, b),
    }
}

/// SGR codes for one colour (`base` 30 for foreground, 40 for background),
/// each followed by `;`.
fn color_codes(c: Color, base: u8, mode: ColorMode, codes: &mut String, bold: &mut bool) {
    use std::fmt::Write;
    let _ = match (c, mode) {
        (Color::Basic(b), _) => write!(codes, "{};", base + b),
        (Color::Xterm(i), ColorMode::Xterm256 | ColorMode::TrueColor) => {
            write!(codes, "{};5;{i};", base + 8)
        }
        (Color::Rgb(r, g, b), ColorMode::TrueColor) => {
            write!(codes, "{};2;{r};{g};{b};", base + 8)
        }
        (Color::Rgb(r, g, b), ColorMode::Xterm256) => {
            write!(codes, "{};5;{};", base + 8, nearest_xterm((r, g, b)))
        }
        (c, _) => {
            let n = nearest_ansi(rgb_of(c, false));
            if n >= 8 && base == 30 {
                *bold = true;
            }
            write!(codes, "{};", base + n % 8)
        }
    };
}

/// The escape sequence for a style, written onto `out`.
fn sgr(style: &Style, mode: ColorMode, out: &mut String) {
    let mut bold = style.hilite;
    let mut colors = String::new();
    if let Some(fg) = style.fg {
        color_codes(fg, 30, mode, &mut colors, &mut bold);
    }
    if let Some(bg) = style.bg {
        color_codes(bg, 40, mode, &mut colors, &mut bold);
    }
    out.push_str("\x1b[0");
    for (on, code) in [
        (bold, ";1"),
        (style.italic, ";3"),
        (style.underline, ";4"),
        (style.blink, ";5"),
        (style.inverse, ";7"),
        (style.strike, ";9"),
    ] {
        if on {
            out.push_str(code);
        }
    }
    if !colors.is_empty() {
        out.push(';');
        out.push_str(&colors[..colors.len() - 1]);
    }
    out.push('m');
}

/// Renders markup for a terminal in `mode`. Links show their text.
pub fn render(markup: &str, mode: ColorMode) -> String {
    render_with(markup, mode, false)
}

/// Renders markup for a terminal in `mode`; with `mxp`, links become MXP
/// tags (`<SEND>` for commands, `<A>` for web addresses) for a client that
/// negotiated MXP and was put in locked mode (`ESC[7z`): each tag goes in
/// temp secure mode (`ESC[4z`) and locked mode follows it again, so no
/// other text is ever read as MXP (a player's `<` needs no escaping).
pub fn render_with(markup: &str, mode: ColorMode, mxp: bool) -> String {
    let mut out = String::with_capacity(markup.len() + 16);
    let mut current = Style::default();
    let mut emitted = Style::default();
    // The open link's kind, when it may be followed.
    let mut link: Option<LinkKind> = None;
    walk(markup, |p| match p {
        Piece::Style(s) => current = s,
        Piece::Text(t) => {
            if mode != ColorMode::Plain && current != emitted {
                if current == Style::default() {
                    out.push_str("\x1b[0m");
                } else {
                    sgr(&current, mode, &mut out);
                }
                emitted = current;
            }
            out.push_str(t);
        }
        Piece::Link(kind, target) => {
            link = link_allowed(kind, target).then_some(kind);
            if mxp && link.is_some() {
                out.push_str("\x1b[4z<");
                out.push_str(mxp_tag(kind));
                out.push_str(" HREF=\"");
                mxp_attr(target, &mut out);
                out.push_str("\">\x1b[7z");
            }
        }
        Piece::LinkEnd => {
            if let (true, Some(kind)) = (mxp, link.take()) {
                out.push_str("\x1b[4z</");
                out.push_str(mxp_tag(kind));
                out.push_str(">\x1b[7z");
            }
        }
    });
    if mode != ColorMode::Plain && emitted != Style::default() {
        out.push_str("\x1b[0m");
    }
    out
}

/// The MXP tag of a link: `SEND` types a command, `A` opens an address.
fn mxp_tag(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Command => "SEND",
        LinkKind::Url => "A",
    }
}

/// The markup removed, leaving what a plain-text client shows.
pub fn strip(markup: &str) -> String {
    render(markup, ColorMode::Plain)
}

fn html_escape(s: &str, out: &mut String) {
    escape_entities(s, out, true);
}

/// A link target as an MXP attribute value: the entities MXP knows (no
/// `&#39;`; the value is in double quotes).
fn mxp_attr(s: &str, out: &mut String) {
    escape_entities(s, out, false);
}

/// Text made safe anywhere in HTML: in an element, or in an attribute's
/// value in single or double quotes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    html_escape(s, &mut out);
    out
}

fn escape_entities(s: &str, out: &mut String, apostrophe: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' if apostrophe => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Renders markup as HTML for the webclient: styled `<span>`s, everything
/// else escaped. Line breaks stay `\n` (the client shows text pre-wrapped).
pub fn to_html(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len() + 32);
    let mut style = Style::default();
    let mut in_anchor = false;
    for span in parse(markup) {
        match span {
            Span::Style(s) => style = s,
            // A command link carries its command in a data attribute the
            // page sends when it is clicked; a web link opens in a new tab,
            // with no access back to the page.
            Span::Link(kind, target) => {
                if !link_allowed(kind, &target) {
                    continue;
                }
                match kind {
                    LinkKind::Command => out.push_str("<a href=\"#\" class=\"cmd\" data-cmd=\""),
                    LinkKind::Url => {
                        out.push_str("<a target=\"_blank\" rel=\"noopener noreferrer\" href=\"")
                    }
                }
                html_escape(&target, &mut out);
                out.push_str("\">");
                in_anchor = true;
            }
            Span::LinkEnd => {
                if std::mem::take(&mut in_anchor) {
                    out.push_str("</a>");
                }
            }
            Span::Text(t) => {
                if style == Style::default() {
                    html_escape(&t, &mut out);
                    continue;
                }
                let mut css = Vec::new();
                let (mut fg, mut bg) = (
                    style.fg.map(|c| rgb_of(c, style.hilite)),
                    style.bg.map(|c| rgb_of(c, false)),
                );
                if style.inverse {
                    std::mem::swap(&mut fg, &mut bg);
                    fg = fg.or(Some((0, 0, 0)));
                    bg = bg.or(Some((229, 229, 229)));
                }
                if let Some((r, g, b)) = fg {
                    css.push(format!("color:#{r:02x}{g:02x}{b:02x}"));
                }
                if let Some((r, g, b)) = bg {
                    css.push(format!("background-color:#{r:02x}{g:02x}{b:02x}"));
                }
                if style.hilite {
                    css.push("font-weight:bold".into());
                }
                if style.italic {
                    css.push("font-style:italic".into());
                }
                let mut deco = Vec::new();
                if style.underline {
                    deco.push("underline");
                }
                if style.strike {
                    deco.push("line-through");
                }
                if !deco.is_empty() {
                    css.push(format!("text-decoration:{}", deco.join(" ")));
                }
                out.push_str(&format!("<span style=\"{}\">", css.join(";")));
                html_escape(&t, &mut out);
                out.push_str("</span>");
            }
        }
    }
    if in_anchor {
        out.push_str("</a>");
    }
    out
}

#[cfg(test)]
mod tests;
