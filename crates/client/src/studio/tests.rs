use super::*;
use crate::test_support::within;

fn settings() -> StudioSettings {
    StudioSettings {
        width: 640,
        height: 360,
        fps: 15,
        bitrate_kbps: 800,
        ..Default::default()
    }
}

#[test]
fn destination_urls_carry_the_key_in_the_right_place() {
    let key = Secret::new("k3y");
    assert_eq!(destination_url("rtmp://h/live/", &key), "rtmp://h/live/k3y");
    assert_eq!(
        destination_url("srt://h:9000", &key),
        "srt://h:9000?streamid=k3y"
    );
    assert_eq!(
        destination_url("srt://h:9000?latency=200", &key),
        "srt://h:9000?latency=200&streamid=k3y"
    );
}

#[test]
fn settings_translate_to_the_engine() {
    let mut s = settings();
    s.camera_pip = true;
    s.muted = true;
    s.volume = 5.0;
    s.encoder = EncoderPick::X264;
    let b = broadcast_settings(&s, Vec::new(), Some("/tmp/x.mkv".into()));
    assert!(matches!(
        b.video,
        aethex_broadcast::VideoSource::TestPattern
    ));
    assert!(b.camera.is_some(), "camera PiP over the test picture");
    assert_eq!(b.audio.len(), 1);
    assert_eq!(b.audio[0].name, TONE);
    assert!(b.audio[0].muted);
    assert_eq!(b.audio[0].volume, 2.0, "volume is clamped");
    assert_eq!((b.encoder.width, b.encoder.fps), (640, 15));
    assert!(b.recording.is_some());
    s.source = MainSource::Camera;
    s.microphone = true;
    let b = broadcast_settings(&s, Vec::new(), None);
    assert!(b.camera.is_none(), "no PiP of the camera over itself");
    assert_eq!(b.audio[0].name, MIC);
}

#[test]
fn saved_settings_never_hold_a_key() {
    let mut s = settings();
    s.destinations.push(CustomDestination {
        name: "twitch".into(),
        url: "rtmp://live.twitch.tv/app".into(),
        enabled: true,
    });
    let json = serde_json::to_string(&s).expect("serialise");
    let back: StudioSettings = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, s);
    let partial: StudioSettings = serde_json::from_str(r#"{"fps":60}"#).expect("partial");
    assert_eq!(partial.fps, 60);
    assert_eq!(partial.width, 1280, "missing fields take defaults");
}

#[tokio::test]
async fn unreachable_server_is_reported_as_such() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut studio = Studio::new(Vault::in_memory());
    let err = within(studio.connect(Some("http://127.0.0.1:9"), dir.path(), None))
        .await
        .expect_err("nothing listens on port 9");
    let view = err.view();
    assert_eq!(view.kind, StudioErrorKind::Unreachable);
    assert!(view.message.contains("cannot reach"), "{}", view.message);
}

/// A server elsewhere (RTMP on another port than 1935): the studio takes the own
/// server's RTMP ingest from its `GET /api/v1/ingest`.
#[tokio::test(flavor = "multi_thread")]
async fn connecting_to_a_server_discovers_its_rtmp_ingest() {
    use aethex_server::testing::{TestDb, TestServer};
    let srv = TestServer::start(TestDb::Sqlite).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut studio = Studio::new(Vault::in_memory());
    within(studio.connect(Some(&srv.url()), dir.path(), None))
        .await
        .expect("connect");
    let own = studio.destinations(&settings()).expect("destinations");
    assert_eq!(own[0].url, srv.rtmp_url());
    assert_ne!(srv.rtmp.port(), 1935);
}

/// The whole creator journey against the built-in server: sign up, profile, keys,
/// preview, go live, end, and the session resumed on the next launch.
#[tokio::test(flavor = "multi_thread")]
async fn creator_journey_on_the_built_in_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = Vault::in_memory();
    let mut studio = Studio::new(vault.clone());
    let status = within(studio.connect(None, dir.path(), None))
        .await
        .expect("built-in server");
    assert!(status.local_server);
    assert!(status.profile.is_none());
    assert!(
        dir.path().join("aethex.db").exists(),
        "SQLite in the data dir"
    );

    let pw = Secret::new("correct horse battery");
    let profile = within(studio.authenticate("creator_1", &pw, true))
        .await
        .expect("sign up");
    assert_eq!(profile.username, "creator_1");
    let wrong = within(studio.authenticate("creator_1", &Secret::new("nope nope"), false))
        .await
        .expect_err("wrong password");
    assert_eq!(wrong.view().kind, StudioErrorKind::WrongPassword);

    let profile = within(studio.update_profile("Creator One", "I stream tests"))
        .await
        .expect("profile");
    assert_eq!(profile.display_name, "Creator One");
    assert_eq!(profile.bio, "I stream tests");

    let dests = studio.destinations(&settings()).expect("destinations");
    assert!(
        dests[0].own && dests[0].has_key,
        "sign-up stores a stream key"
    );
    let key1 = studio.reveal_key("", true).expect("reveal").expect("key");
    within(studio.rotate_own_key()).await.expect("rotate");
    let key2 = studio.reveal_key("", true).expect("reveal").expect("key");
    assert_ne!(key1.expose(), key2.expose(), "rotation stores the new key");
    studio
        .set_destination_key("backup", &Secret::new("bk"))
        .expect("custom key");
    assert_eq!(
        studio
            .reveal_key("backup", false)
            .expect("reveal")
            .expect("custom key")
            .expose(),
        "bk"
    );

    let mut feeds = within(studio.start_preview(&settings()))
        .await
        .expect("preview");
    let frame = within(feeds.preview.recv()).await.expect("preview frame");
    assert!(frame.jpeg.starts_with(&[0xff, 0xd8]), "a JPEG");
    let view = preview_view(&frame, 7);
    assert_eq!((view.seq, view.bytes as usize), (7, frame.jpeg.len()));

    let mut feeds = within(studio.go_live(&settings(), "First stream"))
        .await
        .expect("go live");
    assert!(studio.is_live());
    let ev = within(feeds.stats.recv()).await.expect("stats");
    let view = stats_view(&ev, true);
    assert_eq!(view.outputs[0].name, "own server");
    let shown = serde_json::to_string(&view).expect("json");
    assert!(!shown.contains(key2.expose()), "stats never show the key");
    let (api, name) = studio.api().expect("api");
    let ch = within(api.channel(name)).await.expect("channel");
    assert_eq!(ch.title, "First stream");
    let err = within(studio.sign_out()).await.expect_err("live");
    assert_eq!(err.view().kind, StudioErrorKind::State);
    within(studio.end_stream()).await.expect("end");
    assert!(!studio.is_live());
    let ports = studio.local_ports().expect("ports");
    within(studio.shutdown()).await;

    // Next launch: same data dir, same ports, the session comes back from the vault.
    let mut studio = Studio::new(vault);
    let status = within(studio.connect(None, dir.path(), Some(ports)))
        .await
        .expect("restart");
    assert_eq!(
        status.profile.map(|p| p.display_name).as_deref(),
        Some("Creator One")
    );
    within(studio.shutdown()).await;
}

/// The UI matches on these names (ui/src/studio/logic.ts; the generated type makes a
/// missing one a compile error there).
#[test]
fn error_kinds_travel_as_snake_case() {
    for (kind, name) in [
        (StudioErrorKind::WrongPassword, "wrong_password"),
        (StudioErrorKind::NotSignedIn, "not_signed_in"),
        (StudioErrorKind::MissingPlugin, "missing_plugin"),
        (StudioErrorKind::LocalServer, "local_server"),
        (StudioErrorKind::Chat, "chat"),
    ] {
        assert_eq!(serde_json::to_value(kind).expect("json"), name);
        let view = serde_json::json!({"kind": name, "message": "m"});
        let back: StudioErrorView = serde_json::from_value(view).expect("parse");
        assert_eq!(back.kind, kind);
    }
}

#[test]
fn chat_states_read_as_sentences() {
    use crate::chat::ConnectionState as S;
    assert_eq!(chat_state_text(&S::Connected), (true, String::new()));
    let (up, text) = chat_state_text(&S::Failed {
        reason: "no such channel".into(),
    });
    assert!(!up);
    assert_eq!(text, "Chat unavailable: no such channel");
    let (_, text) = chat_state_text(&S::Reconnecting {
        attempt: 2,
        delay: std::time::Duration::from_millis(1500),
        reason: "connection reset".into(),
    });
    assert!(text.contains("reconnecting in 1 s"), "{text}");
}

#[test]
fn recordings_list_only_matroska_files_newest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("old.mkv"), vec![0u8; 2048]).expect("write");
    std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    let newer = dir.path().join("new.mkv");
    std::fs::write(&newer, vec![0u8; 1024]).expect("write");
    std::fs::File::options()
        .write(true)
        .open(&newer)
        .and_then(|f| f.set_modified(later))
        .expect("mtime");
    let list = recordings(dir.path());
    let names: Vec<&str> = list.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["new.mkv", "old.mkv"]);
    assert!(recordings(&dir.path().join("missing")).is_empty());
}
