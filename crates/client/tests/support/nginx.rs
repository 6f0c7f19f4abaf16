//! A real third-party RTMP server: nginx with libnginx-mod-rtmp, refusing
//! every publish whose stream name is not the accepted key (its `on_publish`
//! HTTP hook, answered by a small responder in the test) and recording what
//! it receives as FLV.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of the RTMP module on Debian.
const MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// A running nginx-rtmp; killed when dropped.
pub struct NginxRtmp {
    /// RTMP port.
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl NginxRtmp {
    /// Starts nginx in `dir`, accepting publishes to `live/{accepted_key}` only.
    pub fn start(dir: &Path, accepted_key: &str) -> NginxRtmp {
        assert!(
            Path::new(MODULE).exists(),
            "{MODULE} missing: install libnginx-mod-rtmp"
        );
        std::fs::create_dir_all(dir.join("rec")).expect("rec dir");
        let port = free_port();
        let http = publish_hook(accepted_key);
        let d = dir.display();
        let conf = format!(
            r#"load_module {MODULE};
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{}}
rtmp {{
  server {{
    listen 127.0.0.1:{port};
    application live {{
      live on;
      on_publish http://127.0.0.1:{http}/auth;
      record all;
      record_path {d}/rec;
      record_unique off;
    }}
  }}
}}
"#
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx runs (apt install nginx libnginx-mod-rtmp)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        NginxRtmp {
            port,
            dir: dir.to_path_buf(),
            child,
        }
    }

    /// `rtmp://127.0.0.1:PORT/live`.
    pub fn base(&self) -> String {
        format!("rtmp://127.0.0.1:{}/live", self.port)
    }

    /// The FLV nginx recorded for a stream name.
    pub fn recording(&self, name: &str) -> PathBuf {
        self.dir.join("rec").join(format!("{name}.flv"))
    }
}

impl Drop for NginxRtmp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Answers nginx-rtmp's `on_publish` POST (form body with `name=…`): 204
/// for the accepted key, 403 otherwise. Returns the port.
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

/// Duration in seconds of a media file, by ffprobe.
pub fn probe_duration(path: &Path) -> Option<f64> {
    let out = Command::new("ffprobe")
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
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Stream codec names in a media file, by ffprobe.
pub fn probe_codecs(path: &Path) -> Vec<String> {
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
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}
