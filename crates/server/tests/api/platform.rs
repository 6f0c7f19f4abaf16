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
