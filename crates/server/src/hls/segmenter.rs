//! Our own LL-HLS segmenter: coded frames in (from FLV tags or the SRT
//! demuxer), fMP4 parts and segments out, with no thread hand-off and no
//! look-ahead.
//!
//! A part is cut when the next frame would make it longer than the part
//! target; a segment when a keyframe arrives after at least the segment target.
//! Both are final the moment the frame after them arrives, which is what makes
//! the playlist fresh: nothing is held back for a GOP (see `docs/latency.md`).
//!
//! Video drives the cuts when the stream has video; audio-only streams are cut
//! on audio frames (every AAC frame is a sync sample).

use std::time::Duration;

use bytes::Bytes;

use crate::hls::fmp4::{self, AudioConfig, Sample, TrackRun, VideoConfig};

/// Frames per AAC access unit (AAC-LC; the timescale is the ASC's rate).
const AAC_FRAME: u64 = 1024;
/// Without stream metadata, how much media is buffered before the set of
/// tracks is fixed (a publisher sends all sequence headers before this).
const SETTLE_WITHOUT_METADATA: Duration = Duration::from_millis(300);
/// With metadata announcing a track whose sequence header never comes, how long
/// to wait before going on without it.
const SETTLE_MAX: Duration = Duration::from_secs(2);
/// Audio frames held while waiting for the first video keyframe (~5 s).
const MAX_HELD_AUDIO: usize = 256;
/// A segment with no keyframe for this long is cut anyway (memory stays bounded
/// even if a publisher never sends one).
const MAX_SEGMENT: Duration = Duration::from_secs(10);

/// Part and segment lengths.
#[derive(Debug, Clone, Copy)]
pub struct SegmenterConfig {
    /// Minimum segment length (segments start at keyframes).
    pub segment: Duration,
    /// Part target (LL-HLS `PART-TARGET`): no part is longer.
    pub part: Duration,
}

/// What the segmenter produced.
#[derive(Debug, Clone)]
pub enum Output {
    /// The init segment (`EXT-X-MAP`); comes once, before any part.
    Init(Bytes),
    /// A finished part of segment `segment`.
    Part {
        /// Media sequence number of the segment it belongs to.
        segment: u64,
        /// Index of the part within the segment, from 0.
        index: u32,
        /// Duration in seconds.
        duration: f64,
        /// Starts with a keyframe (`INDEPENDENT=YES`).
        independent: bool,
        /// The `moof` + `mdat` bytes.
        data: Bytes,
    },
    /// A finished segment: the parts since the previous one.
    Segment {
        /// Media sequence number, from 0.
        index: u64,
        /// Duration in seconds.
        duration: f64,
        /// Media time of its first frame, microseconds, as given to `push_*`.
        /// The segment's bytes are its parts' bytes, in order.
        start_us: i64,
    },
}

/// Which track a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Video,
    Audio,
}

/// A frame waiting for its part to be cut.
#[derive(Debug)]
struct Pending {
    dts: u64,
    composition_offset: i32,
    keyframe: bool,
    data: Bytes,
}

/// A frame seen before the track set was fixed (time still in microseconds).
#[derive(Debug)]
struct Early {
    kind: Kind,
    dts_us: i64,
    cts_us: i64,
    keyframe: bool,
    data: Bytes,
}

/// The running state of one broadcast's segmenter.
#[derive(Debug)]
pub struct Segmenter {
    cfg: SegmenterConfig,
    video_config: Option<VideoConfig>,
    audio_config: Option<AudioConfig>,
    /// Tracks announced by stream metadata: (video, audio).
    announced: Option<(bool, bool)>,
    /// Fixed once the init segment is out: (video, audio).
    tracks: Option<(bool, bool)>,
    early: Vec<Early>,
    /// Audio that arrived while waiting for the first video keyframe.
    before_keyframe: Vec<Early>,
    /// Media time (µs) that maps to decode time 0.
    base_us: Option<i64>,
    video: Vec<Pending>,
    audio: Vec<Pending>,
    last_video_dts: Option<u64>,
    last_video_duration: u64,
    next_audio_dts: Option<u64>,
    waiting_for_keyframe: bool,
    part_start: Option<u64>,
    part_independent: bool,
    segment_start: Option<u64>,
    segment_index: u64,
    part_index: u32,
    fragment_sequence: u32,
    dropped: u64,
    late: u64,
}

impl Segmenter {
    /// A segmenter cutting parts and segments as `cfg` says.
    pub fn new(cfg: SegmenterConfig) -> Self {
        Segmenter {
            cfg,
            video_config: None,
            audio_config: None,
            announced: None,
            tracks: None,
            early: Vec::new(),
            before_keyframe: Vec::new(),
            base_us: None,
            video: Vec::new(),
            audio: Vec::new(),
            last_video_dts: None,
            last_video_duration: 3000,
            next_audio_dts: None,
            waiting_for_keyframe: true,
            part_start: None,
            part_independent: false,
            segment_start: None,
            segment_index: 0,
            part_index: 0,
            fragment_sequence: 0,
            dropped: 0,
            late: 0,
        }
    }

    /// Tracks the publisher announced (FLV `onMetaData`); lets the segmenter
    /// start as soon as their configurations arrived.
    pub fn announce(&mut self, video: bool, audio: bool) {
        if self.tracks.is_none() && (video || audio) {
            self.announced = Some((video, audio));
        }
    }

    /// The H.264 decoder configuration (sent before the first frame). A
    /// different one after the tracks are fixed is ignored.
    pub fn set_video_config(&mut self, config: VideoConfig) {
        if self.tracks.is_none() {
            self.video_config = Some(config);
        } else if self.video_config.as_ref() != Some(&config) {
            tracing::warn!("ingest: video configuration changed mid-stream; kept the first");
        }
    }

    /// The AAC decoder configuration (sent before the first frame).
    pub fn set_audio_config(&mut self, config: AudioConfig) {
        if self.tracks.is_none() {
            self.audio_config = Some(config);
        } else if self.audio_config.as_ref() != Some(&config) {
            tracing::warn!("ingest: audio configuration changed mid-stream; kept the first");
        }
    }

    /// Frames dropped so far (before a configuration or the first keyframe, or
    /// of a track that is not part of the stream).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Video frames that arrived with a decode time not after the previous
    /// one (re-timed to keep the stream monotonic).
    pub fn late(&self) -> u64 {
        self.late
    }

    /// One H.264 access unit (length-prefixed NAL units) with its decode time
    /// and composition offset in microseconds.
    pub fn push_video(
        &mut self,
        dts_us: i64,
        cts_us: i64,
        keyframe: bool,
        data: Bytes,
    ) -> Vec<Output> {
        self.push(Early {
            kind: Kind::Video,
            dts_us,
            cts_us,
            keyframe,
            data,
        })
    }

    /// One raw AAC frame with its time in microseconds.
    pub fn push_audio(&mut self, pts_us: i64, data: Bytes) -> Vec<Output> {
        self.push(Early {
            kind: Kind::Audio,
            dts_us: pts_us,
            cts_us: 0,
            keyframe: true,
            data,
        })
    }

    fn push(&mut self, frame: Early) -> Vec<Output> {
        let mut out = Vec::new();
        let has_config = match frame.kind {
            Kind::Video => self.video_config.is_some(),
            Kind::Audio => self.audio_config.is_some(),
        };
        if !has_config {
            self.dropped += 1;
            return out;
        }
        if self.tracks.is_none() {
            self.early.push(frame);
            if self.settled() {
                self.fix_tracks(&mut out);
            }
            return out;
        }
        self.frame(frame, &mut out);
        out
    }

    /// Whether the set of tracks can be fixed now.
    fn settled(&self) -> bool {
        let span = match (self.early.first(), self.early.last()) {
            (Some(a), Some(b)) => Duration::from_micros((b.dts_us - a.dts_us).max(0) as u64),
            _ => return false,
        };
        if span >= SETTLE_MAX {
            return true;
        }
        match self.announced {
            Some((v, a)) => {
                (!v || self.video_config.is_some()) && (!a || self.audio_config.is_some())
            }
            None => span >= SETTLE_WITHOUT_METADATA,
        }
    }

    fn fix_tracks(&mut self, out: &mut Vec<Output>) {
        let tracks = (self.video_config.is_some(), self.audio_config.is_some());
        self.tracks = Some(tracks);
        self.waiting_for_keyframe = tracks.0;
        out.push(Output::Init(fmp4::init_segment(
            self.video_config.as_ref(),
            self.audio_config.as_ref(),
        )));
        for frame in std::mem::take(&mut self.early) {
            self.frame(frame, out);
        }
    }

    /// Decode time of a frame in its track's ticks.
    fn ticks(&self, kind: Kind, us: i64) -> u64 {
        let rel = (us - self.base_us.unwrap_or(us)).max(0) as u128;
        let rate = match kind {
            Kind::Video => u128::from(fmp4::VIDEO_TIMESCALE),
            Kind::Audio => u128::from(self.audio_rate()),
        };
        u64::try_from(rel * rate / 1_000_000).unwrap_or(u64::MAX)
    }

    fn audio_rate(&self) -> u32 {
        self.audio_config.as_ref().map_or(48_000, |a| a.sample_rate)
    }

    fn frame(&mut self, f: Early, out: &mut Vec<Output>) {
        let Some((has_video, _)) = self.tracks else {
            return;
        };
        let in_stream = match f.kind {
            Kind::Video => has_video,
            Kind::Audio => self.tracks.is_some_and(|t| t.1),
        };
        if !in_stream {
            self.dropped += 1;
            return;
        }
        if self.waiting_for_keyframe {
            // Video before the first keyframe is undecodable; audio waits to
            // see whether it belongs after that keyframe.
            match f.kind {
                Kind::Audio => {
                    if self.before_keyframe.len() >= MAX_HELD_AUDIO {
                        self.before_keyframe.remove(0);
                        self.dropped += 1;
                    }
                    self.before_keyframe.push(f);
                }
                Kind::Video if !f.keyframe => self.dropped += 1,
                Kind::Video => {
                    self.waiting_for_keyframe = false;
                    let start = f.dts_us;
                    self.frame(f, out);
                    for a in std::mem::take(&mut self.before_keyframe) {
                        if a.dts_us >= start {
                            self.frame(a, out);
                        } else {
                            self.dropped += 1;
                        }
                    }
                }
            }
            return;
        }
        if self.base_us.is_none() {
            self.base_us = Some(f.dts_us);
        }
        match f.kind {
            Kind::Video => {
                let mut dts = self.ticks(Kind::Video, f.dts_us);
                if let Some(last) = self.last_video_dts {
                    // Decode times must grow; a publisher glitch is smoothed over.
                    if dts <= last {
                        self.late += 1;
                    }
                    dts = dts.max(last + 1);
                    self.last_video_duration = dts - last;
                }
                self.maybe_cut(dts, f.keyframe, out);
                self.last_video_dts = Some(dts);
                let cts = f.cts_us.clamp(-10_000_000, 10_000_000) * 9 / 100;
                self.start_part_if_needed(dts, f.keyframe);
                self.video.push(Pending {
                    dts,
                    composition_offset: cts as i32,
                    keyframe: f.keyframe,
                    data: f.data,
                });
            }
            Kind::Audio => {
                let derived = self.ticks(Kind::Audio, f.dts_us);
                // Millisecond timestamps jitter; frames are exactly 1024 apart
                // unless there is a real gap.
                let dts = match self.next_audio_dts {
                    Some(next) if derived.abs_diff(next) <= AAC_FRAME / 2 => next,
                    Some(next) => derived.max(next),
                    None => derived,
                };
                self.next_audio_dts = Some(dts + AAC_FRAME);
                if !has_video {
                    self.maybe_cut(dts, true, out);
                    self.start_part_if_needed(dts, true);
                }
                self.audio.push(Pending {
                    dts,
                    composition_offset: 0,
                    keyframe: true,
                    data: f.data,
                });
            }
        }
    }

    /// Ticks per second of the track that drives the cuts.
    fn driver_rate(&self) -> u64 {
        if self.tracks.is_some_and(|t| t.0) {
            u64::from(fmp4::VIDEO_TIMESCALE)
        } else {
            u64::from(self.audio_rate())
        }
    }

    fn to_ticks(&self, d: Duration) -> u64 {
        (d.as_micros() * u128::from(self.driver_rate()) / 1_000_000) as u64
    }

    fn start_part_if_needed(&mut self, dts: u64, keyframe: bool) {
        if self.part_start.is_none() {
            self.part_start = Some(dts);
            self.part_independent = keyframe;
        }
        if self.segment_start.is_none() {
            self.segment_start = Some(dts);
        }
    }

    /// Cuts the part (and the segment) before a driving frame at `dts` when due.
    fn maybe_cut(&mut self, dts: u64, keyframe: bool, out: &mut Vec<Output>) {
        let (Some(part_start), Some(segment_start)) = (self.part_start, self.segment_start) else {
            return;
        };
        let frame = if self.tracks.is_some_and(|t| t.0) {
            self.last_video_duration
        } else {
            AAC_FRAME
        };
        let segment_len = dts.saturating_sub(segment_start);
        let end_segment = (keyframe && segment_len + frame / 2 >= self.to_ticks(self.cfg.segment))
            || segment_len >= self.to_ticks(MAX_SEGMENT);
        // The part may not grow past the target with the next frame in it.
        let end_part =
            dts.saturating_sub(part_start) + frame > self.to_ticks(self.cfg.part) + frame / 8;
        if end_segment || end_part {
            self.cut_part(dts, out);
        }
        if end_segment {
            self.cut_segment(dts, out);
        }
    }

    /// Emits the pending frames as a part ending at `end` (driver ticks).
    fn cut_part(&mut self, end: u64, out: &mut Vec<Output>) {
        let Some(part_start) = self.part_start else {
            return;
        };
        if self.video.is_empty() && self.audio.is_empty() {
            return;
        }
        let has_video = self.tracks.is_some_and(|t| t.0);
        let video_last = self.last_video_duration;
        let runs = [
            run(
                fmp4::VIDEO_TRACK,
                std::mem::take(&mut self.video),
                has_video.then_some(end),
                video_last,
            ),
            run(
                fmp4::AUDIO_TRACK,
                std::mem::take(&mut self.audio),
                None,
                AAC_FRAME,
            ),
        ];
        self.fragment_sequence += 1;
        let data = fmp4::fragment(self.fragment_sequence, &runs);
        out.push(Output::Part {
            segment: self.segment_index,
            index: self.part_index,
            duration: end.saturating_sub(part_start) as f64 / self.driver_rate() as f64,
            independent: self.part_independent,
            data: data.clone(),
        });
        self.part_index += 1;
        self.part_start = None;
    }

    /// Closes the current segment at `end` (driver ticks).
    fn cut_segment(&mut self, end: u64, out: &mut Vec<Output>) {
        let Some(start) = self.segment_start.take() else {
            return;
        };
        if self.part_index == 0 {
            return;
        }
        let rate = self.driver_rate();
        let start_us =
            self.base_us.unwrap_or(0) + (u128::from(start) * 1_000_000 / u128::from(rate)) as i64;
        out.push(Output::Segment {
            index: self.segment_index,
            duration: end.saturating_sub(start) as f64 / rate as f64,
            start_us,
        });
        self.segment_index += 1;
        self.part_index = 0;
    }

    /// Flushes everything at the end of the stream: the last part and segment.
    pub fn finish(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if self.tracks.is_none() && !self.early.is_empty() {
            self.fix_tracks(&mut out);
        }
        // Where the last frame of the driving track ends.
        let end = if self.tracks.is_some_and(|t| t.0) {
            self.last_video_dts.map(|d| d + self.last_video_duration)
        } else {
            self.next_audio_dts
        };
        if let Some(end) = end {
            self.cut_part(end, &mut out);
            self.cut_segment(end, &mut out);
        }
        out
    }
}

/// A track run from pending frames: each frame lasts until the next one; the
/// last until `end` when known, else `last_duration`.
fn run(track_id: u32, frames: Vec<Pending>, end: Option<u64>, last_duration: u64) -> TrackRun {
    let base = frames.first().map_or(0, |f| f.dts);
    let mut samples = Vec::with_capacity(frames.len());
    let mut iter = frames.into_iter().peekable();
    while let Some(f) = iter.next() {
        let next = iter.peek().map(|n| n.dts).or(end);
        let duration = next
            .map_or(last_duration, |n| n.saturating_sub(f.dts))
            .max(1);
        samples.push(Sample {
            duration: u32::try_from(duration).unwrap_or(u32::MAX),
            composition_offset: f.composition_offset,
            keyframe: f.keyframe,
            data: f.data,
        });
    }
    TrackRun {
        track_id,
        base_decode_time: base,
        samples,
    }
}

#[cfg(test)]
mod tests;
