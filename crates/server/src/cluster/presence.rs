//! Viewer presence across nodes. Every second each node writes its own count
//! per channel into a Redis hash (`aethex:viewers:{channel}`, field = node id)
//! and its heartbeat into a sorted set (`aethex:nodes`, score = Unix ms).
//! Readers sum only the fields of nodes whose heartbeat is fresh, so a node
//! that dies stops counting within [`STALE_AFTER`] plus one tick, without
//! anyone cleaning up after it. (Redis 7.0 has no per-field expiry, hence the
//! heartbeat set.) A person watching through two nodes counts on both.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aethex_proto::ServerFrame;
use tokio_util::sync::CancellationToken;

use super::link::Link;
use crate::chat::ChatHub;
use crate::chat::presence::ViewerTotals;
use crate::db::now_ms;

/// Node heartbeats (sorted set, score = Unix ms of the last write).
pub const NODES_KEY: &str = "aethex:nodes";
/// A node whose heartbeat is older than this no longer counts.
pub const STALE_AFTER: Duration = Duration::from_secs(10);
/// How often counts are written and totals read.
pub const TICK: Duration = Duration::from_secs(1);
/// A total someone asked for is kept fresh this long.
const WANTED_FOR: Duration = Duration::from_secs(30);
/// Hashes of channels nobody watches any more expire after this.
const HASH_TTL_SECS: i64 = 120;

fn viewers_key(channel: &str) -> String {
    format!("aethex:viewers:{channel}")
}

#[derive(Debug, Default)]
struct Book {
    totals: HashMap<String, u64>,
    wanted: HashMap<String, Instant>,
    announced: HashMap<String, u64>,
    written: HashSet<String>,
}

/// This node's view of the cluster's viewer totals.
#[derive(Debug)]
pub struct ClusterViewers {
    node_id: String,
    link: Link,
    book: Mutex<Book>,
}

impl ViewerTotals for ClusterViewers {
    fn total(&self, channel: &str) -> Option<u64> {
        let mut book = self.lock();
        book.wanted.insert(channel.to_string(), Instant::now());
        book.totals.get(channel).copied()
    }
}

impl ClusterViewers {
    /// Totals for node `node_id` over `link`.
    pub fn new(node_id: String, link: Link) -> Self {
        ClusterViewers {
            node_id,
            link,
            book: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes this node's counts and heartbeat, then reads the totals of
    /// `channels`; returns them.
    async fn sync(
        &self,
        local: &HashMap<String, u64>,
        channels: &[String],
    ) -> redis::RedisResult<HashMap<String, u64>> {
        let now = now_ms();
        let gone: Vec<String> = {
            let book = self.lock();
            book.written
                .iter()
                .filter(|c| !local.contains_key(*c))
                .cloned()
                .collect()
        };
        let mut pipe = redis::pipe();
        pipe.cmd("ZADD")
            .arg(NODES_KEY)
            .arg(now)
            .arg(&self.node_id)
            .ignore();
        for (channel, count) in local {
            let key = viewers_key(channel);
            pipe.cmd("HSET")
                .arg(&key)
                .arg(&self.node_id)
                .arg(*count)
                .ignore();
            pipe.cmd("EXPIRE").arg(&key).arg(HASH_TTL_SECS).ignore();
        }
        for channel in &gone {
            pipe.cmd("HDEL")
                .arg(viewers_key(channel))
                .arg(&self.node_id)
                .ignore();
        }
        let fresh_from = now - STALE_AFTER.as_millis() as i64;
        pipe.cmd("ZRANGE")
            .arg(NODES_KEY)
            .arg(fresh_from)
            .arg("+inf")
            .arg("BYSCORE");
        for channel in channels {
            pipe.cmd("HGETALL").arg(viewers_key(channel));
        }
        let mut conn = self.link.conn();
        let (fresh, counts): (Vec<String>, Vec<HashMap<String, u64>>) = {
            let mut replies: Vec<redis::Value> = pipe.query_async(&mut conn).await?;
            if replies.is_empty() {
                return Ok(HashMap::new());
            }
            let rest = replies.split_off(1);
            let fresh: Vec<String> = redis::from_redis_value(replies.remove(0))?;
            let counts = rest
                .into_iter()
                .map(redis::from_redis_value)
                .collect::<Result<_, _>>()?;
            (fresh, counts)
        };
        let fresh: HashSet<String> = fresh.into_iter().collect();
        {
            let mut book = self.lock();
            book.written = local.keys().cloned().collect();
        }
        Ok(channels
            .iter()
            .zip(counts)
            .map(|(channel, per_node)| {
                let total = per_node
                    .iter()
                    .filter(|(node, _)| fresh.contains(*node))
                    .map(|(_, n)| *n)
                    .sum();
                (channel.clone(), total)
            })
            .collect())
    }

    /// Leaves the cluster's counts at once (clean stop).
    async fn leave(&self) {
        let written: Vec<String> = self.lock().written.drain().collect();
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM").arg(NODES_KEY).arg(&self.node_id).ignore();
        for channel in written {
            pipe.cmd("HDEL")
                .arg(viewers_key(&channel))
                .arg(&self.node_id)
                .ignore();
        }
        let mut conn = self.link.conn();
        let _ = pipe.query_async::<()>(&mut conn).await;
    }
}

/// Once a second: write this node's counts, read the totals of every channel
/// watched here or asked about, and announce changed totals to this node's
/// chat clients.
pub async fn run(viewers: Arc<ClusterViewers>, hub: Arc<ChatHub>, stop: CancellationToken) {
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut healthy = true;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = every.tick() => {}
        }
        let local: HashMap<String, u64> = hub.presence().snapshot().into_iter().collect();
        let subscribed = hub.broker().channels();
        let channels: Vec<String> = {
            let mut book = viewers.lock();
            book.wanted.retain(|_, at| at.elapsed() < WANTED_FOR);
            let mut all: HashSet<String> = book.wanted.keys().cloned().collect();
            all.extend(subscribed.iter().cloned());
            all.extend(local.keys().cloned());
            all.into_iter().collect()
        };
        match viewers.sync(&local, &channels).await {
            Ok(totals) => {
                healthy = true;
                let mut book = viewers.lock();
                for channel in &subscribed {
                    let total = totals.get(channel).copied().unwrap_or(0);
                    if book.announced.get(channel) != Some(&total) {
                        book.announced.insert(channel.clone(), total);
                        hub.publish_local(channel, ServerFrame::Viewers { count: total });
                    }
                }
                book.announced.retain(|c, _| subscribed.contains(c));
                book.totals = totals;
            }
            Err(e) => {
                metrics::counter!("aethex_cluster_redis_errors_total").increment(1);
                if healthy {
                    tracing::error!(error = %e, "viewer presence in Redis failed: counts show this node's viewers only");
                    healthy = false;
                }
                // Unknown totals: viewer_count falls back to this node's own.
                viewers.lock().totals.clear();
            }
        }
    }
    viewers.leave().await;
}
