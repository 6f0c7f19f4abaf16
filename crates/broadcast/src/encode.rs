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

use aethex_gst::make;

use crate::error::{EngineError, missing};
use crate::settings::{EncoderChoice, EncoderSettings};

/// Sets a property only when the element has it with a compatible type (encoders differ
/// between versions and vendors; a mismatched type would panic in `set_property`).
fn set_if<V: Into<gst::glib::Value>>(e: &gst::Element, name: &str, value: V) {
    let value = value.into();
    match e.find_property(name) {
        Some(spec) if value.type_().is_a(spec.value_type()) => e.set_property(name, value),
        Some(spec) => {
            let converted = match spec.value_type() {
                t if t == gst::glib::Type::I32 => {
                    value.get::<u32>().ok().map(|v| (v as i32).into())
                }
                t if t == gst::glib::Type::I64 => {
                    value.get::<u32>().ok().map(|v| i64::from(v).into())
                }
                t if t == gst::glib::Type::U64 => {
                    value.get::<u32>().ok().map(|v| u64::from(v).into())
                }
                _ => None,
            };
            match converted {
                Some(v) => e.set_property_from_value(name, &v),
                None => tracing::debug!(
                    property = name,
                    "encoder property has another type; left as is"
                ),
            }
        }
        None => {}
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
    let enc = make(factory).build()?;
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
        "nvh264enc" => {
            set_str_if(&enc, "rc-mode", "cbr");
            set_str_if(&enc, "preset", "low-latency-hq");
            set_if(&enc, "bitrate", s.video_bitrate_kbps);
            set_if(&enc, "gop-size", gop as i32);
            set_if(&enc, "bframes", 0u32);
            set_if(&enc, "zerolatency", true);
        }
        _ => {
            // Another encoder: its defaults (bitrate units differ between vendors).
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
        if let Ok(enc) = make(factory).property("bitrate", bitrate).build() {
            return Ok(enc);
        }
    }
    Err(missing("avenc_aac"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BroadcastSettings, Engine};

    /// An encoder that is installed but cannot start here: libav's OpenMAX IL H.264
    /// encoder needs an OMX core (Raspberry Pi-style hardware), like nvh264enc needs CUDA.
    const BROKEN_HARDWARE: &str = "avenc_h264_omx";

    fn small() -> BroadcastSettings {
        let mut s = BroadcastSettings::default();
        s.encoder.width = 320;
        s.encoder.height = 180;
        s.encoder.fps = 15;
        s.preview.enabled = false;
        s
    }

    fn broken_hardware_present() -> bool {
        crate::init().expect("init");
        let present = gst::ElementFactory::find(BROKEN_HARDWARE).is_some();
        if !present {
            eprintln!("skipped: {BROKEN_HARDWARE} is not installed (gstreamer1.0-libav)");
        }
        present
    }

    #[test]
    fn an_encoder_that_fails_to_start_falls_back_to_x264() {
        if !broken_hardware_present() {
            return;
        }
        let engine =
            Engine::start_with(small(), &[BROKEN_HARDWARE, "x264enc"]).expect("falls back to x264");
        assert_eq!(engine.encoder(), "x264enc");
        let report = engine.stop_blocking().expect("clean stop");
        assert!(report.frames_encoded >= 1, "{report:?}");
    }

    #[test]
    fn the_last_encoder_failing_is_a_typed_error() {
        if !broken_hardware_present() {
            return;
        }
        let err = Engine::start_with(small(), &[BROKEN_HARDWARE]).expect_err("cannot start");
        assert!(matches!(err, EngineError::Pipeline { .. }), "{err:?}");
    }

    #[test]
    fn missing_hardware_is_skipped_by_auto_and_named_when_chosen() {
        crate::init().expect("init");
        let auto = video_candidates(EncoderChoice::Auto).expect("auto");
        assert_eq!(auto.last(), Some(&"x264enc"), "{auto:?}");
        for (choice, factory, package) in [
            (EncoderChoice::Vaapi, "vaapih264enc", "gstreamer1.0-vaapi"),
            (
                EncoderChoice::Nvenc,
                "nvh264enc",
                "gstreamer1.0-plugins-bad",
            ),
        ] {
            if gst::ElementFactory::find(factory).is_some() {
                assert!(auto.contains(&factory), "{factory} installed: {auto:?}");
                continue;
            }
            assert!(!auto.contains(&factory), "{auto:?}");
            match video_candidates(choice) {
                Err(EngineError::MissingElement {
                    element,
                    package: p,
                }) => {
                    assert_eq!((element.as_str(), p.as_str()), (factory, package));
                }
                other => panic!("{factory}: expected MissingElement, got {other:?}"),
            }
        }
    }

    #[test]
    fn properties_of_another_type_are_converted_or_left_alone() {
        crate::init().expect("init");
        let identity = make("identity").build().expect("identity");
        set_if(&identity, "datarate", 5u32); // gint: converted
        assert_eq!(identity.property::<i32>("datarate"), 5);
        set_if(&identity, "silent", 5u32); // gboolean: left alone, no panic
        set_if(&identity, "no-such-property", 5u32);
    }

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
