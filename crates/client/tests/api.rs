//! `ApiClient` against the real `aethex-server` (in process, port 0).

mod support;

use aethex_client::{ApiClient, ApiError, Secret};
use aethex_proto::ChannelPatch;
use support::{TestDb, TestServer, closed_port, within};

#[tokio::test]
async fn health_answers_on_a_real_server() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    let api = ApiClient::new(&srv.url()).unwrap();
    within("healthz", api.health()).await.unwrap();
}

#[tokio::test]
async fn a_stopped_server_is_reported_as_unreachable() {
    let api = ApiClient::new(&format!("http://127.0.0.1:{}", closed_port())).unwrap();
    let e = within("login", api.login("alice", &"password1".to_string().into()))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Unreachable { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("cannot reach the server at http://127.0.0.1:"),
        "{e}"
    );
    assert!(e.is_transient());
}

const PASSWORD: &str = "correct horse battery";

fn secret(s: &str) -> Secret {
    Secret::new(s)
}

async fn register(srv: &TestServer, name: &str) -> ApiClient {
    let api = ApiClient::new(&srv.url()).expect("client");
    let session = within("register", api.register(name, &secret(PASSWORD)))
        .await
        .expect("register");
    assert_eq!(session.user.username, name);
    api.with_token(session.token)
}

#[tokio::test]
async fn account_journey_register_login_me_logout() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    let anon = ApiClient::new(&srv.url()).unwrap();
    let alice = register(&srv, "alice").await;
    assert_eq!(within("me", alice.me()).await.unwrap().username, "alice");

    let e = within("dup", anon.register("alice", &secret(PASSWORD)))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ApiError::Conflict { ref code, .. } if code == "username_taken"),
        "{e:?}"
    );
    assert!(e.to_string().contains("taken"), "{e}");
    let e = within("bad name", anon.register("x", &secret(PASSWORD)))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Invalid { .. }), "{e:?}");

    let s = within("login", anon.login("ALICE", &secret(PASSWORD)))
        .await
        .unwrap();
    let again = anon.clone().with_token(s.token);
    assert_eq!(within("me", again.me()).await.unwrap().username, "alice");
    within("logout", again.logout()).await.unwrap();
    let e = within("me after logout", again.me()).await.unwrap_err();
    assert!(matches!(e, ApiError::Unauthorized), "{e:?}");
    // The first session is still valid.
    within("me", alice.me()).await.unwrap();
    let e = within("anon me", anon.me()).await.unwrap_err();
    assert!(matches!(e, ApiError::Unauthorized), "{e:?}");
}

#[tokio::test]
async fn wrong_password_then_throttled_with_retry_after() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    register(&srv, "alice").await;
    let anon = ApiClient::new(&srv.url()).unwrap();
    let mut last = None;
    for _ in 0..10 {
        match within("login", anon.login("alice", &secret("wrong password!")))
            .await
            .unwrap_err()
        {
            ApiError::InvalidCredentials => continue,
            other => {
                last = Some(other);
                break;
            }
        }
    }
    let e = last.expect("repeated failures are throttled");
    match &e {
        ApiError::RateLimited { retry_after } => {
            assert!(retry_after.is_some_and(|d| d.as_secs() >= 1), "{e:?}")
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(
        e.to_string().starts_with("too many requests: try again in"),
        "{e}"
    );
}

#[tokio::test]
async fn channel_journey_patch_key_moderators() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    let alice = register(&srv, "alice").await;
    let bob = register(&srv, "bob").await;
    let anon = ApiClient::new(&srv.url()).unwrap();

    let names: Vec<_> = within("list", anon.channels())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert!(names.contains(&"alice".to_string()), "{names:?}");
    let ch = within("get", anon.channel("alice")).await.unwrap();
    assert!(!ch.live);

    let patch = ChannelPatch {
        title: Some("Speedrun".into()),
        ..Default::default()
    };
    let ch = within("patch", alice.update_channel("alice", &patch))
        .await
        .unwrap();
    assert_eq!(ch.title, "Speedrun");
    assert_eq!(
        within("get", anon.channel("alice")).await.unwrap().title,
        "Speedrun"
    );
    let e = within("patch other", bob.update_channel("alice", &patch))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Forbidden(_)), "{e:?}");
    let e = within("missing", anon.channel("nobody_here"))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::NotFound(_)), "{e:?}");

    let k1 = within("rotate", alice.rotate_stream_key("alice"))
        .await
        .unwrap();
    let k2 = within("rotate", alice.rotate_stream_key("alice"))
        .await
        .unwrap();
    assert!(!k1.is_empty() && k1 != k2);
    let e = within("rotate anon", anon.rotate_stream_key("alice"))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Unauthorized), "{e:?}");
    let e = within("rotate other", bob.rotate_stream_key("alice"))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Forbidden(_)), "{e:?}");

    within("mod", alice.add_moderator("alice", "bob"))
        .await
        .unwrap();
    assert_eq!(
        within("mods", alice.moderators("alice")).await.unwrap(),
        ["bob"]
    );
    within("unmod", alice.remove_moderator("alice", "bob"))
        .await
        .unwrap();
    assert!(
        within("mods", alice.moderators("alice"))
            .await
            .unwrap()
            .is_empty()
    );
    let e = within("mod by other", bob.add_moderator("alice", "bob"))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Forbidden(_)), "{e:?}");
}

#[tokio::test]
async fn passwords_tokens_and_keys_never_reach_logs_or_debug_output() {
    let logs = support::LogCapture::install();
    let srv = TestServer::start(TestDb::Sqlite).await;
    let anon = ApiClient::new(&srv.url()).unwrap();
    let pw = secret("pw_never_logged_42");
    let s = within("register", anon.register("dave", &pw))
        .await
        .unwrap();
    let token = s.token.clone();
    let dave = anon.clone().with_token(s.token.clone());
    let key = within("rotate", dave.rotate_stream_key("dave"))
        .await
        .unwrap();
    let _ = within(
        "wrong",
        anon.login("dave", &secret("pw_wrong_never_logged")),
    )
    .await
    .unwrap_err();
    within("logout", dave.logout()).await.unwrap();
    let e = within("me", dave.me()).await.unwrap_err();
    let shown = format!("{s:?} {dave:?} {key:?} {key} {e:?} {e}");
    let captured = logs.text();
    assert!(
        captured.contains("path=/api/v1/channels/dave/stream-key"),
        "client and server logs were captured: {captured}"
    );
    let text = captured + &shown;
    for secret in [
        pw.expose(),
        "pw_wrong_never_logged",
        token.expose(),
        key.expose(),
    ] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}
