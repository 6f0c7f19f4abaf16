//! The recording stays playable when the process is killed with SIGKILL.
//!
//! The parent test re-runs this test binary as a child that broadcasts and records until it
//! is killed (the `child_records_until_killed` test, ignored unless asked for).

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aethex_broadcast::{BroadcastSettings, Engine, OutputState, RecordingSettings};

const CHILD_ENV: &str = "AETHEX_CRASH_CHILD_RECORDING";

#[test]
#[ignore = "run by recording_is_playable_after_sigkill as a child process"]
fn child_records_until_killed() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut settings = BroadcastSettings {
        recording: Some(RecordingSettings { path: path.into() }),
        ..Default::default()
    };
    settings.encoder.width = 640;
    settings.encoder.height = 360;
    let engine = Engine::start(settings).expect("engine starts");
    let mut stats = engine.stats();
    loop {
        if let Ok(e) = stats.blocking_recv()
            && e.outputs
                .iter()
                .any(|o| o.state == OutputState::Live && o.bytes_total > 100_000)
        {
            println!("RECORDING");
        }
    }
}

#[test]
fn recording_is_playable_after_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.mkv");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_records_until_killed",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("stdout");
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = 0;
    for line in BufReader::new(stdout).lines() {
        if line.expect("child output").contains("RECORDING") {
            seen += 1;
            if seen >= 3 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "child never recorded");
    }
    assert!(seen >= 3, "child stopped before recording");
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    let p = support::probe(&path);
    assert_eq!(p.codecs, ["h264", "aac"], "{p:?}");
    assert!(
        p.video_packets > 30 && p.video_span > 1.0,
        "seconds of video survive the kill: {p:?}"
    );
}

#[test]
fn the_engine_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Engine>();
}

#[test]
fn dropping_the_engine_without_stop_leaves_a_playable_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dropped.mkv");
    let mut settings = BroadcastSettings {
        recording: Some(RecordingSettings { path: path.clone() }),
        ..Default::default()
    };
    settings.encoder.width = 640;
    settings.encoder.height = 360;
    let engine = Engine::start(settings).expect("engine starts");
    let mut stats = engine.stats();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "recording never started");
        if let Ok(e) = stats.blocking_recv()
            && e.outputs
                .iter()
                .any(|o| o.state == OutputState::Live && o.bytes_total > 1_000_000)
        {
            break;
        }
    }
    drop(engine);
    let p = support::probe(&path);
    assert_eq!(p.codecs, ["h264", "aac"], "{p:?}");
    assert!(p.video_packets > 30 && p.video_span > 1.0, "{p:?}");
}
