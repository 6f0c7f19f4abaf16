//! Ingest discovery: `GET /api/v1/ingest` tells publishers (the studio, the
//! `aethex` CLI, a person setting up OBS) where to send. The operator may
//! name the public addresses (`--public-rtmp-url`, `--public-srt-url`) for
//! NAT and proxies; otherwise the host the request came to is combined with
//! the bound ingest ports.

use aethex_proto::{IngestInfo, RtmpIngest, SrtIngest};
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::routing::get;
use axum::{Json, Router};
use url::Url;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Where the stream key goes in an advertised publish URL.
pub const KEY_PLACEHOLDER: &str = "{stream_key}";

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new().route("/ingest", get(ingest))
}

/// `GET /api/v1/ingest`: the public RTMP and SRT ingest addresses (no sign-in needed).
#[utoipa::path(get, path = "/api/v1/ingest", tag = "ingest",
    responses((status = 200, body = IngestInfo), (status = 400, body = aethex_proto::ErrorBody)))]
pub async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Json<IngestInfo>> {
    let config = &state.config;
    // Only looked at when an address is not configured.
    let host = || request_host(&headers, &uri);
    let rtmp_url = match &config.public_rtmp_url {
        Some(url) => url.clone(),
        None => {
            let port = state.rtmp_addr.unwrap_or(config.rtmp).port();
            format!("rtmp://{}:{port}/live", host()?)
        }
    };
    let srt_url = match (&config.public_srt_url, config.srt) {
        (_, None) => None,
        (Some(url), Some(_)) => Some(url.clone()),
        (None, Some(addr)) => Some(format!("srt://{}:{}", host()?, addr.port())),
    };
    Ok(Json(IngestInfo {
        rtmp: RtmpIngest {
            enabled: true,
            publish_url: format!("{rtmp_url}/{KEY_PLACEHOLDER}"),
            url: rtmp_url,
        },
        srt: SrtIngest {
            enabled: srt_url.is_some(),
            publish_url: srt_url
                .as_ref()
                .map(|u| format!("{u}?streamid={KEY_PLACEHOLDER}")),
            url: srt_url,
            stream_id: KEY_PLACEHOLDER.to_string(),
        },
    }))
}

/// The host name (no port) the client used to reach us: `Host`, else the
/// request target's authority (HTTP/2). Anything that is not a plain host
/// name or address is refused rather than echoed into a URL.
fn request_host(headers: &HeaderMap, uri: &Uri) -> ApiResult<String> {
    let raw = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .ok_or_else(|| {
            ApiError::BadRequest("no Host header: the server cannot tell its own address".into())
        })?;
    let bad = || ApiError::BadRequest("the Host header is not a host name or address".into());
    let authority: axum::http::uri::Authority = raw.parse().map_err(|_| bad())?;
    if authority.as_str().contains('@') {
        return Err(bad());
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_');
    if host.is_empty() || !host.chars().all(plain) {
        return Err(bad());
    }
    Ok(if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    })
}

/// `--public-rtmp-url`: an `rtmp(s)://HOST[:PORT][/APP]` URL without
/// credentials or query (a bare host gets `/live`); returned without a
/// trailing slash.
pub fn parse_public_rtmp(raw: &str) -> Result<String, String> {
    let mut url = parse_public(
        raw,
        &["rtmp", "rtmps"],
        "rtmp://stream.example.org:1935/live",
    )?;
    if url.path().is_empty() || url.path() == "/" {
        url.set_path("/live");
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// `--public-srt-url`: `srt://HOST:PORT`, nothing else.
pub fn parse_public_srt(raw: &str) -> Result<String, String> {
    let example = "srt://stream.example.org:9000";
    let url = parse_public(raw, &["srt"], example)?;
    if url.port().is_none() || !matches!(url.path(), "" | "/") {
        return Err(format!("expected srt://HOST:PORT, e.g. {example}"));
    }
    Ok(format!(
        "srt://{}:{}",
        url.host_str().unwrap_or_default(),
        url.port().unwrap_or_default()
    ))
}

fn parse_public(raw: &str, schemes: &[&str], example: &str) -> Result<Url, String> {
    let expected = || format!("expected a URL like {example}");
    let url = Url::parse(raw.trim()).map_err(|_| expected())?;
    if !schemes.contains(&url.scheme()) || url.host_str().is_none_or(str::is_empty) {
        return Err(expected());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not carry a query (the stream key is added by each publisher)".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_normalised_or_refused() {
        assert_eq!(
            parse_public_rtmp("rtmp://stream.example.org").unwrap(),
            "rtmp://stream.example.org/live"
        );
        assert_eq!(
            parse_public_rtmp("rtmps://h:443/app/").unwrap(),
            "rtmps://h:443/app"
        );
        assert_eq!(parse_public_srt("srt://h:9000").unwrap(), "srt://h:9000");
        for bad in [
            "http://h/live",
            "rtmp://u:p@h/live",
            "rtmp://h/live?k=1",
            "x",
        ] {
            assert!(parse_public_rtmp(bad).is_err(), "{bad}");
        }
        for bad in [
            "srt://h",
            "srt://h:9000?streamid=k",
            "srt://h:9000/x",
            "rtmp://h:1",
        ] {
            assert!(parse_public_srt(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_host_takes_the_name_and_refuses_junk() {
        let with = |h: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, h.parse().unwrap());
            request_host(&m, &Uri::from_static("/api/v1/ingest"))
        };
        assert_eq!(with("example.org:8080").unwrap(), "example.org");
        assert_eq!(with("[::1]:8080").unwrap(), "[::1]");
        assert_eq!(with("10.0.0.5").unwrap(), "10.0.0.5");
        for bad in ["a b", "user@evil:80", "h/../x", "h\"x", ""] {
            assert!(with(bad).is_err(), "{bad}");
        }
        let none = request_host(&HeaderMap::new(), &Uri::from_static("/"));
        assert!(none.is_err());
    }
}
