//! An S3-compatible object store for tests: crates.io's `s3s-fs` (installed by
//! `scripts/setup`), which keeps objects as plain files under its root — so
//! an outage (stop, restart on the same port) loses nothing — and checks
//! SigV4 signatures with the keys given here. Next to it an nginx serves that
//! root read-only over HTTP: the "CDN" in front of the bucket that
//! `--public-media-url` points at (s3s-fs itself refuses anonymous reads).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::free_port;
use crate::services::wait_for_port;

/// Access key id the server accepts.
pub const ACCESS_KEY: &str = "aethex-test-key";
/// Secret key the server accepts.
pub const SECRET_KEY: &str = "aethex-test-secret";
/// The one bucket.
pub const BUCKET: &str = "media";

/// `s3s-fs` as `scripts/setup` installs it, `$AETHEX_S3S_FS`, or on `PATH`.
fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("AETHEX_S3S_FS") {
        return p.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    let installed = Path::new(&home).join(".cache/aethex/s3s-fs/bin/s3s-fs");
    if installed.exists() {
        installed
    } else {
        "s3s-fs".into()
    }
}

/// A private S3 server (bucket [`BUCKET`]) and its public read-only view;
/// both killed on drop.
pub struct S3 {
    child: Option<Child>,
    cdn: Child,
    /// S3 API port on 127.0.0.1.
    pub port: u16,
    /// Public (nginx) port on 127.0.0.1.
    pub public_port: u16,
    /// The server's root: `{root}/{bucket}/{key}` is each object.
    pub root: PathBuf,
    _dir: tempfile::TempDir,
}

impl S3 {
    /// Starts both on free ports with an empty bucket.
    pub fn start() -> S3 {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("data");
        std::fs::create_dir_all(root.join(BUCKET)).expect("bucket dir");
        let public_port = free_port();
        let cdn = nginx_static(dir.path(), &root, public_port);
        let mut s3 = S3 {
            child: None,
            cdn,
            port: free_port(),
            public_port,
            root,
            _dir: dir,
        };
        s3.restart();
        s3
    }

    /// `http://127.0.0.1:PORT` (the S3 API).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PUBLIC/{bucket}`: where viewers read objects.
    pub fn public_url(&self) -> String {
        format!("http://127.0.0.1:{}/{BUCKET}", self.public_port)
    }

    /// The `aethex-server` flags that use this store.
    pub fn server_args(&self) -> Vec<String> {
        [
            ("--s3-endpoint", self.endpoint()),
            ("--s3-bucket", BUCKET.to_string()),
            ("--s3-access-key", ACCESS_KEY.to_string()),
            ("--s3-secret-key", SECRET_KEY.to_string()),
            ("--public-media-url", self.public_url()),
        ]
        .into_iter()
        .flat_map(|(f, v)| [f.to_string(), v])
        .collect()
    }

    /// Stops the S3 API (an outage; the public view stays).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the S3 API (again) on the same port and root.
    pub fn restart(&mut self) {
        self.stop();
        let bin = binary();
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&self.root)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "start {} (scripts/setup installs s3s-fs): {e}",
                    bin.display()
                )
            });
        self.child = Some(child);
        wait_for_port(self.port, Duration::from_secs(10));
    }

    /// Object names under `prefix` in the bucket, sorted.
    pub fn objects(&self, prefix: &str) -> Vec<String> {
        let bucket = self.root.join(BUCKET);
        let mut out = Vec::new();
        let mut dirs = vec![bucket.clone()];
        while let Some(d) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(rel) = path.strip_prefix(&bucket) {
                    let key = rel.to_string_lossy().to_string();
                    if key.starts_with(prefix) {
                        out.push(key);
                    }
                }
            }
        }
        out.sort();
        out
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        self.stop();
        let _ = self.cdn.kill();
        let _ = self.cdn.wait();
    }
}

/// nginx serving `root` read-only on `port` (prefix `dir`).
fn nginx_static(dir: &Path, root: &Path, port: u16) -> Child {
    std::fs::create_dir_all(dir.join("logs")).expect("logs dir");
    // A worker may run as nobody when the tests run as root.
    for d in [dir, root, &root.join(BUCKET)] {
        let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755));
    }
    let conf = format!(
        "master_process off;\nerror_log logs/error.log error;\npid logs/nginx.pid;\n\
         events {{ worker_connections 256; }}\n\
         http {{ access_log off;\n\
           types {{ video/mp4 m4s mp4; application/vnd.apple.mpegurl m3u8; }}\n\
           server {{ listen 127.0.0.1:{port}; root {root};\n\
             add_header Access-Control-Allow-Origin * always; }} }}\n",
        root = root.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");
    let child = Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .args([
            "-c",
            "nginx.conf",
            "-e",
            "logs/error.log",
            "-g",
            "daemon off;",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx runs (apt install nginx)");
    wait_for_port(port, Duration::from_secs(10));
    child
}
