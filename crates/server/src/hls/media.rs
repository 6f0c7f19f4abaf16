//! The live window in memory: the init segment, every part of the recent
//! segments and, once a segment is complete, the segment itself — all as
//! reference-counted [`Bytes`], so serving any of them is a pointer copy into
//! the response (no file open, no read, no copy per request). A complete
//! segment is joined from its parts once and its parts become slices of it,
//! so memory per stream is about one window of media, not two.
//!
//! Older segments leave memory (the recording on disk still has them).

use std::collections::{HashMap, VecDeque};

use bytes::{Bytes, BytesMut};

/// Segments kept in memory beyond the live playlist's window (players
/// holding a slightly older playlist still find theirs).
const GRACE_SEGMENTS: usize = 4;
/// Most bytes held per stream whatever the window (a very high bitrate
/// stream then serves its oldest listed segments from disk instead).
const WINDOW_BYTES: usize = 64 * 1024 * 1024;

/// One recent segment: its parts in order, and whether it is complete.
#[derive(Debug)]
struct WindowSegment {
    name: String,
    parts: Vec<String>,
    bytes: usize,
    complete: bool,
}

/// The live window in memory (see the module docs).
#[derive(Debug)]
pub struct MediaCache {
    /// Parts and complete segments by name.
    files: HashMap<String, Bytes>,
    /// The recent segments, oldest first.
    segments: VecDeque<WindowSegment>,
    /// Segments kept.
    keep: usize,
    /// Bytes referenced by the window (a segment and its parts count once).
    held: usize,
    /// The init segment (kept for the whole stream).
    pub init: Option<(String, Bytes)>,
}

impl Default for MediaCache {
    fn default() -> Self {
        MediaCache::new(0)
    }
}

impl MediaCache {
    /// A cache holding the `window` segments a live playlist lists, plus grace.
    pub fn new(window: usize) -> Self {
        MediaCache {
            files: HashMap::new(),
            segments: VecDeque::new(),
            keep: window + GRACE_SEGMENTS,
            held: 0,
            init: None,
        }
    }

    /// Adds part `name` of `segment` (the segment being cut).
    pub fn add_part(&mut self, name: String, segment: &str, data: Bytes) {
        if self.segments.back().is_none_or(|s| s.name != segment) {
            self.segments.push_back(WindowSegment {
                name: segment.to_string(),
                parts: Vec::new(),
                bytes: 0,
                complete: false,
            });
        }
        if let Some(current) = self.segments.back_mut() {
            current.parts.push(name.clone());
            current.bytes += data.len();
        }
        self.held += data.len();
        self.files.insert(name, data);
        self.evict();
    }

    /// `segment` is complete: it becomes one buffer, its parts slices of it.
    pub fn complete_segment(&mut self, segment: &str) {
        let Some(seg) = self
            .segments
            .iter_mut()
            .find(|s| s.name == segment && !s.complete)
        else {
            return;
        };
        let mut whole = BytesMut::with_capacity(seg.bytes);
        for part in &seg.parts {
            if let Some(data) = self.files.get(part) {
                whole.extend_from_slice(data);
            }
        }
        let whole = whole.freeze();
        let mut at = 0;
        for part in &seg.parts {
            if let Some(data) = self.files.get_mut(part) {
                let len = data.len();
                *data = whole.slice(at..at + len);
                at += len;
            }
        }
        seg.complete = true;
        self.files.insert(seg.name.clone(), whole);
    }

    /// Drops the oldest segments beyond the window or the byte limit (never
    /// the one being cut).
    fn evict(&mut self) {
        while self.segments.len() > 1
            && (self.segments.len() > self.keep || self.held > WINDOW_BYTES)
        {
            let Some(old) = self.segments.pop_front() else {
                break;
            };
            for part in &old.parts {
                self.files.remove(part);
            }
            self.files.remove(&old.name);
            self.held -= old.bytes;
        }
    }

    /// The bytes of `name` (init, a recent part or a recent complete
    /// segment); `None` for anything else (older segments are on disk).
    pub fn get(&self, name: &str) -> Option<Bytes> {
        if let Some((n, data)) = &self.init
            && n == name
        {
            return Some(data.clone());
        }
        self.files.get(name).cloned()
    }

    /// Whether any part has been cut yet.
    pub fn has_media(&self) -> bool {
        !self.segments.is_empty()
    }

    /// Media bytes the window holds (init excluded).
    pub fn held_bytes(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(cache: &mut MediaCache, seg: u32, k: u32, data: &'static [u8]) -> String {
        let name = format!("1_{seg:05}_p{k}.m4s");
        cache.add_part(
            name.clone(),
            &format!("1_{seg:05}.m4s"),
            Bytes::from_static(data),
        );
        name
    }

    #[test]
    fn a_complete_segment_is_its_parts_joined_and_they_share_its_memory() {
        let mut m = MediaCache::new(3);
        let a = part(&mut m, 0, 0, b"AAAA");
        let b = part(&mut m, 0, 1, b"BB");
        assert!(m.has_media());
        assert_eq!(m.get(&a).unwrap(), "AAAA");
        assert!(m.get("1_00000.m4s").is_none(), "not complete yet");
        m.complete_segment("1_00000.m4s");
        let whole = m.get("1_00000.m4s").unwrap();
        assert_eq!(whole, "AAAABB");
        let bb = m.get(&b).unwrap();
        assert_eq!(bb, "BB");
        // The part is a view into the segment's buffer, not a second copy.
        assert_eq!(bb.as_ptr(), whole[4..].as_ptr());
        assert_eq!(m.held_bytes(), 6);
        // Completing twice changes nothing.
        m.complete_segment("1_00000.m4s");
        assert_eq!(m.get("1_00000.m4s").unwrap(), "AAAABB");
    }

    #[test]
    fn only_the_window_stays_in_memory() {
        let mut m = MediaCache::new(2);
        assert!(!m.has_media());
        m.init = Some(("1_init.mp4".into(), Bytes::from_static(b"init")));
        let keep = 2 + GRACE_SEGMENTS as u32;
        for seg in 0..=keep {
            part(&mut m, seg, 0, b"xy");
            m.complete_segment(&format!("1_{seg:05}.m4s"));
        }
        // One segment too many: the oldest left, with its parts.
        assert!(m.get("1_00000.m4s").is_none());
        assert!(m.get("1_00000_p0.m4s").is_none());
        assert_eq!(m.get("1_00001.m4s").unwrap(), "xy");
        assert_eq!(m.held_bytes(), 2 * keep as usize);
        assert_eq!(m.get("1_init.mp4").unwrap(), "init");
        assert!(m.get("unknown.m4s").is_none());
    }
}
