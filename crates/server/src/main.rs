//! `aethex-server`: everything lives in the library; see `aethex_server::cli`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    aethex_server::cli::main().await
}
