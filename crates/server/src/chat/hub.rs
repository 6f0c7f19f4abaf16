//! Fan-out: every chat event goes through a [`Broker`], serialised once and
//! shared by every subscriber. The in-process [`LocalBroker`] keeps one tokio
//! broadcast ring per channel; a Redis pub/sub or PostgreSQL LISTEN/NOTIFY
//! broker for several server nodes implements the same trait, and the
//! handlers never notice.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;

/// Events a channel's ring holds before a subscriber that has not taken them
/// counts as lagging (and is disconnected). Shared by all subscribers: the
/// ring stores each event once, whatever the number of clients.
pub const RING_CAPACITY: usize = 1024;

/// One event for every client of a channel.
#[derive(Debug, Clone)]
pub struct Event {
    /// The serialised `ServerFrame` (shared bytes), if clients should see one.
    pub frame: Option<Utf8Bytes>,
    /// The stored message id when `frame` is a `message` (lets a joining
    /// client skip what its history already holds).
    pub message_id: Option<i64>,
    /// State change that connections apply themselves.
    pub control: Option<Control>,
}

/// State changes connections react to individually.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `user_id`'s messages are refused until `until` (Unix ms; `None` = banned).
    Restricted {
        /// The user.
        user_id: i64,
        /// End of a timeout, `None` for a ban.
        until: Option<i64>,
    },
    /// `user_id` may chat again.
    Lifted {
        /// The user.
        user_id: i64,
    },
}

/// Where chat events are published and subscribed, per channel name.
pub trait Broker: Send + Sync + std::fmt::Debug + 'static {
    /// Delivers `event` to every current subscriber of `channel` (never blocks).
    fn publish(&self, channel: &str, event: Event);
    /// A receiver of every event published to `channel` from now on.
    fn subscribe(&self, channel: &str) -> broadcast::Receiver<Event>;
    /// Forgets channels without subscribers (called periodically).
    fn prune(&self);
}

/// The single-node broker: one broadcast ring per channel.
#[derive(Debug, Default)]
pub struct LocalBroker {
    channels: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

impl LocalBroker {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, broadcast::Sender<Event>>> {
        self.channels.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Broker for LocalBroker {
    fn publish(&self, channel: &str, event: Event) {
        let sender = self.lock().get(channel).cloned();
        if let Some(s) = sender {
            // No receivers is fine: nobody is watching this channel.
            let _ = s.send(event);
        }
    }

    fn subscribe(&self, channel: &str) -> broadcast::Receiver<Event> {
        self.lock()
            .entry(channel.to_string())
            .or_insert_with(|| broadcast::channel(RING_CAPACITY).0)
            .subscribe()
    }

    fn prune(&self) {
        self.lock().retain(|_, s| s.receiver_count() > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(text: &str) -> Event {
        Event {
            frame: Some(Utf8Bytes::from(text)),
            message_id: None,
            control: None,
        }
    }

    #[tokio::test]
    async fn events_reach_subscribers_of_their_channel_only() {
        let b = LocalBroker::default();
        let mut a = b.subscribe("alice");
        let mut other = b.subscribe("bob");
        b.publish("alice", ev("one"));
        b.publish("nobody", ev("lost"));
        let got = a.recv().await.unwrap();
        assert_eq!(got.frame.unwrap().as_str(), "one");
        assert!(other.try_recv().is_err());
        drop((a, other));
        b.prune();
        assert!(b.lock().is_empty());
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_how_far_behind_it_is() {
        let b = LocalBroker::default();
        let mut slow = b.subscribe("alice");
        for i in 0..RING_CAPACITY + 5 {
            b.publish("alice", ev(&i.to_string()));
        }
        match slow.recv().await {
            Err(broadcast::error::RecvError::Lagged(n)) => assert_eq!(n, 5),
            other => panic!("expected lag, got {other:?}"),
        }
    }
}
