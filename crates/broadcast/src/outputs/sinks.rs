//! Builds the small per-output pipeline: two appsrcs, a muxer and a sink.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::{Feed, Output, OutputError, OutputKind};
use aethex_gst::make;

/// Live appsrcs announce this latency so the muxer waits that long for the other stream
/// before it times out (keeps audio and video interleaved).
const MUX_LATENCY: gst::ClockTime = gst::ClockTime::from_mseconds(300);

fn appsrc(name: &str, caps: &gst::Caps) -> gst_app::AppSrc {
    gst_app::AppSrc::builder()
        .name(name)
        .caps(caps)
        .format(gst::Format::Time)
        .is_live(true)
        .min_latency(MUX_LATENCY.nseconds() as i64)
        .build()
}

fn add_link(pipeline: &gst::Pipeline, chain: &[&gst::Element]) -> Result<(), OutputError> {
    pipeline
        .add_many(chain.iter().copied())
        .map_err(|e| OutputError::Setup(e.to_string()))?;
    gst::Element::link_many(chain.iter().copied())
        .map_err(|e| OutputError::Setup(format!("cannot link output: {e}")))
}

/// Builds an output pipeline (not started). Counts muxed bytes into `output`.
pub(super) fn build(
    output: &Arc<Output>,
    video_caps: &gst::Caps,
    audio_caps: &gst::Caps,
    video_bitrate_kbps: u32,
) -> Result<Feed, OutputError> {
    let pipeline = gst::Pipeline::with_name(&format!("output-{}", output.name));
    let video = appsrc("video", video_caps);
    let audio = appsrc("audio", audio_caps);
    let vq = make("queue").build()?;
    let aq = make("queue").build()?;
    // (muxer, sink, extra video elements, extra audio elements, muxer pad templates)
    type Parts = (
        gst::Element,
        gst::Element,
        Vec<gst::Element>,
        Vec<gst::Element>,
        [&'static str; 2],
    );
    let (mux, sink, video_chain, audio_chain, pads): Parts = match &output.kind {
        OutputKind::Rtmp { url } => {
            let mux = make("flvmux").property("streamable", true).build()?;
            let sink = make("rtmp2sink")
                .property("location", url.expose())
                .build()?;
            (mux, sink, vec![], vec![], ["video", "audio"])
        }
        OutputKind::Srt { url } => {
            // One SRT packet = 7 TS packets; otherwise receivers get undecodable H.264.
            let mux = make("mpegtsmux").property("alignment", 7i32).build()?;
            let sink = make("srtsink")
                .property("uri", url.expose())
                .property("wait-for-connection", false)
                .build()?;
            let parse = make("h264parse")
                .property("config-interval", -1i32)
                .build()?;
            let bytestream = make("capsfilter")
                .property(
                    "caps",
                    gst::Caps::builder("video/x-h264")
                        .field("stream-format", "byte-stream")
                        .build(),
                )
                .build()?;
            (
                mux,
                sink,
                vec![parse, bytestream],
                vec![make("aacparse").build()?],
                ["sink_%d", "sink_%d"],
            )
        }
        OutputKind::Recording { path } => {
            let mux = make("matroskamux")
                .property("offset-to-zero", true)
                .build()?;
            let sink = make("filesink")
                .property("location", path.to_string_lossy().to_string())
                .build()?;
            (mux, sink, vec![], vec![], ["video_%u", "audio_%u"])
        }
    };
    sink.set_property("sync", false);
    sink.set_property("async", false);

    add_link(&pipeline, &[&mux, &sink])?;
    let branches = [
        (video.upcast_ref(), &vq, &video_chain, pads[0]),
        (audio.upcast_ref(), &aq, &audio_chain, pads[1]),
    ];
    for (src, queue, extra, mux_pad) in branches {
        let mut chain: Vec<&gst::Element> = vec![src, queue];
        chain.extend(extra.iter());
        add_link(&pipeline, &chain)?;
        let last = chain[chain.len() - 1];
        // Name the muxer pad template: with ANY caps after a queue, automatic linking could
        // put audio on a video pad.
        last.link_pads(Some("src"), &mux, Some(mux_pad))
            .map_err(|e| OutputError::Setup(format!("cannot link to the muxer: {e}")))?;
    }

    let counter = Arc::clone(output);
    if let Some(pad) = sink.static_pad("sink") {
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
            move |_, info| {
                let (size, media) = match info.data {
                    Some(gst::PadProbeData::Buffer(ref b)) => (
                        b.size() as u64,
                        !b.flags().contains(gst::BufferFlags::HEADER),
                    ),
                    Some(gst::PadProbeData::BufferList(ref l)) => (
                        l.calculate_size() as u64,
                        l.iter()
                            .any(|b| !b.flags().contains(gst::BufferFlags::HEADER)),
                    ),
                    _ => (0, false),
                };
                counter.bytes.fetch_add(size, Ordering::Relaxed);
                // Stream headers are cached by rtmp2sink without waiting for the connection;
                // media buffers are what shows the connection works.
                if media {
                    counter
                        .buffers_this_connection
                        .fetch_add(1, Ordering::Relaxed);
                }
                gst::PadProbeReturn::Ok
            },
        );
    }
    // About four seconds of media may wait in the appsrcs before this output drops frames.
    let max_queued = u64::from(video_bitrate_kbps.max(500)) * 1000 / 8 * 4;
    for src in [&video, &audio] {
        src.set_max_bytes(max_queued * 2);
    }
    Ok(Feed {
        video,
        audio,
        pipeline,
        rebase: None,
        dropping: false,
        max_queued,
    })
}
