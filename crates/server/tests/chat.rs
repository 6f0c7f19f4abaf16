//! Chat journeys over real sockets: delivery, history, persistence across a
//! restart, slow readers, viewer counts and frame limits.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aethex_server::both_dbs;
use aethex_server::testing::{self, Api, TestDb, TestServer};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::chat::{Chat, WAIT, chat_url};
use tokio_tungstenite::tungstenite::Message;

both_dbs!(messages_reach_every_client_in_order, |db| async move {
    let srv = TestServer::start(db).await;
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    let mut owner = Chat::join(&srv, "alice", &alice).await;
    assert_eq!(owner.hello["role"], "owner");
    assert_eq!(owner.hello["username"], "alice");
    assert!(owner.history.is_empty());
    let mut others = Vec::new();
    for i in 0..12 {
        let who = if i % 2 == 0 { Some(&bob) } else { None };
        others.push(Chat::join(&srv, "alice", who).await);
    }
    assert_eq!(others[1].hello["role"], "anonymous");
    assert_eq!(others[1].hello["username"], Value::Null);
    assert_eq!(others[0].hello["role"], "viewer");

    for i in 0..40 {
        owner.say(&format!("  line {i} <b>&amp;</b>  ")).await;
    }
    // The sender sees its own messages too, trimmed but otherwise exactly as sent.
    let mut last = 0;
    for i in 0..40 {
        let m = owner
            .expect_message(&format!("line {i} <b>&amp;</b>"))
            .await;
        let id = m["id"].as_i64().expect("id");
        assert!(id > last, "ids grow: {id} after {last}");
        last = id;
        assert_eq!(m["username"], "alice");
        assert!(m["sent_at"].as_str().expect("sent_at").ends_with('Z'));
    }
    for c in &mut others {
        for i in 0..40 {
            c.expect_message(&format!("line {i} <b>&amp;</b>")).await;
        }
    }

    // Live events reach chat clients.
    let row = aethex_server::channels::store::by_name(&srv.state.db, "alice")
        .await
        .expect("db")
        .expect("channel");
    aethex_server::channels::live::start_broadcast(&srv.state, &row)
        .await
        .expect("start");
    let live = others[3].expect_live().await;
    assert_eq!(live["type"], "live");
    assert_eq!(live["live"], true);
});

both_dbs!(
    history_on_join_leaves_out_deleted_messages,
    |db| async move {
        let srv = TestServer::start(db).await;
        let alice = srv.user("alice").await;
        let mut owner = Chat::join(&srv, "alice", &alice).await;
        let mut ids = Vec::new();
        for t in ["one", "two", "three"] {
            ids.push(owner.say_and_see(t).await["id"].as_i64().expect("id"));
        }
        let mut watcher = Chat::join(&srv, "alice", None).await;
        assert_eq!(watcher.history.len(), 3);

        srv.delete(&format!("/api/v1/chat/messages/{}", ids[1]))
            .as_user(&alice)
            .send()
            .await
            .expect(StatusCode::NO_CONTENT);
        watcher.expect_deleted(ids[1]).await;
        owner.expect_deleted(ids[1]).await;

        let late = Chat::join(&srv, "alice", None).await;
        let texts: Vec<&str> = late
            .history
            .iter()
            .map(|m| m["text"].as_str().expect("text"))
            .collect();
        assert_eq!(texts, ["one", "three"]);

        let v = srv.get("/api/v1/channels/alice/chat").send().await;
        let v = v.expect(StatusCode::OK);
        assert_eq!(v["messages"].as_array().expect("messages").len(), 2);
        let path = format!("/api/v1/channels/alice/chat?before={}&limit=1000", ids[2]);
        let v = srv.get(&path).send().await.expect(StatusCode::OK);
        assert_eq!(v["messages"][0]["text"], "one", "before= pages back: {v}");
        // limit clamps to 1.
        let path = "/api/v1/channels/alice/chat?limit=0";
        let v = srv.get(path).send().await.expect(StatusCode::OK);
        assert_eq!(v["messages"][0]["text"], "three", "newest last");
        for bad in ["limit=abc", "before=-1", "before=x"] {
            srv.get(&format!("/api/v1/channels/alice/chat?{bad}"))
                .send()
                .await
                .expect_error(StatusCode::BAD_REQUEST, "bad_request");
        }
        srv.get("/api/v1/channels/nobody/chat")
            .send()
            .await
            .expect(StatusCode::NOT_FOUND);
        // History only holds the last 50.
        for i in 0..55 {
            owner.say(&format!("m{i}")).await;
        }
        for i in 0..55 {
            owner.expect_message(&format!("m{i}")).await;
        }
        let late = Chat::join(&srv, "alice", None).await;
        assert_eq!(late.history.len(), 50);
        assert_eq!(late.history[49]["text"], "m54");
    }
);

both_dbs!(messages_survive_a_restart, |db| async move {
    let srv = TestServer::start(db).await;
    let alice = srv.user("alice").await;
    let mut owner = Chat::join(&srv, "alice", &alice).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        let mut m = owner.say_and_see(&format!("before restart {i}")).await;
        m.as_object_mut().expect("object").remove("type");
        sent.push(m);
    }
    let url = srv.state.config.database_url();
    let dir = srv.stop().await;
    // The old server closed its chat sockets on the way down.
    let (close, _) = owner.expect_closed().await;
    if let Some(c) = close {
        assert_eq!(u16::from(c.code), 1001);
    }

    let srv = TestServer::start_config(testing::config(dir.path(), url), dir).await;
    let mut again = Chat::join(&srv, "alice", &alice).await;
    assert_eq!(
        again.history, sent,
        "same ids, texts and times after the restart"
    );
    let m = again.say_and_see("after restart").await;
    assert!(m["id"].as_i64() > sent[4]["id"].as_i64());
});

#[tokio::test]
async fn a_burst_reaches_everyone_whole_in_order_one_frame_per_event() {
    // A long coalescing window, so the burst goes out in runs of many events
    // (each still its own WebSocket frame: `next` parses one JSON value per
    // frame).
    let srv = TestServer::start_with(TestDb::Sqlite, |c| {
        c.chat_rate_limit = 0;
        c.chat_fanout_window_ms = 50;
    })
    .await;
    let alice = srv.user("alice").await;
    let mut owner = Chat::join(&srv, "alice", &alice).await;
    let mut watchers = Vec::new();
    for _ in 0..3 {
        watchers.push(Chat::join(&srv, "alice", None).await);
    }
    const N: usize = 300;
    for i in 0..N {
        owner.say(&format!("burst {i}")).await;
    }
    for c in watchers.iter_mut().chain([&mut owner]) {
        let mut last = 0;
        for i in 0..N {
            let m = c.expect_message(&format!("burst {i}")).await;
            let id = m["id"].as_i64().expect("id");
            assert!(id > last, "ids grow: {id} after {last}");
            last = id;
        }
    }
}

#[tokio::test]
async fn a_slow_reader_is_disconnected_without_delaying_the_others() {
    let srv = TestServer::start_with(TestDb::Sqlite, |c| c.chat_rate_limit = 0).await;
    let alice = srv.user("alice").await;

    // A reader that never reads, with a tiny receive buffer.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let stream = socket.connect(srv.http).await.expect("connect");
    let (mut slow, _) = tokio_tungstenite::client_async(chat_url(&srv, "alice", None), stream)
        .await
        .expect("handshake");
    let fast = Chat::join(&srv, "alice", None).await;
    let (mut tx, mut rx) = Chat::join(&srv, "alice", &alice).await.into_inner().split();

    // ~9 MB of messages: more than any socket buffer plus the shared ring.
    // The sender keeps at most 256 messages ahead of the fast reader, as a
    // reader that keeps up would be (the ring holds 1024).
    const N: usize = 20_000;
    let seen = Arc::new(AtomicUsize::new(0));
    let filler = "x".repeat(440);
    let progress = seen.clone();
    let sender = tokio::spawn(async move {
        for i in 0..N {
            while i > progress.load(Ordering::Acquire) + 256 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let f = json!({"type": "send", "text": format!("{i:05} {filler}")});
            tx.send(Message::text(f.to_string())).await.expect("send");
        }
        tx
    });
    // The sender drains its own echoes so it is not a slow reader itself.
    let echo = tokio::spawn(async move {
        let mut n = 0;
        while n < N {
            match tokio::time::timeout(WAIT, rx.next()).await {
                Ok(Some(Ok(Message::Text(t))))
                    if t.as_str().starts_with(r#"{"type":"message""#) =>
                {
                    n += 1
                }
                Ok(Some(Ok(_))) => {}
                other => panic!("sender's socket ended after {n} echoes: {other:?}"),
            }
        }
    });
    let mut fast = fast.into_inner();
    let mut i = 0;
    while i < N {
        let t = match tokio::time::timeout(WAIT, fast.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => t,
            Ok(Some(Ok(_))) => continue,
            other => panic!("the fast reader was cut off after {i} messages: {other:?}"),
        };
        let t = t.as_str();
        if !t.starts_with(r#"{"type":"message""#) {
            continue;
        }
        let at = t.find(r#""text":""#).expect("text") + 8;
        assert_eq!(&t[at..at + 5], format!("{i:05}"), "in order");
        i += 1;
        seen.store(i, Ordering::Release);
    }
    let _tx = sender.await.expect("sender");
    echo.await.expect("echo");

    // Now the slow reader looks: it finds a backlog, then the end.
    let mut got = 0;
    let mut reason = None;
    loop {
        match tokio::time::timeout(WAIT, slow.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                if t.as_str().starts_with(r#"{"type":"message""#) {
                    got += 1;
                }
            }
            Ok(Some(Ok(Message::Close(c)))) => {
                reason = c.map(|c| c.reason.to_string());
                break;
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => break,
            Err(_) => panic!("the slow reader was never disconnected (read {got} messages)"),
        }
    }
    assert!(
        got < N,
        "the slow reader was dropped before the end ({got} of {N})"
    );
    if let Some(r) = reason {
        assert!(r.contains("too slow"), "close reason: {r}");
    }
}

#[tokio::test]
async fn viewer_counts_people_not_sockets() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    let alice = srv.user("alice").await;
    let bob = srv.user("bob").await;
    // The creator in their own chat is not a viewer.
    let mut owner = Chat::join(&srv, "alice", &alice).await;
    owner.expect_viewers(0).await;
    let bob1 = Chat::join(&srv, "alice", &bob).await;
    let bob2 = Chat::join(&srv, "alice", &bob).await;
    owner.expect_viewers(1).await;
    let anon_url = format!("ws://{}/ws/chat/alice?viewer=tab-0123456789", srv.http);
    let tab1 = Chat::join_url(&anon_url).await;
    let tab2 = Chat::join_url(&anon_url).await;
    let no_id = Chat::join(&srv, "alice", None).await;
    owner.expect_viewers(3).await;
    let ch = srv.get("/api/v1/channels/alice").send().await;
    assert_eq!(ch["viewers"], 3, "{ch}");
    let metrics = srv.get("/metrics").send().await.text().into_owned();
    let open: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("aethex_chat_connections "))
        .expect("aethex_chat_connections gauge")
        .trim()
        .parse()
        .expect("gauge value");
    assert!(open >= 6.0, "six sockets open here: {open}");

    bob1.close().await;
    tab1.close().await;
    // Still the same people watching: the count stays 3 …
    no_id.close().await;
    // … until someone leaves for real.
    owner.expect_viewers(2).await;
    bob2.close().await;
    tab2.close().await;
    owner.expect_viewers(0).await;
    let ch = srv.get("/api/v1/channels/alice").send().await;
    assert_eq!(ch["viewers"], 0);
}

#[tokio::test]
async fn handshake_and_frame_limits() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    srv.user("alice").await;
    let bad = format!("ws://{}/ws/chat/alice?token={}", srv.http, "0".repeat(64));
    match tokio_tungstenite::connect_async(&bad).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED)
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let missing = format!("ws://{}/ws/chat/nobody", srv.http);
    match tokio_tungstenite::connect_async(&missing).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), StatusCode::NOT_FOUND)
        }
        other => panic!("expected 404, got {other:?}"),
    }
    // A plain GET, without the upgrade.
    srv.get("/ws/chat/alice")
        .send()
        .await
        .expect(StatusCode::BAD_REQUEST);

    let mut c = Chat::join(&srv, "alice", None).await;
    c.send_raw(&"x".repeat(20_000)).await;
    // The server closes with 1009; the close frame can be lost to a TCP reset
    // when the rest of the oversized frame is still unread, but the
    // connection must end either way.
    let (close, _) = c.expect_closed().await;
    if let Some(close) = close {
        assert_eq!(u16::from(close.code), 1009, "{close:?}");
    }
}

#[tokio::test]
async fn silent_clients_are_disconnected_and_answering_ones_stay() {
    let srv = TestServer::start_with(TestDb::Sqlite, |c| c.chat_idle_timeout = 3).await;
    srv.user("alice").await;
    // This client answers pings (tungstenite replies while reading).
    let mut lively = Chat::join(&srv, "alice", None).await;
    // This one connects and then never reads, so it never answers a ping.
    let (mut silent, _) = tokio_tungstenite::connect_async(chat_url(&srv, "alice", None))
        .await
        .expect("connect");
    // Read the lively client for three idle periods; it must stay open.
    let until = tokio::time::Instant::now() + Duration::from_secs(9);
    while let Ok(frame) = tokio::time::timeout_at(until, lively.next_any("nothing")).await {
        assert_eq!(frame["type"], "viewers", "{frame}");
    }
    lively.say("still open?").await;
    lively.expect_error("not_allowed").await;
    // The silent one was closed for idling meanwhile. Reading it now answers
    // the queued pings into a closed socket, so the close frame may be lost
    // to a reset; either way the connection must be over.
    let ended = loop {
        match tokio::time::timeout(WAIT, silent.next()).await {
            Err(_) => break false,
            Ok(Some(Ok(Message::Close(c)))) => {
                if let Some(c) = c {
                    assert_eq!(c.reason.as_str(), "idle timeout");
                }
                break true;
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => break true,
        }
    };
    assert!(ended, "the silent client is still connected");
}
