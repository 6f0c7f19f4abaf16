//! `aethex-server doctor`: checks whether the server can run with this
//! configuration — ports, database, disk space, data-dir permissions,
//! GStreamer plugins, clock sync, and a loopback test publish through a
//! throwaway in-process server — and prints each result with its fix.
//!
//! Nothing here changes the configured setup except what a start would do
//! anyway (creating the data dir, migrating the database).

mod checks;
mod loopback;

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::Config;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Fine.
    Ok,
    /// The server can run, but something deserves attention (or is unknown).
    Warn,
    /// The server cannot run like this.
    Fail,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        }
    }
}

/// One check's result: what was checked, how it came out and, when it is
/// not ok, what to do about it.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Short name of the check (`http port`, `database`…).
    pub check: &'static str,
    /// Outcome.
    pub level: Level,
    /// What was found.
    pub detail: String,
    /// How to fix it (for warn and fail).
    pub fix: Option<String>,
}

impl Finding {
    fn ok(check: &'static str, detail: impl Into<String>) -> Finding {
        Finding {
            check,
            level: Level::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn warn(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            check,
            level: Level::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn fail(check: &'static str, error: &DoctorError) -> Finding {
        Finding {
            check,
            level: Level::Fail,
            detail: error.to_string(),
            fix: Some(error.fix()),
        }
    }
}

/// Every check's result, in the order they ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The results.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether the server can run: no check failed.
    pub fn can_run(&self) -> bool {
        self.findings.iter().all(|f| f.level != Level::Fail)
    }

    /// The findings, one line each (`ok   http port: …`), fixes indented below,
    /// and a closing verdict.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            out.push_str(&format!(
                "{:<4} {}: {}\n",
                f.level.label(),
                f.check,
                f.detail
            ));
            if let Some(fix) = &f.fix {
                out.push_str(&format!("     fix: {fix}\n"));
            }
        }
        let (warns, fails) = self
            .findings
            .iter()
            .fold((0, 0), |(w, f), x| match x.level {
                Level::Warn => (w + 1, f),
                Level::Fail => (w, f + 1),
                Level::Ok => (w, f),
            });
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let warnings = plural(warns, "warning");
        out.push_str(&if fails == 0 {
            format!("the server can run ({warnings})\n")
        } else {
            let failed = plural(fails, "check");
            format!("the server cannot run: {failed} failed, {warnings}\n")
        });
        out
    }
}

/// Why a check failed; each variant knows its fix ([`DoctorError::fix`]).
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    /// Another program listens on the port.
    #[error("{what} {addr} is already in use by another program")]
    PortInUse {
        /// Which listener (`HTTP`, `RTMP`, `SRT`).
        what: &'static str,
        /// The configured address.
        addr: SocketAddr,
        /// The flag that sets it.
        flag: &'static str,
    },
    /// Binding needs a privilege the process lacks (ports below 1024).
    #[error("{what} {addr}: permission denied")]
    PortDenied {
        /// Which listener.
        what: &'static str,
        /// The configured address.
        addr: SocketAddr,
        /// The flag that sets it.
        flag: &'static str,
    },
    /// Binding failed otherwise (e.g. an address this host does not have).
    #[error("cannot bind {what} {addr}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The configured address.
        addr: SocketAddr,
        /// The flag that sets it.
        flag: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The data dir cannot be created or written.
    #[error("data dir {} is not writable: {source}", path.display())]
    DataDir {
        /// The data dir.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database cannot be opened or migrated.
    #[error("{0}")]
    Database(String),
    /// Too little free space for live segments and recordings.
    #[error("only {free_mib} MiB free in {}", path.display())]
    DiskFull {
        /// Where.
        path: PathBuf,
        /// Free space, MiB.
        free_mib: u64,
    },
    /// GStreamer elements the configured ingest needs are missing.
    #[error("missing GStreamer elements: {}", elements.join(", "))]
    Plugins {
        /// Missing element factories.
        elements: Vec<&'static str>,
    },
    /// The loopback publish did not produce a segment.
    #[error("{0}")]
    Loopback(String),
}

impl DoctorError {
    /// What to do about it, as one sentence with the command or flag to use.
    pub fn fix(&self) -> String {
        match self {
            DoctorError::PortInUse { addr, flag, .. } => format!(
                "stop the program on port {port} (see `ss -ltnup 'sport = :{port}'`; another \
                 aethex-server?) or pick a free port with {flag}",
                port = addr.port()
            ),
            DoctorError::PortDenied { flag, .. } => format!(
                "use a port of 1024 or above with {flag}, or grant the binary \
                 CAP_NET_BIND_SERVICE (the systemd unit's AmbientCapabilities)"
            ),
            DoctorError::Bind { flag, .. } => {
                format!("use an address of this host (or 0.0.0.0) with {flag}")
            }
            DoctorError::DataDir { path, .. } => format!(
                "give the server's user write access (`chown -R USER {}`, or \
                 StateDirectory= in the systemd unit) or choose another --data-dir",
                path.display()
            ),
            DoctorError::Database(_) => "check --database-url (host, credentials, database \
                 exists) and that the server is reachable; a database from a newer release \
                 needs that release"
                .into(),
            DoctorError::DiskFull { .. } => "free space (old recordings: --vod-keep-days / \
                 --vod-keep-count) or move --data-dir to a larger disk"
                .into(),
            DoctorError::Plugins { elements } => {
                let mut packages: Vec<&str> = elements
                    .iter()
                    .map(|e| aethex_gst::package_for(e))
                    .collect();
                packages.dedup();
                format!("sudo apt-get install {}", packages.join(" "))
            }
            DoctorError::Loopback(_) => "run the server with RUST_LOG=debug and publish a test \
                 stream to see where it stops; check the other findings first"
                .into(),
        }
    }
}

/// Runs every check against `config` and returns the report.
pub async fn run(config: &Config) -> Report {
    let mut findings = checks::ports(config);
    let data_dir = checks::data_dir(config);
    let writable = data_dir.level == Level::Ok;
    findings.push(data_dir);
    findings.push(checks::database(config, writable).await);
    findings.push(checks::disk(&config.data_dir()));
    findings.extend(checks::plugins(config));
    findings.push(checks::clock());
    findings.push(loopback::publish().await);
    Report { findings }
}
