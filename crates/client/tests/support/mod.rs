//! Test support: a real `aethex-server` on port 0 in a temporary directory,
//! and the `aethex` binary run against it with its own config directory.
#![allow(dead_code)] // each test file uses a different subset

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use aethex_server::{Config, Server};
use tokio::sync::oneshot;

/// Every wait in a test is bounded by this, generous for a loaded machine.
pub const WAIT: Duration = Duration::from_secs(60);

/// Awaits `f`, panicking with a clear message after [`WAIT`].
pub async fn within<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(WAIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: timed out after {WAIT:?}"))
}

/// A running server; stops when dropped.
pub struct TestServer {
    /// The HTTP address.
    pub http: SocketAddr,
    /// The RTMP ingest address.
    pub rtmp: SocketAddr,
    dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// Starts a real server (SQLite, ports 0) in a fresh temporary directory.
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        TestServer::start_in(dir, None).await
    }

    async fn start_in(dir: tempfile::TempDir, http: Option<SocketAddr>) -> TestServer {
        let mut config = Config::for_tests(dir.path().join("data"));
        if let Some(addr) = http {
            config.http = addr;
        }
        let server = Server::bind(config).await.expect("server binds");
        let (http, rtmp) = (server.http_addr(), server.rtmp_addr());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async move {
            let _ = stopped.await;
        }));
        TestServer {
            http,
            rtmp,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the server and starts it again on the same HTTP port with the
    /// same data (clients see a dropped connection, then a fresh server).
    pub async fn restart(mut self) -> TestServer {
        let addr = self.http;
        self.shutdown().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let old = std::mem::replace(&mut self.dir, dir);
        TestServer::start_in(old, Some(addr)).await
    }

    async fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = within("server stop", t).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// `rtmp://127.0.0.1:PORT/live`.
    pub fn rtmp_url(&self) -> String {
        format!("rtmp://{}/live", self.rtmp)
    }

    /// A scratch directory that lives as long as the server.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Runs the `aethex` binary with `args`, its config in `config_dir`, an
/// optional password in the environment, and returns its output.
pub async fn aethex(config_dir: &Path, password: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_aethex"));
    cmd.args(args)
        .env("AETHEX_CONFIG_DIR", config_dir)
        .env_remove("AETHEX_PASSWORD")
        .env_remove("AETHEX_SERVER")
        .env("RUST_LOG", "debug")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(p) = password {
        cmd.env("AETHEX_PASSWORD", p);
    }
    within(&format!("aethex {args:?}"), cmd.output())
        .await
        .expect("aethex runs")
}

/// stdout + stderr as text, for assertions and failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A local port with nothing listening on it.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Captures every tracing event (all levels) on this thread while alive. With
/// `#[tokio::test]`'s current-thread runtime that includes the in-process
/// server's and the client's logs.
pub struct LogCapture {
    buf: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

struct Writer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Installs the capturing subscriber for the current thread.
    pub fn install() -> LogCapture {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Writer(sink.clone()))
            .finish();
        LogCapture {
            buf,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().expect("log buffer")).into_owned()
    }
}

/// Whether the server has a route for `GET path` (its fallback answers 404
/// "route not found"); lets journeys on routes that land later skip until then.
pub async fn has_route(srv: &TestServer, path: &str) -> bool {
    let res = within(
        "route probe",
        reqwest::Client::new()
            .get(format!("{}{path}", srv.url()))
            .send(),
    )
    .await
    .expect("server answers");
    if res.status() != reqwest::StatusCode::NOT_FOUND {
        return true;
    }
    let body = res.text().await.unwrap_or_default();
    let has = !body.contains("route not found");
    if !has {
        eprintln!("skipped: this server build has no route for {path}");
    }
    has
}
