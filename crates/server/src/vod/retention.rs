//! VOD retention: keep the newest N recordings per channel and/or those
//! younger than N days; delete the files of the rest — on this node's disk
//! and, in cluster mode with object storage, every object of the broadcast
//! in the bucket (all epochs). Each run also sweeps this node's copies of
//! recordings deleted elsewhere (another node's run, in cluster mode).

use std::path::Component;

use crate::db::now_ms;
use crate::state::AppState;
use crate::vod::store;

/// Applies the retention policy once; returns how many recordings were deleted.
pub async fn apply(state: &AppState) -> anyhow::Result<usize> {
    let keep_count = state.config.vod_keep_count;
    let older_than = state
        .config
        .vod_keep_days
        .map(|d| now_ms() - i64::from(d) * 86_400_000);
    if keep_count.is_none() && older_than.is_none() {
        return Ok(0);
    }
    if let Err(e) = sweep_local(state).await {
        tracing::warn!(error = %e, "sweeping deleted recordings off this node's disk failed");
    }
    let expired = store::expired(&state.db, keep_count, older_than).await?;
    let mut deleted = 0;
    for (id, rel_dir) in expired {
        // Only ever delete inside the data dir, whatever the row says.
        let rel = std::path::Path::new(&rel_dir);
        let safe =
            !rel_dir.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if safe {
            match tokio::fs::remove_dir_all(state.data_dir.join(rel)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(broadcast_id = id, error = %e, "delete VOD files");
                    continue;
                }
            }
        }
        if let Some(media) = &state.media {
            let folder = crate::storage::layout::broadcast_folder(id);
            match media.delete_prefix(&folder).await {
                Ok(n) => metrics::counter!("aethex_s3_deleted_total").increment(n as u64),
                Err(e) => {
                    // Kept as not deleted: the next run tries again.
                    tracing::warn!(broadcast_id = id, error = %e, "delete VOD objects");
                    continue;
                }
            }
        }
        store::mark_deleted(&state.db, id).await?;
        deleted += 1;
    }
    if deleted > 0 {
        metrics::counter!("aethex_vod_deleted_total").increment(deleted as u64);
        tracing::info!(deleted, "VOD retention applied");
    }
    Ok(deleted)
}

/// Removes this node's recording directories of VODs that are deleted —
/// by another node's retention run, in cluster mode; returns how many.
async fn sweep_local(state: &AppState) -> anyhow::Result<usize> {
    // `hls::recording::dir_for` puts each broadcast in `vod/{id}`.
    let root = state.data_dir.join("vod");
    let mut entries = match tokio::fs::read_dir(&root).await {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut ids = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        if let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i64>().ok())
        {
            ids.push(id);
        }
    }
    let (Some(&low), Some(&high)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(0);
    };
    let deleted = store::deleted_between(&state.db, low, high).await?;
    let mut removed = 0;
    for id in ids.into_iter().filter(|id| deleted.contains(id)) {
        let dir = state.data_dir.join(crate::hls::recording::dir_for(id));
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(broadcast_id = id, error = %e, "delete VOD files"),
        }
    }
    Ok(removed)
}

/// Runs [`apply`] without blocking the caller (after a broadcast ends).
pub fn apply_in_background(state: AppState) {
    tokio::spawn(async move {
        if let Err(e) = apply(&state).await {
            tracing::warn!(error = %e, "VOD retention failed");
        }
    });
}
