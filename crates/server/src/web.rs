//! The web player: built assets from `ui/dist` at `/assets/…`, the player page
//! at `/` and `/{channel}`. Without a build, a clear page says how to make one.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

/// The assets directory: `--web-dir`, else `ui/dist` of this source tree.
pub fn web_dir(configured: Option<&Path>) -> PathBuf {
    configured
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist"))
}

/// `/`, `/{channel}` and `/assets/…`.
pub fn router(dir: &Path) -> Router<AppState> {
    let assets = ServeDir::new(dir.join("assets"));
    Router::new()
        .route("/", get(page))
        .route("/{channel}", get(page))
        .nest_service(
            "/assets",
            tower::ServiceBuilder::new()
                // Vite names assets by content hash: cache them for a year.
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    header::HeaderValue::from_static("public, max-age=31536000, immutable"),
                ))
                .service(assets),
        )
}

async fn page(State(state): State<AppState>) -> Response {
    let index = web_dir(state.config.web_dir.as_deref()).join("index.html");
    match tokio::fs::read_to_string(&index).await {
        Ok(html) => ([(header::CACHE_CONTROL, "no-cache")], Html(html)).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Html(format!(
                "<!doctype html><meta charset=utf-8><title>AeThex Live</title>\
                 <body style=\"font-family:sans-serif;background:#111;color:#eee;padding:2em\">\
                 <h1>AeThex Live is running</h1><p>The web player has not been built. \
                 Run <code>cd ui &amp;&amp; npm ci &amp;&amp; npx vite build</code> \
                 (or <code>scripts/run</code>), or point <code>--web-dir</code> at a build.</p>\
                 <p>Looked for <code>{}</code>. The API is at <a href=\"/api/v1/openapi.json\" \
                 style=color:#a78bfa>/api/v1/openapi.json</a>.</p></body>",
                html_escape(&index.display().to_string())
            )),
        )
            .into_response(),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
