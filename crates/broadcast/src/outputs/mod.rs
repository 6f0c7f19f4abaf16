//! Outputs: every destination and the recording get the SAME encoded buffers, each through
//! its own small pipeline, so one can fail, retry and come back without touching the others.
//!
//! ```text
//!  main pipeline                                    one pipeline per output (own bus, own thread)
//!  h264 appsink ─┐                                  ┌─ appsrc(h264) ─ queue ─┐
//!                ├─ Fanout (Rust "tee": rebases     │                        ├─ flvmux ─ rtmp2sink      (rtmp/rtmps)
//!  aac  appsink ─┘   timestamps, drops to the next  └─ appsrc(aac)  ─ queue ─┘
//!                    keyframe when an output lags)     … h264parse(byte-stream) + aacparse ─ mpegtsmux alignment=7 ─ srtsink (srt)
//!                                                       … matroskamux ─ filesink (recording, playable after kill -9)
//! ```
//! A GStreamer `tee` would propagate a destination's flow error to the encoder; `appsrc` per
//! output isolates it completely, and a failed output is simply rebuilt after its backoff.

mod sinks;
mod supervisor;

pub(crate) use supervisor::spawn;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::settings::{ReconnectPolicy, SecretUrl};

/// Why a destination stopped working (the `last_error` users see).
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum OutputError {
    /// The server refused the stream key or the publish request: check the key.
    #[error("the destination refused the stream key ({0}); check or rotate the key")]
    KeyRejected(String),
    /// The server could not be reached (refused, no route, DNS).
    #[error("cannot reach the destination ({0}); retrying")]
    Unreachable(String),
    /// An established connection broke.
    #[error("connection lost ({0}); retrying")]
    ConnectionLost(String),
    /// The recording file could not be written.
    #[error("cannot write the recording ({0}); check free space and permissions")]
    Write(String),
    /// A GStreamer element the output needs is not installed.
    #[error("{element} is missing: install the Debian package {package}")]
    Missing {
        /// Element factory name, e.g. `rtmp2sink`.
        element: String,
        /// Debian package that provides it.
        package: String,
    },
    /// The output pipeline could not be built (bad URL, linking failed).
    #[error("{0}")]
    Setup(String),
    /// All retries were used up.
    #[error("gave up after {attempts} attempts; last error: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last error's text.
        last: String,
    },
}

impl From<aethex_gst::ElementError> for OutputError {
    /// Through [`EngineError`]'s mapping, so both name a missing element alike.
    fn from(e: aethex_gst::ElementError) -> Self {
        match EngineError::from(e) {
            EngineError::MissingElement { element, package } => Self::Missing { element, package },
            other => Self::Setup(other.to_string()),
        }
    }
}

impl OutputError {
    /// Whether retrying can help.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::ConnectionLost(_))
    }
}

/// Lifecycle of one output, as shown in the studio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputState {
    /// First connection attempt in progress.
    Connecting,
    /// Sending media.
    Live,
    /// Lost or could not connect; waiting for / making the next attempt.
    Reconnecting,
    /// Gave up (key rejected, retries exhausted, disk error). See `last_error`.
    Failed,
    /// Finished cleanly after stop.
    Stopped,
}

/// What an output writes to.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutputKind {
    /// RTMP or RTMPS destination.
    Rtmp {
        /// Where (redacted when shown).
        url: SecretUrl,
    },
    /// SRT destination (caller mode).
    Srt {
        /// Where (redacted when shown).
        url: SecretUrl,
    },
    /// Local Matroska recording.
    Recording {
        /// File path.
        path: PathBuf,
    },
}

impl OutputKind {
    /// The output kind for a destination URL, by scheme.
    pub(crate) fn for_url(url: &SecretUrl) -> Option<Self> {
        let scheme = url
            .expose()
            .split("://")
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "rtmp" | "rtmps" => Some(Self::Rtmp { url: url.clone() }),
            "srt" => Some(Self::Srt { url: url.clone() }),
            _ => None,
        }
    }

    fn secret(&self) -> Option<&SecretUrl> {
        match self {
            Self::Rtmp { url } | Self::Srt { url } => Some(url),
            Self::Recording { .. } => None,
        }
    }

    /// Removes the secret URL from an error text.
    pub(crate) fn scrub(&self, text: &str) -> String {
        self.secret()
            .map_or_else(|| text.to_string(), |s| s.scrub(text))
    }
}

/// Mutable status of an output (guarded by a mutex, read by stats).
#[derive(Debug, Clone)]
pub(crate) struct Status {
    pub state: OutputState,
    pub last_error: Option<OutputError>,
    pub reconnects: u32,
}

/// The appsrcs of an output's current pipeline and its timestamp rebasing.
pub(crate) struct Feed {
    pub video: gst_app::AppSrc,
    pub audio: gst_app::AppSrc,
    pub pipeline: gst::Pipeline,
    /// (first pts in the main pipeline, running time of the output pipeline at that moment)
    pub rebase: Option<(gst::ClockTime, gst::ClockTime)>,
    /// Dropping video until the next keyframe because the output lags.
    pub dropping: bool,
    /// Byte limit of queued data before dropping starts.
    pub max_queued: u64,
}

/// One output: shared between its supervisor thread, the fan-out and stats.
pub(crate) struct Output {
    pub name: String,
    pub kind: OutputKind,
    pub policy: ReconnectPolicy,
    pub status: Mutex<Status>,
    pub feed: Mutex<Option<Feed>>,
    /// Muxed bytes handed to the network/file sink.
    pub bytes: AtomicU64,
    /// Muxed buffers handed to the sink in the current connection (live detection).
    pub buffers_this_connection: AtomicU64,
    /// Video frames skipped because this output could not keep up.
    pub dropped_frames: AtomicU64,
    /// Set on stop: no more reconnects.
    pub stopping: AtomicBool,
    /// Wakes a supervisor sleeping in its backoff.
    pub wake: Condvar,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the broadcast down: the data stays usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Output {
    pub(crate) fn new(name: String, kind: OutputKind, policy: ReconnectPolicy) -> Arc<Self> {
        Arc::new(Self {
            name,
            kind,
            policy,
            status: Mutex::new(Status {
                state: OutputState::Connecting,
                last_error: None,
                reconnects: 0,
            }),
            feed: Mutex::new(None),
            bytes: AtomicU64::new(0),
            buffers_this_connection: AtomicU64::new(0),
            dropped_frames: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            wake: Condvar::new(),
        })
    }

    pub(crate) fn set_state(&self, state: OutputState, error: Option<OutputError>) {
        let mut st = lock(&self.status);
        if st.state != state {
            tracing::info!(output = %self.name, ?state, error = ?error.as_ref().map(ToString::to_string), "output state");
        }
        st.state = state;
        if error.is_some() {
            st.last_error = error;
        }
    }
}

/// Which elementary stream a buffer belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Video,
    Audio,
}

/// The Rust "tee": hands each encoded buffer to every output's current feed.
#[derive(Default)]
pub(crate) struct Fanout {
    pub outputs: Mutex<Vec<Arc<Output>>>,
    pub video_caps: Mutex<Option<gst::Caps>>,
    pub audio_caps: Mutex<Option<gst::Caps>>,
}

impl Fanout {
    /// Called from the encoded appsinks' streaming threads; never blocks on an output.
    pub(crate) fn push(&self, stream: Stream, sample: &gst::Sample) {
        let caps_slot = if stream == Stream::Video {
            &self.video_caps
        } else {
            &self.audio_caps
        };
        if let Some(caps) = sample.caps() {
            let mut slot = lock(caps_slot);
            if slot.as_ref().is_none_or(|c| c.as_ref() != caps) {
                *slot = Some(caps.to_owned());
            }
        }
        let Some((pts, dts)) = running_times(sample) else {
            return;
        };
        let Some(buffer) = sample.buffer_owned() else {
            return;
        };
        let outputs = lock(&self.outputs).clone();
        for output in outputs {
            let mut feed = lock(&output.feed);
            if let Some(feed) = feed.as_mut()
                && feed.push(stream, &buffer, pts, dts) == Some(true)
            {
                output.dropped_frames.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// End of stream of one encoded stream: forwarded to every output.
    pub(crate) fn eos(&self, stream: Stream) {
        for output in lock(&self.outputs).iter() {
            if let Some(feed) = lock(&output.feed).as_ref() {
                let src = if stream == Stream::Video {
                    &feed.video
                } else {
                    &feed.audio
                };
                let _ = src.end_of_stream();
            }
        }
    }
}

/// Running-time PTS and DTS of a sample's buffer. Encoders shift their segment (x264enc
/// starts at 1000 h so DTS can precede PTS), so raw timestamps are not comparable.
pub(crate) fn running_times(
    sample: &gst::Sample,
) -> Option<(gst::ClockTime, Option<gst::ClockTime>)> {
    let buffer = sample.buffer()?;
    let segment = sample
        .segment()
        .and_then(|s| s.downcast_ref::<gst::ClockTime>());
    let to_running = |t: Option<gst::ClockTime>| match (segment, t) {
        (Some(seg), Some(t)) => seg.to_running_time(t),
        (None, t) => t,
        (_, None) => None,
    };
    Some((to_running(buffer.pts())?, to_running(buffer.dts())))
}

impl Feed {
    /// Pushes one buffer; returns `Some(true)` when a video frame was dropped.
    fn push(
        &mut self,
        stream: Stream,
        buffer: &gst::Buffer,
        pts: gst::ClockTime,
        dts: Option<gst::ClockTime>,
    ) -> Option<bool> {
        let is_keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        if stream == Stream::Video {
            if self.rebase.is_none() {
                if !is_keyframe {
                    return Some(false);
                }
                let now = self
                    .pipeline
                    .current_running_time()
                    .unwrap_or(gst::ClockTime::ZERO);
                self.rebase = Some((pts, now));
            }
            let queued = self.video.current_level_bytes() + self.audio.current_level_bytes();
            if self.dropping && is_keyframe && queued < self.max_queued / 2 {
                self.dropping = false;
            } else if !self.dropping && queued > self.max_queued {
                self.dropping = true;
            }
            if self.dropping {
                return Some(true);
            }
        }
        let (first, base) = self.rebase?;
        if pts < first {
            return Some(false);
        }
        let mut out = buffer.copy();
        {
            let b = out.make_mut();
            b.set_pts(pts - first + base);
            if let Some(dts) = dts {
                b.set_dts(if dts >= first {
                    Some(dts - first + base)
                } else {
                    Some(base)
                });
            }
        }
        let src = if stream == Stream::Video {
            &self.video
        } else {
            &self.audio
        };
        let _ = src.push_buffer(out);
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(pts_ms: u64, keyframe: bool, size: usize) -> gst::Buffer {
        let mut b = gst::Buffer::with_size(size).expect("buffer");
        {
            let b = b.get_mut().expect("writable");
            b.set_pts(gst::ClockTime::from_mseconds(pts_ms));
            if !keyframe {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        b
    }

    #[test]
    fn a_missing_element_is_named_with_its_package_as_before() {
        crate::init().expect("init");
        const ABSENT: &str = "no_such_muxer_x";
        let err: OutputError = aethex_gst::make(ABSENT).build().expect_err("absent").into();
        let package = aethex_gst::package_for(ABSENT).to_string();
        assert_eq!(
            err,
            OutputError::Missing {
                element: ABSENT.into(),
                package
            }
        );
        // The text the studio and `aethex live` showed before (then `Setup`'s text).
        assert_eq!(err.to_string(), crate::error::missing(ABSENT).to_string());
        assert!(!err.is_retryable());
    }

    /// An output whose sink is stuck (a blocked pad, like a stalled network) fills its
    /// appsrc; the feed then drops video up to the next keyframe instead of growing.
    #[test]
    fn a_stalled_output_drops_to_the_next_keyframe_and_stays_bounded() {
        crate::init().expect("init");
        let pipeline = gst::Pipeline::new();
        let caps = |name: &str| gst::Caps::builder(name).build();
        let video = gst_app::AppSrc::builder()
            .caps(&caps("video/x-h264"))
            .format(gst::Format::Time)
            .is_live(true)
            .build();
        let audio = gst_app::AppSrc::builder()
            .caps(&caps("audio/mpeg"))
            .format(gst::Format::Time)
            .is_live(true)
            .build();
        let mut blocked: Option<(gst::Pad, gst::PadProbeId)> = None;
        for src in [&video, &audio] {
            let sink = aethex_gst::make("fakesink")
                .property("sync", false)
                .property("async", false)
                .build()
                .expect("fakesink");
            pipeline.add_many([src.upcast_ref(), &sink]).expect("add");
            src.link(&sink).expect("link");
            if src == &video {
                let pad = sink.static_pad("sink").expect("pad");
                let id = pad.add_probe(gst::PadProbeType::BLOCK_DOWNSTREAM, |_, _| {
                    gst::PadProbeReturn::Ok
                });
                blocked = Some((pad, id.expect("probe")));
            }
        }
        pipeline.set_state(gst::State::Playing).expect("playing");
        let mut feed = Feed {
            video: video.clone(),
            audio,
            pipeline: pipeline.clone(),
            rebase: None,
            dropping: false,
            max_queued: 100_000,
        };

        let mut dropped = 0;
        for i in 0..200u64 {
            let keyframe = i % 15 == 0;
            let b = frame(i * 33, keyframe, 10_000);
            if feed.push(Stream::Video, &b, b.pts().expect("pts"), None) == Some(true) {
                dropped += 1;
            }
            assert!(
                video.current_level_bytes() <= 100_000 + 2 * 10_000,
                "queue grew to {}",
                video.current_level_bytes()
            );
        }
        assert!(
            dropped > 150,
            "a stalled output drops most frames ({dropped})"
        );
        assert!(feed.dropping);

        // The network recovers: the queue drains and sending resumes at the next keyframe.
        let (pad, id) = blocked.expect("blocked pad");
        pad.remove_probe(id);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while video.current_level_bytes() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "queue never drained: {} bytes, state {:?}",
                video.current_level_bytes(),
                pipeline.current_state()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let delta = frame(200 * 33, false, 10_000);
        assert_eq!(
            feed.push(Stream::Video, &delta, delta.pts().expect("pts"), None),
            Some(true),
            "no delta before a keyframe"
        );
        let key = frame(201 * 33, true, 10_000);
        assert_eq!(
            feed.push(Stream::Video, &key, key.pts().expect("pts"), None),
            Some(false),
            "resumes on a keyframe"
        );
        assert!(!feed.dropping);
        let _ = pipeline.set_state(gst::State::Null);
    }
}
