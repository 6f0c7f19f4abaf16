//! Cluster journeys: several real `aethex-server` processes on one
//! PostgreSQL database and one Redis, each on its own ports.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aethex_proto::ServerFrame;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// One server process; killed (like `kill -9`) on drop.
pub struct Node {
    child: Child,
    /// Bound HTTP address.
    pub http: SocketAddr,
    /// Bound RTMP address.
    pub rtmp: SocketAddr,
    /// The node id it was given.
    pub id: String,
    /// Everything it wrote to stderr so far (its logs).
    log: std::sync::Arc<std::sync::Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Starts a node of the cluster on `database` and `redis`.
    pub fn start(id: &str, database: &str, redis: &str) -> Node {
        Node::start_with(id, database, redis, &[])
    }

    /// Starts a node of the cluster with more flags (`--s3-…`, say).
    pub fn start_with(id: &str, database: &str, redis: &str, extra: &[String]) -> Node {
        let mut args = vec![
            "--database-url",
            database,
            "--redis-url",
            redis,
            "--node-id",
            id,
        ];
        args.extend(extra.iter().map(String::as_str));
        Node::try_start(&args)
            .unwrap_or_else(|e| panic!("node {id} did not start: {e}"))
            .named(id)
    }

    fn named(mut self, id: &str) -> Node {
        self.id = id.to_string();
        self
    }

    /// Starts the binary with `args`; `Err(stderr)` when it exits instead of listening.
    pub fn try_start(args: &[&str]) -> Result<Node, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_aethex-server"))
            .args([
                "--http",
                "127.0.0.1:0",
                "--rtmp",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(dir.path())
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn aethex-server");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("listening ") {
                    let _ = tx.send(line);
                }
            }
        });
        let (etx, erx) = std::sync::mpsc::channel();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[node] {line}");
                all.push_str(&line);
                all.push('\n');
                if let Ok(mut l) = sink.lock() {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
            let _ = etx.send(all);
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => {
                let addr = |key: &str| -> SocketAddr {
                    line.split_whitespace()
                        .find_map(|p| p.strip_prefix(key))
                        .and_then(|a| a.parse().ok())
                        .expect("addresses on the listening line")
                };
                Ok(Node {
                    child,
                    http: addr("http="),
                    rtmp: addr("rtmp="),
                    id: String::new(),
                    log,
                    _dir: dir,
                })
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(erx.recv_timeout(Duration::from_secs(5)).unwrap_or_default())
            }
        }
    }

    /// What the node logged so far (stderr, `RUST_LOG=warn`), without
    /// terminal colour codes.
    pub fn logs(&self) -> String {
        let raw = self.log.lock().map(|l| l.clone()).unwrap_or_default();
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // ESC [ … m
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// `http://ADDR{path}`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// `kill -9`: no clean stop, nothing told to the cluster.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Registers `username` through `node`; returns the session token.
pub async fn register(node: &Node, username: &str) -> String {
    let r = reqwest::Client::new()
        .post(node.url("/api/v1/auth/register"))
        .json(&json!({"username": username, "password": "correct horse battery"}))
        .send()
        .await
        .expect("register");
    assert!(
        r.status().is_success(),
        "register {username}: {}",
        r.status()
    );
    let body: Value = r.json().await.expect("json");
    body["token"].as_str().expect("token").to_string()
}

/// An authorised request to `node`.
pub async fn call(
    node: &Node,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .request(method, node.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.expect("request")
}

/// A chat client connected to one node.
pub struct Chat {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// History received on join.
    pub history: Vec<aethex_proto::Message>,
}

impl Chat {
    /// Joins `channel` on `node` (`query` appended as is, e.g. `token=…&after=3`).
    pub async fn join(node: &Node, channel: &str, query: &str) -> Chat {
        let url = format!("ws://{}/ws/chat/{channel}?{query}", node.http);
        let (ws, _) = connect_async(&url).await.expect("chat connects");
        let mut chat = Chat {
            ws,
            history: Vec::new(),
        };
        match chat.next().await {
            ServerFrame::Hello { .. } => {}
            other => panic!("expected hello, got {other:?}"),
        }
        match chat.next().await {
            ServerFrame::History { messages } => chat.history = messages,
            other => panic!("expected history, got {other:?}"),
        }
        chat
    }

    /// The next frame (10 s at most).
    pub async fn next(&mut self) -> ServerFrame {
        self.next_within(Duration::from_secs(10)).await
    }

    /// The next frame, waiting at most `limit`.
    pub async fn next_within(&mut self, limit: Duration) -> ServerFrame {
        loop {
            let msg = tokio::time::timeout(limit, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {limit:?}"))
                .expect("socket open")
                .expect("frame");
            if let WsMessage::Text(t) = msg {
                return serde_json::from_str(&t).expect("server frame");
            }
        }
    }

    /// The next frame that is not a viewer count.
    pub async fn next_event(&mut self) -> ServerFrame {
        loop {
            match self.next().await {
                ServerFrame::Viewers { .. } => continue,
                other => return other,
            }
        }
    }

    /// Waits for a `viewers` frame with `count` (20 s at most).
    pub async fn viewers(&mut self, count: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            // A dead node drops out after ~11 s without any frame before.
            let frame = tokio::time::timeout(left, self.next_within(left + Duration::from_secs(1)))
                .await
                .unwrap_or_else(|_| panic!("no viewers={count} frame within 20 s"));
            if frame == (ServerFrame::Viewers { count }) {
                return;
            }
        }
    }

    /// Sends a chat message.
    pub async fn send(&mut self, text: &str) {
        let frame = json!({"type": "send", "text": text}).to_string();
        self.ws
            .send(WsMessage::Text(frame.into()))
            .await
            .expect("send");
    }
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `viewers` field of `GET /api/v1/channels/{name}` on `node`.
pub async fn viewers_on(node: &Node, channel: &str) -> u64 {
    let body: Value = reqwest::get(node.url(&format!("/api/v1/channels/{channel}")))
        .await
        .expect("get channel")
        .json()
        .await
        .expect("json");
    body["viewers"].as_u64().expect("viewers")
}

/// Rotates `channel`'s stream key through `node`; returns it.
pub async fn stream_key(node: &Node, channel: &str, token: &str) -> String {
    let path = format!("/api/v1/channels/{channel}/stream-key");
    let r = call(node, reqwest::Method::POST, &path, token, None).await;
    assert!(r.status().is_success(), "stream key: {}", r.status());
    let v: Value = r.json().await.expect("json");
    v["stream_key"].as_str().expect("stream_key").to_string()
}

/// Whether `GET /api/v1/channels/{channel}` on `node` says live.
pub async fn is_live(node: &Node, channel: &str) -> bool {
    let v: Value = reqwest::get(node.url(&format!("/api/v1/channels/{channel}")))
        .await
        .expect("get channel")
        .json()
        .await
        .expect("json");
    v["live"].as_bool().expect("live")
}

/// ffmpeg publishing a test pattern and tone in real time; killed on drop.
pub struct Publisher(pub Child);

impl Publisher {
    /// Publishes to `rtmp://ADDR/live/{key}`.
    pub fn rtmp(addr: SocketAddr, key: &str) -> Publisher {
        let child = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-re"])
            .args(["-f", "lavfi", "-i", "testsrc=size=320x180:rate=30"])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
            ])
            .args([
                "-g", "15", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
            ])
            .args(["-f", "flv"])
            .arg(format!("rtmp://{addr}/live/{key}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg");
        Publisher(child)
    }

    /// Whether ffmpeg has exited (the server refused or dropped it).
    pub fn exited(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
