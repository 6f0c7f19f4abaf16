//! Live ingest journeys with real publishers (ffmpeg, gst-launch-1.0) against
//! a real server: publish → HLS → kill → offline + VOD.

mod support;

use std::time::{Duration, Instant};

use support::{Publisher, TestServer, Tracks, ffprobe, parse_playlist, wait_for};

const LONG: Duration = Duration::from_secs(60);

/// Waits until the live playlist of `channel` lists at least `n` segments.
async fn wait_segments(srv: &TestServer, channel: &str, n: usize) -> support::Parsed {
    let path = format!("/hls/{channel}/index.m3u8");
    wait_for(&format!("{n} live segments on {channel}"), LONG, || async {
        let text = srv.get_text(&path).await?;
        let p = parse_playlist(&text);
        (p.segments.len() >= n).then_some(p)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_publish_goes_live_then_offline_with_vod_when_killed() {
    let srv = TestServer::start().await;
    let key = srv.channel_with_key("alice").await;
    // OBS appends a query string to the stream name: it must be ignored.
    let mut publisher =
        Publisher::ffmpeg(&srv.rtmp_url(&format!("{key}?bandwidth=1")), Tracks::Both);

    let first = wait_segments(&srv, "alice", 2).await;
    assert!(
        srv.is_live("alice").await,
        "API must report the channel live"
    );
    assert_eq!(
        first.pdt_count,
        first.segments.len(),
        "PDT on every segment"
    );

    // The live playlist headers and the segments' headers.
    let res = srv.get("/hls/alice/index.m3u8").await;
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let seg = srv.get(&format!("/hls/alice/{}", first.segments[0])).await;
    assert_eq!(seg.status(), 200);
    assert_eq!(seg.headers()["content-type"], "video/mp2t");
    assert!(
        seg.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );

    // Decodable end to end.
    let (kinds, frames) = ffprobe(&srv.url("/hls/alice/index.m3u8")).await;
    assert_eq!(kinds, ["audio", "video"]);
    assert!(frames > 0, "ffprobe decoded no video frame");

    // New segments keep appearing.
    let last = first.segments.last().cloned().unwrap();
    wait_for("a newer segment", LONG, || async {
        let p = parse_playlist(&srv.get_text("/hls/alice/index.m3u8").await?);
        (p.segments.last() != Some(&last)).then_some(())
    })
    .await;

    // Killed mid-stream: offline (ENDLIST, broadcast ended) within 2 s.
    publisher.kill().await;
    let killed = Instant::now();
    wait_for("ENDLIST after the publisher died", LONG, || async {
        let p = parse_playlist(&srv.get_text("/hls/alice/index.m3u8").await?);
        p.ended.then_some(())
    })
    .await;
    wait_for("broadcast row ended", LONG, || async {
        let (ended,): (Option<i64>,) =
            sqlx::query_as("SELECT ended_at FROM broadcasts ORDER BY id DESC LIMIT 1")
                .fetch_one(&srv.state.db.pool)
                .await
                .ok()?;
        ended.map(|_| ())
    })
    .await;
    let offline_after = killed.elapsed();
    assert!(
        offline_after <= Duration::from_secs(2),
        "offline took {offline_after:?}"
    );
    assert!(!srv.state.live.is_live("alice"));
    assert!(!srv.is_live("alice").await, "API still says live");

    // The VOD is listed and plays to the end.
    let list: serde_json::Value = srv
        .get("/api/v1/channels/alice/vods")
        .await
        .json()
        .await
        .unwrap();
    let vods = list["vods"].as_array().unwrap();
    assert_eq!(vods.len(), 1, "{list}");
    assert!(vods[0]["title"].is_string());
    assert!(
        vods[0]["duration_seconds"].as_f64().unwrap() > 1.0,
        "{list}"
    );
    let playlist = vods[0]["playlist"].as_str().unwrap().to_string();
    let vod = parse_playlist(&srv.get_text(&playlist).await.expect("VOD playlist"));
    assert!(vod.ended);
    assert_eq!(vod.media_sequence, 0);
    assert!(vod.segments.len() >= first.segments.len());
    let (kinds, frames) = ffprobe(&srv.url(&playlist)).await;
    assert_eq!(kinds, ["audio", "video"]);
    assert!(frames >= 30, "VOD decoded only {frames} frames");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_rtmp2sink_publishes() {
    let srv = TestServer::start().await;
    let key = srv.channel_with_key("bob").await;
    let _publisher = Publisher::gst_rtmp2sink(&srv.rtmp_url(&key));
    wait_segments(&srv, "bob", 2).await;
    let (kinds, frames) = ffprobe(&srv.url("/hls/bob/index.m3u8")).await;
    assert_eq!(kinds, ["audio", "video"]);
    assert!(frames > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_only_and_video_only_publishers_produce_hls() {
    let srv = TestServer::start().await;
    let audio_key = srv.channel_with_key("radio").await;
    let video_key = srv.channel_with_key("silent").await;
    let _a = Publisher::ffmpeg(&srv.rtmp_url(&audio_key), Tracks::AudioOnly);
    let _v = Publisher::ffmpeg(&srv.rtmp_url(&video_key), Tracks::VideoOnly);
    wait_segments(&srv, "radio", 2).await;
    wait_segments(&srv, "silent", 2).await;
    assert_eq!(
        ffprobe(&srv.url("/hls/radio/index.m3u8")).await.0,
        ["audio"]
    );
    let (kinds, frames) = ffprobe(&srv.url("/hls/silent/index.m3u8")).await;
    assert_eq!(kinds, ["video"]);
    assert!(frames > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_and_rotated_keys_are_refused_without_files() {
    let srv = TestServer::start().await;
    let old_key = srv.channel_with_key("carol").await;
    let _new_key = srv.rotate_key("carol").await;

    for key in ["not-a-key", old_key.as_str()] {
        let publisher = Publisher::ffmpeg(&srv.rtmp_url(key), Tracks::Both);
        let (ok, output) = publisher.exit(LONG).await;
        assert!(!ok, "ffmpeg must fail with key {key:?}");
        assert!(
            output.contains("stream key not accepted"),
            "ffmpeg should print the server's reason, got: {output}"
        );
    }
    assert!(
        srv.vod_files().is_empty(),
        "files written: {:?}",
        srv.vod_files()
    );
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM broadcasts")
        .fetch_one(&srv.state.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
    assert_eq!(srv.get("/hls/carol/index.m3u8").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_publisher_on_a_live_channel_is_refused() {
    let srv = TestServer::start().await;
    let key = srv.channel_with_key("dave").await;
    let _first = Publisher::ffmpeg(&srv.rtmp_url(&key), Tracks::Both);
    wait_segments(&srv, "dave", 1).await;
    let second = Publisher::ffmpeg(&srv.rtmp_url(&key), Tracks::Both);
    let (ok, output) = second.exit(LONG).await;
    assert!(!ok);
    assert!(output.contains("already live"), "got: {output}");
    // The first stream is unaffected.
    let p = wait_segments(&srv, "dave", 1).await;
    assert!(!p.ended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finalises_live_playlists_and_keeps_the_vod() {
    let mut srv = TestServer::start().await;
    let key = srv.channel_with_key("erin").await;
    let _publisher = Publisher::ffmpeg(&srv.rtmp_url(&key), Tracks::Both);
    wait_segments(&srv, "erin", 2).await;
    srv.shutdown().await;
    let (id, ended, vod_dir): (i64, Option<i64>, Option<String>) =
        sqlx::query_as("SELECT id, ended_at, vod_dir FROM broadcasts")
            .fetch_one(&srv.state.db.pool)
            .await
            .unwrap();
    assert!(ended.is_some(), "broadcast not ended on shutdown");
    let dir = srv.dir.join(vod_dir.expect("vod dir"));
    let text = std::fs::read_to_string(dir.join("index.m3u8")).unwrap();
    let p = parse_playlist(&text);
    assert!(p.ended, "VOD playlist lacks ENDLIST: {text}");
    assert!(p.segments.iter().all(|s| s.starts_with(&format!("{id}_"))));
    assert!(p.segments.iter().all(|s| dir.join(s).is_file()));
}
