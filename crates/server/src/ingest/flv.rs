//! Re-wraps RTMP audio/video message bodies as an FLV byte stream.
//!
//! An RTMP audio or video message body *is* an FLV tag body, so the stream fed
//! to `flvdemux` is: the 13-byte FLV file header once, then per message an
//! 11-byte tag header, the body, and the 4-byte "previous tag size".

/// FLV tag type of an audio message.
pub const TAG_AUDIO: u8 = 8;
/// FLV tag type of a video message.
pub const TAG_VIDEO: u8 = 9;

/// The 13-byte FLV file header announcing audio and/or video, followed by
/// `PreviousTagSize0 = 0`.
pub fn file_header(has_audio: bool, has_video: bool) -> [u8; 13] {
    let flags = (u8::from(has_audio) << 2) | u8::from(has_video);
    [b'F', b'L', b'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0]
}

/// One FLV tag (header, body, trailing size) for a message of `tag_type`
/// with the RTMP timestamp in milliseconds (FLV keeps 32 bits: 24 + 8 extended).
pub fn tag(tag_type: u8, timestamp_ms: u32, body: &[u8]) -> Vec<u8> {
    // Bodies come from RTMP messages, whose length field is 24 bits, so this
    // never truncates; clamp anyway rather than wrap.
    let len = u32::try_from(body.len())
        .unwrap_or(u32::MAX)
        .min(0x00FF_FFFF);
    let body = &body[..len as usize];
    let mut out = Vec::with_capacity(11 + body.len() + 4);
    out.push(tag_type);
    out.extend_from_slice(&len.to_be_bytes()[1..4]);
    let ts = timestamp_ms.to_be_bytes();
    out.extend_from_slice(&ts[1..4]);
    out.push(ts[0]);
    out.extend_from_slice(&[0, 0, 0]); // stream id, always 0
    out.extend_from_slice(body);
    out.extend_from_slice(&(len + 11).to_be_bytes());
    out
}

/// What kind of video tag body this is (FLV `AVCPacketType` for H.264).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoKind {
    /// AVC decoder configuration (SPS/PPS): must reach the demuxer first.
    SequenceHeader,
    /// A keyframe.
    Keyframe,
    /// Any other frame.
    Inter,
    /// End of sequence, unknown codec or an empty body.
    Other,
}

/// Classifies a video message body.
pub fn video_kind(body: &[u8]) -> VideoKind {
    let Some(&first) = body.first() else {
        return VideoKind::Other;
    };
    let frame_type = first >> 4;
    let codec = first & 0x0F;
    if codec != 7 {
        // Not H.264: we only care whether it is a keyframe.
        return if frame_type == 1 {
            VideoKind::Keyframe
        } else {
            VideoKind::Other
        };
    }
    match (frame_type, body.get(1)) {
        (_, Some(0)) => VideoKind::SequenceHeader,
        (1, Some(1)) => VideoKind::Keyframe,
        (_, Some(1)) => VideoKind::Inter,
        _ => VideoKind::Other,
    }
}

/// Whether an audio message body is an AAC sequence header (AudioSpecificConfig).
pub fn is_audio_sequence_header(body: &[u8]) -> bool {
    matches!(body, [first, 0, ..] if first >> 4 == 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_flags_follow_tracks() {
        assert_eq!(file_header(true, true)[4], 5);
        assert_eq!(file_header(true, false)[4], 4);
        assert_eq!(file_header(false, true)[4], 1);
    }

    #[test]
    fn tag_layout_matches_flv_spec() {
        let t = tag(TAG_VIDEO, 0x0102_0304, &[0x17, 0x01, 0xAA]);
        assert_eq!(t[0], 9);
        assert_eq!(&t[1..4], &[0, 0, 3]);
        assert_eq!(&t[4..8], &[0x02, 0x03, 0x04, 0x01]);
        assert_eq!(&t[11..14], &[0x17, 0x01, 0xAA]);
        assert_eq!(&t[14..18], &14u32.to_be_bytes());
    }

    #[test]
    fn classifies_h264_and_aac() {
        assert_eq!(video_kind(&[0x17, 0x00]), VideoKind::SequenceHeader);
        assert_eq!(video_kind(&[0x17, 0x01]), VideoKind::Keyframe);
        assert_eq!(video_kind(&[0x27, 0x01]), VideoKind::Inter);
        assert_eq!(video_kind(&[]), VideoKind::Other);
        assert!(is_audio_sequence_header(&[0xAF, 0x00, 0x12]));
        assert!(!is_audio_sequence_header(&[0xAF, 0x01]));
    }
}
