//! A player's raw terminal, sans-IO: the line discipline an SSH session
//! needs because nothing between the player and the game cooks their input.
//!
//! A telnet client edits the line itself and sends it whole; an SSH client
//! with a pseudo-terminal sends every key as it is pressed and shows only
//! what the server writes back. So the game's side must echo, erase, keep a
//! history, hide a password, and put the half-typed line back after output
//! arrives in the middle of it. Without a pseudo-terminal (`ssh -T`, a
//! script piping commands in) lines arrive whole and nothing is echoed.
//!
//! Keys understood on a pseudo-terminal: printable text (UTF-8), Enter
//! (CR, LF or CR LF), Backspace (DEL or BS), Ctrl-U (erase the line),
//! Ctrl-W (erase a word), Ctrl-C (drop the line), Ctrl-D on an empty line
//! (hang up), Ctrl-L (redraw), Up/Down (history). Other control keys and
//! escape sequences (cursor keys, function keys, bracketed-paste markers)
//! are swallowed whole, so they never reach the game as text.

use std::collections::VecDeque;

use tavern_shared::Msg;
use tavern_shared::markup::{self, ColorMode};
use tavern_shared::session::{ClientChoices, ProtocolFlags};
use tavern_shared::text::clean_input;
use unicode_width::UnicodeWidthChar;

/// Lines kept for Up/Down.
pub const HISTORY_LINES: usize = 50;
/// The most bytes of an escape sequence swallowed; what follows a longer
/// one is taken as typing again (nothing is kept while swallowing).
const MAX_ESCAPE: usize = 1024;

/// What the portal must act on.
#[derive(Debug, Clone, PartialEq)]
pub enum TermEvent {
    /// A line for the server.
    Input(Msg),
    /// A line without a pseudo-terminal was longer than the cap and was dropped.
    LineTooLong,
    /// Ctrl-D on an empty line: the player hangs up.
    Hangup,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Escape {
    /// Not in one.
    None,
    /// After ESC.
    Start,
    /// After `ESC [` (CSI): parameters up to the final byte; `plain` while
    /// there are none (a bare arrow key).
    Csi { len: usize, plain: bool },
    /// After `ESC O` (SS3): one more byte.
    Ss3,
    /// A string (OSC `ESC ]`, DCS `ESC P`, APC, PM) up to BEL or ESC.
    Text { len: usize },
}

/// One terminal's state: what is typed so far, what is on the screen's last
/// line, and how to render for it.
pub struct Terminal {
    /// What the client's terminal shows (TERM, window size): the session's flags.
    pub flags: ProtocolFlags,
    /// What the player chose over them (`option`).
    pub choices: ClientChoices,
    /// A pseudo-terminal: keys arrive one by one and must be echoed.
    pty: bool,
    max_line: usize,
    /// The line typed so far.
    line: String,
    /// Bytes of a character not complete yet.
    partial: Vec<u8>,
    escape: Escape,
    /// The last byte was CR: a following LF (or NUL) ends nothing.
    after_cr: bool,
    /// The line being typed is a password: not echoed, not kept.
    hidden: bool,
    /// The prompt on the input line, as rendered.
    prompt: String,
    /// Lines typed, oldest first.
    history: VecDeque<String>,
    /// Where Up/Down is in the history (`history.len()`: the new line).
    history_at: usize,
    /// Without a pseudo-terminal: the line overflowed, drop up to its end.
    overflowed: bool,
}

impl Terminal {
    /// A terminal taking lines of up to `max_line` bytes; no pseudo-terminal
    /// until [`Terminal::open_pty`].
    pub fn new(max_line: usize) -> Self {
        Self {
            flags: ProtocolFlags {
                ansi: false,
                xterm256: false,
                ..ProtocolFlags::new()
            },
            choices: ClientChoices::default(),
            pty: false,
            max_line,
            line: String::new(),
            partial: Vec::new(),
            escape: Escape::None,
            after_cr: false,
            hidden: false,
            prompt: String::new(),
            history: VecDeque::new(),
            history_at: 0,
            overflowed: false,
        }
    }

    /// The client asked for a pseudo-terminal: its `TERM` and size. Colours
    /// follow the terminal's name (`xterm-256color`: 256; `dumb`: none).
    pub fn open_pty(&mut self, term: &str, cols: u32, rows: u32) {
        self.pty = true;
        let term = term.trim();
        let lower = term.to_ascii_lowercase();
        let colorless = lower.is_empty() || lower == "dumb";
        self.flags.ansi = !colorless;
        self.flags.xterm256 = lower.contains("256") || lower.contains("direct");
        self.flags.truecolor = lower.contains("direct") || lower.contains("truecolor");
        if !term.is_empty() {
            self.flags.client_name = Some(term.chars().take(64).collect());
        }
        self.resize(cols, rows);
    }

    /// `COLORTERM=truecolor` (or `24bit`) from the client's environment.
    pub fn set_colorterm(&mut self, value: &str) {
        if matches!(value, "truecolor" | "24bit") {
            self.flags.truecolor = true;
            self.flags.xterm256 = true;
            self.flags.ansi = true;
        }
    }

    /// The window changed size (0: unknown).
    pub fn resize(&mut self, cols: u32, rows: u32) {
        let size = |n: u32| (n > 0).then(|| n.min(u16::MAX as u32) as u16);
        self.flags.screen_width = size(cols);
        self.flags.screen_height = size(rows);
    }

    /// Whether keys are echoed and edited here.
    pub fn has_pty(&self) -> bool {
        self.pty
    }

    /// The colours to render with.
    pub fn color_mode(&self) -> ColorMode {
        self.choices.color_mode(&self.flags)
    }

    /// Takes bytes the client sent. Returns what to act on and the bytes to
    /// write back (echo, erasing, redrawing).
    pub fn receive(&mut self, bytes: &[u8]) -> (Vec<TermEvent>, Vec<u8>) {
        let mut events = Vec::new();
        let mut echo = Vec::new();
        for &b in bytes {
            if self.pty {
                self.key(b, &mut events, &mut echo);
            } else {
                self.piped(b, &mut events);
            }
        }
        (events, echo)
    }

    /// A byte of input without a pseudo-terminal: lines end at LF.
    fn piped(&mut self, b: u8, events: &mut Vec<TermEvent>) {
        if b == b'\n' {
            if std::mem::take(&mut self.overflowed) {
                self.partial.clear();
                return;
            }
            let bytes = std::mem::take(&mut self.partial);
            // Broken UTF-8 is dropped, as on a pseudo-terminal (a replacement
            // character for each bad byte would make the line longer than
            // the bytes that came: found by fuzzing).
            let text: String = bytes.utf8_chunks().map(|c| c.valid()).collect();
            events.push(TermEvent::Input(Msg::text(clean_input(&text))));
            return;
        }
        if self.overflowed {
            return;
        }
        if self.partial.len() >= self.max_line {
            self.partial.clear();
            self.overflowed = true;
            events.push(TermEvent::LineTooLong);
            return;
        }
        self.partial.push(b);
    }

    /// A key pressed on a pseudo-terminal.
    fn key(&mut self, b: u8, events: &mut Vec<TermEvent>, echo: &mut Vec<u8>) {
        let after_cr = std::mem::take(&mut self.after_cr);
        match self.escape {
            Escape::None => {}
            Escape::Start => {
                self.escape = match b {
                    b'[' => Escape::Csi {
                        len: 0,
                        plain: true,
                    },
                    b'O' => Escape::Ss3,
                    b']' | b'P' | b'_' | b'^' => Escape::Text { len: 0 },
                    // ESC and another key (Alt+key): both dropped.
                    _ => Escape::None,
                };
                return;
            }
            Escape::Ss3 => {
                self.escape = Escape::None;
                match b {
                    b'A' => self.history_step(-1, echo),
                    b'B' => self.history_step(1, echo),
                    _ => {}
                }
                return;
            }
            Escape::Csi { len, plain } => match b {
                0x40..=0x7e => {
                    self.escape = Escape::None;
                    match b {
                        b'A' if plain => self.history_step(-1, echo),
                        b'B' if plain => self.history_step(1, echo),
                        _ => {}
                    }
                    return;
                }
                0x20..=0x3f if len < MAX_ESCAPE => {
                    self.escape = Escape::Csi {
                        len: len + 1,
                        plain: false,
                    };
                    return;
                }
                // Not part of a sequence (Enter, say): the sequence ends, the key counts.
                _ => self.escape = Escape::None,
            },
            Escape::Text { len } => {
                self.escape = match b {
                    0x07 => Escape::None,
                    0x1b => Escape::Start,
                    _ if len >= MAX_ESCAPE => Escape::None,
                    _ => Escape::Text { len: len + 1 },
                };
                return;
            }
        }
        if !self.partial.is_empty() || b >= 0x80 {
            self.utf8_byte(b, echo);
            return;
        }
        match b {
            0x1b => self.escape = Escape::Start,
            b'\r' => {
                self.after_cr = true;
                self.enter(events, echo);
            }
            b'\n' | 0 if after_cr => {}
            b'\n' => self.enter(events, echo),
            0x7f | 0x08 => {
                if let Some(c) = self.line.pop() {
                    self.erase(c, echo);
                }
            }
            0x15 => {
                while let Some(c) = self.line.pop() {
                    self.erase(c, echo);
                }
            }
            0x17 => {
                while self.line.ends_with(' ') {
                    if let Some(c) = self.line.pop() {
                        self.erase(c, echo);
                    }
                }
                while self.line.chars().last().is_some_and(|c| c != ' ') {
                    if let Some(c) = self.line.pop() {
                        self.erase(c, echo);
                    }
                }
            }
            0x03 => {
                self.line.clear();
                self.hidden = false;
                self.history_at = self.history.len();
                echo.extend_from_slice(b"^C\r\n");
                echo.extend_from_slice(self.prompt.as_bytes());
            }
            0x04 if self.line.is_empty() => events.push(TermEvent::Hangup),
            0x0c => {
                echo.extend_from_slice(b"\x1b[H\x1b[2J");
                self.redraw(echo);
            }
            b if b < 0x20 => {}
            b => self.insert(b as char, echo),
        }
    }

    /// A byte of a multi-byte character; the character is taken once whole.
    fn utf8_byte(&mut self, b: u8, echo: &mut Vec<u8>) {
        self.partial.push(b);
        match std::str::from_utf8(&self.partial) {
            Ok(s) => {
                let c = s.chars().next();
                self.partial.clear();
                if let Some(c) = c {
                    self.insert(c, echo);
                }
            }
            // Not a character and never will be: dropped.
            Err(e) if e.error_len().is_some() || self.partial.len() >= 4 => self.partial.clear(),
            Err(_) => {}
        }
    }

    fn insert(&mut self, c: char, echo: &mut Vec<u8>) {
        if c.is_control() {
            return;
        }
        if self.line.len() + c.len_utf8() > self.max_line {
            echo.push(0x07);
            return;
        }
        self.line.push(c);
        if !self.hidden {
            let mut buf = [0u8; 4];
            echo.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }

    /// Takes `c` off the screen.
    fn erase(&self, c: char, echo: &mut Vec<u8>) {
        if self.hidden {
            return;
        }
        for _ in 0..c.width().unwrap_or(0) {
            echo.extend_from_slice(b"\x08 \x08");
        }
    }

    fn enter(&mut self, events: &mut Vec<TermEvent>, echo: &mut Vec<u8>) {
        echo.extend_from_slice(b"\r\n");
        let line = std::mem::take(&mut self.line);
        let hidden = std::mem::take(&mut self.hidden);
        self.prompt.clear();
        let line = clean_input(&line);
        if !hidden && !line.is_empty() && self.history.back() != Some(&line) {
            if self.history.len() == HISTORY_LINES {
                self.history.pop_front();
            }
            self.history.push_back(line.clone());
        }
        self.history_at = self.history.len();
        events.push(TermEvent::Input(Msg::text(line)));
    }

    /// Up (-1) or Down (+1) through the lines typed before.
    fn history_step(&mut self, step: isize, echo: &mut Vec<u8>) {
        if self.hidden {
            return;
        }
        let at = self.history_at as isize + step;
        if at < 0 || at > self.history.len() as isize {
            return;
        }
        self.history_at = at as usize;
        self.line = self
            .history
            .get(self.history_at)
            .cloned()
            .unwrap_or_default();
        echo.extend_from_slice(b"\r\x1b[K");
        self.redraw(echo);
    }

    /// Writes the prompt and what is typed (unless hidden).
    fn redraw(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.prompt.as_bytes());
        if !self.hidden {
            out.extend_from_slice(self.line.as_bytes());
        }
    }

    /// Whether the screen's last line holds a prompt or typing.
    fn line_shown(&self) -> bool {
        !self.prompt.is_empty() || (!self.hidden && !self.line.is_empty())
    }

    /// Bytes for messages to the client: text as ANSI lines, CR LF ends;
    /// what the player was typing is taken off the screen first and put back
    /// after. Out-of-band messages have no place on a terminal: dropped.
    pub fn render<'m>(&mut self, msgs: impl IntoIterator<Item = &'m Msg>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cleared = false;
        for msg in msgs {
            if msg.cmd != "text" && msg.cmd != "prompt" {
                continue;
            }
            if self.pty && !cleared && self.line_shown() {
                out.extend_from_slice(b"\r\x1b[K");
            }
            cleared = true;
            let text = msg.first_str().unwrap_or_default();
            let rendered = markup::render_with(text, self.color_mode(), false);
            if msg.cmd == "text" {
                push_lines(&rendered, &mut out);
                out.extend_from_slice(b"\r\n");
            } else {
                let mut prompt = Vec::new();
                push_lines(&rendered, &mut prompt);
                if self.pty {
                    // Drawn again below, with the typing after it.
                    self.prompt = String::from_utf8_lossy(&prompt).into_owned();
                } else {
                    out.extend_from_slice(&prompt);
                }
            }
            if let Some(echo) = msg
                .kwargs
                .get("options")
                .and_then(|o| o.get("echo"))
                .and_then(|e| e.as_bool())
            {
                self.hidden = !echo;
            }
        }
        if cleared && self.pty {
            self.redraw(&mut out);
        }
        out
    }
}

/// `text` with every line ending made CR LF (a raw terminal does not turn LF
/// into a new line at the start).
fn push_lines(text: &str, out: &mut Vec<u8>) {
    let mut last = 0u8;
    for &b in text.as_bytes() {
        if b == b'\n' && last != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        last = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pty() -> Terminal {
        let mut t = Terminal::new(80);
        t.open_pty("xterm-256color", 100, 40);
        t
    }

    fn lines(events: &[TermEvent]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                TermEvent::Input(m) => m.first_str().map(str::to_string),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn keys_are_echoed_and_enter_sends_the_line() {
        let mut t = pty();
        let (ev, echo) = t.receive(b"look");
        assert!(ev.is_empty());
        assert_eq!(echo, b"look");
        let (ev, echo) = t.receive(b"\r");
        assert_eq!(lines(&ev), ["look"]);
        assert_eq!(echo, b"\r\n");
        // CR LF and CR NUL are one Enter; a lone LF is one too.
        let (ev, _) = t.receive(b"a\r\nb\r\0c\n");
        assert_eq!(lines(&ev), ["a", "b", "c"]);
        assert_eq!(t.flags.screen_width, Some(100));
        assert!(t.flags.xterm256 && t.flags.ansi);
        assert_eq!(t.flags.client_name.as_deref(), Some("xterm-256color"));
    }

    #[test]
    fn backspace_erases_by_display_width_and_edits_the_line() {
        let mut t = pty();
        let (ev, echo) = t.receive("s日\x7fay\x08y hi\x17there\r".as_bytes());
        assert_eq!(lines(&ev), ["say there"]);
        // 日 is two columns wide: two erase steps; Ctrl-W takes "hi" back.
        let e = "\x08 \x08";
        assert_eq!(
            String::from_utf8(echo).unwrap(),
            format!("s日{e}{e}ay{e}y hi{e}{e}there\r\n")
        );
        let (ev, _) = t.receive(b"junk\x15look\r");
        assert_eq!(lines(&ev), ["look"]);
    }

    #[test]
    fn escape_sequences_never_reach_the_game() {
        let mut t = pty();
        // Left arrow, F5, a bracketed paste, Alt+x, a window title (OSC) ended
        // by BEL and one ended by ST, a sequence with a hundred parameters.
        let mut input = b"\x1b[Dl\x1b[15~o\x1b[200~ok\x1b[201~\x1bx".to_vec();
        input.extend_from_slice(b"\x1b]0;evil\x07 \x1b]2;worse\x1b\\at");
        input.extend_from_slice(b"\x1b[");
        input.extend(std::iter::repeat_n(b'1', 100));
        input.extend_from_slice(b"A here\r");
        let (ev, echo) = t.receive(&input);
        assert_eq!(lines(&ev), ["look at here"]);
        assert!(!echo.contains(&0x1b), "no escape is echoed");
        // A sequence cut short by Enter still sends the line.
        let (ev, _) = t.receive(b"north\x1b[1\r");
        assert_eq!(lines(&ev), ["north"]);
    }

    #[test]
    fn history_walks_up_and_down_and_keeps_no_passwords() {
        let mut t = pty();
        t.receive(b"north\rsay hi\r");
        // The game hides the next line (a password prompt).
        t.render(&[Msg::prompt("Password: ").kwarg("options", serde_json::json!({"echo": false}))]);
        let (ev, echo) = t.receive(b"secret\r");
        assert_eq!(lines(&ev), ["secret"]);
        assert!(
            !String::from_utf8_lossy(&echo).contains("secret"),
            "a password is not echoed"
        );
        let (_, echo) = t.receive(b"\x1b[A");
        assert_eq!(echo, b"\r\x1b[Ksay hi");
        let (_, echo) = t.receive(b"\x1bOA");
        assert_eq!(echo, b"\r\x1b[Knorth");
        let (_, echo) = t.receive(b"\x1b[A");
        assert!(echo.is_empty(), "nothing older");
        let (_, echo) = t.receive(b"\x1b[B\x1b[B");
        assert_eq!(echo, b"\r\x1b[Ksay hi\r\x1b[K");
        let (ev, _) = t.receive(b"\x1b[A\r");
        assert_eq!(lines(&ev), ["say hi"]);
    }

    #[test]
    fn output_takes_the_typing_off_the_line_and_puts_it_back() {
        let mut t = pty();
        t.render(&[Msg::prompt("> ")]);
        t.receive(b"sa");
        let out = t.render(&[Msg::text("Bob says, \"hi\"\nsecond line")]);
        assert_eq!(out, b"\r\x1b[KBob says, \"hi\"\r\nsecond line\r\n> sa");
        // Enter ends the prompt's line: later output does not redraw it.
        t.receive(b"y\r");
        let out = t.render(&[Msg::text("ok")]);
        assert_eq!(out, b"ok\r\n");
        // Out-of-band messages are not for a terminal.
        assert!(t.render(&[Msg::new("Char.Vitals")]).is_empty());
    }

    #[test]
    fn colours_follow_the_terminal() {
        let mut t = pty();
        assert!(t.render(&[Msg::text("|rred|n")]).starts_with(b"\x1b["));
        let mut dumb = Terminal::new(80);
        dumb.open_pty("dumb", 80, 24);
        assert_eq!(dumb.render(&[Msg::text("|rred|n")]), b"red\r\n");
        let mut piped = Terminal::new(80);
        assert_eq!(piped.render(&[Msg::text("|rred|n")]), b"red\r\n");
        dumb.set_colorterm("truecolor");
        assert!(dumb.flags.truecolor);
    }

    #[test]
    fn control_keys() {
        let mut t = pty();
        t.render(&[Msg::prompt("> ")]);
        let (ev, echo) = t.receive(b"oops\x03");
        assert!(ev.is_empty());
        assert_eq!(echo, b"oops^C\r\n> ");
        let (ev, _) = t.receive(b"x\x04");
        assert!(ev.is_empty(), "Ctrl-D with typing does nothing");
        let (ev, _) = t.receive(b"\x15\x04");
        assert_eq!(ev, [TermEvent::Hangup]);
        let (_, echo) = t.receive(b"ab\x0c");
        assert_eq!(echo, b"ab\x1b[H\x1b[2J> ab");
    }

    #[test]
    fn lines_are_bounded() {
        let mut t = Terminal::new(8);
        t.open_pty("xterm", 80, 24);
        let (ev, echo) = t.receive(b"0123456789\r");
        assert_eq!(lines(&ev), ["01234567"]);
        assert_eq!(echo, b"01234567\x07\x07\r\n");
        // Without a pseudo-terminal an overlong line is dropped whole.
        let mut p = Terminal::new(8);
        let (ev, echo) = p.receive(b"look\n0123456789abc\nsay hi\n");
        assert!(echo.is_empty(), "no echo without a pty");
        assert_eq!(lines(&ev), ["look", "say hi"]);
        assert!(ev.contains(&TermEvent::LineTooLong));
        // Broken UTF-8 in a piped line is dropped too: the line stays within the cap.
        let (ev, _) = p.receive(b"\xff\xff\xff\xff\xff\xffok\n");
        assert_eq!(lines(&ev), ["ok"]);
        // Broken UTF-8 is dropped, not passed on.
        let mut t = pty();
        let (ev, _) = t.receive(b"a\xff\xc3b\xe6\x97\xa5\r");
        assert_eq!(lines(&ev), ["a日"]);
    }
}
