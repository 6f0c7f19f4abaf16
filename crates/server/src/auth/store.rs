//! Users and sessions in the database.

use sqlx::FromRow;

use crate::db::{Db, now_ms};

/// A user row (never serialised as is: it holds the password hash).
#[derive(Clone, FromRow)]
pub struct UserRow {
    /// Id.
    pub id: i64,
    /// Lower-case username.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// argon2id PHC string.
    pub password_hash: String,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl UserRow {
    /// The public view of this user.
    pub fn to_wire(&self) -> aethex_proto::User {
        aethex_proto::User {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
        }
    }
}

const USER_COLS: &str = "id, username, display_name, password_hash";

/// Creates a user and their channel in one transaction; `None` if the name is taken.
pub async fn create_user_with_channel(
    db: &Db,
    username: &str,
    password_hash: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let now = now_ms();
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO users (username, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (username) DO NOTHING RETURNING id",
    )
    .bind(username)
    .bind(username)
    .bind(password_hash)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id,)) = inserted else {
        return Ok(None);
    };
    sqlx::query(
        "INSERT INTO channels (name, owner_id, display_name, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(username)
    .bind(id)
    .bind(username)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(UserRow {
        id,
        username: username.to_string(),
        display_name: username.to_string(),
        password_hash: password_hash.to_string(),
    }))
}

/// Finds a user by (lower-case) username.
pub async fn user_by_name(db: &Db, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM users WHERE username = $1"
    ))
    .bind(username)
    .fetch_optional(&db.pool)
    .await
}

/// Stores a session by its token hash.
pub async fn create_session(
    db: &Db,
    token_hash: &str,
    user_id: i64,
    ttl_ms: i64,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(now + ttl_ms)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The user behind an unexpired session token hash.
pub async fn user_by_session(db: &Db, token_hash: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id, u.username, u.display_name, u.password_hash FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await
}

/// Ends a session.
pub async fn delete_session(db: &Db, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Removes expired sessions; returns how many.
pub async fn purge_expired_sessions(db: &Db) -> Result<u64, sqlx::Error> {
    let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now_ms())
        .execute(&db.pool)
        .await?;
    Ok(r.rows_affected())
}

/// Updates a user's shown name (kept equal to their channel's display name).
pub async fn set_display_name(
    db: &Db,
    user_id: i64,
    display_name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
        .bind(display_name)
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
