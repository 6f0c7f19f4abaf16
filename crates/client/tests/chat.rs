//! `ChatClient` against the real `aethex-server` chat: roles, delivery,
//! refusals, moderation through the API, and reconnect across a restart.

mod support;

use aethex_client::{ApiClient, ChatClient, ChatEvent, ChatOptions, ConnectionState, Secret};
use aethex_proto::{ClientFrame, Role, ServerFrame};
use support::{TestDb, TestServer, has_route, within};

const PASSWORD: &str = "chat password 123";

async fn user(srv: &TestServer, name: &str) -> ApiClient {
    let api = ApiClient::new(&srv.url()).expect("client");
    let s = within("register", api.register(name, &Secret::new(PASSWORD)))
        .await
        .expect("register");
    api.with_token(s.token)
}

/// Connects and reads `hello` and `history`; returns the role.
async fn join(api: &ApiClient, channel: &str) -> (ChatClient, Role) {
    let mut chat = ChatClient::connect(api, channel, ChatOptions::default());
    let role = match within("hello", chat.next_frame()).await {
        Some(ServerFrame::Hello { role, .. }) => role,
        other => panic!("expected hello, got {other:?}"),
    };
    match within("history", chat.next_frame()).await {
        Some(ServerFrame::History { .. }) => {}
        other => panic!("expected history, got {other:?}"),
    }
    (chat, role)
}

/// The next frame that `want` accepts, skipping presence and the like.
async fn expect(
    chat: &mut ChatClient,
    what: &str,
    want: impl Fn(&ServerFrame) -> bool,
) -> ServerFrame {
    within(what, async {
        loop {
            match chat.next_frame().await {
                Some(f) if want(&f) => return f,
                Some(_) => continue,
                None => panic!("{what}: chat ended"),
            }
        }
    })
    .await
}

#[tokio::test]
async fn roles_messages_refusals_and_deletion_reach_everyone() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    if !has_route(&srv, "/ws/chat/nobody").await {
        return;
    }
    let alice = user(&srv, "alice").await;
    let bob = user(&srv, "bob").await;
    let anon = ApiClient::new(&srv.url()).unwrap();
    let (mut owner, role) = join(&alice, "alice").await;
    assert_eq!(role, Role::Owner);
    let (mut viewer, role) = join(&bob, "alice").await;
    assert_eq!(role, Role::Viewer);
    let (mut reader, role) = join(&anon, "alice").await;
    assert_eq!(role, Role::Anonymous);

    viewer.send_text("hello from bob").await.unwrap();
    let is_hello =
        |f: &ServerFrame| matches!(f, ServerFrame::Message(m) if m.text == "hello from bob");
    let ServerFrame::Message(msg) = expect(&mut viewer, "own message", is_hello).await else {
        unreachable!()
    };
    assert_eq!(msg.username, "bob");
    expect(&mut owner, "owner sees it", is_hello).await;
    expect(&mut reader, "anonymous sees it", is_hello).await;

    // Anonymous is read-only: refused, connection stays open.
    reader.send_text("let me in").await.unwrap();
    expect(&mut reader, "refusal", |f| {
        matches!(f, ServerFrame::Error { .. })
    })
    .await;
    assert_eq!(reader.state(), ConnectionState::Connected);

    // Deletion through the API reaches every client and leaves history.
    within("delete", alice.delete_message(msg.id))
        .await
        .unwrap();
    let deleted = |f: &ServerFrame| matches!(f, ServerFrame::Deleted { id } if *id == msg.id);
    expect(&mut viewer, "viewer sees deletion", deleted).await;
    expect(&mut reader, "reader sees deletion", deleted).await;
    let history = within("history", anon.chat_history("alice", None, Some(50)))
        .await
        .unwrap();
    assert!(history.iter().all(|m| m.id != msg.id), "{history:?}");

    // A ban through the API refuses bob's next message; unban lets him talk.
    within("ban", alice.ban("alice", "bob", None))
        .await
        .unwrap();
    viewer.send_text("am I banned?").await.unwrap();
    expect(
        &mut viewer,
        "banned",
        |f| matches!(f, ServerFrame::Error { code, .. } if code == "banned"),
    )
    .await;
    within("unban", alice.unban("alice", "bob")).await.unwrap();
    viewer
        .send(ClientFrame::Send {
            text: "back again".into(),
        })
        .await
        .unwrap();
    expect(
        &mut owner,
        "after unban",
        |f| matches!(f, ServerFrame::Message(m) if m.text == "back again"),
    )
    .await;

    for c in [owner, viewer, reader] {
        c.close().await;
    }
}

#[tokio::test]
async fn unknown_channel_and_bad_token_fail_for_good() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    if !has_route(&srv, "/ws/chat/nobody").await {
        return;
    }
    let anon = ApiClient::new(&srv.url()).unwrap();
    let mut chat = ChatClient::connect(&anon, "nobody_here", ChatOptions::default());
    let state = within("failed", async {
        loop {
            match chat.next_event().await {
                Some(ChatEvent::State(s @ ConnectionState::Failed { .. })) => return s,
                Some(_) => continue,
                None => panic!("ended without Failed"),
            }
        }
    })
    .await;
    assert!(
        matches!(state, ConnectionState::Failed { ref reason } if reason.contains("no such channel")),
        "{state:?}"
    );

    user(&srv, "alice").await;
    let stale = anon.clone().with_token(Secret::new("not-a-real-token"));
    let chat = ChatClient::connect(&stale, "alice", ChatOptions::default());
    let mut watch = chat.watch_state();
    let s = within(
        "failed",
        watch.wait_for(|s| matches!(s, ConnectionState::Failed { .. })),
    )
    .await
    .unwrap()
    .clone();
    assert!(
        matches!(s, ConnectionState::Failed { ref reason } if reason.contains("sign in again")),
        "{s:?}"
    );
}

#[tokio::test]
async fn reconnects_by_itself_when_the_server_restarts() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    if !has_route(&srv, "/ws/chat/nobody").await {
        return;
    }
    let alice = user(&srv, "alice").await;
    let opts = ChatOptions {
        initial_backoff: std::time::Duration::from_millis(100),
        max_backoff: std::time::Duration::from_millis(500),
        ..ChatOptions::default()
    };
    let mut chat = ChatClient::connect(&alice, "alice", opts);
    expect(&mut chat, "hello", |f| {
        matches!(f, ServerFrame::Hello { .. })
    })
    .await;
    chat.send_text("before restart").await.unwrap();
    expect(&mut chat, "stored", |f| {
        matches!(f, ServerFrame::Message(_))
    })
    .await;

    let srv = srv.restart().await;
    let mut saw_reconnecting = false;
    within("reconnected", async {
        loop {
            match chat.next_event().await {
                Some(ChatEvent::State(ConnectionState::Reconnecting { .. })) => {
                    saw_reconnecting = true
                }
                Some(ChatEvent::Frame(ServerFrame::Hello { .. })) if saw_reconnecting => return,
                Some(_) => continue,
                None => panic!("chat ended"),
            }
        }
    })
    .await;
    // History after the reconnect still holds the message (stored before).
    match within("history", chat.next_frame()).await {
        Some(ServerFrame::History { messages }) => {
            assert!(
                messages.iter().any(|m| m.text == "before restart"),
                "{messages:?}"
            )
        }
        other => panic!("expected history, got {other:?}"),
    }
    chat.send_text("after restart").await.unwrap();
    expect(
        &mut chat,
        "stored again",
        |f| matches!(f, ServerFrame::Message(m) if m.text == "after restart"),
    )
    .await;
    chat.close().await;
    drop(srv);
}
