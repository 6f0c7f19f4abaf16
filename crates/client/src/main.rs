//! `aethex`: the headless studio CLI (see `aethex --help`).

fn main() -> std::process::ExitCode {
    aethex_client::cli::main()
}
