//! The game's binary: the portal, the server and the launcher (`start`,
//! `reload`, `stop`, ... — see `--help`) in one.

/// mimalloc: the server and the portal allocate small strings and vectors
/// all the time, and it does that in about half the time the system
/// allocator takes (docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    game::game().run()
}
