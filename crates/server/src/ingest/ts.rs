//! MPEG-TS demuxing for the SRT path: GStreamer's `tsdemux` and parsers turn
//! the caller's transport stream into the same frames the RTMP path reads from
//! FLV tags, for our own segmenter.
//!
//! ```text
//! srtsrc -> tsdemux -- video --> h264parse ! video/x-h264,stream-format=avc,alignment=au ! appsink
//!                   \- audio --> aacparse  ! audio/mpeg,stream-format=raw                 ! appsink
//! ```

use std::sync::mpsc::SyncSender;

use aethex_gst::make;
use bytes::Bytes;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

/// Frames queued between the demuxer and the broadcast before new ones are
/// dropped (a stalled consumer never grows memory without bound).
pub const QUEUE_FRAMES: usize = 512;

/// Why a demux pipeline could not start or failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// GStreamer could not be initialised.
    #[error("GStreamer init failed: {0}")]
    Init(#[from] gst::glib::Error),
    /// A required element is not installed (names it and its Debian package).
    #[error(transparent)]
    Element(#[from] aethex_gst::ElementError),
    /// Building or linking the graph failed.
    #[error("pipeline setup failed: {0}")]
    Setup(String),
}

/// Initialises GStreamer once (cheap after the first call).
pub fn init() -> Result<(), PipelineError> {
    gst::init()?;
    Ok(())
}

/// What the demuxer hands to the broadcast.
#[derive(Debug)]
pub enum TsFrame {
    /// The tracks in the stream's program (sent once all are known).
    Tracks {
        /// Has H.264 video.
        video: bool,
        /// Has AAC audio.
        audio: bool,
    },
    /// The `avcC` record.
    VideoConfig(Bytes),
    /// The `AudioSpecificConfig`.
    AudioConfig(Bytes),
    /// One H.264 access unit (length-prefixed NAL units).
    Video {
        /// Decode time, microseconds.
        dts_us: i64,
        /// Presentation minus decode time, microseconds.
        cts_us: i64,
        /// An IDR frame.
        keyframe: bool,
        /// The NAL units.
        data: Bytes,
    },
    /// One raw AAC frame.
    Audio {
        /// Presentation time, microseconds.
        pts_us: i64,
        /// The frame.
        data: Bytes,
    },
}

/// Adds `tsdemux` after `src` in `pipeline`; frames go to `tx` (dropped when
/// the queue is full).
pub fn attach_demuxer(
    pipeline: &gst::Pipeline,
    src: &gst::Element,
    tx: SyncSender<TsFrame>,
) -> Result<(), PipelineError> {
    let demux = make("tsdemux").build()?;
    pipeline
        .add(&demux)
        .map_err(|e| PipelineError::Setup(e.to_string()))?;
    src.link(&demux)
        .map_err(|e| PipelineError::Setup(e.to_string()))?;
    let seen = std::sync::Arc::new(std::sync::Mutex::new((false, false)));
    let pipeline_weak = pipeline.downgrade();
    let (tx_pad, seen_pad) = (tx.clone(), seen.clone());
    demux.connect_pad_added(move |_, pad| {
        let Some(pipeline) = pipeline_weak.upgrade() else {
            return;
        };
        match link_track(&pipeline, pad, tx_pad.clone()) {
            Ok(Some(video)) => {
                if let Ok(mut s) = seen_pad.lock() {
                    if video { s.0 = true } else { s.1 = true }
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, pad = %pad.name(), "srt: stream not recorded"),
        }
    });
    demux.connect_no_more_pads(move |_| {
        if let Ok(s) = seen.lock() {
            let _ = tx.try_send(TsFrame::Tracks {
                video: s.0,
                audio: s.1,
            });
        }
    });
    demux
        .sync_state_with_parent()
        .map_err(|e| PipelineError::Setup(e.to_string()))?;
    Ok(())
}

/// Links `parser ! capsfilter ! appsink` for a demuxed stream; `Some(true)`
/// for video, `Some(false)` for audio, `None` for a stream we do not record.
fn link_track(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    tx: SyncSender<TsFrame>,
) -> Result<Option<bool>, PipelineError> {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let Some(s) = caps.structure(0) else {
        return Ok(None);
    };
    let video = match (s.name().as_str(), s.get::<i32>("mpegversion").unwrap_or(0)) {
        ("video/x-h264", _) => true,
        ("audio/mpeg", 2 | 4) => false,
        (other, _) => {
            tracing::warn!(
                codec = other,
                "srt: codec not supported (send H.264 and AAC)"
            );
            return Ok(None);
        }
    };
    let (parse, filter) = if video {
        (
            make("h264parse").build()?,
            gst::Caps::builder("video/x-h264")
                .field("stream-format", "avc")
                .field("alignment", "au")
                .build(),
        )
    } else {
        (
            make("aacparse").build()?,
            gst::Caps::builder("audio/mpeg")
                .field("stream-format", "raw")
                .build(),
        )
    };
    let sink = gst_app::AppSink::builder()
        .caps(&filter)
        .sync(false)
        .max_buffers(64)
        .drop(true)
        .build();
    // Added to a running live pipeline: without this the sink waits in PAUSED
    // for a preroll that never completes its state change.
    sink.set_property("async", false);
    let mut last_config: Option<Bytes> = None;
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                for frame in frames(&sample, video, &mut last_config) {
                    if tx.try_send(frame).is_err() {
                        metrics::counter!("aethex_ingest_dropped_total", "channel" => "srt")
                            .increment(1);
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    pipeline
        .add_many([&parse, sink.upcast_ref()])
        .map_err(|e| PipelineError::Setup(e.to_string()))?;
    parse
        .link(&sink)
        .map_err(|e| PipelineError::Setup(e.to_string()))?;
    for el in [&parse, sink.upcast_ref()] {
        el.sync_state_with_parent()
            .map_err(|e| PipelineError::Setup(e.to_string()))?;
    }
    let parse_sink = parse
        .static_pad("sink")
        .ok_or_else(|| PipelineError::Setup("parser without sink pad".into()))?;
    pad.link(&parse_sink)
        .map_err(|e| PipelineError::Setup(format!("link demuxer: {e}")))?;
    Ok(Some(video))
}

/// The frames of one appsink sample: its decoder configuration when new, then
/// the frame.
fn frames(sample: &gst::Sample, video: bool, last_config: &mut Option<Bytes>) -> Vec<TsFrame> {
    let mut out = Vec::with_capacity(2);
    let config = sample
        .caps()
        .and_then(|c| c.structure(0))
        .and_then(|s| s.get::<gst::Buffer>("codec_data").ok())
        .and_then(|b| b.map_readable().ok().map(|m| Bytes::copy_from_slice(&m)));
    if let Some(config) = config
        && last_config.as_ref() != Some(&config)
    {
        *last_config = Some(config.clone());
        out.push(if video {
            TsFrame::VideoConfig(config)
        } else {
            TsFrame::AudioConfig(config)
        });
    }
    let Some(buffer) = sample.buffer() else {
        return out;
    };
    let Ok(map) = buffer.map_readable() else {
        return out;
    };
    let data = Bytes::copy_from_slice(&map);
    let us = |t: Option<gst::ClockTime>| t.map(|t| (t.nseconds() / 1000) as i64);
    let pts = us(buffer.pts());
    let dts = us(buffer.dts()).or(pts);
    let Some(dts_us) = dts else {
        return out;
    };
    out.push(if video {
        TsFrame::Video {
            dts_us,
            cts_us: pts.map_or(0, |p| p - dts_us),
            keyframe: !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
            data,
        }
    } else {
        TsFrame::Audio {
            pts_us: dts_us,
            data,
        }
    });
    out
}
