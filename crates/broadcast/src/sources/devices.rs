//! Device discovery through GStreamer's `DeviceMonitor` (v4l2 cameras, PulseAudio/PipeWire
//! microphones and monitor sources).

use gstreamer as gst;
use gstreamer::prelude::*;
use serde::{Deserialize, Serialize};

/// What a discovered device is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A webcam or capture card.
    Camera,
    /// A microphone or line input.
    Microphone,
    /// The monitor of an output: what the computer plays.
    DesktopAudio,
}

/// A capture device the user can pick.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Device {
    /// What it is.
    pub kind: DeviceKind,
    /// Human name ("Integrated Camera").
    pub name: String,
    /// What to put in the settings: `/dev/video0` for cameras, the PulseAudio source name for
    /// audio. `None` when the provider gives no stable id.
    pub id: Option<String>,
}

fn string_prop(props: Option<&gst::StructureRef>, key: &str) -> Option<String> {
    props.and_then(|p| p.get::<String>(key).ok())
}

/// Lists cameras, microphones and desktop-audio monitors present now. Returns an empty list
/// when GStreamer has no provider for a class (e.g. no PulseAudio running).
pub fn list_devices() -> Vec<Device> {
    if gst::init().is_err() {
        return Vec::new();
    }
    let monitor = gst::DeviceMonitor::new();
    monitor.add_filter(Some("Video/Source"), None);
    monitor.add_filter(Some("Audio/Source"), None);
    if monitor.start().is_err() {
        return Vec::new();
    }
    let devices = monitor.devices();
    monitor.stop();
    devices
        .iter()
        .filter_map(|d| {
            let props = d.properties();
            let props = props.as_deref();
            let class = d.device_class();
            let name = d.display_name().to_string();
            if class.contains("Video/Source") {
                let id = string_prop(props, "api.v4l2.path")
                    .or_else(|| string_prop(props, "device.path"));
                Some(Device {
                    kind: DeviceKind::Camera,
                    name,
                    id,
                })
            } else if class.contains("Audio/Source") {
                let id =
                    string_prop(props, "node.name").or_else(|| string_prop(props, "device.name"));
                let is_monitor = string_prop(props, "device.class").is_some_and(|c| c == "monitor")
                    || id.as_deref().is_some_and(|i| i.ends_with(".monitor"));
                let kind = if is_monitor {
                    DeviceKind::DesktopAudio
                } else {
                    DeviceKind::Microphone
                };
                Some(Device { kind, name, id })
            } else {
                None
            }
        })
        .collect()
}
