//! The pager (Evennia's EvMore): text taller than the player's screen is
//! shown a page at a time, the page height taken from the client (NAWS, or
//! the player's `option SCREENHEIGHT`; 45 lines when unknown, as Evennia).
//!
//! While a pager is open, `next` (or Enter, `n`), `back` (`b`, `p`,
//! `previous`), `top` (`t`), `end` (`e`) and `quit` (`q`) turn its pages;
//! anything else closes it and runs as a command. The pager is kept with
//! the session, so a reload or a crash of the server does not lose the
//! player's place. What one pager holds is bounded ([`MAX_PAGED_BYTES`]).

use serde::{Deserialize, Serialize};
use tavern_shared::SessId;
use tavern_shared::text::{wrap, wrapped_height};

use crate::runtime::server::Server;

/// Session data key of the open pager.
pub const PAGER_KEY: &str = "_pager";
/// The most text one pager holds; the rest is cut, and the player told.
pub const MAX_PAGED_BYTES: usize = 128 * 1024;
/// The screen height assumed when the client does not say (Evennia's).
pub const DEFAULT_SCREEN_HEIGHT: usize = 45;
/// The screen width assumed when the client does not say.
pub const DEFAULT_SCREEN_WIDTH: usize = 80;

/// An open pager.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pager {
    lines: Vec<String>,
    /// The first line of the page shown.
    at: usize,
    /// Lines per page.
    size: usize,
}

impl Pager {
    fn pages(&self) -> usize {
        self.lines.len().div_ceil(self.size).max(1)
    }

    fn page(&self) -> usize {
        self.at / self.size + 1
    }

    fn last_start(&self) -> usize {
        (self.pages() - 1) * self.size
    }
}

impl Server {
    /// The session's screen width: the player's `option`, else what the
    /// client reported (NAWS), else 80.
    pub fn screen_width(&self, sessid: SessId) -> usize {
        self.sessions
            .get(sessid)
            .and_then(|s| s.sync.choices.apply(&s.sync.flags).screen_width)
            .map_or(DEFAULT_SCREEN_WIDTH, |w| (w as usize).clamp(20, 1000))
    }

    /// The session's screen height, likewise (45 when unknown).
    pub fn screen_height(&self, sessid: SessId) -> usize {
        self.sessions
            .get(sessid)
            .and_then(|s| s.sync.choices.apply(&s.sync.flags).screen_height)
            .map_or(DEFAULT_SCREEN_HEIGHT, |h| (h as usize).clamp(8, 1000))
    }

    /// Sends text, a page at a time when it is taller than the session's
    /// screen (the footer takes a few lines).
    pub fn msg_paged(&mut self, sessid: SessId, text: impl Into<String>) {
        let mut text: String = text.into();
        let size = self.screen_height(sessid).saturating_sub(4).max(4);
        let width = self.screen_width(sessid);
        let mut cut = false;
        if text.len() > MAX_PAGED_BYTES {
            let mut end = MAX_PAGED_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            cut = true;
        }
        // Most texts fit a screen: they are measured, not laid out.
        let height = text
            .split('\n')
            .map(|l| wrapped_height_at_most(l, width))
            .sum::<usize>()
            + usize::from(cut);
        if height <= size {
            if cut {
                text.push('\n');
                text.push_str(&cut_note());
            }
            self.msg_session(sessid, text);
            return;
        }
        let mut lines: Vec<String> = text.split('\n').flat_map(|l| wrap(l, width)).collect();
        if cut {
            lines.push(cut_note());
        }
        let pager = Pager { lines, at: 0, size };
        self.show_page(sessid, &pager);
        self.keep_pager(sessid, Some(pager));
    }

    fn keep_pager(&mut self, sessid: SessId, pager: Option<Pager>) {
        if let Some(s) = self.sessions.get_mut(sessid) {
            s.keep_data(PAGER_KEY, pager.and_then(|x| serde_json::to_value(x).ok()));
        }
    }

    fn show_page(&mut self, sessid: SessId, p: &Pager) {
        let end = (p.at + p.size).min(p.lines.len());
        let mut text = p.lines[p.at..end].join("\n");
        let (page, pages) = (p.page(), p.pages());
        let turns = if page == pages {
            "back | top | quit"
        } else if page == 1 {
            "next | end | quit"
        } else {
            "next | back | top | end | quit"
        };
        text.push_str(&format!("\n|x(Page {page}/{pages}: {turns})|n"));
        self.msg_session(sessid, text);
    }

    /// A line typed while a pager is open: true when it turned a page (or
    /// closed the pager); false when the pager closed and the line should
    /// run as a command (or no pager is open).
    pub(crate) fn pager_input(&mut self, sessid: SessId, line: &str) -> bool {
        let Some(mut p) = self
            .sessions
            .get(sessid)
            .and_then(|s| s.data().get(PAGER_KEY))
            .and_then(|v| serde_json::from_value::<Pager>(v.clone()).ok())
        else {
            return false;
        };
        // A pager stored by an older server, or broken: closed.
        if p.size == 0 || p.lines.is_empty() {
            self.keep_pager(sessid, None);
            return false;
        }
        let last = p.last_start();
        let at = match line.trim().to_lowercase().as_str() {
            "" | "n" | "next" | "more" => {
                if p.at >= last {
                    self.keep_pager(sessid, None);
                    return true;
                }
                p.at + p.size
            }
            "b" | "p" | "back" | "previous" => p.at.saturating_sub(p.size),
            "t" | "top" => 0,
            "e" | "end" => last,
            "q" | "quit" | "a" | "abort" => {
                self.keep_pager(sessid, None);
                self.msg_session(sessid, "Exited pager.");
                return true;
            }
            _ => {
                self.keep_pager(sessid, None);
                return false;
            }
        };
        p.at = at.min(last);
        self.show_page(sessid, &p);
        self.keep_pager(sessid, Some(p));
        true
    }
}

/// The line that ends a text cut to [`MAX_PAGED_BYTES`].
fn cut_note() -> String {
    format!(
        "|x(The rest is cut: a page holds at most {} KiB.)|n",
        MAX_PAGED_BYTES / 1024
    )
}

/// How many lines one line of text takes at `width`: one when it cannot be
/// wider than that, else as [`wrap`] lays it out. It cannot when its bytes
/// are no more than the columns and it holds nothing drawn wider than it is
/// written: a character takes at most as many columns as it has bytes, and
/// markup no more than it is written in (colours none, `||` and `|_` one),
/// but for a tab and the codes `|-` (a tab), `|>` (an indent) and `|/` (a
/// line break). A listing in colour (`help`) is measured by one pass over
/// its bytes.
fn wrapped_height_at_most(line: &str, width: usize) -> usize {
    let b = line.as_bytes();
    let widens = |i: usize| {
        b[i] == b'\t' || (b[i] == b'|' && matches!(b.get(i + 1), Some(b'/' | b'-' | b'>')))
    };
    if b.len() <= width && !(0..b.len()).any(widens) {
        1
    } else {
        wrapped_height(line, width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::harness::{harness, texts_for};

    /// Measuring a line without laying it out gives what laying it out
    /// gives, for markup of every kind and at every width.
    #[test]
    fn a_line_measured_at_a_glance_takes_the_lines_it_is_laid_out_in() {
        let lines = [
            "plain words",
            "|wlook|n  |winventory|n  |ghelp|n",
            "|[r|#ff8800on red|n and |*inverse|n",
            "a|-tab",
            "a\tb",
            "|>indented|>twice",
            "one|/two",
            "a bar ||/ not a break",
            "||||||||",
            "|_|_|_spaces",
            "|lclook|ltLook here|le and more",
            "漢字の行です",
            "emoji 🐉🐉🐉",
            "|",
            "ends with a bar |",
            "",
        ];
        for line in lines {
            for width in 1..60 {
                assert_eq!(
                    wrapped_height_at_most(line, width),
                    wrapped_height(line, width),
                    "{line:?} at {width}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_text_is_paged_by_the_lines_it_takes_on_screen_not_by_its_newlines() {
        let mut h = harness().await;
        let (a, _) = h.account("Reader", &[]).await;
        h.login(1, a);
        let shown = |h: &mut crate::testing::harness::LinkHarness, text: String| {
            h.server.msg_paged(1, text);
            let frames = h.flush();
            texts_for(&frames, 1).join("\n")
        };
        // 40 short lines fit the 45 the client did not report: sent as they are.
        let short: Vec<String> = (0..40).map(|i| format!("line {i}")).collect();
        assert_eq!(shown(&mut h, short.join("\n")), short.join("\n"));
        // 30 lines of 200 columns take 90 at 80 wide.
        let long = vec!["word ".repeat(40); 30].join("\n");
        assert!(shown(&mut h, long).contains("(Page 1/3"), "paged");
        h.input(1, "quit");
        // One line of 60 bytes broken 30 times by markup takes 31.
        let broken = "ab|/".repeat(30) + "|rend|n";
        assert!(broken.len() < 80 * 2);
        let out = shown(&mut h, broken.clone() + "\n" + &short[..20].join("\n"));
        assert!(out.contains("(Page 1/2"), "paged: {out}");
        h.input(1, "quit");
        let out = shown(&mut h, broken);
        assert!(!out.contains("Page"), "{out}");
    }

    #[tokio::test]
    async fn a_text_cut_at_the_bound_says_so_even_when_it_fits_the_screen() {
        let mut h = harness().await;
        let (a, _) = h.account("Reader", &[]).await;
        h.login(1, a);
        if let Some(s) = h.server.sessions.get_mut(1) {
            s.sync.flags.screen_width = Some(1000);
            s.sync.flags.screen_height = Some(1000);
        }
        // 200 lines of 999 columns: 128 KiB of it fits 1,000 lines.
        let text = vec!["x".repeat(999); 200].join("\n");
        h.server.msg_paged(1, text);
        let frames = h.flush();
        let out = texts_for(&frames, 1).join("\n");
        assert!(!out.contains("(Page"), "fits");
        assert!(out.len() < MAX_PAGED_BYTES + 200, "{}", out.len());
        assert!(
            out.ends_with("(The rest is cut: a page holds at most 128 KiB.)|n"),
            "{}",
            &out[out.len() - 80..]
        );
    }
}
