//! `aethex-server`: parse the configuration and run. Everything else lives in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = aethex_server::config::Config::parse();
    aethex_server::init_tracing();
    aethex_server::run(config).await
}
