//! Chat, viewer counts and caches across three real server processes on one
//! PostgreSQL database and one Debian `redis-server` (cluster mode).
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod cluster_support;

use std::time::Duration;

use aethex_proto::ServerFrame;
use aethex_test_support::Redis;
use cluster_support::{Chat, Node, call, eventually, register, viewers_on};
use reqwest::Method;
use serde_json::json;

async fn cluster(n: usize) -> (Redis, String, Vec<Node>) {
    let redis = Redis::start();
    let db = aethex_server::testing::fresh_postgres_database().await;
    let nodes = (0..n)
        .map(|i| Node::start(&format!("node-{i}"), &db, &redis.url()))
        .collect();
    (redis, db, nodes)
}

fn message(frame: ServerFrame) -> aethex_proto::Message {
    match frame {
        ServerFrame::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_reach_every_node_in_one_id_order_and_moderation_applies_everywhere() {
    let (_redis, _db, nodes) = cluster(3).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let alice = register(a, "alice").await;
    let bob = register(b, "bob").await;
    let carol = register(c, "carol").await;
    let mallory = register(a, "mallory").await;
    let mut on_a = Chat::join(a, "alice", &format!("token={bob}")).await;
    let mut on_b = Chat::join(b, "alice", &format!("token={carol}")).await;
    let mut on_c = Chat::join(c, "alice", &format!("token={mallory}")).await;
    let mut watcher = Chat::join(c, "alice", "").await;

    // Three senders on three nodes at once.
    for i in 0..10 {
        on_a.send(&format!("a{i}")).await;
        on_b.send(&format!("b{i}")).await;
        on_c.send(&format!("c{i}")).await;
    }
    let mut seen = Vec::new();
    for client in [&mut on_a, &mut on_b, &mut on_c, &mut watcher] {
        let mut got = Vec::new();
        while got.len() < 30 {
            got.push(message(client.next_event().await));
        }
        let ids: Vec<i64> = got.iter().map(|m| m.id).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids out of order: {ids:?}"
        );
        seen.push(ids);
    }
    assert!(
        seen.iter().all(|s| *s == seen[0]),
        "nodes disagree on order: {seen:?}"
    );

    // A deletion on C removes the message on A.
    let victim = seen[0][3];
    let r = call(
        c,
        Method::DELETE,
        &format!("/api/v1/chat/messages/{victim}"),
        &alice,
        None,
    )
    .await;
    assert!(r.status().is_success(), "delete: {}", r.status());
    assert_eq!(on_a.next_event().await, ServerFrame::Deleted { id: victim });

    // A ban through B refuses mallory, who chats through C.
    let r = call(
        b,
        Method::PUT,
        "/api/v1/channels/alice/bans/mallory",
        &alice,
        Some(json!({})),
    )
    .await;
    assert!(r.status().is_success(), "ban: {}", r.status());
    // The ban is a state change: it reaches C before mallory's next message is checked.
    tokio::time::sleep(Duration::from_millis(300)).await;
    on_c.send("still here?").await;
    loop {
        match on_c.next_event().await {
            ServerFrame::Error { code, .. } => break assert_eq!(code, "banned"),
            ServerFrame::Deleted { .. } | ServerFrame::Slow { .. } => continue,
            other => panic!("expected banned, got {other:?}"),
        }
    }

    // Resume on another node without gaps: B's client leaves, three more
    // messages arrive, it comes back through C with `?after=`.
    let last = *seen[1].last().unwrap();
    drop(on_b);
    for i in 0..3 {
        on_a.send(&format!("late{i}")).await;
    }
    let mut late = Vec::new();
    while late.len() < 3 {
        match watcher.next_event().await {
            ServerFrame::Deleted { .. } => continue,
            other => late.push(message(other).id),
        }
    }
    let back = Chat::join(c, "alice", &format!("token={carol}&after={last}")).await;
    let resumed: Vec<i64> = back.history.iter().map(|m| m.id).collect();
    assert_eq!(
        resumed, late,
        "exactly the missed messages, none deleted ones"
    );
    let r = reqwest::get(a.url("/ws/chat/alice?after=x")).await.unwrap();
    assert_eq!(r.status(), 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_counts_are_summed_over_nodes_and_a_killed_node_drops_out() {
    let (_redis, _db, mut nodes) = cluster(3).await;
    register(&nodes[0], "alice").await;
    let mut clients = Vec::new();
    for (node, n) in [(0, 2), (1, 3)] {
        for i in 0..n {
            let q = format!("viewer=browser-{node}-{i:04}");
            clients.push(Chat::join(&nodes[node], "alice", &q).await);
        }
    }
    let mut watcher = Chat::join(&nodes[2], "alice", "viewer=watcher-0000").await;
    watcher.viewers(6).await;
    let total = eventually(
        "GET on node 0 shows the total",
        Duration::from_secs(10),
        || async { (viewers_on(&nodes[0], "alice").await == 6).then_some(()) },
    );
    total.await;

    // kill -9 node 1: its three viewers disappear within 15 s.
    let started = tokio::time::Instant::now();
    nodes[1].kill();
    watcher.viewers(3).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}");
    eventually(
        "GET on node 2 drops them too",
        Duration::from_secs(5),
        || async { (viewers_on(&nodes[2], "alice").await == 3).then_some(()) },
    )
    .await;
    eprintln!("a killed node's viewers dropped out after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_change_on_one_node_is_seen_at_once_on_the_others() {
    let (_redis, _db, nodes) = cluster(2).await;
    let alice = register(&nodes[0], "alice").await;
    let title = |node: &Node| {
        let url = node.url("/api/v1/channels/alice");
        async move {
            let v: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
            v["title"].as_str().unwrap_or_default().to_string()
        }
    };
    // Node 1 caches the row.
    let before = title(&nodes[1]).await;
    assert_ne!(before, "Cluster night");
    let r = call(
        &nodes[0],
        Method::PATCH,
        "/api/v1/channels/alice",
        &alice,
        Some(json!({"title": "Cluster night"})),
    )
    .await;
    assert!(r.status().is_success());
    // Well inside the cache's 5 s safety expiry: the invalidation did it.
    eventually(
        "node 1 shows the new title",
        Duration::from_secs(2),
        || async { (title(&nodes[1]).await == "Cluster night").then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn cluster_mode_on_sqlite_is_refused_at_start() {
    let redis = Redis::start();
    let err = match Node::try_start(&["--redis-url", &redis.url()]) {
        Ok(_) => panic!("a cluster node started on SQLite"),
        Err(stderr) => stderr,
    };
    assert!(err.contains("needs PostgreSQL"), "{err}");
}
