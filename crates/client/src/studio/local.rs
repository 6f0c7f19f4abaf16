//! The companion server the studio runs in-process when the creator has none:
//! `aethex_server::Server` on 127.0.0.1 with its SQLite in the app's data dir.

use std::net::SocketAddr;
use std::path::Path;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Errors starting the in-process server.
#[derive(Debug, thiserror::Error)]
pub enum LocalServerError {
    /// Binding or opening the database failed.
    #[error("the built-in server could not start: {0}")]
    Start(String),
}

/// A running in-process server; dropping it does not stop it, [`LocalServer::stop`] does.
#[derive(Debug)]
pub struct LocalServer {
    http: SocketAddr,
    rtmp: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
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
        let mut config = aethex_server::Config::for_tests(data_dir);
        let server = match preferred {
            Some((http, rtmp)) => {
                config.http = SocketAddr::from(([127, 0, 0, 1], http));
                config.rtmp = SocketAddr::from(([127, 0, 0, 1], rtmp));
                match aethex_server::Server::bind(config.clone()).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::info!("preferred local ports busy ({e}); picking free ones");
                        config.http = SocketAddr::from(([127, 0, 0, 1], 0));
                        config.rtmp = SocketAddr::from(([127, 0, 0, 1], 0));
                        aethex_server::Server::bind(config)
                            .await
                            .map_err(start_err)?
                    }
                }
            }
            None => aethex_server::Server::bind(config)
                .await
                .map_err(start_err)?,
        };
        let (http, rtmp) = (server.http_addr(), server.rtmp_addr());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) = server.serve(shutdown).await {
                tracing::error!("built-in server stopped: {e}");
            }
        });
        tracing::info!(%http, %rtmp, "built-in server started");
        Ok(LocalServer {
            http,
            rtmp,
            stop: Some(tx),
            task: Some(task),
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

    /// Stops accepting, ends live streams cleanly and waits for the server.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

fn start_err(e: anyhow::Error) -> LocalServerError {
    LocalServerError::Start(format!("{e:#}"))
}
