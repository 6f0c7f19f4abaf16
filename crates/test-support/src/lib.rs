//! Real peers for the tests of several crates, written once: nginx with the RTMP module,
//! ffprobe, nginx running the repository's deploy configs in front of a cluster, a private
//! Xvfb, a private desktop session (D-Bus, PipeWire, portal), Redis, an S3 server (s3s-fs),
//! and free ports. Dev-only: no crate depends on it outside tests.
//!
//! Helpers panic with a clear message when a peer is missing or misbehaves (they only
//! run inside tests).

pub mod desktop;
pub mod front;
pub mod nginx;
pub mod probe;
pub mod s3;
pub mod services;
pub mod xvfb;

pub use desktop::Desktop;
pub use front::NginxFront;
pub use nginx::Nginx;
pub use probe::{Probe, probe, probe_codecs, probe_duration};
pub use s3::S3;
pub use services::{Haproxy, Redis};
pub use xvfb::Xvfb;

/// A 127.0.0.1 port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
