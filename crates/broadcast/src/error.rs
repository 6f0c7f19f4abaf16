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

impl From<aethex_gst::ElementError> for EngineError {
    fn from(e: aethex_gst::ElementError) -> Self {
        match e {
            aethex_gst::ElementError::Missing {
                element, package, ..
            } => EngineError::MissingElement {
                element,
                package: package.to_string(),
            },
            // The error stays serialisable for the studio: GStreamer's text is kept.
            other @ aethex_gst::ElementError::Create { .. } => {
                EngineError::Build(other.to_string())
            }
        }
    }
}

/// The [`EngineError::MissingElement`] for a factory found absent before creating it.
pub(crate) fn missing(factory: &str) -> EngineError {
    EngineError::MissingElement {
        element: factory.to_string(),
        package: aethex_gst::package_for(factory).to_string(),
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
        const ABSENT: &str = "no_such_element_x";
        let err: EngineError = aethex_gst::make(ABSENT)
            .build()
            .expect_err("must be missing")
            .into();
        assert!(
            matches!(&err, EngineError::MissingElement { element, .. } if element == ABSENT),
            "{err:?}"
        );
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
