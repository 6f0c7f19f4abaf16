//! The edge of a cluster: a node asked for live HLS of a channel it does not
//! produce forwards the request to the node that owns the stream (the
//! `stream_leases` row says which, and where it listens) and answers with
//! what the owner answered. Identical requests in flight at the same time —
//! thousands of players asking for the same part or blocking playlist — share
//! one upstream request. The owner's answer is marked `x-aethex-origin`.
//!
//! A forwarded request carries `x-aethex-forwarded`, and is never forwarded
//! again (no loops when two nodes disagree for a moment).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use super::ownership::{self, Owner};
use crate::error::ApiError;
use crate::state::AppState;

/// Marks a request one node forwarded to another.
pub const FORWARDED: &str = "x-aethex-forwarded";
/// Names the node that produced a forwarded answer.
pub const ORIGIN: &str = "x-aethex-origin";
/// How long a channel's owner is remembered between database reads.
const OWNER_TTL: Duration = Duration::from_secs(1);
/// A blocking playlist request waits up to ~3 targets upstream: allow that.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);
/// Response headers passed through from the owner.
const PASSED: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    header::CONTENT_LENGTH,
    header::ACCESS_CONTROL_ALLOW_ORIGIN,
];

/// What the owner answered (shared by every merged request).
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

type Pending = Shared<BoxFuture<'static, Result<Arc<Answer>, Arc<String>>>>;

/// Forwarding state: the HTTP client, cached owners, requests in flight.
#[derive(Debug)]
pub struct Edge {
    node_id: String,
    client: reqwest::Client,
    owners: Mutex<HashMap<String, (Option<Owner>, Instant)>>,
    inflight: Mutex<HashMap<String, Pending>>,
}

impl Edge {
    /// An edge for node `node_id`.
    pub fn new(node_id: String) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(UPSTREAM_TIMEOUT)
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_default();
        Edge {
            node_id,
            client,
            owners: Mutex::default(),
            inflight: Mutex::default(),
        }
    }

    /// The owner of `channel`'s stream when it is another node.
    async fn remote_owner(
        &self,
        state: &AppState,
        channel: &str,
    ) -> Result<Option<Owner>, ApiError> {
        let cached = lock(&self.owners)
            .get(channel)
            .filter(|(_, at)| at.elapsed() < OWNER_TTL)
            .map(|(o, _)| o.clone());
        let owner = match cached {
            Some(o) => o,
            None => {
                let Some(row) = state.channels.get(&state.db, channel).await? else {
                    return Ok(None);
                };
                let owner = ownership::owner(&state.db, row.id).await?;
                let mut owners = lock(&self.owners);
                if owners.len() > 10_000 {
                    owners.clear();
                }
                owners.insert(channel.to_string(), (owner.clone(), Instant::now()));
                owner
            }
        };
        Ok(owner.filter(|o| o.node_id != self.node_id))
    }

    /// Fetches `path_and_query` from `owner`, sharing the request with any
    /// identical one in flight.
    async fn fetch(&self, owner: &Owner, path_and_query: &str) -> Result<Arc<Answer>, Arc<String>> {
        let url = format!("http://{}{path_and_query}", owner.advertise_http);
        let pending = {
            let mut inflight = lock(&self.inflight);
            match inflight.get(&url) {
                Some(p) => p.clone(),
                None => {
                    let p = upstream(self.client.clone(), url.clone()).boxed().shared();
                    inflight.insert(url.clone(), p.clone());
                    p
                }
            }
        };
        let answer = pending.clone().await;
        // The first one back forgets it; later requests start afresh.
        let mut inflight = lock(&self.inflight);
        if inflight.get(&url).is_some_and(|p| p.ptr_eq(&pending)) {
            inflight.remove(&url);
        }
        answer
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn upstream(client: reqwest::Client, url: String) -> Result<Arc<Answer>, Arc<String>> {
    let res = client
        .get(&url)
        .header(FORWARDED, "1")
        .send()
        .await
        .map_err(|e| Arc::new(e.to_string()))?;
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = HeaderMap::new();
    for name in PASSED {
        if let Some(v) = res.headers().get(name.as_str())
            && let Ok(v) = HeaderValue::from_bytes(v.as_bytes())
        {
            headers.insert(name, v);
        }
    }
    let body = res.bytes().await.map_err(|e| Arc::new(e.to_string()))?;
    Ok(Arc::new(Answer {
        status,
        headers,
        body,
    }))
}

/// Middleware on the live HLS routes in cluster mode: requests for a channel
/// this node does not produce go to its owner.
pub async fn forward(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (Some(cluster), Some(channel)) = (state.cluster.clone(), hls_channel(req.uri().path()))
    else {
        return next.run(req).await;
    };
    if req.headers().contains_key(FORWARDED) || state.live.get(channel).is_some() {
        return next.run(req).await;
    }
    let owner = match cluster.edge.remote_owner(&state, channel).await {
        Ok(Some(owner)) => owner,
        Ok(None) => return next.run(req).await,
        Err(e) => return e.into_response(),
    };
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    match cluster.edge.fetch(&owner, &target).await {
        Ok(answer) => {
            let mut res = (answer.status, answer.body.clone()).into_response();
            res.headers_mut().extend(answer.headers.clone());
            if let Ok(v) = HeaderValue::from_str(&owner.node_id) {
                res.headers_mut().insert(ORIGIN, v);
            }
            res
        }
        Err(e) => {
            metrics::counter!("aethex_cluster_forward_errors_total").increment(1);
            tracing::warn!(owner = %owner.node_id, error = %e, "forwarding live HLS to the stream's owner failed");
            ApiError::Unavailable("the node producing this stream cannot be reached, retry".into())
                .into_response()
        }
    }
}

/// `/hls/{channel}/{file}` → `channel`.
fn hls_channel(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/hls/")?;
    let (channel, file) = rest.split_once('/')?;
    (!channel.is_empty() && !file.is_empty() && !file.contains('/')).then_some(channel)
}

#[cfg(test)]
mod tests {
    use super::hls_channel;

    #[test]
    fn only_live_hls_paths_name_a_channel() {
        assert_eq!(hls_channel("/hls/alice/index.m3u8"), Some("alice"));
        assert_eq!(hls_channel("/hls/alice/s12.p3.mp4"), Some("alice"));
        for other in [
            "/hls/alice",
            "/hls//x",
            "/hls/a/b/c",
            "/vod/1/index.m3u8",
            "/api/v1/channels",
        ] {
            assert_eq!(hls_channel(other), None, "{other}");
        }
    }
}
