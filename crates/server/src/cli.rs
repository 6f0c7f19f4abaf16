//! The `aethex-server` command line: the server flags (see [`Config`]), the
//! configuration file, and the operations subcommands. `main.rs` calls [`main`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Config, LoadError};

/// `aethex-server [FLAGS] [COMMAND]`: without a command, runs the server.
#[derive(Debug, Parser)]
#[command(
    name = "aethex-server",
    version,
    about = "AeThex Live companion server",
    after_help = "Every flag also reads AETHEX_<FLAG> and the key of the same name in the \
                  configuration file; a flag beats the environment, which beats the file."
)]
pub struct Cli {
    /// TOML file holding server flags by their long names (`http = "0.0.0.0:8080"`).
    /// Default: /etc/aethex/server.toml when it exists.
    #[arg(long, env = "AETHEX_CONFIG", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// The server's settings.
    #[command(flatten)]
    pub server: Config,

    /// An operation instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Operations run against the configured data dir and database.
#[derive(Debug, Subcommand)]
pub enum Command {}

impl Cli {
    /// Parses `args` with the configuration file layered under flags and environment.
    pub fn load(
        args: impl IntoIterator<Item = impl Into<std::ffi::OsString>>,
    ) -> Result<Self, LoadError> {
        config::parse_layered(args, Some(std::path::Path::new(config::DEFAULT_PATH)))
    }
}

/// The binary's entry point: parse, then serve or run the subcommand.
pub async fn main() -> ExitCode {
    let cli = match Cli::load(std::env::args_os()) {
        Ok(cli) => cli,
        Err(LoadError::Cli(e)) => e.exit(),
        Err(e) => {
            eprintln!("aethex-server: {e}");
            return ExitCode::from(2);
        }
    };
    crate::init_tracing();
    let result = match cli.command {
        None => crate::run(cli.server).await,
        Some(command) => match command {},
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aethex-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}
