//! Live HLS: `GET /hls/{channel}/index.m3u8` (LL-HLS: sliding window from
//! memory, parts, blocking reload with `_HLS_msn`/`_HLS_part`) and the media
//! files beside it. 404 when the channel is offline.
//!
//! - pure media core: [`segmenter`] (frames → parts and segments), [`fmp4`],
//!   [`playlist`];
//! - [`publish`]: the [`publish::Packager`] the ingest hands segmenter output
//!   to; it fills a [`live::LiveStream`] (in the [`live::LiveRegistry`]) and
//!   the recording ([`recording`], which `vod` serves later);
//! - [`media`]: the live window in memory (init, parts, recent segments as
//!   shared `Bytes`: a media request costs no file open and no copy).
//!
//! Nothing here uses `ingest` or `vod` (checked by `dependencies.rs`).

pub mod fmp4;
pub mod live;
pub mod media;
pub mod playlist;
pub mod publish;
pub mod recording;
pub mod segmenter;
pub mod sink;

use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;

use crate::error::ApiError;
use crate::state::AppState;
use live::Reload;
use recording::PLAYLIST;

/// Content type of playlists.
pub const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
/// Content type of MPEG-TS segments (recordings made before fMP4).
pub const TS_TYPE: &str = "video/mp2t";
/// Content type of fMP4 init segments, segments and parts.
pub const MP4_TYPE: &str = "video/mp4";
/// Playlists change every part: always revalidate.
const PLAYLIST_CACHE: &str = "no-cache";
/// A blocking reload (`_HLS_msn`/`_HLS_part` in the URL) names one playlist
/// version: a CDN may keep it, keyed on the full URL, and answer every other
/// player asking for the same part from its cache (RFC 8216bis 6.2.5.2).
pub const BLOCKING_PLAYLIST_CACHE: &str = "public, max-age=60";
/// Media names are unique per broadcast and never rewritten.
const SEGMENT_CACHE: &str = "public, max-age=31536000, immutable";
/// How long a request for the hinted next part may wait for it.
const PART_WAIT: Duration = Duration::from_secs(3);

/// Routes of the live HLS feature.
pub fn router() -> Router<AppState> {
    Router::new().route("/hls/{channel}/{file}", get(live_file))
}

/// The LL-HLS delivery directives of a playlist request.
#[derive(Debug, Default, PartialEq, Eq)]
struct Directives {
    msn: Option<u64>,
    part: Option<u32>,
}

/// Parses `_HLS_msn` / `_HLS_part`; other parameters (cache busters) are
/// ignored. `_HLS_part` without `_HLS_msn` is an error (RFC 8216bis 6.2.5.2).
fn directives(query: Option<&str>) -> Result<Directives, ApiError> {
    let mut d = Directives::default();
    for pair in query.unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let bad = || ApiError::BadRequest(format!("{key} must be a non-negative integer"));
        match key {
            "_HLS_msn" => d.msn = Some(value.parse().map_err(|_| bad())?),
            "_HLS_part" => d.part = Some(value.parse().map_err(|_| bad())?),
            _ => {}
        }
    }
    if d.part.is_some() && d.msn.is_none() {
        return Err(ApiError::BadRequest("_HLS_part needs _HLS_msn".into()));
    }
    Ok(d)
}

/// `GET /hls/{channel}/{file}`: the live playlist or one of its media files.
async fn live_file(
    State(state): State<AppState>,
    UrlPath((channel, file)): UrlPath<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(stream) = state.live.get(&channel) else {
        return ApiError::NotFound("live stream").into_response();
    };
    let window = state.config.hls_window;
    if file == PLAYLIST {
        let d = match directives(query.as_deref()) {
            Ok(d) => d,
            Err(e) => return e.into_response(),
        };
        let Some(msn) = d.msn else {
            if stream.has_media() {
                return playlist_response(stream.live_playlist(window));
            }
            // Publishing, but no part cut yet: an empty playlist would make
            // players give up or spin. Wait for the first part like a
            // blocking reload; if it does not come, 404 as when offline.
            return match stream.reload(window, 0, Some(0)).await {
                Reload::Ready(text) if stream.has_media() => playlist_response(text),
                _ => ApiError::NotFound("live stream").into_response(),
            };
        };
        return match stream.reload(window, msn, d.part).await {
            Reload::Ready(text) => playlist_response_cached(text, BLOCKING_PLAYLIST_CACHE),
            Reload::TooFarAhead => {
                ApiError::BadRequest("_HLS_msn is beyond the live edge".into()).into_response()
            }
            Reload::TimedOut => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, HeaderValue::from_static("1"))],
                "the requested part did not appear in time",
            )
                .into_response(),
        };
    }
    if !is_segment_name(&file) {
        return ApiError::NotFound("file").into_response();
    }
    match stream.media(&file, PART_WAIT).await {
        Some(bytes) => media_response(&file, bytes),
        None => serve_segment(&stream.dir, &file).await,
    }
}

/// A playlist body with its content type and no-cache.
pub fn playlist_response(text: String) -> Response {
    playlist_response_cached(text, PLAYLIST_CACHE)
}

/// A playlist body with its content type and `cache_control`.
pub fn playlist_response_cached(text: String, cache_control: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(PLAYLIST_TYPE),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            ),
        ],
        text,
    )
        .into_response()
}

/// Whether `file` is a plain media name we write (`{id}_{n}.m4s`,
/// `{id}_{n}_p{k}.m4s`, `{id}_init.mp4`, or `{id}_{n}.ts` in older
/// recordings): no path separators, no dots beyond the extension, nothing
/// absolute.
pub fn is_segment_name(file: &str) -> bool {
    let Some(stem) = [".m4s", ".mp4", ".ts"]
        .iter()
        .find_map(|ext| file.strip_suffix(ext))
    else {
        return false;
    };
    !stem.is_empty()
        && stem.len() <= 64
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The init segment's file name.
pub fn init_name(prefix: &str) -> String {
    format!("{prefix}_init.mp4")
}

/// A segment's file name.
pub fn segment_name(prefix: &str, msn: u64) -> String {
    format!("{prefix}_{msn:05}.m4s")
}

/// A part's name (live only; its bytes are a slice of its segment's).
pub fn part_name(prefix: &str, msn: u64, part: u32) -> String {
    format!("{prefix}_{msn:05}_p{part}.m4s")
}

/// An immutable media file with the content type its name implies.
fn media_response(file: &str, bytes: impl Into<Bytes>) -> Response {
    let kind = if file.ends_with(".ts") {
        TS_TYPE
    } else {
        MP4_TYPE
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(SEGMENT_CACHE),
            ),
        ],
        bytes.into(),
    )
        .into_response()
}

/// Serves `dir/file` as an immutable media file, or 404.
pub async fn serve_segment(dir: &Path, file: &str) -> Response {
    if !is_segment_name(file) {
        return ApiError::NotFound("file").into_response();
    }
    match tokio::fs::read(dir.join(file)).await {
        Ok(bytes) => media_response(file, bytes),
        Err(_) => ApiError::NotFound("segment").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Directives, directives, init_name, is_segment_name, part_name, segment_name};

    #[test]
    fn delivery_directives_parse_and_refuse_nonsense() {
        assert_eq!(directives(None).unwrap(), Directives::default());
        assert_eq!(
            directives(Some("_HLS_msn=12&_HLS_part=3&x=1")).unwrap(),
            Directives {
                msn: Some(12),
                part: Some(3)
            }
        );
        assert_eq!(directives(Some("_HLS_msn=4")).unwrap().part, None);
        for bad in [
            "_HLS_msn=-1",
            "_HLS_msn=abc",
            "_HLS_part=2",
            "_HLS_msn=1&_HLS_part=x",
        ] {
            assert!(directives(Some(bad)).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn the_names_we_write_are_plain_segment_names() {
        assert_eq!(init_name("12"), "12_init.mp4");
        assert_eq!(segment_name("12", 3), "12_00003.m4s");
        assert_eq!(part_name("12", 3, 1), "12_00003_p1.m4s");
        for name in [
            init_name("7"),
            segment_name("7", 0),
            part_name("7", 99_999, 9),
        ] {
            assert!(is_segment_name(&name), "{name}");
        }
    }

    #[test]
    fn only_plain_segment_names_pass() {
        assert!(is_segment_name("12_00001.ts"));
        assert!(is_segment_name("12_00001.m4s"));
        assert!(is_segment_name("12_00001_p3.m4s"));
        assert!(is_segment_name("12_init.mp4"));
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
            "../12_init.mp4",
            "index.m3u8",
            ".m4s",
        ] {
            assert!(!is_segment_name(bad), "{bad} must be refused");
        }
    }
}
