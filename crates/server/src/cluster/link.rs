//! The node's Redis connections: a multiplexed command connection (it
//! reconnects by itself) with one publisher task that pipelines every
//! `PUBLISH`, and one subscriber connection that listens to every chat topic
//! and the cache topic, reconnecting and resubscribing with backoff.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::broker::RedisBroker;
use crate::channels::cache::ChannelCache;
use crate::chat::ChatHub;

/// Every chat topic is `aethex:chat:{channel}`.
pub const CHAT_PREFIX: &str = "aethex:chat:";
/// Cache invalidations: `c:{channel name}` or `t:{channel id}` (blocked terms).
pub const CACHE_TOPIC: &str = "aethex:cache";
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Most queued publications sent in one pipeline.
const PIPELINE: usize = 512;

/// Called instead when a publication could not reach Redis.
pub type Fallback = Box<dyn FnOnce() + Send>;

/// Publications on their way to Redis, sent in one pipeline.
pub struct Outgoing {
    /// `(topic, payload)` in order.
    pub items: Vec<(String, Vec<u8>)>,
    /// Told `true` once Redis has accepted them (their order is then fixed).
    pub done: Option<oneshot::Sender<bool>>,
    /// Run when Redis failed (e.g. deliver on this node only).
    pub fallback: Option<Fallback>,
}

/// Cheap handle to the node's Redis link.
#[derive(Clone)]
pub struct Link {
    client: redis::Client,
    conn: ConnectionManager,
    out: mpsc::UnboundedSender<Outgoing>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client holds the URL (maybe a password): not printed.
        f.debug_struct("Link").finish_non_exhaustive()
    }
}

impl Link {
    /// Connects (fails when Redis cannot be reached now) and starts the publisher.
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(MAX_BACKOFF);
        let conn = client.get_connection_manager_with_config(config).await?;
        let (out, rx) = mpsc::unbounded_channel();
        tokio::spawn(publisher(conn.clone(), rx));
        Ok(Link { client, conn, out })
    }

    /// A command connection (shared, multiplexed).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Queues publications (never blocks).
    pub fn send(&self, out: Outgoing) {
        if let Err(mpsc::error::SendError(out)) = self.out.send(out) {
            fail(out);
        }
    }

    /// Queues one publication without waiting or a fallback.
    pub fn publish(&self, topic: &str, payload: Vec<u8>) {
        self.send(Outgoing {
            items: vec![(topic.to_string(), payload)],
            done: None,
            fallback: None,
        });
    }

    /// Listens to every chat topic and the cache topic until `stop`,
    /// reconnecting with backoff.
    pub async fn subscribe(self, sink: Sink, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        let mut healthy = true;
        loop {
            match self.listen(&sink, &stop).await {
                Ok(()) => return,
                Err(e) => {
                    metrics::counter!("aethex_cluster_redis_errors_total").increment(1);
                    if healthy {
                        tracing::error!(error = %e, "Redis subscription lost: other nodes' chat is not reaching this node until it is back");
                    }
                    healthy = false;
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
            if let Ok(()) = self.ping().await {
                backoff = Duration::from_millis(100);
                if !healthy {
                    tracing::info!("Redis reachable again: resubscribing");
                    healthy = true;
                }
            }
        }
    }

    async fn ping(&self) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("PING").query_async::<()>(&mut conn).await
    }

    /// One subscription session: `Ok` when stopped, `Err` when it broke.
    async fn listen(&self, sink: &Sink, stop: &CancellationToken) -> redis::RedisResult<()> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.psubscribe(format!("{CHAT_PREFIX}*")).await?;
        pubsub.subscribe(CACHE_TOPIC).await?;
        let mut messages = pubsub.into_on_message();
        loop {
            let msg = tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                m = messages.next() => m,
            };
            let Some(msg) = msg else {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "subscription connection closed",
                )));
            };
            sink.deliver(msg.get_channel_name(), msg.get_payload_bytes());
        }
    }
}

/// Where the subscriber hands what other nodes (and this one) published.
pub struct Sink {
    /// Chat events go to this node's subscribers.
    pub broker: Arc<RedisBroker>,
    /// Channel row invalidations.
    pub channels: Arc<ChannelCache>,
    /// Blocked-terms invalidations.
    pub chat: Arc<ChatHub>,
}

impl Sink {
    fn deliver(&self, topic: &str, payload: &[u8]) {
        if let Some(channel) = topic.strip_prefix(CHAT_PREFIX) {
            self.broker.deliver(channel, payload);
        } else if topic == CACHE_TOPIC {
            match std::str::from_utf8(payload)
                .ok()
                .and_then(|p| p.split_once(':'))
            {
                Some(("c", name)) => self.channels.invalidate_local(name),
                Some(("t", id)) => match id.parse() {
                    Ok(id) => self.chat.invalidate_terms_local(id),
                    Err(_) => tracing::warn!("unreadable terms invalidation from Redis"),
                },
                _ => tracing::warn!("unreadable cache invalidation from Redis"),
            }
        }
    }
}

fn fail(out: Outgoing) {
    if let Some(f) = out.fallback {
        f();
    }
    if let Some(done) = out.done {
        let _ = done.send(false);
    }
}

/// Sends whatever is queued as one pipeline; on failure every publication's
/// fallback runs (this node keeps working alone) and the error is counted.
async fn publisher(mut conn: ConnectionManager, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    let mut batch = Vec::with_capacity(PIPELINE);
    let mut healthy = true;
    while rx.recv_many(&mut batch, PIPELINE).await > 0 {
        let mut pipe = redis::pipe();
        for out in &batch {
            for (topic, payload) in &out.items {
                pipe.cmd("PUBLISH")
                    .arg(topic)
                    .arg(payload.as_slice())
                    .ignore();
            }
        }
        match pipe.query_async::<()>(&mut conn).await {
            Ok(()) => {
                if !healthy {
                    tracing::info!("Redis publishing works again");
                    healthy = true;
                }
                for out in batch.drain(..) {
                    if let Some(done) = out.done {
                        let _ = done.send(true);
                    }
                }
            }
            Err(e) => {
                metrics::counter!("aethex_cluster_redis_errors_total").increment(1);
                if healthy {
                    tracing::error!(error = %e, "publishing to Redis failed: chat reaches this node's clients only until it is back");
                    healthy = false;
                }
                batch.drain(..).for_each(fail);
            }
        }
    }
}
