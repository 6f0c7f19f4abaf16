//! The real `aethex-server` binary as a child process: started with chosen
//! flags and environment, addresses read from its `listening` line.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running `aethex-server`; killed on drop.
pub struct ServerProcess {
    child: Child,
    /// HTTP address from the `listening` line.
    pub http: SocketAddr,
    /// RTMP address.
    pub rtmp: SocketAddr,
    /// SRT address, when on.
    pub srt: Option<SocketAddr>,
    stderr: Arc<Mutex<String>>,
}

/// The binary under test.
pub fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aethex-server"));
    // Nothing from the caller's environment or /etc leaks into a test.
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info,sqlx=warn")
        .env("HOME", std::env::temp_dir());
    cmd
}

impl ServerProcess {
    /// Spawns `cmd` and waits for its `listening` line; `Err(stderr)` when it
    /// exits (or stays silent for 30 s) instead.
    pub fn start(mut cmd: Command) -> Result<Self, String> {
        let mut child = cmd
            .stdin(Stdio::null())
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
        let log = Arc::new(Mutex::new(String::new()));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[server] {line}");
                let mut all = sink.lock().unwrap_or_else(|p| p.into_inner());
                all.push_str(&line);
                all.push('\n');
            }
            let _ = done_tx.send(());
        });
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = done_rx.recv_timeout(Duration::from_secs(5));
            return Err(log.lock().unwrap_or_else(|p| p.into_inner()).clone());
        };
        let addr = |key: &str| -> Option<SocketAddr> {
            line.split_whitespace()
                .find_map(|p| p.strip_prefix(key))
                .and_then(|a| a.parse().ok())
        };
        Ok(ServerProcess {
            http: addr("http=").expect("http= on the listening line"),
            rtmp: addr("rtmp=").expect("rtmp= on the listening line"),
            srt: addr("srt="),
            child,
            stderr: log,
        })
    }

    /// `http://ADDR{path}`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// SIGTERM, then the exit status (within 20 s).
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("server did not exit within 20 s of SIGTERM");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary serving `data` on random local ports (panics if it does not start).
pub fn start_on(data: &std::path::Path) -> ServerProcess {
    let mut cmd = command();
    cmd.args([
        "--http",
        "127.0.0.1:0",
        "--rtmp",
        "127.0.0.1:0",
        "--data-dir",
    ])
    .arg(data);
    ServerProcess::start(cmd).unwrap_or_else(|e| panic!("server did not start: {e}"))
}

/// Runs the binary to completion: (status, stdout, stderr).
pub fn run(mut cmd: Command) -> (ExitStatus, String, String) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .expect("run aethex-server");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
