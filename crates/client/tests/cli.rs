//! The `aethex` binary as a user runs it: real process, real server.

mod support;

use support::{aethex, closed_port, text};

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
