//! Pure translations between the studio's view types and the engine's: testable
//! without GStreamer running.

use std::path::{Path, PathBuf};

use aethex_broadcast::{
    AudioInput, AudioSource, BroadcastSettings, CameraSource, Destination, EncoderChoice,
    OutputKind, OutputState, PictureInPicture, PreviewFrame, RecordingSettings, ScreenSource,
    StatsEvent, VideoSource,
};

use super::types::{
    EncoderPick, LevelView, MainSource, OutputView, PreviewView, RecordingView, StatsView,
    StudioSettings,
};
use crate::secret::Secret;

/// Name of the microphone input (volume, mute, meter).
pub const MIC: &str = "mic";
/// Name of the test tone input.
pub const TONE: &str = "tone";

/// Engine settings for the studio's settings, destinations and recording file.
pub fn broadcast_settings(
    s: &StudioSettings,
    destinations: Vec<Destination>,
    recording: Option<PathBuf>,
) -> BroadcastSettings {
    let video = match s.source {
        MainSource::Test => VideoSource::TestPattern,
        MainSource::Screen => VideoSource::Screen(ScreenSource::default()),
        MainSource::Camera => VideoSource::Camera(CameraSource::default()),
    };
    let camera = (s.camera_pip && s.source != MainSource::Camera).then(|| PictureInPicture {
        source: VideoSource::Camera(CameraSource::default()),
        x: 0.72,
        y: 0.70,
        width: 0.25,
    });
    let mut audio = if s.microphone {
        AudioInput::new(MIC, AudioSource::Microphone { device: None })
    } else if s.source == MainSource::Test {
        AudioInput::new(TONE, AudioSource::Tone { frequency: 440.0 })
    } else {
        AudioInput::new(TONE, AudioSource::Silence)
    };
    audio.volume = s.volume.clamp(0.0, 2.0);
    audio.muted = s.muted;
    let mut out = BroadcastSettings {
        video,
        camera,
        audio: vec![audio],
        destinations,
        recording: recording.map(|path| RecordingSettings { path }),
        ..Default::default()
    };
    out.encoder.width = s.width;
    out.encoder.height = s.height;
    out.encoder.fps = s.fps;
    out.encoder.video_bitrate_kbps = s.bitrate_kbps;
    out.encoder.keyframe_interval_secs = s.keyframe_secs;
    out.encoder.encoder = match s.encoder {
        EncoderPick::Auto => EncoderChoice::Auto,
        EncoderPick::X264 => EncoderChoice::X264,
        EncoderPick::Vaapi => EncoderChoice::Vaapi,
        EncoderPick::Nvenc => EncoderChoice::Nvenc,
    };
    out
}

/// The URL the engine connects to: RTMP `{base}/{key}`, SRT `{base}?streamid={key}`.
pub fn destination_url(base: &str, key: &Secret) -> String {
    let base = base.trim();
    if base.starts_with("srt://") {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}streamid={}", key.expose())
    } else {
        format!("{}/{}", base.trim_end_matches('/'), key.expose())
    }
}

/// The stats bar's view of an engine stats event.
pub fn stats_view(ev: &StatsEvent, live: bool) -> StatsView {
    let outputs: Vec<OutputView> = ev
        .outputs
        .iter()
        .map(|o| OutputView {
            name: o.name.clone(),
            state: match o.state {
                OutputState::Connecting => "connecting",
                OutputState::Live => "live",
                OutputState::Reconnecting => "reconnecting",
                OutputState::Failed => "failed",
                OutputState::Stopped => "stopped",
            }
            .into(),
            bitrate_kbps: o.bitrate_kbps,
            error: o.last_error.as_ref().map(ToString::to_string),
        })
        .collect();
    let bitrate_kbps = ev
        .outputs
        .iter()
        .filter(|o| !matches!(o.kind, OutputKind::Recording { .. }))
        .map(|o| o.bitrate_kbps)
        .fold(0.0, f64::max);
    StatsView {
        live,
        uptime_secs: ev.uptime_secs,
        encoder: ev.encoder.clone(),
        fps: ev.encoder_fps,
        bitrate_kbps,
        dropped_frames: (ev.dropped_frames
            + ev.outputs.iter().map(|o| o.dropped_frames).sum::<u64>())
            as f64,
        cpu_percent: ev.cpu_percent,
        rss_mb: ev.rss_bytes.map(|b| b as f64 / 1_048_576.0),
        outputs,
        levels: ev
            .audio_levels
            .iter()
            .map(|l| LevelView {
                name: l.name.clone(),
                rms_db: l.rms_db,
                peak_db: l.peak_db,
            })
            .collect(),
        error: ev.error.as_ref().map(ToString::to_string),
    }
}

/// The window's notice of preview frame number `seq`. The JPEG itself is not in the
/// event: the window fetches the latest frame's bytes from the app's `preview:` URL
/// scheme, so no frame is ever base64-encoded into JSON and evaluated as script.
pub fn preview_view(frame: &PreviewFrame, seq: u32) -> PreviewView {
    PreviewView {
        seq,
        width: frame.width,
        height: frame.height,
        bytes: u32::try_from(frame.jpeg.len()).unwrap_or(u32::MAX),
    }
}

/// The recordings (`*.mkv`) in `dir`, newest first.
pub fn recordings(dir: &Path) -> Vec<RecordingView> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, RecordingView)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "mkv"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            let path = e.path();
            Some((
                meta.modified().ok()?,
                RecordingView {
                    name: e.file_name().to_string_lossy().into_owned(),
                    path: path.to_string_lossy().into_owned(),
                    size_mb: meta.len() as f64 / 1_048_576.0,
                },
            ))
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.into_iter().map(|(_, r)| r).collect()
}

/// The chat connection state as the chat panel shows it: (connected, text).
pub fn chat_state_text(state: &crate::chat::ConnectionState) -> (bool, String) {
    use crate::chat::ConnectionState as S;
    match state {
        S::Connected => (true, String::new()),
        S::Connecting { .. } => (false, "Connecting to chat…".into()),
        S::Reconnecting { delay, reason, .. } => (
            false,
            format!(
                "Chat lost ({reason}); reconnecting in {} s…",
                delay.as_secs().max(1)
            ),
        ),
        S::Failed { reason } => (false, format!("Chat unavailable: {reason}")),
        S::Closed => (false, "Chat closed".into()),
    }
}
