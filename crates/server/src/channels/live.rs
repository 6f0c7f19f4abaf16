//! Live state, driven by the ingest: offline → live → offline, stored as
//! broadcast rows, announced to chat clients as `live` events.

use aethex_proto::ServerFrame;

use super::store::{self, ChannelRow};
use crate::error::ApiError;
use crate::state::AppState;

/// Marks `channel` live with its current title; returns the new broadcast id.
pub async fn start_broadcast(state: &AppState, channel: &ChannelRow) -> Result<i64, ApiError> {
    // Cluster mode: the stream lease first, so no other node takes it too.
    let lease = match &state.cluster {
        Some(cluster) => Some(cluster.claim(&state.db, channel).await?),
        None => None,
    };
    // Also closes a broadcast a dead owner left open.
    let id = store::insert_broadcast(&state.db, channel.id, &channel.title).await?;
    if let (Some(cluster), Some(lease)) = (&state.cluster, lease) {
        cluster.attach(&state.db, &lease, id).await?;
    }
    state.channels.invalidate(&channel.name);
    metrics::gauge!("aethex_live_streams").increment(1.0);
    state.chat.publish(
        &channel.name,
        ServerFrame::Live {
            live: true,
            title: channel.title.clone(),
        },
    );
    tracing::info!(channel = %channel.name, broadcast = id, "live");
    Ok(id)
}

/// Marks the broadcast ended and the channel offline (idempotent).
pub async fn end_broadcast(
    state: &AppState,
    channel_name: &str,
    broadcast_id: i64,
) -> Result<(), ApiError> {
    if store::close_broadcast(&state.db, broadcast_id).await? {
        metrics::gauge!("aethex_live_streams").decrement(1.0);
    }
    if let Some(cluster) = &state.cluster {
        cluster.release(&state.db, broadcast_id).await;
    }
    state.channels.invalidate(channel_name);
    let title = store::by_name(&state.db, channel_name)
        .await?
        .map(|c| c.title)
        .unwrap_or_default();
    state
        .chat
        .publish(channel_name, ServerFrame::Live { live: false, title });
    tracing::info!(channel = %channel_name, broadcast = broadcast_id, "offline");
    Ok(())
}
