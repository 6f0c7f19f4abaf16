//! The middleware stack around the whole app, outermost first:
//! metrics → client address → trace → CORS → per-IP rate limit → compression → body limit.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, header};
use axum::middleware;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use super::client_addr::{self, TrustedProxies};
use super::extract::{ClientIp, JSON_LIMIT};
use super::metrics;
use super::ratelimit::{IpRateLimit, limit_per_ip};
use crate::config::Config;

/// Wraps `router` in the shared middleware.
pub fn apply(router: Router, config: &Config) -> Router {
    let mut router = router.layer(DefaultBodyLimit::max(JSON_LIMIT)).layer(
        CompressionLayer::new().compress_when(
            DefaultPredicate::new()
                .and(NotForContentType::const_new("video/"))
                .and(NotForContentType::const_new("audio/"))
                .and(NotForContentType::const_new("image/")),
        ),
    );
    if let Some(limit) = IpRateLimit::new(config.rate_limit) {
        router = router.layer(middleware::from_fn_with_state(limit, limit_per_ip));
    }
    if let Some(cors) = cors(&config.cors_origins) {
        router = router.layer(cors);
    }
    router
        .layer(
            // Only method and path: query strings may carry a chat token.
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let client = req
                    .extensions()
                    .get::<ClientIp>()
                    .map_or_else(String::new, |c| c.0.to_string());
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), client = %client)
            }),
        )
        .layer(middleware::from_fn_with_state(
            TrustedProxies::new(&config.trusted_proxies),
            client_addr::resolve,
        ))
        .layer(middleware::from_fn(metrics::track))
}

/// CORS for the configured extra origins; none configured = same origin only
/// (no CORS headers at all, so browsers refuse cross-origin reads).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PATCH,
                Method::PUT,
                Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .allow_credentials(true),
    )
}
