use super::*;

/// Walks the boxes of `data`: (type, body) in order.
fn boxes(data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 8 {
        let size = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        assert!(
            size >= 8 && size <= rest.len(),
            "box size {size} out of bounds"
        );
        out.push((rest[4..8].try_into().unwrap(), &rest[8..size]));
        rest = &rest[size..];
    }
    assert!(rest.is_empty(), "trailing bytes after the last box");
    out
}

fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> &'a [u8] {
    boxes(body)
        .into_iter()
        .find(|(k, _)| k == kind)
        .map(|(_, b)| b)
        .unwrap_or_else(|| panic!("no {} box", String::from_utf8_lossy(kind)))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn audio_specific_config_gives_rate_and_channels() {
    let lc_44k_stereo = AudioConfig::from_asc(Bytes::from_static(&[0x12, 0x10])).unwrap();
    assert_eq!(
        (lc_44k_stereo.sample_rate, lc_44k_stereo.channels),
        (44_100, 2)
    );
    let lc_48k_stereo = AudioConfig::from_asc(Bytes::from_static(&[0x11, 0x90])).unwrap();
    assert_eq!(
        (lc_48k_stereo.sample_rate, lc_48k_stereo.channels),
        (48_000, 2)
    );
    assert!(AudioConfig::from_asc(Bytes::from_static(&[0x12])).is_none());
    // Frequency index 13 is reserved.
    assert!(AudioConfig::from_asc(Bytes::from_static(&[0x16, 0x90])).is_none());
}

#[test]
fn sps_dimensions_from_real_x264_headers() {
    // x264, High 4:4:4 (profile 244, chroma_format_idc 3), 1280x720.
    let high444 = hex("67f4001f919b280a00b76022000003000200000300781e30632c");
    assert_eq!(sps_dimensions(&high444), Some((1280, 720)));
    // x264, High 4:2:0, 854x480: width cropped from 864.
    let high = hex("6764001facd940d83de6f0110000030001000003003c0f183196");
    assert_eq!(sps_dimensions(&high), Some((854, 480)));
    assert_eq!(sps_dimensions(&high[..4]), None);
}

fn avcc_for(sps: &[u8]) -> Bytes {
    let pps = [0x68, 0xeb, 0xe3, 0xcb];
    let mut v = vec![1, sps[1], sps[2], sps[3], 0xFF, 0xE1];
    v.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    v.extend_from_slice(sps);
    v.push(1);
    v.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    v.extend_from_slice(&pps);
    Bytes::from(v)
}

#[test]
fn init_segment_describes_both_tracks() {
    let video = VideoConfig::from_avcc(avcc_for(&hex(
        "6764001facd940d83de6f0110000030001000003003c0f183196",
    )))
    .unwrap();
    assert_eq!((video.width, video.height), (854, 480));
    assert_eq!(video.codec(), "avc1.64001f");
    let audio = AudioConfig::from_asc(Bytes::from_static(&[0x11, 0x90])).unwrap();
    let init = init_segment(Some(&video), Some(&audio));
    let top = boxes(&init);
    assert_eq!(
        top.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        [*b"ftyp", *b"moov"]
    );
    let moov = top[1].1;
    let kinds: Vec<_> = boxes(moov).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, [*b"mvhd", *b"trak", *b"trak", *b"mvex"]);
    let traks: Vec<_> = boxes(moov)
        .into_iter()
        .filter(|(k, _)| k == b"trak")
        .collect();
    // Video: timescale 90 kHz, avcC carried verbatim.
    let mdia = child(traks[0].1, b"mdia");
    assert_eq!(
        &child(mdia, b"mdhd")[12..16],
        &VIDEO_TIMESCALE.to_be_bytes()
    );
    let stsd = child(child(child(mdia, b"minf"), b"stbl"), b"stsd");
    let avc1 = child(&stsd[8..], b"avc1");
    assert_eq!(&avc1[24..28], &[0x03, 0x56, 0x01, 0xE0]); // 854 x 480
    assert_eq!(child(&avc1[78..], b"avcC"), &video.avcc[..]);
    // Audio: timescale = sample rate, ASC inside esds.
    let mdia = child(traks[1].1, b"mdia");
    assert_eq!(&child(mdia, b"mdhd")[12..16], &48_000u32.to_be_bytes());
    let stsd = child(child(child(mdia, b"minf"), b"stbl"), b"stsd");
    let mp4a = child(&stsd[8..], b"mp4a");
    let esds = child(&mp4a[28..], b"esds");
    assert!(
        esds.windows(2).any(|w| w == [0x11, 0x90]),
        "ASC missing from esds"
    );
    // Audio-only streams get one track.
    let only_audio = init_segment(None, Some(&audio));
    let moov = boxes(&only_audio)[1].1;
    assert_eq!(boxes(moov).iter().filter(|(k, _)| k == b"trak").count(), 1);
}

#[test]
fn fragment_offsets_point_at_each_tracks_samples() {
    let sample = |data: &'static [u8], keyframe| Sample {
        duration: 3000,
        composition_offset: 0,
        keyframe,
        data: Bytes::from_static(data),
    };
    let runs = [
        TrackRun {
            track_id: VIDEO_TRACK,
            base_decode_time: 90_000,
            samples: vec![sample(b"VVVV", true), sample(b"vv", false)],
        },
        TrackRun {
            track_id: AUDIO_TRACK,
            base_decode_time: 48_000,
            samples: vec![sample(b"AAA", true)],
        },
    ];
    let frag = fragment(7, &runs);
    let top = boxes(&frag);
    assert_eq!(
        top.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        [*b"moof", *b"mdat"]
    );
    assert_eq!(top[1].1, b"VVVVvvAAA");
    let moof_len = 8 + top[0].1.len();
    assert_eq!(&child(top[0].1, b"mfhd")[4..8], &7u32.to_be_bytes());
    let trafs: Vec<_> = boxes(top[0].1)
        .into_iter()
        .filter(|(k, _)| k == b"traf")
        .collect();
    assert_eq!(trafs.len(), 2);
    for (traf, (first, base)) in trafs
        .iter()
        .zip([(&b"VVVV"[..], 90_000u64), (&b"AAA"[..], 48_000)])
    {
        assert_eq!(&child(traf.1, b"tfdt")[4..12], &base.to_be_bytes());
        let trun = child(traf.1, b"trun");
        let offset = u32::from_be_bytes(trun[8..12].try_into().unwrap()) as usize;
        assert_eq!(
            &frag[offset..offset + first.len()],
            first,
            "data offset of track"
        );
        assert!(offset >= moof_len + 8);
    }
    // The second video sample is not a sync sample.
    let trun = child(trafs[0].1, b"trun");
    assert_eq!(&trun[12 + 8..12 + 12], &SYNC.to_be_bytes());
    assert_eq!(&trun[12 + 16 + 8..12 + 16 + 12], &NON_SYNC.to_be_bytes());
}

#[test]
fn arbitrary_configuration_bytes_never_panic() {
    // Deterministic xorshift: these parsers read bytes straight off the network.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..50_000 {
        let len = (next() % 48) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let _ = sps_dimensions(&bytes);
        let _ = AudioConfig::from_asc(Bytes::from(bytes.clone()));
        if bytes.len() > 8 {
            bytes[0] = 1; // looks like an avcC record
            bytes[5] = 0xE1;
            bytes[6] = 0;
        }
        let _ = VideoConfig::from_avcc(Bytes::from(bytes));
    }
    // Exp-Golomb values at their limits.
    let _ = sps_dimensions(&[0x67, 0x64, 0, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0]);
    let _ = sps_dimensions(&[
        0x67, 0x42, 0, 0x1f, 0x80, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF,
    ]);
}
