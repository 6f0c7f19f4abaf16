//! Chat: the WebSocket hub, moderation and viewer counts.
//!
//! Foundation only: [`ChatHub`] is the seam other features publish through
//! (live events) and read viewer counts from; the WebSocket endpoint and
//! moderation build on it.

use aethex_proto::ServerFrame;

/// Fan-out point for chat events and presence, shared by every feature.
#[derive(Debug, Default)]
pub struct ChatHub {}

impl ChatHub {
    /// Sends `frame` to every chat client of `channel`.
    pub fn publish(&self, channel: &str, frame: ServerFrame) {
        tracing::debug!(channel, ?frame, "chat publish (no clients connected yet)");
    }

    /// Distinct people watching `channel` right now.
    pub fn viewer_count(&self, _channel: &str) -> u64 {
        0
    }
}
