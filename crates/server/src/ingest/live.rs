//! Live streams: the registry of who is on air, and one [`Broadcast`] per
//! publish that owns the pipeline, the playlists and the broadcasts row.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::hls::playlist::{Playlist, Segment};
use crate::ingest::IngestError;
use crate::ingest::channel_link::{self, ChannelRow};
use crate::ingest::pipeline::{BroadcastPipeline, InputFormat, PipelineEvent, Pushed};
use crate::state::AppState;
use crate::vod;

/// How long an ended stream's playlist (with `EXT-X-ENDLIST`) stays served at
/// `/hls/{channel}/` so players see the end instead of a 404.
pub const ENDED_LINGER: Duration = Duration::from_secs(10);

/// How long to wait for the pipeline to flush the last segment at the end.
const EOS_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the pipeline's `set_state(Null)` may take before it is reported as
/// stuck (the broadcast has already ended by then; only threads leak).
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(5);

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
    ended_at: Mutex<Option<Instant>>,
}

impl LiveStream {
    /// The live playlist text (sliding window of `window` segments).
    pub fn live_playlist(&self, window: usize) -> String {
        self.playlist
            .lock()
            .map(|p| p.render_live(window))
            .unwrap_or_default()
    }

    /// Whether any segment is listed yet.
    pub fn has_segments(&self) -> bool {
        self.playlist
            .lock()
            .map(|p| !p.segments().is_empty())
            .unwrap_or(false)
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
    pipeline: Option<BroadcastPipeline>,
    /// Set by the event task: `Some(None)` after EOS, `Some(Some(reason))` on failure.
    done: tokio::sync::watch::Receiver<Option<Option<String>>>,
    /// Lists segments; aborted at the end so the bus thread stops too.
    events_task: tokio::task::JoinHandle<()>,
    wallclock_base_ms: Arc<Mutex<Option<i64>>>,
    bytes_in: metrics::Counter,
    dropped: metrics::Counter,
    finished: bool,
}

impl Drop for Broadcast {
    /// Safety net if a connection task dies without [`Broadcast::finish`]:
    /// the channel must not stay "live" forever.
    fn drop(&mut self) {
        self.events_task.abort();
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
    /// broadcast, creates its directory and starts the pipeline.
    pub async fn begin(
        state: &AppState,
        channel: &ChannelRow,
        input: InputFormat,
    ) -> Result<Broadcast, IngestError> {
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
        let segment_len = Duration::from_millis(state.config.hls_segment_ms.max(100));
        let stream = Arc::new(LiveStream {
            channel: channel.name.clone(),
            broadcast_id,
            dir: dir.clone(),
            playlist: Mutex::new(Playlist::new(segment_len.as_secs_f64().ceil() as u32)),
            ended_at: Mutex::new(None),
        });
        if let Err(e) = state.live.claim(stream.clone()) {
            let _ = channel_link::end_broadcast(state, &channel.name, broadcast_id).await;
            return Err(e);
        }
        let wallclock_base_ms = Arc::new(Mutex::new(None));
        let started = BroadcastPipeline::start(
            &dir,
            &broadcast_id.to_string(),
            input,
            segment_len,
            wallclock_base_ms.clone(),
        );
        let (pipeline, events) = match started {
            Ok(p) => p,
            Err(e) => {
                mark_ended(&stream);
                let _ = channel_link::end_broadcast(state, &channel.name, broadcast_id).await;
                return Err(IngestError::Pipeline(e));
            }
        };
        let (done_tx, done) = tokio::sync::watch::channel(None);
        let events_task = tokio::spawn(event_task(stream.clone(), events, done_tx));
        metrics::counter!("aethex_broadcasts_started_total").increment(1);
        tracing::info!(channel = %channel.name, broadcast_id, "broadcast started");
        let labels = [("channel", channel.name.clone())];
        Ok(Broadcast {
            state: state.clone(),
            stream,
            pipeline: Some(pipeline),
            done,
            events_task,
            wallclock_base_ms,
            bytes_in: metrics::counter!("aethex_ingest_bytes_total", &labels),
            dropped: metrics::counter!("aethex_ingest_dropped_total", &labels),
            finished: false,
        })
    }

    /// The channel name.
    pub fn channel(&self) -> &str {
        &self.stream.channel
    }

    /// Feeds container bytes. `media_ts_ms` is the media timestamp of this data
    /// (for the wall-clock mapping); `force` never drops (sequence headers).
    /// Returns whether the data was dropped because the pipeline is behind.
    pub fn push(&mut self, data: Vec<u8>, media_ts_ms: Option<u32>, force: bool) -> Pushed {
        self.bytes_in.increment(data.len() as u64);
        if let (Some(ts), Ok(mut base)) = (media_ts_ms, self.wallclock_base_ms.lock())
            && base.is_none()
        {
            *base = Some(crate::db::now_ms() - i64::from(ts));
        }
        let Some(pipeline) = &self.pipeline else {
            return Pushed::Dropped;
        };
        let pushed = pipeline.push(data, force);
        if pushed == Pushed::Dropped {
            self.dropped.increment(1);
        }
        pushed
    }

    /// Counts media dropped before it reached the pipeline.
    pub fn count_dropped(&self) {
        self.dropped.increment(1);
    }

    /// The pipeline failure, if it failed (the publisher should be disconnected).
    pub fn failure(&self) -> Option<String> {
        self.done.borrow().clone().flatten()
    }

    /// Resolves when the pipeline stops on its own (error or EOS).
    pub async fn stopped(&mut self) {
        let _ = self.done.wait_for(|d| d.is_some()).await;
    }

    /// Ends the broadcast: flushes the last segment (at most [`EOS_TIMEOUT`]),
    /// finalises both playlists (`EXT-X-ENDLIST`), stores the VOD duration and
    /// marks the channel offline, then stops the pipeline in the background:
    /// a pipeline that never stops cannot keep the channel live.
    pub async fn finish(mut self) {
        self.finished = true;
        if let Some(pipeline) = &self.pipeline {
            pipeline.end_of_stream();
            let flushed =
                tokio::time::timeout(EOS_TIMEOUT, self.done.wait_for(|d| d.is_some())).await;
            if flushed.is_err() {
                tracing::warn!(
                    channel = %self.stream.channel,
                    "ingest pipeline did not flush within {EOS_TIMEOUT:?}: last segment lost"
                );
            }
        }
        // No segment may be listed after the end, and the bus thread stops
        // once the event receiver is gone.
        self.events_task.abort();
        let duration = match self.stream.playlist.lock() {
            Ok(mut p) => {
                p.end();
                if let Err(e) = vod::store::write_playlist(&self.stream.dir, &p.render_vod()) {
                    tracing::warn!(error = %e, "write final VOD playlist");
                }
                p.duration()
            }
            Err(_) => 0.0,
        };
        mark_ended(&self.stream);
        let state = &self.state;
        let id = self.stream.broadcast_id;
        if let Err(e) = vod::store::set_duration(&state.db, id, (duration * 1000.0) as i64).await {
            tracing::warn!(error = %e, "store VOD duration");
        }
        if let Err(e) = channel_link::end_broadcast(state, &self.stream.channel, id).await {
            tracing::warn!(error = %e, "end broadcast");
        }
        tracing::info!(channel = %self.stream.channel, broadcast_id = id, duration, "broadcast ended");
        if let Some(p) = self.pipeline.take() {
            let stopped = p.stop();
            let channel = self.stream.channel.clone();
            tokio::spawn(async move {
                if tokio::time::timeout(TEARDOWN_TIMEOUT, stopped)
                    .await
                    .is_err()
                {
                    metrics::counter!("aethex_ingest_stuck_pipelines_total").increment(1);
                    tracing::error!(
                        %channel,
                        broadcast_id = id,
                        "ingest pipeline did not stop within {TEARDOWN_TIMEOUT:?}: \
                         GStreamer is stuck, its threads leak"
                    );
                }
            });
        }
        vod::retention::apply_in_background(state.clone());
    }
}

/// Lists finished segments as they arrive and reports how the pipeline stopped.
async fn event_task(
    stream: Arc<LiveStream>,
    mut events: tokio::sync::mpsc::UnboundedReceiver<PipelineEvent>,
    done: tokio::sync::watch::Sender<Option<Option<String>>>,
) {
    while let Some(ev) = events.recv().await {
        match ev {
            PipelineEvent::Segment(seg) => add_segment(&stream, seg),
            PipelineEvent::Eos => {
                let _ = done.send(Some(None));
                return;
            }
            PipelineEvent::Error(e) => {
                tracing::warn!(channel = %stream.channel, error = %e, "ingest pipeline failed");
                metrics::counter!("aethex_ingest_pipeline_errors_total").increment(1);
                let _ = done.send(Some(Some(e.to_string())));
                return;
            }
        }
    }
    let _ = done.send(Some(Some("pipeline stopped".into())));
}

/// Lists `seg` and rewrites the VOD playlist, unless the broadcast already ended
/// (the file is written under the lock so it never overwrites the final one).
fn add_segment(stream: &LiveStream, seg: Segment) {
    let Ok(mut p) = stream.playlist.lock() else {
        return;
    };
    if p.is_ended() {
        return;
    }
    p.push(seg);
    metrics::counter!("aethex_hls_segments_total").increment(1);
    if let Err(e) = vod::store::write_playlist(&stream.dir, &p.render_vod()) {
        tracing::warn!(error = %e, "write VOD playlist");
    }
}

fn mark_ended(stream: &LiveStream) {
    if let Ok(mut e) = stream.ended_at.lock() {
        e.get_or_insert_with(Instant::now);
    }
}
