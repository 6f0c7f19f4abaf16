//! The live media index: parts are appended to their segment's file as they
//! are cut (a segment is the concatenation of its parts; see `recording`), so
//! a part is a byte range of that file. A part stays in memory only until it
//! is written; afterwards it is read from the file (the page cache), so memory
//! per stream stays at about one part.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;

use super::playlist::SEGMENTS_WITH_PARTS;

/// Parts kept in memory per stream while not yet on disk (bounds a disk
/// that cannot keep up).
const CACHE_FILES: usize = 64;
/// Most bytes kept in that cache.
const CACHE_BYTES: usize = 24 * 1024 * 1024;
/// Segments whose parts stay addressable by name (those the live playlist
/// lists parts for, plus grace for players holding an older playlist).
const PART_INDEX_SEGMENTS: usize = SEGMENTS_WITH_PARTS + 2;

/// Where a part lives: a byte range of its segment's file.
#[derive(Debug, Clone)]
pub struct PartRange {
    /// The segment's file name.
    pub segment: String,
    /// Where the part starts in it.
    pub offset: u64,
    /// Its length.
    pub len: usize,
}

/// The live media index: parts are appended to their segment's file (the
/// segment is the concatenation of its parts), so a part is a byte range of
/// that file. A part stays in memory only until it is written; afterwards it
/// is read from the file (the page cache). Memory per stream stays at about
/// one part, like nginx-rtmp's.
#[derive(Debug, Default)]
pub struct MediaCache {
    /// Parts not yet written.
    unwritten: HashMap<String, Bytes>,
    order: VecDeque<String>,
    bytes: usize,
    /// Recent parts' ranges, and each recent segment's parts in order.
    ranges: HashMap<String, PartRange>,
    segments: VecDeque<(String, Vec<String>)>,
    /// The init segment (kept for the whole stream).
    pub init: Option<(String, Bytes)>,
}

/// What a live media request resolves to.
#[derive(Debug)]
pub enum Media {
    /// The bytes, from memory.
    Bytes(Bytes),
    /// A byte range of a file in the broadcast's directory.
    Range(PartRange),
    /// A segment still being written: its parts.
    Parts(Vec<Media>),
}

impl MediaCache {
    /// Indexes a new part of `range.segment` and keeps its bytes until written.
    pub fn add_part(&mut self, name: String, range: PartRange, data: Bytes) {
        match self.segments.back_mut() {
            Some((seg, parts)) if *seg == range.segment => parts.push(name.clone()),
            _ => {
                self.segments
                    .push_back((range.segment.clone(), vec![name.clone()]));
                while self.segments.len() > PART_INDEX_SEGMENTS {
                    if let Some((_, old)) = self.segments.pop_front() {
                        for p in old {
                            self.ranges.remove(&p);
                        }
                    }
                }
            }
        }
        self.ranges.insert(name.clone(), range);
        self.bytes += data.len();
        self.order.push_back(name.clone());
        self.unwritten.insert(name, data);
        while self.order.len() > CACHE_FILES || self.bytes > CACHE_BYTES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.written(&oldest);
        }
    }

    /// The part is on disk: drop its bytes from memory.
    pub fn written(&mut self, name: &str) {
        if let Some(old) = self.unwritten.remove(name) {
            self.bytes -= old.len();
            self.order.retain(|n| n != name);
        }
    }

    /// Where `name` (init, part or unfinished segment) can be read; `None`
    /// for anything else (complete segments are read from disk).
    pub fn get(&self, name: &str) -> Option<Media> {
        if let Some((n, data)) = &self.init
            && n == name
        {
            return Some(Media::Bytes(data.clone()));
        }
        if let Some(data) = self.unwritten.get(name) {
            return Some(Media::Bytes(data.clone()));
        }
        if let Some(range) = self.ranges.get(name) {
            return Some(Media::Range(range.clone()));
        }
        // A listed segment whose last parts are still in memory.
        let (_, parts) = self.segments.iter().find(|(seg, _)| seg == name)?;
        if parts.iter().all(|p| !self.unwritten.contains_key(p)) {
            return None; // complete on disk
        }
        parts
            .iter()
            .map(|p| self.get(p))
            .collect::<Option<Vec<_>>>()
            .map(Media::Parts)
    }
}

/// Reads `range` from `dir`.
async fn read_range(dir: &std::path::Path, range: &PartRange) -> Option<Bytes> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut f = tokio::fs::File::open(dir.join(&range.segment)).await.ok()?;
    f.seek(std::io::SeekFrom::Start(range.offset)).await.ok()?;
    let mut buf = vec![0; range.len];
    f.read_exact(&mut buf).await.ok()?;
    Some(Bytes::from(buf))
}

/// The bytes of `media`, reading ranges from `dir`.
pub async fn resolve(dir: &std::path::Path, media: Media) -> Option<Bytes> {
    match media {
        Media::Bytes(b) => Some(b),
        Media::Range(r) => read_range(dir, &r).await,
        Media::Parts(parts) => {
            let mut out = Vec::new();
            for p in parts {
                let bytes = match p {
                    Media::Bytes(b) => b,
                    Media::Range(r) => read_range(dir, &r).await?,
                    Media::Parts(_) => return None,
                };
                out.extend_from_slice(&bytes);
            }
            Some(Bytes::from(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::hls::recording::{DiskJob, disk_writer};

    fn part(cache: &mut MediaCache, seg: u32, k: u32, offset: u64, data: &'static [u8]) -> String {
        let name = format!("1_{seg:05}_p{k}.m4s");
        let range = PartRange {
            segment: format!("1_{seg:05}.m4s"),
            offset,
            len: data.len(),
        };
        cache.add_part(name.clone(), range, Bytes::from_static(data));
        name
    }

    #[tokio::test]
    async fn parts_come_from_memory_until_written_then_from_their_segment_file() {
        let dir = tempfile::tempdir().unwrap();
        let media = Mutex::new(MediaCache::default());
        let (a, b) = {
            let mut m = media.lock().unwrap();
            (part(&mut m, 0, 0, 0, b"AAAA"), part(&mut m, 0, 1, 4, b"BB"))
        };
        // Nothing on disk yet: both parts and the unfinished segment from memory.
        let get = |n: &str| media.lock().unwrap().get(n);
        assert_eq!(resolve(dir.path(), get(&a).unwrap()).await.unwrap(), "AAAA");
        assert_eq!(
            resolve(dir.path(), get("1_00000.m4s").unwrap())
                .await
                .unwrap(),
            "AAAABB"
        );
        // The writer appends them to the segment file and drops them from memory.
        let (tx, rx) = std::sync::mpsc::channel();
        for (p, data) in [(&a, &b"AAAA"[..]), (&b, &b"BB"[..])] {
            tx.send(DiskJob::AppendPart {
                segment: "1_00000.m4s".into(),
                part: p.clone(),
                data: Bytes::from_static(data),
            })
            .unwrap();
        }
        drop(tx);
        disk_writer(dir.path(), |p| media.lock().unwrap().written(p), rx);
        assert_eq!(
            std::fs::read(dir.path().join("1_00000.m4s")).unwrap(),
            b"AAAABB"
        );
        assert!(matches!(get(&b), Some(Media::Range(_))));
        assert_eq!(resolve(dir.path(), get(&b).unwrap()).await.unwrap(), "BB");
        // A complete segment is served from its file, not the index.
        assert!(get("1_00000.m4s").is_none());
        assert!(media.lock().unwrap().unwritten.is_empty());
    }

    #[test]
    fn only_recent_segments_keep_their_parts_addressable() {
        let mut m = MediaCache::default();
        let first = part(&mut m, 0, 0, 0, b"x");
        m.written(&first);
        assert!(matches!(m.get(&first), Some(Media::Range(_))));
        for seg in 1..=PART_INDEX_SEGMENTS as u32 {
            part(&mut m, seg, 0, 0, b"y");
        }
        assert!(
            m.get(&first).is_none(),
            "parts of old segments are forgotten"
        );
        assert!(m.get("1_00001_p0.m4s").is_some());
        assert!(m.get("unknown.m4s").is_none());
    }
}
