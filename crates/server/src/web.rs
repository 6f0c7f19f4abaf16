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

/// Where a package installs the web player, from the binary's directory:
/// `/usr/bin/aethex-server` serves `/usr/share/aethex/web`.
pub const INSTALLED_WEB_DIR: &str = "../share/aethex/web";

/// The assets directory: `--web-dir`, else the installed one next to the
/// binary ([`INSTALLED_WEB_DIR`]) when it holds a build, else `ui/dist` of this
/// source tree (a development build).
pub fn web_dir(configured: Option<&Path>) -> PathBuf {
    if let Some(dir) = configured {
        return dir.to_path_buf();
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    default_web_dir(exe_dir.as_deref())
}

/// [`web_dir`] without a flag, for a binary in `exe_dir`.
fn default_web_dir(exe_dir: Option<&Path>) -> PathBuf {
    exe_dir
        .map(|dir| dir.join(INSTALLED_WEB_DIR))
        .filter(|dir| dir.join("index.html").is_file())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_binary_serves_the_packaged_player() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("usr/bin");
        let web = root.path().join("usr/share/aethex/web");
        std::fs::create_dir_all(&bin).unwrap();
        let source_tree = default_web_dir(Some(&bin));
        assert!(
            source_tree.ends_with("ui/dist"),
            "no packaged build: the source tree's {source_tree:?}"
        );
        std::fs::create_dir_all(&web).unwrap();
        std::fs::write(web.join("index.html"), "<!doctype html>").unwrap();
        let chosen = default_web_dir(Some(&bin));
        assert_eq!(chosen.canonicalize().unwrap(), web.canonicalize().unwrap());
        assert_eq!(web_dir(Some(Path::new("/srv/web"))), Path::new("/srv/web"));
    }
}
