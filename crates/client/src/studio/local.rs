//! The companion server the studio runs when the creator has none: the real
//! `aethex-server` binary as a child process on 127.0.0.1, with its SQLite in the app's
//! data dir.
//!
//! A child, not a task inside the studio: a crash in the creator's own server (or in the
//! studio) cannot take the other down, the server's memory (ingest, HLS muxing, SQLite)
//! is its own and shows as its own process, and it is exactly the server creators can
//! run on their own machines. The child keeps a pipe on its standard input
//! (`--exit-with-stdin`), so it stops cleanly when the studio goes away, even by a crash.
//! A supervisor task restarts it on the same ports if it dies (the studio's session
//! and the creator's stream URL stay valid), backing off like a reconnect.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

/// The server binary's name.
pub const SERVER_BIN: &str = "aethex-server";
/// How long the server may take to print its addresses.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the last ports to be free again.
const PORT_WAIT: Duration = Duration::from_secs(5);
/// How long a clean stop (live streams ended, playlists finalised) may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// First wait before restarting a server that died; doubles up to [`RESTART_MAX`].
const RESTART_FIRST: Duration = Duration::from_millis(500);
/// Longest wait between restart attempts.
const RESTART_MAX: Duration = Duration::from_secs(30);

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

/// A running built-in server, restarted on the same ports if it dies; dropping it kills
/// the process, [`LocalServer::stop`] ends it cleanly.
#[derive(Debug)]
pub struct LocalServer {
    http: SocketAddr,
    rtmp: SocketAddr,
    /// The current child's pid (0 while it is being restarted).
    pid: Arc<AtomicU32>,
    /// Asks the supervisor for a clean stop; it answers when the child is gone.
    stop: Option<oneshot::Sender<oneshot::Sender<()>>>,
    supervisor: tokio::task::JoinHandle<()>,
}

impl Drop for LocalServer {
    /// Without [`LocalServer::stop`]: the supervisor goes, and with it the child
    /// (killed on drop; its closed stdin also stops it).
    fn drop(&mut self) {
        self.supervisor.abort();
    }
}

/// One running server process.
#[derive(Debug)]
struct Running {
    child: Child,
    /// Held open: the server stops when it closes.
    stdin: Option<ChildStdin>,
}

impl Running {
    /// Closes its stdin (the server's cue to stop as on SIGTERM) and waits; kills it
    /// after [`STOP_TIMEOUT`].
    async fn stop(mut self) {
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

/// Keeps the server running on `ports` until asked to stop.
async fn supervise(
    data_dir: PathBuf,
    ports: (u16, u16),
    mut running: Option<Running>,
    pid: Arc<AtomicU32>,
    mut stop: oneshot::Receiver<oneshot::Sender<()>>,
) {
    let mut backoff = RESTART_FIRST;
    loop {
        let alive = running.is_some();
        let next = {
            let exited = async {
                match running.as_mut() {
                    Some(r) => r
                        .child
                        .wait()
                        .await
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                reply = &mut stop => Next::Stop(reply.ok()),
                status = exited, if alive => Next::Exited(status),
                _ = tokio::time::sleep(backoff), if !alive => Next::Restart,
            }
        };
        match next {
            Next::Stop(reply) => {
                if let Some(r) = running.take() {
                    r.stop().await;
                }
                if let Some(reply) = reply {
                    let _ = reply.send(());
                }
                return;
            }
            Next::Exited(status) => {
                tracing::error!(%status, "built-in server died; restarting it");
                running = None;
                pid.store(0, Ordering::Relaxed);
            }
            Next::Restart => match LocalServer::spawn_on_last_ports(&data_dir, ports).await {
                Ok((r, _, _)) => {
                    pid.store(r.child.id().unwrap_or(0), Ordering::Relaxed);
                    tracing::info!(pid = ?r.child.id(), "built-in server restarted");
                    running = Some(r);
                    backoff = RESTART_FIRST;
                }
                Err(e) => {
                    tracing::error!(error = %e, "restarting the built-in server failed");
                    backoff = (backoff * 2).min(RESTART_MAX);
                }
            },
        }
    }
}

/// What the supervisor does next.
enum Next {
    /// A clean stop was asked (answer on the sender, if any).
    Stop(Option<oneshot::Sender<()>>),
    /// The child exited by itself, with this status.
    Exited(String),
    /// Time to try starting it again.
    Restart,
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

/// The built-in server's own configuration file, `{data_dir}/server.toml`
/// (written empty the first time). Named explicitly so the server never falls
/// back to `/etc/aethex/server.toml`, which belongs to a system-wide server.
fn own_config_file(data_dir: &Path) -> Result<PathBuf, LocalServerError> {
    let path = data_dir.join("server.toml");
    if !path.exists() {
        std::fs::write(
            &path,
            "# Settings of AeThex Studio's built-in server: keys are the long flags of\n\
             # `aethex-server --help`. The studio sets data-dir, http and rtmp itself.\n",
        )
        .map_err(|e| LocalServerError::Start(format!("{}: {e}", path.display())))?;
    }
    Ok(path)
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
        let (running, http, rtmp) = match preferred {
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
        let pid = Arc::new(AtomicU32::new(running.child.id().unwrap_or(0)));
        tracing::info!(%http, %rtmp, pid = ?running.child.id(), "built-in server started");
        let (stop, stop_rx) = oneshot::channel();
        let supervisor = tokio::spawn(supervise(
            data_dir.to_path_buf(),
            (http.port(), rtmp.port()),
            Some(running),
            pid.clone(),
            stop_rx,
        ));
        Ok(LocalServer {
            http,
            rtmp,
            pid,
            stop: Some(stop),
            supervisor,
        })
    }

    /// The last ports may still be held for a moment by the previous studio's server,
    /// which stops cleanly (ending its streams) when that studio exits: retry briefly
    /// before moving, since the address names the keyring entries of the session.
    async fn spawn_on_last_ports(
        data_dir: &Path,
        ports: (u16, u16),
    ) -> Result<(Running, SocketAddr, SocketAddr), LocalServerError> {
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

    async fn spawn(
        data_dir: &Path,
        ports: (u16, u16),
    ) -> Result<(Running, SocketAddr, SocketAddr), LocalServerError> {
        Self::spawn_with(data_dir, &server_binary(), ports).await
    }

    async fn spawn_with(
        data_dir: &Path,
        bin: &Path,
        (http, rtmp): (u16, u16),
    ) -> Result<(Running, SocketAddr, SocketAddr), LocalServerError> {
        let config = own_config_file(data_dir)?;
        let mut child = Command::new(bin)
            .arg("--config")
            .arg(&config)
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
        Ok((Running { child, stdin }, http, rtmp))
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

    /// The server's current process id (for measurements and logs); `None` while it
    /// is being restarted.
    pub fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::Relaxed)).filter(|p| *p != 0)
    }

    /// Stops accepting, ends live streams cleanly and waits for the server; kills it
    /// if that takes longer than 15 s. No restart after this.
    pub async fn stop(mut self) {
        let (reply, done) = oneshot::channel();
        if let Some(stop) = self.stop.take()
            && stop.send(reply).is_ok()
        {
            let _ = done.await;
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
        let (mut running, http, _) = LocalServer::spawn(dir.path(), (0, 0)).await.expect("start");
        let health = format!("http://{http}/api/v1/channels");
        let res = reqwest::get(&health).await.expect("the child answers");
        assert!(res.status().is_success());
        assert!(
            dir.path().join("aethex.db").exists(),
            "its SQLite is in the data dir"
        );
        // What happens when the studio dies: its end of the pipe closes.
        running.stdin.take();
        let status = tokio::time::timeout(Duration::from_secs(20), running.child.wait())
            .await
            .expect("the server stops by itself")
            .expect("wait");
        assert!(status.success(), "a clean stop, got {status}");
        assert!(
            reqwest::get(&health).await.is_err(),
            "nothing listens any more"
        );
    }

    /// Needs the `aethex-server` binary built (`cargo build -p aethex-server`).
    #[tokio::test]
    async fn a_server_that_dies_is_restarted_on_the_same_address() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = LocalServer::start(dir.path(), None).await.expect("start");
        let health = format!("{}/api/v1/channels", server.url());
        let first = server.pid().expect("pid");
        // A crash: SIGKILL, no clean stop.
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &first.to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answered = reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success());
            if answered && server.pid().is_some_and(|p| p != first) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not restarted on {health} within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // A deliberate stop is final: no restart.
        server.stop().await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(reqwest::get(&health).await.is_err(), "stopped for good");
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
