//! Commands for superusers: `reload`, `reset`, `shutdown`.

use tavern_shared::SessId;
use tavern_shared::link::StopMode;

use super::{CmdCtx, CmdSet, Command};
use crate::executor::Server;

pub fn add_all(set: &mut CmdSet) {
    set.add(Reload).add(Reset).add(Shutdown);
}

fn superuser(server: &Server, sessid: SessId) -> bool {
    server.is_superuser(sessid)
}

pub struct Reload;

impl Command for Reload {
    fn key(&self) -> &'static str {
        "reload"
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["restart"]
    }
    fn help(&self) -> &'static str {
        "reload\n\nRestart the game server with the code now on disk. Nobody is disconnected; \
         what players type meanwhile is answered by the new server."
    }
    fn help_category(&self) -> &'static str {
        "System"
    }
    fn access(&self, server: &Server, sessid: SessId) -> bool {
        superuser(server, sessid)
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        ctx.server.request_stop(StopMode::Reload);
    }
}

pub struct Reset;

impl Command for Reset {
    fn key(&self) -> &'static str {
        "reset"
    }
    fn help(&self) -> &'static str {
        "reset\n\nRestart the game server as if it were started cold (cold-start hooks run). \
         Nobody is disconnected."
    }
    fn help_category(&self) -> &'static str {
        "System"
    }
    fn access(&self, server: &Server, sessid: SessId) -> bool {
        superuser(server, sessid)
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        ctx.server.request_stop(StopMode::Reset);
    }
}

pub struct Shutdown;

impl Command for Shutdown {
    fn key(&self) -> &'static str {
        "shutdown"
    }
    fn help(&self) -> &'static str {
        "shutdown\n\nStop the game: server and portal. Everyone is told and disconnected."
    }
    fn help_category(&self) -> &'static str {
        "System"
    }
    fn access(&self, server: &Server, sessid: SessId) -> bool {
        superuser(server, sessid)
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        ctx.server.request_stop(StopMode::Shutdown);
    }
}
