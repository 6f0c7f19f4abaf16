//! `GET /ws/chat/{channel}`: `hello` → `history` → live events.
//!
//! One task per connection selects over the socket, the channel's broadcast
//! ring (the bounded per-client queue: a client that falls a whole ring
//! behind is disconnected with a reason), the acknowledgements of its own
//! pending sends, a ping timer and server shutdown. Outgoing events arrive
//! already serialised, in runs (see [`super::hub`]), and are written as
//! shared bytes: every frame of a run is buffered, then one flush (one
//! syscall) sends them all.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use aethex_proto::{ClientFrame, Role, ServerFrame};
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Request};
use axum::response::{IntoResponse, Response};
use futures_util::stream::FuturesUnordered;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, oneshot};
use tokio::time::{Instant, timeout};

use super::hub::{Control, Event};
use super::moderation;
use super::presence::ViewerKey;
use super::store::{self, NewMessage, Restriction};
use super::writer::{Submission, WriteError};
use super::{ChatError, ChatHub};
use crate::auth::session::{token_from_parts, user_for_token};
use crate::auth::store::UserRow;
use crate::authz;
use crate::channels::{self, ChannelRow};
use crate::db::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiPath, ClientIp};
use crate::state::AppState;

/// Largest frame or message a client may send (a 500-character message,
/// fully `\u`-escaped, still fits). Larger closes the socket with 1009.
pub const MAX_FRAME_BYTES: usize = 8 * 1024;
/// Default for how long a client may stay silent (not even a pong) before it
/// is disconnected (`--chat-idle-timeout`); the server pings every third.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// A write that cannot complete this long means the client stopped reading.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages sent on join.
pub const HISTORY_LEN: i64 = 50;
/// Most messages a resuming client (`?after={id}`) is sent.
pub const RESUME_LEN: i64 = 1000;
/// Most events written per flush: a whole coalesced run.
const FORWARD_BATCH: usize = super::hub::MAX_RUN;

/// Upgrades to a chat connection. Token by `?token=`, bearer header or
/// cookie; none = anonymous (read only); a presented but invalid one = 401.
/// `?viewer=` is the player's stable per-browser id for viewer counts.
pub async fn handler(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let Query(q) = query.map_err(|_| ApiError::BadRequest("invalid query string".into()))?;
    let after =
        match q.get("after") {
            None => None,
            Some(v) => Some(v.parse::<i64>().ok().filter(|id| *id >= 0).ok_or_else(|| {
                ApiError::Invalid {
                    field: "after",
                    reason: "must be a message id (a whole number, 0 or more)".into(),
                }
            })?),
        };
    let channel = channels::find(&state, &name).await?;
    let upgrade = upgrade.map_err(|e| {
        ApiError::BadRequest(format!("this is a WebSocket endpoint ({})", e.body_text()))
    })?;
    let token = q.get("token").cloned().or_else(|| {
        let (mut parts, ()) = Request::new(()).into_parts();
        parts.headers = headers;
        token_from_parts(&parts)
    });
    let user = match token {
        None => None,
        Some(t) => Some(
            user_for_token(&state, &t)
                .await?
                .ok_or(ApiError::Unauthorized)?,
        ),
    };
    let role = authz::role_in(&state, &channel, user.as_ref()).await?;
    let restriction = match &user {
        Some(u) => store::restriction(&state.db, channel.id, u.id).await?,
        None => None,
    };
    let key = ViewerKey::for_connection(
        user.as_ref().map(|u| u.id),
        q.get("viewer").map(String::as_str),
        ip,
    );
    let conn = Conn {
        username: user.as_ref().map(|u| Arc::from(u.username.as_str())),
        hub: state.chat.clone(),
        state,
        channel,
        user,
        role,
        restriction,
        key,
        after,
        last_history_id: 0,
    };
    Ok(upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // Small read buffer: clients send little, idle sockets are the common
        // case, and tungstenite zeroes the buffer's free room before every
        // read attempt (each wake-up of the connection tries one). Larger
        // frames grow it as needed. Writes buffer until `forward` flushes.
        .read_buffer_size(1024)
        .on_upgrade(move |socket| run(socket, conn))
        .into_response())
}

/// One connection's view of the chat.
struct Conn {
    state: AppState,
    hub: Arc<ChatHub>,
    channel: Arc<ChannelRow>,
    user: Option<UserRow>,
    username: Option<Arc<str>>,
    role: Role,
    restriction: Option<Restriction>,
    key: ViewerKey,
    /// `?after={id}`: a resuming client's last seen message.
    after: Option<i64>,
    last_history_id: i64,
}

/// How a session ended.
enum End {
    /// The peer left or the socket broke: nothing more to send.
    Quiet,
    /// Close with a code and a reason.
    Close(u16, String),
}

/// Counts open connections in the `aethex_chat_connections` gauge.
struct ConnectionGauge;

impl ConnectionGauge {
    fn new() -> Self {
        metrics::gauge!("aethex_chat_connections").increment(1.0);
        ConnectionGauge
    }
}

impl Drop for ConnectionGauge {
    fn drop(&mut self) {
        metrics::gauge!("aethex_chat_connections").decrement(1.0);
    }
}

type Pending = FuturesUnordered<oneshot::Receiver<Result<i64, WriteError>>>;

async fn run(mut socket: WebSocket, mut conn: Conn) {
    conn.hub.start_ticker();
    let _gauge = ConnectionGauge::new();
    // The creator watching their own chat is not an audience member (as on
    // Twitch): only other people count as viewers.
    let _presence = (conn.role != Role::Owner).then(|| {
        conn.hub
            .presence()
            .join(&conn.channel.name, conn.key.clone())
    });
    // Subscribe before reading history, so nothing falls between the two.
    let mut rx = conn.hub.subscribe(&conn.channel.name);
    let end = match greet(&mut socket, &mut conn).await {
        Ok(()) => session(&mut socket, &mut conn, &mut rx).await,
        Err(end) => end,
    };
    if let End::Close(code, reason) = end {
        tracing::debug!(channel = %conn.channel.name, code, %reason, "closing chat connection");
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        };
        let _ = timeout(
            Duration::from_secs(2),
            socket.send(Message::Close(Some(frame))),
        )
        .await;
    }
}

fn text(frame: &ServerFrame) -> Message {
    // Serialising our own enum cannot fail; an empty frame would only be odd.
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(frame).unwrap_or_default(),
    ))
}

async fn write(socket: &mut WebSocket, msg: Message) -> Result<(), End> {
    write_all(socket, vec![msg]).await
}

/// Buffers every message, then flushes once; a client whose socket stays
/// full for [`WRITE_TIMEOUT`] is closed with 1008.
async fn write_all(socket: &mut WebSocket, out: Vec<Message>) -> Result<(), End> {
    let mut send = pin!(async {
        for m in out {
            socket.feed(m).await?;
        }
        socket.flush().await
    });
    // Almost every write completes at once: arm a timer only when the
    // socket is full, instead of one per write.
    let first = std::future::poll_fn(|cx| Poll::Ready(send.as_mut().poll(cx))).await;
    let sent = match first {
        Poll::Ready(r) => Ok(r),
        Poll::Pending => timeout(WRITE_TIMEOUT, send).await,
    };
    match sent {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(End::Quiet),
        Err(_) => Err(End::Close(1008, "too slow: stopped reading".into())),
    }
}

async fn greet(socket: &mut WebSocket, conn: &mut Conn) -> Result<(), End> {
    write(
        socket,
        text(&ServerFrame::Hello {
            channel: conn.channel.name.clone(),
            username: conn.username.as_ref().map(|u| u.to_string()),
            role: conn.role,
        }),
    )
    .await?;
    let (db, channel_id) = (&conn.state.db, conn.channel.id);
    let loaded = match conn.after {
        Some(after) => store::after(db, channel_id, after, RESUME_LEN).await,
        None => store::recent(db, channel_id, None, HISTORY_LEN).await,
    };
    let messages = match loaded {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "loading chat history failed");
            return Err(End::Close(1011, "could not load the chat history".into()));
        }
    };
    conn.last_history_id = messages.last().map_or(conn.after.unwrap_or(0), |m| m.id);
    write(socket, text(&ServerFrame::History { messages })).await?;
    let count = conn.hub.viewer_count(&conn.channel.name);
    write(socket, text(&ServerFrame::Viewers { count })).await
}

async fn session(
    socket: &mut WebSocket,
    conn: &mut Conn,
    rx: &mut broadcast::Receiver<Event>,
) -> End {
    let shutdown = conn.hub.shutdown_token().clone();
    let mut cancelled = pin!(shutdown.cancelled());
    let mut pending = Pending::new();
    let idle = conn.hub.idle_timeout();
    let every = idle / 3;
    let mut ping = tokio::time::interval_at(Instant::now() + every, every);
    let mut last_heard = Instant::now();
    loop {
        let step = tokio::select! {
            _ = &mut cancelled => Err(End::Close(1001, "server is shutting down".into())),
            incoming = socket.recv() => match incoming {
                None => Err(End::Quiet),
                Some(Err(e)) => Err(receive_error(&e.to_string())),
                Some(Ok(msg)) => {
                    last_heard = Instant::now();
                    match msg {
                        Message::Text(t) => match conn.handle(t.as_str(), &mut pending).await {
                            Some(reply) => write(socket, text(&reply)).await,
                            None => Ok(()),
                        },
                        Message::Binary(_) => {
                            let e = ChatError::BadRequest("send JSON text frames".into());
                            write(socket, text(&e.to_frame())).await
                        }
                        Message::Close(_) => Err(End::Quiet),
                        Message::Ping(_) | Message::Pong(_) => Ok(()),
                    }
                }
            },
            ev = rx.recv() => match ev {
                Ok(ev) => forward(socket, conn, rx, ev).await,
                Err(RecvError::Lagged(n)) => Err(too_slow(n)),
                Err(RecvError::Closed) => Err(End::Close(1001, "server is shutting down".into())),
            },
            Some(done) = pending.next(), if !pending.is_empty() => match done {
                Ok(Ok(_id)) => Ok(()),
                Ok(Err(e)) => {
                    let e = ChatError::Internal(anyhow::anyhow!(e));
                    write(socket, text(&e.to_frame())).await
                }
                Err(_) => {
                    let e = ChatError::Internal(anyhow::anyhow!("writer dropped a message"));
                    write(socket, text(&e.to_frame())).await
                }
            },
            _ = ping.tick() => {
                if last_heard.elapsed() >= idle {
                    Err(End::Close(1001, "idle timeout".into()))
                } else {
                    write(socket, Message::Ping(Default::default())).await
                }
            }
        };
        if let Err(end) = step {
            return end;
        }
    }
}

fn receive_error(e: &str) -> End {
    if e.contains("too long") || e.contains("limit") {
        End::Close(
            1009,
            format!("frame too large (limit {MAX_FRAME_BYTES} bytes)"),
        )
    } else {
        End::Close(1002, "protocol error".into())
    }
}

fn too_slow(missed: u64) -> End {
    End::Close(
        1008,
        format!("too slow: fell {missed} events behind, reconnect"),
    )
}

/// Writes `first` and whatever else is already queued (up to a batch), then
/// flushes once.
async fn forward(
    socket: &mut WebSocket,
    conn: &mut Conn,
    rx: &mut broadcast::Receiver<Event>,
    first: Event,
) -> Result<(), End> {
    let mut batch = Vec::with_capacity(16);
    batch.push(first);
    while batch.len() < FORWARD_BATCH {
        match rx.try_recv() {
            Ok(ev) => batch.push(ev),
            Err(TryRecvError::Lagged(n)) => return Err(too_slow(n)),
            Err(_) => break,
        }
    }
    let mut out = Vec::with_capacity(batch.len());
    for ev in batch {
        if let Some(c) = ev.control
            && let Some(reply) = conn.on_control(c)
        {
            out.push(text(&reply));
        }
        let stale = ev.message_id.is_some_and(|id| id <= conn.last_history_id);
        if let (Some(frame), false) = (ev.frame, stale) {
            out.push(Message::Text(frame));
        }
    }
    if out.is_empty() {
        return Ok(());
    }
    write_all(socket, out).await
}

impl Conn {
    /// Applies a control event; returns what to tell this client, if anything.
    fn on_control(&mut self, c: Control) -> Option<ServerFrame> {
        let me = self.user.as_ref()?.id;
        match c {
            Control::Restricted { user_id, until } if user_id == me => {
                let r = Restriction::from_expiry(until);
                self.restriction = Some(r);
                Some(restriction_error(r, now_ms()).to_frame())
            }
            Control::Lifted { user_id } if user_id == me => {
                self.restriction = None;
                None
            }
            _ => None,
        }
    }

    /// Handles one client frame; returns the refusal to send back, if any.
    async fn handle(&mut self, raw: &str, pending: &mut Pending) -> Option<ServerFrame> {
        let frame: ClientFrame = match serde_json::from_str(raw) {
            Ok(f) => f,
            Err(e) => {
                return Some(ChatError::BadRequest(format!("invalid frame: {e}")).to_frame());
            }
        };
        let result = match frame {
            ClientFrame::Send { text } => self.send(text, pending).await,
            other => self.moderate(other).await,
        };
        result.err().map(|e| e.to_frame())
    }

    async fn moderate(&self, frame: ClientFrame) -> Result<(), ChatError> {
        let actor = self.user.as_ref().ok_or_else(|| {
            ChatError::NotAllowed("only the channel owner and moderators can do that".into())
        })?;
        let (state, channel) = (&self.state, &*self.channel);
        match frame {
            ClientFrame::Send { .. } => Ok(()),
            ClientFrame::Delete { id } => {
                moderation::delete_message(state, actor, id, Some(&channel.name)).await
            }
            ClientFrame::Timeout { username, seconds } => {
                moderation::restrict(state, channel, actor, &username, Some(seconds)).await
            }
            ClientFrame::Ban { username } => {
                moderation::restrict(state, channel, actor, &username, None).await
            }
            ClientFrame::Unban { username } => {
                moderation::unban(state, channel, actor, &username).await
            }
            ClientFrame::Slow { seconds } => {
                moderation::set_slow(state, channel, actor, seconds).await
            }
        }
    }

    async fn send(&mut self, text: String, pending: &mut Pending) -> Result<(), ChatError> {
        let received = std::time::Instant::now();
        let (Some(user), Some(username)) = (&self.user, &self.username) else {
            return Err(ChatError::NotAllowed("sign in to chat".into()));
        };
        if let Some(r) = self.restriction {
            let now = now_ms();
            if r.active(now) {
                return Err(restriction_error(r, now));
            }
            self.restriction = None;
        }
        let text = moderation::check_text(&text)?;
        let terms = self
            .hub
            .blocked_terms(&self.state.db, self.channel.id)
            .await?;
        moderation::check_terms(&text, &terms)?;
        let slow = channels::find(&self.state, &self.channel.name)
            .await?
            .slow_mode_seconds
            .max(0) as u64;
        self.hub
            .pacer
            .admit(self.channel.id, user.id, self.role, slow)?;
        let (done, ack) = oneshot::channel();
        self.hub
            .writer(&self.state.db)
            .submit(Submission {
                message: NewMessage {
                    channel_id: self.channel.id,
                    user_id: user.id,
                    text,
                    sent_at: 0,
                },
                channel: Arc::from(self.channel.name.as_str()),
                username: username.clone(),
                received,
                done,
            })
            .await
            .map_err(|e| ChatError::Internal(anyhow::anyhow!(e)))?;
        pending.push(ack);
        Ok(())
    }
}

fn restriction_error(r: Restriction, now: i64) -> ChatError {
    match r {
        Restriction::Banned => ChatError::Banned,
        Restriction::TimedOut(until) => {
            ChatError::TimedOut(((until - now).max(0) as u64).div_ceil(1000).max(1))
        }
    }
}
