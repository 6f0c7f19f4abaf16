//! Live HLS: `GET /hls/{channel}/index.m3u8` (sliding window from memory) and
//! the segments beside it. 404 when the channel is offline.

pub mod playlist;

use std::path::Path;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;
use crate::vod::store::PLAYLIST;

/// Content type of playlists.
pub const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
/// Content type of MPEG-TS segments.
pub const SEGMENT_TYPE: &str = "video/mp2t";
/// Playlists change every segment: always revalidate.
const PLAYLIST_CACHE: &str = "no-cache";
/// Segment names are unique per broadcast and never rewritten.
const SEGMENT_CACHE: &str = "public, max-age=31536000, immutable";

/// Routes of the live HLS feature.
pub fn router() -> Router<AppState> {
    Router::new().route("/hls/{channel}/{file}", get(live_file))
}

/// `GET /hls/{channel}/{file}`: the live playlist or one of its segments.
async fn live_file(
    State(state): State<AppState>,
    UrlPath((channel, file)): UrlPath<(String, String)>,
) -> Response {
    let Some(stream) = state.live.get(&channel) else {
        return ApiError::NotFound("live stream").into_response();
    };
    if file == PLAYLIST {
        let text = stream.live_playlist(state.config.hls_window);
        return playlist_response(text);
    }
    serve_segment(&stream.dir, &file).await
}

/// A playlist body with its content type and no-cache.
pub fn playlist_response(text: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(PLAYLIST_TYPE),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(PLAYLIST_CACHE),
            ),
        ],
        text,
    )
        .into_response()
}

/// Whether `file` is a plain segment name we write (`{id}_{n}.ts`): no path
/// separators, no dots beyond the extension, nothing absolute.
pub fn is_segment_name(file: &str) -> bool {
    let Some(stem) = file.strip_suffix(".ts") else {
        return false;
    };
    !stem.is_empty()
        && stem.len() <= 64
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Serves `dir/file` as an immutable MPEG-TS segment, or 404.
pub async fn serve_segment(dir: &Path, file: &str) -> Response {
    if !is_segment_name(file) {
        return ApiError::NotFound("file").into_response();
    }
    match tokio::fs::read(dir.join(file)).await {
        Ok(bytes) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(SEGMENT_TYPE)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(SEGMENT_CACHE),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => ApiError::NotFound("segment").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::is_segment_name;

    #[test]
    fn only_plain_segment_names_pass() {
        assert!(is_segment_name("12_00001.ts"));
        for bad in [
            "../x.ts",
            "..",
            "/etc/passwd",
            "a/b.ts",
            "a\\b.ts",
            ".ts",
            "x.ts.tmp",
            "aethex.db",
            "..%2F.ts",
        ] {
            assert!(!is_segment_name(bad), "{bad} must be refused");
        }
    }
}
