//! nginx in front of a cluster, configured by the repository's own
//! `deploy/nginx/aethex-cdn.conf` (an HTTP cache as a CDN edge would be) and
//! `deploy/nginx/aethex-ingest.conf` (RTMP over TCP and SRT over UDP through
//! the `stream` module). Only the node addresses, the listening ports and the
//! cache directory are swapped, so the files operators copy are the files
//! the tests run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::free_port;
use crate::services::wait_for_port;

/// Debian's dynamic `stream` module (package libnginx-mod-stream).
const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";

/// The repository's `deploy/nginx/NAME`.
fn deploy_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/nginx")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Replaces the `server` lines of `upstream NAME { … }` in `conf` by one per
/// address in `servers`, each keeping the parameters of the file's first line
/// (`max_fails=…` and the like).
pub fn with_upstream(conf: &str, name: &str, servers: &[String]) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    let mut written = false;
    for line in conf.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with(&format!("upstream {name} ")) {
            inside = true;
        } else if inside && trimmed == "}" {
            inside = false;
        } else if inside && let Some(rest) = trimmed.strip_prefix("server ") {
            if !written {
                let params = rest.split_once(' ').map_or(";", |(_, p)| p);
                let params = params.trim_end_matches(';');
                for s in servers {
                    out.push(format!("    server {s} {params};").replace(" ;", ";"));
                }
                written = true;
            }
            continue;
        }
        out.push(line.to_string());
    }
    assert!(written, "upstream {name} with server lines in the config");
    out.join("\n")
}

/// A private nginx running the deploy configurations; killed on drop.
pub struct NginxFront {
    child: Child,
    /// HTTP port (the CDN edge) on 127.0.0.1.
    pub http_port: u16,
    /// RTMP (TCP) ingest port on 127.0.0.1.
    pub rtmp_port: u16,
    /// SRT (UDP) ingest port on 127.0.0.1.
    pub srt_port: u16,
    /// Prefix directory (config, logs, cache).
    pub dir: PathBuf,
    _temp: tempfile::TempDir,
}

impl NginxFront {
    /// nginx in front of the nodes: `http` (HTTP `host:port` of every node),
    /// `rtmp` and `srt` (their ingest addresses; SRT may be empty).
    pub fn start(http: &[String], rtmp: &[String], srt: &[String]) -> NginxFront {
        assert!(
            Path::new(STREAM_MODULE).exists(),
            "{STREAM_MODULE} missing: install libnginx-mod-stream (scripts/setup)"
        );
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().to_path_buf();
        std::fs::create_dir_all(dir.join("logs")).expect("logs dir");
        let (http_port, rtmp_port) = (free_port(), free_port());
        let srt_port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port())
            .expect("free udp port");
        let cdn = with_upstream(&deploy_file("aethex-cdn.conf"), "aethex_nodes", http)
            .replace("listen 80;", &format!("listen 127.0.0.1:{http_port};"))
            .replace(
                "/var/cache/nginx/aethex",
                &dir.join("cache").display().to_string(),
            );
        let mut ingest = with_upstream(&deploy_file("aethex-ingest.conf"), "aethex_rtmp", rtmp)
            .replace("listen 1935;", &format!("listen 127.0.0.1:{rtmp_port};"))
            .replace(
                "listen 9000 udp;",
                &format!("listen 127.0.0.1:{srt_port} udp;"),
            );
        if srt.is_empty() {
            // No SRT nodes: leave the UDP server out (an empty upstream is invalid).
            ingest = ingest
                .split("upstream aethex_srt")
                .next()
                .unwrap_or_default()
                .to_string();
        } else {
            ingest = with_upstream(&ingest, "aethex_srt", srt);
        }
        let conf = format!(
            "load_module {STREAM_MODULE};\nmaster_process off;\ndaemon off;\n\
             error_log logs/error.log warn;\npid logs/nginx.pid;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\naccess_log off;\n{cdn}\n}}\nstream {{\n{ingest}\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .args(["-c", "nginx.conf", "-e", "logs/error.log"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx runs (apt install nginx libnginx-mod-stream)");
        wait_for_port(http_port, Duration::from_secs(10));
        NginxFront {
            child,
            http_port,
            rtmp_port,
            srt_port,
            dir,
            _temp: temp,
        }
    }

    /// `http://127.0.0.1:PORT{path}` through the cache.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    /// nginx's error log so far (for failure messages).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/error.log")).unwrap_or_default()
    }
}

impl Drop for NginxFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_servers_are_swapped_and_keep_their_parameters() {
        let conf = "upstream a {\n    hash $x;\n    server 10.0.0.1:80 max_fails=1;\n    \
                    server 10.0.0.2:80 max_fails=1;\n}\nupstream b {\n    server 10.0.0.3:9;\n}\n";
        let out = with_upstream(conf, "a", &["127.0.0.1:1".into(), "127.0.0.1:2".into()]);
        assert!(out.contains("hash $x;"));
        assert!(out.contains("server 127.0.0.1:1 max_fails=1;"));
        assert!(out.contains("server 127.0.0.1:2 max_fails=1;"));
        assert!(!out.contains("10.0.0.1") && !out.contains("10.0.0.2"));
        assert!(
            out.contains("server 10.0.0.3:9;"),
            "other upstreams untouched"
        );
        let b = with_upstream(conf, "b", &["127.0.0.1:5".into()]);
        assert!(b.contains("server 127.0.0.1:5;"), "{b}");
    }

    #[test]
    fn the_deploy_files_have_the_upstreams_the_tests_rewrite() {
        with_upstream(&deploy_file("aethex-cdn.conf"), "aethex_nodes", &[]);
        let ingest = deploy_file("aethex-ingest.conf");
        with_upstream(&ingest, "aethex_rtmp", &[]);
        with_upstream(&ingest, "aethex_srt", &[]);
        assert!(ingest.contains("listen 1935;") && ingest.contains("listen 9000 udp;"));
    }
}
