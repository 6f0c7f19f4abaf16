//! Chat load generator for `scripts/bench/chat.sh`.
//!
//! - `fanout`: N receivers in one channel (optionally spread over several
//!   cluster nodes with `--receivers-at`), one sender at M messages/s; prints
//!   deliveries/s and p50/p99 send→receive latency. Speaks our chat protocol
//!   (`--kind aethex`) or Socket.io over a raw WebSocket (`--kind socketio`:
//!   Engine.IO v4 framing, `42["send",…]` in, `42["message",…]` out).
//! - `persist`: K senders, each in its own channel, keeping W messages in
//!   flight; prints stored messages/s and p99 acknowledgement latency (send →
//!   own stored message back).
//! - `idle`: opens N idle connections, prints `ready`, holds them.
//!
//! Output ends with one `RESULT key=value …` line for the script.
//!
//! Kept cheap so it does not starve the server it measures on a shared
//! machine: receivers are one task per connection without a timer per frame,
//! speaking WebSocket through a minimal parser ([`LeanWs`]) instead of
//! tungstenite (which zeroes its whole free read capacity before every read
//! and allocates a message per frame); latencies go into one shared atomic
//! histogram. It reports its own CPU
//! time (`loadgen_cpu_s`) so the script can show its share.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Args(HashMap<String, String>);

impl Args {
    fn parse() -> (String, Args) {
        let mut it = std::env::args().skip(1);
        let mode = it.next().unwrap_or_default();
        let mut map = HashMap::new();
        while let Some(k) = it.next() {
            let v = it.next().unwrap_or_default();
            map.insert(k.trim_start_matches("--").to_string(), v);
        }
        (mode, Args(map))
    }
    fn get(&self, k: &str, default: &str) -> String {
        self.0
            .get(k)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }
    fn num(&self, k: &str, default: u64) -> u64 {
        self.0
            .get(k)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
}

/// Latency histogram in 10 µs buckets up to 10 s (the last bucket holds
/// everything slower), shared by every receiver task.
struct Histogram(Vec<AtomicU64>);

impl Histogram {
    const BUCKET_US: u64 = 10;
    const BUCKETS: usize = 1_000_000;

    fn new() -> Self {
        Histogram((0..Self::BUCKETS).map(|_| AtomicU64::new(0)).collect())
    }
    fn record(&self, us: u64) {
        let i = ((us / Self::BUCKET_US) as usize).min(Self::BUCKETS - 1);
        self.0[i].fetch_add(1, Ordering::Relaxed);
    }
    /// The `p` quantile in milliseconds (NaN when empty).
    fn quantile_ms(&self, p: f64) -> f64 {
        let counts: Vec<u64> = self.0.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return f64::NAN;
        }
        let rank = ((total as f64 - 1.0) * p).round() as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen > rank {
                return (i as u64 * Self::BUCKET_US + Self::BUCKET_US / 2) as f64 / 1000.0;
            }
        }
        f64::NAN
    }
}

/// One receiver's counts, on its own cache line: a shared counter bumped by
/// every receiver on both cores would bounce between them at every frame.
#[derive(Default)]
#[repr(align(64))]
struct Tally {
    delivered: AtomicU64,
    /// Micros since the epoch of the last delivery.
    last_rx: AtomicU64,
}

fn delivered(tallies: &[Arc<Tally>]) -> u64 {
    tallies
        .iter()
        .map(|t| t.delivered.load(Ordering::Relaxed))
        .sum()
}

/// CPU seconds (user + system) this process has used so far (Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn micros(epoch: Instant) -> u64 {
    epoch.elapsed().as_micros() as u64
}

/// The `t{micros}` stamp in a frame's text, if any.
fn stamp(frame: &str) -> Option<u64> {
    let at = frame.find("\"text\":\"t")? + 9;
    let digits: String = frame[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

async fn register(addr: &str, name: &str) -> anyhow::Result<String> {
    let res: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/auth/register"))
        .json(&json!({"username": name, "password": "benchmark-password"}))
        .send()
        .await?
        .json()
        .await?;
    res["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("register failed: {res}"))
}

async fn connect(kind: &str, addr: &str, channel: &str, token: Option<&str>) -> anyhow::Result<Ws> {
    let url = match (kind, token) {
        ("socketio", _) => format!("ws://{addr}/socket.io/?EIO=4&transport=websocket"),
        (_, Some(t)) => format!("ws://{addr}/ws/chat/{channel}?token={t}"),
        (_, None) => format!("ws://{addr}/ws/chat/{channel}"),
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(&url, Some(config), true).await?;
    if kind == "socketio" {
        // Engine.IO open packet, then join the default namespace and wait
        // for the server to confirm it.
        ws.next().await;
        ws.send(Message::text("40")).await?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.as_str().starts_with("40") => break,
                Some(Ok(_)) => {}
                other => anyhow::bail!("socket.io connect failed: {other:?}"),
            }
        }
    }
    Ok(ws)
}

/// A receiver's connection without tungstenite: the handshake by hand, then
/// a minimal frame parser over one read buffer that is never zeroed (the
/// servers send small unfragmented frames). Both servers are measured with
/// it, so their deliveries cost the generator the same.
struct LeanWs {
    tcp: TcpStream,
    buf: BytesMut,
}

/// What a lean receiver got from one frame.
enum Frame {
    Text(Bytes),
    Ping(Bytes),
    Close,
    Other,
}

impl LeanWs {
    async fn connect(kind: &str, addr: &str, channel: &str) -> anyhow::Result<LeanWs> {
        let path = match kind {
            "socketio" => "/socket.io/?EIO=4&transport=websocket".to_string(),
            _ => format!("/ws/chat/{channel}"),
        };
        let mut tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        tcp.write_all(req.as_bytes()).await?;
        let mut buf = BytesMut::with_capacity(8 * 1024);
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if tcp.read_buf(&mut buf).await? == 0 {
                anyhow::bail!("connection closed during the handshake");
            }
        };
        if !buf.starts_with(b"HTTP/1.1 101") {
            anyhow::bail!(
                "handshake refused: {}",
                String::from_utf8_lossy(&buf[..end])
            );
        }
        let _ = buf.split_to(end);
        let mut ws = LeanWs { tcp, buf };
        if kind == "socketio" {
            // Engine.IO open packet, then join the default namespace and
            // wait for the server to confirm it.
            ws.next().await?;
            ws.send_text(b"40").await?;
            loop {
                match ws.next().await? {
                    Frame::Text(t) if t.starts_with(b"40") => break,
                    Frame::Close => anyhow::bail!("socket.io connect failed"),
                    _ => {}
                }
            }
        }
        Ok(ws)
    }

    /// Sends a masked client frame with opcode `op`.
    async fn send(&mut self, op: u8, payload: &[u8]) -> std::io::Result<()> {
        const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = Vec::with_capacity(payload.len() + 8);
        out.push(0x80 | op);
        if payload.len() < 126 {
            out.push(0x80 | payload.len() as u8);
        } else {
            out.push(0x80 | 126);
            out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(&MASK);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
        self.tcp.write_all(&out).await
    }

    async fn send_text(&mut self, payload: &[u8]) -> std::io::Result<()> {
        self.send(0x1, payload).await
    }

    /// The next whole frame (reads only when the buffer holds none).
    async fn next(&mut self) -> anyhow::Result<Frame> {
        loop {
            if let Some(f) = self.parse() {
                return Ok(f);
            }
            // Reclaims the consumed front of the buffer (frames already
            // handled are dropped), so reads stay large without zeroing.
            self.buf.reserve(4096);
            if self.tcp.read_buf(&mut self.buf).await? == 0 {
                return Ok(Frame::Close);
            }
        }
    }

    fn parse(&mut self) -> Option<Frame> {
        let b = &self.buf;
        if b.len() < 2 {
            return None;
        }
        let (len, head) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => (u64::from_be_bytes(b[2..10].try_into().ok()?) as usize, 10),
            126 | 127 => return None,
            n => (n as usize, 2),
        };
        if b.len() < head + len {
            self.buf.reserve(head + len - b.len());
            return None;
        }
        let op = b[0] & 0x0f;
        let mut frame = self.buf.split_to(head + len);
        let payload = frame.split_off(head).freeze();
        Some(match op {
            0x1 => Frame::Text(payload),
            0x8 => Frame::Close,
            0x9 => Frame::Ping(payload),
            _ => Frame::Other,
        })
    }
}

async fn connect_lean(
    kind: &str,
    addr: &str,
    channel: &str,
    n: usize,
) -> anyhow::Result<Vec<LeanWs>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n.div_ceil(100) {
        let batch = (n - out.len()).min(100);
        let conns = futures_util::future::join_all((0..batch).map(|_| async {
            // A server busy accepting thousands of sockets may refuse a
            // few; try again like a browser would.
            let mut tries = 0;
            loop {
                match LeanWs::connect(kind, addr, channel).await {
                    Err(e) if tries < 5 => {
                        tries += 1;
                        eprintln!("connect failed ({e}), retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    other => return other,
                }
            }
        }))
        .await;
        for c in conns {
            out.push(c?);
        }
    }
    Ok(out)
}

fn send_frame(kind: &str, text: &str) -> Message {
    if kind == "socketio" {
        Message::text(format!("42{}", json!(["send", {"text": text}])))
    } else {
        Message::text(json!({"type": "send", "text": text}).to_string())
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

async fn connect_many(kind: &str, addr: &str, channel: &str, n: usize) -> anyhow::Result<Vec<Ws>> {
    let mut out = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let conns = futures_util::future::join_all(
            chunk.iter().map(|_| connect(kind, addr, channel, None)),
        )
        .await;
        for c in conns {
            out.push(c?);
        }
    }
    Ok(out)
}

async fn fanout(a: &Args) -> anyhow::Result<()> {
    let kind = a.get("kind", "aethex");
    let addr = a.get("addr", "127.0.0.1:8080");
    let clients = a.num("clients", 1000) as usize;
    let rate = a.num("rate", 20).max(1);
    let seconds = a.num("seconds", 10);
    let owner = format!("bench{}", std::process::id() % 100_000);
    let token = if kind == "aethex" {
        Some(register(&addr, &owner).await?)
    } else {
        None
    };
    // Receivers spread round-robin over `--receivers-at a,b,c` (other nodes
    // of a cluster), else all on `--addr`; the sender always uses `--addr`.
    let at = a.get("receivers-at", &addr);
    let nodes: Vec<&str> = at.split(',').filter(|s| !s.is_empty()).collect();
    let mut receivers = Vec::with_capacity(clients);
    for (i, node) in nodes.iter().enumerate() {
        let share = clients / nodes.len() + usize::from(i < clients % nodes.len());
        receivers.extend(connect_lean(&kind, node, &owner, share).await?);
    }
    eprintln!(
        "{kind}: {clients} receivers connected over {} node(s)",
        nodes.len()
    );
    let epoch = Instant::now();
    let hist = Arc::new(Histogram::new());
    let dropped = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let mut tallies = Vec::new();
    for mut ws in receivers {
        let tally = Arc::new(Tally::default());
        tallies.push(tally.clone());
        let (hist, dropped) = (hist.clone(), dropped.clone());
        // Runs until aborted at the end of the measurement.
        tasks.push(tokio::spawn(async move {
            loop {
                match ws.next().await {
                    Ok(Frame::Text(t)) => {
                        if &t[..] == b"2" {
                            // Engine.IO ping: answer, as a browser would.
                            let _ = ws.send_text(b"3").await;
                        } else if let Some(s) = std::str::from_utf8(&t).ok().and_then(stamp) {
                            let now = micros(epoch);
                            hist.record(now.saturating_sub(s));
                            // Only this task writes its tally.
                            let n = tally.delivered.load(Ordering::Relaxed);
                            tally.delivered.store(n + 1, Ordering::Relaxed);
                            tally.last_rx.store(now, Ordering::Relaxed);
                        }
                    }
                    Ok(Frame::Ping(p)) => {
                        let _ = ws.send(0xA, &p).await;
                    }
                    Ok(Frame::Other) => {}
                    Ok(Frame::Close) | Err(_) => {
                        dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
        }));
    }
    let cpu_before = cpu_seconds();
    let sender = connect(&kind, &addr, &owner, token.as_deref()).await?;
    let total = rate * seconds;
    let (mut sink, mut stream) = sender.split();
    // Warm up (connections settled, statements prepared) without measuring.
    for i in 0..5 {
        sink.send(send_frame(&kind, &format!("warmup {i}"))).await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let first_send = micros(epoch);
    // Drain the sender's own copies (runs are shorter than Engine.IO's ping
    // interval, so no pongs are needed here).
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    for i in 0..total {
        tick.tick().await;
        let text = format!("t{} {i}", micros(epoch));
        sink.send(send_frame(&kind, &text)).await?;
    }
    // Wait until deliveries stop growing (or 10 s).
    let mut prev = u64::MAX;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = delivered(&tallies);
        if now == prev || now >= total * clients as u64 {
            break;
        }
        prev = now;
    }
    let cpu = cpu_seconds() - cpu_before;
    for t in &tasks {
        t.abort();
    }
    drain.abort();
    let n = delivered(&tallies);
    let last_rx = tallies
        .iter()
        .map(|t| t.last_rx.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let span = (last_rx.saturating_sub(first_send)).max(1) as f64 / 1e6;
    println!(
        "RESULT kind={kind} clients={clients} rate={rate} sent={total} expected={} delivered={n} dropped_clients={} deliveries_per_s={:.0} p50_ms={:.2} p99_ms={:.2} loadgen_cpu_s={cpu:.2} span_s={span:.2}",
        total * clients as u64,
        dropped.load(Ordering::Relaxed),
        n as f64 / span,
        hist.quantile_ms(0.5),
        hist.quantile_ms(0.99),
    );
    Ok(())
}

async fn persist(a: &Args) -> anyhow::Result<()> {
    let addr = a.get("addr", "127.0.0.1:8080");
    let senders = a.num("senders", 8) as usize;
    let window = a.num("window", 256) as usize;
    let seconds = a.num("seconds", 10);
    let epoch = Instant::now();
    let mut handles = Vec::new();
    let stop_at = Duration::from_secs(seconds);
    for s in 0..senders {
        let name = format!("p{}x{s}", std::process::id() % 100_000);
        let token = register(&addr, &name).await?;
        let ws = connect("aethex", &addr, &name, Some(&token)).await?;
        handles.push(tokio::spawn(async move {
            let (mut sink, mut stream) = ws.split();
            let mut lat = Vec::new();
            let mut in_flight = 0usize;
            let mut sent = 0u64;
            let start = Instant::now();
            loop {
                while in_flight < window && start.elapsed() < stop_at {
                    let text = format!("t{} {sent}", micros(epoch));
                    if sink.send(send_frame("aethex", &text)).await.is_err() {
                        return lat;
                    }
                    in_flight += 1;
                    sent += 1;
                }
                if in_flight == 0 {
                    return lat;
                }
                match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => {
                        if let Some(s) = stamp(t.as_str()) {
                            lat.push(micros(epoch).saturating_sub(s));
                            in_flight -= 1;
                        } else if t.as_str().contains("\"error\"") {
                            eprintln!("refused: {}", t.as_str());
                            in_flight -= 1;
                        }
                    }
                    Ok(Some(Ok(_))) => {}
                    _ => return lat,
                }
            }
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await?);
    }
    let span = epoch.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "RESULT senders={senders} window={window} stored={} stored_per_s={:.0} p50_ack_ms={:.2} p99_ack_ms={:.2}",
        all.len(),
        all.len() as f64 / span,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
    );
    Ok(())
}

async fn idle(a: &Args) -> anyhow::Result<()> {
    let addr = a.get("addr", "127.0.0.1:8080");
    let channel = a.get("channel", "nobody");
    let clients = a.num("clients", 1000) as usize;
    let hold = a.num("hold", 10);
    let conns = connect_many("aethex", &addr, &channel, clients).await?;
    println!("ready {}", conns.len());
    tokio::time::sleep(Duration::from_secs(hold)).await;
    drop(conns);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (mode, args) = Args::parse();
    match mode.as_str() {
        "fanout" => fanout(&args).await,
        "persist" => persist(&args).await,
        "idle" => idle(&args).await,
        _ => anyhow::bail!("usage: chat_load fanout|persist|idle --key value …"),
    }
}
