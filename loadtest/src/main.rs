//! `tavern-loadtest`: the load tool's command line (see the library's docs).

fn main() -> std::process::ExitCode {
    tavern_loadtest::cli::main()
}
