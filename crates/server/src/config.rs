//! Server configuration: clap flags, each also read from `AETHEX_<FLAG>`,
//! and the optional TOML file that gives them defaults ([`file`]).
//! Precedence: command line > environment > file > built-in default.

pub mod file;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;

pub use file::{ConfigFileError, DEFAULT_PATH};

/// Why the command line, environment or configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Bad flags or environment (also `--help` and `--version`, which clap prints).
    #[error(transparent)]
    Cli(#[from] clap::Error),
    /// A bad configuration file.
    #[error(transparent)]
    File(#[from] ConfigFileError),
}

/// Parses `args` (program name first) into `T`, with the configuration file
/// named by `--config` / `AETHEX_CONFIG` — or `default_file` when that exists —
/// supplying the defaults of the flags it names. `T` must have a `config` argument.
pub fn parse_layered<T: Parser>(
    args: impl IntoIterator<Item = impl Into<OsString>>,
    default_file: Option<&Path>,
) -> Result<T, LoadError> {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Every flag also works after a subcommand (`backup --to F --data-dir D`).
    let cmd = T::command().mut_args(|a| {
        let builtin = matches!(a.get_id().as_str(), "help" | "version");
        if builtin { a } else { a.global(true) }
    });
    let first = cmd.clone().try_get_matches_from(&args)?;
    let named = first
        .try_get_one::<PathBuf>("config")
        .ok()
        .flatten()
        .cloned();
    let path = named.or_else(|| default_file.filter(|p| p.exists()).map(Path::to_path_buf));
    let cmd = match path {
        Some(path) => file::apply(cmd, &path)?,
        None => cmd,
    };
    let matches = cmd.try_get_matches_from(&args)?;
    Ok(T::from_arg_matches(&matches)?)
}

/// Everything the server can be told at start-up (see `shared/contract.md`).
/// `Debug` redacts the database URL (it may carry a password).
#[derive(Clone, Parser)]
#[command(
    name = "aethex-server",
    version,
    about = "AeThex Live companion server"
)]
pub struct Config {
    /// SQLite file, live HLS and VOD recordings live here.
    #[arg(long, env = "AETHEX_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// HTTP API, WebSocket chat, HLS and the web player (port 0 = pick a free port).
    #[arg(long, env = "AETHEX_HTTP", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,

    /// RTMP ingest: `rtmp://HOST:PORT/live/{stream_key}` (port 0 = pick a free port).
    #[arg(long, env = "AETHEX_RTMP", default_value = "127.0.0.1:1935")]
    pub rtmp: SocketAddr,

    /// SRT ingest listener (`srt://HOST:PORT?streamid={stream_key}`); off when absent.
    #[arg(long, env = "AETHEX_SRT")]
    pub srt: Option<SocketAddr>,

    /// RTMP ingest URL to advertise in `GET /api/v1/ingest` behind NAT or a
    /// proxy, e.g. `rtmp://stream.example.org:1935/live` (default: the host
    /// the request came to and the bound `--rtmp` port).
    #[arg(long, env = "AETHEX_PUBLIC_RTMP_URL", value_name = "URL",
          value_parser = crate::discovery::parse_public_rtmp)]
    pub public_rtmp_url: Option<String>,

    /// SRT ingest URL to advertise, e.g. `srt://stream.example.org:9000`
    /// (default: the host the request came to and the `--srt` port).
    #[arg(long, env = "AETHEX_PUBLIC_SRT_URL", value_name = "URL",
          value_parser = crate::discovery::parse_public_srt)]
    pub public_srt_url: Option<String>,

    /// Target HLS segment length in milliseconds (segments cut at the next keyframe).
    #[arg(long, env = "AETHEX_HLS_SEGMENT_MS", default_value_t = 1000)]
    pub hls_segment_ms: u64,

    /// LL-HLS part target in milliseconds (50–2000): how fresh the live edge is.
    #[arg(long, env = "AETHEX_HLS_PART_MS", default_value_t = 200)]
    pub hls_part_ms: u64,

    /// Segments listed in the live playlist's sliding window.
    #[arg(long, env = "AETHEX_HLS_WINDOW", default_value_t = 6)]
    pub hls_window: usize,

    /// Keep only the newest N recordings per channel (older VOD files deleted).
    #[arg(long, env = "AETHEX_VOD_KEEP_COUNT")]
    pub vod_keep_count: Option<u32>,

    /// Delete recordings older than N days.
    #[arg(long, env = "AETHEX_VOD_KEEP_DAYS")]
    pub vod_keep_days: Option<u32>,

    /// `sqlite://…` (default: `{data-dir}/aethex.db`) or `postgres://…`.
    /// Not printed anywhere: it may carry a password.
    #[arg(long, env = "AETHEX_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Extra origins allowed to call the API from a browser (default: same origin only).
    #[arg(
        long = "cors-origin",
        env = "AETHEX_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Reverse proxy address or range (CIDR) whose `X-Forwarded-For` /
    /// `Forwarded` headers name the client, for rate limits, login throttles and
    /// logs; repeatable. From any other peer those headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "AETHEX_TRUSTED_PROXY",
        value_delimiter = ',',
        value_name = "CIDR",
        value_parser = crate::http::client_addr::parse_range
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Built web player assets to serve at `/` (default: `../share/aethex/web` beside the
    /// binary when installed from a package, else `ui/dist` of the binary's source tree).
    #[arg(long, env = "AETHEX_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// Log lines as text (for a person) or JSON, one object a line with `timestamp`,
    /// `level`, `target` and the event's fields (for journald, Loki, Elasticsearch).
    #[arg(long, env = "AETHEX_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Requests per second allowed from one IP address (burst is 4× this).
    #[arg(long, env = "AETHEX_RATE_LIMIT", default_value_t = 50)]
    pub rate_limit: u32,

    /// Chat messages one viewer may send per 30 s in a channel (owner and
    /// moderators get five times as many; 0 turns the limit off).
    #[arg(long, env = "AETHEX_CHAT_RATE_LIMIT", default_value_t = 20)]
    pub chat_rate_limit: u32,

    /// Seconds a chat client may stay silent (not even a pong) before it is
    /// disconnected; the server pings every third of this.
    #[arg(long, env = "AETHEX_CHAT_IDLE_TIMEOUT", default_value_t = 60)]
    pub chat_idle_timeout: u64,

    /// Milliseconds a busy chat channel gathers events before sending them
    /// together (one wake-up and one write per client; 0 = send each at once).
    #[arg(long, env = "AETHEX_CHAT_FANOUT_WINDOW_MS", default_value_t = 10)]
    pub chat_fanout_window_ms: u64,

    /// Session lifetime in days.
    #[arg(long, env = "AETHEX_SESSION_DAYS", default_value_t = 30)]
    pub session_days: u32,

    /// Mark the session cookie `Secure` (set when served over HTTPS).
    #[arg(long, env = "AETHEX_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Cluster mode: Redis that carries chat, presence and cache
    /// invalidations between nodes (`redis://host:port/db`). Needs PostgreSQL.
    #[arg(
        long,
        env = "AETHEX_REDIS_URL",
        hide_env_values = true,
        help_heading = "Cluster"
    )]
    pub redis_url: Option<String>,

    /// Cluster mode: S3-compatible endpoint for finished media (`https://s3.example.com`).
    #[arg(long, env = "AETHEX_S3_ENDPOINT", help_heading = "Cluster")]
    pub s3_endpoint: Option<String>,

    /// Bucket for finished media (segments, init segments, VOD playlists).
    #[arg(long, env = "AETHEX_S3_BUCKET", help_heading = "Cluster")]
    pub s3_bucket: Option<String>,

    /// Region sent to the S3 endpoint.
    #[arg(
        long,
        env = "AETHEX_S3_REGION",
        default_value = "us-east-1",
        help_heading = "Cluster"
    )]
    pub s3_region: String,

    /// S3 access key id (prefer the environment variable).
    #[arg(
        long,
        env = "AETHEX_S3_ACCESS_KEY",
        hide_env_values = true,
        help_heading = "Cluster"
    )]
    pub s3_access_key: Option<String>,

    /// S3 secret key (prefer the environment variable; never logged).
    #[arg(
        long,
        env = "AETHEX_S3_SECRET_KEY",
        hide_env_values = true,
        help_heading = "Cluster"
    )]
    pub s3_secret_key: Option<String>,

    /// Base URL viewers fetch finished media from (a CDN or the bucket's public URL).
    #[arg(long, env = "AETHEX_PUBLIC_MEDIA_URL", help_heading = "Cluster")]
    pub public_media_url: Option<String>,

    /// This node's name in the cluster (default: host name + random suffix).
    #[arg(long, env = "AETHEX_NODE_ID", help_heading = "Cluster")]
    pub node_id: Option<String>,

    /// Address other nodes reach this node's HTTP listener on (default: `--http`
    /// when it is not a wildcard address).
    #[arg(long, env = "AETHEX_ADVERTISE_HTTP", help_heading = "Cluster")]
    pub advertise_http: Option<SocketAddr>,

    /// Stop cleanly when standard input closes: a parent that starts this server (the
    /// studio's built-in server) keeps a pipe open, so the server never outlives it.
    #[arg(long, env = "AETHEX_EXIT_WITH_STDIN", default_value_t = false)]
    pub exit_with_stdin: bool,
}

/// How log lines are written to standard error (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colour only at a terminal).
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

impl Config {
    /// The data directory: the flag, else `$XDG_DATA_HOME/aethex` (platform equivalent elsewhere).
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            dirs::data_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join("aethex")
        })
    }

    /// The database URL: the flag, else the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir().join("aethex.db").display()))
    }

    /// A configuration for tests: ports 0, the given data dir, defaults elsewhere.
    pub fn for_tests(data_dir: impl Into<PathBuf>) -> Self {
        let mut c = Config::parse_from([
            "aethex-server",
            "--http",
            "127.0.0.1:0",
            "--rtmp",
            "127.0.0.1:0",
        ]);
        c.data_dir = Some(data_dir.into());
        c
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("http", &self.http)
            .field("rtmp", &self.rtmp)
            .field("srt", &self.srt)
            .field("public_rtmp_url", &self.public_rtmp_url)
            .field("public_srt_url", &self.public_srt_url)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|u| redact_url(u)),
            )
            .field("cors_origins", &self.cors_origins)
            .field("web_dir", &self.web_dir)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("log_format", &self.log_format)
            .field("rate_limit", &self.rate_limit)
            .field("session_days", &self.session_days)
            .field("secure_cookies", &self.secure_cookies)
            .field("redis_url", &self.redis_url.as_ref().map(|u| redact_url(u)))
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_access_key", &self.s3_access_key.as_ref().map(|_| "***"))
            .field("s3_secret_key", &self.s3_secret_key.as_ref().map(|_| "***"))
            .field("public_media_url", &self.public_media_url)
            .field("node_id", &self.node_id)
            .field("advertise_http", &self.advertise_http)
            .finish_non_exhaustive()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod flag_tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://me:hunter2@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
        let mut c = Config::for_tests("/tmp/x");
        c.database_url = Some("postgres://me:hunter2@db/x".into());
        c.redis_url = Some("redis://:hunter3@cache:6379/0".into());
        c.s3_access_key = Some("AKIAHUNTER4".into());
        c.s3_secret_key = Some("hunter5".into());
        let shown = format!("{c:?}");
        for secret in ["hunter2", "hunter3", "HUNTER4", "hunter5"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
    }

    #[test]
    fn flags_have_env_names_from_the_contract() {
        use clap::CommandFactory;
        let cmd = Config::command();
        for (flag, env) in [
            ("data_dir", "AETHEX_DATA_DIR"),
            ("http", "AETHEX_HTTP"),
            ("rtmp", "AETHEX_RTMP"),
            ("database_url", "AETHEX_DATABASE_URL"),
            ("redis_url", "AETHEX_REDIS_URL"),
            ("s3_endpoint", "AETHEX_S3_ENDPOINT"),
            ("s3_bucket", "AETHEX_S3_BUCKET"),
            ("s3_region", "AETHEX_S3_REGION"),
            ("s3_access_key", "AETHEX_S3_ACCESS_KEY"),
            ("s3_secret_key", "AETHEX_S3_SECRET_KEY"),
            ("public_media_url", "AETHEX_PUBLIC_MEDIA_URL"),
            ("node_id", "AETHEX_NODE_ID"),
            ("advertise_http", "AETHEX_ADVERTISE_HTTP"),
        ] {
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_id() == flag)
                .expect(flag);
            assert_eq!(arg.get_env().and_then(|e| e.to_str()), Some(env));
        }
        let c = Config::parse_from(["aethex-server"]);
        assert_eq!(c.http.to_string(), "127.0.0.1:8080");
        assert_eq!(c.rtmp.to_string(), "127.0.0.1:1935");
    }

    #[test]
    fn every_server_flag_reads_an_aethex_variable() {
        use clap::CommandFactory;
        // Named before this rule existed; the contract does not list them.
        let exceptions = [("cors-origin", "AETHEX_CORS_ORIGINS")];
        let cmd = crate::cli::Cli::command();
        let mut seen = 0;
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if matches!(long, "help" | "version") {
                continue;
            }
            let want = exceptions.iter().find(|(l, _)| *l == long).map_or_else(
                || format!("AETHEX_{}", long.to_uppercase().replace('-', "_")),
                |(_, e)| e.to_string(),
            );
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                Some(want.as_str()),
                "--{long}"
            );
            seen += 1;
        }
        assert!(seen > 25, "checked {seen} flags");
    }
}
