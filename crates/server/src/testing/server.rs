//! A real server on port 0 (HTTP + RTMP), serving in a background task.

use std::net::SocketAddr;
use std::time::Duration;

use super::request::{Api, Target};
use super::{TestDb, prepare};
use crate::config::Config;
use crate::state::AppState;

/// How long a stopping server may take to finish (it ends live streams first).
const STOP_WAIT: Duration = Duration::from_secs(20);

/// A real server on port 0 with its own data dir; requests go over HTTP
/// through [`Api`]. Stops when dropped.
pub struct TestServer {
    /// HTTP address.
    pub http: SocketAddr,
    /// RTMP address.
    pub rtmp: SocketAddr,
    /// Shared state (reach the store directly).
    pub state: AppState,
    /// Data dir.
    pub dir: tempfile::TempDir,
    client: reqwest::Client,
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
        let (cfg, dir) = prepare(db, adjust).await;
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
            client: reqwest::Client::new(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// `http://127.0.0.1:PORT{path}`
    pub fn url_for(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// `rtmp://127.0.0.1:PORT/live`
    pub fn rtmp_url(&self) -> String {
        format!("rtmp://{}/live", self.rtmp)
    }

    /// `rtmp://127.0.0.1:PORT/live/{key}`: where a publisher sends.
    pub fn publish_url(&self, key: &str) -> String {
        format!("rtmp://{}/live/{key}", self.rtmp)
    }

    /// Stops the way SIGTERM does and waits until the server has finished
    /// cleanly; state and data dir stay for inspection.
    pub async fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(STOP_WAIT, task)
                .await
                .unwrap_or_else(|_| panic!("server did not stop within {STOP_WAIT:?}"))
                .expect("server task panicked")
                .expect("server returned an error");
        }
    }

    /// Stops (see [`shutdown`](Self::shutdown)); returns the data dir for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        self.shutdown().await;
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    /// Stops and starts again on the same HTTP port with the same data and
    /// database (clients see a dropped connection, then a fresh server).
    pub async fn restart(self) -> Self {
        let mut cfg = Config::clone(&self.state.config);
        cfg.http = self.http;
        let dir = self.stop().await;
        Self::start_config(cfg, dir).await
    }
}

impl Api for TestServer {
    fn target(&self) -> Target<'_> {
        Target::Server {
            client: &self.client,
            http: self.http,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
