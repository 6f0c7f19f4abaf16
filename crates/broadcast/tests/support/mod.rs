//! Real peers for the engine tests: nginx with the RTMP module, ffprobe, Xvfb.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aethex_broadcast::{OutputState, OutputStats, StatsEvent};
use tokio::sync::broadcast;

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// nginx with libnginx-mod-rtmp on 127.0.0.1:`port`, recording every stream to FLV files.
/// Application `live` accepts any key; application `locked` refuses every publish.
pub struct Nginx {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
    _temp: Option<tempfile::TempDir>,
}

impl Nginx {
    /// Starts nginx on a random port in a fresh temporary prefix.
    pub fn start() -> Self {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().to_path_buf();
        let mut n = Self {
            port: free_port(),
            dir,
            child: None,
            _temp: Some(temp),
        };
        n.restart();
        n
    }

    /// Config for a stopped receiver on a known port (start it later with `restart`).
    pub fn not_started(port: u16) -> Self {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().to_path_buf();
        Self {
            port,
            dir,
            child: None,
            _temp: Some(temp),
        }
    }

    /// Starts (again) on the same port and prefix; waits until it accepts connections.
    pub fn restart(&mut self) {
        let rec = self.dir.join("rec");
        std::fs::create_dir_all(self.dir.join("logs")).expect("logs dir");
        std::fs::create_dir_all(&rec).expect("rec dir");
        // nginx workers run as nobody when the tests run as root.
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let conf = format!(
            "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;\n\
             master_process off;\nerror_log logs/error.log;\npid logs/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             rtmp {{ server {{ listen 127.0.0.1:{port};\n\
               application live {{ live on; record all; record_path {rec}; record_unique on; }}\n\
               application locked {{ live on; deny publish all; }}\n\
             }} }}\n",
            port = self.port,
            rec = rec.display()
        );
        std::fs::write(self.dir.join("nginx.conf"), conf).expect("write conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&self.dir)
            .args(["-c", "nginx.conf", "-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx runs (apt install nginx libnginx-mod-rtmp)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILLs nginx (a receiver crash).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `rtmp://127.0.0.1:PORT/live/KEY`
    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.port)
    }

    /// FLV files nginx recorded, oldest first.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("rec"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What ffprobe sees in a media file.
#[derive(Debug)]
pub struct Probe {
    pub codecs: Vec<String>,
    pub video_packets: usize,
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
    let out = Command::new("ffprobe")
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
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe cannot read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // MPEG-TS lists its streams twice (per program and overall): keep each codec once.
    let mut codecs: Vec<String> = Vec::new();
    for c in String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_matches(',').trim())
    {
        if !c.is_empty() && !codecs.iter().any(|k| k == c) {
            codecs.push(c.to_string());
        }
    }
    let duration = Command::new("ffprobe")
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
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok());
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

/// Waits for a stats event matching `pred`; panics with the last event after `timeout`.
pub async fn wait_stats(
    rx: &mut broadcast::Receiver<StatsEvent>,
    timeout: Duration,
    what: &str,
    pred: impl Fn(&StatsEvent) -> bool,
) -> StatsEvent {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = None;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) => {
                if pred(&e) {
                    return e;
                }
                last = Some(e);
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(broadcast::error::RecvError::Closed)) => {
                panic!("stats closed while waiting for {what}")
            }
            Err(_) => {
                panic!("timed out after {timeout:?} waiting for {what}; last stats: {last:#?}")
            }
        }
    }
}

/// The stats of the output called `name`.
pub fn output<'a>(e: &'a StatsEvent, name: &str) -> &'a OutputStats {
    e.outputs
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no output {name} in {e:#?}"))
}

/// Whether output `name` is in `state`.
pub fn is(e: &StatsEvent, name: &str, state: OutputState) -> bool {
    e.outputs.iter().any(|o| o.name == name && o.state == state)
}

/// A private X server for screen-capture tests, if `Xvfb` is installed.
pub struct Xvfb {
    pub display: String,
    child: Child,
}

impl Xvfb {
    pub fn start() -> Option<Self> {
        for n in 90..110 {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                || Path::new(&format!("/tmp/.X{n}-lock")).exists()
            {
                continue;
            }
            let display = format!(":{n}");
            let child = Command::new("Xvfb")
                .args([
                    display.as_str(),
                    "-screen",
                    "0",
                    "1280x720x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                    return Some(Self { display, child });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            return None;
        }
        None
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
