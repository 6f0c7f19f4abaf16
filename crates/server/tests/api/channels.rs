//! Channels: who may change one and with what, odd paths, stream keys,
//! moderators, and the live state the ingest sets.

use aethex_server::both_dbs;
use aethex_server::testing::{Api, DELETE, GET, PUT, TestApp, TestUser};
use axum::http::StatusCode;
use serde_json::{Value, json};

/// A user whose token the server never issued.
fn stranger() -> TestUser {
    TestUser {
        name: "stranger".into(),
        token: "0".repeat(64),
    }
}

both_dbs!(
    channel_patch_by_owner_only_with_validation,
    |db| async move {
        let app = TestApp::new(db).await;
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let patch = |who: &TestUser, body: Value| {
            app.patch("/api/v1/channels/alice").as_user(who).json(&body)
        };
        let r = patch(
            &alice,
            json!({"display_name": "Alice 🎮", "bio": "Speedruns\nevery night", "title": "Any% attempts"}),
        )
        .send()
        .await
        .expect(StatusCode::OK);
        assert_eq!(r["display_name"], "Alice 🎮");
        assert_eq!(r["title"], "Any% attempts");
        let me = app.get("/api/v1/me").as_user(&alice).send().await;
        assert_eq!(
            me["user"]["display_name"], "Alice 🎮",
            "user display name follows the channel"
        );
        let ch = app.get("/api/v1/channels/ALICE").send().await;
        assert_eq!(ch["bio"], "Speedruns\nevery night");

        // Only the owner: another user, nobody and an unknown token are refused.
        let stranger = stranger();
        for (who, want) in [
            (Some(&bob), StatusCode::FORBIDDEN),
            (None, StatusCode::UNAUTHORIZED),
            (Some(&stranger), StatusCode::UNAUTHORIZED),
        ] {
            let req = app.patch("/api/v1/channels/alice").as_user(who);
            let r = req.json(&json!({"title": "hacked"})).send().await;
            let r = r.expect(want);
            if want == StatusCode::FORBIDDEN {
                assert_eq!(r.code(), "forbidden");
            }
        }
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
            let r = patch(&alice, bad.clone()).send().await;
            assert_eq!(
                (r.status(), r.code()),
                (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
                "{bad}"
            );
        }
        let r = patch(&alice, json!({"owner": "bob"})).send().await;
        assert_eq!(
            r.status(),
            StatusCode::BAD_REQUEST,
            "unknown fields refused"
        );
        let r = patch(&alice, json!({"title": 42})).send().await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "wrong type refused");
        // Exactly at the limits is fine; emoji count as one character.
        let limits = json!({"display_name": "🎮".repeat(50), "title": "t".repeat(140)});
        patch(&alice, limits).send().await.expect(StatusCode::OK);
    }
);

both_dbs!(
    unknown_channels_and_odd_paths_are_404_not_500,
    |db| async move {
        let app = TestApp::new(db).await;
        let long = format!("/api/v1/channels/{}", "a".repeat(5000));
        for path in [
            "/api/v1/channels/nobody",
            "/api/v1/channels/..",
            "/api/v1/channels/%2e%2e%2fetc",
            "/api/v1/channels/%E2%80%AE",
            "/api/v1/channels/a%00b",
            "/api/v1/nope",
            "/api/v1/channels/x/y/z",
        ] {
            let r = app.get(path).send().await;
            r.expect_error(StatusCode::NOT_FOUND, "not_found");
        }
        app.get(&long).send().await.expect(StatusCode::NOT_FOUND);
        let r = app.delete("/api/v1/channels").send().await;
        r.expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    }
);

both_dbs!(stream_keys_rotate_and_resolve, |db| async move {
    use aethex_server::channels::store::resolve_stream_key;
    let app = TestApp::new(db).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let resolve = async |key: &str| resolve_stream_key(&app.state.db, key).await.unwrap();
    let k1 = app.rotate_key(&alice).await;
    assert!(k1.len() >= 64);
    let ch = resolve(&k1).await.expect("key resolves");
    assert_eq!(ch.name, "alice");
    let k2 = app.rotate_key(&alice).await;
    assert_ne!(k1, k2);
    assert!(resolve(&k1).await.is_none(), "old key dead at once");
    assert_eq!(resolve(&k2).await.unwrap().name, "alice");
    assert!(resolve("").await.is_none());
    assert!(resolve(&"x".repeat(10_000)).await.is_none());
    // Only a hash is stored.
    let (stored,): (String,) =
        sqlx::query_as("SELECT stream_key_hash FROM channels WHERE name = 'alice'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_ne!(stored, k2);
    assert_eq!(stored, aethex_server::auth::secret::sha256_hex(&k2));
    for (who, want) in [
        (Some(&bob), StatusCode::FORBIDDEN),
        (None, StatusCode::UNAUTHORIZED),
    ] {
        let r = app.post("/api/v1/channels/alice/stream-key").as_user(who);
        r.send().await.expect(want);
    }
});

both_dbs!(
    moderators_are_appointed_by_the_owner_only,
    |db| async move {
        use StatusCode as S;
        let app = TestApp::new(db).await;
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let carol = app.user("carol").await;
        let mods = |name: &str| format!("/api/v1/channels/alice/moderators/{name}");
        let list = "/api/v1/channels/alice/moderators".to_string();
        let bobs = mods("bob");
        for (method, path, who, want) in [
            (PUT, &bobs, &alice, S::NO_CONTENT),
            // Idempotent.
            (PUT, &bobs, &alice, S::NO_CONTENT),
        ] {
            let r = app.request(method, path).as_user(who).send().await;
            r.expect(want);
        }
        let r = app.get(&list).as_user(&bob).send().await;
        assert_eq!(r["moderators"], json!(["bob"]));
        let r = app.put(&mods("nobody")).as_user(&alice).send().await;
        r.expect_error(S::NOT_FOUND, "not_found");
        for (method, path, who, want) in [
            // A moderator cannot appoint others; a viewer cannot read the list.
            (PUT, mods("carol"), &bob, S::FORBIDDEN),
            (GET, list.clone(), &carol, S::FORBIDDEN),
            (PUT, mods("alice"), &alice, S::UNPROCESSABLE_ENTITY),
            (DELETE, bobs.clone(), &alice, S::NO_CONTENT),
            // No longer a moderator.
            (GET, list.clone(), &bob, S::FORBIDDEN),
        ] {
            let r = app.request(method, &path).as_user(who).send().await;
            r.expect(want);
        }
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
        let app = TestApp::new(db).await;
        app.user("alice").await;
        app.user("bob").await;
        app.user("zed").await;
        let r = app
            .post("/api/v1/auth/login")
            .json(&json!({"username":"zed","password":"password123"}))
            .send()
            .await;
        let zed_token = r["token"].as_str().unwrap().to_string();
        app.patch("/api/v1/channels/zed")
            .bearer(&zed_token)
            .json(&json!({"title": "Late night"}))
            .send()
            .await;
        // Prime the cache, then go live: the cache must not hide the change.
        let before = app.get("/api/v1/channels/zed").send().await;
        assert_eq!(before["live"], false);
        let zed = store::by_name(&app.state.db, "zed").await.unwrap().unwrap();
        let id = live::start_broadcast(&app.state, &zed).await.unwrap();
        let ch = app.get("/api/v1/channels/zed").send().await;
        assert_eq!(ch["live"], true);
        assert_eq!(ch["title"], "Late night");
        assert!(ch["started_at"].as_str().unwrap().ends_with('Z'));
        let list = app.get("/api/v1/channels").send().await;
        let names: Vec<&str> = list["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["zed", "alice", "bob"], "live first, then by name");
        live::end_broadcast(&app.state, "zed", id).await.unwrap();
        live::end_broadcast(&app.state, "zed", id).await.unwrap();
        let ch = app.get("/api/v1/channels/zed").send().await;
        assert_eq!(
            (ch["live"].clone(), ch["started_at"].clone()),
            (json!(false), json!(null))
        );
        let (ended,): (Option<i64>,) =
            sqlx::query_as("SELECT ended_at FROM broadcasts WHERE id = $1")
                .bind(id)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        assert!(ended.is_some(), "broadcast row closed");
    }
);
