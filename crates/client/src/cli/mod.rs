//! The `aethex` command line (contract: "Headless studio CLI"). This is an
//! edge: it parses arguments, calls the library, and prints; errors become a
//! one-line message and a non-zero exit.

pub mod account;
pub mod config;
pub mod live;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Environment variable read for the password instead of a prompt.
pub const PASSWORD_ENV: &str = "AETHEX_PASSWORD";

/// `aethex`: the AeThex Live studio without a window.
#[derive(Debug, Parser)]
#[command(name = "aethex", version, about = "AeThex Live headless studio")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in; the session token goes into the OS keyring.
    Login(account::LoginArgs),
    /// Create an account (and its channel) and sign in.
    Register(account::LoginArgs),
    /// Sign out: the token stops working and leaves the keyring.
    Logout,
    /// Show the server, user, RTMP address and keyring in use.
    Status,
    /// Manage the channel's stream key.
    Key {
        /// What to do with the key.
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Go live to the signed-in server (and every --also destination).
    Live(live::LiveArgs),
}

/// `aethex key …`.
#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Generate a new stream key (the old one stops working at once) and
    /// store it in the OS keyring.
    Rotate,
}

/// Runs the CLI with the process's arguments; the binary's whole `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("aethex: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aethex: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Login(args) => account::login(args, false).await,
        Command::Register(args) => account::login(args, true).await,
        Command::Logout => account::logout().await,
        Command::Status => account::status().await,
        Command::Key {
            action: KeyAction::Rotate,
        } => account::rotate_key().await,
        Command::Live(args) => live::run(args).await,
    }
}

/// Logs go to stderr (stdout is for results and stats lines); `RUST_LOG`
/// filters, default `warn`.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
