//! Encoders: one H.264 and one AAC encode per broadcast, shared by every output.
//!
//! ```text
//! raw video -> queue (leaky: skip frames when the encoder lags) -> x264enc | vaapih264enc | nvh264enc -> h264parse -> avc caps
//! mixed audio -> audioconvert -> audioresample -> avenc_aac | voaacenc -> aacparse
//! ```
//! `Auto` prefers a hardware encoder that is installed; if it fails to start the engine
//! rebuilds the pipeline with the next candidate and finally x264.

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::error::{EngineError, make, missing};
use crate::settings::{EncoderChoice, EncoderSettings};

/// Sets a property only when the element has it (encoders differ between versions).
fn set_if<V: Into<gst::glib::Value>>(e: &gst::Element, name: &str, value: V) {
    if e.find_property(name).is_some() {
        e.set_property(name, value);
    }
}

fn set_str_if(e: &gst::Element, name: &str, value: &str) {
    if e.find_property(name).is_some() {
        e.set_property_from_str(name, value);
    }
}

/// Encoder factories to try, best first, for a choice. Explicit choices that are not
/// installed give [`EngineError::MissingElement`].
pub(crate) fn video_candidates(choice: EncoderChoice) -> Result<Vec<&'static str>, EngineError> {
    let present = |f: &str| gst::ElementFactory::find(f).is_some();
    let wanted = match choice {
        EncoderChoice::Auto => {
            let found: Vec<&'static str> = ["nvh264enc", "vaapih264enc", "x264enc"]
                .into_iter()
                .filter(|f| present(f))
                .collect();
            return if found.is_empty() {
                Err(missing("x264enc"))
            } else {
                Ok(found)
            };
        }
        EncoderChoice::X264 => "x264enc",
        EncoderChoice::Vaapi => "vaapih264enc",
        EncoderChoice::Nvenc => "nvh264enc",
    };
    if present(wanted) {
        Ok(vec![wanted])
    } else {
        Err(missing(wanted))
    }
}

/// Builds and configures a video encoder.
pub(crate) fn video_encoder(
    factory: &str,
    s: &EncoderSettings,
) -> Result<gst::Element, EngineError> {
    let enc = make(factory)?;
    let gop = s.keyframe_distance();
    match factory {
        "x264enc" => {
            enc.set_property_from_str("tune", "zerolatency");
            enc.set_property_from_str("speed-preset", &s.preset);
            enc.set_property("bitrate", s.video_bitrate_kbps);
            enc.set_property("key-int-max", gop);
            // Exact GOPs: no extra keyframes at scene cuts (segmenters rely on the rhythm).
            enc.set_property("option-string", "scenecut=0");
            enc.set_property("bframes", 0u32);
        }
        "vaapih264enc" => {
            set_str_if(&enc, "rate-control", "cbr");
            set_if(&enc, "bitrate", s.video_bitrate_kbps);
            set_if(&enc, "keyframe-period", gop);
            set_if(&enc, "max-bframes", 0u32);
        }
        _ => {
            set_str_if(&enc, "rc-mode", "cbr");
            set_str_if(&enc, "preset", "low-latency-hq");
            set_if(&enc, "bitrate", s.video_bitrate_kbps);
            set_if(&enc, "gop-size", gop as i32);
            set_if(&enc, "bframes", 0u32);
            set_if(&enc, "zerolatency", true);
        }
    }
    Ok(enc)
}

/// Caps of the encoded video handed to outputs (what flvmux and matroskamux accept).
pub(crate) fn h264_caps() -> gst::Caps {
    gst::Caps::builder("video/x-h264")
        .field("stream-format", "avc")
        .field("alignment", "au")
        .build()
}

/// Builds an AAC encoder: `avenc_aac`, else `voaacenc`.
pub(crate) fn audio_encoder(s: &EncoderSettings) -> Result<gst::Element, EngineError> {
    let bitrate = (s.audio_bitrate_kbps * 1000) as i32;
    for factory in ["avenc_aac", "voaacenc"] {
        if let Ok(enc) = gst::ElementFactory::make(factory).build() {
            enc.set_property("bitrate", bitrate);
            return Ok(enc);
        }
    }
    Err(missing("avenc_aac"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x264_follows_the_settings() {
        crate::init().expect("init");
        let s = EncoderSettings {
            fps: 30,
            keyframe_interval_secs: 0.5,
            video_bitrate_kbps: 2500,
            ..Default::default()
        };
        let enc = video_encoder("x264enc", &s).expect("x264enc");
        assert_eq!(enc.property::<u32>("key-int-max"), 15);
        assert_eq!(enc.property::<u32>("bitrate"), 2500);
        assert_eq!(
            enc.property::<Option<String>>("option-string").as_deref(),
            Some("scenecut=0")
        );
        assert_eq!(
            video_candidates(EncoderChoice::Auto).expect("auto").last(),
            Some(&"x264enc")
        );
    }
}
