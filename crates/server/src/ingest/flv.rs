//! Reads RTMP audio/video message bodies, which are FLV tag bodies
//! (E.4.2.1 / E.4.3.1 of the FLV spec): the decoder configurations and the
//! coded frames inside, without copying them.

/// FLV codec id of H.264 (AVC).
const CODEC_AVC: u8 = 7;
/// FLV sound format of AAC.
const SOUND_AAC: u8 = 10;

/// What an RTMP video message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoTag<'a> {
    /// The `AVCDecoderConfigurationRecord` (SPS/PPS).
    Config(&'a [u8]),
    /// One access unit of length-prefixed NAL units.
    Frame {
        /// An IDR frame (FLV frame type 1).
        keyframe: bool,
        /// Presentation minus decode time, milliseconds (B-frames).
        composition_ms: i32,
        /// The NAL units.
        nalus: &'a [u8],
    },
    /// A codec other than H.264.
    Unsupported,
    /// End of sequence, a command frame or an empty body.
    Other,
}

/// What an RTMP audio message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioTag<'a> {
    /// The `AudioSpecificConfig`.
    Config(&'a [u8]),
    /// One raw AAC frame.
    Frame(&'a [u8]),
    /// A format other than AAC, or a malformed body.
    Unsupported,
}

/// Reads a video message body.
pub fn video_tag(body: &[u8]) -> VideoTag<'_> {
    let Some(&first) = body.first() else {
        return VideoTag::Other;
    };
    let frame_type = first >> 4;
    if first & 0x0F != CODEC_AVC {
        return VideoTag::Unsupported;
    }
    if frame_type == 5 || body.len() < 5 {
        return VideoTag::Other; // video info / command frame, or truncated
    }
    match body[1] {
        0 => VideoTag::Config(&body[5..]),
        1 if body.len() > 5 => {
            // 24-bit signed composition time.
            let raw = i32::from_be_bytes([0, body[2], body[3], body[4]]);
            let composition_ms = (raw << 8) >> 8;
            VideoTag::Frame {
                keyframe: frame_type == 1,
                composition_ms,
                nalus: &body[5..],
            }
        }
        _ => VideoTag::Other,
    }
}

/// Reads an audio message body.
pub fn audio_tag(body: &[u8]) -> AudioTag<'_> {
    match body {
        [first, 0, config @ ..] if first >> 4 == SOUND_AAC && !config.is_empty() => {
            AudioTag::Config(config)
        }
        [first, 1, frame @ ..] if first >> 4 == SOUND_AAC && !frame.is_empty() => {
            AudioTag::Frame(frame)
        }
        _ => AudioTag::Unsupported,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_h264_tags() {
        assert_eq!(
            video_tag(&[0x17, 0x00, 0, 0, 0, 1, 0x64]),
            VideoTag::Config(&[1, 0x64])
        );
        assert_eq!(
            video_tag(&[0x17, 0x01, 0, 0, 0x42, 0, 0, 0, 1, 0x65]),
            VideoTag::Frame {
                keyframe: true,
                composition_ms: 0x42,
                nalus: &[0, 0, 0, 1, 0x65]
            }
        );
        // Negative composition offsets are sign-extended from 24 bits.
        assert!(matches!(
            video_tag(&[0x27, 0x01, 0xFF, 0xFF, 0xFE, 9]),
            VideoTag::Frame {
                keyframe: false,
                composition_ms: -2,
                ..
            }
        ));
        assert_eq!(video_tag(&[0x17, 0x02, 0, 0, 0]), VideoTag::Other);
        assert_eq!(video_tag(&[0x17, 0x01]), VideoTag::Other);
        assert_eq!(video_tag(&[]), VideoTag::Other);
        assert_eq!(video_tag(&[0x12, 0, 0]), VideoTag::Unsupported); // Sorenson
    }

    #[test]
    fn reads_aac_tags() {
        assert_eq!(
            audio_tag(&[0xAF, 0x00, 0x12, 0x10]),
            AudioTag::Config(&[0x12, 0x10])
        );
        assert_eq!(
            audio_tag(&[0xAF, 0x01, 0x21, 0x00]),
            AudioTag::Frame(&[0x21, 0x00])
        );
        assert_eq!(audio_tag(&[0xAF, 0x01]), AudioTag::Unsupported);
        assert_eq!(audio_tag(&[0x2F, 0x01, 0xFF]), AudioTag::Unsupported); // MP3
        assert_eq!(audio_tag(&[]), AudioTag::Unsupported);
    }
}
