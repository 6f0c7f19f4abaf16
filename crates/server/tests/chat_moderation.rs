//! Chat moderation over WebSocket and REST: every refusal code, who may act
//! on whom, bans, timeouts, slow mode, blocked terms, rate limits and the
//! moderation log.

mod support;

use std::time::Duration;

use aethex_server::both_dbs;
use aethex_server::testing::{Api, DELETE, GET, POST, PUT, TestDb, TestServer, TestUser};
use reqwest::Method;
use reqwest::StatusCode as S;
use serde_json::{Value, json};
use support::chat::{Chat, appoint};

/// A channel `alice` with moderator `mod1` and viewers `bob` and `carol`.
struct Cast {
    srv: TestServer,
    alice: TestUser,
    mod1: TestUser,
    bob: TestUser,
    carol: TestUser,
}

async fn cast(db: TestDb) -> Cast {
    let srv = TestServer::start(db).await;
    let alice = srv.user("alice").await;
    let mod1 = srv.user("mod1").await;
    let bob = srv.user("bob").await;
    let carol = srv.user("carol").await;
    appoint(&srv, &alice, "mod1").await;
    Cast {
        srv,
        alice,
        mod1,
        bob,
        carol,
    }
}

impl Cast {
    /// Everyone as table entries: (alice, mod1, bob, carol).
    fn who(&self) -> [Option<&TestUser>; 4] {
        [&self.alice, &self.mod1, &self.bob, &self.carol].map(Some)
    }
}

/// `/api/v1/channels/alice/bans/{username}`
fn bans(username: &str) -> String {
    format!("/api/v1/channels/alice/bans/{username}")
}

/// `/api/v1/chat/messages/{id}`
fn message(id: i64) -> String {
    format!("/api/v1/chat/messages/{id}")
}

/// One row of a permission table: method, path, who sends it with what
/// body, and the status they get.
type Row<'a, P> = (Method, P, Option<&'a TestUser>, Option<Value>, S);

/// Sends each row in order and checks its status.
async fn check_table<P: AsRef<str>>(srv: &TestServer, rows: &[Row<'_, P>]) {
    for (method, path, who, body, want) in rows {
        let mut req = srv.request(method.clone(), path.as_ref()).as_user(*who);
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await.expect(*want);
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

    let mut bob = Chat::join(&c.srv, "alice", &c.bob).await;
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
    for frame in [
        json!({"type": "timeout", "username": "carol", "seconds": 5}),
        json!({"type": "slow", "seconds": 5}),
        json!({"type": "delete", "id": 1}),
    ] {
        bob.send_frame(frame).await;
        bob.expect_error("not_allowed").await;
    }
    // Still open and working after all of that.
    bob.say_and_see("still here").await;
}

both_dbs!(
    moderators_cannot_act_on_the_owner_or_each_other,
    |db| async move {
        let c = cast(db).await;
        c.srv.user("mod2").await;
        appoint(&c.srv, &c.alice, "mod2").await;
        let mut m = Chat::join(&c.srv, "alice", &c.mod1).await;
        assert_eq!(m.hello["role"], "moderator");
        for target in ["alice", "mod2", "mod1"] {
            m.send_frame(json!({"type": "ban", "username": target}))
                .await;
            m.expect_error("not_allowed").await;
            c.srv
                .put(&format!("/api/v1/channels/alice/bans/{target}"))
                .as_user(&c.mod1)
                .json(&json!({"seconds": 60}))
                .send()
                .await
                .expect(S::FORBIDDEN);
        }
        // A moderator cannot delete the owner's message; the owner can delete anyone's.
        let mut owner = Chat::join(&c.srv, "alice", &c.alice).await;
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
        // The owner may ban a moderator; moderators may act on viewers;
        // viewers and anonymous callers cannot use the REST routes.
        let thirty = Some(json!({"seconds": 30}));
        let [alice, mod1, bob, carol] = c.who();
        check_table(
            &c.srv,
            &[
                (PUT, bans("mod2"), alice, None, S::NO_CONTENT),
                (PUT, bans("bob"), mod1, thirty, S::NO_CONTENT),
                (PUT, bans("carol"), bob, None, S::FORBIDDEN),
                (DELETE, message(1), None, None, S::UNAUTHORIZED),
                (DELETE, message(owners), carol, None, S::FORBIDDEN),
                (DELETE, message(999_999), alice, None, S::NOT_FOUND),
            ],
        )
        .await;
    }
);

both_dbs!(bans_refuse_sends_and_tell_open_sockets, |db| async move {
    let c = cast(db).await;
    let mut bob = Chat::join(&c.srv, "alice", &c.bob).await;
    bob.say_and_see("before").await;
    c.srv
        .put("/api/v1/channels/alice/bans/bob")
        .as_user(&c.alice)
        .send()
        .await
        .expect(S::NO_CONTENT);
    bob.expect_error("banned").await;
    bob.say("let me in").await;
    bob.expect_error("banned").await;
    // A new socket is refused too.
    let mut bob2 = Chat::join(&c.srv, "alice", &c.bob).await;
    bob2.say("other tab").await;
    bob2.expect_error("banned").await;
    // Other channels are unaffected.
    let mut elsewhere = Chat::join(&c.srv, "carol", &c.bob).await;
    elsewhere.say_and_see("hello carol").await;

    let mut m = Chat::join(&c.srv, "alice", &c.mod1).await;
    m.send_frame(json!({"type": "unban", "username": "bob"}))
        .await;
    // Unban is silent. The moderator's next message reaches bob after the
    // unban (one connection's frames are handled in order).
    m.say_and_see("unbanned").await;
    bob.expect_message("unbanned").await;
    bob2.expect_message("unbanned").await;
    bob.say_and_see("back").await;
    bob2.expect_message("back").await;
    let [alice, ..] = c.who();
    check_table(
        &c.srv,
        &[
            // Unban twice is fine.
            (DELETE, bans("bob"), alice, None, S::NO_CONTENT),
            (PUT, bans("nobody"), alice, None, S::NOT_FOUND),
        ],
    )
    .await;
});

#[tokio::test]
async fn timeouts_expire_on_their_own() {
    let c = cast(TestDb::Sqlite).await;
    let mut bob = Chat::join(&c.srv, "alice", &c.bob).await;
    let mut m = Chat::join(&c.srv, "alice", &c.mod1).await;
    for bad in [0, 14 * 24 * 3600 + 1] {
        m.send_frame(json!({"type": "timeout", "username": "bob", "seconds": bad}))
            .await;
        m.expect_error("bad_request").await;
    }
    c.srv
        .put("/api/v1/channels/alice/bans/bob")
        .as_user(&c.alice)
        .json(&json!({"seconds": 0}))
        .send()
        .await
        .expect(S::UNPROCESSABLE_ENTITY);
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
    let mut owner = Chat::join(&c.srv, "alice", &c.alice).await;
    let mut bob = Chat::join(&c.srv, "alice", &c.bob).await;
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
    let path = "/api/v1/channels/alice/slow-mode";
    let off = Some(json!({"seconds": 0}));
    let [_, as_mod1, as_bob, _] = c.who();
    check_table(
        &c.srv,
        &[
            (PUT, path, as_bob, off.clone(), S::FORBIDDEN),
            (PUT, path, as_mod1, off, S::NO_CONTENT),
        ],
    )
    .await;
    bob.expect_message("owner 1").await;
    bob.expect_message("owner 2").await;
    bob.expect_slow(0).await;
    bob.say_and_see("free again").await;
    c.srv
        .put(path)
        .as_user(&c.alice)
        .json(&json!({"seconds": 86_401}))
        .send()
        .await
        .expect(S::UNPROCESSABLE_ENTITY);
}

both_dbs!(
    blocked_terms_are_refused_and_managed_by_moderators,
    |db| async move {
        let c = cast(db).await;
        let path = "/api/v1/channels/alice/blocked-terms";
        let term = |t: &str| Some(json!({ "term": t }));
        let [alice, mod1, bob, _] = c.who();
        check_table(
            &c.srv,
            &[
                (POST, path, mod1, term(" Spoiler "), S::CREATED),
                // Already there.
                (POST, path, alice, term("spoiler"), S::NO_CONTENT),
                (POST, path, bob, term("x"), S::FORBIDDEN),
                (POST, path, alice, term(""), S::UNPROCESSABLE_ENTITY),
                (GET, path, bob, None, S::FORBIDDEN),
            ],
        )
        .await;
        let v = c.srv.get(path).as_user(&c.alice).send().await.expect(S::OK);
        assert_eq!(v["terms"], json!(["spoiler"]));

        let mut bob = Chat::join(&c.srv, "alice", &c.bob).await;
        bob.say("huge SPOILERS ahead").await;
        bob.expect_error("blocked_term").await;
        let term = format!("{path}/spoiler");
        for want in [S::NO_CONTENT, S::NOT_FOUND] {
            c.srv
                .delete(&term)
                .as_user(&c.mod1)
                .send()
                .await
                .expect(want);
        }
        bob.say_and_see("huge SPOILERS ahead").await;
    }
);

#[tokio::test]
async fn viewers_are_rate_limited_and_moderators_get_more() {
    let c = cast(TestDb::Sqlite).await;
    let mut bob = Chat::join(&c.srv, "alice", &c.bob).await;
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
    let mut elsewhere = Chat::join(&c.srv, "carol", &c.bob).await;
    elsewhere.say_and_see("fine here").await;

    let mut m = Chat::join(&c.srv, "alice", &c.mod1).await;
    for i in 0..30 {
        m.say(&format!("mod {i}")).await;
    }
    for i in 0..30 {
        m.expect_message(&format!("mod {i}")).await;
    }
}

both_dbs!(the_moderation_log_records_who_did_what, |db| async move {
    let c = cast(db).await;
    let mut bob = Chat::join(&c.srv, "alice", &c.bob).await;
    let id = bob.say_and_see("delete me").await["id"]
        .as_i64()
        .expect("id");
    let mut m = Chat::join(&c.srv, "alice", &c.mod1).await;
    m.send_frame(json!({"type": "delete", "id": id})).await;
    m.expect_deleted(id).await;
    for frame in [
        json!({"type": "timeout", "username": "bob", "seconds": 600}),
        json!({"type": "ban", "username": "carol"}),
        json!({"type": "unban", "username": "carol"}),
        json!({"type": "slow", "seconds": 10}),
    ] {
        m.send_frame(frame).await;
    }
    m.expect_slow(10).await;

    let path = "/api/v1/channels/alice/mod-log";
    let v = c.srv.get(path).as_user(&c.alice).send().await.expect(S::OK);
    let entries = v["entries"].as_array().expect("entries");
    let summary: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or(""),
                e["action"].as_str().unwrap_or(""),
                e["target"].as_str().unwrap_or("-"),
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
    assert_eq!(summary, expect);
    assert_eq!(entries[1]["message_id"], id);
    assert_eq!(entries[2]["detail"], "600");
    assert!(entries[0]["at"].as_str().expect("at").ends_with('Z'));

    let limited = format!("{path}?limit=2");
    let v = c.srv.get(&limited).as_user(&c.mod1).send().await;
    let v = v.expect(S::OK);
    assert_eq!(v["entries"][1]["action"], "slow", "newest last");
    let before_zero = format!("{path}?before=zero");
    let [alice, _, bob, _] = c.who();
    check_table(
        &c.srv,
        &[
            (GET, path, bob, None, S::FORBIDDEN),
            (GET, path, None, None, S::UNAUTHORIZED),
            (GET, &before_zero, alice, None, S::BAD_REQUEST),
        ],
    )
    .await;
});
