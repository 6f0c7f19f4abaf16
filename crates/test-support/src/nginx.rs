//! nginx with libnginx-mod-rtmp: a real third-party RTMP server that records what it
//! receives as FLV.
//!
//! Application `live` accepts every key ([`Nginx::start`]) or only one
//! ([`Nginx::accepting_only`], through nginx-rtmp's `on_publish` HTTP hook answered by a
//! small responder here); application `locked` refuses every publish.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of the RTMP module on Debian.
const MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// A running (or stopped, see [`Nginx::not_started`]) nginx-rtmp; killed when dropped.
pub struct Nginx {
    /// RTMP port on 127.0.0.1.
    pub port: u16,
    /// Prefix directory: config, logs, `rec/` with the recordings.
    pub dir: PathBuf,
    hook_port: Option<u16>,
    child: Option<Child>,
    _temp: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx on a free port in a fresh temporary prefix; `live` accepts any key.
    pub fn start() -> Nginx {
        let mut n = Nginx::not_started(crate::free_port());
        n.restart();
        n
    }

    /// Starts nginx whose `live` application refuses every stream key but `key`.
    pub fn accepting_only(key: &str) -> Nginx {
        let mut n = Nginx::not_started(crate::free_port());
        n.hook_port = Some(publish_hook(key));
        n.restart();
        n
    }

    /// A receiver configured for `port` but not running yet (start it with
    /// [`Nginx::restart`]): a destination that is down when the broadcast starts.
    pub fn not_started(port: u16) -> Nginx {
        let temp = tempfile::tempdir().expect("tempdir");
        Nginx {
            port,
            dir: temp.path().to_path_buf(),
            hook_port: None,
            child: None,
            _temp: temp,
        }
    }

    /// Starts (again) on the same port and prefix; waits until it accepts connections.
    pub fn restart(&mut self) {
        assert!(
            Path::new(MODULE).exists(),
            "{MODULE} missing: install libnginx-mod-rtmp"
        );
        let rec = self.dir.join("rec");
        std::fs::create_dir_all(self.dir.join("logs")).expect("logs dir");
        std::fs::create_dir_all(&rec).expect("rec dir");
        // nginx workers run as nobody when the tests run as root.
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(&rec, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let hook = self
            .hook_port
            .map(|p| format!("on_publish http://127.0.0.1:{p}/auth;"))
            .unwrap_or_default();
        let conf = format!(
            "load_module {MODULE};\n\
             master_process off;\nerror_log logs/error.log info;\npid logs/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             rtmp {{ server {{ listen 127.0.0.1:{port};\n\
               application live {{ live on; {hook} record all; record_path {rec}; record_unique on; }}\n\
               application locked {{ live on; deny publish all; }}\n\
             }} }}\n",
            port = self.port,
            rec = rec.display()
        );
        std::fs::write(self.dir.join("nginx.conf"), conf).expect("write nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&self.dir)
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
            .expect("nginx runs (apt install nginx libnginx-mod-rtmp)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
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

    /// `rtmp://127.0.0.1:PORT/live`
    pub fn base(&self) -> String {
        format!("rtmp://127.0.0.1:{}/live", self.port)
    }

    /// `rtmp://127.0.0.1:PORT/live/KEY`
    pub fn url(&self, key: &str) -> String {
        format!("{}/{key}", self.base())
    }

    /// FLV files nginx recorded, oldest first.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("rec"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// The newest FLV recorded for stream `name` (`rec/NAME-….flv`); a path that does
    /// not exist when nothing was recorded.
    pub fn recording(&self, name: &str) -> PathBuf {
        let prefix = format!("{name}-");
        self.recordings()
            .into_iter()
            .rfind(|p| {
                p.file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with(&prefix))
            })
            .unwrap_or_else(|| self.dir.join("rec").join(format!("{name}.flv")))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Answers nginx-rtmp's `on_publish` POST (form body with `name=…`): 204 for the
/// accepted key, 403 otherwise. Returns the port.
fn publish_hook(accepted_key: &str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind hook");
    let port = listener.local_addr().expect("addr").port();
    let wanted = format!("name={accepted_key}");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            // Read headers and the (small) body; nginx sends Content-Length.
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&req);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            let text = String::from_utf8_lossy(&req);
            let ok = text
                .split_once("\r\n\r\n")
                .is_some_and(|(_, body)| body.split('&').any(|kv| kv == wanted));
            let status = if ok {
                "204 No Content"
            } else {
                "403 Forbidden"
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    port
}
