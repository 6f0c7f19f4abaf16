//! Stream keys, session tokens and passwords never reach logs or `Debug` output.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::Write;
use std::sync::{Arc, Mutex};

use aethex_server::testing::{Api, TestApp, TestDb, TestServer, TestUser};
use axum::http::StatusCode;
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_appear_in_logs_or_debug_output() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::new(TestDb::Sqlite).await;
    let password = "correct-horse-battery";
    let r = app
        .post("/api/v1/auth/register")
        .json(&json!({"username": "alice", "password": password}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    let token = r["token"].as_str().unwrap().to_string();
    let alice = TestUser {
        name: "alice".into(),
        token: token.clone(),
    };
    app.post("/api/v1/auth/login")
        .json(&json!({"username": "alice", "password": "wrong-password-1"}))
        .send()
        .await
        .expect(StatusCode::UNAUTHORIZED);
    let key = app.rotate_key(&alice).await;
    app.get(&format!("/api/v1/me?token={token}"))
        .as_user(&alice)
        .send()
        .await
        .expect(StatusCode::OK);
    let found = aethex_server::channels::store::resolve_stream_key(&app.state.db, &key)
        .await
        .unwrap();
    assert!(found.is_some());

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("registered") && logs.contains("stream key rotated"),
        "logs were captured:\n{logs}"
    );
    for secret in [password, "wrong-password-1", token.as_str(), key.as_str()] {
        assert!(!logs.contains(secret), "secret leaked into logs:\n{logs}");
    }

    // Debug output of every type that carries a secret.
    let auth = aethex_proto::AuthResponse {
        user: aethex_proto::User {
            id: 1,
            username: "alice".into(),
            display_name: "alice".into(),
        },
        token: token.clone(),
    };
    let creds = aethex_proto::Credentials {
        username: "alice".into(),
        password: password.into(),
    };
    let sk = aethex_proto::StreamKeyResponse {
        stream_key: key.clone(),
    };
    let user = aethex_server::auth::store::user_by_name(&app.state.db, "alice")
        .await
        .unwrap()
        .unwrap();
    let debug = format!("{auth:?} {creds:?} {sk:?} {user:?} {:?}", app.state);
    for secret in [
        password,
        token.as_str(),
        key.as_str(),
        user.password_hash.as_str(),
    ] {
        assert!(!debug.contains(secret), "secret in Debug output: {debug}");
    }
}

#[tokio::test]
async fn real_socket_server_on_port_zero_answers() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    assert_ne!(srv.http.port(), 0);
    let res = srv.get("/api/v1/channels").send().await;
    let res = res.expect(StatusCode::OK);
    assert_eq!(res.json::<serde_json::Value>(), json!({"channels": []}));
    // Rate limiting and login throttling see the real peer address.
    srv.post("/api/v1/auth/login")
        .json(&json!({"username": "x", "password": "password123"}))
        .send()
        .await
        .expect(StatusCode::UNAUTHORIZED);
    srv.stop().await;
}
