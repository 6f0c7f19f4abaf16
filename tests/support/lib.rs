//! Test support for cross-process journeys: start the real `aethex-server`
//! binary on port 0 and learn its addresses from the `listening …` line.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// Path of a binary built from this workspace (same target dir as the tests).
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/test-hash -> target/debug/name
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    dir.join(name)
}

/// A running `aethex-server` child process; killed on drop.
pub struct ServerProcess {
    /// The child.
    pub child: Child,
    /// Bound HTTP address.
    pub http: SocketAddr,
    /// Bound RTMP address.
    pub rtmp: SocketAddr,
    /// SRT listener address, when started with `--srt`.
    pub srt: Option<SocketAddr>,
    /// Data dir (kept alive for the process's life).
    pub data_dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts the server binary with ports 0 and a fresh data dir.
    pub fn start(extra_args: &[&str]) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let bin = workspace_bin("aethex-server");
        if !bin.exists() {
            bail!(
                "{} missing: run `cargo build -p aethex-server` first",
                bin.display()
            );
        }
        let mut child = Command::new(&bin)
            .args([
                "--http",
                "127.0.0.1:0",
                "--rtmp",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(data_dir.path())
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("spawn {}", bin.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("listening ") {
                    let _ = tx.send(line);
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .context("server did not print its `listening` line within 30 s")?;
        let (http, rtmp) = parse_listening(&line)?;
        let srt = line
            .split_whitespace()
            .find_map(|p| p.strip_prefix("srt="))
            .map(str::parse)
            .transpose()?;
        Ok(ServerProcess {
            child,
            http,
            rtmp,
            srt,
            data_dir,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("server did not exit within 10 s of SIGTERM")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses `listening http=ADDR rtmp=ADDR [srt=ADDR]` (the HTTP and RTMP parts).
pub fn parse_listening(line: &str) -> anyhow::Result<(SocketAddr, SocketAddr)> {
    let mut http = None;
    let mut rtmp = None;
    for part in line.split_whitespace() {
        if let Some(v) = part.strip_prefix("http=") {
            http = Some(v.parse()?);
        } else if let Some(v) = part.strip_prefix("rtmp=") {
            rtmp = Some(v.parse()?);
        }
    }
    Ok((http.context("no http=")?, rtmp.context("no rtmp=")?))
}
