//! The ingest side of the channel core: stream key → channel, and the
//! broadcast start/end transitions (broadcasts row, live flag, chat `live`
//! event), all owned by `crate::channels`.

pub use crate::channels::live::LiveStateError;
pub use crate::channels::store::ChannelRow;

use crate::state::AppState;

/// The channel whose current stream key is `key`, if any.
pub async fn resolve_key(state: &AppState, key: &str) -> Result<Option<ChannelRow>, sqlx::Error> {
    crate::channels::store::resolve_stream_key(&state.db, key).await
}

/// Records a new broadcast of `channel` and marks it live; returns the broadcast id.
pub async fn start_broadcast(
    state: &AppState,
    channel: &ChannelRow,
) -> Result<i64, LiveStateError> {
    crate::channels::live::start_broadcast(state, channel).await
}

/// Marks broadcast `broadcast_id` of `channel_name` as ended (channel offline).
pub async fn end_broadcast(
    state: &AppState,
    channel_name: &str,
    broadcast_id: i64,
) -> Result<(), LiveStateError> {
    crate::channels::live::end_broadcast(state, channel_name, broadcast_id).await
}
