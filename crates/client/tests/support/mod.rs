//! Test support: the server's own test harness (a real `aethex-server` on
//! port 0 in a temporary directory), the `aethex` binary run against it with
//! its own config directory, and log capture.
#![allow(dead_code)] // each test file uses a different subset

use std::future::Future;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use aethex_server::testing::Api;
pub use aethex_server::testing::{TestDb, TestServer};

/// Every wait in a test is bounded by this, generous for a loaded machine.
pub const WAIT: Duration = Duration::from_secs(60);

/// Awaits `f`, panicking with a clear message after [`WAIT`].
pub async fn within<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(WAIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: timed out after {WAIT:?}"))
}

/// Runs the `aethex` binary with `args`, its config in `config_dir`, an
/// optional password in the environment, and returns its output.
pub async fn aethex(config_dir: &Path, password: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_aethex"));
    cmd.args(args)
        .env("AETHEX_CONFIG_DIR", config_dir)
        .env_remove("AETHEX_PASSWORD")
        .env_remove("AETHEX_SERVER")
        .env_remove("AETHEX_RTMP_URL")
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
    _second: tracing::Dispatch,
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
        // With a single registered dispatcher, tracing-core decides a new
        // callsite's interest from the default of whichever thread reaches it
        // first: a parallel test's thread (no subscriber) would switch the
        // server's `http` span off for good. A second registered dispatcher
        // makes it ask every registered one, this capture included.
        let second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
        LogCapture {
            buf,
            _guard: tracing::subscriber::set_default(subscriber),
            _second: second,
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
    let res = within("route probe", srv.get(path).send()).await;
    if res.status() != reqwest::StatusCode::NOT_FOUND {
        return true;
    }
    let has = !res.text().contains("route not found");
    if !has {
        eprintln!("skipped: this server build has no route for {path}");
    }
    has
}
