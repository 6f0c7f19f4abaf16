//! Chat: the WebSocket endpoint, moderation, viewer counts and REST routes.
//!
//! - [`hub`]: fan-out through a [`hub::Broker`] (in-process now; the seam for
//!   a multi-node broker).
//! - [`writer`]: the batched committer; a message is broadcast only after its
//!   row is committed.
//! - [`ws`]: `GET /ws/chat/{channel}`; [`rest`]: the `/api/v1` routes.
//! - [`moderation`]: the rules both share; [`store`]: the SQL;
//!   [`presence`]: viewer counts.

pub mod hub;
pub mod moderation;
pub mod presence;
pub mod rest;
pub mod store;
pub mod writer;
pub mod ws;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use aethex_proto::ServerFrame;
use axum::Router;
use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::db::Db;
use crate::error::ApiError;
use crate::state::AppState;
use hub::{Broker, Event, LocalBroker};
use moderation::Pacer;
use presence::{Presence, ViewerTotals};
use writer::Writer;

/// Every way a chat action can be refused. Over WebSocket it becomes an
/// `error` frame with [`ChatError::code`]; over REST an [`ApiError`].
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Anonymous caller tried to act.
    #[error("sign in to chat")]
    SignIn,
    /// The caller's role does not allow it.
    #[error("{0}")]
    NotAllowed(String),
    /// Over the per-user message rate.
    #[error("you are sending messages too fast, wait {0} s")]
    RateLimited(u64),
    /// Slow mode interval not over yet.
    #[error("slow mode is on, wait {0} s")]
    SlowMode(u64),
    /// Banned in this channel.
    #[error("you are banned from this chat")]
    Banned,
    /// Timed out in this channel.
    #[error("you are timed out for {0} more s")]
    TimedOut(u64),
    /// Text over 500 characters.
    #[error("messages are at most 500 characters")]
    TooLong,
    /// The message contains a term the channel blocks (extension code).
    #[error("your message contains a term this channel blocks")]
    BlockedTerm,
    /// Malformed frame or field.
    #[error("{0}")]
    BadRequest(String),
    /// A field breaks a rule.
    #[error("{field}: {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What rule it breaks.
        reason: String,
    },
    /// Nothing there (extension code).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Storage failed; logged, never detailed to the client.
    #[error("internal error, try again")]
    Internal(#[from] anyhow::Error),
}

impl ChatError {
    /// The WebSocket `error` code (contract codes plus `blocked_term`,
    /// `not_found`, `internal`).
    pub fn code(&self) -> &'static str {
        match self {
            ChatError::SignIn | ChatError::NotAllowed(_) => "not_allowed",
            ChatError::RateLimited(_) => "rate_limited",
            ChatError::SlowMode(_) => "slow_mode",
            ChatError::Banned => "banned",
            ChatError::TimedOut(_) => "timed_out",
            ChatError::TooLong => "too_long",
            ChatError::BlockedTerm => "blocked_term",
            ChatError::BadRequest(_) | ChatError::Invalid { .. } => "bad_request",
            ChatError::NotFound(_) => "not_found",
            ChatError::Internal(_) => "internal",
        }
    }

    /// The `error` frame for this refusal.
    pub fn to_frame(&self) -> ServerFrame {
        if let ChatError::Internal(e) = self {
            tracing::error!(error = ?e, "chat internal error");
        }
        ServerFrame::Error {
            code: self.code().to_string(),
            message: self.to_string(),
        }
    }
}

impl From<sqlx::Error> for ChatError {
    fn from(e: sqlx::Error) -> Self {
        ChatError::Internal(anyhow::Error::new(e).context("database"))
    }
}

impl From<ApiError> for ChatError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unauthorized => ChatError::SignIn,
            ApiError::Forbidden(m) => ChatError::NotAllowed(m),
            ApiError::NotFound(w) => ChatError::NotFound(w),
            ApiError::Invalid { field, reason } => ChatError::Invalid { field, reason },
            ApiError::Internal(e) => ChatError::Internal(e),
            other => ChatError::BadRequest(other.to_string()),
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::SignIn => ApiError::Unauthorized,
            ChatError::NotAllowed(m) => ApiError::Forbidden(m),
            ChatError::RateLimited(s) | ChatError::SlowMode(s) | ChatError::TimedOut(s) => {
                ApiError::RateLimited(Duration::from_secs(s))
            }
            e @ (ChatError::Banned | ChatError::TooLong | ChatError::BlockedTerm) => {
                ApiError::Forbidden(e.to_string())
            }
            ChatError::BadRequest(m) => ApiError::BadRequest(m),
            ChatError::Invalid { field, reason } => ApiError::Invalid { field, reason },
            ChatError::NotFound(w) => ApiError::NotFound(w),
            ChatError::Internal(e) => ApiError::Internal(e),
        }
    }
}

/// Fan-out point for chat events and presence, shared by every feature.
pub struct ChatHub {
    broker: Arc<dyn Broker>,
    presence: Arc<Presence>,
    writer: OnceLock<Writer>,
    ticker: OnceLock<()>,
    terms: Mutex<HashMap<i64, Arc<[String]>>>,
    /// Per-user rate limit and slow-mode bookkeeping.
    pub pacer: Pacer,
    shutdown: CancellationToken,
    idle_timeout: Duration,
    totals: OnceLock<Arc<dyn ViewerTotals>>,
    on_terms_change: OnceLock<TermsHook>,
}

/// Told the channel id whose blocked terms changed (cluster: other nodes).
pub type TermsHook = Box<dyn Fn(i64) + Send + Sync>;

impl std::fmt::Debug for ChatHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatHub")
            .field("broker", &self.broker)
            .field("presence", &self.presence)
            .field("totals", &self.totals.get())
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for ChatHub {
    fn default() -> Self {
        ChatHub::new(20)
    }
}

impl ChatHub {
    /// A hub on the in-process broker; `rate_limit` = messages per 30 s for
    /// viewers (owner and moderators 5×; 0 = off).
    pub fn new(rate_limit: u32) -> Self {
        ChatHub::with_broker(Arc::new(LocalBroker::default()), rate_limit)
    }

    /// A hub on another broker (e.g. one shared by several server nodes).
    pub fn with_broker(broker: Arc<dyn Broker>, rate_limit: u32) -> Self {
        ChatHub {
            broker,
            presence: Arc::new(Presence::default()),
            writer: OnceLock::new(),
            ticker: OnceLock::new(),
            terms: Mutex::new(HashMap::new()),
            pacer: Pacer::new(rate_limit),
            shutdown: CancellationToken::new(),
            idle_timeout: ws::IDLE_TIMEOUT,
            totals: OnceLock::new(),
            on_terms_change: OnceLock::new(),
        }
    }

    /// Viewer counts come from `totals` (e.g. summed over cluster nodes),
    /// which also announces them; set once, before serving.
    pub fn set_viewer_totals(&self, totals: Arc<dyn ViewerTotals>) {
        let _ = self.totals.set(totals);
    }

    /// Called after this node changes a channel's blocked terms; set once.
    pub fn on_terms_change(&self, hook: TermsHook) {
        let _ = self.on_terms_change.set(hook);
    }

    /// The broker events go through.
    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.broker
    }

    /// Sets how long a silent client stays connected (pings every third).
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// How long a silent client stays connected.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Sends `frame` to every chat client of `channel` (serialised once).
    pub fn publish(&self, channel: &str, frame: ServerFrame) {
        if let Some(event) = frame_event(&frame) {
            self.broker.publish(channel, event);
        }
    }

    /// Sends `frame` to this node's chat clients of `channel` only.
    pub fn publish_local(&self, channel: &str, frame: ServerFrame) {
        if let Some(event) = frame_event(&frame) {
            self.broker.publish_local(channel, event);
        }
    }

    /// Publishes a prepared event.
    pub fn publish_event(&self, channel: &str, event: Event) {
        self.broker.publish(channel, event);
    }

    /// Every event of `channel` from now on.
    pub fn subscribe(&self, channel: &str) -> broadcast::Receiver<Event> {
        self.broker.subscribe(channel)
    }

    /// Distinct people watching `channel` right now (every node's, in
    /// cluster mode).
    pub fn viewer_count(&self, channel: &str) -> u64 {
        let local = self.presence.count(channel);
        match self.totals.get() {
            Some(t) => t.total(channel).unwrap_or(local),
            None => local,
        }
    }

    /// The presence table.
    pub fn presence(&self) -> &Arc<Presence> {
        &self.presence
    }

    /// The batched writer (started on first use).
    pub fn writer(&self, db: &Db) -> &Writer {
        self.writer
            .get_or_init(|| Writer::start(db.clone(), self.broker.clone()))
    }

    /// Starts the once-a-second task that announces viewer counts and prunes
    /// idle bookkeeping (idempotent; needs a tokio runtime).
    pub fn start_ticker(self: &Arc<Self>) {
        self.ticker.get_or_init(|| {
            tokio::spawn(tick(Arc::downgrade(self), self.shutdown.clone()));
        });
    }

    /// Cancelled when the server stops: every connection closes.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Closes every chat connection (server shutdown).
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// The channel's blocked terms (cached until changed).
    pub async fn blocked_terms(
        &self,
        db: &Db,
        channel_id: i64,
    ) -> Result<Arc<[String]>, ChatError> {
        if let Some(t) = self.lock_terms().get(&channel_id) {
            return Ok(t.clone());
        }
        let terms: Arc<[String]> = store::blocked_terms(db, channel_id).await?.into();
        let mut map = self.lock_terms();
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(channel_id, terms.clone());
        Ok(terms)
    }

    /// Forgets the cached terms of a channel after a change (and tells
    /// other nodes, in cluster mode).
    pub fn invalidate_terms(&self, channel_id: i64) {
        self.invalidate_terms_local(channel_id);
        if let Some(hook) = self.on_terms_change.get() {
            hook(channel_id);
        }
    }

    /// Forgets the cached terms of a channel on this node only.
    pub fn invalidate_terms_local(&self, channel_id: i64) {
        self.lock_terms().remove(&channel_id);
    }

    fn lock_terms(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<[String]>>> {
        self.terms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn tick(hub: Weak<ChatHub>, stop: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        let Some(hub) = hub.upgrade() else { return };
        let changes = hub.presence.changes();
        // With cluster totals the cluster announces (sums, not this node's count).
        if hub.totals.get().is_none() {
            for (channel, count) in changes {
                hub.publish(&channel, ServerFrame::Viewers { count });
            }
        }
        hub.broker.prune();
        hub.pacer.prune();
    }
}

fn frame_event(frame: &ServerFrame) -> Option<Event> {
    match serde_json::to_string(frame) {
        Ok(json) => Some(Event {
            frame: Some(Utf8Bytes::from(json)),
            message_id: None,
            control: None,
        }),
        Err(e) => {
            tracing::error!(error = %e, "serialising a chat frame failed");
            None
        }
    }
}

/// `GET /ws/chat/{channel}` (mounted at the top level).
pub fn ws_router() -> Router<AppState> {
    Router::new().route("/ws/chat/{channel}", axum::routing::get(ws::handler))
}

/// Chat routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    rest::router()
}
