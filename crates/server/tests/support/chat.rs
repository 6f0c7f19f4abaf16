//! A WebSocket chat client whose `expect_*` methods time out with clear
//! messages, and the moderator appointment the chat journeys start from.

use std::time::Duration;

use aethex_server::testing::{Api, TestServer, TestUser};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single expectation may wait (generous: loaded 2-core CI).
pub const WAIT: Duration = Duration::from_secs(20);

/// Makes `user` a moderator of `owner`'s channel (as its owner).
pub async fn appoint(srv: &TestServer, owner: &TestUser, user: &str) {
    srv.put(&format!(
        "/api/v1/channels/{}/moderators/{user}",
        owner.name
    ))
    .as_user(owner)
    .send()
    .await
    .expect(StatusCode::NO_CONTENT);
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A chat connection that has read `hello` and `history`.
pub struct Chat {
    ws: Ws,
    /// The `hello` frame.
    pub hello: Value,
    /// The messages of the `history` frame.
    pub history: Vec<Value>,
}

/// `ws://…/ws/chat/{channel}`, with `?token=` for a user.
pub fn chat_url<'u>(
    srv: &TestServer,
    channel: &str,
    user: impl Into<Option<&'u TestUser>>,
) -> String {
    match user.into() {
        Some(u) => format!("ws://{}/ws/chat/{channel}?token={}", srv.http, u.token),
        None => format!("ws://{}/ws/chat/{channel}", srv.http),
    }
}

impl Chat {
    /// Joins `channel` as `user` (`None`: anonymously).
    pub async fn join<'u>(
        srv: &TestServer,
        channel: &str,
        user: impl Into<Option<&'u TestUser>>,
    ) -> Chat {
        Chat::join_url(&chat_url(srv, channel, user)).await
    }

    /// Joins by full URL (to add `?viewer=`).
    pub async fn join_url(url: &str) -> Chat {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("WebSocket connect timed out")
            .expect("WebSocket connect");
        let mut c = Chat {
            ws,
            hello: Value::Null,
            history: Vec::new(),
        };
        c.hello = c.expect("hello", |f| f["type"] == "hello").await;
        let h = c.expect("history", |f| f["type"] == "history").await;
        c.history = h["messages"].as_array().cloned().unwrap_or_default();
        c
    }

    /// Sends a raw text frame.
    pub async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send frame");
    }

    /// Sends a client frame.
    pub async fn send_frame(&mut self, v: Value) {
        self.send_raw(&v.to_string()).await;
    }

    /// `{"type":"send","text":…}`
    pub async fn say(&mut self, text: &str) {
        self.send_frame(json!({"type": "send", "text": text})).await;
    }

    /// Sends and waits for its own message to come back.
    pub async fn say_and_see(&mut self, text: &str) -> Value {
        self.say(text).await;
        self.expect_message(text).await
    }

    /// The next frame that is not `viewers` or `live`, as JSON.
    pub async fn next(&mut self, what: &str) -> Value {
        loop {
            let f = self.next_any(what).await;
            if f["type"] != "viewers" && f["type"] != "live" {
                return f;
            }
        }
    }

    /// The next text frame of any type.
    pub async fn next_any(&mut self, what: &str) -> Value {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("timed out after {WAIT:?} waiting for {what}"));
            match msg {
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(t.as_str()).expect("server sent JSON");
                }
                Some(Ok(Message::Close(c))) => {
                    panic!("connection closed ({c:?}) while waiting for {what}")
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error {e} while waiting for {what}"),
                None => panic!("connection ended while waiting for {what}"),
            }
        }
    }

    /// The next frame (skipping `viewers`/`live`) must satisfy `pred`.
    pub async fn expect(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let f = self.next(what).await;
        assert!(pred(&f), "expected {what}, got {f}");
        f
    }

    /// The next frame is a `message` with this text.
    pub async fn expect_message(&mut self, text: &str) -> Value {
        self.expect(&format!("message {text:?}"), |f| {
            f["type"] == "message" && f["text"] == text
        })
        .await
    }

    /// The next frame is an `error` with this code.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        self.expect(&format!("error {code}"), |f| {
            f["type"] == "error" && f["code"] == code
        })
        .await
    }

    /// The next frame is `deleted` for `id`.
    pub async fn expect_deleted(&mut self, id: i64) {
        self.expect(&format!("deleted {id}"), |f| {
            f["type"] == "deleted" && f["id"] == id
        })
        .await;
    }

    /// The next frame is `slow` with these seconds.
    pub async fn expect_slow(&mut self, seconds: u64) {
        self.expect(&format!("slow {seconds}"), |f| {
            f["type"] == "slow" && f["seconds"] == seconds
        })
        .await;
    }

    /// The next frame other than `viewers` is `live`.
    pub async fn expect_live(&mut self) -> Value {
        loop {
            let f = self.next_any("live").await;
            if f["type"] == "live" {
                return f;
            }
            assert_eq!(f["type"], "viewers", "expected live, got {f}");
        }
    }

    /// Reads (skipping everything else) until a `viewers` frame says `n`.
    pub async fn expect_viewers(&mut self, n: u64) {
        let what = format!("viewers = {n}");
        loop {
            let f = self.next_any(&what).await;
            if f["type"] == "viewers" && f["count"] == n {
                return;
            }
        }
    }

    /// Reads until the server closes; returns the close frame and how many
    /// `message` frames arrived before it.
    pub async fn expect_closed(&mut self) -> (Option<CloseFrame>, usize) {
        let mut messages = 0;
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for the server to close the connection");
            match msg {
                Some(Ok(Message::Close(c))) => return (c, messages),
                Some(Ok(Message::Text(t))) if t.as_str().starts_with(r#"{"type":"message""#) => {
                    messages += 1
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return (None, messages),
            }
        }
    }

    /// Closes politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    /// The raw stream (for tests that split reading and writing).
    pub fn into_inner(self) -> Ws {
        self.ws
    }
}
