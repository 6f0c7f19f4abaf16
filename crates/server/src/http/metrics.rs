//! Prometheus metrics: the recorder, `GET /metrics`, and the request middleware
//! (requests by route and status, latency histogram).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once and returns its handle.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".into()),
                    &[
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Suffix("delay_seconds".into()),
                        &[0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0],
                    )
                })
                .unwrap_or_else(|_| PrometheusBuilder::new())
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed (e.g. by a test harness).
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    // Error counters exist from the start at 0, so `rate()`/`increase()` see
    // the first error and the alert rules never refer to a missing series.
    for name in [
        "aethex_vod_write_errors_total",
        "aethex_cluster_forward_errors_total",
        "aethex_cluster_redis_errors_total",
    ] {
        metrics::counter!(name).absolute(0);
    }
    metrics::describe_counter!(
        "aethex_http_requests_total",
        "HTTP requests by route, method and status"
    );
    metrics::describe_histogram!(
        "aethex_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route"
    );
    metrics::describe_gauge!("aethex_live_streams", "Broadcasts live right now");
    metrics::describe_counter!(
        "aethex_s3_uploads_total",
        "Media files to object storage by kind and result (ok, failed, dropped)"
    );
    metrics::describe_histogram!(
        "aethex_s3_upload_duration_seconds",
        metrics::Unit::Seconds,
        "From a finished file's hand-off to its being stored in object storage"
    );
    metrics::describe_gauge!("aethex_chat_connections", "Open chat WebSocket connections");
    metrics::describe_histogram!(
        "aethex_chat_delivery_duration_seconds",
        metrics::Unit::Seconds,
        "From a chat frame's arrival to the stored message being handed to every subscriber"
    );
    metrics::describe_histogram!(
        "aethex_hls_edge_delay_seconds",
        metrics::Unit::Seconds,
        "From capture of a segment's last frame (estimated from arrivals) to its listing at the origin"
    );
    metrics::describe_counter!(
        "aethex_ingest_dropped_total",
        "Media frames dropped at ingest (undecodable, or out of order beyond repair)"
    );
    metrics::describe_gauge!(
        "aethex_viewers",
        "Distinct viewers (player or chat connections) of a channel on this node"
    );
    metrics::describe_gauge!(
        "aethex_data_dir_size_bytes",
        metrics::Unit::Bytes,
        "Size of the file system holding the data directory"
    );
    metrics::describe_gauge!(
        "aethex_data_dir_free_bytes",
        metrics::Unit::Bytes,
        "Space available to the server on the file system holding the data directory"
    );
}

/// Channels given a viewers gauge by an earlier scrape (set to 0 when they empty).
static VIEWER_CHANNELS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Sets `aethex_viewers{channel}` to this node's distinct viewers (sum over
/// nodes in Prometheus for the cluster total).
fn viewer_gauges(state: &AppState) {
    let now = state.chat.presence().snapshot();
    let mut seen = VIEWER_CHANNELS.lock().unwrap_or_else(|p| p.into_inner());
    for gone in seen.iter().filter(|c| !now.iter().any(|(n, _)| n == *c)) {
        metrics::gauge!("aethex_viewers", "channel" => gone.clone()).set(0.0);
    }
    seen.clear();
    for (channel, count) in now {
        metrics::gauge!("aethex_viewers", "channel" => channel.clone()).set(count as f64);
        seen.push(channel);
    }
}

/// Sets the data-directory disk gauges from the file system (at each scrape).
fn disk_gauges(data_dir: &std::path::Path) {
    match rustix::fs::statvfs(data_dir) {
        Ok(st) => {
            let block = st.f_frsize;
            metrics::gauge!("aethex_data_dir_size_bytes").set((st.f_blocks * block) as f64);
            metrics::gauge!("aethex_data_dir_free_bytes").set((st.f_bavail * block) as f64);
        }
        Err(e) => tracing::debug!(error = %e, "statvfs of the data directory"),
    }
}

/// `GET /metrics` in Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    disk_gauges(&state.data_dir);
    viewer_gauges(&state);
    let body = handle().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Middleware recording every request under its route template (never the raw
/// path, so names and ids do not explode the label set).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("aethex_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("aethex_http_request_duration_seconds", "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}
