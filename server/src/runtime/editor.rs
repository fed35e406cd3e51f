//! The line editor (Evennia's EvEditor): a multi-line buffer edited with
//! `:` commands, for descriptions, help entries and notes. Lines not
//! starting with `:` are added to the buffer; `:h` lists the commands.
//!
//! [`Editor`] is the editor without I/O: a line in, what to say (and
//! whether to save or close) out — tested command by command. The server
//! keeps it with the session ([`EDITOR_KEY`]), so a reload or a crash of
//! the server does not lose the buffer, and saves through an
//! [`EditTarget`]: an object's description or attribute, or a save function
//! the game registered by name (`Game::editor_save`), so what to do on save
//! survives a restart too.

use serde::{Deserialize, Serialize};
use tavern_shared::SessId;
use tavern_shared::markup::escape;
use tavern_shared::text::{Align, pad, wrap};

use crate::model::world::ObjId;
use crate::runtime::server::Server;

/// Session data key of the open editor.
pub const EDITOR_KEY: &str = "_editor";
/// The most lines a buffer holds.
pub const MAX_EDITOR_LINES: usize = 1000;
/// The most bytes a buffer holds.
pub const MAX_EDITOR_BYTES: usize = 64 * 1024;
/// Told when what was being edited was destroyed meanwhile.
const GONE: &str = "What you were editing is gone; nothing was saved.";
/// How many steps `:u` can undo.
const MAX_UNDO: usize = 50;

/// Where a buffer is saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EditTarget {
    /// An object's description.
    Desc(ObjId),
    /// An object's persistent attribute (a string).
    Attr(ObjId, String),
    /// A save function the game registered with `Game::editor_save`, and
    /// data for it (which note, which help entry).
    Custom(String, serde_json::Value),
}

/// What the editor asks of whoever runs it after a line.
#[derive(Debug, Clone, PartialEq)]
pub enum EditorOutcome {
    /// Tell the player this.
    Say(String),
    /// Save the buffer (the text to save is [`Editor::text`]), tell the
    /// player `said`, and close the editor when `quit`.
    Save {
        /// What to tell the player besides the save's own message.
        said: String,
        /// Close after saving.
        quit: bool,
    },
    /// Close without saving, telling the player this.
    Quit(String),
}

/// The editor's state: the buffer, its history and what was last saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Editor {
    /// What is being edited (shown in the header).
    pub title: String,
    /// Where it is saved.
    pub target: EditTarget,
    lines: Vec<String>,
    saved: Vec<String>,
    initial: Vec<String>,
    undo: Vec<Vec<String>>,
    redo: Vec<Vec<String>>,
    clipboard: Vec<String>,
    /// Waiting for the answer to "Save before quitting?".
    asking_quit: bool,
    /// Echo each added line back.
    echo: bool,
}

const HELP: &str = "\
|wLine editor commands|n (<l> is a line number or a range 3:7; without one, the last line)
  <text>            add a line            :::           add a line holding only :
  :                 show the buffer       : <l>         show lines    :: <l>  show them raw
  :w                save                  :wq           save and quit
  :q                quit (asks to save)   :q!           quit without saving
  :u                undo                  :uu           redo          :UU     back to the start
  :dd <l>           delete lines          :DD           delete everything
  :dw <l> <word>    delete a word         :s <l> <word> <text>  replace a word
  :i <l> <text>     insert before         :r <l> <text> replace a line
  :I <l> <text>     put text before       :A <l> <text> put text after
  :y <l>            copy lines            :x <l>        cut lines     :p <l>  paste before
  :f <l>            fill to 78 columns    :j <l> <l|c|r>  justify     :fi/:fd <l>  indent/dedent
  :echo             echo added lines on/off                           :h      this help";

impl Editor {
    /// An editor over `initial` (split into lines), saving to `target`.
    pub fn new(title: &str, initial: &str, target: EditTarget) -> Self {
        let lines: Vec<String> = if initial.is_empty() {
            Vec::new()
        } else {
            initial.split('\n').map(str::to_string).collect()
        };
        Self {
            title: title.to_string(),
            target,
            saved: lines.clone(),
            initial: lines.clone(),
            lines,
            undo: Vec::new(),
            redo: Vec::new(),
            clipboard: Vec::new(),
            asking_quit: false,
            echo: false,
        }
    }

    /// The buffer as one text.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// The buffer's lines.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Whether the buffer differs from what was last saved.
    pub fn unsaved(&self) -> bool {
        self.lines != self.saved
    }

    /// What was saved is now the buffer.
    pub fn mark_saved(&mut self) {
        self.saved = self.lines.clone();
    }

    /// The header and the buffer, as shown when the editor opens.
    pub fn opening(&self) -> String {
        format!(
            "|w----- Line editor: {} -----|n\n{}\n|x(:h for help, :wq to save and quit, :q! to quit without saving)|n",
            escape(&self.title),
            self.show(0, self.lines.len(), false)
        )
    }

    fn show(&self, from: usize, to: usize, raw: bool) -> String {
        if self.lines.is_empty() {
            return "|x(the buffer is empty)|n".into();
        }
        let to = to.min(self.lines.len());
        let width = to.to_string().len();
        (from..to)
            .map(|i| {
                let line = &self.lines[i];
                if raw {
                    escape(line)
                } else {
                    format!("|x{:>width$}|n {line}", i + 1)
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn change(&mut self, f: impl FnOnce(&mut Vec<String>)) -> Result<(), String> {
        let before = self.lines.clone();
        f(&mut self.lines);
        let bytes: usize = self.lines.iter().map(|l| l.len() + 1).sum();
        if self.lines.len() > MAX_EDITOR_LINES || bytes > MAX_EDITOR_BYTES {
            self.lines = before;
            return Err(format!(
                "The buffer holds at most {MAX_EDITOR_LINES} lines and {} KiB; nothing was changed.",
                MAX_EDITOR_BYTES / 1024
            ));
        }
        if self.lines != before {
            if self.undo.len() == MAX_UNDO {
                self.undo.remove(0);
            }
            self.undo.push(before);
            self.redo.clear();
        }
        Ok(())
    }

    /// Reads `<l>` (a line, a range `3:7`, or nothing: the last line) from
    /// the front of `args`: the lines as `from..to` (0-based), and the rest.
    fn range<'a>(&self, args: &'a str) -> Result<(usize, usize, &'a str), String> {
        let args = args.trim_start();
        let (first, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
        let n = self.lines.len();
        let parse = |s: &str| s.parse::<usize>().ok();
        let (a, b) = match first.split_once(':') {
            Some((a, b)) => match (parse(a), parse(b)) {
                (Some(a), Some(b)) => (a, b),
                _ => return Ok((n.saturating_sub(1), n, args)),
            },
            None => match parse(first) {
                Some(a) => (a, a),
                // No number: the last line, and all of args is text.
                None => return Ok((n.saturating_sub(1), n, args)),
            },
        };
        if a == 0 || b < a || b > n.max(1) {
            return Err(format!(
                "There is no line {first} (the buffer has {n} line{}).",
                if n == 1 { "" } else { "s" }
            ));
        }
        Ok((a - 1, b, rest.trim_start()))
    }

    /// One line from the player.
    pub fn input(&mut self, line: &str) -> EditorOutcome {
        use EditorOutcome::{Quit, Save, Say};
        if self.asking_quit {
            self.asking_quit = false;
            return match line.trim().to_lowercase().as_str() {
                "" | "y" | "yes" => Save {
                    said: String::new(),
                    quit: true,
                },
                "n" | "no" => Quit("Quit without saving.".into()),
                _ => Say("Still editing (nothing was saved or lost).".into()),
            };
        }
        let Some(cmd_line) = line.strip_prefix(':') else {
            let text = line.to_string();
            return match self.change(|l| l.push(text)) {
                Ok(()) if self.echo => Say(format!(
                    "|x{:>3}|n {}",
                    self.lines.len(),
                    self.lines.last().map_or("", String::as_str)
                )),
                Ok(()) => Say(String::new()),
                Err(e) => Say(e),
            };
        };
        let (cmd, args) = cmd_line
            .split_once(char::is_whitespace)
            .map_or((cmd_line, ""), |(c, a)| (c, a));
        let result: Result<String, String> = match cmd {
            "" if args.trim().is_empty() => Ok(self.show(0, self.lines.len(), false)),
            "" => self.range(args).map(|(a, b, _)| self.show(a, b, false)),
            ":" if args.trim().is_empty() => Ok(self.show(0, self.lines.len(), true)),
            "::" => self.change(|l| l.push(":".into())).map(|()| String::new()),
            ":" => self.range(args).map(|(a, b, _)| self.show(a, b, true)),
            "h" => Ok(HELP.into()),
            "w" => {
                return Save {
                    said: String::new(),
                    quit: false,
                };
            }
            "wq" => {
                return Save {
                    said: String::new(),
                    quit: true,
                };
            }
            "q" if self.unsaved() => {
                self.asking_quit = true;
                Ok("Save before quitting? [Y]/N".into())
            }
            "q" | "q!" => return Quit("Exited the editor.".into()),
            "u" => match self.undo.pop() {
                Some(prev) => {
                    self.redo.push(std::mem::replace(&mut self.lines, prev));
                    Ok("Undid one change.".into())
                }
                None => Err("Nothing to undo.".into()),
            },
            "uu" => match self.redo.pop() {
                Some(next) => {
                    self.undo.push(std::mem::replace(&mut self.lines, next));
                    Ok("Redid one change.".into())
                }
                None => Err("Nothing to redo.".into()),
            },
            "UU" => {
                let initial = self.initial.clone();
                self.change(|l| *l = initial)
                    .map(|()| "The buffer is back as it started.".into())
            }
            "DD" => self
                .change(Vec::clear)
                .map(|()| "The buffer is empty.".into()),
            "dd" => self.range(args).and_then(|(a, b, _)| {
                self.change(|l| {
                    l.drain(a..b);
                })
                .map(|()| format!("Deleted {}.", lines_word(a, b)))
            }),
            "y" | "x" => self.range(args).and_then(|(a, b, _)| {
                if self.lines.is_empty() {
                    return Err("The buffer is empty.".into());
                }
                self.clipboard = self.lines[a..b].to_vec();
                if cmd == "x" {
                    self.change(|l| {
                        l.drain(a..b);
                    })?;
                    Ok(format!("Cut {}.", lines_word(a, b)))
                } else {
                    Ok(format!("Copied {}.", lines_word(a, b)))
                }
            }),
            "p" => self.range(args).and_then(|(at, _, _)| {
                let clip = self.clipboard.clone();
                if clip.is_empty() {
                    Err("Nothing copied yet (:y or :x first).".into())
                } else {
                    let n = clip.len();
                    self.change(|l| {
                        let at = at.min(l.len());
                        l.splice(at..at, clip);
                    })
                    .map(|()| format!("Pasted {n} line(s)."))
                }
            }),
            "i" | "r" | "I" | "A" => self.range(args).and_then(|(a, b, text)| {
                let text = text.to_string();
                let what = match cmd {
                    "i" => "Inserted",
                    "r" => "Replaced",
                    _ => "Changed",
                };
                self.change(|l| match cmd {
                    "i" => l.insert(a.min(l.len()), text),
                    "r" if l.is_empty() => l.push(text),
                    "r" => {
                        l.splice(a..b, [text]);
                    }
                    "I" => {
                        for x in l.iter_mut().take(b).skip(a) {
                            *x = format!("{text}{x}");
                        }
                    }
                    _ => {
                        for x in l.iter_mut().take(b).skip(a) {
                            x.push_str(&text);
                        }
                    }
                })
                .map(|()| format!("{what} {}.", lines_word(a, b.max(a + 1))))
            }),
            "dw" | "s" => self.range(args).and_then(|(a, b, rest)| {
                let (word, text) = rest
                    .split_once(char::is_whitespace)
                    .map_or((rest, ""), |(w, t)| (w, t.trim()));
                if word.is_empty() {
                    return Err(format!(
                        "Usage: :{cmd} <l> <word>{}",
                        if cmd == "s" { " <text>" } else { "" }
                    ));
                }
                let new = if cmd == "s" { text } else { "" };
                let mut count = 0;
                self.change(|l| {
                    for x in l.iter_mut().take(b).skip(a) {
                        count += x.matches(word).count();
                        *x = x.replace(word, new);
                        if cmd == "dw" {
                            *x = x.split_whitespace().collect::<Vec<_>>().join(" ");
                        }
                    }
                })?;
                if count == 0 {
                    Err(format!(
                        "'{}' is not in {}.",
                        escape(word),
                        lines_word(a, b)
                    ))
                } else {
                    Ok(format!("Replaced '{}' {count} time(s).", escape(word)))
                }
            }),
            "f" | "j" | "fi" | "fd" => self.range(args).and_then(|(a, b, rest)| {
                let align = match rest.trim() {
                    "c" => Align::Center,
                    "r" => Align::Right,
                    _ => Align::Left,
                };
                self.change(|l| {
                    let b = b.min(l.len());
                    let a = a.min(b);
                    let block: Vec<String> = l[a..b].to_vec();
                    let new: Vec<String> = match cmd {
                        "f" => wrap(&block.join(" "), 78),
                        "j" => block
                            .iter()
                            .map(|x| pad(x.trim(), 78, align).trim_end().to_string())
                            .collect(),
                        "fi" => block.iter().map(|x| format!("    {x}")).collect(),
                        _ => block
                            .iter()
                            .map(|x| x.strip_prefix("    ").unwrap_or(x.trim_start()).to_string())
                            .collect(),
                    };
                    l.splice(a..b, new);
                })
                .map(|()| "Done.".into())
            }),
            "echo" => {
                self.echo = !self.echo;
                Ok(format!("Echo is {}.", if self.echo { "on" } else { "off" }))
            }
            other => Err(format!(
                "Unknown editor command ':{}' (:h for help); nothing was changed.",
                escape(other)
            )),
        };
        match result {
            Ok(s) | Err(s) => Say(s),
        }
    }
}

fn lines_word(a: usize, b: usize) -> String {
    if b <= a + 1 {
        format!("line {}", a + 1)
    } else {
        format!("lines {}-{b}", a + 1)
    }
}

/// A save function a game registers for [`EditTarget::Custom`]: it gets
/// the server, the session, the target's data and the text, and returns
/// what to tell the player, or why it could not save.
pub type EditorSave = std::sync::Arc<
    dyn Fn(&mut Server, SessId, &serde_json::Value, &str) -> Result<String, String> + Send + Sync,
>;

impl Server {
    /// Opens the line editor for a session over `initial`, saving to
    /// `target`. Its lines go to the editor until the player quits.
    pub fn edit(&mut self, sessid: SessId, title: &str, initial: &str, target: EditTarget) {
        let editor = Editor::new(title, initial, target);
        self.msg_session(sessid, editor.opening());
        self.keep_editor(sessid, Some(&editor));
    }

    fn keep_editor(&mut self, sessid: SessId, editor: Option<&Editor>) {
        if let Some(s) = self.sessions.get_mut(sessid) {
            s.keep_data(
                EDITOR_KEY,
                editor.and_then(|x| serde_json::to_value(x).ok()),
            );
        }
    }

    /// Saves a buffer where it goes: the message for the player, or why not.
    fn editor_save(&mut self, sessid: SessId, editor: &Editor) -> Result<String, String> {
        let text = editor.text();
        match &editor.target {
            EditTarget::Desc(obj) => {
                if self.world.update(*obj, |o| o.desc = text) {
                    Ok("Saved.".into())
                } else {
                    Err(GONE.into())
                }
            }
            EditTarget::Attr(obj, name) => {
                if self.world.set_attr(*obj, name, &text) {
                    Ok("Saved.".into())
                } else {
                    Err(GONE.into())
                }
            }
            EditTarget::Custom(handler, data) => {
                let Some(f) = self.game.editor_saves.get(handler).cloned() else {
                    return Err(format!(
                        "This game has no way to save '{}' any more; nothing was saved.",
                        escape(handler)
                    ));
                };
                f(self, sessid, data, &text)
            }
        }
    }

    /// A line typed while the editor is open: true when the editor took it.
    pub(crate) fn editor_input(&mut self, sessid: SessId, line: &str) -> bool {
        let Some(mut editor) = self
            .sessions
            .get(sessid)
            .and_then(|s| s.data().get(EDITOR_KEY))
            .and_then(|v| serde_json::from_value::<Editor>(v.clone()).ok())
        else {
            return false;
        };
        match editor.input(line) {
            EditorOutcome::Say(s) => {
                if !s.is_empty() {
                    self.msg_session(sessid, s);
                }
                self.keep_editor(sessid, Some(&editor));
            }
            EditorOutcome::Quit(s) => {
                self.msg_session(sessid, s);
                self.keep_editor(sessid, None);
            }
            EditorOutcome::Save { said, quit } => match self.editor_save(sessid, &editor) {
                Ok(msg) => {
                    editor.mark_saved();
                    let mut out = if said.is_empty() {
                        msg
                    } else {
                        format!("{said} {msg}")
                    };
                    if quit {
                        out.push_str(" Exited the editor.");
                    }
                    self.msg_session(sessid, out);
                    self.keep_editor(sessid, (!quit).then_some(&editor));
                }
                Err(e) => {
                    self.msg_session(sessid, e);
                    self.keep_editor(sessid, Some(&editor));
                }
            },
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ed(text: &str) -> Editor {
        Editor::new(
            "test",
            text,
            EditTarget::Custom("t".into(), serde_json::Value::Null),
        )
    }

    fn say(e: &mut Editor, line: &str) -> String {
        match e.input(line) {
            EditorOutcome::Say(s) => s,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn lines_are_added_shown_and_changed_by_number_and_range() {
        let mut e = ed("");
        for l in ["one", "two", "three", "four"] {
            say(&mut e, l);
        }
        assert_eq!(e.text(), "one\ntwo\nthree\nfour");
        assert!(say(&mut e, ":").contains("3|n three"));
        assert_eq!(say(&mut e, ":: 2"), "two");
        assert_eq!(say(&mut e, ":dd 2:3"), "Deleted lines 2-3.");
        assert_eq!(e.lines(), ["one", "four"]);
        say(&mut e, ":i 2 between");
        say(&mut e, ":r 1 first");
        say(&mut e, ":A 1 !");
        say(&mut e, ":I 3 the ");
        assert_eq!(e.lines(), ["first!", "between", "the four"]);
        assert_eq!(say(&mut e, ":s 3 four 4th"), "Replaced 'four' 1 time(s).");
        say(&mut e, ":dw 3 the");
        assert_eq!(e.lines()[2], "4th");
        say(&mut e, ":::");
        assert_eq!(e.lines().last().map(String::as_str), Some(":"));
        assert!(say(&mut e, ":dd 9").contains("There is no line 9"));
        assert!(say(&mut e, ":zz").contains("Unknown editor command ':zz'"));
        assert!(say(&mut e, ":s 1").contains("Usage"));
        assert!(say(&mut e, ":h").contains(":wq"));
    }

    #[test]
    fn undo_redo_reset_and_the_clipboard() {
        let mut e = ed("a\nb");
        say(&mut e, "c");
        say(&mut e, ":dd 1");
        assert_eq!(e.lines(), ["b", "c"]);
        say(&mut e, ":u");
        assert_eq!(e.lines(), ["a", "b", "c"]);
        say(&mut e, ":uu");
        assert_eq!(e.lines(), ["b", "c"]);
        assert_eq!(say(&mut e, ":uu"), "Nothing to redo.");
        say(&mut e, ":y 2");
        say(&mut e, ":p 1");
        assert_eq!(e.lines(), ["c", "b", "c"]);
        say(&mut e, ":x 1:2");
        assert_eq!(e.lines(), ["c"]);
        say(&mut e, ":UU");
        assert_eq!(e.lines(), ["a", "b"]);
        say(&mut e, ":DD");
        assert!(e.lines().is_empty());
        assert!(say(&mut e, ":").contains("empty"));
    }

    #[test]
    fn quitting_asks_to_save_only_when_something_changed() {
        let mut e = ed("kept");
        assert_eq!(
            e.input(":q"),
            EditorOutcome::Quit("Exited the editor.".into())
        );
        say(&mut e, "more");
        assert_eq!(say(&mut e, ":q"), "Save before quitting? [Y]/N");
        assert_eq!(
            say(&mut e, "maybe"),
            "Still editing (nothing was saved or lost)."
        );
        assert_eq!(e.lines(), ["kept", "more"], "the answer was not added");
        say(&mut e, ":q");
        assert!(matches!(
            e.input(""),
            EditorOutcome::Save { quit: true, .. }
        ));
        say(&mut e, ":q");
        assert!(matches!(e.input("n"), EditorOutcome::Quit(_)));
        assert!(matches!(e.input(":q!"), EditorOutcome::Quit(_)));
        assert!(matches!(
            e.input(":w"),
            EditorOutcome::Save { quit: false, .. }
        ));
        e.mark_saved();
        assert!(!e.unsaved());
    }

    #[test]
    fn the_buffer_is_bounded_and_fill_wraps() {
        let mut e = ed("");
        for _ in 0..MAX_EDITOR_LINES {
            say(&mut e, "x");
        }
        assert!(say(&mut e, "one too many").contains("at most"));
        assert_eq!(e.lines().len(), MAX_EDITOR_LINES);
        let mut f = ed(&"word ".repeat(40));
        say(&mut f, ":f 1");
        assert!(f.lines().len() >= 3);
        assert!(f.lines().iter().all(|l| l.len() <= 78));
        say(&mut f, ":fi 1:2");
        assert!(f.lines()[0].starts_with("    word"));
        say(&mut f, ":fd 1");
        assert!(f.lines()[0].starts_with("word"));
    }
}
