//! A small read-through cache of channel rows: `GET /channels/{name}` is the
//! hottest route (every player polls it), and rows change only on PATCH and
//! live transitions, which invalidate their entry. In cluster mode other
//! nodes are told of each invalidation (the hook), and entries also expire
//! after a few seconds in case such a notice is lost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use super::store::{self, ChannelRow};
use crate::db::Db;

/// Told the channel name this node invalidated (cluster: other nodes).
pub type InvalidateHook = Box<dyn Fn(&str) + Send + Sync>;

/// Channel rows by name.
#[derive(Default)]
pub struct ChannelCache {
    rows: RwLock<HashMap<String, (Arc<ChannelRow>, Instant)>>,
    /// Bumped by every invalidation, so a read that raced with a change does
    /// not put the stale row back.
    generation: AtomicU64,
    max_age: OnceLock<Duration>,
    on_invalidate: OnceLock<InvalidateHook>,
}

impl std::fmt::Debug for ChannelCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelCache")
            .field("entries", &self.read().len())
            .field("max_age", &self.max_age.get())
            .finish_non_exhaustive()
    }
}

impl ChannelCache {
    /// The row for `name`, from memory or the database.
    pub async fn get(&self, db: &Db, name: &str) -> Result<Option<Arc<ChannelRow>>, sqlx::Error> {
        if let Some((row, at)) = self.read().get(name)
            && self.max_age.get().is_none_or(|age| at.elapsed() < *age)
        {
            return Ok(Some(row.clone()));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some(row) = store::by_name(db, name).await? else {
            return Ok(None);
        };
        let row = Arc::new(row);
        let mut map = self.write();
        if self.generation.load(Ordering::Acquire) != generation {
            return Ok(Some(row));
        }
        if map.len() >= 10_000 {
            map.clear();
        }
        map.insert(name.to_string(), (row.clone(), Instant::now()));
        Ok(Some(row))
    }

    /// Drops `name` so the next read sees the database, here and (cluster
    /// mode) on every other node.
    pub fn invalidate(&self, name: &str) {
        self.invalidate_local(name);
        if let Some(hook) = self.on_invalidate.get() {
            hook(name);
        }
    }

    /// Drops `name` on this node only (a notice from another node).
    pub fn invalidate_local(&self, name: &str) {
        let mut map = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(name);
    }

    /// Entries older than `age` are read again (set once, cluster mode).
    pub fn set_max_age(&self, age: Duration) {
        let _ = self.max_age.set(age);
    }

    /// Called after every [`ChannelCache::invalidate`] (set once, cluster mode).
    pub fn on_invalidate(&self, hook: InvalidateHook) {
        let _ = self.on_invalidate.set(hook);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, (Arc<ChannelRow>, Instant)>> {
        self.rows.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<String, (Arc<ChannelRow>, Instant)>> {
        self.rows.write().unwrap_or_else(|p| p.into_inner())
    }
}
