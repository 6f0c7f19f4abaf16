//! The HLS side of one broadcast: what the segmenter cut becomes named media
//! in the live index, entries in the live playlist and writes to the
//! recording, in the order players may ask for them.
//!
//! ```text
//! Segmenter outputs -> Packager -> LiveStream (memory, live playlist) -> hls handlers
//!                               -> Recorder (disk: segments, VOD playlist) -> vod handlers
//! ```

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::live::LiveStream;
use super::playlist::{Part, Segment, vod_entry};
use super::recording::{DiskJob, Recorder};
use super::segmenter::Output;
use super::sink::MediaSink;
use super::{init_name, part_name, segment_name};

/// How long the end of a broadcast waits for its files to reach the disk.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Maps media time to wall-clock time for `EXT-X-PROGRAM-DATE-TIME`: the
/// earliest (arrival − media time) seen until the first segment is listed.
/// A frame cannot arrive before it was captured, and the first frames often
/// arrive late (encoder start-up), so the minimum is the closest estimate of
/// the capture clock; it is frozen after that so PDT never jumps.
#[derive(Debug, Default)]
struct WallClock {
    /// Unix milliseconds of media time 0.
    base_ms: Option<i64>,
    /// The anchor no longer moves (the first segment is listed).
    frozen: bool,
}

impl WallClock {
    /// A frame with media time `ts_us` arrived now.
    fn arrived(&mut self, ts_us: i64) {
        if !self.frozen {
            let candidate = crate::db::now_ms() - ts_us / 1000;
            self.base_ms = Some(self.base_ms.map_or(candidate, |b| b.min(candidate)));
        }
    }

    /// Unix milliseconds of media time 0 (now, before any frame).
    fn base_ms(&self) -> i64 {
        self.base_ms.unwrap_or_else(crate::db::now_ms)
    }

    /// Unix milliseconds of media time `media_us`.
    fn at(&self, media_us: i64) -> i64 {
        self.base_ms() + media_us / 1000
    }
}

/// Publishes one broadcast's segmenter output to its [`LiveStream`] and its
/// recording; [`Packager::finish`] ends both.
#[derive(Debug)]
pub struct Packager {
    stream: Arc<LiveStream>,
    /// Media names start with it (the broadcast id).
    prefix: String,
    recorder: Recorder,
    clock: WallClock,
    /// Also gets every finished file (object storage), if set.
    sink: Option<Arc<dyn MediaSink>>,
}

impl Packager {
    /// Starts packaging into `stream` (its recording writer thread too).
    pub fn start(stream: Arc<LiveStream>) -> std::io::Result<Packager> {
        let recorder = Recorder::start(stream.dir.clone())?;
        Ok(Packager {
            prefix: stream.broadcast_id.to_string(),
            stream,
            recorder,
            clock: WallClock::default(),
            sink: None,
        })
    }

    /// Hands every finished file (init, whole segments) to `sink` too.
    pub fn set_sink(&mut self, sink: Arc<dyn MediaSink>) {
        self.sink = Some(sink);
    }

    /// The stream being filled.
    pub fn stream(&self) -> &Arc<LiveStream> {
        &self.stream
    }

    /// A frame with media time `ts_us` (publisher's clock) arrived now.
    pub fn media_arrived(&mut self, ts_us: i64) {
        self.clock.arrived(ts_us);
    }

    /// Publishes what the segmenter produced: files to memory (live) and disk
    /// (VOD), entries to the playlists, then wakes blocked readers.
    pub fn publish(&mut self, outputs: Vec<Output>) {
        if outputs.is_empty() {
            return;
        }
        for output in outputs {
            match output {
                Output::Init(data) => self.init(data),
                Output::Part {
                    segment,
                    index,
                    duration,
                    independent,
                    data,
                } => self.part(segment, index, duration, independent, data),
                Output::Segment {
                    index,
                    duration,
                    start_us,
                } => self.segment(index, duration, start_us),
            }
        }
        self.stream.notify();
    }

    /// The init segment: kept in memory and written whole.
    fn init(&mut self, data: Bytes) {
        let name = init_name(&self.prefix);
        self.stream.cache_init(name.clone(), data.clone());
        if let Some(sink) = &self.sink {
            sink.init(&name, data.clone());
        }
        self.recorder.write(DiskJob::File { name, data });
    }

    /// A part: into the memory window, appended to its segment's file, then
    /// listed with the next part as the preload hint.
    fn part(&mut self, segment: u64, index: u32, duration: f64, independent: bool, data: Bytes) {
        let name = part_name(&self.prefix, segment, index);
        let segment_file = segment_name(&self.prefix, segment);
        self.stream
            .cache_part(name.clone(), &segment_file, data.clone());
        self.recorder.write(DiskJob::AppendPart {
            segment: segment_file,
            data,
        });
        let part = Part {
            uri: name,
            duration,
            independent,
        };
        let next = part_name(&self.prefix, segment, index + 1);
        self.stream.list_part(part, self.clock.base_ms(), next);
    }

    /// A complete segment (its bytes are already appended, part by part):
    /// listed live, and added to the recording's playlist.
    fn segment(&mut self, index: u64, duration: f64, start_us: i64) {
        let segment = Segment {
            uri: segment_name(&self.prefix, index),
            duration,
            program_date_time_ms: self.clock.at(start_us),
            parts: Vec::new(),
        };
        self.clock.frozen = true;
        let entry = vod_entry(&segment);
        let listed = self
            .stream
            .list_segment(segment, part_name(&self.prefix, index + 1, 0));
        metrics::counter!("aethex_hls_segments_total").increment(1);
        // Capture of the segment's last frame (estimated, see `WallClock`) →
        // listed at this origin. Grows when the publisher's link backs up.
        let end_ms = self.clock.at(start_us) + (duration * 1000.0) as i64;
        let delay_s = (crate::db::now_ms() - end_ms).max(0) as f64 / 1000.0;
        metrics::histogram!("aethex_hls_edge_delay_seconds", "channel" => self.stream.channel.clone())
            .record(delay_s);
        if let Some(sink) = &self.sink {
            // Joined once by the memory window: shared, not copied.
            let name = segment_name(&self.prefix, index);
            if let Some(data) = self.stream.held(&name) {
                sink.segment(&name, data);
            }
        }
        // The recording's playlist grows by appending (crash-safe and O(1)
        // per segment); it is rewritten once at the end.
        match listed {
            Some(1) => {
                if let Some(whole) = self.stream.vod_playlist() {
                    self.recorder.write(DiskJob::Playlist(whole));
                }
            }
            Some(_) => self.recorder.write(DiskJob::AppendPlaylist(entry)),
            None => {}
        }
    }

    /// Ends the playlists (`EXT-X-ENDLIST`), marks the stream ended and waits
    /// for the files to reach the disk; returns the media duration in seconds.
    /// Publish the segmenter's last output first.
    pub async fn finish(&mut self) -> f64 {
        let duration = match self.stream.end_playlist() {
            Some((duration, vod)) => {
                self.recorder.write(DiskJob::Playlist(vod));
                duration
            }
            None => 0.0,
        };
        self.stream.mark_ended();
        self.stream.notify();
        if !self.recorder.close(FLUSH_TIMEOUT).await {
            tracing::warn!(channel = %self.stream.channel, "recording files still being written");
        }
        duration
    }
}
