//! Servers for cluster tests, each started on a free port in its own temp dir
//! and stopped on drop: Debian's `redis-server`.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// A private `redis-server` (no persistence); killed on drop.
pub struct Redis {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts `redis-server` on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let child = Redis::spawn(port, dir.path());
        wait_for_port(port, Duration::from_secs(10));
        Redis {
            child,
            port,
            _dir: dir,
        }
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server (an outage); [`Redis::restart`] brings it back on the same port.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port (empty: Redis holds no state we keep).
    pub fn restart(&mut self) {
        self.stop();
        self.child = Redis::spawn(self.port, self._dir.path());
        wait_for_port(self.port, Duration::from_secs(10));
    }

    fn spawn(port: u16, dir: &Path) -> Child {
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start redis-server (Debian package redis-server: scripts/setup)")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16, limit: Duration) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < limit,
            "nothing listened on port {port} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A private HAProxy in TCP mode (RTMP through a balancer); killed on drop.
pub struct Haproxy {
    child: Child,
    /// Its listening port on 127.0.0.1.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// Balances TCP connections over `backends` (`host:port`), sending each
    /// new connection to the first healthy one (health-checked every 300 ms),
    /// as the docs' RTMP configuration does.
    pub fn tcp(backends: &[String]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let servers: String = backends
            .iter()
            .enumerate()
            .map(|(i, b)| format!("  server n{i} {b} check inter 300 fall 1 rise 1\n"))
            .collect();
        let config = format!(
            "global\n  maxconn 4096\ndefaults\n  mode tcp\n  timeout connect 1s\n  \
             timeout client 60s\n  timeout server 60s\n\
             frontend rtmp\n  bind 127.0.0.1:{port}\n  default_backend nodes\n\
             backend nodes\n  balance first\n  option redispatch\n  retries 2\n{servers}"
        );
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, config).expect("write haproxy.cfg");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start haproxy (Debian package haproxy: scripts/setup)");
        wait_for_port(port, Duration::from_secs(10));
        Haproxy {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
