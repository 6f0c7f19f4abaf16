//! Prometheus metrics: the recorder, `GET /metrics`, and the request middleware
//! (requests by route and status, latency histogram).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

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
                        &[0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0],
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
}

/// `GET /metrics` in Prometheus text format.
pub async fn render() -> Response {
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
