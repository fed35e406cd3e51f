//! Laying markup out in columns: how wide it is on screen, wrapping it to a
//! width, padding and cropping it — colour codes count for nothing, wide
//! characters (CJK, most emoji) for two columns.
//!
//! Every line these functions return is markup that stands on its own: the
//! styles open at a break are opened again at the start of the next line,
//! and a line that leaves a style open ends with `|n`. So a wrapped cell can
//! sit beside another in a table without its colour bleeding into it.

use std::borrow::Cow;

use unicode_width::UnicodeWidthChar;

use crate::markup::{Token, tokens};

/// How many style codes a line carries over a break (older ones are dropped).
const MAX_CARRIED_STYLES: usize = 16;

/// How text sits in a wider space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    /// Against the left edge.
    #[default]
    Left,
    /// In the middle (an odd space left over goes right).
    Center,
    /// Against the right edge.
    Right,
}

/// One drawn unit of markup.
#[derive(Debug, Clone)]
enum Atom<'a> {
    /// A style code (`reset`: `|n`).
    Style(Cow<'a, str>, bool),
    /// A character or code drawn `width` columns wide.
    Glyph(&'a str, usize),
    /// A space between words (a plain one, or `|_`).
    Space(&'a str),
    /// A line break.
    Break,
    /// A link code (`open`: `|lc…|lt`; else `|le`), drawn as nothing.
    Link(&'a str, bool),
}

fn char_width(c: char) -> usize {
    match c {
        '\t' => 4,
        c => c.width().unwrap_or(0),
    }
}

/// A style code in a form no text written after it can extend: the short
/// truecolour form `|#f80` becomes `|#ff8800` (text such as `a1b` after
/// the short form would otherwise read as part of a longer one once what
/// stood between them is gone).
fn unambiguous(raw: &str) -> Cow<'_, str> {
    let (lead, hex) = match raw.strip_prefix("|[#") {
        Some(h) => ("|[#", h),
        None => match raw.strip_prefix("|#") {
            Some(h) => ("|#", h),
            None => return Cow::Borrowed(raw),
        },
    };
    if hex.len() != 3 {
        return Cow::Borrowed(raw);
    }
    let mut out = String::from(lead);
    for c in hex.chars() {
        out.push(c);
        out.push(c);
    }
    Cow::Owned(out)
}

fn atoms(markup: &str) -> Vec<Atom<'_>> {
    let mut out = Vec::new();
    for t in tokens(markup) {
        match t {
            Token::Style { raw, reset } => out.push(Atom::Style(unambiguous(raw), reset)),
            Token::Link { raw, open } => out.push(Atom::Link(raw, open)),
            // A code drawn as text (`||`, `|/`, `|_`, `|>`, `|-`) is one atom.
            Token::Text { raw, shown } if raw != shown => match shown {
                "\n" => out.push(Atom::Break),
                " " => out.push(Atom::Space(raw)),
                s => out.push(Atom::Glyph(raw, s.chars().map(char_width).sum())),
            },
            Token::Text { raw, .. } => {
                for (i, c) in raw.char_indices() {
                    let one = &raw[i..i + c.len_utf8()];
                    match c {
                        '\n' => out.push(Atom::Break),
                        ' ' => out.push(Atom::Space(one)),
                        '\r' => {}
                        c if c.is_control() && c != '\t' => {}
                        // A bar that starts no code is drawn as a bar; it is
                        // written escaped, so no code can follow it (`|n`).
                        '|' => out.push(Atom::Glyph("||", 1)),
                        c => out.push(Atom::Glyph(one, char_width(c))),
                    }
                }
            }
        }
    }
    out
}

/// How many columns markup takes on screen (its widest line).
pub fn width(markup: &str) -> usize {
    let mut widest = 0;
    let mut line = 0;
    for a in atoms(markup) {
        match a {
            Atom::Glyph(_, w) => line += w,
            Atom::Space(_) => line += 1,
            Atom::Break => {
                widest = widest.max(line);
                line = 0;
            }
            Atom::Style(..) | Atom::Link(..) => {}
        }
    }
    widest.max(line)
}

/// Builds lines, carrying styles over breaks (or only counts them).
struct Lines<'a> {
    out: Vec<String>,
    line: String,
    width: usize,
    /// Styles in force since the last reset, as written.
    open: Vec<Cow<'a, str>>,
    /// The link open, as written: closed at a break, opened again after.
    link: Option<&'a str>,
    /// Whether the lines are written out, or only counted.
    keep: bool,
    /// Lines ended so far.
    ended: usize,
}

impl<'a> Lines<'a> {
    fn new() -> Self {
        Self {
            out: Vec::new(),
            line: String::new(),
            width: 0,
            open: Vec::new(),
            link: None,
            keep: true,
            ended: 0,
        }
    }

    /// Lines that are counted, not written.
    fn counting() -> Self {
        Self {
            keep: false,
            ..Self::new()
        }
    }

    fn link(&mut self, raw: &'a str, open: bool) {
        if self.keep {
            self.line.push_str(raw);
            self.link = open.then_some(raw);
        }
    }

    fn style(&mut self, raw: Cow<'a, str>, reset: bool) {
        if !self.keep {
            return;
        }
        self.line.push_str(&raw);
        if reset {
            self.open.clear();
        } else {
            if self.open.len() == MAX_CARRIED_STYLES {
                self.open.remove(0);
            }
            self.open.push(raw);
        }
    }

    fn glyph(&mut self, raw: &str, w: usize) {
        if self.keep {
            self.line.push_str(raw);
        }
        self.width += w;
    }

    fn end_line(&mut self) {
        self.ended += 1;
        self.width = 0;
        if !self.keep {
            return;
        }
        let mut line = std::mem::take(&mut self.line);
        if self.link.is_some() {
            line.push_str("|le");
        }
        if !self.open.is_empty() {
            line.push_str("|n");
        }
        self.out.push(line);
        for s in &self.open {
            self.line.push_str(s);
        }
        if let Some(l) = self.link {
            self.line.push_str(l);
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.end_line();
        self.out
    }
}

/// Whether a glyph comes before the next space or break (the atoms
/// before it belong to a word).
fn glyph_ahead(atoms: &[Atom<'_>]) -> bool {
    atoms
        .iter()
        .take_while(|a| !matches!(a, Atom::Space(_) | Atom::Break))
        .any(|a| matches!(a, Atom::Glyph(..)))
}

/// Wraps markup to lines at most `width` columns wide: at spaces where it
/// can, through a word longer than a line where it must; breaks in the text
/// (`|/`, a newline) are kept. Spaces at a break are dropped; runs of
/// spaces between words are kept. At least one line is returned.
pub fn wrap(markup: &str, width: usize) -> Vec<String> {
    let atoms = atoms(markup);
    let mut lines = Lines::new();
    lay_out(&atoms, width, &mut lines);
    lines.finish()
}

/// How many lines [`wrap`] makes of `markup` at `width`, without making
/// them (what a pager asks before deciding whether it is needed).
pub fn wrapped_height(markup: &str, width: usize) -> usize {
    let atoms = atoms(markup);
    let mut lines = Lines::counting();
    lay_out(&atoms, width, &mut lines);
    lines.ended + 1
}

fn lay_out<'a>(atoms: &[Atom<'a>], width: usize, lines: &mut Lines<'a>) {
    let width = width.max(1);
    let mut i = 0;
    while i < atoms.len() {
        match &atoms[i] {
            Atom::Break => {
                lines.end_line();
                i += 1;
            }
            // Styles and links before a word go with the word (onto its line).
            Atom::Link(raw, open) if !glyph_ahead(&atoms[i..]) => {
                lines.link(raw, *open);
                i += 1;
            }
            Atom::Style(raw, reset) if !glyph_ahead(&atoms[i..]) => {
                lines.style(raw.clone(), *reset);
                i += 1;
            }
            Atom::Space(raw) => {
                // A space at the start of a wrapped line, or one that does
                // not fit, is where the line breaks.
                if lines.width + 1 > width {
                    lines.end_line();
                } else {
                    lines.glyph(raw, 1);
                }
                i += 1;
            }
            Atom::Glyph(..) | Atom::Style(..) | Atom::Link(..) => {
                // A word: glyphs (and styles) up to the next space or break.
                let end = atoms[i..]
                    .iter()
                    .position(|a| matches!(a, Atom::Space(_) | Atom::Break))
                    .map_or(atoms.len(), |p| i + p);
                let word_width: usize = atoms[i..end]
                    .iter()
                    .map(|a| match a {
                        Atom::Glyph(_, w) => *w,
                        _ => 0,
                    })
                    .sum();
                if lines.width + word_width > width && lines.width > 0 && word_width <= width {
                    // Drop the spaces the line ends with.
                    let trimmed = lines.line.trim_end_matches(' ').len();
                    let dropped = lines.line.len() - trimmed;
                    lines.line.truncate(trimmed);
                    lines.width -= dropped.min(lines.width);
                    lines.end_line();
                }
                for a in &atoms[i..end] {
                    match *a {
                        Atom::Style(ref raw, reset) => lines.style(raw.clone(), reset),
                        Atom::Link(raw, open) => lines.link(raw, open),
                        Atom::Glyph(raw, w) => {
                            if lines.width + w > width && lines.width > 0 {
                                lines.end_line();
                            }
                            lines.glyph(raw, w);
                        }
                        _ => {}
                    }
                }
                i = end;
            }
        }
    }
}

/// Markup padded with spaces to `width` columns (left alone if wider).
pub fn pad(markup: &str, width: usize, align: Align) -> String {
    let w = self::width(markup);
    if w >= width {
        return markup.to_string();
    }
    let room = width - w;
    let (left, right) = match align {
        Align::Left => (0, room),
        Align::Right => (room, 0),
        Align::Center => (room / 2, room - room / 2),
    };
    format!("{}{markup}{}", " ".repeat(left), " ".repeat(right))
}

/// Markup cut to at most `width` columns, ending with `more` (such as
/// `"..."`) when something was cut; styles left open are closed.
pub fn crop(markup: &str, width: usize, more: &str) -> String {
    if self::width(markup) <= width {
        return markup.to_string();
    }
    let keep = width.saturating_sub(self::width(more));
    let mut lines = Lines::new();
    for a in atoms(markup) {
        match a {
            Atom::Style(raw, reset) => lines.style(raw, reset),
            Atom::Link(raw, open) => lines.link(raw, open),
            Atom::Glyph(raw, w) if lines.width + w <= keep => lines.glyph(raw, w),
            Atom::Space(raw) if lines.width < keep => lines.glyph(raw, 1),
            _ => break,
        }
    }
    let mut out = std::mem::take(&mut lines.line);
    if lines.link.is_some() {
        out.push_str("|le");
    }
    if !lines.open.is_empty() {
        out.push_str("|n");
    }
    out.push_str(more);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markup::strip;

    #[test]
    fn a_link_counts_its_text_only_and_stays_a_link_on_every_line_it_wraps_to() {
        let m = "see |lclook bell|lt|rthe brass bell|n|le now";
        assert_eq!(width(m), "see the brass bell now".len());
        let lines = wrap(m, 12);
        assert_eq!(
            lines,
            vec![
                "see |lclook bell|lt|rthe|le|n",
                "|r|lclook bell|ltbrass bell|n|le",
                "now",
            ],
            "{lines:?}"
        );
        // Each line is markup that stands on its own: one link, closed.
        for l in &lines {
            assert_eq!(l.matches("|lc").count(), l.matches("|le").count(), "{l}");
        }
        assert_eq!(crop("|lcgo|ltgo north|le", 4, ""), "|lcgo|ltgo n|le");
    }

    #[test]
    fn width_counts_what_is_drawn() {
        assert_eq!(width("hello"), 5);
        assert_eq!(width("|rhello|n"), 5);
        assert_eq!(width("a||b"), 3);
        assert_eq!(width("|[500|#ff0000x|n"), 1);
        assert_eq!(width("日本"), 4);
        assert_eq!(width("ab|/abcd"), 4);
        assert_eq!(width("a\u{1b}[31mb"), 6, "ESC is dropped, the rest is text");
        assert_eq!(width(""), 0);
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_carries_colour_over() {
        assert_eq!(wrap("the quick brown fox", 10), ["the quick", "brown fox"]);
        assert_eq!(
            wrap("|rthe quick brown|n fox", 10),
            ["|rthe quick|n", "|rbrown|n fox"]
        );
        // A word longer than the line is cut through.
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        // Breaks are kept; an empty text is one empty line.
        assert_eq!(wrap("a|/b\nc", 10), ["a", "b", "c"]);
        assert_eq!(wrap("", 10), [""]);
        // Wide characters count double.
        assert_eq!(wrap("日本語", 4), ["日本", "語"]);
        for line in wrap("|rred |gand green |bblue words here", 7) {
            assert!(width(&line) <= 7, "{line}");
        }
        let joined: Vec<String> = wrap("|rred |gand green |bblue words", 7)
            .iter()
            .map(|l| strip(l))
            .collect();
        assert_eq!(joined.join(" "), "red and green blue words");
    }

    #[test]
    fn the_height_of_a_wrap_is_counted_without_making_its_lines() {
        let texts = [
            "",
            "the quick brown fox",
            "|rthe quick brown|n fox jumps over the lazy dog",
            "abcdefghijklmnopqrstuvwxyz",
            "a|/b\nc|/|/d",
            "日本語のテキスト 日本語",
            "see |lclook bell|lt|rthe brass bell|n|le now and then",
            "word    with   runs     of spaces  and\ttabs\tin it",
            "  leading and trailing  ",
            "|wHelp|n\n|yGeneral|n\n  look, get, drop, inventory, say, pose, whisper, give, home",
        ];
        for t in texts {
            for w in [1, 2, 3, 5, 8, 13, 20, 80] {
                assert_eq!(wrapped_height(t, w), wrap(t, w).len(), "{t:?} at {w}");
            }
        }
        assert_eq!(wrapped_height("the quick brown fox", 10), 2);
        assert_eq!(wrapped_height("", 10), 1);
    }

    #[test]
    fn padding_and_cropping_respect_markup() {
        assert_eq!(pad("|rab|n", 5, Align::Right), "   |rab|n");
        assert_eq!(pad("ab", 5, Align::Center), " ab  ");
        assert_eq!(pad("toolong", 3, Align::Left), "toolong");
        assert_eq!(crop("|rabcdefgh", 6, "..."), "|rabc|n...");
        assert_eq!(crop("abc", 6, "..."), "abc");
        assert_eq!(width(&crop("日本語です", 5, "")), 4);
    }
}
