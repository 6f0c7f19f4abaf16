//! What every route shares: the global rate limit, health, metrics, the
//! OpenAPI document, CORS and the web player's pages.

use aethex_server::testing::{Api, TestApp, TestDb};
use axum::http::{StatusCode, header};

#[tokio::test]
async fn global_rate_limit_answers_429_with_retry_after() {
    let app = TestApp::with_config(TestDb::Sqlite, |c| c.rate_limit = 1).await;
    let mut responses = vec![];
    for _ in 0..6 {
        responses.push(app.get("/api/v1/channels").send().await);
    }
    let limited = responses
        .iter()
        .find(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .expect("a 429 after the burst");
    assert_eq!(limited.code(), "rate_limited");
    assert!(limited.headers().contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn healthz_metrics_and_openapi() {
    let app = TestApp::new(TestDb::Sqlite).await;
    assert_eq!(app.get("/healthz").send().await.text(), "ok");
    app.get("/api/v1/channels/nobody").send().await;
    let m = app.get("/metrics").send().await.expect(StatusCode::OK);
    let m = m.text();
    assert!(m.contains("aethex_http_requests_total"), "{m}");
    assert!(
        m.contains("route=\"/api/v1/channels/{name}\""),
        "route template, not raw path"
    );
    assert!(m.contains("aethex_http_request_duration_seconds_bucket"));
    let doc = app.get("/api/v1/openapi.json").send().await;
    let doc = doc.expect(StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/auth/register",
        "/api/v1/channels/{name}",
        "/api/v1/channels/{name}/stream-key",
        "/api/v1/ingest",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} documented");
    }
}

#[tokio::test]
async fn cors_is_same_origin_by_default_and_configurable() {
    let app = TestApp::new(TestDb::Sqlite).await;
    let r = app
        .get("/api/v1/channels")
        .header(header::ORIGIN, "https://evil.example");
    let r = r.send().await;
    assert!(
        !r.headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
    let app = TestApp::with_config(TestDb::Sqlite, |c| {
        c.cors_origins = vec!["https://studio.example".into()]
    })
    .await;
    let r = app
        .get("/api/v1/channels")
        .header(header::ORIGIN, "https://studio.example");
    let r = r.send().await;
    assert_eq!(
        r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://studio.example"
    );
}

#[tokio::test]
async fn player_page_is_served_or_explained() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<html>player</html>").unwrap();
    let web = dir.path().to_path_buf();
    let app = TestApp::with_config(TestDb::Sqlite, |c| c.web_dir = Some(web)).await;
    for p in ["/", "/alice"] {
        let r = app.get(p).send().await;
        assert_eq!(
            (r.status(), &*r.text()),
            (StatusCode::OK, "<html>player</html>")
        );
    }
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("nothing");
    let app = TestApp::with_config(TestDb::Sqlite, |c| c.web_dir = Some(missing)).await;
    let r = app.get("/").send().await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.text().contains("has not been built"));
}

/// Behind a trusted proxy each forwarded client has its own rate limit; a
/// client talking to the server directly cannot pick its address by header.
#[tokio::test]
async fn rate_limit_sees_the_forwarded_client_only_behind_a_trusted_proxy() {
    use std::net::SocketAddr;
    let app = TestApp::with_config(TestDb::Sqlite, |c| {
        c.rate_limit = 1; // burst of 4
        c.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    let proxy: SocketAddr = "10.1.2.3:40000".parse().unwrap();
    let get = |peer: SocketAddr, xff: &str| {
        app.get("/api/v1/channels")
            .peer(peer)
            .header(header::HeaderName::from_static("x-forwarded-for"), xff)
            .send()
    };
    for _ in 0..4 {
        get(proxy, "203.0.113.1").await.expect(StatusCode::OK);
    }
    get(proxy, "203.0.113.1")
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS);
    // Same proxy, another client: its own budget.
    get(proxy, "203.0.113.2").await.expect(StatusCode::OK);
    // A forged leftmost entry does not move the client out of its bucket.
    get(proxy, "198.51.100.9, 203.0.113.1")
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS);

    // Spoofing: an untrusted peer's header is ignored, so changing it per
    // request does not escape the limit.
    let direct: SocketAddr = "192.0.2.50:50000".parse().unwrap();
    for i in 0..4 {
        get(direct, &format!("203.0.113.{}", 100 + i))
            .await
            .expect(StatusCode::OK);
    }
    get(direct, "203.0.113.200")
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS);
}
