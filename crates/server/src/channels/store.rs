//! Channels, stream keys and moderators in the database.

use sqlx::FromRow;
use subtle::ConstantTimeEq;

use crate::auth::secret::sha256_hex;
use crate::db::{Db, now_ms};

/// A channel row joined with its running broadcast, if any.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ChannelRow {
    /// Id.
    pub id: i64,
    /// Name (= owner's username).
    pub name: String,
    /// Owner's user id.
    pub owner_id: i64,
    /// Shown name.
    pub display_name: String,
    /// Profile text.
    pub bio: String,
    /// Title for the next (or running) broadcast.
    pub title: String,
    /// Slow mode interval, 0 = off.
    pub slow_mode_seconds: i64,
    /// Running broadcast id, `None` when offline.
    pub live_broadcast_id: Option<i64>,
    /// Running broadcast start (Unix ms).
    pub live_started_at: Option<i64>,
}

const SELECT: &str = "SELECT c.id, c.name, c.owner_id, c.display_name, c.bio, c.title, \
    c.slow_mode_seconds, b.id AS live_broadcast_id, b.started_at AS live_started_at \
    FROM channels c LEFT JOIN broadcasts b ON b.channel_id = c.id AND b.ended_at IS NULL";

/// One channel by name.
pub async fn by_name(db: &Db, name: &str) -> Result<Option<ChannelRow>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE c.name = $1"))
        .bind(name)
        .fetch_optional(&db.pool)
        .await
}

/// Every channel: live ones first (newest broadcast first), then by name.
pub async fn list(db: &Db) -> Result<Vec<ChannelRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} ORDER BY CASE WHEN b.id IS NULL THEN 1 ELSE 0 END, b.started_at DESC, c.name LIMIT 1000"
    ))
    .fetch_all(&db.pool)
    .await
}

/// Applies a validated patch; fields left `None` are unchanged.
pub async fn update(
    db: &Db,
    channel_id: i64,
    display_name: Option<&str>,
    bio: Option<&str>,
    title: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "UPDATE channels SET display_name = COALESCE($1, display_name), bio = COALESCE($2, bio), \
         title = COALESCE($3, title) WHERE id = $4",
    )
    .bind(display_name)
    .bind(bio)
    .bind(title)
    .bind(channel_id)
    .execute(&mut *tx)
    .await?;
    if let Some(name) = display_name {
        sqlx::query("UPDATE users SET display_name = $1 WHERE id = (SELECT owner_id FROM channels WHERE id = $2)")
            .bind(name)
            .bind(channel_id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(title) = title {
        // Renaming a running broadcast renames its VOD too.
        sqlx::query("UPDATE broadcasts SET title = $1 WHERE channel_id = $2 AND ended_at IS NULL")
            .bind(title)
            .bind(channel_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Stores the hash of a new stream key; the previous key stops working.
pub async fn set_stream_key(db: &Db, channel_id: i64, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE channels SET stream_key_hash = $1 WHERE id = $2")
        .bind(sha256_hex(key))
        .bind(channel_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The channel a stream key belongs to, if it is the current key. The stored
/// hash is compared in constant time.
pub async fn resolve_stream_key(db: &Db, key: &str) -> Result<Option<ChannelRow>, sqlx::Error> {
    if key.is_empty() || key.len() > 256 {
        return Ok(None);
    }
    let hash = sha256_hex(key);
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, stream_key_hash FROM channels WHERE stream_key_hash = $1")
            .bind(&hash)
            .fetch_optional(&db.pool)
            .await?;
    match row {
        Some((id, stored)) if bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) => {
            sqlx::query_as(&format!("{SELECT} WHERE c.id = $1"))
                .bind(id)
                .fetch_optional(&db.pool)
                .await
        }
        _ => Ok(None),
    }
}

/// Is `user_id` a moderator of `channel_id`?
pub async fn is_moderator(db: &Db, channel_id: i64, user_id: i64) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT user_id FROM moderators WHERE channel_id = $1 AND user_id = $2")
            .bind(channel_id)
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(row.is_some())
}

/// Makes a user a moderator (idempotent).
pub async fn add_moderator(db: &Db, channel_id: i64, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO moderators (channel_id, user_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (channel_id, user_id) DO NOTHING",
    )
    .bind(channel_id)
    .bind(user_id)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Removes a moderator (idempotent).
pub async fn remove_moderator(db: &Db, channel_id: i64, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM moderators WHERE channel_id = $1 AND user_id = $2")
        .bind(channel_id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Usernames of a channel's moderators.
pub async fn moderators(db: &Db, channel_id: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT u.username FROM moderators m JOIN users u ON u.id = m.user_id \
         WHERE m.channel_id = $1 ORDER BY u.username",
    )
    .bind(channel_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

/// Appends to the moderation log.
pub async fn log_action(
    db: &Db,
    channel_id: i64,
    actor_id: i64,
    action: &str,
    target_user_id: Option<i64>,
    target_message_id: Option<i64>,
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO mod_log (channel_id, actor_id, action, target_user_id, target_message_id, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(channel_id)
    .bind(actor_id)
    .bind(action)
    .bind(target_user_id)
    .bind(target_message_id)
    .bind(detail)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Starts a broadcast row (closing any left open by a crash); returns its id.
pub async fn insert_broadcast(db: &Db, channel_id: i64, title: &str) -> Result<i64, sqlx::Error> {
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    sqlx::query("UPDATE broadcasts SET ended_at = $1 WHERE channel_id = $2 AND ended_at IS NULL")
        .bind(now)
        .bind(channel_id)
        .execute(&mut *tx)
        .await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO broadcasts (channel_id, title, started_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(channel_id)
    .bind(title)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Closes a broadcast row; `false` if it was already closed.
pub async fn close_broadcast(db: &Db, broadcast_id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("UPDATE broadcasts SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
        .bind(now_ms())
        .bind(broadcast_id)
        .execute(&db.pool)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// The channel name of broadcast `broadcast_id` while it is still open.
pub async fn open_broadcast_channel(
    db: &Db,
    broadcast_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT c.name FROM broadcasts b JOIN channels c ON c.id = b.channel_id \
         WHERE b.id = $1 AND b.ended_at IS NULL",
    )
    .bind(broadcast_id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|(name,)| name))
}
