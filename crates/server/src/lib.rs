//! AeThex Live companion server library. `main.rs` only parses the config and
//! calls [`run`]; tests use [`Server::bind`] to get a real server on port 0.
//!
//! Feature modules each own their routes (`router()`), handlers and store.

pub mod auth;
pub mod authz;
pub mod backup;
pub mod channels;
pub mod chat;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod db;
#[cfg(test)]
mod dependencies;
pub mod discovery;
pub mod doctor;
pub mod error;
pub mod hls;
pub mod http;
pub mod ingest;
pub mod openapi;
pub mod state;
pub mod storage;
#[cfg(feature = "testing")]
pub mod testing;
pub mod validate;
pub mod vod;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

pub use config::Config;
pub use error::{ApiError, ApiResult};
pub use state::AppState;

/// Builds the whole HTTP application: API, chat, media and the web player.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .merge(auth::router())
        .merge(channels::router())
        .merge(vod::api_router())
        .merge(chat::router())
        .merge(discovery::router())
        .route("/openapi.json", get(openapi::serve))
        .fallback(not_found);
    let web_dir = web::web_dir(state.config.web_dir.as_deref());
    let router = Router::new()
        .nest("/api/v1", api)
        .merge(chat::ws_router())
        .route("/healthz", get(healthz))
        .route("/metrics", get(http::metrics::render))
        .merge(hls::router().layer(axum::middleware::from_fn_with_state(
            state.clone(),
            cluster::edge::forward,
        )))
        .merge(vod::router())
        .merge(web::router(&web_dir))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    http::layers::apply(router, &state.config)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// `GET /healthz`: the process is up and the database answers.
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> ApiResult<&'static str> {
    sqlx::query("SELECT 1").execute(&state.db.pool).await?;
    Ok("ok")
}

/// A bound, not yet serving server. Binding first lets callers learn the real
/// ports (port 0) before any request is served.
pub struct Server {
    state: AppState,
    http: TcpListener,
    rtmp: TcpListener,
}

impl Server {
    /// Opens the database, applies migrations and binds both listeners.
    pub async fn bind(config: Config) -> anyhow::Result<Self> {
        let http = TcpListener::bind(config.http).await?;
        let rtmp = TcpListener::bind(config.rtmp).await?;
        let mut state = AppState::start(config, http.local_addr()?).await?;
        state.rtmp_addr = Some(rtmp.local_addr()?);
        // Broadcasts left open by a crash are over: nobody is publishing yet.
        // Their recordings are finalised from disk and listed as VODs.
        // (In a cluster other nodes may be: there a broadcast ends with its node.)
        if state.cluster.is_none() {
            let closed = vod::recover::close_open_broadcasts(&state.db, &state.data_dir).await?;
            if closed > 0 {
                tracing::warn!(closed, "closed broadcasts left open by an unclean stop");
            }
        }
        Ok(Server { state, http, rtmp })
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
            .local_addr()
            .unwrap_or_else(|_| ([127, 0, 0, 1], 0).into())
    }

    /// The bound RTMP address.
    pub fn rtmp_addr(&self) -> SocketAddr {
        self.rtmp
            .local_addr()
            .unwrap_or_else(|_| ([127, 0, 0, 1], 0).into())
    }

    /// The SRT listener address, when SRT ingest is on.
    pub fn srt_addr(&self) -> Option<SocketAddr> {
        self.state.config.srt
    }

    /// The shared state (tests use it to reach the store directly).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting and drains.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Server { state, http, rtmp } = self;
        let token = tokio_util::sync::CancellationToken::new();
        let rtmp_task = tokio::spawn(ingest::rtmp::serve(rtmp, state.clone(), token.clone()));
        tokio::spawn(purge_sessions(state.clone(), token.clone()));
        let srt_task = state.config.srt.map(|addr| {
            let (state, token) = (state.clone(), token.clone());
            let rt = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || {
                if let Err(e) = ingest::srt::serve_blocking(addr, state, token, rt) {
                    tracing::error!(error = %e, "SRT ingest unavailable");
                }
            })
        });
        let chat = state.chat.clone();
        let app = app(state).into_make_service_with_connect_info::<SocketAddr>();
        let t = token.clone();
        // Chat frames are small writes: Nagle's algorithm would hold each one
        // back until the previous one is acknowledged.
        let http = http.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(http, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                t.cancel();
                // Upgraded chat sockets are not drained by axum: close them.
                chat.shutdown();
            })
            .await?;
        token.cancel();
        let _ = rtmp_task.await;
        if let Some(task) = srt_task {
            let _ = task.await;
        }
        Ok(())
    }
}

/// Removes expired sessions once an hour.
async fn purge_sessions(state: AppState, token: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = auth::store::purge_expired_sessions(&state.db).await {
                    tracing::warn!(error = %e, "purging expired sessions failed");
                }
            }
        }
    }
}

/// Runs the server until SIGTERM or Ctrl-C, printing the bound addresses first.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let exit_with_stdin = config.exit_with_stdin;
    let server = Server::bind(config).await?;
    let shutdown = shutdown_signal();
    // The contract's line; `srt=` is appended only when SRT ingest is on.
    let srt = server
        .srt_addr()
        .map(|a| format!(" srt={a}"))
        .unwrap_or_default();
    println!(
        "listening http={} rtmp={}{srt}",
        server.http_addr(),
        server.rtmp_addr()
    );
    tracing::info!(http = %server.http_addr(), rtmp = %server.rtmp_addr(), "serving");
    let stop = async move {
        tokio::select! {
            _ = shutdown => {},
            _ = stdin_closed(), if exit_with_stdin => {
                tracing::info!("standard input closed (the parent went away): stopping");
            },
        }
    };
    server.serve(stop).await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Resolves when standard input reaches its end (or fails): the parent closed its pipe.
async fn stdin_closed() {
    use tokio::io::AsyncReadExt;
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 256];
    while let Ok(n) = stdin.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed by this call,
/// not when the future is first polled: a signal that arrives right after
/// the `listening` line is still a clean shutdown.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! { _ = wait(term) => {}, _ = wait(int) => {} }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Logs text to stderr; `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    init_tracing_as(config::LogFormat::Text, "info,sqlx=warn");
}

/// Logs to stderr in `format`; `RUST_LOG` filters, else `default` (an
/// `EnvFilter` directive).
pub fn init_tracing_as(format: config::LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        // Colour codes only for a person at a terminal, not in journald or files.
        config::LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        config::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
}
