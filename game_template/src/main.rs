//! The game's binary: the portal, the server and the launcher (`start`,
//! `reload`, `stop`, ... — see `--help`) in one.

fn main() -> std::process::ExitCode {
    game::game().run()
}
