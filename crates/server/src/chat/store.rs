//! Chat in the database: messages, bans and timeouts, blocked terms, slow
//! mode and the moderation log. Same SQL on SQLite and PostgreSQL.

use aethex_proto::{Message, ModLogEntry};

use crate::db::{Db, now_ms, rfc3339};

/// A message waiting to be stored.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Channel id.
    pub channel_id: i64,
    /// Author id.
    pub user_id: i64,
    /// Text (trimmed, validated).
    pub text: String,
    /// Unix ms.
    pub sent_at: i64,
}

/// Rows per multi-row `INSERT` (5 parameters each stays far below every limit).
const INSERT_CHUNK: usize = 100;

/// Inserts `rows` in one transaction; returns their ids in the same order.
pub async fn insert_batch(db: &Db, rows: &[NewMessage]) -> Result<Vec<i64>, sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    insert_batch_on(&mut conn, rows).await
}

/// [`insert_batch`] on a connection the caller holds (e.g. one holding a lock).
pub async fn insert_batch_on(
    conn: &mut sqlx::AnyConnection,
    rows: &[NewMessage],
) -> Result<Vec<i64>, sqlx::Error> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut sql =
            String::from("INSERT INTO chat_messages (channel_id, user_id, text, sent_at) VALUES ");
        for i in 0..chunk.len() {
            let p = i * 4;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("(${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4));
        }
        sql.push_str(" RETURNING id");
        let mut q = sqlx::query_as::<_, (i64,)>(&sql);
        for m in chunk {
            q = q
                .bind(m.channel_id)
                .bind(m.user_id)
                .bind(m.text.as_str())
                .bind(m.sent_at);
        }
        let mut got: Vec<i64> = q
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect();
        // Both engines assign ids in VALUES order; RETURNING order is not
        // promised, so sort to map them back onto the rows.
        got.sort_unstable();
        ids.extend(got);
    }
    tx.commit().await?;
    Ok(ids)
}

type MessageRow = (i64, String, String, i64);

fn to_message((id, username, text, sent_at): MessageRow) -> Message {
    Message {
        id,
        username,
        text,
        sent_at: rfc3339(sent_at),
    }
}

/// Up to `limit` messages older than `before` (newest when `None`), oldest
/// first, deleted ones left out.
pub async fn recent(
    db: &Db,
    channel_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let mut rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT m.id, u.username, m.text, m.sent_at FROM chat_messages m \
         JOIN users u ON u.id = m.user_id \
         WHERE m.channel_id = $1 AND m.deleted_at IS NULL AND m.id < $2 \
         ORDER BY m.id DESC LIMIT $3",
    )
    .bind(channel_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.reverse();
    Ok(rows.into_iter().map(to_message).collect())
}

/// Messages after `after` (a resuming client's last seen id), oldest first,
/// deleted ones left out: the newest `limit` of them when more are waiting.
pub async fn after(
    db: &Db,
    channel_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<Message>, sqlx::Error> {
    let mut rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT m.id, u.username, m.text, m.sent_at FROM chat_messages m \
         JOIN users u ON u.id = m.user_id \
         WHERE m.channel_id = $1 AND m.deleted_at IS NULL AND m.id > $2 \
         ORDER BY m.id DESC LIMIT $3",
    )
    .bind(channel_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.reverse();
    Ok(rows.into_iter().map(to_message).collect())
}

/// Where a message lives and who wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    /// Channel name.
    pub channel: String,
    /// Author id.
    pub author_id: i64,
    /// Author username.
    pub author: String,
    /// Already deleted?
    pub deleted: bool,
}

/// The channel and author of message `id`.
pub async fn message_meta(db: &Db, id: i64) -> Result<Option<MessageMeta>, sqlx::Error> {
    let row: Option<(String, i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT c.name, m.user_id, u.username, m.deleted_at FROM chat_messages m \
         JOIN channels c ON c.id = m.channel_id JOIN users u ON u.id = m.user_id WHERE m.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(
        row.map(|(channel, author_id, author, deleted_at)| MessageMeta {
            channel,
            author_id,
            author,
            deleted: deleted_at.is_some(),
        }),
    )
}

/// Marks message `id` deleted; `false` if it already was.
pub async fn mark_deleted(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE chat_messages SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// An active restriction of a user in a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restriction {
    /// Until unbanned.
    Banned,
    /// Until this Unix ms time.
    TimedOut(i64),
}

impl Restriction {
    /// From the stored `expires_at` (NULL = ban).
    pub fn from_expiry(expires_at: Option<i64>) -> Self {
        expires_at.map_or(Restriction::Banned, Restriction::TimedOut)
    }

    /// Still in force at `now_ms`?
    pub fn active(self, now_ms: i64) -> bool {
        match self {
            Restriction::Banned => true,
            Restriction::TimedOut(until) => until > now_ms,
        }
    }
}

/// The user's restriction in the channel, if one is in force now.
pub async fn restriction(
    db: &Db,
    channel_id: i64,
    user_id: i64,
) -> Result<Option<Restriction>, sqlx::Error> {
    let row: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT expires_at FROM bans WHERE channel_id = $1 AND user_id = $2")
            .bind(channel_id)
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(row
        .map(|(e,)| Restriction::from_expiry(e))
        .filter(|r| r.active(now_ms())))
}

/// Bans (`expires_at` = `None`) or times out a user, replacing any earlier one.
pub async fn restrict(
    db: &Db,
    channel_id: i64,
    user_id: i64,
    expires_at: Option<i64>,
    by: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO bans (channel_id, user_id, expires_at, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel_id, user_id) DO UPDATE SET \
         expires_at = excluded.expires_at, created_by = excluded.created_by, created_at = excluded.created_at",
    )
    .bind(channel_id)
    .bind(user_id)
    .bind(expires_at)
    .bind(by)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Lifts a ban or timeout; `false` if there was none.
pub async fn lift(db: &Db, channel_id: i64, user_id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM bans WHERE channel_id = $1 AND user_id = $2")
        .bind(channel_id)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Sets the channel's slow-mode interval.
pub async fn set_slow_mode(db: &Db, channel_id: i64, seconds: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE channels SET slow_mode_seconds = $1 WHERE id = $2")
        .bind(seconds)
        .bind(channel_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The channel's blocked terms, sorted.
pub async fn blocked_terms(db: &Db, channel_id: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT term FROM blocked_terms WHERE channel_id = $1 ORDER BY term")
            .bind(channel_id)
            .fetch_all(&db.pool)
            .await?;
    Ok(rows.into_iter().map(|(t,)| t).collect())
}

/// Adds a term; `false` if it was already there.
pub async fn add_blocked_term(db: &Db, channel_id: i64, term: &str) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "INSERT INTO blocked_terms (channel_id, term, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (channel_id, term) DO NOTHING",
    )
    .bind(channel_id)
    .bind(term)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Removes a term; `false` if it was not there.
pub async fn remove_blocked_term(
    db: &Db,
    channel_id: i64,
    term: &str,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query("DELETE FROM blocked_terms WHERE channel_id = $1 AND term = $2")
        .bind(channel_id)
        .bind(term)
        .execute(&db.pool)
        .await?;
    Ok(r.rows_affected() > 0)
}

type LogRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    String,
    i64,
);

/// Up to `limit` moderation-log entries older than `before`, oldest first.
pub async fn mod_log(
    db: &Db,
    channel_id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ModLogEntry>, sqlx::Error> {
    let mut rows: Vec<LogRow> = sqlx::query_as(
        "SELECT l.id, a.username, l.action, t.username, l.target_message_id, l.detail, l.created_at \
         FROM mod_log l JOIN users a ON a.id = l.actor_id LEFT JOIN users t ON t.id = l.target_user_id \
         WHERE l.channel_id = $1 AND l.id < $2 ORDER BY l.id DESC LIMIT $3",
    )
    .bind(channel_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.reverse();
    Ok(rows
        .into_iter()
        .map(
            |(id, actor, action, target, message_id, detail, at)| ModLogEntry {
                id,
                actor,
                action,
                target,
                message_id,
                detail,
                at: rfc3339(at),
            },
        )
        .collect())
}
