//! SRT ingest, the second path: one `srtsrc` listener; the caller's stream id
//! carries the stream key, checked in `caller-connecting` before the
//! connection is accepted (same key check as RTMP, nothing written on refusal).
//!
//! ```text
//! srtsrc (listener, authentication=true) -> tsdemux -> parsers -> appsinks ==frames==> Broadcast
//! ```
//!
//! Callers must send MPEG-TS with `mpegtsmux alignment=7`, otherwise H.264 is
//! not decodable on our side, e.g.
//! `… ! h264parse ! mpegtsmux alignment=7 ! srtsink uri="srt://HOST:PORT" streamid=KEY`.
//! One SRT publisher at a time per listener: while one is live, further callers
//! are refused.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::hls::fmp4::{AudioConfig, VideoConfig};
use crate::ingest::broadcast::Broadcast;
use crate::ingest::channel_link::{self, ChannelRow};
use crate::ingest::stream_key;
use crate::ingest::ts::{self, PipelineError, TsFrame, init};
use crate::state::AppState;

/// A connected caller with no data for this long is considered gone. SRT
/// callers send continuously (30+ packets a second), and a killed caller is
/// otherwise only noticed after SRT's own ~5 s peer timeout: this keeps
/// "offline within 2 s".
const IDLE: Duration = Duration::from_millis(1500);

/// Runs the SRT listener on `addr` until `token` is cancelled. Blocking:
/// runs on its own thread, reaching the async side through `rt`.
pub fn serve_blocking(
    addr: SocketAddr,
    state: AppState,
    token: CancellationToken,
    rt: tokio::runtime::Handle,
) -> Result<(), PipelineError> {
    init()?;
    while !token.is_cancelled() {
        if let Err(e) = one_caller(addr, &state, &token, &rt) {
            tracing::warn!(error = %e, "srt listener failed; restarting");
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    Ok(())
}

/// Listens until one caller has published and left (or shutdown).
fn one_caller(
    addr: SocketAddr,
    state: &AppState,
    token: &CancellationToken,
    rt: &tokio::runtime::Handle,
) -> Result<(), PipelineError> {
    let pipeline = gst::Pipeline::new();
    let _null = NullOnDrop(pipeline.clone());
    let src = aethex_gst::make("srtsrc")
        .property(
            "uri",
            format!("srt://{}:{}?mode=listener", addr.ip(), addr.port()),
        )
        .property("authentication", true)
        .property("wait-for-connection", true)
        .build()?;
    pipeline
        .add(&src)
        .map_err(|e| PipelineError::Setup(e.to_string()))?;
    let (tx, frames) = std::sync::mpsc::sync_channel(ts::QUEUE_FRAMES);
    ts::attach_demuxer(&pipeline, &src, tx)?;

    let accepted: Arc<Mutex<Option<ChannelRow>>> = Arc::default();
    {
        let accepted = accepted.clone();
        let state = state.clone();
        let rt = rt.clone();
        src.connect("caller-connecting", false, move |args| {
            let stream_id = args
                .get(2)
                .and_then(|v| v.get::<Option<String>>().ok())
                .flatten()
                .unwrap_or_default();
            let ok = admit(&state, &rt, &stream_id, &accepted);
            Some(ok.to_value())
        });
    }
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| PipelineError::Setup(format!("srt listen on {addr}: {e}")))?;

    let mut broadcast: Option<Broadcast> = None;
    let mut last_data = Instant::now();
    let bus = pipeline.bus();
    loop {
        if token.is_cancelled() {
            break;
        }
        if let Some(msg) = bus
            .as_ref()
            .and_then(|b| b.pop_filtered(&[gst::MessageType::Error, gst::MessageType::Eos]))
        {
            if let gst::MessageView::Error(err) = msg.view() {
                tracing::info!(error = %err.error(), "srt caller gone");
            }
            break;
        }
        let frame = match frames.recv_timeout(Duration::from_millis(250)) {
            Ok(f) => f,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if broadcast.is_some() && last_data.elapsed() > IDLE {
                    break;
                }
                continue;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        last_data = Instant::now();
        if broadcast.is_none() {
            let Some(channel) = accepted.lock().ok().and_then(|c| c.clone()) else {
                continue;
            };
            match rt.block_on(Broadcast::begin(state, &channel)) {
                Ok(b) => broadcast = Some(b),
                Err(e) => {
                    tracing::info!(error = &e as &dyn std::error::Error, "srt publish refused");
                    break;
                }
            }
        }
        let Some(b) = broadcast.as_mut() else {
            continue;
        };
        match frame {
            TsFrame::Tracks { video, audio } => b.announce(video, audio),
            TsFrame::VideoConfig(avcc) => match VideoConfig::from_avcc(avcc) {
                Some(c) => b.video_config(c),
                None => b.count_dropped(),
            },
            TsFrame::AudioConfig(asc) => match AudioConfig::from_asc(asc) {
                Some(c) => b.audio_config(c),
                None => b.count_dropped(),
            },
            TsFrame::Video {
                dts_us,
                cts_us,
                keyframe,
                data,
            } => b.video(dts_us, cts_us, keyframe, data),
            TsFrame::Audio { pts_us, data } => b.audio(pts_us, data),
        }
    }
    if let Some(b) = broadcast {
        rt.block_on(b.finish());
    }
    Ok(())
}

/// The key check of `caller-connecting`: a valid key of a channel not already live.
fn admit(
    state: &AppState,
    rt: &tokio::runtime::Handle,
    stream_id: &str,
    accepted: &Mutex<Option<ChannelRow>>,
) -> bool {
    let key = stream_key(stream_id);
    let channel = match rt.block_on(channel_link::resolve_key(state, key)) {
        Ok(Some(c)) => c,
        Ok(None) => {
            tracing::info!("srt publish refused: stream key not accepted");
            metrics::counter!("aethex_ingest_refused_total").increment(1);
            return false;
        }
        Err(e) => {
            tracing::warn!(error = %e, "srt key lookup failed");
            return false;
        }
    };
    if state.live.is_live(&channel.name) {
        return false;
    }
    let Ok(mut slot) = accepted.lock() else {
        return false;
    };
    if slot.is_some() {
        return false; // one caller per listener
    }
    *slot = Some(channel);
    true
}

struct NullOnDrop(gst::Pipeline);

impl Drop for NullOnDrop {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}
