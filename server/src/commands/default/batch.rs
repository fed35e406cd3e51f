//! `batchcommands` (Evennia's, for Developers): run a batch command file
//! from `[game] batch_dir`, or step through it.

use tavern_shared::markup::escape;

use crate::commands::{CmdCtx, CmdSet, Command};
use crate::runtime::batch::load;

/// Adds `batchcommands`.
pub fn add_all(set: &mut CmdSet) {
    set.add(BatchCommands);
}

/// `batchcommands[/interactive] <file>`.
pub struct BatchCommands;

impl Command for BatchCommands {
    fn key(&self) -> &str {
        "batchcommands"
    }
    fn aliases(&self) -> &[&str] {
        &["batchcommand", "batchcmd"]
    }
    fn switches(&self) -> &[&str] {
        &["interactive"]
    }
    fn locks(&self) -> &str {
        "cmd:perm(Developer)"
    }
    fn help_category(&self) -> &str {
        "Building"
    }
    fn help(&self) -> &str {
        "batchcommands[/interactive] <file>\n\n\
         Run the commands of a batch file from the game's batch directory (.ev when no \
         extension is given), as if you typed them, stopping at the first one refused and \
         saying its line. /interactive shows one command at a time: Enter or n runs it, \
         s skips it, b goes back, r runs the rest, q stops.\n\n\
         In the file, lines starting with # are comments and separate commands; a \
         command's lines are joined; an empty line inside one is a line break; \
         #INSERT <file> runs another file there."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let name = ctx.args.trim().to_string();
        if name.is_empty() {
            return ctx.msg("Usage: batchcommands[/interactive] <path.to.file>");
        }
        let dir = ctx.server.settings.game.batch_dir.clone();
        let commands = match load(&dir, &name) {
            Ok(c) => c,
            Err(e) => return ctx.fail(format!("{}. Nothing was run.", escape(&e.to_string()))),
        };
        if commands.is_empty() {
            return ctx.msg(format!("'{}' has no commands.", escape(&name)));
        }
        let sessid = ctx.sessid;
        if ctx.has_switch("interactive") {
            return ctx.server.batch_step_start(sessid, &name, commands);
        }
        ctx.msg(format!(
            "Running batch file '{}' ({} commands) ...",
            escape(&name),
            commands.len()
        ));
        let (ran, failed) = ctx.server.batch_run(sessid, &commands);
        ctx.server
            .batch_report(sessid, &name, ran, commands.len(), failed);
    }
}
