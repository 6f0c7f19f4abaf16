//! Preview frames for the studio: small JPEGs through a bounded channel.
//!
//! ```text
//! raw tee -> queue (leaky, 1 frame) -> videorate (drop only, max fps) -> videoscale -> videoconvert
//!         -> caps (width × height) -> jpegenc -> appsink (drop, 1 buffer, no sync)
//! ```
//! The appsink callback only does a non-blocking `broadcast::send`: a reader that falls
//! behind loses the oldest frames (`RecvError::Lagged`), nothing ever waits on it, and the
//! channel holds at most `PreviewSettings::capacity` frames.

use bytes::Bytes;
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use tokio::sync::broadcast;

use aethex_gst::{leaky_queue, make};

use crate::error::EngineError;
use crate::settings::PreviewSettings;

/// One preview frame.
#[derive(Clone)]
pub struct PreviewFrame {
    /// A complete JPEG image.
    pub jpeg: Bytes,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Presentation time since the broadcast started, in milliseconds.
    pub pts_ms: u64,
}

impl std::fmt::Debug for PreviewFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviewFrame")
            .field("bytes", &self.jpeg.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("pts_ms", &self.pts_ms)
            .finish()
    }
}

/// Preview size for an output size: `width` wide, same aspect, even numbers.
pub(crate) fn preview_size(settings: &PreviewSettings, out_w: u32, out_h: u32) -> (u32, u32) {
    let w = settings.width.clamp(16, out_w.max(16)) & !1;
    let h = ((u64::from(w) * u64::from(out_h) / u64::from(out_w.max(1))) as u32).max(2) & !1;
    (w, h)
}

/// Builds the preview branch; returns its first element (to link from the raw tee).
pub(crate) fn build(
    pipeline: &gst::Pipeline,
    settings: &PreviewSettings,
    out_w: u32,
    out_h: u32,
    tx: broadcast::Sender<PreviewFrame>,
) -> Result<gst::Element, EngineError> {
    let (w, h) = preview_size(settings, out_w, out_h);
    let queue = leaky_queue(1).build()?;
    let rate = make("videorate")
        .property("drop-only", true)
        .property("max-rate", settings.fps.max(1) as i32)
        .build()?;
    let scale = make("videoscale").build()?;
    let convert = make("videoconvert").build()?;
    let caps = make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("width", w as i32)
                .field("height", h as i32)
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                .build(),
        )
        .build()?;
    let jpeg = make("jpegenc")
        .property("quality", settings.jpeg_quality.clamp(1, 100) as i32)
        .build()?;
    let sink = gst_app::AppSink::builder()
        .name("preview-sink")
        .sync(false)
        .max_buffers(1)
        .drop(true)
        .callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(buffer) = sample.buffer()
                        && let Ok(map) = buffer.map_readable()
                    {
                        let frame = PreviewFrame {
                            jpeg: Bytes::copy_from_slice(map.as_slice()),
                            width: w,
                            height: h,
                            pts_ms: buffer.pts().map(|t| t.mseconds()).unwrap_or(0),
                        };
                        // No receiver is fine: the preview is optional.
                        let _ = tx.send(frame);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        )
        .build();
    let elements = [
        &queue,
        &rate,
        &scale,
        &convert,
        &caps,
        &jpeg,
        sink.upcast_ref(),
    ];
    pipeline
        .add_many(elements)
        .map_err(|e| EngineError::Build(e.to_string()))?;
    gst::Element::link_many(elements).map_err(|e| EngineError::Build(e.to_string()))?;
    Ok(queue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_keeps_the_aspect() {
        let s = PreviewSettings::default();
        assert_eq!(preview_size(&s, 1280, 720), (640, 360));
        assert_eq!(preview_size(&s, 1920, 1080), (640, 360));
        assert_eq!(preview_size(&s, 320, 240), (320, 240));
    }
}
