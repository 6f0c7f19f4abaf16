//! What the studio window shows and sends: plain data, exported to TypeScript with the
//! Tauri commands that carry them (feature `specta`; `src-tauri/src/ipc.rs` writes
//! `ui/src/studio/bindings.ts`) so the UI never copies a type by hand.

use serde::{Deserialize, Serialize};

/// The main picture the creator picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum MainSource {
    /// Colour bars with a tone: always works.
    #[default]
    Test,
    /// The desktop.
    Screen,
    /// A webcam.
    Camera,
}

/// Which H.264 encoder the creator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum EncoderPick {
    /// Hardware when it works, else x264.
    #[default]
    Auto,
    /// Software x264.
    X264,
    /// VA-API.
    Vaapi,
    /// NVENC.
    Nvenc,
}

/// Everything the creator sets up once; remembered by the app (never holds a key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(default)]
pub struct StudioSettings {
    /// Main picture.
    pub source: MainSource,
    /// Camera picture-in-picture over the main picture.
    pub camera_pip: bool,
    /// Microphone in the mix (otherwise a test tone for `Test`, silence else).
    pub microphone: bool,
    /// Microphone / tone gain, 0.0–2.0.
    pub volume: f64,
    /// Audio muted.
    pub muted: bool,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Video bitrate, kbit/s.
    pub bitrate_kbps: u32,
    /// Seconds between keyframes.
    pub keyframe_secs: f64,
    /// Encoder choice.
    pub encoder: EncoderPick,
    /// Record every broadcast into this folder (`None` = no recording).
    pub recording_dir: Option<String>,
    /// Extra destinations (their keys live in the keyring).
    pub destinations: Vec<CustomDestination>,
}

impl Default for StudioSettings {
    fn default() -> Self {
        Self {
            source: MainSource::Test,
            camera_pip: false,
            microphone: false,
            volume: 1.0,
            muted: false,
            width: 1280,
            height: 720,
            fps: 30,
            bitrate_kbps: 3500,
            keyframe_secs: 1.0,
            encoder: EncoderPick::Auto,
            recording_dir: None,
            destinations: Vec::new(),
        }
    }
}

/// A custom RTMP/SRT target. The URL here holds no key: the key is appended from the
/// keyring (RTMP: `{url}/{key}`; SRT: `streamid={key}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CustomDestination {
    /// Shown name ("Twitch").
    pub name: String,
    /// `rtmp://host/app` or `srt://host:port`, without the key.
    pub url: String,
    /// Send to it when going live.
    pub enabled: bool,
}

/// Who is signed in where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Profile {
    /// Server base URL.
    pub server: String,
    /// True when the server is the studio's own in-process one.
    pub local_server: bool,
    /// Account and channel name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Channel bio.
    pub bio: String,
}

/// Where the studio's server is and whether someone is signed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ServerStatus {
    /// Server base URL.
    pub server: String,
    /// The in-process companion server.
    pub local_server: bool,
    /// The signed-in profile, when a session from the keyring still works.
    pub profile: Option<Profile>,
}

/// One destination as listed in the destinations panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DestinationView {
    /// Shown name.
    pub name: String,
    /// Address without the key.
    pub url: String,
    /// The own server (key rotated through the API).
    pub own: bool,
    /// A key is stored in the keyring.
    pub has_key: bool,
    /// Sent to when going live.
    pub enabled: bool,
}

/// One output's state in the stats bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutputView {
    /// Destination name or `recording`.
    pub name: String,
    /// `connecting`, `live`, `reconnecting`, `failed`, `stopped`.
    pub state: String,
    /// kbit/s over the last second.
    pub bitrate_kbps: f64,
    /// What went wrong last (key rejected, unreachable, …).
    pub error: Option<String>,
}

/// Stats once a second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StatsView {
    /// Live (true) or just previewing.
    pub live: bool,
    /// Seconds since the engine started.
    pub uptime_secs: f64,
    /// Encoder in use.
    pub encoder: String,
    /// Encoded frames per second.
    pub fps: f64,
    /// Total video bitrate over every network output, kbit/s.
    pub bitrate_kbps: f64,
    /// Frames dropped (capture + outputs).
    pub dropped_frames: f64,
    /// CPU of the whole studio process, percent of one core.
    pub cpu_percent: Option<f64>,
    /// Studio memory in MB.
    pub rss_mb: Option<f64>,
    /// Per output.
    pub outputs: Vec<OutputView>,
    /// Audio meters.
    pub levels: Vec<LevelView>,
    /// A pipeline failure, phrased for the creator.
    pub error: Option<String>,
}

/// One audio meter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LevelView {
    /// Input name.
    pub name: String,
    /// RMS in dBFS.
    pub rms_db: f64,
    /// Peak in dBFS.
    pub peak_db: f64,
}

/// A new preview frame, announced to the window (the JPEG comes by the `preview:` scheme).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PreviewView {
    /// Frame number since the app started: fetch `preview://localhost/{seq}` for its JPEG.
    pub seq: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Size of the JPEG in bytes.
    pub bytes: u32,
}

/// A past broadcast's local recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RecordingView {
    /// File name.
    pub name: String,
    /// Full path.
    pub path: String,
    /// Size in MB.
    pub size_mb: f64,
}

/// What went wrong, as the UI tells it apart: it picks the error's title and what the
/// creator can do about it by this (the UI's table of them fails to compile when one is
/// missing). Listed in `docs/studio.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum StudioErrorKind {
    /// The server did not answer (refused, unknown host, timed out).
    Unreachable,
    /// Sign-in refused: wrong username or password.
    WrongPassword,
    /// The session is gone or was never there: sign in (again).
    NotSignedIn,
    /// Already taken (username, destination name).
    Conflict,
    /// A value was refused (username, server address, engine settings).
    Invalid,
    /// Too many attempts: wait.
    RateLimited,
    /// Any other answer the server refused with.
    Server,
    /// A GStreamer element is not installed (the message names the package).
    MissingPlugin,
    /// A camera or microphone is used by another program.
    DeviceBusy,
    /// A camera, microphone or the screen cannot be opened.
    Device,
    /// The broadcast pipeline failed.
    Engine,
    /// The OS keyring cannot be opened or used.
    Keyring,
    /// The built-in server did not start or stopped.
    LocalServer,
    /// No server chosen yet.
    NoServer,
    /// The creator's chat connection is not open.
    Chat,
    /// The request does not fit what the studio is doing now.
    State,
}

/// An error the UI shows: a kind the UI can act on plus a sentence for the creator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StudioErrorView {
    /// What went wrong, as the UI tells it apart.
    pub kind: StudioErrorKind,
    /// What happened and what to do.
    pub message: String,
}

/// What the studio forwards from its chat connection to the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChatUpdate {
    /// Connection state in words (`connected`, `reconnecting in 2 s: …`).
    State {
        /// Connected now.
        connected: bool,
        /// Shown text.
        text: String,
    },
    /// A frame from the server.
    Frame {
        /// The frame.
        frame: aethex_proto::chat::ServerFrame,
    },
}
