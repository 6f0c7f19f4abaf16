//! The ingest side of the channel core: stream key → channel, and the
//! broadcast start/end transitions (broadcasts row, live flag, chat `live`
//! event), all owned by `crate::channels`. In cluster mode a broadcast also
//! holds the channel's stream lease (`crate::cluster::ownership`): claimed
//! before it starts, released when it ends.

pub use crate::channels::live::LiveStateError;
pub use crate::channels::store::ChannelRow;

use crate::cluster::ownership::OwnershipError;
use crate::ingest::IngestError;
use crate::state::AppState;

/// The channel whose current stream key is `key`, if any.
pub async fn resolve_key(state: &AppState, key: &str) -> Result<Option<ChannelRow>, sqlx::Error> {
    crate::channels::store::resolve_stream_key(&state.db, key).await
}

/// A broadcast that went on air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    /// The broadcasts row id.
    pub id: i64,
    /// The stream lease's epoch (cluster mode only).
    pub epoch: Option<i64>,
}

/// Records a new broadcast of `channel` and marks it live. In cluster mode
/// refused (`AlreadyLive`) while another node holds the channel's lease.
pub async fn start_broadcast(
    state: &AppState,
    channel: &ChannelRow,
) -> Result<Started, IngestError> {
    let lease =
        match &state.cluster {
            Some(cluster) => Some(cluster.claim(&state.db, channel).await.map_err(
                |e| match e {
                    OwnershipError::OwnedElsewhere { .. } => IngestError::AlreadyLive,
                    OwnershipError::Store(e) => IngestError::Lease(e),
                },
            )?),
            None => None,
        };
    // Also closes a broadcast that a dead owner left open.
    let id = crate::channels::live::start_broadcast(state, channel)
        .await
        .map_err(IngestError::StartBroadcast)?;
    if let (Some(cluster), Some(lease)) = (&state.cluster, lease)
        && let Err(e) = cluster.attach(&state.db, &lease, id).await
    {
        // The lease still holds the channel; only the sweeper's view is poorer.
        tracing::warn!(error = %e, broadcast = id, "recording the lease's broadcast failed");
    }
    Ok(Started {
        id,
        epoch: lease.map(|l| l.epoch),
    })
}

/// Marks broadcast `broadcast_id` of `channel_name` as ended (channel offline).
pub async fn end_broadcast(
    state: &AppState,
    channel_name: &str,
    broadcast_id: i64,
) -> Result<(), LiveStateError> {
    if let Some(cluster) = &state.cluster {
        cluster.release(&state.db, broadcast_id).await;
    }
    crate::channels::live::end_broadcast(state, channel_name, broadcast_id).await
}
