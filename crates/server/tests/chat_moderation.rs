//! Chat moderation over WebSocket and REST: every refusal code, who may act
//! on whom, bans, timeouts, slow mode, blocked terms, rate limits and the
//! moderation log.

mod chat_support;

use std::time::Duration;

use aethex_server::both_dbs;
use aethex_server::testing::{TestDb, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;
use chat_support::{Chat, api, appoint, register};

/// A channel `alice` with moderator `mod1` and viewers `bob` and `carol`.
struct Cast {
    srv: TestServer,
    alice: String,
    mod1: String,
    bob: String,
    carol: String,
}

async fn cast(db: TestDb) -> Cast {
    let srv = TestServer::start(db).await;
    let alice = register(&srv, "alice").await;
    let mod1 = register(&srv, "mod1").await;
    let bob = register(&srv, "bob").await;
    let carol = register(&srv, "carol").await;
    appoint(&srv, "alice", &alice, "mod1").await;
    Cast {
        srv,
        alice,
        mod1,
        bob,
        carol,
    }
}

#[tokio::test]
async fn every_refusal_comes_back_as_an_error_and_the_socket_stays_open() {
    let c = cast(TestDb::Sqlite).await;
    let mut anon = Chat::join(&c.srv, "alice", None).await;
    anon.say("hi").await;
    anon.expect_error("not_allowed").await;
    anon.send_frame(json!({"type": "ban", "username": "bob"}))
        .await;
    anon.expect_error("not_allowed").await;

    let mut bob = Chat::join(&c.srv, "alice", Some(&c.bob)).await;
    for bad in [
        "not json",
        r#"{"type":"nope"}"#,
        r#"{"type":"send"}"#,
        r#"{"type":"send","text":"hi","extra":1}"#,
        r#"{"type":"delete","id":"seven"}"#,
        r#"["send"]"#,
    ] {
        bob.send_raw(bad).await;
        bob.expect_error("bad_request").await;
    }
    bob.say("   ").await;
    bob.expect_error("bad_request").await;
    bob.say("a\u{202E}b").await;
    bob.expect_error("bad_request").await;
    bob.say(&"é".repeat(501)).await;
    bob.expect_error("too_long").await;
    // 500 characters of multi-byte text are fine.
    let long = "é".repeat(500);
    bob.say_and_see(&long).await;
    bob.send_frame(json!({"type": "timeout", "username": "carol", "seconds": 5}))
        .await;
    bob.expect_error("not_allowed").await;
    bob.send_frame(json!({"type": "slow", "seconds": 5})).await;
    bob.expect_error("not_allowed").await;
    bob.send_frame(json!({"type": "delete", "id": 1})).await;
    bob.expect_error("not_allowed").await;
    // Still open and working after all of that.
    bob.say_and_see("still here").await;
}

both_dbs!(
    moderators_cannot_act_on_the_owner_or_each_other,
    |db| async move {
        let c = cast(db).await;
        let mod2 = register(&c.srv, "mod2").await;
        appoint(&c.srv, "alice", &c.alice, "mod2").await;
        let mut m = Chat::join(&c.srv, "alice", Some(&c.mod1)).await;
        assert_eq!(m.hello["role"], "moderator");
        for target in ["alice", "mod2", "mod1"] {
            m.send_frame(json!({"type": "ban", "username": target}))
                .await;
            m.expect_error("not_allowed").await;
            let (s, v) = api(
                &c.srv,
                Method::PUT,
                &format!("/api/v1/channels/alice/bans/{target}"),
                Some(&c.mod1),
                Some(json!({"seconds": 60})),
            )
            .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "mod1 on {target}: {v}");
        }
        // A moderator cannot delete the owner's message; the owner can delete anyone's.
        let mut owner = Chat::join(&c.srv, "alice", Some(&c.alice)).await;
        let owners = owner.say_and_see("owner speaking").await["id"]
            .as_i64()
            .expect("id");
        m.expect_message("owner speaking").await;
        m.send_frame(json!({"type": "delete", "id": owners})).await;
        m.expect_error("not_allowed").await;
        let mods = m.say_and_see("mod speaking").await["id"]
            .as_i64()
            .expect("id");
        owner.expect_message("mod speaking").await;
        owner
            .send_frame(json!({"type": "delete", "id": mods}))
            .await;
        owner.expect_deleted(mods).await;
        // The owner may ban a moderator; moderators may act on viewers.
        let (s, _) = api(
            &c.srv,
            Method::PUT,
            "/api/v1/channels/alice/bans/mod2",
            Some(&c.alice),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = api(
            &c.srv,
            Method::PUT,
            "/api/v1/channels/alice/bans/bob",
            Some(&c.mod1),
            Some(json!({"seconds": 30})),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        // Viewers and anonymous callers cannot use the REST routes.
        let (s, _) = api(
            &c.srv,
            Method::PUT,
            "/api/v1/channels/alice/bans/carol",
            Some(&c.bob),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = api(
            &c.srv,
            Method::DELETE,
            "/api/v1/chat/messages/1",
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = api(
            &c.srv,
            Method::DELETE,
            &format!("/api/v1/chat/messages/{owners}"),
            Some(&c.carol),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = api(
            &c.srv,
            Method::DELETE,
            "/api/v1/chat/messages/999999",
            Some(&c.alice),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let _ = mod2;
    }
);

both_dbs!(bans_refuse_sends_and_tell_open_sockets, |db| async move {
    let c = cast(db).await;
    let mut bob = Chat::join(&c.srv, "alice", Some(&c.bob)).await;
    bob.say_and_see("before").await;
    let (s, v) = api(
        &c.srv,
        Method::PUT,
        "/api/v1/channels/alice/bans/bob",
        Some(&c.alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    bob.expect_error("banned").await;
    bob.say("let me in").await;
    bob.expect_error("banned").await;
    // A new socket is refused too.
    let mut bob2 = Chat::join(&c.srv, "alice", Some(&c.bob)).await;
    bob2.say("other tab").await;
    bob2.expect_error("banned").await;
    // Other channels are unaffected.
    let mut elsewhere = Chat::join(&c.srv, "carol", Some(&c.bob)).await;
    elsewhere.say_and_see("hello carol").await;

    let mut m = Chat::join(&c.srv, "alice", Some(&c.mod1)).await;
    m.send_frame(json!({"type": "unban", "username": "bob"}))
        .await;
    // Unban is silent. The moderator's next message reaches bob after the
    // unban (one connection's frames are handled in order).
    m.say_and_see("unbanned").await;
    bob.expect_message("unbanned").await;
    bob2.expect_message("unbanned").await;
    bob.say_and_see("back").await;
    bob2.expect_message("back").await;
    let (s, _) = api(
        &c.srv,
        Method::DELETE,
        "/api/v1/channels/alice/bans/bob",
        Some(&c.alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "unban twice is fine");
    let (s, v) = api(
        &c.srv,
        Method::PUT,
        "/api/v1/channels/alice/bans/nobody",
        Some(&c.alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
});

#[tokio::test]
async fn timeouts_expire_on_their_own() {
    let c = cast(TestDb::Sqlite).await;
    let mut bob = Chat::join(&c.srv, "alice", Some(&c.bob)).await;
    let mut m = Chat::join(&c.srv, "alice", Some(&c.mod1)).await;
    for bad in [0, 14 * 24 * 3600 + 1] {
        m.send_frame(json!({"type": "timeout", "username": "bob", "seconds": bad}))
            .await;
        m.expect_error("bad_request").await;
    }
    let (s, v) = api(
        &c.srv,
        Method::PUT,
        "/api/v1/channels/alice/bans/bob",
        Some(&c.alice),
        Some(json!({"seconds": 0})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    m.send_frame(json!({"type": "timeout", "username": "bob", "seconds": 1}))
        .await;
    bob.expect_error("timed_out").await;
    bob.say("too soon").await;
    let e = bob.expect_error("timed_out").await;
    assert!(
        e["message"].as_str().expect("message").contains("1 more s"),
        "{e}"
    );
    // Poll until the timeout is over (no fixed sleep deciding the outcome).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        bob.say("am I back?").await;
        let f = bob.next("reply").await;
        if f["type"] == "message" {
            break;
        }
        assert_eq!(f["code"], "timed_out", "{f}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "timeout never expired"
        );
    }
}

#[tokio::test]
async fn slow_mode_spaces_out_viewers_but_not_moderators() {
    let c = cast(TestDb::Sqlite).await;
    let mut owner = Chat::join(&c.srv, "alice", Some(&c.alice)).await;
    let mut bob = Chat::join(&c.srv, "alice", Some(&c.bob)).await;
    owner
        .send_frame(json!({"type": "slow", "seconds": 60}))
        .await;
    owner.expect_slow(60).await;
    bob.expect_slow(60).await;
    bob.say_and_see("first").await;
    owner.expect_message("first").await;
    bob.say("second").await;
    let e = bob.expect_error("slow_mode").await;
    assert!(
        e["message"].as_str().expect("message").contains("wait"),
        "{e}"
    );
    owner.say_and_see("owner 1").await;
    owner.say_and_see("owner 2").await;
    let (s, v) = api(
        &c.srv,
        Method::PUT,
        "/api/v1/channels/alice/slow-mode",
        Some(&c.bob),
        Some(json!({"seconds": 0})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = api(
        &c.srv,
        Method::PUT,
        "/api/v1/channels/alice/slow-mode",
        Some(&c.mod1),
        Some(json!({"seconds": 0})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    bob.expect_message("owner 1").await;
    bob.expect_message("owner 2").await;
    bob.expect_slow(0).await;
    bob.say_and_see("free again").await;
    let (s, _) = api(
        &c.srv,
        Method::PUT,
        "/api/v1/channels/alice/slow-mode",
        Some(&c.alice),
        Some(json!({"seconds": 86_401})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

both_dbs!(
    blocked_terms_are_refused_and_managed_by_moderators,
    |db| async move {
        let c = cast(db).await;
        let path = "/api/v1/channels/alice/blocked-terms";
        let (s, _) = api(
            &c.srv,
            Method::POST,
            path,
            Some(&c.mod1),
            Some(json!({"term": " Spoiler "})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = api(
            &c.srv,
            Method::POST,
            path,
            Some(&c.alice),
            Some(json!({"term": "spoiler"})),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "already there");
        let (s, _) = api(
            &c.srv,
            Method::POST,
            path,
            Some(&c.bob),
            Some(json!({"term": "x"})),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = api(
            &c.srv,
            Method::POST,
            path,
            Some(&c.alice),
            Some(json!({"term": ""})),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, v) = api(&c.srv, Method::GET, path, Some(&c.alice), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["terms"], json!(["spoiler"]));
        let (s, _) = api(&c.srv, Method::GET, path, Some(&c.bob), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        let mut bob = Chat::join(&c.srv, "alice", Some(&c.bob)).await;
        bob.say("huge SPOILERS ahead").await;
        bob.expect_error("blocked_term").await;
        let (s, _) = api(
            &c.srv,
            Method::DELETE,
            &format!("{path}/spoiler"),
            Some(&c.mod1),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = api(
            &c.srv,
            Method::DELETE,
            &format!("{path}/spoiler"),
            Some(&c.mod1),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        bob.say_and_see("huge SPOILERS ahead").await;
    }
);

#[tokio::test]
async fn viewers_are_rate_limited_and_moderators_get_more() {
    let c = cast(TestDb::Sqlite).await;
    let mut bob = Chat::join(&c.srv, "alice", Some(&c.bob)).await;
    for i in 0..21 {
        bob.say(&format!("spam {i}")).await;
    }
    // The refusal comes straight back; the stored messages follow the commit,
    // so the two may interleave.
    let (mut seen, mut refusal) = (Vec::new(), None);
    while seen.len() < 20 || refusal.is_none() {
        let f = bob.next("20 messages and a refusal").await;
        match f["type"].as_str() {
            Some("message") => seen.push(f["text"].as_str().unwrap_or("").to_string()),
            Some("error") if refusal.is_none() => refusal = Some(f),
            _ => panic!("unexpected frame {f}"),
        }
    }
    let expected: Vec<String> = (0..20).map(|i| format!("spam {i}")).collect();
    assert_eq!(seen, expected, "the first 20 went through, in order");
    let e = refusal.expect("refusal");
    assert_eq!(e["code"], "rate_limited", "{e}");
    assert!(
        e["message"].as_str().expect("message").contains("wait"),
        "{e}"
    );
    // Another channel has its own budget.
    let mut elsewhere = Chat::join(&c.srv, "carol", Some(&c.bob)).await;
    elsewhere.say_and_see("fine here").await;

    let mut m = Chat::join(&c.srv, "alice", Some(&c.mod1)).await;
    for i in 0..30 {
        m.say(&format!("mod {i}")).await;
    }
    for i in 0..30 {
        m.expect_message(&format!("mod {i}")).await;
    }
}

both_dbs!(the_moderation_log_records_who_did_what, |db| async move {
    let c = cast(db).await;
    let mut bob = Chat::join(&c.srv, "alice", Some(&c.bob)).await;
    let id = bob.say_and_see("delete me").await["id"]
        .as_i64()
        .expect("id");
    let mut m = Chat::join(&c.srv, "alice", Some(&c.mod1)).await;
    m.send_frame(json!({"type": "delete", "id": id})).await;
    m.expect_deleted(id).await;
    m.send_frame(json!({"type": "timeout", "username": "bob", "seconds": 600}))
        .await;
    m.send_frame(json!({"type": "ban", "username": "carol"}))
        .await;
    m.send_frame(json!({"type": "unban", "username": "carol"}))
        .await;
    m.send_frame(json!({"type": "slow", "seconds": 10})).await;
    m.expect_slow(10).await;

    let path = "/api/v1/channels/alice/mod-log";
    let (s, v) = api(&c.srv, Method::GET, path, Some(&c.alice), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let entries = v["entries"].as_array().expect("entries");
    let summary: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or("").to_string(),
                e["action"].as_str().unwrap_or("").to_string(),
                e["target"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    let expect = [
        ("alice", "add_moderator", "mod1"),
        ("mod1", "delete", "bob"),
        ("mod1", "timeout", "bob"),
        ("mod1", "ban", "carol"),
        ("mod1", "unban", "carol"),
        ("mod1", "slow", "-"),
    ];
    let expect: Vec<(String, String, String)> = expect
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(summary, expect);
    assert_eq!(entries[1]["message_id"], id);
    assert_eq!(entries[2]["detail"], "600");
    assert!(entries[0]["at"].as_str().expect("at").ends_with('Z'));

    let (s, v) = api(
        &c.srv,
        Method::GET,
        &format!("{path}?limit=2"),
        Some(&c.mod1),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["entries"][1]["action"], "slow", "newest last");
    let (s, _) = api(&c.srv, Method::GET, path, Some(&c.bob), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api(&c.srv, Method::GET, path, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = api(
        &c.srv,
        Method::GET,
        &format!("{path}?before=zero"),
        Some(&c.alice),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
});
