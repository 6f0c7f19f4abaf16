//! What ffprobe sees in a media file: codecs, packet counts and times, duration.

use std::path::Path;
use std::process::Command;

/// What ffprobe sees in a media file.
#[derive(Debug)]
pub struct Probe {
    /// Codec names, each once (`h264`, `aac`).
    pub codecs: Vec<String>,
    /// Video packets.
    pub video_packets: usize,
    /// Audio packets.
    pub audio_packets: usize,
    /// First to last video packet time, seconds.
    pub video_span: f64,
    /// Largest distance between consecutive video packets, seconds.
    pub max_video_gap: f64,
    /// Duration from the container header (`None` when the file was not finalised).
    pub duration: Option<f64>,
}

fn packet_times(path: &Path, stream: &str) -> Vec<f64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            stream,
            "-show_entries",
            "packet=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let mut t: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    t.sort_by(f64::total_cmp);
    t
}

/// Probes a file with ffprobe (panics with the file name when it is unreadable).
pub fn probe(path: &Path) -> Probe {
    let out = codec_query(path);
    assert!(
        out.status.success(),
        "ffprobe cannot read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let codecs = codecs_of(&out.stdout);
    let duration = probe_duration(path);
    let v = packet_times(path, "v");
    let a = packet_times(path, "a");
    let span = match (v.first(), v.last()) {
        (Some(f), Some(l)) => l - f,
        _ => 0.0,
    };
    let gap = v.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    Probe {
        codecs,
        video_packets: v.len(),
        audio_packets: a.len(),
        video_span: span,
        max_video_gap: gap,
        duration,
    }
}

fn codecs_of(stdout: &[u8]) -> Vec<String> {
    // MPEG-TS lists its streams twice (per program and overall): keep each codec once.
    let mut codecs: Vec<String> = Vec::new();
    for c in String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| l.trim_matches(',').trim())
    {
        if !c.is_empty() && !codecs.iter().any(|k| k == c) {
            codecs.push(c.to_string());
        }
    }
    codecs
}

/// Stream codec names in a media file, each once, in stream order (empty if unreadable).
pub fn probe_codecs(path: &Path) -> Vec<String> {
    codecs_of(&codec_query(path).stdout)
}

/// ffprobe listing the codec name of every stream of `path`, one per line.
fn codec_query(path: &Path) -> std::process::Output {
    Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs (apt install ffmpeg)")
}

/// Duration in seconds from the container header (`None` when not finalised or unreadable).
pub fn probe_duration(path: &Path) -> Option<f64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}
