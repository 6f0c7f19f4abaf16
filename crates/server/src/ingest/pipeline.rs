//! One GStreamer pipeline per broadcast: remux (no transcode) into MPEG-TS
//! segments, one directory per broadcast that is both the live and the VOD
//! source.
//!
//! ```text
//! appsrc (video/x-flv | video/mpegts) -> flvdemux | tsdemux
//!     -- pad-added video --> queue -> h264parse --\
//!     -- pad-added audio --> queue -> aacparse  ---> splitmuxsink(mpegtsmux, filesink)
//! ```
//!
//! Branches are linked only when the demuxer announces a stream, so audio-only
//! and video-only publishers work. The `splitmuxsink` pads are requested
//! together, video first, once the demuxer announced all its streams
//! (`no-more-pads`, or [`TRACK_GRACE`] after the first one): requesting a pad
//! while another track's data already flows through `splitmuxsink` (GStreamer
//! 1.22) can wedge its first fragment, with one internal queue thread spinning
//! and teardown never returning. `splitmuxsink` posts `fragment-opened` /
//! `fragment-closed` messages; the bus task turns them into [`Segment`]s and our
//! own playlists (see `hls::playlist`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::hls::playlist::Segment;

/// Most bytes queued in `appsrc` before incoming media is dropped: a stalled
/// pipeline never grows memory without bound (about 10 s of a 6 Mbit/s stream).
pub const MAX_QUEUED_BYTES: u64 = 8 * 1024 * 1024;

/// How long to wait for the demuxer to announce the other track before the
/// tracks seen so far are recorded alone (single-track publishers; FLV always
/// announces both). Data is held, not lost, meanwhile.
pub const TRACK_GRACE: Duration = Duration::from_secs(1);

/// Each branch queue holds up to this much while its track waits for
/// [`TRACK_GRACE`] (well above it, so the demuxer never stalls on a full queue).
const BRANCH_QUEUE_TIME: Duration = Duration::from_secs(4);

/// A demuxed track whose `splitmuxsink` pad is not requested yet: its queue's
/// output is blocked until then.
struct PendingTrack {
    parse: gst::Element,
    split_pad: &'static str,
    queue_src: gst::Pad,
    probe: Option<gst::PadProbeId>,
}

/// The tracks waiting to be linked; `linked` once the set is complete.
#[derive(Default)]
struct Tracks {
    linked: bool,
    pending: Vec<PendingTrack>,
}

/// Requests the `splitmuxsink` pads for every pending track (video first, so it
/// is the reference stream from the start) and unblocks them. Idempotent.
fn link_pending(split: &gst::Element, tracks: &Mutex<Tracks>) {
    let Ok(mut t) = tracks.lock() else { return };
    if t.linked {
        return;
    }
    t.linked = true;
    let mut pending = std::mem::take(&mut t.pending);
    pending.sort_by_key(|p| p.split_pad != "video");
    for mut p in pending {
        if let Err(e) = link_to_split(split, &p.parse, p.split_pad) {
            tracing::warn!(error = %e, "ingest: stream not recorded");
        }
        if let Some(id) = p.probe.take() {
            p.queue_src.remove_probe(id);
        }
    }
}

/// Links `parse`'s src pad to a new `splitmuxsink` pad from template `split_pad`.
fn link_to_split(
    split: &gst::Element,
    parse: &gst::Element,
    split_pad: &str,
) -> Result<(), PipelineError> {
    let sink_pad = split
        .request_pad_simple(split_pad)
        .ok_or_else(|| PipelineError::Setup(format!("splitmuxsink refused pad {split_pad}")))?;
    let parse_src = parse
        .static_pad("src")
        .ok_or_else(|| PipelineError::Setup("parser without src pad".into()))?;
    parse_src
        .link(&sink_pad)
        .map_err(|e| PipelineError::Setup(format!("link parser: {e}")))?;
    Ok(())
}

/// What goes into `appsrc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// FLV tags re-wrapped from RTMP messages.
    Flv,
    /// An MPEG-TS byte stream (SRT).
    MpegTs,
}

/// Why a pipeline could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// GStreamer could not be initialised.
    #[error("GStreamer init failed: {0}")]
    Init(#[from] gst::glib::Error),
    /// A required element is not installed.
    #[error("GStreamer element {element} missing: install {package}")]
    MissingElement {
        /// Factory name.
        element: &'static str,
        /// Debian package that provides it.
        package: &'static str,
    },
    /// Building or linking the graph failed.
    #[error("pipeline setup failed: {0}")]
    Setup(String),
    /// An element posted an error on the bus.
    #[error("{element}: {message}")]
    Element {
        /// Name of the failing element.
        element: String,
        /// GStreamer's message (with debug detail).
        message: String,
    },
}

fn make(factory: &'static str, package: &'static str) -> Result<gst::Element, PipelineError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| PipelineError::MissingElement {
            element: factory,
            package,
        })
}

/// Initialises GStreamer once (cheap after the first call).
pub fn init() -> Result<(), PipelineError> {
    gst::init()?;
    Ok(())
}

/// Sets the pipeline to `Null` when dropped, on every exit path, without
/// blocking the dropping thread (see [`teardown`]).
struct NullOnDrop(Option<gst::Pipeline>);

impl Drop for NullOnDrop {
    fn drop(&mut self) {
        if let Some(pipeline) = self.0.take() {
            drop(teardown(pipeline));
        }
    }
}

/// Sets `pipeline` to `Null` on a thread of its own and returns a receiver
/// that resolves once that returned.
///
/// A misbehaving element can block the state change forever (a streaming
/// thread that never returns keeps its pad's stream lock), so it must never run
/// on an async runtime worker or on any thread that has to go on. If it never
/// returns, that thread and the pipeline leak, and nothing else waits on it.
fn teardown(pipeline: gst::Pipeline) -> tokio::sync::oneshot::Receiver<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("ingest-teardown".into())
        .spawn(move || {
            let _ = pipeline.set_state(gst::State::Null);
            let _ = tx.send(());
        });
    if let Err(e) = spawned {
        // The closure (and the pipeline in it) is gone: no one stops it now.
        tracing::error!(error = %e, "ingest: cannot spawn pipeline teardown thread");
    }
    rx
}

/// Everything the pipeline reports while running.
#[derive(Debug)]
pub enum PipelineEvent {
    /// A segment file is complete and may be listed.
    Segment(Segment),
    /// End of stream reached the sink: all segments are written.
    Eos,
    /// The pipeline failed.
    Error(PipelineError),
}

/// A running broadcast pipeline.
pub struct BroadcastPipeline {
    guard: NullOnDrop,
    appsrc: gst_app::AppSrc,
}

impl std::fmt::Debug for BroadcastPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastPipeline")
            .field("name", &self.guard.0.as_ref().map(|p| p.name()))
            .finish()
    }
}

/// Whether a pushed buffer was taken or dropped because the pipeline is behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued.
    Queued,
    /// Dropped: the queue is full.
    Dropped,
}

impl BroadcastPipeline {
    /// Builds and starts the pipeline writing `{prefix}_%05d.ts` into `dir`
    /// (the prefix keeps segment URLs unique across broadcasts).
    ///
    /// `wallclock_base_ms` maps running time 0 to Unix milliseconds for
    /// `EXT-X-PROGRAM-DATE-TIME`. Events arrive on the returned receiver.
    pub fn start(
        dir: &Path,
        prefix: &str,
        input: InputFormat,
        segment: Duration,
        wallclock_base_ms: Arc<Mutex<Option<i64>>>,
    ) -> Result<(Self, tokio::sync::mpsc::UnboundedReceiver<PipelineEvent>), PipelineError> {
        init()?;
        let pipeline = gst::Pipeline::new();
        let guard = NullOnDrop(Some(pipeline.clone()));

        let caps = match input {
            InputFormat::Flv => gst::Caps::builder("video/x-flv").build(),
            InputFormat::MpegTs => gst::Caps::builder("video/mpegts")
                .field("systemstream", true)
                .field("packetsize", 188i32)
                .build(),
        };
        let appsrc = gst_app::AppSrc::builder()
            .caps(&caps)
            .is_live(true)
            .format(gst::Format::Bytes)
            .max_bytes(MAX_QUEUED_BYTES)
            .block(false)
            .build();
        let demux = match input {
            InputFormat::Flv => make("flvdemux", "gstreamer1.0-plugins-good")?,
            InputFormat::MpegTs => make("tsdemux", "gstreamer1.0-plugins-bad")?,
        };
        let mux = make("mpegtsmux", "gstreamer1.0-plugins-bad")?;
        let split = make("splitmuxsink", "gstreamer1.0-plugins-good")?;
        let location = dir.join(format!("{prefix}_%05d.ts"));
        split.set_property("location", location.to_string_lossy().as_ref());
        split.set_property("muxer", &mux);
        split.set_property("max-size-time", segment.as_nanos() as u64);
        split.set_property("send-keyframe-requests", false);
        // Keep continuity counters and timestamps continuous across segments.
        split.set_property("reset-muxer", false);

        pipeline
            .add_many([appsrc.upcast_ref(), &demux, &split])
            .map_err(|e| PipelineError::Setup(e.to_string()))?;
        appsrc
            .link(&demux)
            .map_err(|e| PipelineError::Setup(e.to_string()))?;

        let tracks = Arc::new(Mutex::new(Tracks::default()));
        let pipeline_weak = pipeline.downgrade();
        let split_weak = split.downgrade();
        let tracks_added = tracks.clone();
        demux.connect_pad_added(move |_, pad| {
            let (Some(pipeline), Some(split)) = (pipeline_weak.upgrade(), split_weak.upgrade())
            else {
                return;
            };
            if let Err(e) = link_branch(&pipeline, &split, pad, &tracks_added) {
                tracing::warn!(error = %e, pad = %pad.name(), "ingest: stream not recorded");
            }
        });
        let split_weak = split.downgrade();
        let tracks_done = tracks.clone();
        demux.connect_no_more_pads(move |_| {
            if let Some(split) = split_weak.upgrade() {
                link_pending(&split, &tracks_done);
            }
        });

        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let bus = pipeline
            .bus()
            .ok_or_else(|| PipelineError::Setup("pipeline has no bus".into()))?;
        let dir_owned = dir.to_path_buf();
        std::thread::Builder::new()
            .name("ingest-bus".into())
            .spawn(move || bus_loop(bus, tx, wallclock_base_ms, dir_owned))
            .map_err(|e| PipelineError::Setup(format!("spawn bus thread: {e}")))?;

        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| PipelineError::Setup(format!("cannot start: {e}")))?;
        Ok((BroadcastPipeline { guard, appsrc }, rx))
    }

    /// Queues one buffer unless the pipeline is [`MAX_QUEUED_BYTES`] behind.
    /// `force` queues anyway (sequence headers must never be lost).
    pub fn push(&self, data: Vec<u8>, force: bool) -> Pushed {
        if !force && self.appsrc.current_level_bytes() >= MAX_QUEUED_BYTES {
            return Pushed::Dropped;
        }
        match self.appsrc.push_buffer(gst::Buffer::from_mut_slice(data)) {
            Ok(_) => Pushed::Queued,
            Err(_) => Pushed::Dropped,
        }
    }

    /// Signals end of stream; the last segment is closed and [`PipelineEvent::Eos`]
    /// follows.
    pub fn end_of_stream(&self) {
        let _ = self.appsrc.end_of_stream();
    }

    /// Stops the pipeline (also happens on drop) without blocking the caller;
    /// the receiver resolves once `set_state(Null)` returned, which a
    /// misbehaving element can delay forever (see [`teardown`]).
    pub fn stop(mut self) -> tokio::sync::oneshot::Receiver<()> {
        match self.guard.0.take() {
            Some(pipeline) => teardown(pipeline),
            None => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let _ = tx.send(());
                rx
            }
        }
    }
}

/// Links `queue ! parser` from a demuxer pad; the parser goes into a new
/// `splitmuxsink` pad at once if the track set is complete, else when it is
/// (see [`link_pending`]).
fn link_branch(
    pipeline: &gst::Pipeline,
    split: &gst::Element,
    pad: &gst::Pad,
    tracks: &Arc<Mutex<Tracks>>,
) -> Result<(), PipelineError> {
    let caps = pad
        .current_caps()
        .or_else(|| Some(pad.query_caps(None)))
        .ok_or_else(|| PipelineError::Setup("pad without caps".into()))?;
    let name = caps
        .structure(0)
        .map(|s| s.name().to_string())
        .unwrap_or_default();
    let mpegversion = caps
        .structure(0)
        .and_then(|s| s.get::<i32>("mpegversion").ok())
        .unwrap_or(0);
    let (parser, package, split_pad) = match name.as_str() {
        "video/x-h264" => ("h264parse", "gstreamer1.0-plugins-bad", "video"),
        "video/x-h265" => ("h265parse", "gstreamer1.0-plugins-bad", "video"),
        "audio/mpeg" if mpegversion == 1 => {
            ("mpegaudioparse", "gstreamer1.0-plugins-good", "audio_%u")
        }
        "audio/mpeg" => ("aacparse", "gstreamer1.0-plugins-good", "audio_%u"),
        other => {
            return Err(PipelineError::Setup(format!(
                "unsupported codec {other} (send H.264/H.265 video and AAC/MP3 audio)"
            )));
        }
    };
    // The queue gives each track its own thread: splitmuxsink blocks one
    // track while it waits for the other to reach the cut point, so a single
    // demuxer thread feeding both would deadlock (measured: no segment at all).
    let queue = make("queue", "gstreamer1.0-plugins-base")?;
    queue.set_property("max-size-buffers", 0u32);
    queue.set_property("max-size-bytes", 0u32);
    queue.set_property("max-size-time", BRANCH_QUEUE_TIME.as_nanos() as u64);
    let parse = make(parser, package)?;
    if parser.starts_with("h26") {
        // Every segment must start decodable: repeat SPS/PPS before each IDR.
        parse.set_property("config-interval", -1i32);
    }
    pipeline
        .add_many([&queue, &parse])
        .map_err(|e| PipelineError::Setup(e.to_string()))?;
    gst::Element::link_many([&queue, &parse]).map_err(|e| PipelineError::Setup(e.to_string()))?;
    let queue_src = queue
        .static_pad("src")
        .ok_or_else(|| PipelineError::Setup("queue without src pad".into()))?;
    let first_pending = {
        let mut t = tracks
            .lock()
            .map_err(|_| PipelineError::Setup("track list poisoned".into()))?;
        if t.linked {
            // A track announced late: link it now.
            link_to_split(split, &parse, split_pad)?;
            false
        } else {
            // Hold the track's data until the set of tracks is known.
            let probe = queue_src.add_probe(gst::PadProbeType::BLOCK_DOWNSTREAM, |_, _| {
                gst::PadProbeReturn::Ok
            });
            t.pending.push(PendingTrack {
                parse: parse.clone(),
                split_pad,
                queue_src,
                probe,
            });
            t.pending.len() == 1
        }
    };
    if first_pending {
        let split_weak = split.downgrade();
        let tracks = tracks.clone();
        std::thread::Builder::new()
            .name("ingest-tracks".into())
            .spawn(move || {
                std::thread::sleep(TRACK_GRACE);
                if let Some(split) = split_weak.upgrade() {
                    link_pending(&split, &tracks);
                }
            })
            .map_err(|e| PipelineError::Setup(format!("spawn track timer: {e}")))?;
    }
    queue
        .sync_state_with_parent()
        .map_err(|e| PipelineError::Setup(e.to_string()))?;
    parse
        .sync_state_with_parent()
        .map_err(|e| PipelineError::Setup(e.to_string()))?;
    let queue_sink = queue
        .static_pad("sink")
        .ok_or_else(|| PipelineError::Setup("queue without sink pad".into()))?;
    pad.link(&queue_sink)
        .map_err(|e| PipelineError::Setup(format!("link demuxer: {e}")))?;
    Ok(())
}

/// Turns bus messages into [`PipelineEvent`]s until EOS, an error, or the
/// receiver is gone (the broadcast ended). Runs on its own thread.
fn bus_loop(
    bus: gst::Bus,
    tx: tokio::sync::mpsc::UnboundedSender<PipelineEvent>,
    wallclock_base_ms: Arc<Mutex<Option<i64>>>,
    dir: PathBuf,
) {
    let mut opened: Option<u64> = None;
    let mut last_end: u64 = 0;
    loop {
        if tx.is_closed() {
            return;
        }
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(200)) else {
            continue;
        };
        use gst::MessageView;
        tracing::trace!(message = ?msg.type_(), "ingest bus");
        match msg.view() {
            MessageView::Element(el) => {
                let Some(s) = el.structure() else { continue };
                tracing::debug!(structure = %s, "ingest element message");
                // The first fragment opens before its running time is known (NONE).
                let rt = s
                    .get::<u64>("running-time")
                    .ok()
                    .filter(|t| *t != u64::MAX)
                    .unwrap_or(last_end);
                match s.name().as_str() {
                    "splitmuxsink-fragment-opened" => opened = Some(rt),
                    "splitmuxsink-fragment-closed" => {
                        let Ok(location) = s.get::<String>("location") else {
                            continue;
                        };
                        let start = opened.take().unwrap_or(last_end).min(rt);
                        last_end = rt;
                        let base = wallclock_base_ms
                            .lock()
                            .ok()
                            .and_then(|b| *b)
                            .unwrap_or_else(crate::db::now_ms);
                        let uri = Path::new(&location)
                            .strip_prefix(&dir)
                            .ok()
                            .and_then(|p| p.to_str())
                            .unwrap_or_default()
                            .to_string();
                        let seg = Segment {
                            uri,
                            duration: rt.saturating_sub(start) as f64 / 1e9,
                            program_date_time_ms: base + (start / 1_000_000) as i64,
                        };
                        if tx.send(PipelineEvent::Segment(seg)).is_err() {
                            return;
                        }
                    }
                    _ => {}
                }
            }
            MessageView::Eos(_) => {
                let _ = tx.send(PipelineEvent::Eos);
                return;
            }
            MessageView::Error(err) => {
                let element = err
                    .src()
                    .map(|s| s.path_string().to_string())
                    .unwrap_or_else(|| "pipeline".into());
                let mut message = err.error().to_string();
                if let Some(debug) = err.debug() {
                    message.push_str(" (");
                    message.push_str(&debug);
                    message.push(')');
                }
                let _ = tx.send(PipelineEvent::Error(PipelineError::Element {
                    element,
                    message,
                }));
                return;
            }
            _ => {}
        }
    }
}
