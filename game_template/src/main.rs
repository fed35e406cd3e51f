//! The game's binary: the portal, the server and the launcher (`start`,
//! `reload`, `stop`, ... — see `--help`) in one.

/// The allocator Tavern runs best with (see `tavern_server::Allocator`).
#[global_allocator]
static ALLOC: tavern_server::Allocator = tavern_server::Allocator;

fn main() -> std::process::ExitCode {
    game::game().run()
}
