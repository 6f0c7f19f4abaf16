//! Live state, driven by the ingest: offline → live → offline, stored as
//! broadcast rows, announced to chat clients as `live` events.

use aethex_proto::ServerFrame;

use super::store::{self, ChannelRow};
use crate::state::AppState;

/// Why a live-state transition could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum LiveStateError {
    /// The broadcasts row or the channel could not be read or written.
    #[error("storing the live state failed")]
    Store(#[from] sqlx::Error),
}

/// Marks `channel` live with its current title; returns the new broadcast id.
pub async fn start_broadcast(
    state: &AppState,
    channel: &ChannelRow,
) -> Result<i64, LiveStateError> {
    let id = store::insert_broadcast(&state.db, channel.id, &channel.title).await?;
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
) -> Result<(), LiveStateError> {
    if store::close_broadcast(&state.db, broadcast_id).await? {
        metrics::gauge!("aethex_live_streams").decrement(1.0);
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
