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

/// Records a new broadcast of `channel` and marks it live; returns the
/// broadcast id. In cluster mode refused (`AlreadyLive`) while another node
/// holds the channel's lease.
pub async fn start_broadcast(state: &AppState, channel: &ChannelRow) -> Result<i64, IngestError> {
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
    Ok(id)
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
