//! Fragmented MP4 (CMAF-style) writing: one init segment (`ftyp` + `moov`)
//! per broadcast and one `moof` + `mdat` fragment per LL-HLS part.
//!
//! Only what H.264 + AAC live streams need (ISO/IEC 14496-12 and -15). The
//! samples are copied once, from the ingest message into the fragment.

use bytes::Bytes;

/// Track id of the video track in every init segment and fragment.
pub const VIDEO_TRACK: u32 = 1;
/// Track id of the audio track.
pub const AUDIO_TRACK: u32 = 2;
/// Timescale of the video track (ticks per second), the MPEG convention.
pub const VIDEO_TIMESCALE: u32 = 90_000;

/// An H.264 track's decoder configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoConfig {
    /// The `AVCDecoderConfigurationRecord` (SPS/PPS), as carried by FLV and `avcC`.
    pub avcc: Bytes,
    /// Picture width in pixels (0 if unknown).
    pub width: u16,
    /// Picture height in pixels (0 if unknown).
    pub height: u16,
}

/// An AAC track's decoder configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioConfig {
    /// The `AudioSpecificConfig`, as carried by FLV and `esds`.
    pub asc: Bytes,
    /// Sampling rate in Hz (also the track's timescale).
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u16,
}

impl AudioConfig {
    /// Parses an `AudioSpecificConfig` (ISO/IEC 14496-3 1.6.2.1); `None` when
    /// it is too short or names a reserved sampling frequency.
    pub fn from_asc(asc: Bytes) -> Option<AudioConfig> {
        const RATES: [u32; 13] = [
            96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025,
            8_000, 7_350,
        ];
        let mut bits = BitReader::new(&asc);
        let mut object_type = bits.read(5)?;
        if object_type == 31 {
            object_type = 32 + bits.read(6)?;
        }
        let _ = object_type;
        let index = bits.read(4)? as usize;
        let sample_rate = if index == 15 {
            bits.read(24)?
        } else {
            *RATES.get(index)?
        };
        let channels = bits.read(4)? as u16;
        (sample_rate > 0).then_some(AudioConfig {
            asc,
            sample_rate,
            channels: channels.max(1),
        })
    }
}

impl VideoConfig {
    /// Builds a configuration from an `avcC` record, reading the picture size
    /// from its first SPS; `None` when the record is malformed.
    pub fn from_avcc(avcc: Bytes) -> Option<VideoConfig> {
        // version, profile, compat, level, lengthSizeMinusOne, numOfSPS, spsLength
        if avcc.len() < 8 || avcc[0] != 1 || avcc[5] & 0x1F == 0 {
            return None;
        }
        let sps_len = usize::from(u16::from_be_bytes([avcc[6], avcc[7]]));
        let sps = avcc.get(8..8 + sps_len)?;
        let (width, height) = sps_dimensions(sps).unwrap_or((0, 0));
        Some(VideoConfig {
            avcc,
            width,
            height,
        })
    }

    /// The RFC 6381 codec string, e.g. `avc1.64001f`.
    pub fn codec(&self) -> String {
        format!(
            "avc1.{:02x}{:02x}{:02x}",
            self.avcc[1], self.avcc[2], self.avcc[3]
        )
    }
}

/// Reads bits MSB first; also Exp-Golomb codes (H.264 7.2), skipping the
/// emulation-prevention bytes of a NAL unit when built with [`BitReader::nal`].
struct BitReader {
    data: Vec<u8>,
    pos: usize,
}

impl BitReader {
    fn new(data: &[u8]) -> Self {
        BitReader {
            data: data.to_vec(),
            pos: 0,
        }
    }

    /// A reader over an RBSP: `00 00 03` loses its `03`.
    fn nal(data: &[u8]) -> Self {
        let mut out = Vec::with_capacity(data.len());
        let mut zeros = 0;
        for &b in data {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            out.push(b);
        }
        BitReader { data: out, pos: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(bit))
    }

    fn read(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |acc, _| Some((acc << 1) | self.bit()?))
    }

    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u32 << zeros) - 1 + self.read(zeros)?)
    }

    fn se(&mut self) -> Option<i32> {
        let k = self.ue()?;
        let magnitude = k.div_ceil(2) as i32;
        Some(if k % 2 == 1 { magnitude } else { -magnitude })
    }
}

/// Picture width and height (after cropping) from an H.264 SPS NAL unit.
pub fn sps_dimensions(sps: &[u8]) -> Option<(u16, u16)> {
    let mut r = BitReader::nal(sps.get(1..)?);
    let profile = r.read(8)?;
    r.read(16)?; // constraint flags, level
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format = 1;
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format = r.ue()?;
        if chroma_format == 3 {
            r.bit()?; // separate_colour_plane_flag
        }
        r.ue()?; // bit_depth_luma
        r.ue()?; // bit_depth_chroma
        r.bit()?; // qpprime_y_zero_transform_bypass
        if r.bit()? == 1 {
            let lists = if chroma_format == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bit()? == 1 {
                    let size = if i < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i32, 8i32);
                    for _ in 0..size {
                        if next != 0 {
                            next = (last + r.se()? + 256) % 256;
                        }
                        if next != 0 {
                            last = next;
                        }
                    }
                }
            }
        }
    }
    r.ue()?; // log2_max_frame_num
    match r.ue()? {
        0 => {
            r.ue()?;
        }
        1 => {
            r.bit()?;
            r.se()?;
            r.se()?;
            for _ in 0..r.ue()?.min(255) {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.bit()?; // gaps_in_frame_num_allowed
    // u64 throughout: the values come from the network and may be absurd.
    let width_mbs = u64::from(r.ue()?) + 1;
    let height_map_units = u64::from(r.ue()?) + 1;
    let frame_mbs_only = u64::from(r.bit()?);
    if frame_mbs_only == 0 {
        r.bit()?; // mb_adaptive_frame_field
    }
    r.bit()?; // direct_8x8_inference
    let (mut crop_x, mut crop_y) = (0u64, 0u64);
    if r.bit()? == 1 {
        let (l, rt, t, b) = (r.ue()?, r.ue()?, r.ue()?, r.ue()?);
        let (unit_x, unit_y) = match chroma_format {
            0 => (1, 2 - frame_mbs_only),
            1 => (2, 2 * (2 - frame_mbs_only)),
            2 => (2, 2 - frame_mbs_only),
            _ => (1, 2 - frame_mbs_only),
        };
        crop_x = (u64::from(l) + u64::from(rt)) * unit_x;
        crop_y = (u64::from(t) + u64::from(b)) * unit_y;
    }
    let width = (width_mbs * 16).checked_sub(crop_x)?;
    let height = ((2 - frame_mbs_only) * height_map_units * 16).checked_sub(crop_y)?;
    Some((u16::try_from(width).ok()?, u16::try_from(height).ok()?))
}

/// One coded frame in a fragment.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Duration in track ticks.
    pub duration: u32,
    /// Presentation minus decode time, in track ticks (B-frames make it > 0).
    pub composition_offset: i32,
    /// A sync sample (IDR for video; every AAC frame).
    pub keyframe: bool,
    /// The frame: length-prefixed NAL units for H.264, a raw frame for AAC.
    pub data: Bytes,
}

/// One track's samples in a fragment.
#[derive(Debug, Clone)]
pub struct TrackRun {
    /// [`VIDEO_TRACK`] or [`AUDIO_TRACK`].
    pub track_id: u32,
    /// Decode time of the first sample, in track ticks.
    pub base_decode_time: u64,
    /// The samples, in decode order.
    pub samples: Vec<Sample>,
}

/// Appends a box: size placeholder, type, body, then patches the size.
fn boxed(out: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(kind);
    body(out);
    let size = u32::try_from(out.len() - start).unwrap_or(u32::MAX);
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// Appends a full box (version + 24-bit flags).
fn full(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    boxed(out, kind, |o| {
        o.push(version);
        o.extend_from_slice(&flags.to_be_bytes()[1..]);
        body(o);
    });
}

fn u16be(o: &mut Vec<u8>, v: u16) {
    o.extend_from_slice(&v.to_be_bytes());
}
fn u32be(o: &mut Vec<u8>, v: u32) {
    o.extend_from_slice(&v.to_be_bytes());
}

/// The identity transformation matrix of `mvhd`/`tkhd`.
fn matrix(o: &mut Vec<u8>) {
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        u32be(o, v);
    }
}

/// The init segment for the tracks present (at least one).
pub fn init_segment(video: Option<&VideoConfig>, audio: Option<&AudioConfig>) -> Bytes {
    let mut out = Vec::with_capacity(1024);
    boxed(&mut out, b"ftyp", |o| {
        o.extend_from_slice(b"iso6");
        u32be(o, 0);
        for brand in [b"iso6", b"cmfc", b"isom", b"mp41"] {
            o.extend_from_slice(brand);
        }
    });
    boxed(&mut out, b"moov", |o| {
        full(o, b"mvhd", 0, 0, |o| {
            u32be(o, 0); // creation
            u32be(o, 0); // modification
            u32be(o, 1000); // timescale
            u32be(o, 0); // duration: fragmented
            u32be(o, 0x0001_0000); // rate 1.0
            u16be(o, 0x0100); // volume 1.0
            o.extend_from_slice(&[0; 10]);
            matrix(o);
            o.extend_from_slice(&[0; 24]);
            u32be(o, AUDIO_TRACK + 1); // next_track_ID
        });
        if let Some(v) = video {
            video_trak(o, v);
        }
        if let Some(a) = audio {
            audio_trak(o, a);
        }
        boxed(o, b"mvex", |o| {
            for (id, present) in [
                (VIDEO_TRACK, video.is_some()),
                (AUDIO_TRACK, audio.is_some()),
            ] {
                if present {
                    full(o, b"trex", 0, 0, |o| {
                        u32be(o, id);
                        u32be(o, 1); // sample description index
                        u32be(o, 0);
                        u32be(o, 0);
                        u32be(o, 0);
                    });
                }
            }
        });
    });
    Bytes::from(out)
}

/// `trak` up to `stbl`, shared by both kinds; `stsd_entry` writes the sample entry.
fn trak(
    o: &mut Vec<u8>,
    track_id: u32,
    timescale: u32,
    (width, height): (u16, u16),
    audio: bool,
    stsd_entry: impl FnOnce(&mut Vec<u8>),
) {
    boxed(o, b"trak", |o| {
        full(o, b"tkhd", 0, 0x3, |o| {
            u32be(o, 0);
            u32be(o, 0);
            u32be(o, track_id);
            u32be(o, 0); // reserved
            u32be(o, 0); // duration
            o.extend_from_slice(&[0; 8]);
            u16be(o, 0); // layer
            u16be(o, 0); // alternate group
            u16be(o, if audio { 0x0100 } else { 0 });
            u16be(o, 0);
            matrix(o);
            u32be(o, u32::from(width) << 16);
            u32be(o, u32::from(height) << 16);
        });
        boxed(o, b"mdia", |o| {
            full(o, b"mdhd", 0, 0, |o| {
                u32be(o, 0);
                u32be(o, 0);
                u32be(o, timescale);
                u32be(o, 0);
                u16be(o, 0x55C4); // language "und"
                u16be(o, 0);
            });
            full(o, b"hdlr", 0, 0, |o| {
                u32be(o, 0);
                o.extend_from_slice(if audio { b"soun" } else { b"vide" });
                o.extend_from_slice(&[0; 12]);
                o.extend_from_slice(if audio { b"Audio\0" } else { b"Video\0" });
            });
            boxed(o, b"minf", |o| {
                if audio {
                    full(o, b"smhd", 0, 0, |o| u32be(o, 0));
                } else {
                    full(o, b"vmhd", 0, 1, |o| o.extend_from_slice(&[0; 8]));
                }
                boxed(o, b"dinf", |o| {
                    full(o, b"dref", 0, 0, |o| {
                        u32be(o, 1);
                        full(o, b"url ", 0, 1, |_| {});
                    });
                });
                boxed(o, b"stbl", |o| {
                    full(o, b"stsd", 0, 0, |o| {
                        u32be(o, 1);
                        stsd_entry(o);
                    });
                    full(o, b"stts", 0, 0, |o| u32be(o, 0));
                    full(o, b"stsc", 0, 0, |o| u32be(o, 0));
                    full(o, b"stsz", 0, 0, |o| o.extend_from_slice(&[0; 8]));
                    full(o, b"stco", 0, 0, |o| u32be(o, 0));
                });
            });
        });
    });
}

fn video_trak(o: &mut Vec<u8>, v: &VideoConfig) {
    trak(
        o,
        VIDEO_TRACK,
        VIDEO_TIMESCALE,
        (v.width, v.height),
        false,
        |o| {
            boxed(o, b"avc1", |o| {
                o.extend_from_slice(&[0; 6]);
                u16be(o, 1); // data reference index
                o.extend_from_slice(&[0; 16]); // pre_defined / reserved
                u16be(o, v.width);
                u16be(o, v.height);
                u32be(o, 0x0048_0000); // 72 dpi
                u32be(o, 0x0048_0000);
                u32be(o, 0);
                u16be(o, 1); // frame count
                o.extend_from_slice(&[0; 32]); // compressor name
                u16be(o, 0x0018); // depth
                u16be(o, 0xFFFF); // pre_defined = -1
                boxed(o, b"avcC", |o| o.extend_from_slice(&v.avcc));
            });
        },
    );
}

/// An MPEG-4 descriptor header (tag + 4-byte size form).
fn descriptor(o: &mut Vec<u8>, tag: u8, body: &[u8]) {
    o.push(tag);
    let len = u32::try_from(body.len()).unwrap_or(0).min(0x0FFF_FFFF);
    o.extend_from_slice(&[
        0x80 | ((len >> 21) & 0x7F) as u8,
        0x80 | ((len >> 14) & 0x7F) as u8,
        0x80 | ((len >> 7) & 0x7F) as u8,
        (len & 0x7F) as u8,
    ]);
    o.extend_from_slice(body);
}

fn audio_trak(o: &mut Vec<u8>, a: &AudioConfig) {
    trak(o, AUDIO_TRACK, a.sample_rate, (0, 0), true, |o| {
        boxed(o, b"mp4a", |o| {
            o.extend_from_slice(&[0; 6]);
            u16be(o, 1);
            o.extend_from_slice(&[0; 8]);
            u16be(o, a.channels);
            u16be(o, 16); // sample size
            u32be(o, 0);
            // 16.16 sample rate; rates above 65535 Hz do not fit (the ASC rules).
            u32be(
                o,
                u32::try_from(u64::from(a.sample_rate) << 16).unwrap_or(0),
            );
            full(o, b"esds", 0, 0, |o| {
                let mut dsi = Vec::new();
                descriptor(&mut dsi, 0x05, &a.asc);
                let mut dcd = vec![0x40, 0x15, 0, 0, 0];
                dcd.extend_from_slice(&[0; 8]); // max / average bitrate unknown
                dcd.extend_from_slice(&dsi);
                let mut es = vec![0, 0, 0]; // ES_ID, flags
                descriptor(&mut es, 0x04, &dcd);
                descriptor(&mut es, 0x06, &[0x02]);
                descriptor(o, 0x03, &es);
            });
        });
    });
}

/// `trun` flags: data offset, and per sample duration, size, flags, composition offset.
const TRUN_FLAGS: u32 = 0x0000_0001 | 0x0000_0100 | 0x0000_0200 | 0x0000_0400 | 0x0000_0800;
/// Sample flags of a sync sample (depends on no other).
const SYNC: u32 = 0x0200_0000;
/// Sample flags of a non-sync sample (depends on others).
const NON_SYNC: u32 = 0x0101_0000;

/// One `moof` + `mdat` fragment holding `runs` (empty runs are skipped).
pub fn fragment(sequence: u32, runs: &[TrackRun]) -> Bytes {
    let runs: Vec<&TrackRun> = runs.iter().filter(|r| !r.samples.is_empty()).collect();
    let payload: usize = runs
        .iter()
        .flat_map(|r| r.samples.iter())
        .map(|s| s.data.len())
        .sum();
    let mut out = Vec::with_capacity(256 + runs.len() * 16 * 8 + payload);
    let mut offset_slots = Vec::with_capacity(runs.len());
    boxed(&mut out, b"moof", |o| {
        full(o, b"mfhd", 0, 0, |o| u32be(o, sequence));
        for run in &runs {
            boxed(o, b"traf", |o| {
                // default-base-is-moof: data offsets count from the moof start.
                full(o, b"tfhd", 0, 0x02_0000, |o| u32be(o, run.track_id));
                full(o, b"tfdt", 1, 0, |o| {
                    o.extend_from_slice(&run.base_decode_time.to_be_bytes());
                });
                full(o, b"trun", 1, TRUN_FLAGS, |o| {
                    u32be(o, u32::try_from(run.samples.len()).unwrap_or(u32::MAX));
                    offset_slots.push(o.len());
                    u32be(o, 0); // data offset, patched below
                    for s in &run.samples {
                        u32be(o, s.duration);
                        u32be(o, u32::try_from(s.data.len()).unwrap_or(u32::MAX));
                        u32be(o, if s.keyframe { SYNC } else { NON_SYNC });
                        o.extend_from_slice(&s.composition_offset.to_be_bytes());
                    }
                });
            });
        }
    });
    let moof_len = out.len();
    let mut data_offset = moof_len + 8;
    for (slot, run) in offset_slots.iter().zip(&runs) {
        let v = u32::try_from(data_offset).unwrap_or(u32::MAX);
        out[*slot..*slot + 4].copy_from_slice(&v.to_be_bytes());
        data_offset += run.samples.iter().map(|s| s.data.len()).sum::<usize>();
    }
    boxed(&mut out, b"mdat", |o| {
        for s in runs.iter().flat_map(|r| r.samples.iter()) {
            o.extend_from_slice(&s.data);
        }
    });
    Bytes::from(out)
}

#[cfg(test)]
mod tests;
