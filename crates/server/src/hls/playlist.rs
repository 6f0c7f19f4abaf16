//! HLS media playlists written by us (not by the sink): the live sliding window
//! served from memory, and the full VOD playlist kept on disk.
//!
//! Every segment carries `EXT-X-PROGRAM-DATE-TIME` so players (and our latency
//! measurements) can map media time to wall-clock time.

use std::fmt::Write as _;

/// One finished MPEG-TS segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// File name beside the playlist (e.g. `seg00042.ts`).
    pub uri: String,
    /// Media duration in seconds.
    pub duration: f64,
    /// Wall-clock time of the segment's first frame, Unix milliseconds.
    pub program_date_time_ms: i64,
}

/// All segments of one broadcast, in order, and whether it has ended.
#[derive(Debug, Clone, Default)]
pub struct Playlist {
    segments: Vec<Segment>,
    ended: bool,
    /// Lower bound for `EXT-X-TARGETDURATION` (the configured segment length).
    min_target: u32,
}

impl Playlist {
    /// An empty playlist whose target duration is at least `min_target_secs`.
    pub fn new(min_target_secs: u32) -> Self {
        Playlist {
            segments: Vec::new(),
            ended: false,
            min_target: min_target_secs.max(1),
        }
    }

    /// Appends a finished segment.
    pub fn push(&mut self, segment: Segment) {
        self.segments.push(segment);
    }

    /// Marks the broadcast as finished (`EXT-X-ENDLIST`).
    pub fn end(&mut self) {
        self.ended = true;
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

    fn target_duration(&self) -> u32 {
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
    /// `EXT-X-ENDLIST` once ended.
    pub fn render_live(&self, window: usize) -> String {
        let skip = self.segments.len().saturating_sub(window.max(1));
        self.render(skip, None)
    }

    /// The VOD playlist: every segment, `PLAYLIST-TYPE` `VOD` once ended
    /// (`EVENT` while still growing).
    pub fn render_vod(&self) -> String {
        let kind = if self.ended { "VOD" } else { "EVENT" };
        self.render(0, Some(kind))
    }

    fn render(&self, skip: usize, playlist_type: Option<&str>) -> String {
        let target = self.target_duration();
        let mut out = String::with_capacity(128 + 96 * (self.segments.len() - skip));
        out.push_str("#EXTM3U\n#EXT-X-VERSION:3\n");
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target}");
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{skip}");
        if let Some(kind) = playlist_type {
            let _ = writeln!(out, "#EXT-X-PLAYLIST-TYPE:{kind}");
        }
        for seg in &self.segments[skip..] {
            let pdt = chrono::DateTime::from_timestamp_millis(seg.program_date_time_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{pdt}");
            let _ = writeln!(out, "#EXTINF:{:.3},", seg.duration);
            out.push_str(&seg.uri);
            out.push('\n');
        }
        if self.ended {
            out.push_str("#EXT-X-ENDLIST\n");
        }
        out
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
}
