//! Capture devices: screen through a private Xvfb, camera and microphone when present.

mod support;

use std::time::Duration;

use aethex_broadcast::{
    AudioInput, AudioSource, BroadcastSettings, CameraSource, DeviceKind, Engine, PictureInPicture,
    ScreenSource, VideoSource, list_devices,
};

const LONG: Duration = Duration::from_secs(60);

async fn runs_for_two_seconds(settings: BroadcastSettings) {
    let engine = Engine::start(settings).expect("engine starts");
    let mut stats = engine.stats();
    let e = support::wait_stats(&mut stats, LONG, "2 s of encoding", |e| {
        e.uptime_secs >= 2.0
    })
    .await;
    assert!(e.frames_encoded > 10 && e.error.is_none(), "{e:#?}");
    engine.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn screen_capture_on_x11() {
    if std::env::var_os("XDG_SESSION_TYPE").is_some_and(|t| t == "wayland") {
        eprintln!("skipped: Wayland session (screen capture needs the portal)");
        return;
    }
    let Some(x) = support::Xvfb::start() else {
        eprintln!("skipped: Xvfb is not installed");
        return;
    };
    let mut settings = BroadcastSettings {
        video: VideoSource::Screen(ScreenSource {
            display: Some(x.display.clone()),
            pipewire: None,
            ..Default::default()
        }),
        ..Default::default()
    };
    settings.encoder.width = 640;
    settings.encoder.height = 360;
    runs_for_two_seconds(settings).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn camera_picture_in_picture() {
    let Some(cam) = list_devices()
        .into_iter()
        .find(|d| d.kind == DeviceKind::Camera)
    else {
        eprintln!("skipped: no camera on this machine");
        return;
    };
    let settings = BroadcastSettings {
        camera: Some(PictureInPicture {
            source: VideoSource::Camera(CameraSource { device: cam.id }),
            x: 0.7,
            y: 0.7,
            width: 0.25,
        }),
        ..Default::default()
    };
    runs_for_two_seconds(settings).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn microphone_and_desktop_audio() {
    let devices = list_devices();
    let mut audio = Vec::new();
    if let Some(mic) = devices.iter().find(|d| d.kind == DeviceKind::Microphone) {
        audio.push(AudioInput::new(
            "mic",
            AudioSource::Microphone {
                device: mic.id.clone(),
            },
        ));
    }
    if let Some(mon) = devices.iter().find(|d| d.kind == DeviceKind::DesktopAudio) {
        audio.push(AudioInput::new(
            "desktop",
            AudioSource::Desktop {
                device: mon.id.clone(),
            },
        ));
    }
    if audio.is_empty() {
        eprintln!("skipped: no microphone or monitor source (no PulseAudio/PipeWire here)");
        return;
    }
    runs_for_two_seconds(BroadcastSettings {
        audio,
        ..Default::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn picture_in_picture_is_composited() {
    // The test pattern stands in for the camera: same compositor path.
    let settings = BroadcastSettings {
        camera: Some(PictureInPicture {
            source: VideoSource::TestPattern,
            x: 0.7,
            y: 0.7,
            width: 0.25,
        }),
        ..Default::default()
    };
    let engine = Engine::start(settings).expect("engine starts with a picture-in-picture");
    let mut preview = engine.preview();
    let frame = tokio::time::timeout(LONG, preview.recv())
        .await
        .expect("a preview frame")
        .expect("frame");
    assert_eq!((frame.width, frame.height), (640, 360));
    let mut stats = engine.stats();
    let e = support::wait_stats(&mut stats, LONG, "2 s of encoding", |e| {
        e.uptime_secs >= 2.0
    })
    .await;
    assert!(e.encoder_fps > 5.0 && e.error.is_none(), "{e:#?}");
    engine.stop().await.expect("clean stop");
}
