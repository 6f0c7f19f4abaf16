//! `aethex live`: goes live to the signed-in server with the key from the
//! keyring, and to every `--also` destination from the same encode.

use std::path::PathBuf;
use std::time::Duration;

use aethex_broadcast::{
    AudioInput, AudioSource, BroadcastSettings, Destination, Engine, OutputError, OutputState,
    PreviewSettings, RecordingSettings, StatsEvent, VideoSource,
};
use anyhow::Context;
use clap::{Args, ValueEnum};

use super::account::SignedIn;
use crate::secret::Secret;

/// What to capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    /// Test pattern and tone (always available).
    Test,
    /// The screen (X11, or the desktop portal on Wayland).
    Screen,
    /// The first camera.
    Camera,
}

/// What to hear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AudioKind {
    /// A 440 Hz tone.
    Tone,
    /// No sound (a silent track).
    Silence,
    /// The default microphone.
    Mic,
    /// What the computer plays (the first monitor source).
    Desktop,
}

/// Arguments of `aethex live`.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// What to capture.
    #[arg(long, value_enum, default_value_t = SourceKind::Test)]
    pub source: SourceKind,
    /// Sound (default: tone with the test source, desktop audio with the
    /// screen, the microphone with a camera).
    #[arg(long, value_enum)]
    pub audio: Option<AudioKind>,
    /// Stream title, set on the channel before going live.
    #[arg(long)]
    pub title: Option<String>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    /// Also record locally to this file (crash-safe).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Another RTMP/SRT destination (repeatable), e.g. rtmp://host/app/KEY.
    #[arg(long = "also", value_name = "URL")]
    pub also: Vec<String>,
    /// RTMP ingest of the own server for this run (default: from `aethex login`).
    #[arg(long, value_name = "URL")]
    pub rtmp: Option<String>,
    /// Stop with an error once the own server has been without the stream
    /// this long: it never accepted it, or lost it and the retries failed.
    #[arg(
        long,
        value_name = "SECS",
        env = "AETHEX_GIVE_UP_AFTER",
        default_value_t = 30
    )]
    pub give_up_after: u64,
}

/// The own server's publish URL: `{rtmp base}/{stream key}`; a secret
/// because it carries the key.
pub fn publish_url(rtmp_base: &str, key: &Secret) -> Secret {
    Secret::new(format!(
        "{}/{}",
        rtmp_base.trim_end_matches('/'),
        key.expose()
    ))
}

/// A destination URL as safe to print: scheme, host and port only.
pub fn display_destination(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{}://{h}:{p}", u.scheme()),
            (Some(h), None) => format!("{}://{h}", u.scheme()),
            _ => format!("{}://…", u.scheme()),
        },
        Err(_) => "(invalid URL)".to_string(),
    }
}

/// Runs `aethex live`.
pub async fn run(args: LiveArgs) -> anyhow::Result<()> {
    let signed = SignedIn::load()?;
    let rtmp = match &args.rtmp {
        Some(r) => super::config::rtmp_base(signed.api.base_url(), Some(r))?,
        None => signed.config.rtmp.clone(),
    };
    let key = signed
        .vault
        .stream_key(&signed.config.server)?
        .with_context(|| {
            format!(
                "no stream key for {} in the OS keyring: run `aethex key rotate` first",
                signed.config.server
            )
        })?;
    for also in &args.also {
        check_also(also)?;
    }
    if let Some(title) = &args.title {
        let patch = aethex_proto::ChannelPatch {
            title: Some(title.clone()),
            ..Default::default()
        };
        signed
            .api
            .update_channel(&signed.config.username, &patch)
            .await
            .context("setting the stream title")?;
    }
    let settings = settings(&args, &publish_url(&rtmp, &key));
    drop(key);
    // Listen before starting, so a Ctrl-C during start-up still stops cleanly.
    let mut stop = StopSignal::listen()?;
    let engine = tokio::task::spawn_blocking(move || Engine::start(settings))
        .await
        .context("the engine's start task failed")??;
    println!(
        "live on {} as {} (encoder {}); Ctrl-C stops",
        display_destination(&rtmp),
        signed.config.username,
        engine.encoder()
    );
    let own = OwnWatch::new(
        display_destination(&rtmp),
        Duration::from_secs(args.give_up_after.max(1)),
    );
    let duration = args.duration.map(Duration::from_secs);
    let outcome = watch(&engine, duration, &mut stop, own).await;
    let report = engine.stop().await;
    match (&outcome, &report) {
        (_, Ok(r)) => println!(
            "stopped after {:.1} s, {} frames encoded{}",
            r.duration_secs,
            r.frames_encoded,
            r.recording
                .as_ref()
                .map(|p| format!("; recording: {}", p.display()))
                .unwrap_or_default()
        ),
        (_, Err(e)) => eprintln!("aethex: warning: {e}"),
    }
    outcome
}

/// Name of the own server among the engine's destinations.
const OWN: &str = "own server";

/// The engine settings for this run: defaults (720p30, x264 veryfast,
/// 0.5 s keyframes) with the chosen source, sound and destinations.
fn settings(args: &LiveArgs, own: &Secret) -> BroadcastSettings {
    let video = match args.source {
        SourceKind::Test => VideoSource::TestPattern,
        SourceKind::Screen => VideoSource::Screen(Default::default()),
        SourceKind::Camera => VideoSource::Camera(Default::default()),
    };
    let audio = args.audio.unwrap_or(match args.source {
        SourceKind::Test => AudioKind::Tone,
        SourceKind::Screen => AudioKind::Desktop,
        SourceKind::Camera => AudioKind::Mic,
    });
    let (name, source) = match audio {
        AudioKind::Tone => ("tone", AudioSource::Tone { frequency: 440.0 }),
        AudioKind::Silence => ("silence", AudioSource::Silence),
        AudioKind::Mic => ("microphone", AudioSource::Microphone { device: None }),
        AudioKind::Desktop => ("desktop", AudioSource::Desktop { device: None }),
    };
    let mut destinations = vec![Destination::new(OWN, own.expose())];
    for (i, url) in args.also.iter().enumerate() {
        let name = format!("also {} ({})", i + 1, display_destination(url));
        destinations.push(Destination::new(name, url.as_str()));
    }
    let defaults = BroadcastSettings::default();
    BroadcastSettings {
        video,
        audio: vec![AudioInput::new(name, source)],
        destinations,
        recording: args.record.clone().map(|path| RecordingSettings { path }),
        preview: PreviewSettings {
            enabled: false,
            ..defaults.preview.clone()
        },
        ..defaults
    }
}

/// Prints one stats line a second until Ctrl-C/SIGTERM, the duration, or a
/// failure of the own server or the pipeline.
async fn watch(
    engine: &Engine,
    duration: Option<Duration>,
    stop: &mut StopSignal,
    mut own_watch: OwnWatch,
) -> anyhow::Result<()> {
    let mut stats = engine.stats();
    let until = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(until);
    let mut errors = ErrorReporter::default();
    loop {
        tokio::select! {
            _ = &mut until => return match own_watch.at_end() {
                Some(why) => Err(anyhow::anyhow!(why)),
                None => Ok(()),
            },
            _ = stop.recv() => {
                println!("stopping…");
                return Ok(());
            }
            ev = stats.recv() => match ev {
                Ok(ev) => {
                    println!("{}", stats_line(&ev));
                    errors.report(&ev);
                    if let Some(e) = &ev.error {
                        anyhow::bail!("the broadcast failed: {e}");
                    }
                    let Some(own) = ev.outputs.iter().find(|o| o.name == OWN) else {
                        continue;
                    };
                    if own.state == OutputState::Failed {
                        match &own.last_error {
                            Some(e @ OutputError::KeyRejected(_)) => {
                                anyhow::bail!("the server refused the stream: {e}")
                            }
                            Some(e) => anyhow::bail!("the stream to the server failed: {e}"),
                            None => anyhow::bail!("the stream to the server failed"),
                        }
                    }
                    // Whatever the `--also` destinations do: without the own
                    // server for too long, this broadcast has failed.
                    let last = own.last_error.as_ref().map(ToString::to_string);
                    if let Some(why) = own_watch.update(own.state, last, std::time::Instant::now()) {
                        anyhow::bail!(why)
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    anyhow::bail!("the broadcast engine stopped unexpectedly")
                }
            },
        }
    }
}

/// Follows the own server's output: once it has been without the stream for
/// `give_up` — never accepted it, or lost it and did not get it back — the
/// broadcast has failed, even while `--also` destinations are live.
struct OwnWatch {
    destination: String,
    give_up: Duration,
    ever_live: bool,
    down_since: std::time::Instant,
    last_error: Option<String>,
}

impl OwnWatch {
    fn new(destination: String, give_up: Duration) -> OwnWatch {
        OwnWatch {
            destination,
            give_up,
            ever_live: false,
            down_since: std::time::Instant::now(),
            last_error: None,
        }
    }

    /// Takes the own output's state; says why to stop when it is time to give up.
    fn update(
        &mut self,
        state: OutputState,
        last_error: Option<String>,
        now: std::time::Instant,
    ) -> Option<String> {
        if last_error.is_some() {
            self.last_error = last_error;
        }
        if state == OutputState::Live {
            self.ever_live = true;
            self.down_since = now;
            return None;
        }
        let down = now.saturating_duration_since(self.down_since);
        (down >= self.give_up).then(|| self.reason(down))
    }

    /// At the end of `--duration`: an error when the server never had the stream.
    fn at_end(&self) -> Option<String> {
        (!self.ever_live).then(|| self.reason(self.down_since.elapsed()))
    }

    fn reason(&self, down: Duration) -> String {
        let why = self
            .last_error
            .as_deref()
            .map(|e| format!(" (last error: {e})"))
            .unwrap_or_default();
        if self.ever_live {
            format!(
                "lost the stream to your server at {} for {} s and could not get it back{why}",
                self.destination,
                down.as_secs()
            )
        } else {
            format!(
                "your server at {} never accepted the stream in {} s{why}; check that it runs \
                 and that the RTMP address is right (`aethex status`; `aethex login --server URL` \
                 asks the server for it)",
                self.destination,
                down.as_secs()
            )
        }
    }
}

/// `00:00:05 x264enc 30.0 fps cpu 41% dropped 0 | own server live 3512 kbps | …`
pub fn stats_line(ev: &StatsEvent) -> String {
    let secs = ev.uptime_secs.max(0.0) as u64;
    let mut line = format!(
        "{:02}:{:02}:{:02} {} {:.1} fps",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        ev.encoder,
        ev.encoder_fps
    );
    if let Some(cpu) = ev.cpu_percent {
        line.push_str(&format!(" cpu {cpu:.0}%"));
    }
    line.push_str(&format!(
        " dropped {} late {}",
        ev.dropped_frames, ev.late_frames
    ));
    for o in &ev.outputs {
        let state = serde_json::to_value(o.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{:?}", o.state));
        line.push_str(&format!(" | {} {state} {:.0} kbps", o.name, o.bitrate_kbps));
    }
    line
}

/// Reports each output's error once, when it changes (stats lines stay short).
#[derive(Default)]
struct ErrorReporter {
    shown: std::collections::HashMap<String, String>,
}

impl ErrorReporter {
    fn report(&mut self, ev: &StatsEvent) {
        for o in &ev.outputs {
            let Some(e) = &o.last_error else { continue };
            let text = e.to_string();
            if self.shown.get(&o.name) != Some(&text) {
                eprintln!("aethex: {}: {text}", o.name);
                self.shown.insert(o.name.clone(), text);
            }
        }
    }
}

/// Ctrl-C (SIGINT) or SIGTERM, registered up front so none is missed.
struct StopSignal {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn listen() -> anyhow::Result<StopSignal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignal {
                int: signal(SignalKind::interrupt()).context("listening for Ctrl-C")?,
                term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignal {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! { _ = self.int.recv() => {}, _ = self.term.recv() => {} }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `--also` takes RTMP(S) and SRT URLs only.
fn check_also(url: &str) -> anyhow::Result<()> {
    let scheme = url::Url::parse(url).map(|u| u.scheme().to_string());
    match scheme.as_deref() {
        Ok("rtmp" | "rtmps" | "srt") => Ok(()),
        _ => anyhow::bail!(
            "--also {}: expected an rtmp://, rtmps:// or srt:// URL",
            display_destination(url)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_line_shows_time_encoder_and_every_output() {
        use aethex_broadcast::{OutputKind, OutputStats, SecretUrl};
        let output = |name: &str, state, kbps| OutputStats {
            name: name.into(),
            kind: OutputKind::Rtmp {
                url: SecretUrl::new("rtmp://h/live/sk_secret_123"),
            },
            state,
            bitrate_kbps: kbps,
            bytes_total: 0,
            dropped_frames: 0,
            reconnects: 0,
            last_error: Some(OutputError::Unreachable("refused".into())),
        };
        let ev = StatsEvent {
            uptime_secs: 3725.4,
            encoder: "x264enc".into(),
            encoder_fps: 29.97,
            frames_encoded: 100,
            dropped_frames: 2,
            late_frames: 1,
            cpu_percent: Some(41.4),
            rss_bytes: None,
            outputs: vec![
                output(OWN, OutputState::Live, 3512.4),
                output("also 1 (rtmp://h)", OutputState::Reconnecting, 0.0),
            ],
            audio_levels: vec![],
            error: None,
        };
        assert_eq!(
            stats_line(&ev),
            "01:02:05 x264enc 30.0 fps cpu 41% dropped 2 late 1 \
             | own server live 3512 kbps | also 1 (rtmp://h) reconnecting 0 kbps"
        );
    }

    #[test]
    fn own_watch_gives_up_when_never_accepted_or_lost_too_long() {
        use std::time::Instant;
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let mut w = OwnWatch::new("rtmp://h:1".into(), Duration::from_secs(10));
        w.down_since = t0;
        assert_eq!(w.update(OutputState::Connecting, None, s(3)), None);
        let refused = Some("connection refused".to_string());
        let why = w.update(OutputState::Reconnecting, refused, s(10)).unwrap();
        assert!(
            why.contains("never accepted") && why.contains("connection refused"),
            "{why}"
        );
        assert!(w.at_end().is_some());
        // Live, then a short loss is ridden out, a long one is not.
        assert_eq!(w.update(OutputState::Live, None, s(11)), None);
        assert_eq!(w.at_end(), None);
        assert_eq!(w.update(OutputState::Reconnecting, None, s(20)), None);
        assert_eq!(w.update(OutputState::Live, None, s(21)), None);
        let why = w.update(OutputState::Reconnecting, None, s(31)).unwrap();
        assert!(
            why.starts_with("lost the stream to your server at rtmp://h:1 for 10 s"),
            "{why}"
        );
    }

    #[test]
    fn destinations_print_without_their_keys() {
        assert_eq!(
            display_destination("rtmp://live.twitch.tv/app/live_123_secret"),
            "rtmp://live.twitch.tv"
        );
        assert_eq!(
            display_destination("srt://127.0.0.1:9000?streamid=publish:secret"),
            "srt://127.0.0.1:9000"
        );
        let url = publish_url("rtmp://h:1935/live/", &Secret::new("sk_1"));
        assert_eq!(url.expose(), "rtmp://h:1935/live/sk_1");
        assert!(!format!("{url:?}").contains("sk_1"));
        assert!(check_also("http://x/y").is_err());
        let e = check_also("udp://h/secretpath").unwrap_err().to_string();
        assert!(!e.contains("secretpath"), "{e}");
    }
}
