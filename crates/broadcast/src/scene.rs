//! The scene: the main picture with an optional camera picture-in-picture, and the audio mix.
//!
//! ```text
//! main video bin ────────────────┐
//!                                ├─ compositor (camera on top, xpos/ypos/width/height) -> caps   (only with a camera)
//! camera bin (scaled to PiP size)┘
//! audio input bins (volume, level) -> audiomixer -> audioconvert -> audioresample -> caps (48 kHz stereo)
//! ```

use std::collections::HashMap;

use gstreamer as gst;
use gstreamer::prelude::*;

use aethex_gst::make;

use crate::error::EngineError;
use crate::settings::BroadcastSettings;
use crate::sources::{self, AudioSource, VideoFormat};

/// The built scene: where raw video and mixed audio come out, and the controls.
pub(crate) struct Scene {
    /// Raw video at the output format.
    pub video_out: gst::Element,
    /// Mixed 48 kHz stereo audio.
    pub audio_out: gst::Element,
    /// `volume` element per audio input name.
    pub volumes: HashMap<String, gst::Element>,
    /// Input name per audio bin name (level messages come from inside those bins).
    pub level_names: HashMap<String, String>,
    /// `videorate` elements whose `drop` counters are dropped source frames.
    pub rates: Vec<gst::Element>,
}

fn add(pipeline: &gst::Pipeline, e: &impl IsA<gst::Element>) -> Result<(), EngineError> {
    pipeline
        .add(e)
        .map_err(|err| EngineError::Build(err.to_string()))
}

fn link(a: &impl IsA<gst::Element>, b: &impl IsA<gst::Element>) -> Result<(), EngineError> {
    a.link(b).map_err(|err| EngineError::Build(err.to_string()))
}

/// Picture-in-picture rectangle in pixels from fractions of the frame (even sizes, inside it).
pub(crate) fn pip_rect(x: f64, y: f64, width: f64, out: VideoFormat) -> (i32, i32, u32, u32) {
    let w = ((width.clamp(0.05, 1.0) * f64::from(out.width)) as u32).max(16) & !1;
    let h =
        ((u64::from(w) * u64::from(out.height) / u64::from(out.width.max(1))) as u32).max(16) & !1;
    let max_x = out.width.saturating_sub(w);
    let max_y = out.height.saturating_sub(h);
    let px = ((x.clamp(0.0, 1.0) * f64::from(out.width)).round() as u32).min(max_x);
    let py = ((y.clamp(0.0, 1.0) * f64::from(out.height)).round() as u32).min(max_y);
    (px as i32, py as i32, w, h)
}

/// Adds the scene to `pipeline`.
pub(crate) fn build(
    pipeline: &gst::Pipeline,
    settings: &BroadcastSettings,
) -> Result<Scene, EngineError> {
    let enc = &settings.encoder;
    let format = VideoFormat {
        width: enc.width,
        height: enc.height,
        fps: enc.fps,
    };
    let main = sources::video_bin("video-main", &settings.video, format)?;
    add(pipeline, &main.bin)?;
    let mut rates = vec![main.rate.clone()];

    let video_out = match &settings.camera {
        None => main.bin.upcast::<gst::Element>(),
        Some(pip) => {
            let (x, y, w, h) = pip_rect(pip.x, pip.y, pip.width, format);
            let cam = sources::video_bin(
                "video-pip",
                &pip.source,
                VideoFormat {
                    width: w,
                    height: h,
                    fps: enc.fps,
                },
            )?;
            add(pipeline, &cam.bin)?;
            rates.push(cam.rate.clone());
            let compositor = make("compositor")
                .property_from_str("background", "black")
                .build()?;
            let caps = make("capsfilter").property("caps", format.caps()).build()?;
            add(pipeline, &compositor)?;
            add(pipeline, &caps)?;
            for (bin, zorder, rect) in [
                (&main.bin, 0u32, None),
                (&cam.bin, 1u32, Some((x, y, w, h))),
            ] {
                let pad = compositor
                    .request_pad_simple("sink_%u")
                    .ok_or_else(|| EngineError::Build("compositor has no sink pad".into()))?;
                pad.set_property("zorder", zorder);
                if let Some((x, y, w, h)) = rect {
                    pad.set_property("xpos", x);
                    pad.set_property("ypos", y);
                    pad.set_property("width", w as i32);
                    pad.set_property("height", h as i32);
                }
                let src = bin
                    .static_pad("src")
                    .ok_or_else(|| EngineError::Build("source without src pad".into()))?;
                src.link(&pad)
                    .map_err(|e| EngineError::Build(format!("compositor link: {e:?}")))?;
            }
            link(&compositor, &caps)?;
            caps
        }
    };

    let mixer = make("audiomixer").build()?;
    add(pipeline, &mixer)?;
    let mut volumes = HashMap::new();
    let mut level_names = HashMap::new();
    let mut inputs = settings.audio.clone();
    if inputs.is_empty() {
        inputs.push(crate::settings::AudioInput::new(
            "silence",
            AudioSource::Silence,
        ));
    }
    for (i, input) in inputs.iter().enumerate() {
        if volumes.contains_key(&input.name) {
            return Err(EngineError::InvalidSettings(format!(
                "two audio inputs are named {:?}",
                input.name
            )));
        }
        let bin_name = format!("audio-{i}");
        let audio = sources::audio_bin(&bin_name, &input.source, input.volume, input.muted)?;
        add(pipeline, &audio.bin)?;
        link(&audio.bin, &mixer)?;
        volumes.insert(input.name.clone(), audio.volume);
        level_names.insert(bin_name, input.name.clone());
    }
    let convert = make("audioconvert").build()?;
    let resample = make("audioresample").build()?;
    let caps = make("capsfilter")
        .property("caps", sources::audio_caps())
        .build()?;
    for e in [&convert, &resample, &caps] {
        add(pipeline, e)?;
    }
    gst::Element::link_many([&mixer, &convert, &resample, &caps])
        .map_err(|e| EngineError::Build(e.to_string()))?;
    Ok(Scene {
        video_out,
        audio_out: caps,
        volumes,
        level_names,
        rates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_stays_inside_the_frame() {
        let out = VideoFormat {
            width: 1280,
            height: 720,
            fps: 30,
        };
        assert_eq!(pip_rect(0.7, 0.7, 0.25, out), (896, 504, 320, 180));
        let (x, y, w, h) = pip_rect(1.0, 1.0, 0.5, out);
        assert!(x as u32 + w <= 1280 && y as u32 + h <= 720);
    }
}
