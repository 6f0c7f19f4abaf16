//! Who is on air: the registry of live streams, and per stream the live
//! playlist and media index that the HLS handlers read and the
//! [`Packager`](super::publish::Packager) fills.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::media::MediaCache;
use super::playlist::{Part, Playlist, Segment};
use super::segmenter::SegmenterConfig;

/// How long an ended stream's playlist (with `EXT-X-ENDLIST`) stays served at
/// `/hls/{channel}/` so players see the end instead of a 404.
pub const ENDED_LINGER: Duration = Duration::from_secs(10);

/// One channel's current (or just ended) stream, as the HLS handlers see it.
#[derive(Debug)]
pub struct LiveStream {
    /// Channel name.
    pub channel: String,
    /// Broadcast row id (also the VOD id).
    pub broadcast_id: i64,
    /// Directory holding the segments (the VOD directory).
    pub dir: PathBuf,
    playlist: Mutex<Playlist>,
    media: Mutex<MediaCache>,
    /// Bumped whenever the playlist changes (blocking reloads wait on it).
    changed: tokio::sync::watch::Sender<u64>,
    ended_at: Mutex<Option<Instant>>,
}

/// What a blocking playlist reload (`_HLS_msn` / `_HLS_part`) got.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    /// The playlist (now containing the requested part, or ended).
    Ready(String),
    /// The request is too far ahead of the live edge (RFC 8216bis: 400).
    TooFarAhead,
    /// The part did not appear in time (503).
    TimedOut,
}

impl LiveStream {
    /// A stream of broadcast `broadcast_id` of `channel` with an empty
    /// low-latency playlist cut as `cfg` says, its files in `dir`.
    /// Its media window holds `window` segments (the live playlist's) plus grace.
    pub fn new(
        channel: String,
        broadcast_id: i64,
        dir: PathBuf,
        cfg: &SegmenterConfig,
        window: usize,
    ) -> Self {
        let playlist = Playlist::low_latency(
            cfg.segment.as_secs_f64().ceil() as u32,
            cfg.part.as_secs_f64(),
            super::init_name(&broadcast_id.to_string()),
        );
        LiveStream {
            channel,
            broadcast_id,
            dir,
            playlist: Mutex::new(playlist),
            media: Mutex::new(MediaCache::new(window)),
            changed: tokio::sync::watch::channel(0).0,
            ended_at: Mutex::new(None),
        }
    }

    /// The live playlist text (sliding window of `window` segments).
    pub fn live_playlist(&self, window: usize) -> String {
        self.playlist
            .lock()
            .map(|p| p.render_live(window))
            .unwrap_or_default()
    }

    /// Waits until segment `msn` (part `part` of it, if given) is listed, then
    /// renders the playlist: the LL-HLS blocking playlist reload.
    pub async fn reload(&self, window: usize, msn: u64, part: Option<u32>) -> Reload {
        let mut changed = self.changed.subscribe();
        let deadline = {
            let Ok(p) = self.playlist.lock() else {
                return Reload::TimedOut;
            };
            if msn > p.next_sequence() + 2 {
                return Reload::TooFarAhead;
            }
            // RFC 8216bis 6.2.5.2: give up after three target durations.
            tokio::time::Instant::now() + Duration::from_secs(3 * u64::from(p.target_duration()))
        };
        loop {
            if let Ok(p) = self.playlist.lock()
                && (p.is_ended() || p.has(msn, part))
            {
                return Reload::Ready(p.render_live(window));
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                _ => return Reload::TimedOut,
            }
        }
    }

    /// A live media file (init, part or recent segment) from memory; waits up to
    /// `wait` for the part announced by the preload hint.
    pub async fn media(&self, name: &str, wait: Duration) -> Option<Bytes> {
        if let Some(bytes) = self.media.lock().ok().and_then(|m| m.get(name)) {
            return Some(bytes);
        }
        let mut changed = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(bytes) = self.media.lock().ok().and_then(|m| m.get(name)) {
                return Some(bytes);
            }
            // Only the hinted next part is worth waiting for.
            let hinted = self
                .playlist
                .lock()
                .is_ok_and(|p| p.preload_hint() == Some(name));
            if !hinted || self.is_ended() {
                return None;
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                _ => return None,
            }
        }
    }

    /// Keeps the init segment in memory for the whole stream.
    pub(super) fn cache_init(&self, name: String, data: Bytes) {
        if let Ok(mut m) = self.media.lock() {
            m.init = Some((name, data));
        }
    }

    /// Keeps a new part of `segment` in the memory window.
    pub(super) fn cache_part(&self, name: String, segment: &str, data: Bytes) {
        if let Ok(mut m) = self.media.lock() {
            m.add_part(name, segment, data);
        }
    }

    /// Whether the first part has been cut (before it, a live playlist has
    /// nothing to list).
    pub fn has_media(&self) -> bool {
        self.media.lock().is_ok_and(|m| m.has_media())
    }

    /// A file of the memory window (a just completed segment, say), now.
    pub(super) fn held(&self, name: &str) -> Option<Bytes> {
        self.media.lock().ok().and_then(|m| m.get(name))
    }

    /// Media bytes this stream holds in memory.
    pub fn held_bytes(&self) -> usize {
        self.media.lock().map(|m| m.held_bytes()).unwrap_or(0)
    }

    /// Lists a part and hints the next one.
    pub(super) fn list_part(&self, part: Part, stream_start_ms: i64, next: String) {
        if let Ok(mut p) = self.playlist.lock() {
            p.push_part(part, stream_start_ms);
            p.set_preload_hint(next);
        }
    }

    /// Lists a complete segment and hints the next segment's first part;
    /// returns how many segments are listed now (`None`: playlist unusable).
    pub(super) fn list_segment(&self, segment: Segment, next: String) -> Option<usize> {
        if let Ok(mut m) = self.media.lock() {
            m.complete_segment(&segment.uri);
        }
        let mut p = self.playlist.lock().ok()?;
        p.push(segment);
        p.set_preload_hint(next);
        Some(p.segments().len())
    }

    /// The whole playlist as a VOD (for the recording's first write).
    pub fn vod_playlist(&self) -> Option<String> {
        self.playlist.lock().ok().map(|p| p.render_vod())
    }

    /// Ends the playlist (`EXT-X-ENDLIST`); returns its media duration in
    /// seconds and its final VOD text.
    pub(super) fn end_playlist(&self) -> Option<(f64, String)> {
        let mut p = self.playlist.lock().ok()?;
        p.end();
        Some((p.duration(), p.render_vod()))
    }

    /// Segment `name` is in object storage: the playlists name it by `url`.
    pub fn relocate(&self, name: &str, url: String) {
        if let Ok(mut p) = self.playlist.lock() {
            p.relocate(name, url);
        }
    }

    /// Wakes blocked reloads and media waits: the playlist changed.
    pub(super) fn notify(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    /// Marks the stream ended (idempotent): the channel is off air, its
    /// playlist lingers for [`ENDED_LINGER`].
    pub fn mark_ended(&self) {
        if let Ok(mut e) = self.ended_at.lock() {
            e.get_or_insert_with(Instant::now);
        }
    }

    /// Whether the stream ended more than [`ENDED_LINGER`] ago (then it is gone).
    fn expired(&self) -> bool {
        self.ended_at
            .lock()
            .ok()
            .and_then(|e| *e)
            .is_some_and(|t| t.elapsed() > ENDED_LINGER)
    }

    fn is_ended(&self) -> bool {
        self.ended_at.lock().ok().and_then(|e| *e).is_some()
    }
}

/// Why a stream could not be registered as live.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The channel already has a publisher.
    #[error("channel is already live")]
    AlreadyLive,
    /// A thread panicked while holding the registry.
    #[error("live registry poisoned")]
    Poisoned,
}

/// Which channels are live. One publisher per channel at a time.
#[derive(Debug, Default)]
pub struct LiveRegistry {
    streams: Mutex<HashMap<String, Arc<LiveStream>>>,
    connections: AtomicUsize,
}

/// Counts one open ingest connection while alive.
#[derive(Debug)]
pub struct ConnectionGuard(Arc<LiveRegistry>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("aethex_ingest_connections").decrement(1.0);
    }
}

impl LiveRegistry {
    /// Registers an open ingest connection until the guard drops.
    pub fn connection(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("aethex_ingest_connections").increment(1.0);
        ConnectionGuard(self.clone())
    }

    /// Ingest connections open right now (publishing or not).
    pub fn open_connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// The channel's current stream, or a just-ended one during [`ENDED_LINGER`].
    pub fn get(&self, channel: &str) -> Option<Arc<LiveStream>> {
        let mut map = self.streams.lock().ok()?;
        match map.get(channel) {
            Some(s) if s.expired() => {
                map.remove(channel);
                None
            }
            other => other.cloned(),
        }
    }

    /// Number of channels currently on air.
    pub fn live_count(&self) -> usize {
        self.streams
            .lock()
            .map(|m| m.values().filter(|s| !s.is_ended()).count())
            .unwrap_or(0)
    }

    /// Puts `stream` on air, replacing an ended stream of its channel;
    /// refused while the channel has a publisher.
    pub fn claim(&self, stream: Arc<LiveStream>) -> Result<(), ClaimError> {
        let mut map = self.streams.lock().map_err(|_| ClaimError::Poisoned)?;
        if map.get(&stream.channel).is_some_and(|s| !s.is_ended()) {
            return Err(ClaimError::AlreadyLive);
        }
        map.insert(stream.channel.clone(), stream);
        Ok(())
    }

    /// Whether `channel` has a publisher right now.
    pub fn is_live(&self, channel: &str) -> bool {
        self.get(channel).is_some_and(|s| !s.is_ended())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(channel: &str, id: i64) -> Arc<LiveStream> {
        let cfg = SegmenterConfig {
            segment: Duration::from_secs(1),
            part: Duration::from_millis(200),
        };
        Arc::new(LiveStream::new(channel.into(), id, PathBuf::new(), &cfg, 6))
    }

    #[test]
    fn one_publisher_per_channel_until_it_ends() {
        let registry = LiveRegistry::default();
        let first = stream("alice", 1);
        registry.claim(first.clone()).unwrap();
        assert!(registry.is_live("alice"));
        assert!(matches!(
            registry.claim(stream("alice", 2)),
            Err(ClaimError::AlreadyLive)
        ));
        registry.claim(stream("bob", 3)).unwrap();
        assert_eq!(registry.live_count(), 2);
        first.mark_ended();
        assert!(!registry.is_live("alice"));
        // Ended but lingering: still served, and a new broadcast may replace it.
        assert_eq!(registry.get("alice").unwrap().broadcast_id, 1);
        registry.claim(stream("alice", 4)).unwrap();
        assert_eq!(registry.get("alice").unwrap().broadcast_id, 4);
    }
}
