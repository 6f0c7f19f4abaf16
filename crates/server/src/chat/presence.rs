//! Viewer counts: distinct people watching a channel right now. A person is
//! a signed-in user id, or for anonymous viewers the player's stable
//! per-browser id (`?viewer=`), falling back to the IP address, so a tab that
//! reconnects (or two tabs) counts once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Who a connection counts as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ViewerKey {
    /// A signed-in user.
    User(i64),
    /// An anonymous browser's own id (8–64 chars of `[A-Za-z0-9_-]`).
    Browser(String),
    /// An anonymous viewer without an id.
    Ip(IpAddr),
}

impl ViewerKey {
    /// The key for a connection: the user, else a valid `?viewer=` id, else the IP.
    pub fn for_connection(user_id: Option<i64>, viewer: Option<&str>, ip: IpAddr) -> Self {
        if let Some(id) = user_id {
            return ViewerKey::User(id);
        }
        match viewer {
            Some(v)
                if (8..=64).contains(&v.len())
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
            {
                ViewerKey::Browser(v.to_string())
            }
            _ => ViewerKey::Ip(ip),
        }
    }
}

#[derive(Debug, Default)]
struct ChannelViewers {
    connections: HashMap<ViewerKey, u32>,
    announced: u64,
}

/// Viewer totals counted somewhere else (cluster mode: summed over every
/// node); `None` when unknown yet, and the node's own count is shown.
pub trait ViewerTotals: Send + Sync + std::fmt::Debug + 'static {
    /// The total for `channel` (asking marks it wanted, so it is kept fresh).
    fn total(&self, channel: &str) -> Option<u64>;
}

/// Open connections per channel and person.
#[derive(Debug, Default)]
pub struct Presence {
    channels: Mutex<HashMap<String, ChannelViewers>>,
}

/// Keeps one connection counted; leaving happens on drop.
#[derive(Debug)]
pub struct PresenceGuard {
    presence: Arc<Presence>,
    channel: String,
    key: ViewerKey,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        self.presence.leave(&self.channel, &self.key);
    }
}

impl Presence {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ChannelViewers>> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one more connection of `key` in `channel` until the guard drops.
    pub fn join(self: &Arc<Self>, channel: &str, key: ViewerKey) -> PresenceGuard {
        *self
            .lock()
            .entry(channel.to_string())
            .or_default()
            .connections
            .entry(key.clone())
            .or_default() += 1;
        PresenceGuard {
            presence: self.clone(),
            channel: channel.to_string(),
            key,
        }
    }

    fn leave(&self, channel: &str, key: &ViewerKey) {
        let mut map = self.lock();
        if let Some(c) = map.get_mut(channel)
            && let Some(n) = c.connections.get_mut(key)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.connections.remove(key);
            }
        }
    }

    /// Distinct people in `channel` now.
    pub fn count(&self, channel: &str) -> u64 {
        self.lock()
            .get(channel)
            .map_or(0, |c| c.connections.len() as u64)
    }

    /// Every channel with someone in it now, and its count.
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        self.lock()
            .iter()
            .filter(|(_, c)| !c.connections.is_empty())
            .map(|(name, c)| (name.clone(), c.connections.len() as u64))
            .collect()
    }

    /// Channels whose count changed since the last call, with the new count;
    /// forgets channels nobody watches any more.
    pub fn changes(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut map = self.lock();
        for (name, c) in map.iter_mut() {
            let now = c.connections.len() as u64;
            if now != c.announced {
                c.announced = now;
                out.push((name.clone(), now));
            }
        }
        map.retain(|_, c| !c.connections.is_empty() || c.announced != 0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_person_counts_once_and_leaving_is_announced() {
        let p = Arc::new(Presence::default());
        let ip: IpAddr = [127, 0, 0, 1].into();
        let a = p.join("alice", ViewerKey::for_connection(Some(1), None, ip));
        let b = p.join("alice", ViewerKey::for_connection(Some(1), None, ip));
        let c = p.join(
            "alice",
            ViewerKey::for_connection(None, Some("tab-12345678"), ip),
        );
        let d = p.join(
            "alice",
            ViewerKey::for_connection(None, Some("bad id!"), ip),
        );
        assert_eq!(p.count("alice"), 3, "user 1 twice, one browser, one IP");
        assert_eq!(p.changes(), vec![("alice".to_string(), 3)]);
        assert!(p.changes().is_empty(), "announced once");
        drop((a, c, d));
        assert_eq!(p.count("alice"), 1);
        drop(b);
        assert_eq!(p.changes(), vec![("alice".to_string(), 0)]);
        assert!(p.lock().is_empty());
    }
}
