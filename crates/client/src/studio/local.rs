//! The companion server the studio runs when the creator has none: the real
//! `aethex-server` binary as a child process on 127.0.0.1, with its SQLite in the app's
//! data dir.
//!
//! A child, not a task inside the studio: a crash in the creator's own server (or in the
//! studio) cannot take the other down, the server's memory (ingest, HLS muxing, SQLite)
//! is its own and shows as its own process, and it is exactly the server creators can
//! run on their own machines. The child keeps a pipe on its standard input
//! (`--exit-with-stdin`), so it stops cleanly when the studio goes away, even by a crash.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// The server binary's name.
pub const SERVER_BIN: &str = "aethex-server";
/// How long the server may take to print its addresses.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the last ports to be free again.
const PORT_WAIT: Duration = Duration::from_secs(5);
/// How long a clean stop (live streams ended, playlists finalised) may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Errors starting the built-in server.
#[derive(Debug, thiserror::Error)]
pub enum LocalServerError {
    /// The `aethex-server` binary is not installed next to the studio.
    #[error(
        "the built-in server program ({0}) is missing: reinstall AeThex Studio, or set AETHEX_SERVER_BIN to an aethex-server binary"
    )]
    Missing(String),
    /// The server started but could not bind or open its database.
    #[error("the built-in server could not start: {0}")]
    Start(String),
}

/// A running built-in server; dropping it kills the process, [`LocalServer::stop`] ends
/// it cleanly.
#[derive(Debug)]
pub struct LocalServer {
    http: SocketAddr,
    rtmp: SocketAddr,
    child: Child,
    /// Held open: the server stops when it closes.
    stdin: Option<ChildStdin>,
}

/// Where the server binary is: `AETHEX_SERVER_BIN`, else next to the running program
/// (installed side by side; in `target/{profile}/` during development, also one level
/// up for test binaries in `deps/`), else `aethex-server` on the `PATH`.
pub fn server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("AETHEX_SERVER_BIN") {
        return PathBuf::from(bin);
    }
    if let Ok(exe) = std::env::current_exe() {
        let dirs = exe.ancestors().skip(1).take(2);
        for dir in dirs {
            let candidate = dir.join(SERVER_BIN);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from(SERVER_BIN)
}

impl LocalServer {
    /// Starts the server with its data in `data_dir`, on the preferred ports when free
    /// (so the server address and its keyring entries stay the same across launches),
    /// else on free ones.
    pub async fn start(
        data_dir: &Path,
        preferred: Option<(u16, u16)>,
    ) -> Result<LocalServer, LocalServerError> {
        std::fs::create_dir_all(data_dir).map_err(|e| LocalServerError::Start(e.to_string()))?;
        let server = match preferred {
            Some(ports) => match Self::spawn_on_last_ports(data_dir, ports).await {
                Ok(s) => s,
                Err(LocalServerError::Start(e)) => {
                    tracing::info!(
                        "built-in server on its last ports failed ({e}); picking free ones"
                    );
                    Self::spawn(data_dir, (0, 0)).await?
                }
                Err(e) => return Err(e),
            },
            None => Self::spawn(data_dir, (0, 0)).await?,
        };
        tracing::info!(http = %server.http, rtmp = %server.rtmp, pid = ?server.child.id(), "built-in server started");
        Ok(server)
    }

    /// The last ports may still be held for a moment by the previous studio's server,
    /// which stops cleanly (ending its streams) when that studio exits: retry briefly
    /// before moving, since the address names the keyring entries of the session.
    async fn spawn_on_last_ports(
        data_dir: &Path,
        ports: (u16, u16),
    ) -> Result<Self, LocalServerError> {
        let deadline = tokio::time::Instant::now() + PORT_WAIT;
        loop {
            match Self::spawn(data_dir, ports).await {
                Err(LocalServerError::Start(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                other => return other,
            }
        }
    }

    async fn spawn(data_dir: &Path, ports: (u16, u16)) -> Result<Self, LocalServerError> {
        Self::spawn_with(data_dir, &server_binary(), ports).await
    }

    async fn spawn_with(
        data_dir: &Path,
        bin: &Path,
        (http, rtmp): (u16, u16),
    ) -> Result<Self, LocalServerError> {
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--http")
            .arg(format!("127.0.0.1:{http}"))
            .arg("--rtmp")
            .arg(format!("127.0.0.1:{rtmp}"))
            .arg("--exit-with-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => {
                    LocalServerError::Missing(bin.display().to_string())
                }
                _ => LocalServerError::Start(format!("{}: {e}", bin.display())),
            })?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| LocalServerError::Start("no stdout pipe".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let listening = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addrs) = parse_listening(&line) {
                    return Some(addrs);
                }
            }
            None
        })
        .await;
        let (http, rtmp) = match listening {
            Ok(Some(addrs)) => addrs,
            Ok(None) => {
                let status = child
                    .wait()
                    .await
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                return Err(LocalServerError::Start(format!(
                    "it exited ({status}); its log is on the studio's standard error"
                )));
            }
            Err(_) => {
                let _ = child.kill().await;
                return Err(LocalServerError::Start(format!(
                    "no address within {} s",
                    START_TIMEOUT.as_secs()
                )));
            }
        };
        // Keep reading stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(LocalServer {
            http,
            rtmp,
            child,
            stdin,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// `rtmp://127.0.0.1:PORT/live`.
    pub fn rtmp_base(&self) -> String {
        format!("rtmp://{}/live", self.rtmp)
    }

    /// The bound ports (HTTP, RTMP), to prefer next launch.
    pub fn ports(&self) -> (u16, u16) {
        (self.http.port(), self.rtmp.port())
    }

    /// The server's process id (for measurements and logs).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops accepting, ends live streams cleanly and waits for the server; kills it
    /// if that takes longer than 15 s.
    pub async fn stop(mut self) {
        // Closing its stdin is the server's cue to stop as on SIGTERM.
        self.stdin.take();
        match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => tracing::info!("built-in server stopped"),
            Ok(Ok(status)) => tracing::warn!(%status, "built-in server stopped with an error"),
            Ok(Err(e)) => tracing::warn!("waiting for the built-in server: {e}"),
            Err(_) => {
                tracing::warn!("built-in server did not stop in time: killing it");
                let _ = self.child.kill().await;
            }
        }
    }
}

/// `listening http=127.0.0.1:PORT rtmp=127.0.0.1:PORT` (the contract's start-up line).
fn parse_listening(line: &str) -> Option<(SocketAddr, SocketAddr)> {
    let rest = line.trim().strip_prefix("listening ")?;
    let mut http = None;
    let mut rtmp = None;
    for part in rest.split_whitespace() {
        if let Some(v) = part.strip_prefix("http=") {
            http = v.parse().ok();
        } else if let Some(v) = part.strip_prefix("rtmp=") {
            rtmp = v.parse().ok();
        }
    }
    Some((http?, rtmp?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_listening_line() {
        let (h, r) =
            parse_listening("listening http=127.0.0.1:8080 rtmp=127.0.0.1:1935\n").expect("parsed");
        assert_eq!(h.port(), 8080);
        assert_eq!(r.port(), 1935);
        assert!(parse_listening("listening http=127.0.0.1:8080").is_none());
        assert!(parse_listening("2026 INFO serving").is_none());
    }

    /// Needs the `aethex-server` binary built (`cargo build -p aethex-server`).
    #[tokio::test]
    async fn the_server_is_a_child_that_stops_when_its_parent_pipe_closes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = LocalServer::start(dir.path(), None).await.expect("start");
        assert!(server.pid().is_some());
        let health = format!("{}/api/v1/channels", server.url());
        let res = reqwest::get(&health).await.expect("the child answers");
        assert!(res.status().is_success());
        assert!(
            dir.path().join("aethex.db").exists(),
            "its SQLite is in the data dir"
        );
        // What happens when the studio dies: its end of the pipe closes.
        server.stdin.take();
        let status = tokio::time::timeout(Duration::from_secs(20), server.child.wait())
            .await
            .expect("the server stops by itself")
            .expect("wait");
        assert!(status.success(), "a clean stop, got {status}");
        assert!(
            reqwest::get(&health).await.is_err(),
            "nothing listens any more"
        );
    }

    #[tokio::test]
    async fn a_missing_binary_says_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = LocalServer::spawn_with(dir.path(), &dir.path().join("no-such-server"), (0, 0))
            .await
            .expect_err("missing binary");
        assert!(matches!(err, LocalServerError::Missing(_)), "{err}");
        assert!(err.to_string().contains("AETHEX_SERVER_BIN"));
    }
}
