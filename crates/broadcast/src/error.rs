//! The engine's error type: every failure a person can act on, with a hint.

use serde::Serialize;

/// Errors of [`crate::Engine`]. `Display` is a sentence for the user, ending in a hint.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EngineError {
    /// GStreamer itself could not start.
    #[error("GStreamer could not initialise: {0}")]
    Init(String),
    /// A GStreamer element is not installed.
    #[error("{element} is missing: install the Debian package {package}")]
    MissingElement {
        /// Element factory name, e.g. `x264enc`.
        element: String,
        /// Debian package that provides it.
        package: String,
    },
    /// A capture device is in use by another program.
    #[error("{device} is busy: close the other program that uses it ({detail})")]
    DeviceBusy {
        /// The element or device that failed.
        device: String,
        /// GStreamer's message.
        detail: String,
    },
    /// A capture device does not exist or cannot be opened.
    #[error("{device} cannot be opened: {detail} (check it is connected and you may use it)")]
    DeviceUnavailable {
        /// The element or device that failed.
        device: String,
        /// GStreamer's message.
        detail: String,
    },
    /// The settings cannot work (bad URL, zero size, …).
    #[error("invalid settings: {0}")]
    InvalidSettings(String),
    /// An element refused a setting or the pipeline could not be linked.
    #[error("the pipeline could not be built: {0}")]
    Build(String),
    /// The running pipeline failed (not a destination: those fail on their own).
    #[error("{element} failed: {message}")]
    Pipeline {
        /// Path of the element that failed.
        element: String,
        /// GStreamer's message (secrets scrubbed).
        message: String,
    },
    /// The desktop portal gave no screen to capture (Wayland).
    #[error("screen capture: {0}")]
    ScreenCast(#[from] crate::sources::PortalError),
    /// No audio input has the given name.
    #[error("no audio input is named {0:?}")]
    UnknownInput(String),
    /// Stopping took too long; the pipeline was shut down without finishing.
    #[error("stopping timed out after {0} s; the recording may lack its index but stays playable")]
    StopTimeout(u64),
}

/// Debian package that ships a GStreamer element (for the "install …" hint).
pub fn package_for(element: &str) -> &'static str {
    match element {
        "x264enc" => "gstreamer1.0-plugins-ugly",
        "avenc_aac" => "gstreamer1.0-libav",
        "vaapih264enc" => "gstreamer1.0-vaapi",
        "rtmp2sink" | "srtsink" | "srtsrc" | "mpegtsmux" | "compositor" | "audiomixer"
        | "h264parse" | "aacparse" | "voaacenc" | "nvh264enc" => "gstreamer1.0-plugins-bad",
        "flvmux" | "matroskamux" | "mp4mux" | "qtmux" | "level" | "jpegenc" | "v4l2src"
        | "pulsesrc" | "videobox" => "gstreamer1.0-plugins-good",
        "ximagesrc" => "gstreamer1.0-plugins-good",
        "pipewiresrc" => "gstreamer1.0-pipewire",
        _ => "gstreamer1.0-plugins-base",
    }
}

/// Makes an element or says which package to install.
pub(crate) fn make(factory: &str) -> Result<gstreamer::Element, EngineError> {
    gstreamer::ElementFactory::make(factory)
        .build()
        .map_err(|_| missing(factory))
}

/// The [`EngineError::MissingElement`] for a factory name.
pub(crate) fn missing(factory: &str) -> EngineError {
    EngineError::MissingElement {
        element: factory.to_string(),
        package: package_for(factory).to_string(),
    }
}

/// Turns a bus error of the main pipeline into a typed error.
pub(crate) fn from_bus_error(
    element: &str,
    err: &gstreamer::glib::Error,
    debug: Option<&str>,
) -> EngineError {
    use gstreamer::ResourceError;
    let detail = match debug {
        Some(d) if !d.is_empty() => format!("{err} ({})", d.lines().last().unwrap_or(d)),
        _ => err.to_string(),
    };
    let text = detail.to_lowercase();
    if text.contains("busy") || text.contains("in use") {
        return EngineError::DeviceBusy {
            device: element.to_string(),
            detail,
        };
    }
    match err.kind::<ResourceError>() {
        Some(ResourceError::Busy) => EngineError::DeviceBusy {
            device: element.to_string(),
            detail,
        },
        Some(
            ResourceError::NotFound
            | ResourceError::OpenRead
            | ResourceError::OpenReadWrite
            | ResourceError::NotAuthorized,
        ) => EngineError::DeviceUnavailable {
            device: element.to_string(),
            detail,
        },
        _ => EngineError::Pipeline {
            element: element.to_string(),
            message: detail,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_element_names_the_package() {
        crate::init().expect("init");
        let err = make("no_such_element_x").expect_err("must be missing");
        assert!(matches!(err, EngineError::MissingElement { .. }));
        let msg = missing("x264enc").to_string();
        assert_eq!(
            msg,
            "x264enc is missing: install the Debian package gstreamer1.0-plugins-ugly"
        );
    }

    #[test]
    fn device_errors_say_busy_or_unavailable() {
        let busy = gstreamer::glib::Error::new(
            gstreamer::ResourceError::Busy,
            "Device '/dev/video0' is busy",
        );
        assert!(matches!(
            from_bus_error("v4l2src0", &busy, None),
            EngineError::DeviceBusy { .. }
        ));
        let gone = gstreamer::glib::Error::new(
            gstreamer::ResourceError::NotFound,
            "Cannot identify device '/dev/video9'",
        );
        let e = from_bus_error("v4l2src0", &gone, Some("v4l2_calls.c(627): no such file"));
        assert!(matches!(e, EngineError::DeviceUnavailable { .. }), "{e:?}");
        assert!(e.to_string().contains("/dev/video9"), "{e}");
    }
}
