//! The chat broker of a cluster: every event is published to Redis on the
//! channel's topic (`aethex:chat:{channel}`), and every node — the
//! publishing one too — delivers what its subscription receives to its own
//! clients through a [`LocalBroker`] (same coalescing as a single node).
//! Redis delivers one topic's messages to every subscriber in one order, so
//! all nodes show a channel's events in the same order.
//!
//! Wire format of a payload: one line of JSON metadata (`{"m":id,"c":control}`),
//! a newline, then the serialised `ServerFrame` exactly as clients get it
//! (empty when the event carries no frame).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot};

use super::link::{CHAT_PREFIX, Link, Outgoing};
use crate::chat::hub::{BoxFuture, Broker, Control, Event, LocalBroker};

#[derive(Serialize, Deserialize)]
struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    m: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<Control>,
}

/// Encodes an event for Redis (see the module docs).
pub fn encode(event: &Event) -> Vec<u8> {
    let meta = Meta {
        m: event.message_id,
        c: event.control,
    };
    let mut out = serde_json::to_vec(&meta).unwrap_or_else(|_| b"{}".to_vec());
    out.push(b'\n');
    if let Some(frame) = &event.frame {
        out.extend_from_slice(frame.as_str().as_bytes());
    }
    out
}

/// Decodes a payload from Redis; `None` for anything malformed.
pub fn decode(payload: &[u8]) -> Option<Event> {
    let newline = payload.iter().position(|b| *b == b'\n')?;
    let meta: Meta = serde_json::from_slice(&payload[..newline]).ok()?;
    let frame = std::str::from_utf8(&payload[newline + 1..]).ok()?;
    Some(Event {
        frame: (!frame.is_empty()).then(|| Utf8Bytes::from(frame)),
        message_id: meta.m,
        control: meta.c,
    })
}

/// [`Broker`] over Redis pub/sub (see the module docs).
#[derive(Debug)]
pub struct RedisBroker {
    local: Arc<LocalBroker>,
    link: Link,
}

impl RedisBroker {
    /// A broker publishing through `link`; `window` is the local coalescing window.
    pub fn new(link: Link, window: Duration) -> Self {
        RedisBroker {
            local: Arc::new(LocalBroker::new(window)),
            link,
        }
    }

    /// Hands an event the subscription received to this node's clients.
    pub fn deliver(&self, channel: &str, payload: &[u8]) {
        match decode(payload) {
            Some(event) => self.local.publish(channel, event),
            None => tracing::warn!(channel, "unreadable chat event from Redis dropped"),
        }
    }

    fn outgoing(
        &self,
        events: Vec<(Arc<str>, Event)>,
        done: Option<oneshot::Sender<bool>>,
    ) -> Outgoing {
        let items = events
            .iter()
            .map(|(channel, event)| (format!("{CHAT_PREFIX}{channel}"), encode(event)))
            .collect();
        let local = self.local.clone();
        Outgoing {
            items,
            done,
            // Redis unreachable: this node's clients still get the events.
            fallback: Some(Box::new(move || {
                for (channel, event) in events {
                    local.publish(&channel, event);
                }
            })),
        }
    }
}

impl Broker for RedisBroker {
    fn publish(&self, channel: &str, event: Event) {
        self.link
            .send(self.outgoing(vec![(Arc::from(channel), event)], None));
    }

    fn subscribe(&self, channel: &str) -> broadcast::Receiver<Event> {
        self.local.subscribe(channel)
    }

    fn prune(&self) {
        self.local.prune();
    }

    fn publish_local(&self, channel: &str, event: Event) {
        self.local.publish(channel, event);
    }

    fn publish_ordered(&self, events: Vec<(Arc<str>, Event)>) -> BoxFuture<'static, ()> {
        let (done, acked) = oneshot::channel();
        self.link.send(self.outgoing(events, Some(done)));
        Box::pin(async move {
            let _ = acked.await;
        })
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn channels(&self) -> Vec<String> {
        self.local.channels()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_survive_the_wire_format() {
        let ev = Event {
            frame: Some(Utf8Bytes::from(r#"{"type":"message","text":"a\nb"}"#)),
            message_id: Some(42),
            control: Some(Control::Restricted {
                user_id: 7,
                until: Some(99),
            }),
        };
        let back = decode(&encode(&ev)).expect("decodes");
        assert_eq!(
            back.frame.as_ref().map(|f| f.as_str()),
            ev.frame.as_ref().map(|f| f.as_str())
        );
        assert_eq!(back.message_id, Some(42));
        assert_eq!(back.control, ev.control);
        let bare = decode(&encode(&Event {
            frame: None,
            message_id: None,
            control: Some(Control::Lifted { user_id: 3 }),
        }))
        .expect("decodes");
        assert!(bare.frame.is_none());
        assert_eq!(bare.control, Some(Control::Lifted { user_id: 3 }));
    }

    #[test]
    fn malformed_payloads_are_refused() {
        for bad in [
            &b""[..],
            b"no newline",
            b"{not json}\n{}",
            b"{\"m\":\"x\"}\n{}",
            b"{}\n\xff",
        ] {
            assert!(decode(bad).is_none(), "{bad:?}");
        }
    }
}
