//! HTTP API journeys through `oneshot`, each run on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use aethex_server::both_dbs;
use aethex_server::testing::{TestApp, TestDb};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

async fn app(db: TestDb) -> TestApp {
    TestApp::new(db).await
}

both_dbs!(register_login_me_logout, |db| async move {
    let app = app(db).await;
    let r = app
        .request(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"username": "Alice", "password": "password123"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.json["user"]["username"], "alice",
        "usernames are lower-cased"
    );
    assert_eq!(r.json["user"]["display_name"], "alice");
    let cookie = r
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    // Login is case-insensitive and returns a fresh token.
    let r = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "ALICE", "password": "password123"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.json["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64);

    let me = app
        .request(Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json["user"]["username"], "alice");

    // The cookie works as well as the bearer header.
    let cookie_pair = cookie.split(';').next().unwrap().to_string();
    let req = Request::builder()
        .uri("/api/v1/me")
        .header(header::COOKIE, cookie_pair)
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::OK);

    // The channel of the same name exists.
    let ch = app
        .request(Method::GET, "/api/v1/channels/alice", None, None)
        .await;
    assert_eq!(ch.status, StatusCode::OK);
    assert_eq!(
        ch.json,
        json!({"name":"alice","display_name":"alice","bio":"","live":false,"title":"","viewers":0,"started_at":null})
    );

    let out = app
        .request(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let me = app
        .request(Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "token invalid after logout"
    );
    assert_eq!(me.code(), "unauthorized");
});

both_dbs!(registration_refusals, |db| async move {
    let app = app(db).await;
    app.register("alice").await;
    let cases = [
        (
            json!({"username": "alice", "password": "password123"}),
            StatusCode::CONFLICT,
            "username_taken",
        ),
        (
            json!({"username": "ALICE", "password": "password123"}),
            StatusCode::CONFLICT,
            "username_taken",
        ),
        (
            json!({"username": "admin", "password": "password123"}),
            StatusCode::CONFLICT,
            "username_reserved",
        ),
        (
            json!({"username": "hls", "password": "password123"}),
            StatusCode::CONFLICT,
            "username_reserved",
        ),
        (
            json!({"username": "ab", "password": "password123"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"username": "a".repeat(26), "password": "password123"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"username": "bob smith", "password": "password123"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"username": "bøb", "password": "password123"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"username": "bob", "password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"username": "bob"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            json!({"username": 5, "password": "password123"}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            json!({"username": "bob", "password": "password123", "admin": true}),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (json!([1, 2]), StatusCode::BAD_REQUEST, "bad_request"),
    ];
    for (body, status, code) in cases {
        let r = app
            .request(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(body.clone()),
            )
            .await;
        assert_eq!((r.status, r.code()), (status, code), "{body} -> {}", r.text);
        assert!(!r.json["error"]["message"].as_str().unwrap_or("").is_empty());
    }
    // Malformed JSON, wrong content type, oversized body.
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/auth/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"username\":"))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/auth/register")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        app.send(req).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let huge = json!({"username": "bob", "password": "x".repeat(70_000)});
    let r = app
        .request(Method::POST, "/api/v1/auth/register", None, Some(huge))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
});

both_dbs!(
    wrong_password_is_401_and_login_is_throttled,
    |db| async move {
        let app = app(db).await;
        app.register("alice").await;
        let bad = json!({"username": "alice", "password": "wrong-password"});
        for _ in 0..5 {
            let r = app
                .request(Method::POST, "/api/v1/auth/login", None, Some(bad.clone()))
                .await;
            assert_eq!(
                (r.status, r.code()),
                (StatusCode::UNAUTHORIZED, "invalid_credentials")
            );
        }
        // Even the right password is refused while the username is throttled.
        let good = json!({"username": "alice", "password": "password123"});
        let r = app
            .request(Method::POST, "/api/v1/auth/login", None, Some(good))
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
        );
        let after: u64 = r.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(after > 0 && after <= 300, "Retry-After {after}");
        // Unknown users get the same answer as wrong passwords.
        let r = app
            .request(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "nobody", "password": "password123"})),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "invalid_credentials")
        );
    }
);

#[tokio::test]
async fn login_is_throttled_per_ip_across_usernames() {
    let app = app(TestDb::Sqlite).await;
    let addr: std::net::SocketAddr = "10.1.2.3:5555".parse().unwrap();
    let mut last = StatusCode::OK;
    for i in 0..21 {
        let body = json!({"username": format!("user{i}"), "password": "password123"}).to_string();
        let mut req = Request::builder()
            .method("POST")
            .uri("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(addr));
        last = app.send(req).await.status;
    }
    assert_eq!(
        last,
        StatusCode::TOO_MANY_REQUESTS,
        "21st failed login from one IP"
    );
}

both_dbs!(
    channel_patch_by_owner_only_with_validation,
    |db| async move {
        let app = app(db).await;
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let patch = json!({"display_name": "Alice 🎮", "bio": "Speedruns\nevery night", "title": "Any% attempts"});
        let r = app
            .request(
                Method::PATCH,
                "/api/v1/channels/alice",
                Some(&alice),
                Some(patch),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["display_name"], "Alice 🎮");
        assert_eq!(r.json["title"], "Any% attempts");
        let me = app
            .request(Method::GET, "/api/v1/me", Some(&alice), None)
            .await;
        assert_eq!(
            me.json["user"]["display_name"], "Alice 🎮",
            "user display name follows the channel"
        );
        let ch = app
            .request(Method::GET, "/api/v1/channels/ALICE", None, None)
            .await;
        assert_eq!(ch.json["bio"], "Speedruns\nevery night");

        let r = app
            .request(
                Method::PATCH,
                "/api/v1/channels/alice",
                Some(&bob),
                Some(json!({"title": "hacked"})),
            )
            .await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
        let r = app
            .request(
                Method::PATCH,
                "/api/v1/channels/alice",
                None,
                Some(json!({"title": "hacked"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = app
            .request(
                Method::PATCH,
                "/api/v1/channels/alice",
                Some("0".repeat(64).as_str()),
                Some(json!({"title": "x"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "unknown token");
        for bad in [
            json!({"display_name": ""}),
            json!({"display_name": "   "}),
            json!({"display_name": "x".repeat(51)}),
            json!({"bio": "x".repeat(501)}),
            json!({"title": "x".repeat(141)}),
            json!({"title": "a\u{0007}b"}),
            json!({"title": "evil\u{202E}txt"}),
            json!({"display_name": "two\nlines"}),
        ] {
            let r = app
                .request(
                    Method::PATCH,
                    "/api/v1/channels/alice",
                    Some(&alice),
                    Some(bad.clone()),
                )
                .await;
            assert_eq!(
                (r.status, r.code()),
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
                "{bad}"
            );
        }
        let r = app
            .request(
                Method::PATCH,
                "/api/v1/channels/alice",
                Some(&alice),
                Some(json!({"owner": "bob"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "unknown fields refused");
        let r = app
            .request(
                Method::PATCH,
                "/api/v1/channels/alice",
                Some(&alice),
                Some(json!({"title": 42})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "wrong type refused");
        // Exactly at the limits is fine; emoji count as one character.
        let r = app
            .request(
                Method::PATCH,
                "/api/v1/channels/alice",
                Some(&alice),
                Some(json!({"display_name": "🎮".repeat(50), "title": "t".repeat(140)})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
);

both_dbs!(
    unknown_channels_and_odd_paths_are_404_not_500,
    |db| async move {
        let app = app(db).await;
        for path in [
            "/api/v1/channels/nobody",
            "/api/v1/channels/..",
            "/api/v1/channels/%2e%2e%2fetc",
            "/api/v1/channels/%E2%80%AE",
            "/api/v1/channels/a%00b",
            "/api/v1/nope",
            "/api/v1/channels/x/y/z",
        ] {
            let r = app.request(Method::GET, path, None, None).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
            assert_eq!(r.code(), "not_found", "{path}");
        }
        let r = app
            .request(
                Method::GET,
                &format!("/api/v1/channels/{}", "a".repeat(5000)),
                None,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app
            .request(Method::DELETE, "/api/v1/channels", None, None)
            .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
        );
    }
);

both_dbs!(stream_keys_rotate_and_resolve, |db| async move {
    use aethex_server::channels::store::resolve_stream_key;
    let app = app(db).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let k1 = app.rotate_key("alice", &alice).await;
    assert!(k1.len() >= 64);
    let ch = resolve_stream_key(&app.state.db, &k1)
        .await
        .unwrap()
        .expect("key resolves");
    assert_eq!(ch.name, "alice");
    let k2 = app.rotate_key("alice", &alice).await;
    assert_ne!(k1, k2);
    assert!(
        resolve_stream_key(&app.state.db, &k1)
            .await
            .unwrap()
            .is_none(),
        "old key dead at once"
    );
    assert_eq!(
        resolve_stream_key(&app.state.db, &k2)
            .await
            .unwrap()
            .unwrap()
            .name,
        "alice"
    );
    assert!(
        resolve_stream_key(&app.state.db, "")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        resolve_stream_key(&app.state.db, &"x".repeat(10_000))
            .await
            .unwrap()
            .is_none()
    );
    // Only a hash is stored.
    let (stored,): (String,) =
        sqlx::query_as("SELECT stream_key_hash FROM channels WHERE name = 'alice'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_ne!(stored, k2);
    assert_eq!(stored, aethex_server::auth::secret::sha256_hex(&k2));
    let r = app
        .request(
            Method::POST,
            "/api/v1/channels/alice/stream-key",
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .request(
            Method::POST,
            "/api/v1/channels/alice/stream-key",
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
});

both_dbs!(
    moderators_are_appointed_by_the_owner_only,
    |db| async move {
        let app = app(db).await;
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let carol = app.register("carol").await;
        let r = app
            .request(
                Method::PUT,
                "/api/v1/channels/alice/moderators/bob",
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        let r = app
            .request(
                Method::PUT,
                "/api/v1/channels/alice/moderators/bob",
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "idempotent");
        let list = app
            .request(
                Method::GET,
                "/api/v1/channels/alice/moderators",
                Some(&bob),
                None,
            )
            .await;
        assert_eq!(list.json["moderators"], json!(["bob"]));
        // A moderator cannot appoint others; a viewer cannot read the list.
        let r = app
            .request(
                Method::PUT,
                "/api/v1/channels/alice/moderators/carol",
                Some(&bob),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app
            .request(
                Method::GET,
                "/api/v1/channels/alice/moderators",
                Some(&carol),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app
            .request(
                Method::PUT,
                "/api/v1/channels/alice/moderators/nobody",
                Some(&alice),
                None,
            )
            .await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
        let r = app
            .request(
                Method::PUT,
                "/api/v1/channels/alice/moderators/alice",
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = app
            .request(
                Method::DELETE,
                "/api/v1/channels/alice/moderators/bob",
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let r = app
            .request(
                Method::GET,
                "/api/v1/channels/alice/moderators",
                Some(&bob),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "no longer a moderator");
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM mod_log WHERE action IN ('add_moderator','remove_moderator')",
        )
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(n, 3, "appointments are in the moderation log");
    }
);

both_dbs!(
    live_state_goes_offline_live_offline_and_lists_live_first,
    |db| async move {
        use aethex_server::channels::{live, store};
        let app = app(db).await;
        let alice = app.register("alice").await;
        app.register("bob").await;
        app.register("zed").await;
        let zed_token = app
            .request(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username":"zed","password":"password123"})),
            )
            .await
            .json["token"]
            .as_str()
            .unwrap()
            .to_string();
        app.request(
            Method::PATCH,
            "/api/v1/channels/zed",
            Some(&zed_token),
            Some(json!({"title": "Late night"})),
        )
        .await;
        // Prime the cache, then go live: the cache must not hide the change.
        let before = app
            .request(Method::GET, "/api/v1/channels/zed", None, None)
            .await;
        assert_eq!(before.json["live"], false);
        let zed = store::by_name(&app.state.db, "zed").await.unwrap().unwrap();
        let id = live::start_broadcast(&app.state, &zed).await.unwrap();
        let ch = app
            .request(Method::GET, "/api/v1/channels/zed", None, None)
            .await;
        assert_eq!(ch.json["live"], true);
        assert_eq!(ch.json["title"], "Late night");
        assert!(ch.json["started_at"].as_str().unwrap().ends_with('Z'));
        let list = app
            .request(Method::GET, "/api/v1/channels", None, None)
            .await;
        let names: Vec<&str> = list.json["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["zed", "alice", "bob"], "live first, then by name");
        live::end_broadcast(&app.state, "zed", id).await.unwrap();
        live::end_broadcast(&app.state, "zed", id).await.unwrap();
        let ch = app
            .request(Method::GET, "/api/v1/channels/zed", None, None)
            .await;
        assert_eq!(
            (ch.json["live"].clone(), ch.json["started_at"].clone()),
            (json!(false), json!(null))
        );
        let (ended,): (Option<i64>,) =
            sqlx::query_as("SELECT ended_at FROM broadcasts WHERE id = $1")
                .bind(id)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        assert!(ended.is_some(), "broadcast row closed");
        let _ = alice;
    }
);

#[tokio::test]
async fn global_rate_limit_answers_429_with_retry_after() {
    let app = TestApp::with_config(TestDb::Sqlite, |c| c.rate_limit = 1).await;
    let mut statuses = vec![];
    for _ in 0..6 {
        statuses.push(
            app.request(Method::GET, "/api/v1/channels", None, None)
                .await,
        );
    }
    let limited = statuses
        .iter()
        .find(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .expect("a 429 after the burst");
    assert_eq!(limited.code(), "rate_limited");
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn healthz_metrics_and_openapi() {
    let app = app(TestDb::Sqlite).await;
    assert_eq!(
        app.request(Method::GET, "/healthz", None, None).await.text,
        "ok"
    );
    app.request(Method::GET, "/api/v1/channels/nobody", None, None)
        .await;
    let m = app.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.text.contains("aethex_http_requests_total"), "{}", m.text);
    assert!(
        m.text.contains("route=\"/api/v1/channels/{name}\""),
        "route template, not raw path"
    );
    assert!(
        m.text
            .contains("aethex_http_request_duration_seconds_bucket")
    );
    let doc = app
        .request(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.json["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/auth/register",
        "/api/v1/channels/{name}",
        "/api/v1/channels/{name}/stream-key",
    ] {
        assert!(doc.json["paths"].get(p).is_some(), "{p} documented");
    }
}

#[tokio::test]
async fn cors_is_same_origin_by_default_and_configurable() {
    let app = app(TestDb::Sqlite).await;
    let req = Request::builder()
        .uri("/api/v1/channels")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert!(!r.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let app = TestApp::with_config(TestDb::Sqlite, |c| {
        c.cors_origins = vec!["https://studio.example".into()]
    })
    .await;
    let req = Request::builder()
        .uri("/api/v1/channels")
        .header(header::ORIGIN, "https://studio.example")
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(
        r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
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
        let r = app.request(Method::GET, p, None, None).await;
        assert_eq!(
            (r.status, r.text.as_str()),
            (StatusCode::OK, "<html>player</html>")
        );
    }
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("nothing");
    let app = TestApp::with_config(TestDb::Sqlite, |c| c.web_dir = Some(missing)).await;
    let r = app.request(Method::GET, "/", None, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.text.contains("has not been built"));
}
