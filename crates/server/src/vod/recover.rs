//! Crash recovery of recordings: at start-up, every broadcast a crash (or a
//! power cut) left open is finalised from what is on disk, so it lists and
//! plays as a VOD instead of as a live stream that never ends.
//!
//! The recording writer makes this possible: a segment is fsynced before its
//! playlist entry is appended, and the playlist is fsynced after each append
//! (`hls::recording`). So whatever entry survived names a segment whose bytes
//! survived too; what follows the last complete entry (a torn line, a segment
//! still being written) is dropped. Each kept segment is also checked: its
//! MP4 boxes must fill the file exactly, so a segment torn by a power cut is
//! dropped with everything after it.

use std::path::Path;

use crate::db::{Db, now_ms};
use crate::hls::recording::{PLAYLIST, write_playlist_durably};

/// Why an open broadcast could not be finalised.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// The database failed.
    #[error("reading or closing open broadcasts failed")]
    Db(#[from] sqlx::Error),
    /// The recording's files could not be read or written.
    #[error("finalising the recording in {dir} failed")]
    Io {
        /// The recording's directory.
        dir: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

/// What finalising one recording found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finalised {
    /// Segments kept in the playlist.
    pub segments: usize,
    /// Entries or files dropped (torn or unlisted).
    pub dropped: usize,
    /// Media length of the kept segments, seconds.
    pub duration: f64,
}

/// Finalises and closes every broadcast left open: its recording's playlist
/// completed (`PLAYLIST-TYPE:VOD`, `EXT-X-ENDLIST`, torn tail dropped), its
/// duration stored, the row ended (so the channel is offline). Returns how
/// many were closed. Call before any publisher is accepted.
pub async fn close_open_broadcasts(db: &Db, data_dir: &Path) -> Result<u64, RecoverError> {
    let open: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, vod_dir FROM broadcasts WHERE ended_at IS NULL")
            .fetch_all(&db.pool)
            .await?;
    for (id, vod_dir) in &open {
        let Some(rel) = vod_dir else { continue };
        let dir = data_dir.join(rel);
        match finalise_dir(&dir) {
            Ok(f) => {
                tracing::warn!(
                    broadcast = id,
                    segments = f.segments,
                    dropped = f.dropped,
                    duration = f.duration,
                    "recovered the recording of a broadcast left open by an unclean stop"
                );
                crate::vod::store::set_duration(db, *id, (f.duration * 1000.0) as i64).await?;
            }
            Err(source) => {
                // The VOD may not play, but the channel must not stay live.
                let e = RecoverError::Io {
                    dir: dir.display().to_string(),
                    source,
                };
                tracing::error!(
                    broadcast = id,
                    error = &e as &dyn std::error::Error,
                    "recovery"
                );
            }
        }
    }
    let closed = sqlx::query("UPDATE broadcasts SET ended_at = $1 WHERE ended_at IS NULL")
        .bind(now_ms())
        .execute(&db.pool)
        .await?;
    Ok(closed.rows_affected())
}

/// Completes the playlist in `dir` from the segments on disk. A recording
/// with no playlist (it ended before its first segment) is left as it is.
pub fn finalise_dir(dir: &Path) -> std::io::Result<Finalised> {
    let path = dir.join(PLAYLIST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dropped = remove_unlisted(dir, &[])?;
            return Ok(Finalised {
                segments: 0,
                dropped,
                duration: 0.0,
            });
        }
        Err(e) => return Err(e),
    };
    let (header, entries, mut dropped) = parse(&text);
    let total = entries.len();
    let mut kept = Vec::new();
    for entry in entries {
        if segment_is_whole(&dir.join(&entry.uri)) {
            kept.push(entry);
        } else {
            break;
        }
    }
    dropped += total - kept.len();
    let mut out = finished_header(&header, &kept);
    for e in &kept {
        out.push_str(&e.lines);
    }
    out.push_str("#EXT-X-ENDLIST\n");
    write_playlist_durably(dir, &out)?;
    let listed: Vec<&str> = kept.iter().map(|e| e.uri.as_str()).collect();
    dropped += remove_unlisted(dir, &listed)?;
    Ok(Finalised {
        segments: kept.len(),
        dropped,
        duration: kept.iter().map(|e| e.duration).sum(),
    })
}

/// The recording's header as a finished VOD's: `PLAYLIST-TYPE:VOD`, and a
/// target duration no segment exceeds (the growing playlist wrote it when it
/// had one segment).
fn finished_header(header: &str, kept: &[Entry]) -> String {
    let longest = kept.iter().map(|e| e.duration).fold(0.0, f64::max);
    header
        .lines()
        .map(|line| {
            if line == "#EXT-X-PLAYLIST-TYPE:EVENT" {
                "#EXT-X-PLAYLIST-TYPE:VOD".to_string()
            } else if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
                let had: u64 = v.trim().parse().unwrap_or(1);
                format!("#EXT-X-TARGETDURATION:{}", had.max(longest.round() as u64))
            } else {
                line.to_string()
            }
        })
        .fold(String::with_capacity(header.len() + 8), |mut out, line| {
            out.push_str(&line);
            out.push('\n');
            out
        })
}

/// One segment's lines in the playlist.
#[derive(Debug)]
struct Entry {
    /// Its lines (date-time, `EXTINF`, URI), newline-terminated.
    lines: String,
    uri: String,
    duration: f64,
}

/// Splits a recording's playlist into its header and complete entries; a torn
/// last line or an entry without its URI counts as dropped.
fn parse(text: &str) -> (String, Vec<Entry>, usize) {
    let mut header = String::new();
    let mut entries = Vec::new();
    let mut pending = String::new();
    let mut duration = None;
    let mut in_header = true;
    let mut dropped = 0;
    // Only newline-terminated lines were written whole.
    let whole = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    if whole.len() < text.len() {
        dropped += 1;
    }
    for line in whole.lines() {
        if line == "#EXT-X-ENDLIST" {
            continue;
        }
        let starts_entry =
            line.starts_with("#EXT-X-PROGRAM-DATE-TIME") || line.starts_with("#EXTINF");
        if in_header && !starts_entry {
            header.push_str(line);
            header.push('\n');
            continue;
        }
        in_header = false;
        pending.push_str(line);
        pending.push('\n');
        if let Some(v) = line.strip_prefix("#EXTINF:") {
            duration = v
                .trim_end_matches(',')
                .split(',')
                .next()
                .and_then(|d| d.parse().ok());
        } else if !line.starts_with('#') && !line.is_empty() {
            match duration.take() {
                Some(d) => entries.push(Entry {
                    lines: std::mem::take(&mut pending),
                    uri: line.to_string(),
                    duration: d,
                }),
                None => {
                    pending.clear();
                    dropped += 1;
                }
            }
        }
    }
    if !pending.is_empty() && duration.is_some() {
        dropped += 1;
    }
    (header, entries, dropped)
}

/// True when `path`'s MP4 boxes (size + type headers) fill it exactly.
fn segment_is_whole(path: &Path) -> bool {
    let Ok(data) = std::fs::read(path) else {
        return false;
    };
    boxes_fill(&data)
}

/// True when `data` is a non-empty sequence of whole ISO-BMFF boxes.
fn boxes_fill(data: &[u8]) -> bool {
    let mut at = 0usize;
    while at < data.len() {
        let Some(head) = data.get(at..at + 8) else {
            return false;
        };
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
        let size = match size {
            1 => match data.get(at + 8..at + 16) {
                Some(b) => u64::from_be_bytes(b.try_into().unwrap_or_default()),
                None => return false,
            },
            0 => (data.len() - at) as u64,
            s => s,
        };
        if size < 8 || size > (data.len() - at) as u64 {
            return false;
        }
        at += size as usize;
    }
    !data.is_empty()
}

/// Deletes segment files in `dir` the playlist does not list (a segment the
/// crash cut short); returns how many. The init segment and other files stay.
fn remove_unlisted(dir: &Path, listed: &[&str]) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".m4s") && crate::hls::is_segment_name(name) && !listed.contains(&name) {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A box of `len` bytes (header included) of type `kind`.
    fn mp4_box(kind: &[u8; 4], len: u32) -> Vec<u8> {
        let mut b = len.to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.resize(len as usize, 0xab);
        b
    }

    fn segment() -> Vec<u8> {
        [mp4_box(b"moof", 100), mp4_box(b"mdat", 900)].concat()
    }

    const HEADER: &str = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:1\n\
        #EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MAP:URI=\"7_init.mp4\"\n";

    fn entry(i: u32) -> String {
        format!(
            "#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:0{i}.000Z\n#EXTINF:1.000,\n7_{i:05}.m4s\n"
        )
    }

    #[test]
    fn boxes_must_fill_the_file() {
        assert!(boxes_fill(&segment()));
        let s = segment();
        assert!(!boxes_fill(&s[..s.len() - 1]), "torn mdat");
        assert!(!boxes_fill(&s[..104]), "torn header of the second box");
        assert!(!boxes_fill(&[]));
        assert!(
            !boxes_fill(&[0, 0, 0, 4, b'f', b'r', b'e', b'e']),
            "size < 8"
        );
    }

    #[test]
    fn a_crashed_recording_is_completed_and_its_torn_tail_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("7_init.mp4"), mp4_box(b"ftyp", 24)).unwrap();
        for i in 0..3 {
            std::fs::write(d.join(format!("7_{i:05}.m4s")), segment()).unwrap();
        }
        // Segment 3 was being written (unlisted, half a box); the playlist's
        // last line was cut mid-write.
        std::fs::write(d.join("7_00003.m4s"), &segment()[..500]).unwrap();
        let long = entry(2).replace("#EXTINF:1.000,", "#EXTINF:2.600,");
        let text = format!(
            "{HEADER}{}{}{long}#EXT-X-PROGRAM-DATE-TIME:2026-12",
            entry(0),
            entry(1)
        );
        std::fs::write(d.join(PLAYLIST), text).unwrap();

        let f = finalise_dir(d).unwrap();
        assert_eq!(f.segments, 3);
        assert!((f.duration - 4.6).abs() < 1e-9, "{f:?}");
        assert_eq!(f.dropped, 2, "{f:?}: torn line + unlisted segment");
        let out = std::fs::read_to_string(d.join(PLAYLIST)).unwrap();
        assert!(out.contains("#EXT-X-PLAYLIST-TYPE:VOD\n"), "{out}");
        assert!(
            out.contains("#EXT-X-TARGETDURATION:3\n"),
            "segment 2 is 2.6 s: {out}"
        );
        assert!(!out.contains("EVENT"), "{out}");
        assert!(out.ends_with("7_00002.m4s\n#EXT-X-ENDLIST\n"), "{out}");
        assert!(!d.join("7_00003.m4s").exists());
        assert!(d.join("7_init.mp4").exists());
        // Idempotent: a second pass changes nothing.
        let again = finalise_dir(d).unwrap();
        assert_eq!(again.segments, 3);
        assert_eq!(std::fs::read_to_string(d.join(PLAYLIST)).unwrap(), out);
    }

    #[test]
    fn a_listed_segment_torn_by_a_power_cut_ends_the_recording_there() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("7_00000.m4s"), segment()).unwrap();
        std::fs::write(d.join("7_00001.m4s"), &segment()[..700]).unwrap();
        std::fs::write(d.join("7_00002.m4s"), segment()).unwrap();
        let text = format!("{HEADER}{}{}{}", entry(0), entry(1), entry(2));
        std::fs::write(d.join(PLAYLIST), text).unwrap();

        let f = finalise_dir(d).unwrap();
        assert_eq!(f.segments, 1, "{f:?}");
        let out = std::fs::read_to_string(d.join(PLAYLIST)).unwrap();
        assert!(out.ends_with("7_00000.m4s\n#EXT-X-ENDLIST\n"), "{out}");
        assert!(!d.join("7_00001.m4s").exists() && !d.join("7_00002.m4s").exists());
    }

    #[test]
    fn a_recording_without_a_playlist_keeps_no_segments() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("7_00000.m4s"), &segment()[..10]).unwrap();
        let f = finalise_dir(dir.path()).unwrap();
        assert_eq!((f.segments, f.dropped), (0, 1));
        assert!(!dir.path().join(PLAYLIST).exists());
    }
}
