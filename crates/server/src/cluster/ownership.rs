//! Stream ownership in the database: one `stream_leases` row per channel says
//! which node holds its live stream, where other nodes reach that node, the
//! epoch (+1 at every claim) and when the lease runs out. A node claims the
//! lease when it accepts a publisher, renews all of its leases every
//! [`RENEW_EVERY`], and releases one when its broadcast ends. A node that
//! dies stops renewing: after [`LEASE`] anyone may claim the channel (the
//! publisher reconnecting through the balancer to another node), and the
//! sweeper on every node closes broadcasts whose owner vanished.
//!
//! Times are Unix ms from the nodes' clocks (NTP keeps them within far less
//! than a lease). The same SQL runs on SQLite, so the store tests cover it.

use std::time::Duration;

use crate::db::{Db, now_ms};

/// How long a lease holds without renewal.
pub const LEASE: Duration = Duration::from_secs(6);
/// How often a node renews its leases and sweeps expired ones.
pub const RENEW_EVERY: Duration = Duration::from_secs(2);

/// Why a claim failed.
#[derive(Debug, thiserror::Error)]
pub enum OwnershipError {
    /// Another node holds a live lease on the channel.
    #[error("the channel is already live on node {node}")]
    OwnedElsewhere {
        /// The owner.
        node: String,
    },
    /// The database failed.
    #[error("stream lease storage failed")]
    Store(#[from] sqlx::Error),
}

/// A lease this node holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The channel.
    pub channel_id: i64,
    /// Its epoch (1 for the first claim ever).
    pub epoch: i64,
    /// The broadcast the previous, expired lease covered (its owner died).
    pub orphaned_broadcast: Option<i64>,
}

/// The current owner of a channel's live stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Node id.
    pub node_id: String,
    /// Where other nodes reach it.
    pub advertise_http: String,
    /// Current epoch.
    pub epoch: i64,
}

fn expiry(now: i64) -> i64 {
    now + LEASE.as_millis() as i64
}

/// Claims `channel_id` for `node_id` unless another live lease holds it.
pub async fn claim(
    db: &Db,
    channel_id: i64,
    node_id: &str,
    advertise_http: &str,
) -> Result<Lease, OwnershipError> {
    let now = now_ms();
    let previous: Option<(String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT node_id, expires_at, broadcast_id FROM stream_leases WHERE channel_id = $1",
    )
    .bind(channel_id)
    .fetch_optional(&db.pool)
    .await?;
    let claimed: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO stream_leases (channel_id, node_id, advertise_http, epoch, broadcast_id, expires_at) \
         VALUES ($1, $2, $3, 1, NULL, $4) \
         ON CONFLICT (channel_id) DO UPDATE SET node_id = excluded.node_id, \
           advertise_http = excluded.advertise_http, epoch = stream_leases.epoch + 1, \
           broadcast_id = NULL, expires_at = excluded.expires_at \
         WHERE stream_leases.expires_at < $5 \
         RETURNING epoch",
    )
    .bind(channel_id)
    .bind(node_id)
    .bind(advertise_http)
    .bind(expiry(now))
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    let Some((epoch,)) = claimed else {
        let node = previous.map(|(n, _, _)| n).unwrap_or_default();
        return Err(OwnershipError::OwnedElsewhere { node });
    };
    // An expired lease that still covered a broadcast: its node died.
    let orphaned_broadcast = previous.and_then(|(_, expires_at, b)| b.filter(|_| expires_at > 0));
    Ok(Lease {
        channel_id,
        epoch,
        orphaned_broadcast,
    })
}

/// Records which broadcast `lease` covers.
pub async fn attach(db: &Db, lease: &Lease, broadcast_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stream_leases SET broadcast_id = $1 WHERE channel_id = $2 AND epoch = $3")
        .bind(broadcast_id)
        .bind(lease.channel_id)
        .bind(lease.epoch)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Gives up `node_id`'s lease on the broadcast `broadcast_id` (its end).
pub async fn release(db: &Db, node_id: &str, broadcast_id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE stream_leases SET expires_at = 0 WHERE node_id = $1 AND broadcast_id = $2",
    )
    .bind(node_id)
    .bind(broadcast_id)
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Extends every lease `node_id` holds; returns how many.
pub async fn renew(db: &Db, node_id: &str) -> Result<u64, sqlx::Error> {
    let now = now_ms();
    let r = sqlx::query(
        "UPDATE stream_leases SET expires_at = $1 WHERE node_id = $2 AND expires_at > 0",
    )
    .bind(expiry(now))
    .bind(node_id)
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected())
}

/// Releases leases that ran out (their node died); returns the broadcasts
/// they covered. Each row is taken by one node only (one `UPDATE`).
pub async fn sweep(db: &Db) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(Option<i64>,)> = sqlx::query_as(
        "UPDATE stream_leases SET expires_at = 0 \
         WHERE expires_at > 0 AND expires_at < $1 RETURNING broadcast_id",
    )
    .bind(now_ms())
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().filter_map(|(b,)| b).collect())
}

/// Releases every lease of `node_id` (a node restarting under the same id:
/// whatever it held before is over); returns the broadcasts they covered.
pub async fn release_all(db: &Db, node_id: &str) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(Option<i64>,)> = sqlx::query_as(
        "UPDATE stream_leases SET expires_at = 0 \
         WHERE node_id = $1 AND expires_at > 0 RETURNING broadcast_id",
    )
    .bind(node_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().filter_map(|(b,)| b).collect())
}

/// Who owns `channel_id`'s live stream now, if anyone.
pub async fn owner(db: &Db, channel_id: i64) -> Result<Option<Owner>, sqlx::Error> {
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT node_id, advertise_http, epoch FROM stream_leases \
         WHERE channel_id = $1 AND expires_at > $2",
    )
    .bind(channel_id)
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|(node_id, advertise_http, epoch)| Owner {
        node_id,
        advertise_http,
        epoch,
    }))
}

#[cfg(test)]
mod tests;
