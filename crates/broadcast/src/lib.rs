//! AeThex Live broadcast engine (GStreamer).
//!
//! ```text
//! sources -> compositor/audiomixer -> x264enc/avenc_aac -> tee -> [rtmp… | srt… | recording | preview]
//! ```

/// Initialises GStreamer once; safe to call many times.
pub fn init() -> Result<(), gstreamer::glib::Error> {
    gstreamer::init()
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
