//! Test harness (feature `testing`): the app in-process on SQLite or on a fresh
//! database in a throwaway PostgreSQL cluster, plus a real server on port 0.
//!
//! PostgreSQL: `AETHEX_TEST_POSTGRES_URL` (set by `scripts/test`, which starts
//! one cluster for the whole run); without it, the first test in a process
//! starts a cluster with `scripts/pg-cluster` and a watcher stops it when the
//! process exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use crate::config::Config;

use crate::state::AppState;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestDb {
    /// A SQLite file in a temp dir.
    Sqlite,
    /// A fresh database in the test PostgreSQL cluster.
    Postgres,
}

/// Base URL of the test PostgreSQL cluster (started on first use if needed).
pub fn postgres_base_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("AETHEX_TEST_POSTGRES_URL") {
            return url;
        }
        start_private_cluster()
    })
    .clone()
}

fn start_private_cluster() -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-cluster");
    let dir = std::env::temp_dir().join(format!("aethex-pg-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let out = std::process::Command::new(&script)
        .arg("start")
        .arg(dir.join("pg"))
        .output()
        .expect("run scripts/pg-cluster (PostgreSQL must be installed: scripts/setup)");
    assert!(
        out.status.success(),
        "could not start a test PostgreSQL cluster: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Stop the cluster when this test process exits.
    let watcher = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {script} stop {dir}/pg; rm -rf {dir}",
        pid = std::process::id(),
        script = script.display(),
        dir = dir.display()
    );
    let _ = std::process::Command::new("sh")
        .args(["-c", &watcher])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Creates a fresh, empty database in the test cluster; returns its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let base = postgres_base_url();
    let name = format!(
        "aethex_t_{}",
        crate::auth::secret::random_token().get(..16).unwrap_or("x")
    );
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let (prefix, _) = base.rsplit_once('/').expect("database URL has a path");
    format!("{prefix}/{name}")
}

/// A database URL for `db` inside `dir`.
pub async fn database_url(db: TestDb, dir: &std::path::Path) -> String {
    match db {
        TestDb::Sqlite => format!("sqlite://{}", dir.join("aethex.db").display()),
        TestDb::Postgres => fresh_postgres_database().await,
    }
}

/// A test configuration: ports 0, data in `dir`, database `url`.
pub fn config(dir: &std::path::Path, url: String) -> Config {
    let mut c = Config::for_tests(dir);
    c.database_url = Some(url);
    c
}

/// The app in-process, driven with `oneshot` requests.
pub struct TestApp {
    /// Shared state (reach the store directly).
    pub state: AppState,
    /// The full router with middleware.
    pub router: Router,
    /// Data dir, removed on drop.
    pub dir: tempfile::TempDir,
}

/// A response from [`TestApp::request`].
#[derive(Debug)]
pub struct TestResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as JSON (`Null` when empty or not JSON).
    pub json: Value,
    /// Raw body text.
    pub text: String,
}

impl TestResponse {
    /// The contract error code, if this is an error body.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// Starts on `db` with the default test config.
    pub async fn new(db: TestDb) -> Self {
        Self::with_config(db, |_| {}).await
    }

    /// Starts on `db`, letting the test adjust the config first.
    pub async fn with_config(db: TestDb, adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = database_url(db, dir.path()).await;
        let mut cfg = config(dir.path(), url);
        adjust(&mut cfg);
        let state = AppState::new(cfg).await.expect("app state");
        let router = crate::app(state.clone());
        TestApp { state, router, dir }
    }

    /// Sends one request; `body` is sent as JSON when given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .expect("request");
        self.send(req).await
    }

    /// Sends a prepared request.
    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).to_string();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            json,
            text,
        }
    }

    /// Registers `username` (password `password123`); returns the token.
    pub async fn register(&self, username: &str) -> String {
        let r = self
            .request(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(serde_json::json!({"username": username, "password": "password123"})),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "register {username}: {}",
            r.text
        );
        r.json["token"].as_str().expect("token").to_string()
    }

    /// Rotates `channel`'s stream key as its owner; returns the key.
    pub async fn rotate_key(&self, channel: &str, token: &str) -> String {
        let r = self
            .request(
                Method::POST,
                &format!("/api/v1/channels/{channel}/stream-key"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "rotate key: {}", r.text);
        r.json["stream_key"]
            .as_str()
            .expect("stream_key")
            .to_string()
    }
}

/// A real server on port 0 (HTTP + RTMP), serving in a background task.
pub struct TestServer {
    /// HTTP address.
    pub http: SocketAddr,
    /// RTMP address.
    pub rtmp: SocketAddr,
    /// Shared state.
    pub state: AppState,
    /// Data dir.
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// Starts on `db`.
    pub async fn start(db: TestDb) -> Self {
        Self::start_with(db, |_| {}).await
    }

    /// Starts on `db` with an adjusted config.
    pub async fn start_with(db: TestDb, adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = database_url(db, dir.path()).await;
        let mut cfg = config(dir.path(), url);
        adjust(&mut cfg);
        Self::start_config(cfg, dir).await
    }

    /// Starts with a full config (e.g. to restart on the same database).
    pub async fn start_config(cfg: Config, dir: tempfile::TempDir) -> Self {
        let server = crate::Server::bind(cfg).await.expect("bind server");
        let (http, rtmp, state) = (
            server.http_addr(),
            server.rtmp_addr(),
            server.state().clone(),
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async move {
            let _ = rx.await;
        }));
        TestServer {
            http,
            rtmp,
            state,
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Stops gracefully and waits; returns the data dir for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Declares one async test per database: `both_dbs!(name, |db| async move { … })`
/// makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_dbs {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                ($body)($crate::testing::TestDb::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                ($body)($crate::testing::TestDb::Postgres).await
            }
        }
    };
}
