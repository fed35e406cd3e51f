//! Batch command files (Evennia's batch-command processor): a builder's
//! commands in a file, run in order with `batchcommand <file>`, stopping at
//! the first that refuses (with its line number), or stepped through one at
//! a time with `batchcommand/interactive`.
//!
//! The format, as Evennia's: a line starting with `#` is a comment, and
//! comments separate commands; a command's lines are joined with spaces, and
//! an empty line inside one is a line break (`|/`). `#INSERT <file>` runs
//! another file there. Files are read only from `[game] batch_dir`.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use tavern_shared::SessId;
use tavern_shared::markup::escape;

use crate::runtime::server::Server;

/// The most commands one batch runs.
pub const MAX_BATCH_COMMANDS: usize = 10_000;
/// The largest batch file read.
pub const MAX_BATCH_FILE: u64 = 1024 * 1024;
/// How deeply `#INSERT` may nest.
const MAX_INSERT_DEPTH: usize = 5;
/// Session data key of a batch being stepped through.
pub const BATCH_KEY: &str = "_batch";

/// One command of a batch file, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCommand {
    /// The file it is in.
    pub file: String,
    /// Its first line (1-based).
    pub line: usize,
    /// The command.
    pub text: String,
}

/// Why a batch file cannot be run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BatchError {
    /// A name that leaves the batch directory, or is not a file in it.
    #[error("'{0}' is not a batch file in the game's batch directory")]
    NotFound(String),
    /// The file could not be read.
    #[error("'{0}' cannot be read: {1}")]
    Read(String, String),
    /// Too big, too many commands, or `#INSERT`s too deep or in a circle.
    #[error("{0}")]
    TooMuch(String),
}

/// Resolves a name inside `dir`: relative, no `..`, an existing file.
fn resolve(dir: &Path, name: &str) -> Result<PathBuf, BatchError> {
    let rel = Path::new(name.trim());
    let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
    if name.trim().is_empty() || !plain {
        return Err(BatchError::NotFound(name.to_string()));
    }
    let mut path = dir.join(rel);
    if path.extension().is_none() {
        path.set_extension("ev");
    }
    let (Ok(full), Ok(base)) = (path.canonicalize(), dir.canonicalize()) else {
        return Err(BatchError::NotFound(name.to_string()));
    };
    if !full.starts_with(&base) || !full.is_file() {
        return Err(BatchError::NotFound(name.to_string()));
    }
    Ok(full)
}

/// Splits a batch file's text into its commands (without `#INSERT`s).
pub fn parse(file: &str, text: &str) -> Vec<BatchCommand> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut blank = false;
    let flush = |current: &mut Option<(usize, String)>, out: &mut Vec<BatchCommand>| {
        if let Some((line, text)) = current.take() {
            let text = text.trim().to_string();
            if !text.is_empty() {
                out.push(BatchCommand {
                    file: file.to_string(),
                    line,
                    text,
                });
            }
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim_start().starts_with('#') {
            flush(&mut current, &mut out);
            if let Some(rest) = line.trim_start().strip_prefix("#INSERT") {
                out.push(BatchCommand {
                    file: file.to_string(),
                    line: i + 1,
                    text: format!("#INSERT {}", rest.trim()),
                });
            }
            blank = false;
            continue;
        }
        if line.trim().is_empty() {
            blank = current.is_some();
            continue;
        }
        match &mut current {
            Some((_, text)) => {
                text.push_str(if blank { "|/" } else { " " });
                text.push_str(line.trim());
            }
            None => current = Some((i + 1, line.trim().to_string())),
        }
        blank = false;
    }
    flush(&mut current, &mut out);
    out
}

/// Reads a batch file from `dir` with its `#INSERT`s in place.
pub fn load(dir: &Path, name: &str) -> Result<Vec<BatchCommand>, BatchError> {
    let mut out = Vec::new();
    let mut stack = Vec::new();
    load_into(dir, name, &mut out, &mut stack)?;
    Ok(out)
}

fn load_into(
    dir: &Path,
    name: &str,
    out: &mut Vec<BatchCommand>,
    stack: &mut Vec<PathBuf>,
) -> Result<(), BatchError> {
    let path = resolve(dir, name)?;
    if stack.contains(&path) || stack.len() >= MAX_INSERT_DEPTH {
        return Err(BatchError::TooMuch(format!(
            "#INSERT {name}: inserts go in a circle or deeper than {MAX_INSERT_DEPTH}"
        )));
    }
    let size = std::fs::metadata(&path)
        .map_err(|e| BatchError::Read(name.into(), e.to_string()))?
        .len();
    if size > MAX_BATCH_FILE {
        return Err(BatchError::TooMuch(format!(
            "'{name}' is larger than 1 MiB"
        )));
    }
    let text =
        std::fs::read_to_string(&path).map_err(|e| BatchError::Read(name.into(), e.to_string()))?;
    stack.push(path);
    for c in parse(name, &text) {
        if let Some(inner) = c.text.strip_prefix("#INSERT ") {
            load_into(dir, inner, out, stack)?;
        } else {
            out.push(c);
        }
        if out.len() > MAX_BATCH_COMMANDS {
            return Err(BatchError::TooMuch(format!(
                "a batch runs at most {MAX_BATCH_COMMANDS} commands"
            )));
        }
    }
    stack.pop();
    Ok(())
}

/// A batch being stepped through.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stepping {
    name: String,
    commands: Vec<BatchCommand>,
    at: usize,
}

/// The session the game's own builder runs a first-start batch through (no
/// portal holds it; it exists only while the batch runs).
pub const BUILDER_SESSION: SessId = SessId::MAX;

/// The world id a first-start batch marks itself done with.
fn first_start_mark(name: &str) -> String {
    format!("first-start-batch:{}", name.to_lowercase())
}

const STEP_HELP: &str = "Batch: Enter or n to run this command, s to skip it, b to go back, \
r to run all the rest, q to stop. Other commands work as usual.";

impl Server {
    /// Runs commands as the session typed them, in order, until one
    /// refuses: how many ran, and the one that refused.
    pub fn batch_run(
        &mut self,
        sessid: SessId,
        commands: &[BatchCommand],
    ) -> (usize, Option<BatchCommand>) {
        for (i, c) in commands.iter().enumerate() {
            self.execute_line(sessid, &c.text);
            if self.command_failed {
                return (i, Some(c.clone()));
            }
        }
        (commands.len(), None)
    }

    /// Runs the game's first-start batch (see `Game::first_start_batch`),
    /// unless it ran before or the world was built another way.
    pub(crate) fn first_start_batch(&mut self, name: &str, text: &str) {
        use crate::model::world::Kind;
        let mark = first_start_mark(name);
        if self.world.is_retired(&mark) {
            return;
        }
        let start = self.world.start_room;
        let built = self
            .world
            .objects()
            .any(|o| o.kind == Kind::Room && o.id != start);
        // Marked done in the same commit as what it builds.
        self.world.retire(&mark);
        if built {
            tracing::info!(
                batch = name,
                "the world has rooms already: its first-start batch is not run"
            );
            return;
        }
        // `#INSERT`s come from `[game] batch_dir`, as for builders.
        let mut commands = Vec::new();
        for c in parse(name, text) {
            match c.text.strip_prefix("#INSERT ") {
                Some(inner) => match load(&self.settings.game.batch_dir, inner) {
                    Ok(more) => commands.extend(more),
                    Err(e) => {
                        tracing::error!(
                            batch = name,
                            line = c.line,
                            "the first-start batch was not run: {e}"
                        );
                        return;
                    }
                },
                None => commands.push(c),
            }
        }
        match self.run_as_builder(&commands) {
            Ok(ran) => tracing::info!(batch = name, "built the world: {ran} commands ran"),
            Err((failed, said)) => tracing::error!(
                batch = name,
                "the first-start batch stopped at {} line {}: '{}' was refused: {said}",
                failed.file,
                failed.line,
                failed.text
            ),
        }
    }

    /// Runs commands as the game's own builder (a Developer character made
    /// for the run, in the start room): how many ran, or the one refused
    /// and what it said.
    fn run_as_builder(
        &mut self,
        commands: &[BatchCommand],
    ) -> Result<usize, (BatchCommand, String)> {
        use crate::model::world::Kind;
        let mut spec = crate::runtime::create::NewObject::new(Kind::Character, "Builder")
            .location(self.world.start_room);
        spec.permissions = vec!["Developer".into()];
        let builder = match self.create_object(spec) {
            Ok(id) => id,
            Err(e) => {
                let none = BatchCommand {
                    file: String::new(),
                    line: 0,
                    text: String::new(),
                };
                return Err((none, format!("no builder could be made: {e}")));
            }
        };
        let sync = tavern_shared::SessionSync {
            sessid: BUILDER_SESSION,
            protocol: "batch".into(),
            logged_in: true,
            puppet_id: Some(builder),
            ..Default::default()
        };
        let from = self.enter_passing(sync);
        self.building_world = true;
        let mut outcome = Ok(commands.len());
        for c in commands {
            let said_from = self.ops.len();
            self.execute_line(BUILDER_SESSION, &c.text);
            if self.command_failed {
                let said = self.said_to(BUILDER_SESSION, said_from).replace('\n', " ");
                outcome = Err((c.clone(), said));
                break;
            }
        }
        self.command_failed = false;
        self.building_world = false;
        // What the builder was told goes nowhere.
        self.leave_passing(BUILDER_SESSION, from);
        let _ = self.destroy_object(builder);
        outcome
    }

    /// Puts a session that lasts only for this event (the game's builder
    /// running a batch, the web admin running a command) beside the
    /// players'; returns where the event's output stood, for
    /// [`leave_passing`](Self::leave_passing).
    pub(crate) fn enter_passing(&mut self, sync: tavern_shared::SessionSync) -> usize {
        self.sessions
            .insert(crate::runtime::sessions::ServerSession::new(sync));
        self.ops.len()
    }

    /// What session `sessid` was told since the event's output stood at
    /// `from`, markup stripped, one line each.
    pub(crate) fn said_to(&self, sessid: SessId, from: usize) -> String {
        self.ops[from..]
            .iter()
            .flat_map(|op| op.outputs())
            .filter(|(s, _)| *s == sessid)
            .flat_map(|(_, msgs)| msgs)
            .filter_map(|m| m.args.first().and_then(|a| a.as_str()))
            .map(tavern_shared::markup::strip)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Ends a passing session: it goes, and what it was told since `from`
    /// is taken out of the event's output (what others heard stays).
    pub(crate) fn leave_passing(&mut self, sessid: SessId, from: usize) {
        use tavern_shared::link::PortalOp;
        let tail: Vec<(PortalOp, bool)> = self
            .ops
            .drain(from..)
            .zip(self.op_follows_change.drain(from..))
            .collect();
        for (op, follows) in tail {
            let kept = match op {
                PortalOp::Output { sessid: s, .. } if s == sessid => None,
                PortalOp::SyncSession(s) if s.sessid == sessid => None,
                PortalOp::Disconnect { sessid: s, .. } if s == sessid => None,
                PortalOp::OutputMany { mut sessids, msgs } => {
                    sessids.retain(|s| *s != sessid);
                    (!sessids.is_empty()).then_some(PortalOp::OutputMany { sessids, msgs })
                }
                other => Some(other),
            };
            if let Some(op) = kept {
                self.ops.push(op);
                self.op_follows_change.push(follows);
            }
        }
        self.sessions.remove(sessid);
        self.forget_session(sessid);
    }

    /// Tells how a batch ended.
    pub(crate) fn batch_report(
        &mut self,
        sessid: SessId,
        name: &str,
        ran: usize,
        total: usize,
        failed: Option<BatchCommand>,
    ) {
        let refused = failed.is_some();
        let msg = match failed {
            Some(c) => format!(
                "|rBatch '{}' stopped at {} line {}|n: '{}' was refused. {ran} of {total} commands ran before it.",
                escape(name),
                escape(&c.file),
                c.line,
                escape(&c.text)
            ),
            None => format!("|gBatch '{}' done|n: {ran} commands ran.", escape(name)),
        };
        self.msg_session(sessid, msg);
        // A batch that stopped is itself refused (a batch that runs it stops too).
        self.command_failed = refused;
    }

    /// Starts stepping through a batch.
    pub(crate) fn batch_step_start(
        &mut self,
        sessid: SessId,
        name: &str,
        commands: Vec<BatchCommand>,
    ) {
        let s = Stepping {
            name: name.to_string(),
            commands,
            at: 0,
        };
        self.batch_show(sessid, &s);
        self.keep_stepping(sessid, Some(&s));
    }

    fn keep_stepping(&mut self, sessid: SessId, s: Option<&Stepping>) {
        if let Some(x) = self.sessions.get_mut(sessid) {
            x.keep_data(BATCH_KEY, s.and_then(|s| serde_json::to_value(s).ok()));
        }
    }

    fn batch_show(&mut self, sessid: SessId, s: &Stepping) {
        let Some(c) = s.commands.get(s.at) else {
            return;
        };
        self.msg_session(
            sessid,
            format!(
                "|w{}:{} ({}/{})|n {}\n|x{STEP_HELP}|n",
                escape(&c.file),
                c.line,
                s.at + 1,
                s.commands.len(),
                escape(&c.text)
            ),
        );
    }

    /// A line typed while stepping through a batch: true when it was a
    /// step command.
    pub(crate) fn batch_input(&mut self, sessid: SessId, line: &str) -> bool {
        let Some(mut s) = self
            .sessions
            .get(sessid)
            .and_then(|x| x.data().get(BATCH_KEY))
            .and_then(|v| serde_json::from_value::<Stepping>(v.clone()).ok())
        else {
            return false;
        };
        match line.trim().to_lowercase().as_str() {
            "" | "n" | "next" => {
                let Some(c) = s.commands.get(s.at).cloned() else {
                    self.keep_stepping(sessid, None);
                    return true;
                };
                self.execute_line(sessid, &c.text);
                if self.command_failed {
                    self.command_failed = false;
                    self.msg_session(
                        sessid,
                        format!("|rThat was refused|n (line {}): fix it, skip it (s), or try again (n).", c.line),
                    );
                    self.keep_stepping(sessid, Some(&s));
                    return true;
                }
                s.at += 1;
            }
            "s" | "skip" => s.at += 1,
            "b" | "back" => s.at = s.at.saturating_sub(1),
            "r" | "run" => {
                let rest = s.commands[s.at.min(s.commands.len())..].to_vec();
                let (ran, failed) = self.batch_run(sessid, &rest);
                let total = s.commands.len();
                let done = s.at + ran;
                self.keep_stepping(sessid, None);
                self.batch_report(sessid, &s.name, done, total, failed);
                return true;
            }
            "q" | "quit" | "abort" => {
                self.keep_stepping(sessid, None);
                self.msg_session(
                    sessid,
                    format!(
                        "Stopped stepping through '{}' at command {}.",
                        escape(&s.name),
                        s.at + 1
                    ),
                );
                return true;
            }
            _ => return false,
        }
        if s.at >= s.commands.len() {
            self.keep_stepping(sessid, None);
            self.msg_session(sessid, format!("|gBatch '{}' done.|n", escape(&s.name)));
        } else {
            self.batch_show(sessid, &s);
            self.keep_stepping(sessid, Some(&s));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_separate_commands_and_lines_join() {
        let text = "# a comment\ndig Kitchen\n# next\ndesc here =\n  A warm room.\n\n  Pots hang.\n#\n\n# last\nlook\n#INSERT more\n";
        let cmds = parse("f.ev", text);
        let texts: Vec<&str> = cmds.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "dig Kitchen",
                "desc here = A warm room.|/Pots hang.",
                "look",
                "#INSERT more"
            ]
        );
        assert_eq!(cmds[1].line, 4);
    }

    #[test]
    fn only_files_inside_the_batch_directory_are_read() {
        let dir = std::env::temp_dir().join(format!("tavern-batch-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("zone")).unwrap();
        std::fs::write(dir.join("main.ev"), "look\n#INSERT zone/part\n#\nsay done").unwrap();
        std::fs::write(dir.join("zone/part.ev"), "dig Cave").unwrap();
        std::fs::write(dir.join("loop.ev"), "#INSERT loop").unwrap();
        let all = load(&dir, "main").unwrap();
        let texts: Vec<&str> = all.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["look", "dig Cave", "say done"]);
        for bad in ["../etc/passwd", "/etc/passwd", "nosuch", "", "zone/../../x"] {
            assert!(
                matches!(load(&dir, bad), Err(BatchError::NotFound(_))),
                "{bad}"
            );
        }
        assert!(matches!(load(&dir, "loop"), Err(BatchError::TooMuch(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
