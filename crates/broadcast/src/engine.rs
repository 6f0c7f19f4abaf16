//! The running broadcast: builds the main pipeline, starts the outputs, watches the bus,
//! publishes stats and stops cleanly.
//!
//! ```text
//! scene video ─ tee ─ queue (leaky) ─ x264enc ─ h264parse ─ avc caps ─ appsink ─┐
//!                └─ preview branch (preview.rs)                                 ├─ Fanout ─ outputs (outputs/)
//! scene audio ─ avenc_aac ─ aacparse ─ appsink ──────────────────────────────────┘
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::bus::{first_error, watch_bus};
use crate::counters::{AudioLevel, Shared};
use aethex_gst::{leaky_queue, make};

use crate::error::EngineError;
use crate::outputs::{self, Output, OutputKind, Stream, lock};
use crate::preview::{self, PreviewFrame};
use crate::settings::BroadcastSettings;
use crate::sources::{self, PortalSession};
use crate::stats::{OutputRates, OutputStats, StatsEvent, stats_loop};
use crate::{encode, scene};

/// How long the first encoded frame may take before start gives up.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(15);
/// How long stop waits for the end-of-stream to pass the main pipeline.
const EOS_TIMEOUT: Duration = Duration::from_secs(10);
/// A frame that leaves the encoder later than this after capture counts as late.
const LATE_AFTER: gst::ClockTime = gst::ClockTime::from_mseconds(100);

/// What [`Engine::stop`] reports.
#[derive(Debug, Clone, Serialize)]
pub struct StopReport {
    /// Seconds the broadcast ran.
    pub duration_secs: f64,
    /// Encoded video frames.
    pub frames_encoded: u64,
    /// Final state of every output.
    pub outputs: Vec<OutputStats>,
    /// The finished recording, if any.
    pub recording: Option<PathBuf>,
}

/// Sets the pipeline to `Null` on every exit path.
struct PipelineGuard(gst::Pipeline);

impl Drop for PipelineGuard {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

/// A running broadcast. Dropping it without [`Engine::stop`] tears everything down at once
/// (the Matroska recording stays playable, only its index is missing).
pub struct Engine {
    pipeline: PipelineGuard,
    shared: Arc<Shared>,
    encoder: &'static str,
    volumes: HashMap<String, gst::Element>,
    stats_tx: broadcast::Sender<StatsEvent>,
    preview_tx: broadcast::Sender<PreviewFrame>,
    levels_rx: watch::Receiver<Vec<AudioLevel>>,
    outputs: Vec<Arc<Output>>,
    supervisors: Vec<JoinHandle<()>>,
    helpers: Vec<JoinHandle<()>>,
    stop_stats: Option<mpsc::Sender<()>>,
    /// In a mutex only so that `Engine` is `Sync` (the studio shares it between commands).
    eos_rx: Mutex<mpsc::Receiver<()>>,
    recording: Option<PathBuf>,
    started: Instant,
    stopped: bool,
    /// Desktop-portal screen casts; declared last so they end after the pipeline.
    _portals: Vec<PortalSession>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("encoder", &self.encoder)
            .field(
                "outputs",
                &self.outputs.iter().map(|o| &o.kind).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn validate(settings: &BroadcastSettings) -> Result<(), EngineError> {
    let e = &settings.encoder;
    if e.width < 16 || e.height < 16 || !e.width.is_multiple_of(2) || !e.height.is_multiple_of(2) {
        return Err(EngineError::InvalidSettings(format!(
            "{}x{} is not an even size of at least 16x16",
            e.width, e.height
        )));
    }
    if e.fps == 0 || e.fps > 240 || e.keyframe_interval_secs <= 0.0 || e.video_bitrate_kbps == 0 {
        return Err(EngineError::InvalidSettings(
            "fps, keyframe interval and bitrate must be positive".into(),
        ));
    }
    for d in &settings.destinations {
        // Before any element (and GStreamer's debug log) sees the URL.
        crate::redact::register(d.url.expose());
        if OutputKind::for_url(&d.url).is_none() {
            return Err(EngineError::InvalidSettings(format!(
                "destination {:?}: {} is not an rtmp://, rtmps:// or srt:// URL",
                d.name, d.url
            )));
        }
    }
    Ok(())
}

struct Started {
    pipeline: PipelineGuard,
    shared: Arc<Shared>,
    volumes: HashMap<String, gst::Element>,
    level_names: HashMap<String, String>,
    rates: Vec<gst::Element>,
    preview_tx: broadcast::Sender<PreviewFrame>,
}

impl Engine {
    /// Builds the pipeline, waits until the first frame is encoded and starts every output.
    /// Blocks for up to a few seconds (call it from `spawn_blocking` in a UI thread).
    /// With `EncoderChoice::Auto` a hardware encoder that fails to start falls back to x264.
    /// A screen source on Wayland first asks the desktop portal (the desktop may show a
    /// dialog); the portal's answer bounds how long this blocks.
    pub fn start(settings: BroadcastSettings) -> Result<Engine, EngineError> {
        crate::init().map_err(|e| EngineError::Init(e.to_string()))?;
        let candidates = encode::video_candidates(settings.encoder.encoder)?;
        Self::start_with(settings, &candidates)
    }

    /// [`Engine::start`] trying the H.264 encoders `candidates` in order: one that fails
    /// to build or to deliver a first frame gives way to the next.
    pub(crate) fn start_with(
        mut settings: BroadcastSettings,
        candidates: &[&'static str],
    ) -> Result<Engine, EngineError> {
        crate::init().map_err(|e| EngineError::Init(e.to_string()))?;
        validate(&settings)?;
        let mut screens = vec![&mut settings.video];
        screens.extend(settings.camera.as_mut().map(|pip| &mut pip.source));
        let portals = sources::open_portals(&mut screens)?;
        let mut result = Err(EngineError::Build("no encoder".into()));
        for (i, factory) in candidates.iter().enumerate() {
            result = try_start(&settings, factory).map(|s| (s, *factory));
            match &result {
                // A hardware encoder that is installed but unusable (no GPU, driver missing,
                // caps refused) breaks the pipeline somewhere: try the next candidate.
                // Device errors are the sources' fault and are reported as they are.
                Err(err @ (EngineError::Pipeline { .. } | EngineError::Build(_)))
                    if i + 1 < candidates.len() =>
                {
                    tracing::warn!(
                        encoder = factory,
                        "encoder failed to start ({err}); falling back"
                    );
                }
                _ => break,
            }
        }
        let (started, encoder) = result?;
        Ok(Self::launch(settings, started, encoder, portals))
    }

    fn launch(
        settings: BroadcastSettings,
        s: Started,
        encoder: &'static str,
        portals: Vec<PortalSession>,
    ) -> Engine {
        let mut outputs = Vec::new();
        if let Some(rec) = &settings.recording {
            let kind = OutputKind::Recording {
                path: rec.path.clone(),
            };
            outputs.push(Output::new(
                "recording".into(),
                kind,
                settings.reconnect.clone(),
            ));
        }
        for d in &settings.destinations {
            if let Some(kind) = OutputKind::for_url(&d.url) {
                outputs.push(Output::new(
                    d.name.clone(),
                    kind,
                    settings.reconnect.clone(),
                ));
            }
        }
        *lock(&s.shared.fanout.outputs) = outputs.clone();
        let supervisors = outputs
            .iter()
            .filter_map(|o| {
                outputs::spawn(
                    Arc::clone(o),
                    Arc::clone(&s.shared.fanout),
                    settings.encoder.video_bitrate_kbps,
                )
                .map_err(|e| tracing::error!(output = %o.name, "cannot start output thread: {e}"))
                .ok()
            })
            .collect();

        let (stats_tx, _) = broadcast::channel(16);
        let (levels_tx, levels_rx) = watch::channel(Vec::new());
        let (eos_tx, eos_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let started = Instant::now();
        let mut helpers = Vec::new();
        if let Some(bus) = s.pipeline.0.bus() {
            let shared = Arc::clone(&s.shared);
            let names = s.level_names;
            helpers.extend(
                std::thread::Builder::new()
                    .name("engine-bus".into())
                    .spawn(move || watch_bus(&bus, &shared, &names, &levels_tx, &eos_tx))
                    .ok(),
            );
        }
        {
            let shared = Arc::clone(&s.shared);
            let tx = stats_tx.clone();
            let outputs = outputs.clone();
            let rates = s.rates;
            helpers.extend(
                std::thread::Builder::new()
                    .name("engine-stats".into())
                    .spawn(move || {
                        stats_loop(&shared, &tx, &outputs, &rates, encoder, started, &stop_rx)
                    })
                    .ok(),
            );
        }
        Engine {
            pipeline: s.pipeline,
            shared: s.shared,
            encoder,
            volumes: s.volumes,
            stats_tx,
            preview_tx: s.preview_tx,
            levels_rx,
            outputs,
            supervisors,
            helpers,
            stop_stats: Some(stop_tx),
            eos_rx: Mutex::new(eos_rx),
            recording: settings.recording.map(|r| r.path),
            started,
            stopped: false,
            _portals: portals,
        }
    }

    /// The H.264 encoder in use (`x264enc`, `vaapih264enc`, `nvh264enc`).
    pub fn encoder(&self) -> &str {
        self.encoder
    }

    /// Stats events, one a second. A slow receiver skips old events (`Lagged`).
    pub fn stats(&self) -> broadcast::Receiver<StatsEvent> {
        self.stats_tx.subscribe()
    }

    /// Preview JPEG frames. Holds at most `PreviewSettings::capacity` frames per receiver;
    /// a slow receiver gets `Lagged` and then the newest frames. Never blocks the pipeline.
    pub fn preview(&self) -> broadcast::Receiver<PreviewFrame> {
        self.preview_tx.subscribe()
    }

    /// Audio level meters, updated about ten times a second.
    pub fn levels(&self) -> watch::Receiver<Vec<AudioLevel>> {
        self.levels_rx.clone()
    }

    /// Sets an audio input's linear gain (clamped to 0.0–10.0).
    pub fn set_volume(&self, input: &str, volume: f64) -> Result<(), EngineError> {
        let v = self
            .volumes
            .get(input)
            .ok_or_else(|| EngineError::UnknownInput(input.to_string()))?;
        v.set_property("volume", volume.clamp(0.0, 10.0));
        Ok(())
    }

    /// Mutes or unmutes an audio input.
    pub fn set_muted(&self, input: &str, muted: bool) -> Result<(), EngineError> {
        let v = self
            .volumes
            .get(input)
            .ok_or_else(|| EngineError::UnknownInput(input.to_string()))?;
        v.set_property("mute", muted);
        Ok(())
    }

    /// Stops with an end-of-stream through every output: destinations end their streams,
    /// the recording is finalised. Runs the blocking work on tokio's blocking pool.
    pub async fn stop(self) -> Result<StopReport, EngineError> {
        tokio::task::spawn_blocking(move || self.stop_blocking())
            .await
            .map_err(|e| EngineError::Build(format!("stop task failed: {e}")))?
    }

    /// [`Engine::stop`] for callers without an async runtime.
    pub fn stop_blocking(mut self) -> Result<StopReport, EngineError> {
        self.stopped = true;
        for o in &self.outputs {
            o.stopping.store(true, Ordering::SeqCst);
            let _guard = lock(&o.status);
            o.wake.notify_all();
        }
        let eos_sent = self.pipeline.0.send_event(gst::event::Eos::new());
        let eos_ok = eos_sent && lock(&self.eos_rx).recv_timeout(EOS_TIMEOUT).is_ok();
        if !eos_ok {
            // Outputs still need their end-of-stream to finish their files and streams.
            self.shared.fanout.eos(Stream::Video);
            self.shared.fanout.eos(Stream::Audio);
        }
        let deadline = Instant::now() + EOS_TIMEOUT;
        for handle in self.supervisors.drain(..) {
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
        let _ = self.pipeline.0.set_state(gst::State::Null);
        self.finish_helpers();
        let mut outputs = OutputRates::new().collect(&self.outputs);
        for o in &mut outputs {
            o.bitrate_kbps = 0.0; // a rate means nothing once stopped
        }
        if !eos_ok {
            return Err(EngineError::StopTimeout(EOS_TIMEOUT.as_secs()));
        }
        Ok(StopReport {
            duration_secs: self.started.elapsed().as_secs_f64(),
            frames_encoded: self.shared.frames_encoded.load(Ordering::Relaxed),
            outputs,
            recording: self.recording.clone(),
        })
    }

    fn finish_helpers(&mut self) {
        self.shared.running.store(false, Ordering::SeqCst);
        self.stop_stats.take();
        for h in self.helpers.drain(..) {
            let _ = h.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        for o in &self.outputs {
            o.stopping.store(true, Ordering::SeqCst);
            let _guard = lock(&o.status);
            o.wake.notify_all();
        }
        self.shared.fanout.eos(Stream::Video);
        self.shared.fanout.eos(Stream::Audio);
        let _ = self.pipeline.0.set_state(gst::State::Null);
        self.finish_helpers();
    }
}

fn encoded_sink(name: &str, shared: &Arc<Shared>, stream: Stream) -> gst_app::AppSink {
    let on_sample = Arc::clone(shared);
    let on_eos = Arc::clone(shared);
    gst_app::AppSink::builder()
        .name(name)
        .sync(false)
        .callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if stream == Stream::Video {
                        on_sample.frames_encoded.fetch_add(1, Ordering::Relaxed);
                        let pts = outputs::running_times(&sample).map(|(pts, _)| pts);
                        if let (Some(pts), Some(now)) = (pts, sink.current_running_time())
                            && now > pts + LATE_AFTER
                        {
                            on_sample.late_frames.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    on_sample.fanout.push(stream, &sample);
                    Ok(gst::FlowSuccess::Ok)
                })
                .eos(move |_| on_eos.fanout.eos(stream))
                .build(),
        )
        .build()
}

fn build_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Build(e.to_string())
}

/// Builds and starts the main pipeline with one video encoder; waits for its first frame.
fn try_start(settings: &BroadcastSettings, encoder: &str) -> Result<Started, EngineError> {
    let pipeline = PipelineGuard(gst::Pipeline::with_name("aethex-broadcast"));
    let p = &pipeline.0;
    let scene = scene::build(p, settings)?;
    let shared = Arc::new(Shared {
        running: AtomicBool::new(true),
        ..Default::default()
    });

    let tee = make("tee").build()?;
    // Leaky: if the encoder cannot keep up, skip raw frames instead of stalling capture.
    let queue = leaky_queue(3).build()?;
    let counter = Arc::clone(&shared);
    queue.connect("overrun", false, move |_| {
        counter.encoder_skipped.fetch_add(1, Ordering::Relaxed);
        None
    });
    let venc = encode::video_encoder(encoder, &settings.encoder)?;
    venc.set_property("name", "video-encoder");
    // Hardware encoders may want NV12; for x264 (I420) this converter is a passthrough.
    let convert = make("videoconvert").build()?;
    let parse = make("h264parse").build()?;
    let vcaps = make("capsfilter")
        .property("caps", encode::h264_caps())
        .build()?;
    let vsink = encoded_sink("video-out", &shared, Stream::Video);
    let video_chain = [
        &tee,
        &queue,
        &convert,
        &venc,
        &parse,
        &vcaps,
        vsink.upcast_ref(),
    ];
    p.add_many(video_chain).map_err(build_err)?;
    gst::Element::link_many(video_chain).map_err(build_err)?;
    scene.video_out.link(&tee).map_err(build_err)?;

    let (preview_tx, _) = broadcast::channel(settings.preview.capacity.max(1));
    if settings.preview.enabled {
        let first = preview::build(
            p,
            &settings.preview,
            settings.encoder.width,
            settings.encoder.height,
            preview_tx.clone(),
        )?;
        tee.link(&first).map_err(build_err)?;
    }

    let aenc = encode::audio_encoder(&settings.encoder)?;
    let aparse = make("aacparse").build()?;
    let asink = encoded_sink("audio-out", &shared, Stream::Audio);
    let audio_chain = [&aenc, &aparse, asink.upcast_ref()];
    p.add_many(audio_chain).map_err(build_err)?;
    gst::Element::link_many(audio_chain).map_err(build_err)?;
    scene.audio_out.link(&aenc).map_err(build_err)?;

    let bus = p.bus().ok_or_else(|| build_err("pipeline without bus"))?;
    if p.set_state(gst::State::Playing).is_err() {
        return Err(first_error(&bus).unwrap_or_else(|| build_err("the pipeline refused to start")));
    }
    let deadline = Instant::now() + FIRST_FRAME_TIMEOUT;
    while shared.frames_encoded.load(Ordering::Relaxed) == 0 {
        if let Some(err) = first_error(&bus) {
            return Err(err);
        }
        if Instant::now() > deadline {
            return Err(EngineError::Pipeline {
                element: "video source".into(),
                message: format!("no video frame within {} s", FIRST_FRAME_TIMEOUT.as_secs()),
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(Started {
        pipeline,
        shared,
        volumes: scene.volumes,
        level_names: scene.level_names,
        rates: scene.rates,
        preview_tx,
    })
}
