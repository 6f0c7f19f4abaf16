//! A small read-through cache of channel rows: `GET /channels/{name}` is the
//! hottest route (every player polls it), and rows change only on PATCH and
//! live transitions, which invalidate their entry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::store::{self, ChannelRow};
use crate::db::Db;

/// Channel rows by name.
#[derive(Debug, Default)]
pub struct ChannelCache {
    rows: RwLock<HashMap<String, Arc<ChannelRow>>>,
    /// Bumped by every invalidation, so a read that raced with a change does
    /// not put the stale row back.
    generation: AtomicU64,
}

impl ChannelCache {
    /// The row for `name`, from memory or the database.
    pub async fn get(&self, db: &Db, name: &str) -> Result<Option<Arc<ChannelRow>>, sqlx::Error> {
        if let Some(row) = self.read().get(name) {
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
        map.insert(name.to_string(), row.clone());
        Ok(Some(row))
    }

    /// Drops `name` so the next read sees the database.
    pub fn invalidate(&self, name: &str) {
        let mut map = self.write();
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(name);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<ChannelRow>>> {
        self.rows.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<ChannelRow>>> {
        self.rows.write().unwrap_or_else(|p| p.into_inner())
    }
}
