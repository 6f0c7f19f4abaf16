//! The CLI's non-secret settings: which server, as whom, and where its RTMP
//! ingest is. A small JSON file in the platform config directory
//! (`$XDG_CONFIG_HOME/aethex/cli.json`; `AETHEX_CONFIG_DIR` overrides the
//! directory). Secrets never go here: they live in the [`crate::vault::Vault`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::api::{ApiClient, ApiError};

/// Environment variable naming the directory of `cli.json`.
pub const CONFIG_DIR_ENV: &str = "AETHEX_CONFIG_DIR";

/// Default RTMP ingest port of `aethex-server` (contract: `--rtmp` default).
pub const DEFAULT_RTMP_PORT: u16 = 1935;

/// Why the settings could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No home/config directory could be found.
    #[error("no config directory: set {CONFIG_DIR_ENV}")]
    NoDir,
    /// Not signed in yet.
    #[error("not signed in: run `aethex login --server URL --username NAME` first")]
    NotSignedIn,
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("{path} is damaged ({source}); delete it and sign in again")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// `--rtmp` is not an `rtmp(s)://` URL.
    #[error("{0:?} is not an RTMP address (expected e.g. rtmp://127.0.0.1:1935/live)")]
    BadRtmpUrl(String),
    /// The server did not say where its RTMP ingest is.
    #[error("cannot discover the server's RTMP ingest ({0}); pass --rtmp rtmp://HOST:PORT/live")]
    Discovery(#[source] ApiError),
}

/// What `cli.json` holds. Only non-secret values, by construction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliConfig {
    /// Server base URL, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// The signed-in user, whose channel has the same name.
    pub username: String,
    /// RTMP ingest base, e.g. `rtmp://127.0.0.1:1935/live`; the stream key is
    /// appended as the last path segment at go-live time.
    pub rtmp: String,
}

impl CliConfig {
    /// The file's path.
    pub fn path() -> Result<PathBuf, ConfigError> {
        let dir = match std::env::var_os(CONFIG_DIR_ENV) {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => dirs::config_dir().ok_or(ConfigError::NoDir)?.join("aethex"),
        };
        Ok(dir.join("cli.json"))
    }

    /// Loads the settings; [`ConfigError::NotSignedIn`] when there are none.
    pub fn load() -> Result<CliConfig, ConfigError> {
        CliConfig::load_from(&CliConfig::path()?)
    }

    /// Loads from a given file.
    pub fn load_from(path: &Path) -> Result<CliConfig, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NotSignedIn);
            }
            Err(source) => {
                return Err(ConfigError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        serde_json::from_str(&text).map_err(|source| ConfigError::Damaged {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Saves the settings (atomically: write a temporary file, then rename).
    pub fn save(&self) -> Result<PathBuf, ConfigError> {
        let path = CliConfig::path()?;
        self.save_to(&path)?;
        Ok(path)
    }

    /// Saves to a given file.
    pub fn save_to(&self, path: &Path) -> Result<(), ConfigError> {
        let io = |source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|source| ConfigError::Damaged {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(&tmp, text + "\n").map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// The RTMP ingest base for a server: `--rtmp` when given (a bare
/// `rtmp://host:port` gets `/live`), else the server's host on port 1935.
pub fn rtmp_base(server: &Url, explicit: Option<&str>) -> Result<String, ConfigError> {
    match explicit {
        Some(raw) => {
            let bad = || ConfigError::BadRtmpUrl(raw.to_string());
            let mut url = Url::parse(raw.trim()).map_err(|_| bad())?;
            if !matches!(url.scheme(), "rtmp" | "rtmps") || url.host_str().is_none() {
                return Err(bad());
            }
            if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
                // A key or password here would end up in a plain file.
                return Err(bad());
            }
            if url.path().is_empty() || url.path() == "/" {
                url.set_path("/live");
            }
            Ok(url.as_str().trim_end_matches('/').to_string())
        }
        None => {
            let host = server.host_str().unwrap_or("127.0.0.1");
            let host = if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_string()
            };
            Ok(format!("rtmp://{host}:{DEFAULT_RTMP_PORT}/live"))
        }
    }
}

/// The RTMP ingest base for `api`'s server: `explicit` (`--rtmp`) when given,
/// else what the server advertises at `GET /api/v1/ingest`, checked like
/// `--rtmp`. A server without that route (an older release) gets the old
/// guess: its host on port 1935.
pub async fn discover_rtmp(api: &ApiClient, explicit: Option<&str>) -> Result<String, ConfigError> {
    if explicit.is_some() {
        return rtmp_base(api.base_url(), explicit);
    }
    match api.ingest().await {
        Ok(info) if info.rtmp.enabled => rtmp_base(api.base_url(), Some(&info.rtmp.url)),
        Ok(_) => Err(ConfigError::Discovery(ApiError::NotFound(
            "the server has RTMP ingest turned off".into(),
        ))),
        Err(ApiError::NotFound(_)) => {
            tracing::warn!(
                "the server does not advertise its ingest; assuming port {DEFAULT_RTMP_PORT}"
            );
            rtmp_base(api.base_url(), None)
        }
        Err(e) => Err(ConfigError::Discovery(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtmp_base_defaults_to_the_server_host() {
        let s = Url::parse("http://stream.example.org:8080/").unwrap();
        assert_eq!(
            rtmp_base(&s, None).unwrap(),
            "rtmp://stream.example.org:1935/live"
        );
        assert_eq!(
            rtmp_base(&s, Some("rtmp://127.0.0.1:41935")).unwrap(),
            "rtmp://127.0.0.1:41935/live"
        );
        assert_eq!(
            rtmp_base(&s, Some("rtmp://h:1/app/")).unwrap(),
            "rtmp://h:1/app"
        );
        for bad in [
            "http://h/live",
            "rtmp://u:pw@h/live",
            "nonsense",
            "rtmp://h/live?key=x",
        ] {
            assert!(rtmp_base(&s, Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_round_trips_and_holds_no_secret_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/cli.json");
        assert!(matches!(
            CliConfig::load_from(&path),
            Err(ConfigError::NotSignedIn)
        ));
        let c = CliConfig {
            server: "http://127.0.0.1:8080".into(),
            username: "alice".into(),
            rtmp: "rtmp://127.0.0.1:1935/live".into(),
        };
        c.save_to(&path).unwrap();
        assert_eq!(CliConfig::load_from(&path).unwrap(), c);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["rtmp", "server", "username"]);
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            CliConfig::load_from(&path),
            Err(ConfigError::Damaged { .. })
        ));
    }
}
