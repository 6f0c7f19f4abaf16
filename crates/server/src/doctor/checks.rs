//! The doctor's checks of this host and configuration (all but the loopback publish).

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{DoctorError, Finding};
use crate::config::Config;

/// Below this much free space the server cannot keep segments and recordings.
const DISK_FAIL_MIB: u64 = 200;
/// Below this, warn: an hour of 720p at 3.5 Mbit/s is about 1.5 GiB.
const DISK_WARN_MIB: u64 = 2048;

/// Elements the SRT ingest builds (RTMP is remuxed without GStreamer).
const SRT_ELEMENTS: &[&str] = &["srtsrc", "tsdemux", "h264parse", "aacparse"];

/// Binds each configured listener once and lets it go again.
pub(super) fn ports(config: &Config) -> Vec<Finding> {
    let mut out = vec![
        port("http port", "HTTP", config.http, "--http", false),
        port("rtmp port", "RTMP", config.rtmp, "--rtmp", false),
    ];
    match config.srt {
        Some(addr) => out.push(port("srt port", "SRT", addr, "--srt", true)),
        None => out.push(Finding::ok("srt port", "SRT ingest is off (--srt)")),
    }
    out
}

fn port(
    check: &'static str,
    what: &'static str,
    addr: SocketAddr,
    flag: &'static str,
    udp: bool,
) -> Finding {
    let bound = if udp {
        UdpSocket::bind(addr).map(drop)
    } else {
        TcpListener::bind(addr).map(drop)
    };
    match bound {
        Ok(()) => Finding::ok(check, format!("{what} can listen on {addr}")),
        Err(e) => {
            let error = match e.kind() {
                ErrorKind::AddrInUse => DoctorError::PortInUse { what, addr, flag },
                ErrorKind::PermissionDenied => DoctorError::PortDenied { what, addr, flag },
                _ => DoctorError::Bind {
                    what,
                    addr,
                    flag,
                    source: e,
                },
            };
            Finding::fail(check, &error)
        }
    }
}

/// Creates the data dir (as a start would) and writes, syncs and removes a probe file.
pub(super) fn data_dir(config: &Config) -> Finding {
    let path = config.data_dir();
    let probe = path.join(format!(".aethex-doctor-{}", std::process::id()));
    let result = std::fs::create_dir_all(&path).and_then(|()| {
        let file = std::fs::File::create(&probe)?;
        file.sync_all()?;
        std::fs::remove_file(&probe)
    });
    match result {
        Ok(()) => Finding::ok("data dir", format!("{} is writable", path.display())),
        Err(source) => Finding::fail("data dir", &DoctorError::DataDir { path, source }),
    }
}

/// Opens the database and applies migrations, exactly as the server's start does.
pub(super) async fn database(config: &Config, data_dir_writable: bool) -> Finding {
    let url = config.database_url();
    let shown = crate::config::redact_url(&url);
    if url.starts_with("sqlite:") && !data_dir_writable {
        let error = DoctorError::Database(format!(
            "{shown}: not tried, the data dir holding it is not writable"
        ));
        return Finding::fail("database", &error);
    }
    let connect = crate::db::Db::connect(&url);
    match tokio::time::timeout(std::time::Duration::from_secs(15), connect).await {
        Ok(Ok(db)) => {
            let backend = format!("{:?}", db.backend).to_lowercase();
            db.pool.close().await;
            Finding::ok("database", format!("{backend} {shown} opened and migrated"))
        }
        Ok(Err(e)) => Finding::fail(
            "database",
            &DoctorError::Database(format!("{shown}: {e:#}")),
        ),
        Err(_) => Finding::fail(
            "database",
            &DoctorError::Database(format!("{shown}: no answer within 15 s")),
        ),
    }
}

/// Free space where the data dir is (or would be), by `df`.
pub(super) fn disk(data_dir: &Path) -> Finding {
    let existing = nearest_existing(data_dir);
    let free = Command::new("df")
        .args(["-Pk", "--"])
        .arg(&existing)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| parse_df(&String::from_utf8_lossy(&o.stdout)));
    let Some(free_kib) = free else {
        return Finding::warn(
            "disk space",
            format!("unknown: `df` could not measure {}", existing.display()),
            "check the free space of the data dir's disk by hand",
        );
    };
    let free_mib = free_kib / 1024;
    let error = DoctorError::DiskFull {
        path: existing,
        free_mib,
    };
    if free_mib < DISK_FAIL_MIB {
        Finding::fail("disk space", &error)
    } else if free_mib < DISK_WARN_MIB {
        Finding::warn("disk space", error.to_string(), error.fix())
    } else {
        Finding::ok("disk space", format!("{} GiB free", free_mib / 1024))
    }
}

fn nearest_existing(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| p.exists())
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf)
}

/// The "Available" column (KiB) of `df -Pk` output.
fn parse_df(text: &str) -> Option<u64> {
    text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()
}

/// The GStreamer elements the ingest needs: required when SRT is on, a
/// warning otherwise (RTMP does not use GStreamer).
pub(super) fn plugins(config: &Config) -> Vec<Finding> {
    if let Err(e) = gstreamer::init() {
        let error = DoctorError::Plugins {
            elements: SRT_ELEMENTS.to_vec(),
        };
        let detail = format!("GStreamer does not start: {e}");
        return vec![match config.srt {
            Some(_) => Finding {
                detail,
                ..Finding::fail("gstreamer", &error)
            },
            None => Finding::warn("gstreamer", detail, error.fix()),
        }];
    }
    let missing: Vec<&'static str> = SRT_ELEMENTS
        .iter()
        .copied()
        .filter(|e| gstreamer::ElementFactory::find(e).is_none())
        .collect();
    if missing.is_empty() {
        return vec![Finding::ok(
            "gstreamer",
            format!(
                "{} with {}",
                gstreamer::version_string(),
                SRT_ELEMENTS.join(", ")
            ),
        )];
    }
    let error = DoctorError::Plugins { elements: missing };
    vec![match config.srt {
        Some(_) => Finding::fail("gstreamer", &error),
        None => Finding::warn(
            "gstreamer",
            format!("{error} (needed for SRT ingest only)"),
            error.fix(),
        ),
    }]
}

/// Whether the system clock is kept in sync (viewers' latency figures and
/// `EXT-X-PROGRAM-DATE-TIME` rely on it): timedatectl, else chrony, else unknown.
pub(super) fn clock() -> Finding {
    let run = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let fix = "enable time sync: `timedatectl set-ntp true`, or install chrony \
               (`sudo apt-get install chrony`)";
    if let Some(synced) = run("timedatectl", &["show", "-p", "NTPSynchronized", "--value"]) {
        return match synced.as_str() {
            "yes" => Finding::ok("clock", "synchronised (timedatectl)"),
            _ => Finding::warn("clock", "not synchronised (timedatectl)", fix),
        };
    }
    if let Some(tracking) = run("chronyc", &["-n", "tracking"]) {
        let unsynced = tracking.contains("Not synchronised")
            || tracking.contains("Reference ID    : 00000000");
        return if unsynced {
            Finding::warn("clock", "chrony runs but is not synchronised", fix)
        } else {
            Finding::ok("clock", "synchronised (chrony)")
        };
    }
    Finding::warn(
        "clock",
        "unknown (no timedatectl answer and no chrony here)",
        "make sure the host's clock is kept in sync (NTP); in a container the host's is used",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_output_is_read() {
        let text = "Filesystem 1024-blocks Used Available Capacity Mounted on\n\
                    /dev/sda1 100000 40000 60000 40% /\n";
        assert_eq!(parse_df(text), Some(60000));
        assert_eq!(parse_df("garbage"), None);
    }
}
