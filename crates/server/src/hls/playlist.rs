//! HLS media playlists written by us: the live LL-HLS playlist (sliding
//! window, parts, blocking reload) served from memory, and the full VOD
//! playlist kept on disk.
//!
//! Every segment carries `EXT-X-PROGRAM-DATE-TIME` so players (and our latency
//! measurements) can map media time to wall-clock time.

use std::fmt::Write as _;

/// One LL-HLS part (`EXT-X-PART`).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// File name beside the playlist.
    pub uri: String,
    /// Media duration in seconds.
    pub duration: f64,
    /// Starts with a keyframe.
    pub independent: bool,
}

/// One finished segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// File name beside the playlist (e.g. `12_00042.m4s`).
    pub uri: String,
    /// Media duration in seconds.
    pub duration: f64,
    /// Wall-clock time of the segment's first frame, Unix milliseconds.
    pub program_date_time_ms: i64,
    /// Its parts (live only; empty for playlists without parts).
    pub parts: Vec<Part>,
}

/// How many of the newest segments keep their parts listed (RFC 8216bis:
/// at least those within three target durations of the end).
pub const SEGMENTS_WITH_PARTS: usize = 3;

/// All segments of one broadcast, in order, and whether it has ended.
#[derive(Debug, Clone, Default)]
pub struct Playlist {
    segments: Vec<Segment>,
    ended: bool,
    /// Lower bound for `EXT-X-TARGETDURATION` (the configured segment length).
    min_target: u32,
    /// `EXT-X-MAP` URI (fMP4 init segment).
    map: Option<String>,
    /// LL-HLS part target in seconds; `None` for plain HLS.
    part_target: Option<f64>,
    /// Parts of the segment being written, and its wall-clock start.
    open_parts: Vec<Part>,
    open_pdt_ms: Option<i64>,
    /// The next part's URI (`EXT-X-PRELOAD-HINT`).
    preload: Option<String>,
}

impl Playlist {
    /// An empty playlist whose target duration is at least `min_target_secs`.
    pub fn new(min_target_secs: u32) -> Self {
        Playlist {
            min_target: min_target_secs.max(1),
            ..Playlist::default()
        }
    }

    /// A low-latency playlist with parts of at most `part_target` seconds and
    /// fMP4 segments initialised by `map`.
    pub fn low_latency(min_target_secs: u32, part_target: f64, map: String) -> Self {
        Playlist {
            map: Some(map),
            part_target: Some(part_target),
            ..Playlist::new(min_target_secs)
        }
    }

    /// Appends a finished part of the segment being written. That segment's
    /// wall-clock start is where the previous one ended, or `stream_start_ms`
    /// for the first; the exact value comes with the segment itself.
    pub fn push_part(&mut self, part: Part, stream_start_ms: i64) {
        if self.open_pdt_ms.is_none() {
            let previous_end = self
                .segments
                .last()
                .map(|s| s.program_date_time_ms + (s.duration * 1000.0) as i64);
            self.open_pdt_ms = Some(previous_end.unwrap_or(stream_start_ms));
        }
        self.open_parts.push(part);
    }

    /// Announces the URI of the part that comes next.
    pub fn set_preload_hint(&mut self, uri: String) {
        self.preload = Some(uri);
    }

    /// The URI of the part that comes next, while live.
    pub fn preload_hint(&self) -> Option<&str> {
        self.preload.as_deref().filter(|_| !self.ended)
    }

    /// Appends a finished segment; the parts pushed since the last segment
    /// become its parts.
    pub fn push(&mut self, mut segment: Segment) {
        if segment.parts.is_empty() {
            segment.parts = std::mem::take(&mut self.open_parts);
        }
        self.open_parts.clear();
        self.open_pdt_ms = None;
        self.segments.push(segment);
        // Older segments' parts are never listed again: a long broadcast must
        // not keep every part's name in memory.
        if let Some(old) = self
            .segments
            .len()
            .checked_sub(SEGMENTS_WITH_PARTS + 1)
            .and_then(|i| self.segments.get_mut(i))
        {
            old.parts = Vec::new();
        }
    }

    /// Names segment `uri` by `to` from now on (its copy in object storage);
    /// false if no listed segment has that name.
    pub fn relocate(&mut self, uri: &str, to: String) -> bool {
        match self.segments.iter_mut().rev().find(|s| s.uri == uri) {
            Some(s) => {
                s.uri = to;
                true
            }
            None => false,
        }
    }

    /// Marks the broadcast as finished (`EXT-X-ENDLIST`).
    pub fn end(&mut self) {
        self.ended = true;
        self.preload = None;
    }

    /// Whether the broadcast has finished.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The segments so far.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Total media duration in seconds.
    pub fn duration(&self) -> f64 {
        self.segments.iter().map(|s| s.duration).sum()
    }

    /// Media sequence number of the segment being written (the next one).
    pub fn next_sequence(&self) -> u64 {
        self.segments.len() as u64
    }

    /// Whether a blocking reload for segment `msn` (and part `part` of it) can
    /// be answered: that segment, or that part of it, is listed.
    pub fn has(&self, msn: u64, part: Option<u32>) -> bool {
        let next = self.next_sequence();
        match part {
            _ if msn < next => true,
            Some(p) if msn == next => (p as usize) < self.open_parts.len(),
            _ => false,
        }
    }

    /// The configured target duration (whole seconds, as RFC 8216 wants it).
    pub fn target_duration(&self) -> u32 {
        // RFC 8216: every EXTINF rounded to the nearest integer must be <= target.
        let longest = self
            .segments
            .iter()
            .map(|s| s.duration.round() as u32)
            .max()
            .unwrap_or(0);
        longest.max(self.min_target)
    }

    /// The live playlist: the last `window` segments, a sliding media sequence,
    /// parts of the newest segments and the preload hint, `EXT-X-ENDLIST` once
    /// ended.
    pub fn render_live(&self, window: usize) -> String {
        let skip = self.segments.len().saturating_sub(window.max(1));
        self.render(skip, None)
    }

    /// The VOD playlist: every segment, no parts, `PLAYLIST-TYPE` `VOD` once
    /// ended (`EVENT` while still growing).
    pub fn render_vod(&self) -> String {
        let kind = if self.ended { "VOD" } else { "EVENT" };
        self.render(0, Some(kind))
    }

    fn render(&self, skip: usize, playlist_type: Option<&str>) -> String {
        let live = playlist_type.is_none();
        // Parts are for the live edge: an ended stream lists segments only.
        let parts = self.part_target.filter(|_| live && !self.ended);
        let target = self.target_duration();
        let mut out = String::with_capacity(256 + 128 * (self.segments.len() - skip));
        let version = if self.map.is_some() { 6 } else { 3 };
        let _ = writeln!(out, "#EXTM3U\n#EXT-X-VERSION:{version}");
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target}");
        if let Some(pt) = parts {
            let _ = writeln!(
                out,
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={:.3}",
                pt * 3.0
            );
            let _ = writeln!(out, "#EXT-X-PART-INF:PART-TARGET={pt:.3}");
        }
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{skip}");
        if let Some(kind) = playlist_type {
            let _ = writeln!(out, "#EXT-X-PLAYLIST-TYPE:{kind}");
        }
        if let Some(map) = &self.map {
            let _ = writeln!(out, "#EXT-X-MAP:URI=\"{map}\"");
        }
        let with_parts_from = self.segments.len().saturating_sub(SEGMENTS_WITH_PARTS);
        for (i, seg) in self.segments.iter().enumerate().skip(skip) {
            write_segment(&mut out, seg, parts.is_some() && i >= with_parts_from);
        }
        if parts.is_some() && !self.ended {
            if let Some(pdt) = self.open_pdt_ms.filter(|_| !self.open_parts.is_empty()) {
                write_pdt(&mut out, pdt);
                write_parts(&mut out, &self.open_parts);
            }
            if let Some(hint) = &self.preload {
                let _ = writeln!(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{hint}\"");
            }
        }
        if self.ended {
            out.push_str("#EXT-X-ENDLIST\n");
        }
        out
    }
}

/// The VOD playlist's lines for the newest segment, to append to a growing
/// `EVENT` playlist (see [`Playlist::render_vod`], which it matches).
pub fn vod_entry(segment: &Segment) -> String {
    let mut out = String::with_capacity(96);
    write_segment(&mut out, segment, false);
    out
}

fn write_segment(out: &mut String, seg: &Segment, with_parts: bool) {
    write_pdt(out, seg.program_date_time_ms);
    if with_parts {
        write_parts(out, &seg.parts);
    }
    let _ = writeln!(out, "#EXTINF:{:.3},", seg.duration);
    out.push_str(&seg.uri);
    out.push('\n');
}

fn write_pdt(out: &mut String, ms: i64) {
    let pdt = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{pdt}");
}

fn write_parts(out: &mut String, parts: &[Part]) {
    for p in parts {
        let independent = if p.independent {
            ",INDEPENDENT=YES"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "#EXT-X-PART:DURATION={:.3},URI=\"{}\"{independent}",
            p.duration, p.uri
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(i: u32, d: f64) -> Segment {
        Segment {
            uri: format!("seg{i:05}.ts"),
            duration: d,
            program_date_time_ms: 1_700_000_000_000 + i64::from(i) * 1000,
            parts: Vec::new(),
        }
    }

    #[test]
    fn live_window_slides_and_counts_media_sequence() {
        let mut p = Playlist::new(1);
        for i in 0..10 {
            p.push(seg(i, 1.0));
        }
        let text = p.render_live(3);
        assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:7\n"));
        assert_eq!(text.matches("#EXTINF").count(), 3);
        assert_eq!(text.matches("#EXT-X-PROGRAM-DATE-TIME").count(), 3);
        assert!(text.contains("seg00009.ts"));
        assert!(!text.contains("seg00006.ts"));
        assert!(!text.contains("ENDLIST"));
    }

    #[test]
    fn appended_vod_entries_rebuild_the_event_playlist() {
        let mut p = Playlist::low_latency(1, 0.2, "1_init.mp4".into());
        p.push(seg(0, 1.0));
        let mut text = p.render_vod();
        for i in 1..4 {
            let s = seg(i, 1.0);
            text.push_str(&vod_entry(&s));
            p.push(s);
        }
        assert_eq!(text, p.render_vod());
    }

    #[test]
    fn a_relocated_segment_is_named_by_its_new_url_only() {
        let mut p = Playlist::new(1);
        for i in 0..3 {
            p.push(seg(i, 1.0));
        }
        assert!(p.relocate("seg00001.ts", "https://cdn.example/seg00001.ts".into()));
        assert!(!p.relocate("seg00009.ts", "https://cdn.example/x".into()));
        for text in [p.render_live(3), p.render_vod()] {
            assert!(
                text.contains("\nhttps://cdn.example/seg00001.ts\n"),
                "{text}"
            );
            assert!(!text.contains("\nseg00001.ts\n"));
            assert!(text.contains("\nseg00000.ts\n") && text.contains("\nseg00002.ts\n"));
        }
    }

    #[test]
    fn vod_lists_everything_and_ends() {
        let mut p = Playlist::new(1);
        p.push(seg(0, 2.6));
        p.push(seg(1, 0.5));
        p.end();
        let text = p.render_vod();
        assert!(text.contains("#EXT-X-TARGETDURATION:3\n"));
        assert!(text.contains("#EXT-X-PLAYLIST-TYPE:VOD\n"));
        assert!(text.ends_with("#EXT-X-ENDLIST\n"));
        assert!(text.contains("#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z"));
        assert!((p.duration() - 3.1).abs() < 1e-9);
    }

    fn part(s: u32, i: u32, independent: bool) -> Part {
        Part {
            uri: format!("seg{s:05}_p{i}.m4s"),
            duration: 0.2,
            independent,
        }
    }

    #[test]
    fn low_latency_playlist_lists_parts_hint_and_server_control() {
        let mut p = Playlist::low_latency(1, 0.2, "1_init.mp4".into());
        for s in 0..5 {
            for i in 0..5 {
                p.push_part(part(s, i, i == 0), 1_700_000_000_000);
            }
            p.push(seg(s, 1.0));
        }
        p.push_part(part(5, 0, true), 1_700_000_005_000);
        p.set_preload_hint("seg00005_p1.m4s".into());
        let text = p.render_live(4);
        assert!(text.contains("#EXT-X-VERSION:6\n"));
        assert!(text.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600\n"));
        assert!(text.contains("#EXT-X-PART-INF:PART-TARGET=0.200\n"));
        assert!(text.contains("#EXT-X-MAP:URI=\"1_init.mp4\"\n"));
        assert!(text.contains("#EXT-X-MEDIA-SEQUENCE:1\n"));
        // Parts only for the three newest segments, plus the open one; older
        // segments no longer hold theirs.
        assert!(!text.contains("seg00001_p0.m4s"));
        assert!(p.segments()[1].parts.is_empty() && p.segments()[2].parts.len() == 5);
        assert!(
            text.contains("#EXT-X-PART:DURATION=0.200,URI=\"seg00002_p0.m4s\",INDEPENDENT=YES\n")
        );
        assert!(text.contains("#EXT-X-PART:DURATION=0.200,URI=\"seg00002_p1.m4s\"\n"));
        assert!(text.contains("URI=\"seg00005_p0.m4s\""));
        assert!(
            text.trim_end()
                .ends_with("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"seg00005_p1.m4s\"")
        );
        // The open segment's parts come after the last full segment.
        assert!(text.find("seg00004.ts").unwrap() < text.find("seg00005_p0.m4s").unwrap());

        assert!(p.has(4, None) && p.has(5, Some(0)));
        assert!(!p.has(5, Some(1)) && !p.has(5, None) && !p.has(6, Some(0)));

        // VOD: no parts, no server control, the map kept.
        let vod = p.render_vod();
        assert!(!vod.contains("EXT-X-PART") && !vod.contains("SERVER-CONTROL"));
        assert!(vod.contains("#EXT-X-MAP:URI=\"1_init.mp4\""));

        p.end();
        let ended = p.render_live(4);
        assert!(!ended.contains("PRELOAD-HINT") && ended.ends_with("#EXT-X-ENDLIST\n"));
        assert!(
            !ended.contains("#EXT-X-PART"),
            "ended playlists list no parts"
        );
    }
}
