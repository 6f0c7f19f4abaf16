//! VOD rows: the recording side of `broadcasts` (the files themselves are
//! `hls::recording`'s).

use crate::db::Db;

/// A finished broadcast with its recording.
#[derive(Debug, Clone, PartialEq)]
pub struct VodRow {
    /// Broadcast id.
    pub id: i64,
    /// Title at the time of the broadcast.
    pub title: String,
    /// Unix milliseconds.
    pub started_at: i64,
    /// Media length in milliseconds.
    pub duration_ms: i64,
    /// Directory relative to the data dir.
    pub vod_dir: String,
    /// Bucket folder of its media (cluster mode with object storage).
    pub media_prefix: Option<String>,
}

/// Records where broadcast `id` is written.
pub async fn set_vod_dir(db: &Db, id: i64, rel_dir: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE broadcasts SET vod_dir = $1 WHERE id = $2")
        .bind(rel_dir)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Stores the recorded media length of broadcast `id`.
pub async fn set_duration(db: &Db, id: i64, duration_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE broadcasts SET duration_ms = $1 WHERE id = $2")
        .bind(duration_ms)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Records the bucket folder broadcast `id`'s media is uploaded to.
pub async fn set_media_prefix(db: &Db, id: i64, prefix: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE broadcasts SET media_prefix = $1 WHERE id = $2")
        .bind(prefix)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

type Row = (
    i64,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn to_vod((id, title, started_at, duration_ms, vod_dir, media_prefix): Row) -> Option<VodRow> {
    Some(VodRow {
        id,
        title,
        started_at,
        duration_ms: duration_ms.unwrap_or(0),
        vod_dir: vod_dir?,
        media_prefix,
    })
}

/// Finished, kept recordings of channel `name`, newest first; `None` if no such channel.
pub async fn list_for_channel(db: &Db, name: &str) -> Result<Option<Vec<VodRow>>, sqlx::Error> {
    let channel: Option<(i64,)> = sqlx::query_as("SELECT id FROM channels WHERE name = $1")
        .bind(name.to_lowercase())
        .fetch_optional(&db.pool)
        .await?;
    let Some((channel_id,)) = channel else {
        return Ok(None);
    };
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, title, started_at, duration_ms, vod_dir, media_prefix FROM broadcasts \
         WHERE channel_id = $1 AND ended_at IS NOT NULL AND vod_deleted = 0 AND vod_dir IS NOT NULL \
         ORDER BY started_at DESC, id DESC",
    )
    .bind(channel_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(Some(rows.into_iter().filter_map(to_vod).collect()))
}

/// A finished, kept recording by id.
pub async fn find(db: &Db, id: i64) -> Result<Option<VodRow>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, title, started_at, duration_ms, vod_dir, media_prefix FROM broadcasts \
         WHERE id = $1 AND ended_at IS NOT NULL AND vod_deleted = 0",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.and_then(to_vod))
}

/// Finished recordings the retention policy drops: beyond the newest
/// `keep_count` of their channel, or started before `older_than_ms`.
pub async fn expired(
    db: &Db,
    keep_count: Option<u32>,
    older_than_ms: Option<i64>,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows: Vec<(i64, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT id, channel_id, started_at, vod_dir FROM broadcasts \
         WHERE ended_at IS NOT NULL AND vod_deleted = 0 \
         ORDER BY channel_id, started_at DESC, id DESC",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::new();
    let mut current_channel = None;
    let mut rank = 0u32;
    for (id, channel_id, started_at, vod_dir) in rows {
        if current_channel != Some(channel_id) {
            current_channel = Some(channel_id);
            rank = 0;
        }
        rank += 1;
        let too_many = keep_count.is_some_and(|k| rank > k);
        let too_old = older_than_ms.is_some_and(|t| started_at < t);
        if too_many || too_old {
            out.push((id, vod_dir.unwrap_or_default()));
        }
    }
    Ok(out)
}

/// Ids in `low..=high` of recordings marked deleted.
pub async fn deleted_between(db: &Db, low: i64, high: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM broadcasts WHERE vod_deleted = 1 AND id BETWEEN $1 AND $2")
            .bind(low)
            .bind(high)
            .fetch_all(&db.pool)
            .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Marks a recording deleted (its files are gone).
pub async fn mark_deleted(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE broadcasts SET vod_deleted = 1, vod_dir = NULL, media_prefix = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}
