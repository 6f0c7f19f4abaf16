//! Cluster mode: several `aethex-server` nodes behind one load balancer,
//! sharing one PostgreSQL (the store), one Redis (chat fan-out, viewer
//! presence, cache invalidations) and, for media, S3-compatible storage.
//! Switched on by `--redis-url`; without it nothing here runs.
//!
//! - [`broker`]: the Redis [`crate::chat::hub::Broker`] (one pub/sub topic per channel).
//! - [`presence`]: per-node viewer counts in Redis, summed over live nodes.
//! - [`link`]: the Redis connections (commands, and the subscriber that
//!   reconnects and resubscribes by itself).
//!
//! Depends on chat and channels; they know nothing of it (hooks and traits).

pub mod broker;
pub mod edge;
pub mod link;
pub mod ownership;
pub mod presence;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::db::Backend;
use crate::state::AppState;
use broker::RedisBroker;
use presence::ClusterViewers;

/// How long another node's channel row may be served from this node's cache
/// if an invalidation notice was lost (Redis restarting, say).
pub const CHANNEL_CACHE_AGE: Duration = Duration::from_secs(5);

/// Why cluster mode cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// SQLite is one file on one machine.
    #[error(
        "cluster mode (--redis-url) needs PostgreSQL: set --database-url postgres://…; \
         the embedded SQLite database cannot be shared by several nodes"
    )]
    NeedsPostgres,
    /// A cluster flag without `--redis-url`, or half of a pair.
    #[error("{flag} needs {needs}")]
    Incomplete {
        /// The flag given.
        flag: &'static str,
        /// What it also needs.
        needs: &'static str,
    },
    /// Other nodes could not reach this one.
    #[error("--advertise-http is needed: --http listens on {0}, which other nodes cannot dial")]
    NoAdvertise(SocketAddr),
    /// A flag's value is unusable.
    #[error("{flag}: {reason}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Redis refused or could not be reached.
    #[error("cannot reach Redis at --redis-url")]
    Redis(#[from] redis::RedisError),
}

/// The validated cluster settings.
#[derive(Clone)]
pub struct ClusterConfig {
    /// `redis://…` (may hold a password: never printed).
    pub redis_url: String,
    /// This node's name.
    pub node_id: String,
    /// Where other nodes reach this node's HTTP listener.
    pub advertise_http: SocketAddr,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("redis_url", &crate::config::redact_url(&self.redis_url))
            .field("node_id", &self.node_id)
            .field("advertise_http", &self.advertise_http)
            .finish()
    }
}

impl ClusterConfig {
    /// Cluster settings from the flags: `None` for a single node, an error
    /// for an incomplete or impossible set. `http` is the bound listener.
    pub fn from_config(
        config: &Config,
        backend: Backend,
        http: SocketAddr,
    ) -> Result<Option<Self>, ClusterError> {
        let s3_flags = [
            ("--s3-endpoint", config.s3_endpoint.is_some()),
            ("--s3-bucket", config.s3_bucket.is_some()),
            ("--s3-access-key", config.s3_access_key.is_some()),
            ("--s3-secret-key", config.s3_secret_key.is_some()),
            ("--public-media-url", config.public_media_url.is_some()),
            ("--node-id", config.node_id.is_some()),
            ("--advertise-http", config.advertise_http.is_some()),
        ];
        let Some(redis_url) = config.redis_url.clone() else {
            if let Some((flag, _)) = s3_flags.iter().find(|(_, set)| *set) {
                return Err(ClusterError::Incomplete {
                    flag,
                    needs: "--redis-url (cluster mode)",
                });
            }
            return Ok(None);
        };
        if backend != Backend::Postgres {
            return Err(ClusterError::NeedsPostgres);
        }
        if !(redis_url.starts_with("redis://") || redis_url.starts_with("rediss://")) {
            return Err(ClusterError::Invalid {
                flag: "--redis-url",
                reason: "must start with redis:// or rediss://".into(),
            });
        }
        pairs(config)?;
        let advertise_http = match config.advertise_http {
            Some(a) => a,
            None if http.ip().is_unspecified() => return Err(ClusterError::NoAdvertise(http)),
            None => http,
        };
        let node_id = match &config.node_id {
            Some(id) => valid_node_id(id)?,
            None => default_node_id(),
        };
        Ok(Some(ClusterConfig {
            redis_url,
            node_id,
            advertise_http,
        }))
    }
}

/// S3 flags come as a set: endpoint with bucket, key id with secret.
fn pairs(config: &Config) -> Result<(), ClusterError> {
    let pairs = [
        [
            ("--s3-endpoint", config.s3_endpoint.is_some()),
            ("--s3-bucket", config.s3_bucket.is_some()),
        ],
        [
            ("--s3-access-key", config.s3_access_key.is_some()),
            ("--s3-secret-key", config.s3_secret_key.is_some()),
        ],
    ];
    for [one, other] in pairs {
        for ((flag, set), (needs, present)) in [(one, other), (other, one)] {
            if set && !present {
                return Err(ClusterError::Incomplete { flag, needs });
            }
        }
    }
    Ok(())
}

fn valid_node_id(id: &str) -> Result<String, ClusterError> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(id.to_string())
    } else {
        Err(ClusterError::Invalid {
            flag: "--node-id",
            reason: "1–64 characters of letters, digits, '-', '_' or '.'".into(),
        })
    }
}

/// The host name plus a random suffix, so two processes on one host differ.
pub fn default_node_id() -> String {
    use rand::Rng;
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(40)
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    format!("{host}-{:06x}", rand::thread_rng().gen_range(0..0x100_0000))
}

/// This node's membership: its Redis connections and the tasks that keep
/// chat, presence and caches in step with the other nodes.
#[derive(Debug)]
pub struct Cluster {
    /// The validated settings.
    pub config: ClusterConfig,
    /// The chat broker shared with the other nodes.
    pub broker: Arc<RedisBroker>,
    /// Viewer totals over every live node.
    pub viewers: Arc<ClusterViewers>,
    /// Forwards live HLS requests to the stream's owner.
    pub edge: edge::Edge,
    link: link::Link,
}

impl Cluster {
    /// Connects to Redis (fails fast when it cannot be reached at start).
    pub async fn connect(config: ClusterConfig, fanout: Duration) -> Result<Self, ClusterError> {
        let link = link::Link::connect(&config.redis_url).await?;
        let broker = Arc::new(RedisBroker::new(link.clone(), fanout));
        let viewers = Arc::new(ClusterViewers::new(config.node_id.clone(), link.clone()));
        tracing::info!(node = %config.node_id, advertise = %config.advertise_http, "cluster mode");
        let edge = edge::Edge::new(config.node_id.clone());
        Ok(Cluster {
            config,
            broker,
            viewers,
            edge,
            link,
        })
    }

    /// Wires the node's state to the cluster and starts the background
    /// tasks (they stop with the chat hub's shutdown token).
    pub fn join(self: &Arc<Self>, state: &AppState) {
        let publisher = self.link.clone();
        state.channels.set_max_age(CHANNEL_CACHE_AGE);
        state.channels.on_invalidate(Box::new(move |name| {
            publisher.publish(link::CACHE_TOPIC, format!("c:{name}").into_bytes());
        }));
        let publisher = self.link.clone();
        state.chat.on_terms_change(Box::new(move |id| {
            publisher.publish(link::CACHE_TOPIC, format!("t:{id}").into_bytes());
        }));
        state.chat.set_viewer_totals(self.viewers.clone());
        let stop = state.chat.shutdown_token().clone();
        let sink = link::Sink {
            broker: self.broker.clone(),
            channels: state.channels.clone(),
            chat: state.chat.clone(),
        };
        tokio::spawn(self.link.clone().subscribe(sink, stop.clone()));
        tokio::spawn(presence::run(
            self.viewers.clone(),
            state.chat.clone(),
            stop.clone(),
        ));
        tokio::spawn(leases(self.clone(), state.clone(), stop));
    }
    /// Claims `channel`'s stream lease for this node (a publisher was accepted).
    pub async fn claim(
        &self,
        db: &crate::db::Db,
        channel: &crate::channels::ChannelRow,
    ) -> Result<ownership::Lease, ownership::OwnershipError> {
        let advertise = self.config.advertise_http.to_string();
        let lease = ownership::claim(db, channel.id, &self.config.node_id, &advertise).await?;
        tracing::info!(channel = %channel.name, epoch = lease.epoch, "stream lease claimed");
        Ok(lease)
    }

    /// Records the broadcast a lease covers.
    pub async fn attach(
        &self,
        db: &crate::db::Db,
        lease: &ownership::Lease,
        broadcast_id: i64,
    ) -> Result<(), sqlx::Error> {
        ownership::attach(db, lease, broadcast_id).await
    }

    /// Gives up the lease of an ended broadcast (errors logged: the lease
    /// then simply runs out).
    pub async fn release(&self, db: &crate::db::Db, broadcast_id: i64) {
        if let Err(e) = ownership::release(db, &self.config.node_id, broadcast_id).await {
            tracing::warn!(error = %e, broadcast = broadcast_id, "releasing a stream lease failed");
        }
    }
}

/// Renews this node's leases and ends broadcasts whose owner died, every
/// [`ownership::RENEW_EVERY`]; at start, ends what this node id held before.
async fn leases(cluster: Arc<Cluster>, state: AppState, stop: tokio_util::sync::CancellationToken) {
    let node = cluster.config.node_id.clone();
    match ownership::release_all(&state.db, &node).await {
        Ok(left) => end_orphans(&state, left).await,
        Err(e) => tracing::warn!(error = %e, "releasing this node's old stream leases failed"),
    }
    let mut every = tokio::time::interval(ownership::RENEW_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        if let Err(e) = ownership::renew(&state.db, &node).await {
            tracing::error!(error = %e, "renewing stream leases failed: other nodes may take this node's streams");
        }
        match ownership::sweep(&state.db).await {
            Ok(orphans) => end_orphans(&state, orphans).await,
            Err(e) => tracing::warn!(error = %e, "sweeping expired stream leases failed"),
        }
    }
}

/// Ends broadcasts left open by a node that is gone.
async fn end_orphans(state: &AppState, broadcasts: Vec<i64>) {
    for id in broadcasts {
        let name = match crate::channels::store::open_broadcast_channel(&state.db, id).await {
            Ok(name) => name,
            Err(e) => {
                tracing::warn!(error = %e, broadcast = id, "reading an orphaned broadcast failed");
                None
            }
        };
        if let Some(name) = name {
            tracing::warn!(channel = %name, broadcast = id, "its node is gone: broadcast ended");
            if let Err(e) = crate::channels::live::end_broadcast(state, &name, id).await {
                tracing::warn!(error = %e, "ending an orphaned broadcast failed");
            }
        }
    }
}

#[cfg(test)]
mod tests;
