//! A hook for finished media: the [`Packager`](super::publish::Packager)
//! hands every finished file of a broadcast (the init segment, each whole
//! segment) to a [`MediaSink`] besides memory and disk. In cluster mode the
//! object storage uploader (`crate::storage::upload`) is one; `hls` knows
//! nothing of it.

use bytes::Bytes;

/// Takes finished files of one broadcast. Called on the ingest task: it must
/// not block or wait (queue the work and return).
pub trait MediaSink: Send + Sync + std::fmt::Debug {
    /// The init segment `name` is complete.
    fn init(&self, name: &str, data: Bytes);
    /// Segment `name` (all its parts) is complete and listed.
    fn segment(&self, name: &str, data: Bytes);
}
