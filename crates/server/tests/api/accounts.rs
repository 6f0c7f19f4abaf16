//! Accounts: register, login (cookie and bearer), me, logout, refusals and
//! login throttling.

use aethex_server::both_dbs;
use aethex_server::testing::{Api, TestApp, TestDb};
use axum::http::{StatusCode, header};
use serde_json::json;

both_dbs!(register_login_me_logout, |db| async move {
    let app = TestApp::new(db).await;
    let r = app
        .post("/api/v1/auth/register")
        .json(&json!({"username": "Alice", "password": "password123"}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(r["user"]["username"], "alice", "usernames are lower-cased");
    assert_eq!(r["user"]["display_name"], "alice");
    let cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    // Login is case-insensitive and returns a fresh token.
    let r = app
        .post("/api/v1/auth/login")
        .json(&json!({"username": "ALICE", "password": "password123"}))
        .send()
        .await
        .expect(StatusCode::OK);
    let token = r["token"].as_str().unwrap().to_string();
    assert_eq!(token.len(), 64);

    let me = app.get("/api/v1/me").bearer(&token).send().await;
    let me = me.expect(StatusCode::OK);
    assert_eq!(me["user"]["username"], "alice");

    // The cookie works as well as the bearer header.
    let cookie_pair = cookie.split(';').next().unwrap();
    let me = app.get("/api/v1/me").header(header::COOKIE, cookie_pair);
    me.send().await.expect(StatusCode::OK);

    // The channel of the same name exists.
    let ch = app.get("/api/v1/channels/alice").send().await;
    let ch = ch.expect(StatusCode::OK);
    assert_eq!(
        ch.json::<serde_json::Value>(),
        json!({"name":"alice","display_name":"alice","bio":"","live":false,"title":"","viewers":0,"started_at":null})
    );

    let out = app.post("/api/v1/auth/logout").bearer(&token).send().await;
    out.expect(StatusCode::NO_CONTENT);
    // The token is invalid after logout.
    let me = app.get("/api/v1/me").bearer(&token).send().await;
    me.expect_error(StatusCode::UNAUTHORIZED, "unauthorized");
});

both_dbs!(registration_refusals, |db| async move {
    let app = TestApp::new(db).await;
    app.user("alice").await;
    let pw = "password123";
    let taken = (StatusCode::CONFLICT, "username_taken");
    let reserved = (StatusCode::CONFLICT, "username_reserved");
    let invalid = (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let bad = (StatusCode::BAD_REQUEST, "bad_request");
    let long = "a".repeat(26);
    let mut cases = vec![];
    for (username, password, want) in [
        ("alice", pw, taken),
        ("ALICE", pw, taken),
        ("admin", pw, reserved),
        ("hls", pw, reserved),
        ("ab", pw, invalid),
        (long.as_str(), pw, invalid),
        ("bob smith", pw, invalid),
        ("bøb", pw, invalid),
        ("bob", "short", invalid),
    ] {
        cases.push((json!({"username": username, "password": password}), want));
    }
    for body in [
        json!({"username": "bob"}),
        json!({"username": 5, "password": pw}),
        json!({"username": "bob", "password": pw, "admin": true}),
        json!([1, 2]),
    ] {
        cases.push((body, bad));
    }
    for (body, want) in cases {
        let r = app.post("/api/v1/auth/register").json(&body).send().await;
        assert_eq!((r.status(), r.code()), want, "{body} -> {r}");
        assert!(
            !r["error"]["message"].as_str().unwrap_or("").is_empty(),
            "{body}"
        );
    }
    // Malformed JSON, wrong content type, oversized body.
    let register = || app.post("/api/v1/auth/register");
    let r = register()
        .body("application/json", "{\"username\":")
        .send()
        .await;
    r.expect_error(StatusCode::BAD_REQUEST, "bad_request");
    let r = register().body("text/plain", "{}").send().await;
    r.expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = json!({"username": "bob", "password": "x".repeat(70_000)});
    let r = register().json(&huge).send().await;
    r.expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
});

both_dbs!(
    wrong_password_is_401_and_login_is_throttled,
    |db| async move {
        let app = TestApp::new(db).await;
        app.user("alice").await;
        let login = |password: &str| {
            app.post("/api/v1/auth/login")
                .json(&json!({"username": "alice", "password": password}))
        };
        for _ in 0..5 {
            let r = login("wrong-password").send().await;
            r.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        }
        // Even the right password is refused while the username is throttled.
        let r = login("password123").send().await;
        let r = r.expect_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let after: u64 = r.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(after > 0 && after <= 300, "Retry-After {after}");
        // Unknown users get the same answer as wrong passwords.
        let r = app
            .post("/api/v1/auth/login")
            .json(&json!({"username": "nobody", "password": "password123"}))
            .send()
            .await;
        r.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
);

#[tokio::test]
async fn login_is_throttled_per_ip_across_usernames() {
    let app = TestApp::new(TestDb::Sqlite).await;
    let addr: std::net::SocketAddr = "10.1.2.3:5555".parse().unwrap();
    let mut last = StatusCode::OK;
    for i in 0..21 {
        let body = json!({"username": format!("user{i}"), "password": "password123"});
        let login = app.post("/api/v1/auth/login").json(&body).peer(addr);
        last = login.send().await.status();
    }
    assert_eq!(
        last,
        StatusCode::TOO_MANY_REQUESTS,
        "21st failed login from one IP"
    );
}
