//! `aethex login | register | logout | status | key rotate`.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Args;

use super::PASSWORD_ENV;
use super::config::{CliConfig, ConfigError, discover_rtmp};
use crate::api::{ApiClient, ApiError};
use crate::secret::Secret;
use crate::vault::Vault;

/// Arguments of `login` and `register`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Server address, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "AETHEX_SERVER")]
    pub server: String,
    /// Your username.
    #[arg(long)]
    pub username: String,
    /// RTMP ingest address of the server (default: what the server advertises
    /// at /api/v1/ingest).
    #[arg(long, env = "AETHEX_RTMP_URL")]
    pub rtmp: Option<String>,
}

/// What a signed-in command needs: the settings, the vault and an API
/// client carrying the session token.
pub struct SignedIn {
    /// Non-secret settings from `cli.json`.
    pub config: CliConfig,
    /// The OS keyring.
    pub vault: Vault,
    /// Client for the signed-in server, with the token.
    pub api: ApiClient,
}

impl SignedIn {
    /// Loads the settings and the session token.
    pub fn load() -> anyhow::Result<SignedIn> {
        let config = CliConfig::load()?;
        let vault = Vault::open()?;
        let api = ApiClient::new(&config.server)?;
        let token = vault.session_token(&api.server())?.with_context(|| {
            format!(
                "no session for {} in the OS keyring: run `aethex login --server {} --username {}`",
                config.server, config.server, config.username
            )
        })?;
        Ok(SignedIn {
            api: api.with_token(token),
            config,
            vault,
        })
    }
}

/// `aethex login` / `aethex register`.
pub async fn login(args: LoginArgs, register: bool) -> anyhow::Result<()> {
    let api = ApiClient::new(&args.server)?;
    let password = read_password(register)?;
    let rtmp = match discover_rtmp(&api, args.rtmp.as_deref()).await {
        Ok(rtmp) => rtmp,
        // A server that is down or silent says so plainly.
        Err(ConfigError::Discovery(
            e @ (ApiError::Unreachable { .. } | ApiError::Timeout { .. }),
        )) => {
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let session = if register {
        api.register(&args.username, &password).await?
    } else {
        api.login(&args.username, &password).await?
    };
    drop(password);
    let vault = Vault::open()?;
    vault.set_session_token(&api.server(), &session.token)?;
    let config = CliConfig {
        server: api.server(),
        username: session.user.username.clone(),
        rtmp,
    };
    config.save()?;
    println!(
        "{} {} as {}; session token stored in the OS keyring ({})",
        if register {
            "registered on"
        } else {
            "signed in to"
        },
        config.server,
        config.username,
        vault.backend()
    );
    Ok(())
}

/// `aethex logout`: ends the session on the server (if it still answers)
/// and forgets the token.
pub async fn logout() -> anyhow::Result<()> {
    let signed = SignedIn::load()?;
    match signed.api.logout().await {
        Ok(()) | Err(ApiError::Unauthorized) => {}
        Err(e) => eprintln!("aethex: warning: the server did not confirm the logout: {e}"),
    }
    signed.vault.delete_session_token(&signed.api.server())?;
    println!("signed out of {}", signed.config.server);
    Ok(())
}

/// `aethex status`: where we are signed in and whether the session works.
pub async fn status() -> anyhow::Result<()> {
    let signed = SignedIn::load()?;
    let c = &signed.config;
    println!("server:   {}", c.server);
    println!("rtmp:     {}", c.rtmp);
    println!("keyring:  {}", signed.vault.backend());
    let has_key = signed.vault.stream_key(&c.server)?.is_some();
    println!(
        "key:      {}",
        if has_key {
            "stored"
        } else {
            "none (run `aethex key rotate`)"
        }
    );
    let me = signed.api.me().await?;
    println!("user:     {} ({})", me.username, me.display_name);
    Ok(())
}

/// `aethex key rotate`: a new key from the server, straight into the keyring.
pub async fn rotate_key() -> anyhow::Result<()> {
    let signed = SignedIn::load()?;
    let key = signed
        .api
        .rotate_stream_key(&signed.config.username)
        .await?;
    signed.vault.set_stream_key(&signed.config.server, &key)?;
    println!(
        "new stream key for channel {} stored in the OS keyring ({}); the old key no longer works",
        signed.config.username,
        signed.vault.backend()
    );
    Ok(())
}

/// The password from `AETHEX_PASSWORD`, else a prompt on the terminal.
fn read_password(confirm: bool) -> anyhow::Result<Secret> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(Secret::new(p));
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("no password: set {PASSWORD_ENV} or run in a terminal to be asked");
    }
    let p = Secret::new(rpassword::prompt_password("Password: ").context("reading the password")?);
    if confirm {
        let again =
            Secret::new(rpassword::prompt_password("Repeat: ").context("reading the password")?);
        anyhow::ensure!(again == p, "the passwords differ");
    }
    Ok(p)
}
