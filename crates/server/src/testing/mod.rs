//! Test harness (feature `testing`): the app in-process ([`TestApp`]) or a
//! real server on port 0 ([`TestServer`]), on SQLite or on a fresh database in
//! a throwaway PostgreSQL cluster, both driven through one request builder
//! ([`Api`]: `app.put(path).as_user(&alice).json(&v).send().await`).
//!
//! PostgreSQL: `AETHEX_TEST_POSTGRES_URL` (set by `scripts/test`, which starts
//! one cluster for the whole run); without it, the first test in a process
//! starts a cluster with `scripts/pg-cluster` and a watcher stops it when the
//! process exits.

mod app;
mod request;
mod server;

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::config::Config;

pub use app::TestApp;
pub use request::{
    Api, DELETE, GET, PASSWORD, PATCH, POST, PUT, Target, TestRequest, TestResponse, TestUser,
};
pub use server::TestServer;

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

/// A fresh data dir and a test config on `db` inside it, after `adjust`.
async fn prepare(db: TestDb, adjust: impl FnOnce(&mut Config)) -> (Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = database_url(db, dir.path()).await;
    let mut cfg = config(dir.path(), url);
    adjust(&mut cfg);
    (cfg, dir)
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
