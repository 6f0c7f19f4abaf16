//! Live streams: the registry of who is on air, and one [`Broadcast`] per
//! publish that owns the segmenter, the playlists and the broadcasts row.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::hls::fmp4::{AudioConfig, VideoConfig};
use crate::hls::media::{DiskJob, MediaCache, PartRange, disk_writer, resolve};
use crate::hls::playlist::{Part, Playlist, Segment};
use crate::hls::segmenter::{Output, Segmenter, SegmenterConfig};
use crate::ingest::IngestError;
use crate::ingest::channel_link::{self, ChannelRow};
use crate::state::AppState;
use crate::vod;

/// How long an ended stream's playlist (with `EXT-X-ENDLIST`) stays served at
/// `/hls/{channel}/` so players see the end instead of a 404.
pub const ENDED_LINGER: Duration = Duration::from_secs(10);

/// How long the end of a broadcast waits for its files to reach the disk.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

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
        let mut changed = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let found = self.media.lock().ok().and_then(|m| m.get(name));
            if let Some(media) = found {
                return resolve(&self.dir, media).await;
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

    fn notify(&self) {
        self.changed.send_modify(|v| *v += 1);
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

/// Which channels are live. One publisher per channel at a time.
#[derive(Debug, Default)]
pub struct LiveRegistry {
    streams: Mutex<HashMap<String, Arc<LiveStream>>>,
    connections: std::sync::atomic::AtomicUsize,
}

/// Counts one open ingest connection while alive.
#[derive(Debug)]
pub struct ConnectionGuard(Arc<LiveRegistry>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0
            .connections
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        metrics::gauge!("aethex_ingest_connections").decrement(1.0);
    }
}

impl LiveRegistry {
    /// Registers an open ingest connection until the guard drops.
    pub fn connection(self: &Arc<Self>) -> ConnectionGuard {
        self.connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics::gauge!("aethex_ingest_connections").increment(1.0);
        ConnectionGuard(self.clone())
    }

    /// Ingest connections open right now (publishing or not).
    pub fn open_connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::Relaxed)
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

    fn claim(&self, stream: Arc<LiveStream>) -> Result<(), IngestError> {
        let mut map = self
            .streams
            .lock()
            .map_err(|_| IngestError::Internal("live registry poisoned".into()))?;
        if map.get(&stream.channel).is_some_and(|s| !s.is_ended()) {
            return Err(IngestError::AlreadyLive);
        }
        map.insert(stream.channel.clone(), stream);
        Ok(())
    }

    /// Whether `channel` has a publisher right now.
    pub fn is_live(&self, channel: &str) -> bool {
        self.get(channel).is_some_and(|s| !s.is_ended())
    }
}

/// A running broadcast: feed it media, then [`Broadcast::finish`] it.
pub struct Broadcast {
    state: AppState,
    stream: Arc<LiveStream>,
    segmenter: Segmenter,
    prefix: String,
    /// Bytes already in the segment being written (the next part's offset).
    segment_offset: u64,
    disk: Option<std::sync::mpsc::Sender<DiskJob>>,
    /// Resolves when the writer thread has written everything and stopped.
    disk_done: Option<tokio::sync::oneshot::Receiver<()>>,
    /// Unix milliseconds of media time 0 (for `EXT-X-PROGRAM-DATE-TIME`).
    wallclock_base_ms: Option<i64>,
    /// The PDT anchor no longer moves (the first segment is listed).
    anchor_frozen: bool,
    bytes_in: metrics::Counter,
    dropped: metrics::Counter,
    dropped_seen: u64,
    late: metrics::Counter,
    late_seen: u64,
    finished: bool,
}

impl Drop for Broadcast {
    /// Safety net if a connection task dies without [`Broadcast::finish`]:
    /// the channel must not stay "live" forever.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        mark_ended(&self.stream);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let state = self.state.clone();
            let channel = self.stream.channel.clone();
            let id = self.stream.broadcast_id;
            rt.spawn(async move {
                let _ = channel_link::end_broadcast(&state, &channel, id).await;
            });
        }
    }
}

impl std::fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broadcast")
            .field("channel", &self.stream.channel)
            .field("broadcast_id", &self.stream.broadcast_id)
            .finish()
    }
}

impl Broadcast {
    /// Starts a broadcast of `channel`: refuses a second publisher, records the
    /// broadcast and creates its directory.
    pub async fn begin(state: &AppState, channel: &ChannelRow) -> Result<Broadcast, IngestError> {
        if state.live.is_live(&channel.name) {
            return Err(IngestError::AlreadyLive);
        }
        let broadcast_id = channel_link::start_broadcast(state, channel)
            .await
            .map_err(|e| IngestError::Internal(format!("start broadcast: {e}")))?;
        let rel_dir = vod::store::dir_for(broadcast_id);
        let dir = state.data_dir.join(&rel_dir);
        let setup = async {
            tokio::fs::create_dir_all(&dir).await?;
            vod::store::set_vod_dir(&state.db, broadcast_id, &rel_dir).await?;
            anyhow::Ok(())
        };
        if let Err(e) = setup.await {
            let _ = channel_link::end_broadcast(state, &channel.name, broadcast_id).await;
            return Err(IngestError::Internal(format!("prepare recording: {e:#}")));
        }
        let cfg = SegmenterConfig {
            segment: Duration::from_millis(state.config.hls_segment_ms.max(100)),
            part: Duration::from_millis(state.config.hls_part_ms.clamp(50, 2000)),
        };
        let prefix = broadcast_id.to_string();
        let stream = Arc::new(LiveStream {
            channel: channel.name.clone(),
            broadcast_id,
            dir: dir.clone(),
            playlist: Mutex::new(Playlist::low_latency(
                cfg.segment.as_secs_f64().ceil() as u32,
                cfg.part.as_secs_f64(),
                init_name(&prefix),
            )),
            media: Mutex::default(),
            changed: tokio::sync::watch::channel(0).0,
            ended_at: Mutex::new(None),
        });
        if let Err(e) = state.live.claim(stream.clone()) {
            let _ = channel_link::end_broadcast(state, &channel.name, broadcast_id).await;
            return Err(e);
        }
        let (disk, jobs) = std::sync::mpsc::channel();
        let (done_tx, disk_done) = tokio::sync::oneshot::channel();
        let writer_stream = stream.clone();
        let spawned = std::thread::Builder::new()
            .name("vod-writer".into())
            .spawn(move || {
                disk_writer(&writer_stream.dir, &writer_stream.media, jobs);
                let _ = done_tx.send(());
            });
        if let Err(e) = spawned {
            mark_ended(&stream);
            let _ = channel_link::end_broadcast(state, &channel.name, broadcast_id).await;
            return Err(IngestError::Internal(format!(
                "start recording writer: {e}"
            )));
        }
        metrics::counter!("aethex_broadcasts_started_total").increment(1);
        tracing::info!(channel = %channel.name, broadcast_id, "broadcast started");
        let labels = [("channel", channel.name.clone())];
        Ok(Broadcast {
            state: state.clone(),
            stream,
            segmenter: Segmenter::new(cfg),
            prefix,
            segment_offset: 0,
            disk: Some(disk),
            disk_done: Some(disk_done),
            wallclock_base_ms: None,
            anchor_frozen: false,
            bytes_in: metrics::counter!("aethex_ingest_bytes_total", &labels),
            dropped: metrics::counter!("aethex_ingest_dropped_total", &labels),
            dropped_seen: 0,
            late: metrics::counter!("aethex_ingest_late_total", &labels),
            late_seen: 0,
            finished: false,
        })
    }

    /// The channel name.
    pub fn channel(&self) -> &str {
        &self.stream.channel
    }

    /// The tracks the publisher announced (stream metadata), if it did.
    pub fn announce(&mut self, video: bool, audio: bool) {
        self.segmenter.announce(video, audio);
    }

    /// The H.264 decoder configuration.
    pub fn video_config(&mut self, config: VideoConfig) {
        self.segmenter.set_video_config(config);
    }

    /// The AAC decoder configuration.
    pub fn audio_config(&mut self, config: AudioConfig) {
        self.segmenter.set_audio_config(config);
    }

    /// One H.264 access unit (length-prefixed NAL units); times in microseconds
    /// of the publisher's clock.
    pub fn video(&mut self, dts_us: i64, cts_us: i64, keyframe: bool, data: Bytes) {
        self.media_in(dts_us, data.len());
        let out = self.segmenter.push_video(dts_us, cts_us, keyframe, data);
        self.apply(out);
    }

    /// One raw AAC frame; time in microseconds of the publisher's clock.
    pub fn audio(&mut self, pts_us: i64, data: Bytes) {
        self.media_in(pts_us, data.len());
        let out = self.segmenter.push_audio(pts_us, data);
        self.apply(out);
    }

    /// Counts media dropped before it reached the segmenter (not decodable).
    pub fn count_dropped(&self) {
        self.dropped.increment(1);
    }

    /// Maps media time to wall-clock time for `EXT-X-PROGRAM-DATE-TIME`: the
    /// earliest (arrival − media time) seen until the first segment is listed.
    /// A frame cannot arrive before it was captured, and the first frames
    /// often arrive late (encoder start-up), so the minimum is the closest
    /// estimate of the capture clock; it is frozen after that so PDT never jumps.
    fn media_in(&mut self, ts_us: i64, len: usize) {
        self.bytes_in.increment(len as u64);
        if !self.anchor_frozen {
            let candidate = crate::db::now_ms() - ts_us / 1000;
            self.wallclock_base_ms = Some(
                self.wallclock_base_ms
                    .map_or(candidate, |base| base.min(candidate)),
            );
        }
    }

    fn pdt_ms(&self, media_us: i64) -> i64 {
        self.wallclock_base_ms.unwrap_or_else(crate::db::now_ms) + media_us / 1000
    }

    /// Publishes what the segmenter produced: files to memory (live) and disk
    /// (VOD), entries to the playlists, then wakes blocked readers.
    fn apply(&mut self, outputs: Vec<Output>) {
        let dropped = self.segmenter.dropped();
        if dropped > self.dropped_seen {
            self.dropped.increment(dropped - self.dropped_seen);
            self.dropped_seen = dropped;
        }
        let late = self.segmenter.late();
        if late > self.late_seen {
            self.late.increment(late - self.late_seen);
            self.late_seen = late;
        }
        if outputs.is_empty() {
            return;
        }
        for output in outputs {
            match output {
                Output::Init(data) => {
                    let name = init_name(&self.prefix);
                    if let Ok(mut m) = self.stream.media.lock() {
                        m.init = Some((name.clone(), data.clone()));
                    }
                    self.write(DiskJob::File { name, data });
                }
                Output::Part {
                    segment,
                    index,
                    duration,
                    independent,
                    data,
                } => {
                    let name = part_name(&self.prefix, segment, index);
                    let segment_file = segment_name(&self.prefix, segment);
                    let range = PartRange {
                        segment: segment_file.clone(),
                        offset: self.segment_offset,
                        len: data.len(),
                    };
                    self.segment_offset += data.len() as u64;
                    if let Ok(mut m) = self.stream.media.lock() {
                        m.add_part(name.clone(), range, data.clone());
                    }
                    self.write(DiskJob::AppendPart {
                        segment: segment_file,
                        part: name.clone(),
                        data,
                    });
                    let stream_start = self.wallclock_base_ms.unwrap_or_else(crate::db::now_ms);
                    if let Ok(mut p) = self.stream.playlist.lock() {
                        p.push_part(
                            Part {
                                uri: name,
                                duration,
                                independent,
                            },
                            stream_start,
                        );
                        p.set_preload_hint(part_name(&self.prefix, segment, index + 1));
                    }
                }
                Output::Segment {
                    index,
                    duration,
                    start_us,
                } => {
                    // Its bytes are already (being) appended, part by part.
                    let name = segment_name(&self.prefix, index);
                    self.segment_offset = 0;
                    let segment = Segment {
                        uri: name,
                        duration,
                        program_date_time_ms: self.pdt_ms(start_us),
                        parts: Vec::new(),
                    };
                    self.anchor_frozen = true;
                    let entry = crate::hls::playlist::vod_entry(&segment);
                    let first = self.stream.playlist.lock().ok().map(|mut p| {
                        p.push(segment);
                        p.set_preload_hint(part_name(&self.prefix, index + 1, 0));
                        (p.segments().len() == 1).then(|| p.render_vod())
                    });
                    metrics::counter!("aethex_hls_segments_total").increment(1);
                    // The recording's playlist grows by appending (crash-safe
                    // and O(1) per segment); it is rewritten once at the end.
                    match first {
                        Some(Some(whole)) => self.write(DiskJob::Playlist(whole)),
                        Some(None) => self.write(DiskJob::AppendPlaylist(entry)),
                        None => {}
                    }
                }
            }
        }
        self.stream.notify();
    }

    fn write(&self, job: DiskJob) {
        if let Some(disk) = &self.disk {
            let _ = disk.send(job);
        }
    }

    /// Ends the broadcast: cuts the last part and segment, finalises both
    /// playlists (`EXT-X-ENDLIST`), waits for the files to reach the disk,
    /// stores the VOD duration and marks the channel offline.
    pub async fn finish(mut self) {
        self.finished = true;
        let last = self.segmenter.finish();
        self.apply(last);
        let (duration, vod) = match self.stream.playlist.lock() {
            Ok(mut p) => {
                p.end();
                (p.duration(), Some(p.render_vod()))
            }
            Err(_) => (0.0, None),
        };
        if let Some(text) = vod {
            self.write(DiskJob::Playlist(text));
        }
        mark_ended(&self.stream);
        self.stream.notify();
        // Close the queue and wait for the writer to drain it.
        self.disk = None;
        if let Some(done) = self.disk_done.take()
            && tokio::time::timeout(FLUSH_TIMEOUT, done).await.is_err()
        {
            tracing::warn!(channel = %self.stream.channel, "recording files still being written");
        }
        let state = &self.state;
        let id = self.stream.broadcast_id;
        if let Err(e) = vod::store::set_duration(&state.db, id, (duration * 1000.0) as i64).await {
            tracing::warn!(error = %e, "store VOD duration");
        }
        if let Err(e) = channel_link::end_broadcast(state, &self.stream.channel, id).await {
            tracing::warn!(error = %e, "end broadcast");
        }
        tracing::info!(channel = %self.stream.channel, broadcast_id = id, duration, "broadcast ended");
        vod::retention::apply_in_background(state.clone());
    }
}

/// The init segment's file name.
fn init_name(prefix: &str) -> String {
    format!("{prefix}_init.mp4")
}

/// A segment's file name.
fn segment_name(prefix: &str, msn: u64) -> String {
    format!("{prefix}_{msn:05}.m4s")
}

/// A part's name (live only: a byte range of its segment's file).
fn part_name(prefix: &str, msn: u64, part: u32) -> String {
    format!("{prefix}_{msn:05}_p{part}.m4s")
}

fn mark_ended(stream: &LiveStream) {
    if let Ok(mut e) = stream.ended_at.lock() {
        e.get_or_insert_with(Instant::now);
    }
}
