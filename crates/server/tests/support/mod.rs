//! Shared test fixtures: a real server on port 0, channels with stream keys,
//! real publishers (ffmpeg, gst-launch-1.0) killed on drop, and waits with
//! timeouts that fail with a clear message.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use aethex_server::{AppState, Config, Server};
use tokio::process::{Child, Command};

/// A running server with its own temporary data directory.
pub struct TestServer {
    /// HTTP address.
    pub http: SocketAddr,
    /// RTMP address.
    pub rtmp: SocketAddr,
    /// Shared state (direct store access for assertions).
    pub state: AppState,
    /// Data directory.
    pub dir: PathBuf,
    client: reqwest::Client,
    tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _tmp: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with test defaults.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` adjusts its configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        aethex_server::init_tracing();
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut config = Config::for_tests(tmp.path());
        tweak(&mut config);
        let server = Server::bind(config).await.expect("bind server");
        let (http, rtmp) = (server.http_addr(), server.rtmp_addr());
        let state = server.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(async move {
            let _ = rx.await;
        }));
        TestServer {
            http,
            rtmp,
            state,
            dir: tmp.path().to_path_buf(),
            client: reqwest::Client::new(),
            tokens: Default::default(),
            stop: Some(tx),
            task: Some(task),
            _tmp: tmp,
        }
    }

    /// Stops the server the way SIGTERM does and waits for it to finish.
    pub async fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("server did not stop within 20 s")
                .expect("server task panicked")
                .expect("server returned an error");
        }
    }

    /// Registers user `name` (which creates channel `name`) over HTTP and
    /// rotates its stream key; returns the key.
    pub async fn channel_with_key(&self, name: &str) -> String {
        let res = self
            .client
            .post(self.url("/api/v1/auth/register"))
            .json(&serde_json::json!({"username": name, "password": "correct horse battery"}))
            .send()
            .await
            .expect("register");
        assert_eq!(
            res.status(),
            201,
            "register {name}: {}",
            res.text().await.unwrap_or_default()
        );
        let body: serde_json::Value = res.json().await.expect("register body");
        let token = body["token"].as_str().expect("token").to_string();
        self.tokens
            .lock()
            .expect("tokens")
            .insert(name.to_string(), token);
        self.rotate_key(name).await
    }

    /// Rotates channel `name`'s stream key over HTTP (the old one stops working).
    pub async fn rotate_key(&self, name: &str) -> String {
        let token = self.tokens.lock().expect("tokens")[name].clone();
        let res = self
            .client
            .post(self.url(&format!("/api/v1/channels/{name}/stream-key")))
            .bearer_auth(token)
            .send()
            .await
            .expect("rotate key");
        assert_eq!(res.status(), 200, "rotate key of {name}");
        let body: serde_json::Value = res.json().await.expect("stream key body");
        body["stream_key"].as_str().expect("stream_key").to_string()
    }

    /// `GET /api/v1/channels/{name}` → its `live` flag.
    pub async fn is_live(&self, name: &str) -> bool {
        let body: serde_json::Value = self
            .get(&format!("/api/v1/channels/{name}"))
            .await
            .json()
            .await
            .expect("channel body");
        body["live"].as_bool().expect("live flag")
    }

    /// `rtmp://…/live/{key}`.
    pub fn rtmp_url(&self, key: &str) -> String {
        format!("rtmp://{}/live/{key}", self.rtmp)
    }

    /// Absolute URL of `path` on the HTTP server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("HTTP request")
    }

    /// GET `path` as text if 200.
    pub async fn get_text(&self, path: &str) -> Option<String> {
        let res = self.get(path).await;
        if res.status() != 200 {
            return None;
        }
        res.text().await.ok()
    }

    /// Files under the data directory's `vod/` (recordings), recursively.
    pub fn vod_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(&self.dir.join("vod"), &mut out);
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

/// Polls `check` until it yields `Some`, failing after `timeout` with `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
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
