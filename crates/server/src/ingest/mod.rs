//! Live ingest: RTMP (and SRT) publishers in, frames through our own LL-HLS
//! segmenter (`hls::segmenter`), parts, segments and playlists out (served by
//! `hls`, kept by `vod`).
//!
//! The stream key is checked against the database before a publish is
//! accepted; a wrong key never creates a file.

pub mod channel_link;
pub mod flv;
pub mod live;
pub mod rtmp;
pub mod srt;
pub mod ts;

pub use live::{LiveRegistry, LiveStream};

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
    /// Storage or another internal failure (logged, not sent in detail).
    #[error("internal error: {0}")]
    Internal(String),
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
