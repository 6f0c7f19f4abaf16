//! `aethex live`: goes live to the signed-in server with the key from the
//! keyring, and to every `--also` destination from the same encode.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::account::SignedIn;
use crate::secret::Secret;

/// What to capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    /// Test pattern and tone (always available).
    Test,
    /// The screen (X11, or the desktop portal on Wayland).
    Screen,
    /// The first camera.
    Camera,
}

/// Arguments of `aethex live`.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// What to capture.
    #[arg(long, value_enum, default_value_t = SourceKind::Test)]
    pub source: SourceKind,
    /// Stream title, set on the channel before going live.
    #[arg(long)]
    pub title: Option<String>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    /// Also record locally to this file (crash-safe).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Another RTMP/SRT destination (repeatable), e.g. rtmp://host/app/KEY.
    #[arg(long = "also", value_name = "URL")]
    pub also: Vec<String>,
    /// RTMP ingest of the own server for this run (default: from `aethex login`).
    #[arg(long, value_name = "URL")]
    pub rtmp: Option<String>,
}

/// The own server's publish URL: `{rtmp base}/{stream key}`; a secret
/// because it carries the key.
pub fn publish_url(rtmp_base: &str, key: &Secret) -> Secret {
    Secret::new(format!(
        "{}/{}",
        rtmp_base.trim_end_matches('/'),
        key.expose()
    ))
}

/// A destination URL as safe to print: scheme, host and port only.
pub fn display_destination(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}", u.scheme()),
            (Some(h), None) => format!("{}://{h}", u.scheme()),
            _ => format!("{}://…", u.scheme()),
        },
        Err(_) => "(invalid URL)".to_string(),
    }
}

/// Runs `aethex live`.
pub async fn run(args: LiveArgs) -> anyhow::Result<()> {
    let signed = SignedIn::load()?;
    let rtmp = match &args.rtmp {
        Some(r) => super::config::rtmp_base(signed.api.base_url(), Some(r))?,
        None => signed.config.rtmp.clone(),
    };
    let key = signed
        .vault
        .stream_key(&signed.config.server)?
        .with_context(|| {
            format!(
                "no stream key for {} in the OS keyring: run `aethex key rotate` first",
                signed.config.server
            )
        })?;
    for also in &args.also {
        check_also(also)?;
    }
    if let Some(title) = &args.title {
        let patch = aethex_proto::ChannelPatch {
            title: Some(title.clone()),
            ..Default::default()
        };
        signed
            .api
            .update_channel(&signed.config.username, &patch)
            .await
            .context("setting the stream title")?;
    }
    let _own = publish_url(&rtmp, &key);
    anyhow::bail!("the broadcast engine is not available in this build of aethex")
}

/// `--also` takes RTMP(S) and SRT URLs only.
fn check_also(url: &str) -> anyhow::Result<()> {
    let scheme = url::Url::parse(url).map(|u| u.scheme().to_string());
    match scheme.as_deref() {
        Ok("rtmp" | "rtmps" | "srt") => Ok(()),
        _ => anyhow::bail!(
            "--also {}: expected an rtmp://, rtmps:// or srt:// URL",
            display_destination(url)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_print_without_their_keys() {
        assert_eq!(
            display_destination("rtmp://live.twitch.tv/app/live_123_secret"),
            "rtmp://live.twitch.tv"
        );
        assert_eq!(
            display_destination("srt://127.0.0.1:9000?streamid=publish:secret"),
            "srt://127.0.0.1:9000"
        );
        let url = publish_url("rtmp://h:1935/live/", &Secret::new("sk_1"));
        assert_eq!(url.expose(), "rtmp://h:1935/live/sk_1");
        assert!(!format!("{url:?}").contains("sk_1"));
        assert!(check_also("http://x/y").is_err());
        let e = check_also("udp://h/secretpath").unwrap_err().to_string();
        assert!(!e.contains("secretpath"), "{e}");
    }
}
