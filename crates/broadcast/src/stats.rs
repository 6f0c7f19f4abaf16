//! Once-a-second statistics as typed, serialisable events.

use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::counters::{AudioLevel, Shared};
use crate::error::EngineError;
use crate::outputs::{Output, OutputError, OutputKind, OutputState, lock};

/// One statistics event, sent once a second while the engine runs.
#[derive(Debug, Clone, Serialize)]
pub struct StatsEvent {
    /// Seconds since the engine started.
    pub uptime_secs: f64,
    /// Which H.264 encoder runs (`x264enc`, `vaapih264enc`, `nvh264enc`).
    pub encoder: String,
    /// Encoded video frames per second over the last interval.
    pub encoder_fps: f64,
    /// Encoded video frames since start.
    pub frames_encoded: u64,
    /// Raw frames dropped before encoding since start (source rate conversion, encoder lag).
    pub dropped_frames: u64,
    /// Frames that left the encoder more than 100 ms after capture, since start.
    pub late_frames: u64,
    /// CPU use of the whole process in percent of one core (Linux), over the last interval.
    pub cpu_percent: Option<f64>,
    /// Resident memory of the process in bytes (Linux).
    pub rss_bytes: Option<u64>,
    /// Every destination and the recording.
    pub outputs: Vec<OutputStats>,
    /// Latest audio levels per input.
    pub audio_levels: Vec<AudioLevel>,
    /// A failure of the capture/encode pipeline (outputs report their own errors).
    pub error: Option<EngineError>,
}

/// Statistics of one output.
#[derive(Debug, Clone, Serialize)]
pub struct OutputStats {
    /// The destination's name (or `recording`).
    pub name: String,
    /// Where it goes; destination URLs are redacted.
    pub kind: OutputKind,
    /// Connecting, live, reconnecting, failed or stopped.
    pub state: OutputState,
    /// Muxed kbit/s handed to the network or file over the last interval.
    pub bitrate_kbps: f64,
    /// Bytes sent since start (all connections).
    pub bytes_total: u64,
    /// Video frames skipped because this output could not keep up.
    pub dropped_frames: u64,
    /// Reconnect attempts so far.
    pub reconnects: u32,
    /// The last error, kept after recovery so the user can see what happened.
    pub last_error: Option<OutputError>,
}

/// Process CPU time sampler (reads `/proc/self/stat`).
pub(crate) struct CpuSampler {
    last: Option<(Instant, f64)>,
}

/// Clock ticks per second of `/proc` times; 100 on every mainstream Linux.
const CLOCK_TICKS: f64 = 100.0;

fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS)
}

/// Resident set size of this process in bytes.
pub(crate) fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

impl CpuSampler {
    pub(crate) fn new() -> Self {
        Self {
            last: process_cpu_seconds().map(|c| (Instant::now(), c)),
        }
    }

    /// Percent of one core used since the previous call.
    pub(crate) fn sample(&mut self) -> Option<f64> {
        let now = Instant::now();
        let cpu = process_cpu_seconds()?;
        let result = self.last.map(|(t, c)| {
            let wall = now.duration_since(t).as_secs_f64().max(1e-3);
            ((cpu - c) / wall * 100.0).max(0.0)
        });
        self.last = Some((now, cpu));
        result
    }
}

/// Per-output byte counters from the previous tick, to compute bitrates.
pub(crate) struct OutputRates {
    last: Vec<u64>,
    at: Instant,
}

impl OutputRates {
    pub(crate) fn new() -> Self {
        Self {
            last: Vec::new(),
            at: Instant::now(),
        }
    }

    /// Snapshot of every output with bitrates since the previous call.
    pub(crate) fn collect(&mut self, outputs: &[Arc<Output>]) -> Vec<OutputStats> {
        let now = Instant::now();
        let secs = now.duration_since(self.at).as_secs_f64().max(1e-3);
        self.at = now;
        self.last.resize(outputs.len(), 0);
        outputs
            .iter()
            .zip(self.last.iter_mut())
            .map(|(o, last)| {
                let bytes = o.bytes.load(Ordering::Relaxed);
                let delta = bytes.saturating_sub(*last);
                *last = bytes;
                let status = lock(&o.status).clone();
                OutputStats {
                    name: o.name.clone(),
                    kind: o.kind.clone(),
                    state: status.state,
                    bitrate_kbps: delta as f64 * 8.0 / 1000.0 / secs,
                    bytes_total: bytes,
                    dropped_frames: o.dropped_frames.load(Ordering::Relaxed),
                    reconnects: status.reconnects,
                    last_error: status.last_error,
                }
            })
            .collect()
    }
}

/// Publishes one [`StatsEvent`] a second until `stop` is dropped.
pub(crate) fn stats_loop(
    shared: &Shared,
    tx: &broadcast::Sender<StatsEvent>,
    outputs: &[Arc<Output>],
    rates: &[gst::Element],
    encoder: &str,
    started: Instant,
    stop: &mpsc::Receiver<()>,
) {
    let mut cpu = CpuSampler::new();
    let mut out_rates = OutputRates::new();
    let mut last_frames = shared.frames_encoded.load(Ordering::Relaxed);
    let mut last_at = Instant::now();
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(Duration::from_secs(1)) {
        let now = Instant::now();
        let frames = shared.frames_encoded.load(Ordering::Relaxed);
        let fps =
            (frames - last_frames) as f64 / now.duration_since(last_at).as_secs_f64().max(1e-3);
        (last_frames, last_at) = (frames, now);
        let source_drops: u64 = rates.iter().map(|r| r.property::<u64>("drop")).sum();
        let mut audio_levels: Vec<AudioLevel> = lock(&shared.levels).values().cloned().collect();
        audio_levels.sort_by(|a, b| a.name.cmp(&b.name));
        let event = StatsEvent {
            uptime_secs: started.elapsed().as_secs_f64(),
            encoder: encoder.to_string(),
            encoder_fps: fps,
            frames_encoded: frames,
            dropped_frames: source_drops + shared.encoder_skipped.load(Ordering::Relaxed),
            late_frames: shared.late_frames.load(Ordering::Relaxed),
            cpu_percent: cpu.sample(),
            rss_bytes: rss_bytes(),
            outputs: out_rates.collect(outputs),
            audio_levels,
            error: lock(&shared.error).clone(),
        };
        let _ = tx.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_memory_are_read_on_linux() {
        let mut s = CpuSampler::new();
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(s.sample().is_some_and(|c| c >= 0.0));
        assert!(rss_bytes().is_some_and(|r| r > 1_000_000));
    }
}
