//! The game's binary: the portal, the server and the launcher (`start`,
//! `reload`, `stop`, ... — see `--help`) in one.

/// The allocator Tavern runs best with (see `tavern_launcher::Allocator`).
#[global_allocator]
static ALLOC: tavern_launcher::Allocator = tavern_launcher::Allocator;

fn main() -> std::process::ExitCode {
    tavern_launcher::run(game::game())
}
