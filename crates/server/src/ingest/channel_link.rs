//! The ingest side of the channel core: stream key → channel, and the
//! broadcast start/end transitions (broadcasts row, live flag, chat `live` event).
//!
//! Temporary: until the channel core lands on `main`, this resolves keys and
//! writes the `broadcasts` row itself against the 0001 schema
//! (`channels.stream_key_hash` = SHA-256 hex of the key). Once merged, these
//! three functions forward to `crate::channels::{store, live}`.

use sha2::{Digest, Sha256};

use crate::db::now_ms;
use crate::state::AppState;

/// The channel a stream key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRef {
    /// Row id.
    pub id: i64,
    /// URL name (`/hls/{name}/…`).
    pub name: String,
    /// Title the broadcast is recorded with.
    pub title: String,
}

/// The channel whose current stream key is `key`, if any.
pub async fn resolve_key(state: &AppState, key: &str) -> Result<Option<ChannelRef>, sqlx::Error> {
    if key.is_empty() {
        return Ok(None);
    }
    let hash = hex::encode(Sha256::digest(key.as_bytes()));
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, title FROM channels WHERE stream_key_hash = $1")
            .bind(hash)
            .fetch_optional(&state.db.pool)
            .await?;
    Ok(row.map(|(id, name, title)| ChannelRef { id, name, title }))
}

/// Records a new broadcast of `channel` and marks it live; returns the broadcast id.
pub async fn start_broadcast(state: &AppState, channel: &ChannelRef) -> anyhow::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO broadcasts (channel_id, title, started_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(channel.id)
    .bind(&channel.title)
    .bind(now_ms())
    .fetch_one(&state.db.pool)
    .await?;
    Ok(id)
}

/// Marks broadcast `broadcast_id` of `channel_name` as ended (channel offline).
pub async fn end_broadcast(
    state: &AppState,
    _channel_name: &str,
    broadcast_id: i64,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE broadcasts SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
        .bind(now_ms())
        .bind(broadcast_id)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}
