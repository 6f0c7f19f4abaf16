//! Live ingest: RTMP (and SRT) publishers in, frames through our own LL-HLS
//! segmenter (`hls::segmenter`) into the HLS packager (`hls::publish`), which
//! fills the live stream (served by `hls`) and the recording (kept by `vod`).
//!
//! The stream key is checked against the database before a publish is
//! accepted; a wrong key never creates a file.

pub mod broadcast;
pub mod channel_link;
pub mod flv;
pub mod rtmp;
pub mod srt;
pub mod ts;

use crate::hls::live::ClaimError;
use channel_link::LiveStateError;

/// Why a publish was refused or a live stream stopped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The stream key matches no channel (wrong or rotated).
    #[error("stream key not accepted")]
    BadKey,
    /// The channel already has a publisher.
    #[error("channel is already live")]
    AlreadyLive,
    /// The publisher used an application other than `live`.
    #[error("unknown application (publish to rtmp://host:port/live/KEY)")]
    UnknownApp,
    /// The SRT demux pipeline could not be built or failed.
    #[error(transparent)]
    Pipeline(#[from] ts::PipelineError),
    /// Looking the stream key up failed.
    #[error("internal error: stream key lookup")]
    KeyLookup(#[source] sqlx::Error),
    /// The channel could not be marked live.
    #[error("internal error: start broadcast")]
    StartBroadcast(#[source] LiveStateError),
    /// The cluster's stream lease could not be read or written.
    #[error("internal error: stream lease")]
    Lease(#[source] sqlx::Error),
    /// The recording directory could not be created.
    #[error("internal error: create the recording directory")]
    RecordingDir(#[source] std::io::Error),
    /// Where the recording is could not be stored.
    #[error("internal error: store the recording directory")]
    RecordingRow(#[source] sqlx::Error),
    /// The recording's writer thread could not be started.
    #[error("internal error: start the recording writer")]
    RecordingWriter(#[source] std::io::Error),
    /// The live registry is unusable.
    #[error("internal error: live registry")]
    Registry(#[source] ClaimError),
}

/// The stream key from an RTMP stream name or SRT stream id: anything after `?`
/// (OBS and others append query strings) is dropped.
pub fn stream_key(name: &str) -> &str {
    name.split('?').next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::stream_key;

    #[test]
    fn query_is_stripped() {
        assert_eq!(stream_key("abc?foo=bar"), "abc");
        assert_eq!(stream_key("abc"), "abc");
        assert_eq!(stream_key("?x"), "");
    }
}
