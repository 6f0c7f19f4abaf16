//! The database handle: one `sqlx::AnyPool` over SQLite (default, embedded) or
//! PostgreSQL, with the matching migrations applied at start-up.
//!
//! Queries are written once for both back-ends: `$1`-style parameters (SQLite
//! reads them as numbered parameters), times as `BIGINT` Unix milliseconds,
//! flags as integers. Feature stores (`auth::store`, `channels::store`, …) take
//! a `&Db` and use the pool.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

/// Which engine the pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (WAL, foreign keys on).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Shared database handle, cheap to clone.
#[derive(Clone)]
pub struct Db {
    /// The connection pool.
    pub pool: AnyPool,
    /// Which engine is behind it.
    pub backend: Backend,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the URL: it may hold a password.
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`), creating the SQLite
    /// file if needed, and applies the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL scheme (use sqlite:// or postgres://)");
        };
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let opts = AnyConnectOptions::from_str(&url)
            .context("parse database URL")?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Per connection: wait on the writer lock instead of failing, keep
                        // referential integrity, and fsync the WAL at every commit: what
                        // the server acknowledged (a chat message, an account) survives a
                        // power cut, not only a crash. The chat writer commits in batches,
                        // so under load one fsync covers many messages.
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .context("connect to database")?;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL")
                .await
                .context("enable SQLite WAL")?;
        }
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        refuse_newer_schema(&pool, migrator).await?;
        migrator.run(&pool).await.context("apply migrations")?;
        Ok(Db { pool, backend })
    }
}

/// The newest migration this binary knows.
pub fn latest_migration(backend: Backend) -> i64 {
    let migrator = match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// A database migrated by a newer release cannot be used by this one (its
/// queries would meet columns and tables they do not know): say so plainly
/// instead of sqlx's "migration N was previously applied but is missing".
async fn refuse_newer_schema(
    pool: &AnyPool,
    migrator: &sqlx::migrate::Migrator,
) -> anyhow::Result<()> {
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    // No table yet: a fresh database.
    let Ok(Some(applied)) =
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(pool)
            .await
    else {
        return Ok(());
    };
    if applied > known {
        anyhow::bail!(
            "the database schema is at migration {applied}, newer than this aethex-server \
             ({}, which knows migrations up to {known}): it was upgraded by a newer release. \
             Run that release again, or restore a backup taken before the upgrade; \
             downgrading a database is not supported",
            env!("CARGO_PKG_VERSION")
        );
    }
    Ok(())
}

/// Current time as Unix milliseconds (how every time is stored).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Unix milliseconds as RFC 3339 (how every time is sent).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_commits_are_durable_against_power_loss() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.expect("connect");
        // Every pooled connection, not only the first: 2 = FULL, WAL journal.
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(db.pool.acquire().await.expect("conn"));
        }
        for conn in &mut held {
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .expect("pragma");
            assert_eq!(sync, 2, "synchronous must be FULL");
        }
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&db.pool)
            .await
            .expect("pragma");
        assert_eq!(mode, "wal");
    }
}
