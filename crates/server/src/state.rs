//! Shared application state handed to every handler.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::LoginThrottle;
use crate::channels::cache::ChannelCache;
use crate::chat::ChatHub;
use crate::chat::hub::{Broker, LocalBroker};
use crate::cluster::{Cluster, ClusterConfig};
use crate::config::Config;
use crate::db::Db;
use crate::hls::live::LiveRegistry;
use crate::storage::MediaStore;

/// Everything a handler may need; cheap to clone (all fields are shared).
#[derive(Clone, Debug)]
pub struct AppState {
    /// Storage (SQLite or PostgreSQL).
    pub db: Db,
    /// Start-up configuration.
    pub config: Arc<Config>,
    /// Resolved data directory (HLS, VODs, SQLite file).
    pub data_dir: PathBuf,
    /// Failed-login throttles.
    pub login_throttle: Arc<LoginThrottle>,
    /// Hot channel rows.
    pub channels: Arc<ChannelCache>,
    /// Chat fan-out and presence.
    pub chat: Arc<ChatHub>,
    /// Channels on air right now (and just-ended ones, briefly).
    pub live: Arc<LiveRegistry>,
    /// Cluster membership (`--redis-url`); `None` on a single node.
    pub cluster: Option<Arc<Cluster>>,
    /// Object storage for finished media (`--s3-*`, cluster mode only).
    pub media: Option<Arc<MediaStore>>,
    /// The bound RTMP listener (`--rtmp` may say port 0); `None` until bound.
    pub rtmp_addr: Option<SocketAddr>,
}

impl AppState {
    /// Connects the database and prepares the data directory (single node
    /// unless the config asks for cluster mode on the default HTTP address).
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        let http = config.http;
        Self::start(config, http).await
    }

    /// Connects the database (and, in cluster mode, Redis) for a server whose
    /// HTTP listener is bound at `http`, and joins the cluster.
    pub async fn start(config: Config, http: SocketAddr) -> anyhow::Result<Self> {
        let data_dir = config.data_dir();
        std::fs::create_dir_all(&data_dir)?;
        let db = Db::connect(&config.database_url()).await?;
        let Some(cluster) = ClusterConfig::from_config(&config, db.backend, http)? else {
            return Ok(Self::with_db(config, data_dir, db));
        };
        let fanout = Duration::from_millis(config.chat_fanout_window_ms);
        let cluster = Arc::new(Cluster::connect(cluster, fanout).await?);
        let media = MediaStore::from_config(&config)?.map(Arc::new);
        let mut state = Self::with_broker(config, data_dir, db, cluster.broker.clone());
        cluster.join(&state);
        state.cluster = Some(cluster);
        state.media = media;
        Ok(state)
    }

    /// State over an already connected database (single node).
    pub fn with_db(config: Config, data_dir: PathBuf, db: Db) -> Self {
        let broker = Arc::new(LocalBroker::new(Duration::from_millis(
            config.chat_fanout_window_ms,
        )));
        Self::with_broker(config, data_dir, db, broker)
    }

    /// State whose chat goes through `broker`.
    pub fn with_broker(config: Config, data_dir: PathBuf, db: Db, broker: Arc<dyn Broker>) -> Self {
        // Install the metrics recorder before anything records.
        let _ = crate::http::metrics::handle();
        let chat = Arc::new(
            ChatHub::with_broker(broker, config.chat_rate_limit)
                .with_idle_timeout(Duration::from_secs(config.chat_idle_timeout.max(3))),
        );
        AppState {
            db,
            config: Arc::new(config),
            data_dir,
            login_throttle: Arc::new(LoginThrottle::default()),
            channels: Arc::new(ChannelCache::default()),
            chat,
            live: Arc::default(),
            cluster: None,
            media: None,
            rtmp_addr: None,
        }
    }
}
