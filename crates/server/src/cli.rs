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

/// Operations run against the configured data dir and database (the same
/// flags, environment and configuration file as the server).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy the database (and with --with-media the recordings) to FILE while
    /// the server runs. SQLite only; PostgreSQL: pg_dump (docs/deploy.md).
    Backup {
        /// Where to write the backup (must not exist yet).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Also copy the recordings (`vod/`): FILE is then a tar archive.
        #[arg(long)]
        with_media: bool,
    },
    /// Restore a backup into an empty data dir (then start the server on it).
    Restore {
        /// A file written by `aethex-server backup`.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// Check that the server can run with these settings: ports, database, disk,
    /// data-dir permissions, GStreamer plugins, clock sync and a loopback test
    /// publish; prints each result with its fix. Exit code 0 when it can run.
    Doctor,
}

impl Command {
    /// Runs the operation, printing one line about what it did.
    pub async fn run(self, config: &Config) -> anyhow::Result<()> {
        match self {
            Command::Backup { to, with_media } => {
                let summary = crate::backup::backup(config, &to, with_media).await?;
                println!("backup written to {}: {summary}", to.display());
            }
            Command::Restore { from } => {
                let summary = crate::backup::restore(config, &from).await?;
                println!("restored into {}: {summary}", config.data_dir().display());
            }
            Command::Doctor => {
                let report = crate::doctor::run(config).await;
                print!("{}", report.render());
                anyhow::ensure!(
                    report.can_run(),
                    "the server cannot run with these settings: fix the failed checks above"
                );
            }
        }
        Ok(())
    }
}

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
    // The doctor's own test server would drown its report in info lines.
    let quiet = matches!(cli.command, Some(Command::Doctor));
    crate::init_tracing_as(
        cli.server.log_format,
        if quiet { "warn" } else { "info,sqlx=warn" },
    );
    let result = match cli.command {
        None => crate::run(cli.server).await,
        Some(command) => command.run(&cli.server).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aethex-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}
