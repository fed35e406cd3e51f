fn main() -> std::process::ExitCode {
    tavern_loadtest::cli::main()
}
