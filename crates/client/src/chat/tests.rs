//! Chat client behaviour against a real WebSocket peer on 127.0.0.1 standing
//! in for the server's chat (same frames as the contract). Journeys against
//! the real `aethex-server` live in `tests/`.

// The handshake callback signature is tungstenite's, not ours.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use aethex_proto::{Message, Role};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

use super::*;
use crate::test_support::{LogCapture, within};

fn fast() -> ChatOptions {
    ChatOptions {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..ChatOptions::default()
    }
}

fn hello(username: Option<&str>) -> String {
    serde_json::to_string(&ServerFrame::Hello {
        channel: "alice".into(),
        username: username.map(str::to_string),
        role: Role::Viewer,
    })
    .unwrap()
}

/// Accepts one WebSocket, recording the request's query string.
async fn accept(listener: &TcpListener) -> (Ws2, Option<String>) {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut query = None;
    let ws = tokio_tungstenite::accept_hdr_async(tcp, |req: &Request, res: Response| {
        query = req.uri().query().map(str::to_string);
        Ok(res)
    })
    .await
    .unwrap();
    (ws, query)
}

type Ws2 = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn expect_state(client: &mut ChatClient, want: fn(&ConnectionState) -> bool) {
    loop {
        match within(client.next_event()).await {
            Some(ChatEvent::State(s)) if want(&s) => return,
            Some(_) => continue,
            None => panic!("chat client ended before the expected state"),
        }
    }
}

#[tokio::test]
async fn reconnects_after_the_server_drops_and_keeps_the_token() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!(
        "ws://{}/ws/chat/alice",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    let mut client = ChatClient::connect_url(url, Some(Secret::new("tok_1234")), fast());

    // First connection: hello, then the server goes away.
    let (mut ws, query) = within(accept(&listener)).await;
    assert_eq!(query.as_deref(), Some("token=tok_1234"));
    ws.send(WsMessage::text(hello(Some("bob")))).await.unwrap();
    expect_state(&mut client, |s| *s == ConnectionState::Connected).await;
    let frame = within(client.next_frame()).await.unwrap();
    assert!(
        matches!(frame, ServerFrame::Hello { ref username, .. } if username.as_deref() == Some("bob"))
    );
    drop(ws);
    expect_state(&mut client, |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    })
    .await;

    // Second connection: the client sends, the "server" answers with a message.
    let (mut ws, query) = within(accept(&listener)).await;
    assert_eq!(query.as_deref(), Some("token=tok_1234"));
    expect_state(&mut client, |s| *s == ConnectionState::Connected).await;
    client.send_text("hi again").await.unwrap();
    let got = within(ws.next()).await.unwrap().unwrap();
    let sent: ClientFrame = serde_json::from_str(got.to_text().unwrap()).unwrap();
    assert_eq!(
        sent,
        ClientFrame::Send {
            text: "hi again".into()
        }
    );
    let msg = ServerFrame::Message(Message {
        id: 1,
        username: "bob".into(),
        text: "hi again".into(),
        sent_at: "2026-01-01T00:00:00Z".into(),
    });
    ws.send(WsMessage::text(serde_json::to_string(&msg).unwrap()))
        .await
        .unwrap();
    assert_eq!(within(client.next_frame()).await, Some(msg));

    client.close().await;
    // The peer sees a close, not a hang.
    let end = within(ws.next()).await;
    assert!(
        matches!(end, None | Some(Ok(WsMessage::Close(_))) | Some(Err(_))),
        "{end:?}"
    );
}

#[tokio::test]
async fn sending_while_disconnected_fails_fast() {
    // Nothing listens on this port: the client keeps retrying.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = Url::parse(&format!("ws://{addr}/ws/chat/alice")).unwrap();
    let mut client = ChatClient::connect_url(url, None, fast());
    expect_state(&mut client, |s| {
        matches!(s, ConnectionState::Reconnecting { .. })
    })
    .await;
    assert!(matches!(
        client.send_text("x").await,
        Err(ChatError::NotConnected)
    ));
    client.close().await;
}

#[tokio::test]
async fn unknown_channel_fails_for_good_without_retrying() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!(
        "ws://{}/ws/chat/nobody",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    let mut client = ChatClient::connect_url(url, None, fast());
    let (tcp, _) = within(listener.accept()).await.unwrap();
    let refused = tokio_tungstenite::accept_hdr_async(tcp, |_: &Request, _: Response| {
        let mut res = ErrorResponse::new(Some("no such channel".into()));
        *res.status_mut() = StatusCode::NOT_FOUND;
        Err(res)
    })
    .await;
    assert!(refused.is_err());
    expect_state(
        &mut client,
        |s| matches!(s, ConnectionState::Failed { reason } if reason.contains("no such channel")),
    )
    .await;
    assert!(
        within(client.next_event()).await.is_none(),
        "no retry after a 404"
    );
    assert!(matches!(
        client.send_text("x").await,
        Err(ChatError::Closed)
    ));
}

#[tokio::test]
async fn gives_up_after_max_attempts() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = Url::parse(&format!("ws://{addr}/ws/chat/alice")).unwrap();
    let opts = ChatOptions {
        max_attempts: Some(3),
        ..fast()
    };
    let mut client = ChatClient::connect_url(url, None, opts);
    let mut delays = Vec::new();
    loop {
        match within(client.next_event()).await {
            Some(ChatEvent::State(ConnectionState::Reconnecting { delay, .. })) => {
                delays.push(delay)
            }
            Some(ChatEvent::State(ConnectionState::Failed { reason })) => {
                assert!(reason.contains("after 3 attempts"), "{reason}");
                break;
            }
            Some(_) => {}
            None => panic!("ended without Failed"),
        }
    }
    // Backoff grows: 50 ms, then 100 ms.
    assert_eq!(
        delays,
        [Duration::from_millis(50), Duration::from_millis(100)]
    );
}

#[tokio::test]
async fn the_token_never_reaches_logs() {
    let logs = LogCapture::install();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!(
        "ws://{}/ws/chat/alice",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    let client = ChatClient::connect_url(url, Some(Secret::new("tok_must_not_leak")), fast());
    let (ws, _) = within(accept(&listener)).await;
    drop(ws); // lost connection: the client logs its reconnect
    drop(listener);
    let mut state = client.watch_state();
    within(state.wait_for(|s| matches!(s, ConnectionState::Reconnecting { .. })))
        .await
        .unwrap();
    assert!(!format!("{client:?}").contains("tok_must_not_leak"));
    client.close().await;
    let text = logs.text();
    assert!(
        text.contains("chat reconnecting"),
        "logs were captured: {text}"
    );
    assert!(!text.contains("tok_must_not_leak"), "{text}");
}

#[tokio::test]
async fn a_server_that_hangs_up_at_once_still_gets_growing_delays() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!(
        "ws://{}/ws/chat/alice",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    // Accepts every upgrade and closes before sending anything.
    tokio::spawn(async move {
        loop {
            let (ws, _) = accept(&listener).await;
            drop(ws);
        }
    });
    let opts = ChatOptions {
        max_attempts: Some(4),
        max_backoff: Duration::from_secs(1),
        ..fast()
    };
    let mut client = ChatClient::connect_url(url, None, opts);
    let mut delays = Vec::new();
    loop {
        match within(client.next_event()).await {
            Some(ChatEvent::State(ConnectionState::Reconnecting { delay, .. })) => {
                delays.push(delay)
            }
            Some(ChatEvent::State(ConnectionState::Failed { .. })) => break,
            Some(_) => {}
            None => panic!("ended without Failed"),
        }
    }
    let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [50, 100, 200]);
}
