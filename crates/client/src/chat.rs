//! [`ChatClient`]: the chat WebSocket (`/ws/chat/{channel}?token=…`) with
//! typed frames, automatic reconnection with backoff and a visible
//! connection state.
//!
//! ```text
//! ChatClient::send ──mpsc──▶ connection task ──ws──▶ server
//! ChatClient::next_event ◀──mpsc── connection task ◀──ws── server
//!                         state: watch<ConnectionState>
//! ```

use std::time::Duration;

use aethex_proto::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::Message as WsMessage;
use url::Url;

use crate::api::ApiClient;
use crate::secret::Secret;

/// Every way using the chat client can fail.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Disconnected right now (reconnecting); the frame was not sent.
    #[error("not connected to chat right now; try again when it reconnects")]
    NotConnected,
    /// The client was closed or gave up.
    #[error("the chat connection is closed")]
    Closed,
}

/// Reconnection policy: delays grow from `initial_backoff` by `multiplier`
/// up to `max_backoff`; a successful connection resets them.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    /// First delay after a lost connection.
    pub initial_backoff: Duration,
    /// Longest delay between attempts.
    pub max_backoff: Duration,
    /// Growth factor per failed attempt.
    pub multiplier: f64,
    /// Give up after this many consecutive failed attempts (`None`: never).
    pub max_attempts: Option<u32>,
    /// How long one connection attempt (TCP + TLS + upgrade) may take.
    pub connect_timeout: Duration,
}

impl Default for ChatOptions {
    fn default() -> Self {
        ChatOptions {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            multiplier: 2.0,
            max_attempts: None,
            connect_timeout: Duration::from_secs(15),
        }
    }
}

/// Where the connection stands, for a status indicator.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionState {
    /// Opening a connection (`attempt` counts from 1 since the last success).
    Connecting {
        /// Attempt number.
        attempt: u32,
    },
    /// Connected: frames flow both ways.
    Connected,
    /// Lost or refused; the next attempt starts after `delay`.
    Reconnecting {
        /// Failed attempts so far.
        attempt: u32,
        /// Wait before the next attempt.
        delay: Duration,
        /// Why the last attempt or connection ended.
        reason: String,
    },
    /// Gave up: the server refused for good (no such channel, bad token) or
    /// `max_attempts` was reached.
    Failed {
        /// Why.
        reason: String,
    },
    /// Closed by [`ChatClient::close`] or by dropping the client.
    Closed,
}

/// What the connection task reports, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// The connection state changed.
    State(ConnectionState),
    /// A frame from the server (after every (re)connect: `hello`, `history`, …).
    Frame(ServerFrame),
}

/// A chat connection to one channel that reconnects by itself until closed.
pub struct ChatClient {
    outgoing: mpsc::Sender<ClientFrame>,
    events: mpsc::Receiver<ChatEvent>,
    state: watch::Receiver<ConnectionState>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient")
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl ChatClient {
    /// Connects to `channel`'s chat on `api`'s server, signed in with `api`'s
    /// token when it has one (anonymous, read-only, otherwise).
    pub fn connect(api: &ApiClient, channel: &str, options: ChatOptions) -> ChatClient {
        ChatClient::connect_url(api.chat_url(channel), api.token().cloned(), options)
    }

    /// Connects to a chat WebSocket URL (without token); `token` is added as
    /// `?token=` and never logged. Must be called inside a Tokio runtime.
    pub fn connect_url(url: Url, token: Option<Secret>, options: ChatOptions) -> ChatClient {
        let (out_tx, out_rx) = mpsc::channel(64);
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let (state_tx, state_rx) = watch::channel(ConnectionState::Connecting { attempt: 1 });
        let conn = Connection {
            url,
            token,
            options,
            outgoing: out_rx,
            events: ev_tx,
            state: state_tx,
        };
        let task = tokio::spawn(conn.run());
        ChatClient {
            outgoing: out_tx,
            events: ev_rx,
            state: state_rx,
            task,
        }
    }

    /// The next event; `None` once the client is closed or failed and every
    /// event was read.
    pub async fn next_event(&mut self) -> Option<ChatEvent> {
        self.events.recv().await
    }

    /// The next server frame, skipping state changes.
    pub async fn next_frame(&mut self) -> Option<ServerFrame> {
        loop {
            match self.events.recv().await? {
                ChatEvent::Frame(f) => return Some(f),
                ChatEvent::State(_) => continue,
            }
        }
    }

    /// The current connection state.
    pub fn state(&self) -> ConnectionState {
        self.state.borrow().clone()
    }

    /// A receiver that sees every state change (for a UI indicator).
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
    }

    /// Sends a frame. Fails fast while disconnected instead of queueing
    /// messages the user may no longer mean to send.
    pub async fn send(&self, frame: ClientFrame) -> Result<(), ChatError> {
        match &*self.state.borrow() {
            ConnectionState::Connected => {}
            ConnectionState::Failed { .. } | ConnectionState::Closed => {
                return Err(ChatError::Closed);
            }
            _ => return Err(ChatError::NotConnected),
        }
        self.outgoing
            .send(frame)
            .await
            .map_err(|_| ChatError::Closed)
    }

    /// Posts a chat message.
    pub async fn send_text(&self, text: &str) -> Result<(), ChatError> {
        self.send(ClientFrame::Send {
            text: text.to_string(),
        })
        .await
    }

    /// Closes the connection politely and waits for the task to end.
    pub async fn close(self) {
        let ChatClient {
            outgoing,
            events,
            task,
            ..
        } = self;
        drop(outgoing);
        // Dropping the receiver unblocks a task waiting to deliver an event.
        drop(events);
        let _ = task.await;
    }
}

/// Why one connection ended, deciding whether to try again.
enum Ended {
    /// Try again after a delay.
    Retry(String),
    /// The server refused for good.
    Fatal(String),
    /// The owner closed or dropped the client.
    Stop,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Connection {
    url: Url,
    token: Option<Secret>,
    options: ChatOptions,
    outgoing: mpsc::Receiver<ClientFrame>,
    events: mpsc::Sender<ChatEvent>,
    state: watch::Sender<ConnectionState>,
}

impl Connection {
    async fn run(mut self) {
        let mut failures: u32 = 0;
        let mut delay = self.options.initial_backoff;
        loop {
            if !self
                .set_state(ConnectionState::Connecting {
                    attempt: failures + 1,
                })
                .await
            {
                return;
            }
            let ended = match self.open().await {
                Ok(ws) => {
                    if !self.set_state(ConnectionState::Connected).await {
                        return;
                    }
                    let (ended, served) = self.pump(ws).await;
                    // Only a connection that delivered frames counts as a
                    // success; one closed at once keeps backing off.
                    if served {
                        failures = 0;
                        delay = self.options.initial_backoff;
                    }
                    ended
                }
                Err(ended) => ended,
            };
            let reason = match ended {
                Ended::Stop => {
                    self.set_state(ConnectionState::Closed).await;
                    return;
                }
                Ended::Fatal(reason) => {
                    self.set_state(ConnectionState::Failed { reason }).await;
                    return;
                }
                Ended::Retry(reason) => reason,
            };
            failures += 1;
            if self.options.max_attempts.is_some_and(|max| failures >= max) {
                let reason = format!("gave up after {failures} attempts: {reason}");
                self.set_state(ConnectionState::Failed { reason }).await;
                return;
            }
            tracing::debug!(attempt = failures, ?delay, %reason, "chat reconnecting");
            let waiting = ConnectionState::Reconnecting {
                attempt: failures,
                delay,
                reason,
            };
            if !self.set_state(waiting).await || !self.wait(delay).await {
                self.set_state(ConnectionState::Closed).await;
                return;
            }
            delay = self
                .options
                .max_backoff
                .min(delay.mul_f64(self.options.multiplier.max(1.0)));
        }
    }

    /// Publishes a state; false when nobody listens any more.
    async fn set_state(&self, s: ConnectionState) -> bool {
        self.state.send_replace(s.clone());
        self.events.send(ChatEvent::State(s)).await.is_ok()
    }

    /// Waits `delay`, dropping frames sent meanwhile; false if the client
    /// was closed during the wait.
    async fn wait(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return true,
                out = self.outgoing.recv() => if out.is_none() { return false },
            }
        }
    }

    async fn open(&mut self) -> Result<Ws, Ended> {
        let mut url = self.url.clone();
        if let Some(t) = &self.token {
            url.query_pairs_mut().append_pair("token", t.expose());
        }
        let connect = tokio::time::timeout(
            self.options.connect_timeout,
            tokio_tungstenite::connect_async(url.as_str()),
        );
        tokio::pin!(connect);
        loop {
            tokio::select! {
                r = &mut connect => return match r {
                    Ok(Ok((ws, _response))) => Ok(ws),
                    Ok(Err(e)) => Err(classify(e)),
                    Err(_) => Err(Ended::Retry("connection attempt timed out".into())),
                },
                out = self.outgoing.recv() => if out.is_none() { return Err(Ended::Stop) },
            }
        }
    }

    /// Moves frames both ways until the connection ends; also tells whether
    /// the server sent any frame.
    async fn pump(&mut self, ws: Ws) -> (Ended, bool) {
        let mut served = false;
        let ended = self.pump_frames(ws, &mut served).await;
        (ended, served)
    }

    async fn pump_frames(&mut self, mut ws: Ws, served: &mut bool) -> Ended {
        loop {
            tokio::select! {
                incoming = ws.next() => match incoming {
                    Some(Ok(WsMessage::Text(text))) => match serde_json::from_str::<ServerFrame>(&text) {
                        Ok(frame) => {
                            *served = true;
                            if self.events.send(ChatEvent::Frame(frame)).await.is_err() {
                                let _ = ws.close(None).await;
                                return Ended::Stop;
                            }
                        }
                        // A newer server may send frames this client does not know.
                        Err(e) => tracing::debug!(error = %e, "ignoring unknown chat frame"),
                    },
                    Some(Ok(WsMessage::Close(frame))) => {
                        let why = frame
                            .map(|f| format!("server closed the connection: {}", f.reason))
                            .unwrap_or_else(|| "server closed the connection".into());
                        return Ended::Retry(why);
                    }
                    Some(Ok(_)) => {} // ping/pong are answered by tungstenite
                    Some(Err(e)) => return Ended::Retry(describe(&e)),
                    None => return Ended::Retry("connection lost".into()),
                },
                out = self.outgoing.recv() => match out {
                    Some(frame) => {
                        let text = match serde_json::to_string(&frame) {
                            Ok(t) => t,
                            Err(e) => {
                                tracing::warn!(error = %e, "cannot encode chat frame");
                                continue;
                            }
                        };
                        if let Err(e) = ws.send(WsMessage::text(text)).await {
                            return Ended::Retry(describe(&e));
                        }
                    }
                    None => {
                        let _ = ws.close(None).await;
                        return Ended::Stop;
                    }
                },
            }
        }
    }
}

/// Refusals that will not change by retrying end the client; the rest retry.
fn classify(e: tungstenite::Error) -> Ended {
    if let tungstenite::Error::Http(res) = &e {
        let status = res.status().as_u16();
        let reason = match status {
            401 => Some("the server did not accept the session: sign in again"),
            403 => Some("not allowed to join this chat"),
            404 => Some("no such channel"),
            _ => None,
        };
        if let Some(r) = reason {
            return Ended::Fatal(r.to_string());
        }
    }
    Ended::Retry(describe(&e))
}

/// A sentence for an error; never includes the URL (it carries the token).
fn describe(e: &tungstenite::Error) -> String {
    match e {
        tungstenite::Error::Io(io) => format!("network error: {}", io.kind()),
        tungstenite::Error::Http(res) => format!("server answered HTTP {}", res.status()),
        tungstenite::Error::Url(_) => "invalid chat address".to_string(),
        tungstenite::Error::Tls(t) => format!("TLS error: {t}"),
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            "connection closed".to_string()
        }
        tungstenite::Error::Protocol(p) => format!("protocol error: {p}"),
        other => format!("websocket error: {other}"),
    }
}

#[cfg(test)]
mod tests;
