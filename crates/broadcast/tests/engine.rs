//! Journeys through the real engine: test source, real nginx-rtmp receivers, ffprobe.

mod support;

use std::time::Duration;

use aethex_broadcast::{
    BroadcastSettings, Destination, EncoderChoice, Engine, EngineError, OutputError, OutputState,
    ReconnectPolicy, RecordingSettings,
};
use support::{Nginx, is, output, probe, wait_stats};

const LONG: Duration = Duration::from_secs(60);

fn quick_retries() -> ReconnectPolicy {
    ReconnectPolicy {
        initial_delay_ms: 1000,
        multiplier: 1.5,
        max_delay_ms: 3000,
        max_retries: None,
    }
}

fn small(mut s: BroadcastSettings) -> BroadcastSettings {
    // 640x360 keeps the shared 2-core test machine responsive; 720p is measured by the example.
    s.encoder.width = 640;
    s.encoder.height = 360;
    s.encoder.video_bitrate_kbps = 1000;
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn test_source_runs_and_stats_arrive_once_a_second() {
    let engine = Engine::start(small(BroadcastSettings::default()))
        .expect("engine starts with the test source");
    assert_eq!(engine.encoder(), "x264enc");
    let mut stats = engine.stats();
    let first = wait_stats(&mut stats, LONG, "a first stats event", |_| true).await;
    let third = wait_stats(&mut stats, LONG, "two more events", |e| {
        e.uptime_secs >= first.uptime_secs + 1.5
    })
    .await;
    assert!(
        third.frames_encoded > first.frames_encoded,
        "frames are encoded: {third:#?}"
    );
    // One event a second: uptimes of consecutive events are about a second apart.
    let per_event = (third.uptime_secs - first.uptime_secs) / 2.0;
    assert!(
        (0.8..1.6).contains(&per_event),
        "events every {per_event} s"
    );
    assert!(
        third.encoder_fps > 5.0 && third.encoder_fps < 45.0,
        "30 fps source: {}",
        third.encoder_fps
    );
    assert!(third.cpu_percent.is_some_and(|c| c > 0.0), "cpu measured");
    assert!(third.rss_bytes.is_some_and(|r| r > 10_000_000));
    let tone = third
        .audio_levels
        .iter()
        .find(|l| l.name == "tone")
        .expect("tone level meter");
    assert!(
        tone.rms_db > -30.0 && tone.rms_db < 0.0,
        "tone is audible: {tone:?}"
    );
    assert!(third.error.is_none());

    // Muting is visible on the meter.
    engine.set_muted("tone", true).expect("tone exists");
    let mut levels = engine.levels();
    let quiet = tokio::time::timeout(LONG, async {
        loop {
            levels.changed().await.expect("levels");
            let l = levels.borrow().clone();
            if l.iter().any(|l| l.name == "tone" && l.peak_db < -90.0) {
                return l;
            }
        }
    })
    .await
    .expect("muted tone becomes silent on the meter");
    assert!(!quiet.is_empty());
    assert!(matches!(
        engine.set_volume("nope", 1.0),
        Err(EngineError::UnknownInput(_))
    ));

    let report = engine.stop().await.expect("clean stop");
    assert!(report.frames_encoded > 30);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_encode_goes_to_two_rtmp_servers_and_the_recording() {
    let a = Nginx::start();
    let b = Nginx::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("show.mkv");
    let settings = small(BroadcastSettings {
        destinations: vec![
            Destination::new("a", a.url("key-a-123456")),
            Destination::new("b", b.url("key-b-654321")),
        ],
        recording: Some(RecordingSettings { path: rec.clone() }),
        ..Default::default()
    });
    let engine = Engine::start(settings).expect("engine starts");
    let mut stats = engine.stats();
    let live = wait_stats(
        &mut stats,
        LONG,
        "both destinations and the recording live",
        |e| {
            is(e, "a", OutputState::Live)
                && is(e, "b", OutputState::Live)
                && is(e, "recording", OutputState::Live)
        },
    )
    .await;
    // Let media flow a few seconds, then check the bitrate of each output.
    let later = wait_stats(&mut stats, LONG, "4 more seconds", |e| {
        e.uptime_secs > live.uptime_secs + 4.0
    })
    .await;
    for name in ["a", "b", "recording"] {
        let o = output(&later, name);
        assert!(
            o.bitrate_kbps > 200.0 && o.bitrate_kbps < 5000.0,
            "{name} sends about 1 Mbit/s: {o:#?}"
        );
    }
    let report = engine.stop().await.expect("clean stop");
    assert!(
        report
            .outputs
            .iter()
            .all(|o| o.state == OutputState::Stopped),
        "{report:#?}"
    );

    for (server, name) in [(&a, "a"), (&b, "b")] {
        let files = server.recordings();
        assert_eq!(files.len(), 1, "{name} received one stream: {files:?}");
        let p = probe(&files[0]);
        assert_eq!(p.codecs, ["h264", "aac"], "{name}: {p:?}");
        assert!(
            p.video_span > 3.0 && p.audio_packets > 100,
            "{name} got seconds of media: {p:?}"
        );
    }
    let p = probe(&rec);
    assert_eq!(p.codecs, ["h264", "aac"]);
    assert!(p.video_span > 3.0, "recording: {p:?}");
    assert!(
        p.duration.is_some_and(|d| d > 3.0),
        "a clean stop finalises the recording: {p:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_destination_that_is_down_retries_and_recovers_while_the_rest_carries_on() {
    let steady = Nginx::start();
    let mut flaky = Nginx::not_started(support::free_port());
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = dir.path().join("show.mkv");
    let settings = small(BroadcastSettings {
        destinations: vec![
            Destination::new("steady", steady.url("steadykey1")),
            Destination::new("flaky", flaky.url("flakykey22")),
        ],
        recording: Some(RecordingSettings { path: rec.clone() }),
        reconnect: quick_retries(),
        ..Default::default()
    });
    let engine = Engine::start(settings).expect("engine starts");
    let mut stats = engine.stats();

    // 1. The receiver is not there: flaky keeps retrying, the others are live.
    let e = wait_stats(
        &mut stats,
        LONG,
        "flaky retrying while steady is live",
        |e| {
            is(e, "flaky", OutputState::Reconnecting)
                && output(e, "flaky").reconnects >= 2
                && is(e, "steady", OutputState::Live)
        },
    )
    .await;
    assert!(
        matches!(
            output(&e, "flaky").last_error,
            Some(OutputError::Unreachable(_))
        ),
        "{e:#?}"
    );
    assert!(is(&e, "recording", OutputState::Live));

    // 2. The receiver appears: flaky recovers on its own.
    flaky.restart();
    wait_stats(
        &mut stats,
        LONG,
        "flaky live after its receiver started",
        |e| is(e, "flaky", OutputState::Live),
    )
    .await;
    let live = wait_stats(&mut stats, LONG, "flaky sending", |e| {
        output(e, "flaky").bitrate_kbps > 100.0
    })
    .await;

    // 3. The receiver crashes mid-stream and comes back: flaky reconnects again.
    flaky.kill();
    wait_stats(&mut stats, LONG, "flaky notices the lost connection", |e| {
        !is(e, "flaky", OutputState::Live)
    })
    .await;
    flaky.restart();
    let back = wait_stats(&mut stats, LONG, "flaky live again", |e| {
        is(e, "flaky", OutputState::Live)
            && output(e, "flaky").reconnects > output(&live, "flaky").reconnects
    })
    .await;
    wait_stats(&mut stats, LONG, "2 more seconds", |e| {
        e.uptime_secs > back.uptime_secs + 2.0
    })
    .await;
    let report = engine.stop().await.expect("clean stop");
    let uptime = report.duration_secs;

    // The steady destination and the recording never had a gap. (Under heavy CPU load the
    // encoder may skip a few frames; a stall caused by the other destination would last
    // at least its retry delay.)
    for (what, path) in [
        ("steady", steady.recordings()[0].clone()),
        ("recording", rec),
    ] {
        let p = probe(&path);
        assert!(
            p.max_video_gap < 1.0,
            "{what} has a gap of {} s: {p:?}",
            p.max_video_gap
        );
        assert!(
            p.video_span > uptime - 3.0,
            "{what} covers the broadcast ({uptime} s): {p:?}"
        );
    }
    // The flaky destination got both sessions.
    let sessions = flaky.recordings();
    assert_eq!(
        sessions.len(),
        2,
        "two sessions at the flaky receiver: {sessions:?}"
    );
    for s in sessions {
        assert_eq!(probe(&s).codecs, ["h264", "aac"]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_key_fails_that_destination_only() {
    let server = Nginx::start();
    let refused = format!("rtmp://127.0.0.1:{}/locked/wrongkey987", server.port);
    let settings = small(BroadcastSettings {
        destinations: vec![
            Destination::new("good", server.url("goodkey123")),
            Destination::new("bad", refused),
        ],
        reconnect: quick_retries(),
        ..Default::default()
    });
    let engine = Engine::start(settings).expect("engine starts");
    let mut stats = engine.stats();
    let e = wait_stats(&mut stats, LONG, "bad failed, good live", |e| {
        is(e, "bad", OutputState::Failed) && is(e, "good", OutputState::Live)
    })
    .await;
    let bad = output(&e, "bad");
    assert!(
        matches!(bad.last_error, Some(OutputError::KeyRejected(_))),
        "{bad:#?}"
    );
    assert_eq!(bad.reconnects, 0, "a refused key is not retried: {bad:#?}");
    let text = serde_json::to_string(&e).expect("json");
    assert!(
        !text.contains("wrongkey987") && !text.contains("goodkey123"),
        "keys leak into stats: {text}"
    );
    engine.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_gives_jpeg_frames_and_stays_bounded() {
    let engine = Engine::start(BroadcastSettings::default()).expect("engine starts");
    let mut rx = engine.preview();
    let mut frames = Vec::new();
    while frames.len() < 12 {
        match tokio::time::timeout(LONG, rx.recv())
            .await
            .expect("preview frames arrive")
        {
            Ok(f) => frames.push(f),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(e) => panic!("preview closed: {e}"),
        }
    }
    let f = &frames[0];
    assert_eq!((f.width, f.height), (640, 360));
    assert!(
        f.jpeg.starts_with(&[0xFF, 0xD8]) && f.jpeg.ends_with(&[0xFF, 0xD9]),
        "a whole JPEG"
    );
    // Content cadence from timestamps (not wall time): at least 10 frames a second.
    let span_ms = frames.last().map(|l| l.pts_ms).unwrap_or(0) - f.pts_ms;
    assert!(
        span_ms <= 11 * 100,
        "12 frames span {span_ms} ms: less than 10 fps"
    );

    // Nobody reads for a while: the channel keeps only its capacity (2) and drops the oldest.
    tokio::time::sleep(Duration::from_secs(2)).await;
    use tokio::sync::broadcast::error::TryRecvError;
    assert!(
        matches!(rx.try_recv(), Err(TryRecvError::Lagged(n)) if n > 10),
        "old frames were dropped"
    );
    let mut kept = 0;
    while rx.try_recv().is_ok() {
        kept += 1;
    }
    assert!(
        kept <= 3,
        "{kept} frames were kept for a reader that did not read"
    );
    let newest = rx.recv().await.expect("newest frame after lag");
    assert!(newest.pts_ms > f.pts_ms + 1500);
    engine.stop().await.expect("clean stop");
}

#[test]
fn a_missing_encoder_names_the_debian_package() {
    aethex_broadcast::init().expect("init");
    if gstreamer::ElementFactory::find("vaapih264enc").is_some() {
        eprintln!("skipped: vaapih264enc is installed here");
        return;
    }
    let mut settings = BroadcastSettings::default();
    settings.encoder.encoder = EncoderChoice::Vaapi;
    let err = Engine::start(settings).expect_err("no VA-API encoder here");
    assert!(
        matches!(&err, EngineError::MissingElement { element, package } if element == "vaapih264enc" && package == "gstreamer1.0-vaapi")
    );
    assert!(
        err.to_string()
            .contains("install the Debian package gstreamer1.0-vaapi"),
        "{err}"
    );
}

/// Log lines written by the engine's `tracing` events.
#[derive(Clone, Default)]
struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_keys_never_show_in_debug_output_errors_or_logs() {
    let logs = CapturedLogs::default();
    let captured = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .try_init()
        .is_ok();
    let server = Nginx::start();
    let port = support::free_port(); // nothing listens here
    let settings = small(BroadcastSettings {
        destinations: vec![
            Destination::new(
                "twitch",
                format!("rtmp://127.0.0.1:{port}/live/sk_secret_4242"),
            ),
            Destination::new(
                "youtube",
                format!("rtmp://127.0.0.1:{}/locked/yt_secret_7777", server.port),
            ),
        ],
        reconnect: quick_retries(),
        ..Default::default()
    });
    let shown = format!(
        "{settings:?} {}",
        serde_json::to_string(&settings).expect("json")
    );
    assert!(!shown.contains("sk_secret_4242"), "{shown}");
    let engine = Engine::start(settings).expect("engine starts");
    let mut stats = engine.stats();
    // Both error paths ran: connection refused and publish refused.
    let e = wait_stats(&mut stats, LONG, "errors for both destinations", |e| {
        output(e, "twitch").last_error.is_some() && output(e, "youtube").last_error.is_some()
    })
    .await;
    let report = engine.stop().await.expect("clean stop");
    let text = format!(
        "{e:?} {} {report:?}",
        serde_json::to_string(&e).expect("json")
    );
    for key in ["sk_secret_4242", "yt_secret_7777"] {
        assert!(!text.contains(key), "{key} leaks: {text}");
    }
    assert!(
        text.contains(&format!("127.0.0.1:{port}")),
        "the host stays visible: {text}"
    );
    if captured {
        let logs =
            String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|p| p.into_inner())).to_string();
        assert!(
            logs.contains("output state") && logs.contains("youtube"),
            "logs were captured: {logs}"
        );
        for key in ["sk_secret_4242", "yt_secret_7777"] {
            assert!(!logs.contains(key), "{key} leaks into logs: {logs}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn srt_destination_gets_decodable_mpeg_ts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ts = dir.path().join("srt.ts");
    let port = support::free_port();
    // A real SRT listener: GStreamer's srtsrc writing what it receives.
    let mut receiver = std::process::Command::new("gst-launch-1.0")
        .arg("srtsrc")
        .arg(format!("uri=srt://127.0.0.1:{port}?mode=listener"))
        .args(["!", "filesink"])
        .arg(format!("location={}", ts.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("gst-launch-1.0 runs");
    let settings = small(BroadcastSettings {
        destinations: vec![Destination::new(
            "srt",
            format!("srt://127.0.0.1:{port}?streamid=publish:srtkey42"),
        )],
        reconnect: quick_retries(),
        ..Default::default()
    });
    let engine = Engine::start(settings).expect("engine starts");
    let mut stats = engine.stats();
    let live = wait_stats(&mut stats, LONG, "srt live", |e| {
        is(e, "srt", OutputState::Live)
    })
    .await;
    wait_stats(&mut stats, LONG, "3 more seconds", |e| {
        e.uptime_secs > live.uptime_secs + 3.0
    })
    .await;
    engine.stop().await.expect("clean stop");
    let _ = receiver.kill();
    let _ = receiver.wait();
    let p = probe(&ts);
    assert_eq!(p.codecs, ["h264", "aac"], "{p:?}");
    assert!(p.video_span > 2.0, "{p:?}");
}
