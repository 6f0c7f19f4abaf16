//! Capture sources. Each source becomes a bin with one `src` ghost pad that already
//! delivers the scene's format (raw video at the output size and rate, or 48 kHz stereo
//! audio), so the scene only links bins.
//!
//! ```text
//! video: videotestsrc | ximagesrc | pipewiresrc | v4l2src -> queue -> videoconvert -> videoscale -> videorate -> caps
//! audio: audiotestsrc | pulsesrc (mic or monitor)         -> audioconvert -> audioresample -> caps -> volume -> level
//! ```

mod devices;
mod portal;

pub use devices::{Device, DeviceKind, list_devices};
pub(crate) use portal::PortalSession;
pub use portal::{PortalError, is_wayland_session, portal_packages_for};

use gstreamer as gst;
use gstreamer::prelude::*;
use serde::{Deserialize, Serialize};

use aethex_gst::{leaky_queue, make};

use crate::error::EngineError;

/// The main picture.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VideoSource {
    /// Colour bars, always available (tests, sound checks).
    #[default]
    TestPattern,
    /// The desktop.
    Screen(ScreenSource),
    /// A webcam as the main picture.
    Camera(CameraSource),
}

/// Screen capture: X11 through `ximagesrc`; on Wayland the engine asks the desktop portal
/// (ScreenCast) for a PipeWire stream and captures it with `pipewiresrc`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ScreenSource {
    /// X11 display (`:0`); `None` uses `$DISPLAY`.
    pub display: Option<String>,
    /// A PipeWire stream the caller already obtained from the portal; `None` lets the
    /// engine ask the portal itself when needed.
    pub pipewire: Option<PipeWireStream>,
    /// Use the desktop portal even outside a Wayland session (e.g. GNOME on X11).
    pub use_portal: bool,
    /// D-Bus address of the session bus the portal runs on; `None` =
    /// `$DBUS_SESSION_BUS_ADDRESS` (nested or test sessions set it).
    pub portal_bus: Option<String>,
}

impl ScreenSource {
    /// Whether starting this source goes through the desktop portal: asked for, or a
    /// Wayland session without an explicit X11 display (XWayland shows no native windows).
    pub fn needs_portal(&self) -> bool {
        self.pipewire.is_none()
            && (self.use_portal
                || self.portal_bus.is_some()
                || (self.display.is_none() && is_wayland_session()))
    }
}

/// A PipeWire stream granted by `org.freedesktop.portal.ScreenCast`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct PipeWireStream {
    /// File descriptor from `OpenPipeWireRemote`.
    pub fd: i32,
    /// Node id of the stream from `Start`.
    pub node_id: u32,
}

/// A camera (`v4l2src`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CameraSource {
    /// Device path such as `/dev/video0`; `None` takes the first camera.
    pub device: Option<String>,
}

/// Where an audio input comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AudioSource {
    /// A sine tone, always available.
    Tone {
        /// Hz.
        frequency: f64,
    },
    /// Silence (keeps an audio track when there is no microphone).
    Silence,
    /// A microphone through PulseAudio/PipeWire; `None` = the default input.
    Microphone {
        /// PulseAudio source name (see [`list_devices`]).
        device: Option<String>,
    },
    /// What the computer plays (a PulseAudio monitor source); `None` = the first monitor.
    Desktop {
        /// PulseAudio monitor source name, e.g. `alsa_output….monitor`.
        device: Option<String>,
    },
}

/// Target raw video format every video source is converted to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VideoFormat {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl VideoFormat {
    pub(crate) fn caps(&self) -> gst::Caps {
        gst::Caps::builder("video/x-raw")
            .field("format", "I420")
            .field("width", self.width as i32)
            .field("height", self.height as i32)
            .field("framerate", gst::Fraction::new(self.fps as i32, 1))
            .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
            .build()
    }
}

/// A built video source: its bin and the `videorate` whose counters tell dropped frames.
pub(crate) struct VideoBin {
    pub bin: gst::Bin,
    pub rate: gst::Element,
}

fn ghost_src(bin: &gst::Bin, last: &gst::Element) -> Result<(), EngineError> {
    let pad = last
        .static_pad("src")
        .ok_or_else(|| EngineError::Build("element without src pad".into()))?;
    let ghost = gst::GhostPad::builder_with_target(&pad)
        .map_err(|e| EngineError::Build(e.to_string()))?
        .name("src")
        .build();
    bin.add_pad(&ghost)
        .map_err(|e| EngineError::Build(e.to_string()))
}

fn chain(bin: &gst::Bin, elements: &[&gst::Element]) -> Result<(), EngineError> {
    bin.add_many(elements.iter().copied())
        .map_err(|e| EngineError::Build(e.to_string()))?;
    gst::Element::link_many(elements.iter().copied()).map_err(|e| EngineError::Build(e.to_string()))
}

fn screen_element(screen: &ScreenSource) -> Result<gst::Element, EngineError> {
    if let Some(pw) = screen.pipewire {
        let src = make("pipewiresrc")
            .property("fd", pw.fd)
            .property("path", pw.node_id.to_string())
            .property("do-timestamp", true)
            // A still screen sends no new frames (damage-based capture): repeat the last one.
            .property("keepalive-time", 100i32)
            // The compositor reuses its few buffers; the leaky queue must not hold them.
            .property("always-copy", true)
            .build()?;
        return Ok(src);
    }
    if screen.needs_portal() {
        // `open_portals` fills `pipewire` before the pipeline is built.
        return Err(EngineError::Build(
            "screen capture through the portal started without a stream".into(),
        ));
    }
    let display = screen
        .display
        .clone()
        .or_else(|| std::env::var("DISPLAY").ok())
        .ok_or_else(|| EngineError::DeviceUnavailable {
            device: "screen".into(),
            detail: "no X11 display ($DISPLAY is not set)".into(),
        })?;
    Ok(make("ximagesrc")
        .property("display-name", display)
        .property("use-damage", false)
        .property("show-pointer", true)
        .build()?)
}

fn camera_element(camera: &CameraSource) -> Result<gst::Element, EngineError> {
    let device = match &camera.device {
        Some(d) => d.clone(),
        None => list_devices()
            .into_iter()
            .find(|d| d.kind == DeviceKind::Camera)
            .and_then(|d| d.id)
            .ok_or_else(|| EngineError::DeviceUnavailable {
                device: "camera".into(),
                detail: "no camera found".into(),
            })?,
    };
    Ok(make("v4l2src").property("device", device).build()?)
}

/// Asks the desktop portal for every screen source that needs it and fills in its stream.
/// The returned sessions must outlive the pipeline (the stream ends with them).
pub(crate) fn open_portals(
    sources: &mut [&mut VideoSource],
) -> Result<Vec<PortalSession>, EngineError> {
    let mut sessions = Vec::new();
    for source in sources.iter_mut() {
        if let VideoSource::Screen(screen) = &mut **source
            && screen.needs_portal()
        {
            // Check before asking: the user should not pick a screen for nothing.
            if gst::ElementFactory::find("pipewiresrc").is_none() {
                return Err(crate::error::missing("pipewiresrc"));
            }
            let session = portal::open_screencast(screen.portal_bus.as_deref())?;
            screen.pipewire = Some(session.stream());
            sessions.push(session);
        }
    }
    Ok(sessions)
}

/// Builds a video source bin delivering `format`.
pub(crate) fn video_bin(
    name: &str,
    source: &VideoSource,
    format: VideoFormat,
) -> Result<VideoBin, EngineError> {
    let src = match source {
        VideoSource::TestPattern => make("videotestsrc").property("is-live", true).build()?,
        VideoSource::Screen(screen) => screen_element(screen)?,
        VideoSource::Camera(camera) => camera_element(camera)?,
    };
    video_bin_from(name, src, format)
}

fn video_bin_from(
    name: &str,
    src: gst::Element,
    format: VideoFormat,
) -> Result<VideoBin, EngineError> {
    let bin = gst::Bin::with_name(name);
    let queue = leaky_queue(3).build()?;
    let convert = make("videoconvert").build()?;
    let scale = make("videoscale").build()?;
    let rate = make("videorate").build()?;
    let caps = make("capsfilter").property("caps", format.caps()).build()?;
    chain(&bin, &[&src, &queue, &convert, &scale, &rate, &caps])?;
    ghost_src(&bin, &caps)?;
    Ok(VideoBin { bin, rate })
}

/// A built audio input: its bin, the `volume` to control and the `level` that meters it.
pub(crate) struct AudioBin {
    pub bin: gst::Bin,
    pub volume: gst::Element,
}

/// Caps every audio input is converted to before the mixer.
pub(crate) fn audio_caps() -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("rate", 48_000i32)
        .field("channels", 2i32)
        .build()
}

fn monitor_device() -> Result<String, EngineError> {
    list_devices()
        .into_iter()
        .find(|d| d.kind == DeviceKind::DesktopAudio)
        .and_then(|d| d.id)
        .ok_or_else(|| EngineError::DeviceUnavailable {
            device: "desktop audio".into(),
            detail: "no PulseAudio/PipeWire monitor source found".into(),
        })
}

/// Builds an audio input bin with volume and level meter.
pub(crate) fn audio_bin(
    name: &str,
    source: &AudioSource,
    volume: f64,
    muted: bool,
) -> Result<AudioBin, EngineError> {
    let src = match source {
        AudioSource::Tone { frequency } => make("audiotestsrc")
            .property("is-live", true)
            .property("freq", *frequency)
            .property("volume", 0.3f64)
            .build()?,
        AudioSource::Silence => make("audiotestsrc")
            .property("is-live", true)
            .property_from_str("wave", "silence")
            .build()?,
        AudioSource::Microphone { device } => make("pulsesrc")
            .property_if_some("device", device.as_deref())
            .build()?,
        AudioSource::Desktop { device } => {
            let d = match device {
                Some(d) => d.clone(),
                None => monitor_device()?,
            };
            make("pulsesrc").property("device", d).build()?
        }
    };
    let bin = gst::Bin::with_name(name);
    let convert = make("audioconvert").build()?;
    let resample = make("audioresample").build()?;
    let caps = make("capsfilter").property("caps", audio_caps()).build()?;
    let vol = make("volume")
        .property("volume", volume.clamp(0.0, 10.0))
        .property("mute", muted)
        .build()?;
    let level = make("level")
        .property("interval", 100_000_000u64)
        .property("post-messages", true)
        .build()?;
    chain(&bin, &[&src, &convert, &resample, &caps, &vol, &level])?;
    ghost_src(&bin, &level)?;
    Ok(AudioBin { bin, volume: vol })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_is_asked_only_when_no_stream_or_x11_display_is_given() {
        let given = PipeWireStream { fd: 3, node_id: 7 };
        let cases = [
            (
                ScreenSource {
                    use_portal: true,
                    ..Default::default()
                },
                true,
            ),
            (
                ScreenSource {
                    portal_bus: Some("unix:path=/b".into()),
                    ..Default::default()
                },
                true,
            ),
            (
                ScreenSource {
                    use_portal: true,
                    pipewire: Some(given),
                    ..Default::default()
                },
                false,
            ),
            (
                ScreenSource {
                    display: Some(":0".into()),
                    ..Default::default()
                },
                false,
            ),
        ];
        for (screen, expected) in cases {
            assert_eq!(screen.needs_portal(), expected, "{screen:?}");
        }
    }
}
