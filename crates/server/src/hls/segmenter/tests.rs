use super::*;

fn cfg() -> SegmenterConfig {
    SegmenterConfig {
        segment: Duration::from_millis(1000),
        part: Duration::from_millis(200),
    }
}

fn video_config() -> VideoConfig {
    // avcC around an x264 SPS (854x480) and a PPS.
    let sps: &[u8] = &[
        0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0xd8, 0x3d, 0xe6, 0xf0, 0x11, 0x00, 0x00, 0x03,
        0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x0f, 0x18, 0x31, 0x96,
    ];
    let mut v = vec![1, 0x64, 0x00, 0x1f, 0xFF, 0xE1, 0, sps.len() as u8];
    v.extend_from_slice(sps);
    v.extend_from_slice(&[1, 0, 4, 0x68, 0xeb, 0xe3, 0xcb]);
    VideoConfig::from_avcc(Bytes::from(v)).unwrap()
}

fn audio_config() -> AudioConfig {
    AudioConfig::from_asc(Bytes::from_static(&[0x11, 0x90])).unwrap()
}

/// Feeds `secs` of 30 fps video (keyframe every `gop` frames, timestamps in
/// whole milliseconds like RTMP) interleaved with 48 kHz AAC frames.
fn feed(s: &mut Segmenter, secs: f64, gop: u32, audio: bool) -> Vec<Output> {
    let mut out = Vec::new();
    let frames = (secs * 30.0) as u32;
    let mut next_audio = 0.0f64;
    for i in 0..frames {
        let t_ms = (f64::from(i) * 1000.0 / 30.0).round() as i64;
        while audio && next_audio <= t_ms as f64 {
            out.extend(s.push_audio(
                (next_audio.round() as i64) * 1000,
                Bytes::from_static(b"aac"),
            ));
            next_audio += 1024.0 * 1000.0 / 48_000.0;
        }
        out.extend(s.push_video(t_ms * 1000, 0, i % gop == 0, Bytes::from_static(b"frame")));
    }
    out.extend(s.finish());
    out
}

fn parts(out: &[Output]) -> Vec<(u64, u32, f64, bool)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Part {
                segment,
                index,
                duration,
                independent,
                ..
            } => Some((*segment, *index, *duration, *independent)),
            _ => None,
        })
        .collect()
}

fn segments(out: &[Output]) -> Vec<(u64, f64, i64, usize)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Segment {
                index,
                duration,
                start_us,
            } => Some((*index, *duration, *start_us, 0)),
            _ => None,
        })
        .collect()
}

#[test]
fn parts_stay_within_target_and_segments_cut_at_keyframes() {
    let mut s = Segmenter::new(cfg());
    s.announce(true, true);
    s.set_video_config(video_config());
    s.set_audio_config(audio_config());
    let out = feed(&mut s, 5.0, 15, true);
    assert!(
        matches!(out.first(), Some(Output::Init(_))),
        "init comes first"
    );
    let parts = parts(&out);
    let segs = segments(&out);
    // 5 s of 0.5 s GOPs into >= 1 s segments: five 1 s segments.
    assert_eq!(segs.len(), 5, "{segs:?}");
    for (i, (index, duration, start_us, _)) in segs.iter().enumerate() {
        assert_eq!(*index, i as u64);
        assert!(
            (duration - 1.0).abs() < 0.005,
            "segment {i} lasts {duration}"
        );
        assert_eq!(*start_us, i as i64 * 1_000_000);
    }
    for (seg, index, duration, independent) in &parts {
        assert!(
            *duration <= 0.2 + 0.002,
            "part {seg}.{index} lasts {duration}"
        );
        assert!(
            *duration >= 0.15,
            "part {seg}.{index} is too short: {duration}"
        );
        // Keyframes fall on part starts at these settings (0.5 s GOP).
        assert_eq!(
            *independent,
            *index == 0 || (*index > 0 && duration_sum(&parts, *seg, *index) % 0.5 < 0.01),
            "{seg}.{index}"
        );
    }
    // A segment is exactly its parts: durations add up.
    for (index, duration, _, _) in &segs {
        let mine: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                Output::Part {
                    segment,
                    duration,
                    data,
                    ..
                } if segment == index => Some((*duration, data.len())),
                _ => None,
            })
            .collect();
        let total: f64 = mine.iter().map(|m| m.0).sum();
        assert!(
            (total - duration).abs() < 0.002,
            "segment {index}: parts {total} vs {duration}"
        );
        assert!(
            mine.iter().all(|m| m.1 > 0),
            "empty part in segment {index}"
        );
    }
    assert_eq!(s.dropped(), 0);
}

/// Media time at which part `index` of segment `seg` starts, within the segment.
fn duration_sum(parts: &[(u64, u32, f64, bool)], seg: u64, index: u32) -> f64 {
    parts
        .iter()
        .filter(|p| p.0 == seg && p.1 < index)
        .map(|p| p.2)
        .sum()
}

#[test]
fn frames_before_the_first_keyframe_or_config_are_dropped() {
    let mut s = Segmenter::new(cfg());
    s.announce(true, false);
    // No configuration yet: dropped.
    assert!(
        s.push_video(0, 0, true, Bytes::from_static(b"x"))
            .is_empty()
    );
    s.set_video_config(video_config());
    let mut out = Vec::new();
    // Two delta frames, then the stream starts at the keyframe.
    for (i, key) in [false, false, true, false, false].into_iter().enumerate() {
        out.extend(s.push_video(i as i64 * 33_000, 0, key, Bytes::from_static(b"f")));
    }
    out.extend(s.finish());
    assert_eq!(s.dropped(), 3);
    let segs = segments(&out);
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0].2, 66_000, "starts at the keyframe's time");
    assert!(parts(&out)[0].3, "first part is independent");
}

#[test]
fn audio_only_streams_are_cut_on_audio() {
    let mut s = Segmenter::new(cfg());
    s.announce(false, true);
    s.set_audio_config(audio_config());
    let mut out = Vec::new();
    for i in 0..(48_000 * 3 / 1024) {
        let t_us = (i as f64 * 1024.0 * 1e6 / 48_000.0) as i64 / 1000 * 1000; // ms precision
        out.extend(s.push_audio(t_us, Bytes::from_static(b"a")));
    }
    out.extend(s.finish());
    let segs = segments(&out);
    assert!(segs.len() >= 2, "{segs:?}");
    assert!(
        segs[..segs.len() - 1]
            .iter()
            .all(|s| (s.1 - 1.0).abs() < 0.03)
    );
    assert!(parts(&out).iter().all(|p| p.2 <= 0.2 + 0.002 && p.3));
}

#[test]
fn without_metadata_tracks_settle_from_what_arrived() {
    let mut s = Segmenter::new(cfg());
    s.set_video_config(video_config());
    let mut out = Vec::new();
    for i in 0..30 {
        out.extend(s.push_video(i * 33_333, 0, i % 15 == 0, Bytes::from_static(b"f")));
    }
    // Audio configured after the tracks were fixed: not part of the stream.
    s.set_audio_config(audio_config());
    out.extend(s.push_audio(1_000_000, Bytes::from_static(b"a")));
    out.extend(s.finish());
    let inits = out.iter().filter(|o| matches!(o, Output::Init(_))).count();
    assert_eq!(inits, 1);
    assert_eq!(s.dropped(), 1, "the late track's frame is dropped");
    let total: f64 = segments(&out).iter().map(|s| s.1).sum();
    assert!((total - 1.0).abs() < 0.01, "all 30 frames kept: {total}");
}

#[test]
fn a_stream_without_keyframes_still_gets_bounded_segments() {
    let mut s = Segmenter::new(cfg());
    s.announce(true, false);
    s.set_video_config(video_config());
    let mut out = Vec::new();
    for i in 0..(30 * 25) {
        out.extend(s.push_video(i * 33_333, 0, i == 0, Bytes::from_static(b"f")));
    }
    let segs = segments(&out);
    assert!(!segs.is_empty(), "a segment is cut even without keyframes");
    assert!(segs.iter().all(|s| s.1 <= MAX_SEGMENT.as_secs_f64() + 0.05));
}

#[test]
fn b_frames_keep_their_composition_offsets() {
    let mut s = Segmenter::new(cfg());
    s.announce(true, false);
    s.set_video_config(video_config());
    let mut out = Vec::new();
    for i in 0..40 {
        let cts = if i % 2 == 1 { 66_000 } else { 0 };
        out.extend(s.push_video(i * 33_000, cts, i % 30 == 0, Bytes::from_static(b"f")));
    }
    out.extend(s.finish());
    let Some(Output::Part { data, .. }) = out.iter().find(|o| matches!(o, Output::Part { .. }))
    else {
        panic!("no part");
    };
    // trun v1 carries the signed offsets: 66 ms = 5940 ticks on odd frames.
    let needle = 5940i32.to_be_bytes();
    assert!(
        data.windows(4).any(|w| w == needle),
        "composition offset missing"
    );
}

#[test]
fn decode_times_going_backwards_are_counted_and_smoothed() {
    let mut s = Segmenter::new(cfg());
    s.announce(true, false);
    s.set_video_config(video_config());
    let mut out = Vec::new();
    for (i, t) in [0i64, 33, 66, 50, 100, 133].into_iter().enumerate() {
        out.extend(s.push_video(t * 1000, 0, i == 0, Bytes::from_static(b"f")));
    }
    out.extend(s.finish());
    assert_eq!(s.late(), 1);
    assert_eq!(s.dropped(), 0, "late frames are kept");
    let total: f64 = parts(&out).iter().map(|p| p.2).sum();
    assert!(total > 0.13 && total < 0.2, "{total}");
}
