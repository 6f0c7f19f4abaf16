//! Media fixtures: a server with logs on stderr, channels with stream keys,
//! real publishers (ffmpeg, gst-launch-1.0) killed on drop, an HLS playlist
//! parser and ffprobe.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use aethex_server::Config;
use aethex_server::testing::{Api, TestDb, TestServer};
use tokio::process::{Child, Command};

/// A SQLite server for media journeys, logging to stderr (seen when one fails).
pub async fn server() -> TestServer {
    server_with(|_| {}).await
}

/// [`server`] after `adjust` changes its configuration.
pub async fn server_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
    aethex_server::init_tracing();
    TestServer::start_with(TestDb::Sqlite, adjust).await
}

/// What media journeys ask of a [`TestServer`] beyond the request builder.
// Test-only: called on the concrete type, never from generic `Send` code.
#[allow(async_fn_in_trait)]
pub trait MediaServer {
    /// Signs up `name` (which creates channel `name`) and rotates its stream
    /// key; returns the key.
    async fn channel_with_key(&self, name: &str) -> String;
    /// `GET path` as text if it answers 200.
    async fn get_text(&self, path: &str) -> Option<String>;
    /// `GET /api/v1/channels/{name}` → its `live` flag.
    async fn is_live(&self, name: &str) -> bool;
    /// Files under the data directory's `vod/` (recordings), recursively.
    fn vod_files(&self) -> Vec<PathBuf>;
}

impl MediaServer for TestServer {
    async fn channel_with_key(&self, name: &str) -> String {
        let user = self.user(name).await;
        self.rotate_key(&user).await
    }

    async fn get_text(&self, path: &str) -> Option<String> {
        let res = self.get(path).send().await;
        (res.status() == 200).then(|| res.text().into_owned())
    }

    async fn is_live(&self, name: &str) -> bool {
        let res = self.get(&format!("/api/v1/channels/{name}")).send().await;
        res["live"].as_bool().expect("live flag")
    }

    fn vod_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(&self.dir.path().join("vod"), &mut out);
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// What a test publisher sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracks {
    /// H.264 + AAC.
    Both,
    /// H.264 only.
    VideoOnly,
    /// AAC only.
    AudioOnly,
}

/// A publisher process, killed when dropped.
pub struct Publisher {
    /// The process.
    pub child: Child,
}

impl Publisher {
    /// ffmpeg publishing a test pattern (+ sine) in real time, 0.5 s GOPs.
    pub fn ffmpeg(url: &str, tracks: Tracks) -> Publisher {
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-hide_banner", "-nostdin", "-loglevel", "error", "-re"]);
        if tracks != Tracks::AudioOnly {
            cmd.args(["-f", "lavfi", "-i", "testsrc=size=640x360:rate=30"]);
        }
        if tracks != Tracks::VideoOnly {
            cmd.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]);
        }
        if tracks != Tracks::AudioOnly {
            cmd.args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                "15",
                "-pix_fmt",
                "yuv420p",
            ]);
        }
        if tracks != Tracks::VideoOnly {
            cmd.args(["-c:a", "aac", "-b:a", "64k"]);
        }
        cmd.args(["-f", "flv", url]);
        Publisher::spawn(cmd)
    }

    /// gst-launch-1.0 publishing with rtmp2sink.
    pub fn gst_rtmp2sink(url: &str) -> Publisher {
        let mut cmd = Command::new("gst-launch-1.0");
        cmd.args(["-q", "-e"]);
        let pipeline = format!(
            "videotestsrc is-live=true ! video/x-raw,width=640,height=360,framerate=30/1 ! \
             x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 option-string=scenecut=0 ! \
             h264parse ! queue ! flvmux name=m streamable=true ! rtmp2sink location={url} \
             audiotestsrc is-live=true ! audioconvert ! avenc_aac ! aacparse ! queue ! m."
        );
        cmd.args(pipeline.split_whitespace());
        Publisher::spawn(cmd)
    }

    fn spawn(mut cmd: Command) -> Publisher {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .expect("spawn publisher (is ffmpeg / gstreamer installed?)");
        Publisher { child }
    }

    /// Waits for the process to exit (failing after `timeout`); returns
    /// (success, stderr + stdout text).
    pub async fn exit(self, timeout: Duration) -> (bool, String) {
        let out = tokio::time::timeout(timeout, self.child.wait_with_output())
            .await
            .expect("publisher did not exit in time")
            .expect("wait publisher");
        let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stdout));
        (out.status.success(), text)
    }

    /// Kills the publisher abruptly (SIGKILL: no clean RTMP close).
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// A parsed media playlist: (media sequence, segment URIs, PDT tags, ended).
#[derive(Debug, Clone)]
pub struct Parsed {
    /// `EXT-X-MEDIA-SEQUENCE`.
    pub media_sequence: u64,
    /// Segment URIs in order.
    pub segments: Vec<String>,
    /// Segments preceded by an `EXT-X-PROGRAM-DATE-TIME` tag.
    pub pdt_count: usize,
    /// Whether `EXT-X-ENDLIST` is present.
    pub ended: bool,
    /// `EXT-X-PART` URIs in order, with `INDEPENDENT=YES`.
    pub parts: Vec<(String, bool)>,
    /// `EXT-X-MAP` URI.
    pub map: Option<String>,
    /// `EXT-X-PRELOAD-HINT` URI.
    pub preload_hint: Option<String>,
    /// `EXT-X-PART-INF` part target, seconds.
    pub part_target: Option<f64>,
}

/// The value of `KEY="..."` or `KEY=...` in an attribute list.
pub fn attribute(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    let rest = &line[start..];
    Some(match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?.to_string(),
        None => rest.split(',').next()?.to_string(),
    })
}

/// Parses an HLS media playlist (panics on anything malformed).
pub fn parse_playlist(text: &str) -> Parsed {
    assert!(text.starts_with("#EXTM3U"), "not a playlist: {text}");
    let mut p = Parsed {
        media_sequence: 0,
        segments: Vec::new(),
        pdt_count: 0,
        ended: false,
        parts: Vec::new(),
        map: None,
        preload_hint: None,
        part_target: None,
    };
    let mut pdt = false;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            p.media_sequence = v.trim().parse().expect("media sequence number");
        } else if line.starts_with("#EXT-X-PROGRAM-DATE-TIME:") {
            pdt = true;
        } else if line == "#EXT-X-ENDLIST" {
            p.ended = true;
        } else if line.starts_with("#EXT-X-PART:") {
            let uri = attribute(line, "URI").expect("part URI");
            p.parts.push((uri, line.contains("INDEPENDENT=YES")));
        } else if line.starts_with("#EXT-X-MAP:") {
            p.map = attribute(line, "URI");
        } else if line.starts_with("#EXT-X-PRELOAD-HINT:") {
            p.preload_hint = attribute(line, "URI");
        } else if let Some(v) = line.strip_prefix("#EXT-X-PART-INF:") {
            p.part_target = attribute(v, "PART-TARGET").and_then(|t| t.parse().ok());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            p.segments.push(line.trim().to_string());
            p.pdt_count += usize::from(std::mem::take(&mut pdt));
        }
    }
    p
}

/// ffprobe's view of a URL: codec types of the streams it decoded, and the
/// number of video frames it read. A live playlist never ends, so only its
/// first 3 s are read; a VOD is decoded to the end.
pub async fn ffprobe(url: &str) -> (Vec<String>, u64) {
    let live = url.contains("/hls/");
    let mut cmd = Command::new("ffprobe");
    cmd.args(["-v", "error", "-count_frames"]);
    if live {
        cmd.args(["-read_intervals", "%+3"]);
    }
    cmd.args([
        "-show_entries",
        "stream=codec_type,nb_read_frames",
        "-of",
        "csv=p=0",
        url,
    ])
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("ffprobe did not finish in 60 s")
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut kinds = Vec::new();
    let mut video_frames = 0;
    for line in text.lines() {
        let mut parts = line.split(',');
        let kind = parts.next().unwrap_or_default().trim().to_string();
        let frames: u64 = parts
            .next()
            .and_then(|f| f.trim().parse().ok())
            .unwrap_or(0);
        if kind == "video" {
            video_frames += frames;
        }
        if !kind.is_empty() {
            kinds.push(kind);
        }
    }
    kinds.sort();
    kinds.dedup();
    (kinds, video_frames)
}

/// A free UDP port on 127.0.0.1 (for the SRT listener, which cannot bind port 0).
pub fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    s.local_addr().expect("udp addr").port()
}

impl Publisher {
    /// gst-launch-1.0 publishing H.264 + AAC in MPEG-TS (`alignment=7`) over SRT.
    pub fn gst_srt(port: u16, stream_id: &str) -> Publisher {
        let mut cmd = Command::new("gst-launch-1.0");
        cmd.args(["-q", "-e"]);
        let pipeline = format!(
            "videotestsrc is-live=true ! video/x-raw,width=640,height=360,framerate=30/1 ! \
             x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 option-string=scenecut=0 ! \
             h264parse ! queue ! mpegtsmux name=m alignment=7 ! \
             srtsink uri=srt://127.0.0.1:{port} streamid={stream_id} wait-for-connection=false \
             audiotestsrc is-live=true ! audioconvert ! avenc_aac ! aacparse ! queue ! m."
        );
        cmd.args(pipeline.split_whitespace());
        Publisher::spawn(cmd)
    }
}
