//! AeThex Live broadcast engine (GStreamer): capture, one encode, many destinations,
//! a crash-safe recording, preview frames and stats.
//!
//! ```text
//! sources/ ─ scene.rs (compositor PiP, audiomixer + volume + level)
//!          ─ encode.rs (x264enc | vaapih264enc | nvh264enc, avenc_aac | voaacenc)
//!          ─ appsinks ─ outputs/ Fanout ─ one small pipeline per output:
//!                                          rtmp(s): flvmux ─ rtmp2sink
//!                                          srt:     mpegtsmux alignment=7 ─ srtsink
//!                                          record:  matroskamux ─ filesink
//!          ─ tee ─ preview.rs (640x360 JPEG ─ bounded broadcast channel)
//! stats.rs: one StatsEvent a second (bitrates, fps, drops, states, CPU)
//! counters.rs: what engine.rs, bus.rs and stats.rs share (frame counters, levels, last error)
//! ```
//!
//! ```no_run
//! # async fn demo() -> Result<(), aethex_broadcast::EngineError> {
//! use aethex_broadcast::{BroadcastSettings, Destination, Engine};
//! let settings = BroadcastSettings {
//!     destinations: vec![Destination::new("own server", "rtmp://127.0.0.1:1935/live/KEY")],
//!     ..Default::default()
//! };
//! let engine = Engine::start(settings)?;
//! let mut stats = engine.stats();
//! if let Ok(event) = stats.recv().await {
//!     println!("{:.0} fps", event.encoder_fps);
//! }
//! let report = engine.stop().await?;
//! # let _ = report; Ok(()) }
//! ```

#![warn(missing_docs)]

mod bus;
mod counters;
mod encode;
mod engine;
mod error;
mod outputs;
mod preview;
mod redact;
mod scene;
mod settings;
mod sources;
mod stats;

pub use aethex_gst::package_for;
pub use counters::AudioLevel;
pub use engine::{Engine, StopReport};
pub use error::EngineError;
pub use outputs::{OutputError, OutputKind, OutputState};
pub use preview::PreviewFrame;
pub use redact::scrub;
pub use settings::{
    AudioInput, BroadcastSettings, Destination, EncoderChoice, EncoderSettings, PictureInPicture,
    PreviewSettings, ReconnectPolicy, RecordingSettings, SecretUrl,
};
pub use sources::{
    AudioSource, CameraSource, Device, DeviceKind, PipeWireStream, PortalError, ScreenSource,
    VideoSource, is_wayland_session, list_devices, portal_packages_for,
};
pub use stats::{OutputStats, StatsEvent};

/// Initialises GStreamer once; safe to call many times. Also replaces GStreamer's log
/// handler with one that keeps registered stream keys out of `GST_DEBUG` output.
pub fn init() -> Result<(), gstreamer::glib::Error> {
    gstreamer::init()?;
    redact::install_log_handler();
    Ok(())
}

/// The GStreamer version the engine runs against, e.g. `GStreamer 1.22.0`.
pub fn gstreamer_version() -> String {
    gstreamer::version_string().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn gstreamer_initialises_and_has_the_encoder() {
        super::init().expect("gstreamer init");
        assert!(super::gstreamer_version().contains("1."));
        assert!(
            gstreamer::ElementFactory::find("x264enc").is_some(),
            "x264enc missing: install gstreamer1.0-plugins-ugly"
        );
    }
}
