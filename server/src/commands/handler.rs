//! What cmdsets belong to ([`Holder`]: a session, an account, an object),
//! and the set an exit offers. The stacks themselves, their merging for a
//! line of input and running it are the runtime's
//! ([`crate::runtime::cmdsets`], [`crate::runtime::input`]).

use std::sync::Arc;

use tavern_shared::SessId;

use super::cmdset::{CmdEntry, CmdSet};
use super::{CmdCtx, Command};
use crate::model::world::{AccountId, ObjId};

/// What a cmdset stack belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    /// A connection's own sets (until it disconnects).
    Session(SessId),
    /// An account's sets, whatever it plays.
    Account(AccountId),
    /// An object's sets: a character's, or a room's or thing's offered to those near.
    Object(ObjId),
}

/// Session data key holding the names of a session's persistent cmdsets.
pub const SESSION_CMDSETS: &str = "_cmdsets";

/// Priority of the cmdset each exit offers (Evennia's ExitCmdSet).
pub const EXIT_PRIORITY: i32 = 101;

/// The command an exit offers: its name goes through it.
struct ExitCommand;

impl Command for ExitCommand {
    fn key(&self) -> &str {
        "__exit"
    }
    fn help(&self) -> &str {
        "Go through the exit of this name."
    }
    fn auto_help(&self) -> bool {
        false
    }
    fn arg_regex(&self) -> Option<&str> {
        Some(r"^\s*$")
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let (Some(exit), Some(me)) = (ctx.obj, ctx.caller()) else {
            ctx.msg("You have no body to walk with.");
            return;
        };
        if !ctx.access(exit, "traverse", true) {
            let msg = ctx
                .server
                .world
                .get(exit)
                .and_then(|e| e.attr::<String>("err_traverse"))
                .unwrap_or_else(|| "You cannot go there.".into());
            ctx.msg(msg);
            return;
        }
        ctx.server
            .hook(exit, "at_traverse", (), |tc, s| tc.at_traverse(s, exit, me));
    }
}

pub(crate) fn exit_cmdset(exit: ObjId, key: &str, aliases: &[String]) -> CmdSet {
    let mut set = CmdSet::new("ExitCmdSet").with_priority(EXIT_PRIORITY);
    set.duplicates = Some(true);
    let mut entry = CmdEntry::named(Arc::new(ExitCommand), key.to_string(), aliases.to_vec());
    entry.obj = Some(exit);
    set.add_entry(entry);
    set
}

/// The names of a session's persistent cmdsets.
pub(crate) fn session_cmdsets(s: &crate::runtime::sessions::ServerSession) -> Vec<String> {
    s.data()
        .get(SESSION_CMDSETS)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}
