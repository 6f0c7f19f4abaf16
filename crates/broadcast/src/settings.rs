//! What the user chose for a broadcast (kept apart from what is running, see `engine.rs`).
//!
//! Everything here is `serde` so the studio UI can send it; the destination URLs are
//! [`SecretUrl`]s: they carry stream keys and therefore never show in `Debug`, logs or
//! serialised output.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::sources::{AudioSource, VideoSource};

/// Everything needed to start a broadcast.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BroadcastSettings {
    /// The main picture.
    pub video: VideoSource,
    /// Optional picture-in-picture (usually the camera) over the main picture.
    pub camera: Option<PictureInPicture>,
    /// Audio inputs mixed together (an empty list gives silence).
    pub audio: Vec<AudioInput>,
    /// Encoder settings shared by every destination (one encode).
    pub encoder: EncoderSettings,
    /// Network destinations (RTMP, RTMPS, SRT).
    pub destinations: Vec<Destination>,
    /// Local recording, if any.
    pub recording: Option<RecordingSettings>,
    /// Preview frames for the studio.
    pub preview: PreviewSettings,
    /// How a destination that dropped retries.
    pub reconnect: ReconnectPolicy,
}

impl Default for BroadcastSettings {
    fn default() -> Self {
        Self {
            video: VideoSource::TestPattern,
            camera: None,
            audio: vec![AudioInput::new(
                "tone",
                AudioSource::Tone { frequency: 440.0 },
            )],
            encoder: EncoderSettings::default(),
            destinations: Vec::new(),
            recording: None,
            preview: PreviewSettings::default(),
            reconnect: ReconnectPolicy::default(),
        }
    }
}

/// A picture (usually the camera) drawn over the main picture. Position and size are
/// fractions of the frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PictureInPicture {
    /// What to show: normally `VideoSource::Camera`.
    pub source: VideoSource,
    /// Left edge, 0.0–1.0 of the frame width.
    pub x: f64,
    /// Top edge, 0.0–1.0 of the frame height.
    pub y: f64,
    /// Width, 0.0–1.0 of the frame width (height follows 16:9 of the frame).
    pub width: f64,
}

/// One audio input of the mixer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AudioInput {
    /// Name used by [`crate::Engine::set_volume`] and in level meters.
    pub name: String,
    /// Where the sound comes from.
    pub source: AudioSource,
    /// Linear gain, 1.0 = unchanged (0.0–10.0).
    pub volume: f64,
    /// Muted inputs stay in the mix at zero gain (unmuting is instant).
    pub muted: bool,
}

impl AudioInput {
    /// An unmuted input at unity gain.
    pub fn new(name: impl Into<String>, source: AudioSource) -> Self {
        Self {
            name: name.into(),
            source,
            volume: 1.0,
            muted: false,
        }
    }
}

/// Which H.264 encoder to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncoderChoice {
    /// A hardware encoder when one is installed and starts, otherwise x264.
    #[default]
    Auto,
    /// Software x264 (`x264enc`).
    X264,
    /// VA-API (`vaapih264enc`, Intel/AMD).
    Vaapi,
    /// NVENC (`nvh264enc`, NVIDIA).
    Nvenc,
}

/// Encoder settings. Defaults: 1280x720 at 30 fps, 3500 kbit/s video, 160 kbit/s AAC,
/// a keyframe every 0.5 s (so a viewer or HLS segmenter never waits long for one: the
/// ≤ 1.5 s glass-to-glass goal), x264 preset `veryfast`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct EncoderSettings {
    /// Output width in pixels.
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Video bitrate in kbit/s.
    pub video_bitrate_kbps: u32,
    /// Audio bitrate in kbit/s.
    pub audio_bitrate_kbps: u32,
    /// Seconds between keyframes (GOP length); 0.5 by default.
    pub keyframe_interval_secs: f64,
    /// x264 speed preset (`ultrafast` … `veryslow`); hardware encoders ignore it.
    pub preset: String,
    /// Which encoder.
    pub encoder: EncoderChoice,
}

impl Default for EncoderSettings {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 720,
            fps: 30,
            video_bitrate_kbps: 3500,
            audio_bitrate_kbps: 160,
            keyframe_interval_secs: 0.5,
            preset: "veryfast".into(),
            encoder: EncoderChoice::Auto,
        }
    }
}

impl EncoderSettings {
    /// Frames between keyframes: fps × keyframe seconds, at least 1.
    pub fn keyframe_distance(&self) -> u32 {
        ((f64::from(self.fps) * self.keyframe_interval_secs).round() as u32).max(1)
    }
}

/// A network destination: a name the user sees and a URL holding the stream key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Destination {
    /// Shown in the UI and in stats ("Twitch", "own server").
    pub name: String,
    /// `rtmp://`, `rtmps://` or `srt://` URL including the key.
    pub url: SecretUrl,
}

impl Destination {
    /// A destination from a name and a URL.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: SecretUrl::new(url),
        }
    }
}

/// A URL that contains a secret (stream key, SRT passphrase).
///
/// `Debug`, `Display` and `Serialize` show only scheme, host and port. Serialising therefore
/// never writes the key anywhere (settings files hold no keys: they are re-attached from the
/// OS keyring); deserialising accepts the full URL from the UI or the vault.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The full URL, key included. Only pass it to the element that connects.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `scheme://host[:port]/…` without path, query or credentials.
    pub fn redacted(&self) -> String {
        let (scheme, rest) = match self.0.split_once("://") {
            Some((s, r)) => (s, r),
            None => return "<redacted>".into(),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        format!("{scheme}://{host}/<redacted>")
    }

    /// Replaces the URL and its path/query (which hold the key) in `text`.
    pub fn scrub(&self, text: &str) -> String {
        let out = text.replace(&self.0, &self.redacted());
        crate::redact::scrub_url(&self.0, &out)
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// Local recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordingSettings {
    /// Output file. Matroska (`.mkv`): stays playable if the process is killed.
    pub path: PathBuf,
}

/// Preview frames for the studio window.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PreviewSettings {
    /// Produce preview frames at all.
    pub enabled: bool,
    /// Frame width (height follows the output aspect).
    pub width: u32,
    /// Frames per second.
    pub fps: u32,
    /// JPEG quality 1–100.
    pub jpeg_quality: u32,
    /// Frames kept for a slow reader before the oldest is dropped.
    pub capacity: usize,
}

impl Default for PreviewSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            width: 640,
            fps: 15,
            jpeg_quality: 70,
            capacity: 2,
        }
    }
}

/// Reconnect backoff like OBS: first retry after `initial_delay_ms`, each next delay ×
/// `multiplier`, never more than `max_delay_ms`; give up after `max_retries` (None = never).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ReconnectPolicy {
    /// First retry delay in milliseconds (2000).
    pub initial_delay_ms: u64,
    /// Growth per retry (1.5).
    pub multiplier: f64,
    /// Upper bound of a delay in milliseconds (30000).
    pub max_delay_ms: u64,
    /// Retries before the destination is `failed` (20); `None` retries forever.
    pub max_retries: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            initial_delay_ms: 2000,
            multiplier: 1.5,
            max_delay_ms: 30_000,
            max_retries: Some(20),
        }
    }
}

impl ReconnectPolicy {
    /// Delay before retry number `attempt` (0-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let ms =
            self.initial_delay_ms as f64 * self.multiplier.max(1.0).powi(attempt.min(64) as i32);
        Duration::from_millis(ms.min(self.max_delay_ms as f64) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_url_never_shows_the_key() {
        let d = Destination::new(
            "twitch",
            "rtmp://live.example.com:1935/app/sk_live_abcdef123",
        );
        let shown = format!(
            "{d:?} {} {}",
            d.url,
            serde_json::to_string(&d).expect("json")
        );
        assert!(!shown.contains("sk_live_abcdef123"), "{shown}");
        assert!(shown.contains("live.example.com:1935"), "{shown}");
        let srt = SecretUrl::new(
            "srt://127.0.0.1:9000?streamid=publish:secretkey99&passphrase=hunter2hunter2",
        );
        assert!(!format!("{srt:?}").contains("secretkey99"));
        let scrubbed = srt.scrub(
            "could not connect to srt://127.0.0.1:9000?streamid=publish:secretkey99 (secretkey99)",
        );
        assert!(!scrubbed.contains("secretkey99"), "{scrubbed}");
    }

    #[test]
    fn backoff_grows_like_obs_and_is_capped() {
        let p = ReconnectPolicy::default();
        assert_eq!(p.delay(0), Duration::from_secs(2));
        assert_eq!(p.delay(1), Duration::from_secs(3));
        assert_eq!(p.delay(2), Duration::from_millis(4500));
        assert_eq!(p.delay(30), Duration::from_secs(30));
    }

    #[test]
    fn keyframe_distance_follows_fps() {
        let e = EncoderSettings::default();
        assert_eq!(e.keyframe_distance(), 15);
        let e = EncoderSettings {
            fps: 60,
            keyframe_interval_secs: 2.0,
            ..e
        };
        assert_eq!(e.keyframe_distance(), 120);
    }
}
