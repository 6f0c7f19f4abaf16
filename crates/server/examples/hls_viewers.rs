//! LL-HLS viewer load generator for `scripts/bench/viewers.sh`.
//!
//! Simulates N players following a live stream the way hls.js does in
//! low-latency mode: one plain playlist request, then forever a blocking
//! reload for the hinted next part (`_HLS_msn`/`_HLS_part`) followed by a GET
//! of that part. Each viewer has its own keep-alive connection.
//!
//! Measured on the client side only (no server timestamps):
//! - `part`: part request → last body byte (the media fetch);
//! - `spread`: for each part, when a viewer's blocking reload returned minus
//!   when the first viewer's did — how long the server takes to get a new
//!   part's playlist to every waiting player;
//! - errors (non-200, broken connections, timeouts) by kind.
//!
//! Usage: `hls_viewers --url http://HOST:PORT/hls/CH/index.m3u8 --viewers N
//! --duration S --ramp S`. Output ends with one `RESULT key=value …` line.
//!
//! Kept cheap so it does not starve the server it measures on a shared
//! machine: a minimal HTTP/1.1 client (GET, `Content-Length` bodies only)
//! instead of a general one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive HTTP/1.1 connection to `host`.
struct Conn {
    host: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    fn new(host: &str) -> Conn {
        Conn {
            host: host.to_string(),
            stream: None,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// GETs `path`; `Ok((status, body))`, reconnecting once if the kept
    /// connection was closed.
    async fn get(&mut self, path: &str) -> Result<(u16, Vec<u8>), String> {
        for attempt in 0..2 {
            if self.stream.is_none() {
                let s = TcpStream::connect(&self.host)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                let _ = s.set_nodelay(true);
                self.stream = Some(s);
            }
            match self.try_get(path).await {
                Ok(r) => return Ok(r),
                Err(e) => {
                    self.stream = None;
                    if attempt == 1 {
                        return Err(e);
                    }
                }
            }
        }
        Err("unreachable".into())
    }

    async fn try_get(&mut self, path: &str) -> Result<(u16, Vec<u8>), String> {
        let stream = self.stream.as_mut().ok_or("no connection")?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.host);
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| format!("write: {e}"))?;
        self.buf.clear();
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("closed".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).to_ascii_lowercase();
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("bad status line")?;
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or("no content-length")?;
        let mut body = self.buf[head_end..].to_vec();
        while body.len() < len {
            let mut chunk = vec![0u8; (len - body.len()).min(256 * 1024)];
            let n = stream
                .read(&mut chunk)
                .await
                .map_err(|e| format!("read body: {e}"))?;
            if n == 0 {
                return Err("closed in body".into());
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(len);
        if head.contains("connection: close") {
            self.stream = None;
        }
        Ok((status, body))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `(prefix, msn, part)` of the playlist's preload hint
/// (`{prefix}_{msn}_p{part}.m4s`).
fn hint(playlist: &str) -> Option<(String, u64, u32)> {
    let uri = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""))?
        .strip_suffix('"')?;
    let stem = uri.strip_suffix(".m4s")?;
    let (rest, part) = stem.rsplit_once("_p")?;
    let (prefix, msn) = rest.rsplit_once('_')?;
    Some((prefix.to_string(), msn.parse().ok()?, part.parse().ok()?))
}

#[derive(Default)]
struct Stats {
    /// Part fetch latencies, µs.
    parts: Mutex<Vec<u64>>,
    /// When each part's blocking reload returned, µs since start, per viewer.
    arrivals: Mutex<HashMap<(u64, u32), Vec<u64>>>,
    errors: Mutex<HashMap<String, u64>>,
    requests: AtomicU64,
}

impl Stats {
    fn error(&self, kind: String) {
        *self
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_default() += 1;
    }
}

async fn viewer(url: Arc<(String, String)>, start: Instant, end: Instant, stats: Arc<Stats>) {
    let (host, path) = (&url.0, &url.1);
    let base = path.rsplit_once('/').map_or("", |(b, _)| b).to_string();
    let mut conn = Conn::new(host);
    let mut next = None;
    while Instant::now() < end {
        let Some((prefix, msn, part)) = next.clone() else {
            match conn.get(path).await {
                Ok((200, body)) => next = hint(&String::from_utf8_lossy(&body)),
                Ok((status, _)) => stats.error(format!("playlist {status}")),
                Err(e) => stats.error(e),
            }
            if next.is_none() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            continue;
        };
        let reload = format!("{path}?_HLS_msn={msn}&_HLS_part={part}");
        stats.requests.fetch_add(1, Ordering::Relaxed);
        let text = match conn.get(&reload).await {
            Ok((200, body)) => String::from_utf8_lossy(&body).to_string(),
            Ok((status, _)) => {
                stats.error(format!("reload {status}"));
                next = None;
                continue;
            }
            Err(e) => {
                stats.error(e);
                next = None;
                continue;
            }
        };
        let arrived = start.elapsed().as_micros() as u64;
        stats
            .arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((msn, part))
            .or_default()
            .push(arrived);
        let t = Instant::now();
        stats.requests.fetch_add(1, Ordering::Relaxed);
        match conn
            .get(&format!("{base}/{prefix}_{msn:05}_p{part}.m4s"))
            .await
        {
            Ok((200, body)) if !body.is_empty() => stats
                .parts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(t.elapsed().as_micros() as u64),
            Ok((status, _)) => stats.error(format!("part {status}")),
            Err(e) => stats.error(e),
        }
        next = hint(&text);
    }
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)] as f64 / 1000.0
}

fn arg(args: &[String], key: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == key)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = arg(&args, "--url", "");
    let viewers: usize = arg(&args, "--viewers", "1000").parse().unwrap_or(1000);
    let duration: u64 = arg(&args, "--duration", "30").parse().unwrap_or(30);
    let ramp: u64 = arg(&args, "--ramp", "5").parse().unwrap_or(5);
    let Some(rest) = url.strip_prefix("http://") else {
        eprintln!("--url http://HOST:PORT/hls/CHANNEL/index.m3u8");
        std::process::exit(2);
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let target = Arc::new((host.to_string(), format!("/{path}")));
    let stats = Arc::new(Stats::default());
    let start = Instant::now();
    let end = start + Duration::from_secs(ramp + duration);
    let mut tasks = Vec::with_capacity(viewers);
    for i in 0..viewers {
        let delay = Duration::from_micros(ramp * 1_000_000 * i as u64 / viewers.max(1) as u64);
        let (target, stats) = (target.clone(), stats.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            viewer(target, start, end, stats).await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    // Only parts after the ramp count: every viewer is following by then.
    let steady = ramp * 1_000_000;
    let mut spread = Vec::new();
    let mut full_parts = 0;
    for arrivals in stats
        .arrivals
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
    {
        let first = arrivals.iter().copied().min().unwrap_or(0);
        if first < steady {
            continue;
        }
        if arrivals.len() * 10 >= viewers * 9 {
            full_parts += 1;
        }
        spread.extend(arrivals.iter().map(|a| a - first));
    }
    spread.sort_unstable();
    let mut parts = stats
        .parts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    parts.sort_unstable();
    let errors: u64 = stats
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .sum();
    for (kind, n) in stats
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        eprintln!("error {kind}: {n}");
    }
    println!(
        "RESULT viewers={viewers} requests={} errors={errors} parts_fetched={} \
         part_p50_ms={:.1} part_p99_ms={:.1} part_max_ms={:.1} \
         spread_p50_ms={:.1} spread_p99_ms={:.1} spread_max_ms={:.1} parts_seen_by_90pct={full_parts}",
        stats.requests.load(Ordering::Relaxed),
        parts.len(),
        quantile(&parts, 0.5),
        quantile(&parts, 0.99),
        quantile(&parts, 1.0),
        quantile(&spread, 0.5),
        quantile(&spread, 0.99),
        quantile(&spread, 1.0),
    );
}
