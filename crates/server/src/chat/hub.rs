//! Fan-out: every chat event goes through a [`Broker`], serialised once and
//! shared by every subscriber. The in-process [`LocalBroker`] keeps one tokio
//! broadcast ring per channel; a Redis pub/sub or PostgreSQL LISTEN/NOTIFY
//! broker for several server nodes implements the same trait, and the
//! handlers never notice.
//!
//! Coalescing: a channel's events go out at once when the channel has been
//! quiet for a window, otherwise they wait for the window's end and go out
//! together, back to back. Every connection then wakes once per window and
//! writes the whole run of frames (each its own WebSocket frame) with one
//! syscall, instead of waking and writing once per event: at 5 000 sockets
//! the per-event wake-up and `send` are what cost, not the bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// Events a channel's ring holds before a subscriber that has not taken them
/// counts as lagging (and is disconnected). Shared by all subscribers: the
/// ring stores each event once, whatever the number of clients.
pub const RING_CAPACITY: usize = 1024;

/// Most events one coalesced run holds; more are sent at once, so a run
/// always fits well inside the ring.
pub const MAX_RUN: usize = RING_CAPACITY / 4;

/// Default coalescing window (`--chat-fanout-window-ms`).
pub const FANOUT_WINDOW: Duration = Duration::from_millis(10);

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

/// State changes connections react to individually (serialised when a
/// shared broker carries them to other nodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
    /// Delivers `event` to every current subscriber of `channel` (never
    /// blocks), in publication order, within the broker's coalescing window.
    fn publish(&self, channel: &str, event: Event);
    /// A receiver of every event published to `channel` from now on.
    fn subscribe(&self, channel: &str) -> broadcast::Receiver<Event>;
    /// Forgets channels without subscribers (called periodically).
    fn prune(&self);
    /// Delivers `event` to this node's subscribers only: for what every node
    /// works out for itself (e.g. cluster-wide viewer totals).
    fn publish_local(&self, channel: &str, event: Event) {
        self.publish(channel, event);
    }
    /// Publishes `events` in order and resolves once their place in every
    /// node's order is fixed (a shared broker: acknowledged by its server).
    fn publish_ordered(&self, events: Vec<(Arc<str>, Event)>) -> BoxFuture<'static, ()> {
        for (channel, event) in events {
            self.publish(&channel, event);
        }
        Box::pin(std::future::ready(()))
    }
    /// Whether other server nodes see what is published here.
    fn is_shared(&self) -> bool {
        false
    }
    /// Channels with at least one subscriber on this node.
    fn channels(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A boxed future, as [`Broker::publish_ordered`] returns.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// One channel's ring and the events waiting for the end of its window.
#[derive(Debug)]
struct Topic {
    tx: broadcast::Sender<Event>,
    pending: Vec<Event>,
    /// When the last run went out.
    last_run: Option<Instant>,
    /// A task will send `pending` when the window ends.
    armed: bool,
}

impl Topic {
    fn send_pending(&mut self, now: Instant) {
        self.last_run = Some(now);
        for ev in self.pending.drain(..) {
            // No receivers is fine: nobody is watching this channel.
            let _ = self.tx.send(ev);
        }
    }
}

type Topics = Mutex<HashMap<String, Topic>>;

/// The single-node broker: one broadcast ring per channel, coalesced in
/// windows (see the module docs).
#[derive(Debug)]
pub struct LocalBroker {
    topics: Arc<Topics>,
    window: Duration,
}

impl Default for LocalBroker {
    fn default() -> Self {
        LocalBroker::new(FANOUT_WINDOW)
    }
}

fn lock(topics: &Topics) -> std::sync::MutexGuard<'_, HashMap<String, Topic>> {
    topics.lock().unwrap_or_else(|p| p.into_inner())
}

impl LocalBroker {
    /// A broker that sends a channel's events at most once per `window`
    /// (zero: every event at once).
    pub fn new(window: Duration) -> Self {
        LocalBroker {
            topics: Arc::default(),
            window,
        }
    }

    /// Sends what `channel` has pending once `at` has come.
    async fn send_at(topics: Weak<Topics>, channel: String, at: Instant) {
        tokio::time::sleep_until(at).await;
        let Some(topics) = topics.upgrade() else {
            return;
        };
        if let Some(t) = lock(&topics).get_mut(&channel) {
            t.armed = false;
            if !t.pending.is_empty() {
                t.send_pending(Instant::now());
            }
        }
    }
}

impl Broker for LocalBroker {
    fn publish(&self, channel: &str, event: Event) {
        let mut topics = lock(&self.topics);
        let Some(t) = topics.get_mut(channel) else {
            return;
        };
        // A state change (ban, timeout, lift) must reach the connections before
        // their user's next message is checked: it goes out at once, after
        // what is pending (order kept), never held for the window.
        let urgent = event.control.is_some();
        t.pending.push(event);
        if urgent {
            t.send_pending(Instant::now());
            return;
        }
        if t.armed && t.pending.len() < MAX_RUN {
            return;
        }
        let now = Instant::now();
        let window_end = t.last_run.map(|at| at + self.window);
        match (window_end, tokio::runtime::Handle::try_current()) {
            (Some(end), Ok(rt)) if end > now && !t.armed => {
                t.armed = true;
                let topics = Arc::downgrade(&self.topics);
                rt.spawn(Self::send_at(topics, channel.to_string(), end));
            }
            // Waiting for an armed window to end, and not full yet.
            (Some(end), Ok(_)) if end > now && t.pending.len() < MAX_RUN => {}
            // Quiet for a window, a full run, or no runtime to wait on.
            _ => t.send_pending(now),
        }
    }

    fn subscribe(&self, channel: &str) -> broadcast::Receiver<Event> {
        lock(&self.topics)
            .entry(channel.to_string())
            .or_insert_with(|| Topic {
                tx: broadcast::channel(RING_CAPACITY).0,
                pending: Vec::new(),
                last_run: None,
                armed: false,
            })
            .tx
            .subscribe()
    }

    fn prune(&self) {
        lock(&self.topics).retain(|_, t| t.tx.receiver_count() > 0 || t.armed);
    }

    fn channels(&self) -> Vec<String> {
        lock(&self.topics)
            .iter()
            .filter(|(_, t)| t.tx.receiver_count() > 0)
            .map(|(name, _)| name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    fn ev(text: &str) -> Event {
        Event {
            frame: Some(Utf8Bytes::from(text)),
            message_id: None,
            control: None,
        }
    }

    fn text(e: Event) -> String {
        e.frame.expect("frame").as_str().to_string()
    }

    #[tokio::test]
    async fn events_reach_subscribers_of_their_channel_only() {
        let b = LocalBroker::default();
        let mut a = b.subscribe("alice");
        let mut other = b.subscribe("bob");
        b.publish("alice", ev("one"));
        b.publish("nobody", ev("lost"));
        let got = a.recv().await.unwrap();
        assert_eq!(text(got), "one");
        assert!(other.try_recv().is_err());
        drop((a, other));
        b.prune();
        assert!(lock(&b.topics).is_empty());
    }

    #[tokio::test]
    async fn events_within_a_window_go_out_together_in_order() {
        let window = Duration::from_secs(1);
        let b = LocalBroker::new(window);
        let mut rx = b.subscribe("alice");
        // Quiet channel: the first event goes out at once.
        b.publish("alice", ev("0"));
        assert_eq!(text(rx.try_recv().unwrap()), "0");
        // The rest of the window waits, then arrives as one run.
        for i in 1..=5 {
            b.publish("alice", ev(&i.to_string()));
        }
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
        let first = rx.recv().await.unwrap();
        let mut got = vec![text(first)];
        while let Ok(e) = rx.try_recv() {
            got.push(text(e));
        }
        assert_eq!(got, ["1", "2", "3", "4", "5"]);
        // After a quiet window the next event goes out at once again.
        tokio::time::sleep(window + Duration::from_millis(50)).await;
        b.publish("alice", ev("6"));
        assert_eq!(text(rx.try_recv().unwrap()), "6");
    }

    #[tokio::test]
    async fn state_changes_go_out_at_once_after_what_is_pending() {
        let b = LocalBroker::new(Duration::from_secs(60));
        let mut rx = b.subscribe("alice");
        b.publish("alice", ev("first"));
        assert_eq!(text(rx.try_recv().unwrap()), "first");
        // Within the window: held.
        b.publish("alice", ev("held"));
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
        // A ban lifted must not wait a window: it flushes, in order.
        b.publish(
            "alice",
            Event {
                frame: None,
                message_id: None,
                control: Some(Control::Lifted { user_id: 7 }),
            },
        );
        assert_eq!(text(rx.try_recv().unwrap()), "held");
        assert!(rx.try_recv().unwrap().control.is_some());
    }

    #[tokio::test]
    async fn a_full_run_goes_out_without_waiting_for_the_window() {
        let b = LocalBroker::new(Duration::from_secs(60));
        let mut rx = b.subscribe("alice");
        b.publish("alice", ev("first"));
        for i in 0..MAX_RUN {
            b.publish("alice", ev(&i.to_string()));
        }
        assert_eq!(text(rx.try_recv().unwrap()), "first");
        for i in 0..MAX_RUN {
            assert_eq!(text(rx.try_recv().unwrap()), i.to_string());
        }
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_how_far_behind_it_is() {
        let b = LocalBroker::new(Duration::ZERO);
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
