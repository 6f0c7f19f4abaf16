//! One [`Broadcast`] per accepted publish: it puts the channel on air (the
//! broadcasts row, the recording directory, the live registry), feeds the
//! publisher's frames through the segmenter into the HLS [`Packager`], and
//! takes the channel off air again.
//!
//! ```text
//! rtmp / srt frames -> Broadcast -> Segmenter -> hls::publish::Packager -> LiveStream + recording
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::hls::fmp4::{AudioConfig, VideoConfig};
use crate::hls::live::{ClaimError, LiveStream};
use crate::hls::publish::Packager;
use crate::hls::recording;
use crate::hls::segmenter::{Output, Segmenter, SegmenterConfig};
use crate::ingest::IngestError;
use crate::ingest::channel_link::{self, ChannelRow};
use crate::state::AppState;
use crate::storage::upload::Uploader;
use crate::vod;

/// A running broadcast: feed it media, then [`Broadcast::finish`] it.
pub struct Broadcast {
    state: AppState,
    segmenter: Segmenter,
    packager: Packager,
    /// Uploads finished media to object storage (cluster mode with `--s3-*`).
    uploader: Option<Uploader>,
    counters: Counters,
    finished: bool,
}

/// The broadcast's ingest metrics, labelled with its channel.
struct Counters {
    bytes_in: metrics::Counter,
    dropped: metrics::Counter,
    dropped_seen: u64,
    late: metrics::Counter,
    late_seen: u64,
}

impl Counters {
    fn new(channel: &str) -> Counters {
        let labels = [("channel", channel.to_string())];
        Counters {
            bytes_in: metrics::counter!("aethex_ingest_bytes_total", &labels),
            dropped: metrics::counter!("aethex_ingest_dropped_total", &labels),
            dropped_seen: 0,
            late: metrics::counter!("aethex_ingest_late_total", &labels),
            late_seen: 0,
        }
    }

    /// Adds what the segmenter dropped or found late since the last look.
    fn segmenter_losses(&mut self, segmenter: &Segmenter) {
        let dropped = segmenter.dropped();
        if dropped > self.dropped_seen {
            self.dropped.increment(dropped - self.dropped_seen);
            self.dropped_seen = dropped;
        }
        let late = segmenter.late();
        if late > self.late_seen {
            self.late.increment(late - self.late_seen);
            self.late_seen = late;
        }
    }
}

impl Drop for Broadcast {
    /// Safety net if a connection task dies without [`Broadcast::finish`]:
    /// the channel must not stay "live" forever.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let stream = self.packager.stream();
        stream.mark_ended();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let state = self.state.clone();
            let channel = stream.channel.clone();
            let id = stream.broadcast_id;
            rt.spawn(async move {
                let _ = channel_link::end_broadcast(&state, &channel, id).await;
            });
        }
    }
}

impl std::fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broadcast")
            .field("channel", &self.channel())
            .field("broadcast_id", &self.packager.stream().broadcast_id)
            .finish()
    }
}

impl From<ClaimError> for IngestError {
    fn from(e: ClaimError) -> Self {
        match e {
            ClaimError::AlreadyLive => IngestError::AlreadyLive,
            ClaimError::Poisoned => IngestError::Registry(e),
        }
    }
}

/// Part and segment lengths from the configuration, within sane bounds.
fn segmenter_config(state: &AppState) -> SegmenterConfig {
    SegmenterConfig {
        segment: Duration::from_millis(state.config.hls_segment_ms.max(100)),
        part: Duration::from_millis(state.config.hls_part_ms.clamp(50, 2000)),
    }
}

/// Creates broadcast `id`'s recording directory and stores where it is.
async fn prepare_recording(state: &AppState, id: i64) -> Result<PathBuf, IngestError> {
    let rel_dir = recording::dir_for(id);
    let dir = state.data_dir.join(&rel_dir);
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(IngestError::RecordingDir)?;
    vod::store::set_vod_dir(&state.db, id, &rel_dir)
        .await
        .map_err(IngestError::RecordingRow)?;
    Ok(dir)
}

/// Starts uploading broadcast media to object storage when the node has one
/// and holds the stream's lease (its epoch names the objects); records the
/// bucket folder on the broadcast so any node finds the VOD there.
async fn start_uploads(
    state: &AppState,
    stream: &Arc<LiveStream>,
    epoch: Option<i64>,
) -> Option<Uploader> {
    let (media, epoch) = (state.media.clone()?, epoch?);
    let uploader = Uploader::start(media, stream.clone(), epoch);
    let id = stream.broadcast_id;
    if let Err(e) = vod::store::set_media_prefix(&state.db, id, uploader.prefix()).await {
        // Uploads still help the live edge; other nodes just won't find the VOD there.
        tracing::warn!(error = %e, broadcast = id, "recording the media's bucket folder failed");
    }
    Some(uploader)
}

impl Broadcast {
    /// Starts a broadcast of `channel`: refuses a second publisher, records the
    /// broadcast and creates its directory.
    pub async fn begin(state: &AppState, channel: &ChannelRow) -> Result<Broadcast, IngestError> {
        if state.live.is_live(&channel.name) {
            return Err(IngestError::AlreadyLive);
        }
        let started = channel_link::start_broadcast(state, channel).await?;
        let broadcast_id = started.id;
        match Broadcast::go_on_air(state, channel, started).await {
            Ok(b) => Ok(b),
            Err(e) => {
                let _ = channel_link::end_broadcast(state, &channel.name, broadcast_id).await;
                Err(e)
            }
        }
    }

    /// The steps after the broadcasts row exists: directory, live stream,
    /// recording writer. On error the caller closes the row.
    async fn go_on_air(
        state: &AppState,
        channel: &ChannelRow,
        started: channel_link::Started,
    ) -> Result<Broadcast, IngestError> {
        let broadcast_id = started.id;
        let dir = prepare_recording(state, broadcast_id).await?;
        let cfg = segmenter_config(state);
        let stream = Arc::new(LiveStream::new(
            channel.name.clone(),
            broadcast_id,
            dir,
            &cfg,
            state.config.hls_window,
        ));
        state.live.claim(stream.clone())?;
        let mut packager = Packager::start(stream.clone()).map_err(|e| {
            stream.mark_ended();
            IngestError::RecordingWriter(e)
        })?;
        let uploader = start_uploads(state, &stream, started.epoch).await;
        if let Some(u) = &uploader {
            packager.set_sink(u.sink());
        }
        metrics::counter!("aethex_broadcasts_started_total").increment(1);
        tracing::info!(channel = %channel.name, broadcast_id, "broadcast started");
        Ok(Broadcast {
            state: state.clone(),
            segmenter: Segmenter::new(cfg),
            packager,
            uploader,
            counters: Counters::new(&channel.name),
            finished: false,
        })
    }

    /// The channel name.
    pub fn channel(&self) -> &str {
        &self.packager.stream().channel
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
        self.counters.dropped.increment(1);
    }

    /// Counts a frame's bytes and its arrival (the PDT clock's anchor).
    fn media_in(&mut self, ts_us: i64, len: usize) {
        self.counters.bytes_in.increment(len as u64);
        self.packager.media_arrived(ts_us);
    }

    /// Counts the segmenter's losses, then publishes what it produced.
    fn apply(&mut self, outputs: Vec<Output>) {
        self.counters.segmenter_losses(&self.segmenter);
        self.packager.publish(outputs);
    }

    /// Ends the broadcast: cuts the last part and segment, finalises both
    /// playlists (`EXT-X-ENDLIST`), waits for the files to reach the disk,
    /// stores the VOD duration and marks the channel offline.
    pub async fn finish(mut self) {
        self.finished = true;
        let last = self.segmenter.finish();
        self.apply(last);
        let duration = self.packager.finish().await;
        let state = &self.state;
        let stream = self.packager.stream().clone();
        let (channel, id) = (&stream.channel, stream.broadcast_id);
        if let Err(e) = vod::store::set_duration(&state.db, id, (duration * 1000.0) as i64).await {
            tracing::warn!(error = %e, "store VOD duration");
        }
        if let Err(e) = channel_link::end_broadcast(state, channel, id).await {
            tracing::warn!(error = &e as &dyn std::error::Error, "end broadcast");
        }
        tracing::info!(channel = %channel, broadcast_id = id, duration, "broadcast ended");
        // The VOD goes to object storage in the background; retention after
        // it, so that it sees (and may delete) what was uploaded.
        let state = state.clone();
        match (self.uploader.take(), stream.vod_playlist()) {
            (Some(uploader), Some(playlist)) => {
                tokio::spawn(async move {
                    uploader.finish(playlist).await;
                    vod::retention::apply_in_background(state);
                });
            }
            _ => vod::retention::apply_in_background(state),
        }
    }
}
