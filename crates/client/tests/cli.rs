//! The `aethex` binary as a user runs it: real process, real server.

mod support;

use aethex_client::{ApiClient, ApiError, Secret, Vault};
use support::{TestDb, TestServer, aethex, closed_port, text, within};

#[tokio::test]
async fn login_to_a_server_that_is_not_running_says_so() {
    let cfg = tempfile::tempdir().unwrap();
    let server = format!("http://127.0.0.1:{}", closed_port());
    let out = aethex(
        cfg.path(),
        Some("hunter2hunter2"),
        &["login", "--server", &server, "--username", "alice"],
    )
    .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("aethex: error: cannot reach the server at"),
        "{all}"
    );
    assert!(!all.contains("hunter2hunter2"), "password leaked: {all}");
    assert!(
        !cfg.path().join("cli.json").exists(),
        "nothing saved on failure"
    );
}

#[tokio::test]
async fn login_without_a_password_source_refuses_instead_of_hanging() {
    let cfg = tempfile::tempdir().unwrap();
    let out = aethex(
        cfg.path(),
        None,
        &[
            "login",
            "--server",
            "http://127.0.0.1:9",
            "--username",
            "alice",
        ],
    )
    .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("set AETHEX_PASSWORD"), "{all}");
}

#[tokio::test]
async fn commands_that_need_a_session_explain_how_to_get_one() {
    let cfg = tempfile::tempdir().unwrap();
    for args in [
        &["key", "rotate"][..],
        &["live", "--duration", "1"][..],
        &["status"][..],
    ] {
        let out = aethex(cfg.path(), None, args).await;
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
        assert!(
            all.contains("not signed in: run `aethex login"),
            "{args:?}: {all}"
        );
    }
}

#[tokio::test]
async fn bad_arguments_are_usage_errors() {
    let cfg = tempfile::tempdir().unwrap();
    let out = aethex(cfg.path(), None, &["live", "--source", "potato"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = aethex(
        cfg.path(),
        Some("x"),
        &["login", "--server", "ftp://h", "--username", "a"],
    )
    .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("is not a server address"), "{all}");
}

#[tokio::test]
async fn login_with_a_wrong_password_says_so_and_exits_non_zero() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    let api = ApiClient::new(&srv.url()).unwrap();
    within(
        "register",
        api.register("alice", &Secret::new("the right one!")),
    )
    .await
    .unwrap();
    let cfg = tempfile::tempdir().unwrap();
    let out = aethex(
        cfg.path(),
        Some("not-the-password"),
        &["login", "--server", &srv.url(), "--username", "alice"],
    )
    .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("aethex: error: wrong username or password"),
        "{all}"
    );
    assert!(!all.contains("not-the-password"), "password leaked: {all}");
    assert!(!cfg.path().join("cli.json").exists());
}

#[tokio::test]
async fn register_login_rotate_status_logout_journey() {
    let vault = match Vault::open() {
        Ok(v) => v,
        Err(e) => return eprintln!("skipped: {e}; run under scripts/with-keyring"),
    };
    let srv = TestServer::start(TestDb::Sqlite).await;
    let cfg = tempfile::tempdir().unwrap();
    let pw = "journey password 1";
    let server = srv.url();
    let args = ["--server", server.as_str(), "--username", "carol"];

    let out = aethex(cfg.path(), Some(pw), &[&["register"][..], &args].concat()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = aethex(
        cfg.path(),
        Some(pw),
        &[&["login"][..], &args, &["--rtmp", &srv.rtmp_url()]].concat(),
    )
    .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("signed in to"), "{all}");

    // Only non-secret settings on disk; the token is in the keyring.
    let on_disk = std::fs::read_to_string(cfg.path().join("cli.json")).unwrap();
    let token = vault
        .session_token(&server)
        .unwrap()
        .expect("token in keyring");
    assert!(!on_disk.contains(token.expose()), "{on_disk}");
    assert!(on_disk.contains(&srv.rtmp_url()), "{on_disk}");

    let out = aethex(cfg.path(), None, &["key", "rotate"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let key = vault.stream_key(&server).unwrap().expect("key in keyring");
    assert!(!all.contains(key.expose()), "key printed: {all}");
    assert!(!all.contains(token.expose()), "token printed: {all}");
    // Rotating again replaces it.
    let out = aethex(cfg.path(), None, &["key", "rotate"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_ne!(vault.stream_key(&server).unwrap(), Some(key));

    let out = aethex(cfg.path(), None, &["status"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("user:     carol"), "{all}");
    assert!(all.contains("key:      stored"), "{all}");

    let out = aethex(cfg.path(), None, &["logout"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(vault.session_token(&server).unwrap().is_none());
    // The old token no longer works on the server either.
    let old = ApiClient::new(&server).unwrap().with_token(token);
    assert!(matches!(
        within("me", old.me()).await,
        Err(ApiError::Unauthorized)
    ));
    vault.delete_stream_key(&server).unwrap();
}
