//! Live ingest journeys with real publishers (ffmpeg, gst-launch-1.0) against
//! a real server: publish → HLS → kill → offline + VOD.

mod support;

use std::time::{Duration, Instant};

use aethex_server::testing::{Api, TestServer};
use support::media::{MediaServer, Parsed, Publisher, Tracks, ffprobe, parse_playlist, server};
use support::wait_for;

const LONG: Duration = Duration::from_secs(60);

/// Waits until the live playlist of `channel` lists at least `n` segments.
async fn wait_segments(srv: &TestServer, channel: &str, n: usize) -> Parsed {
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
    let srv = server().await;
    let key = srv.channel_with_key("alice").await;
    // OBS appends a query string to the stream name: it must be ignored.
    let mut publisher = Publisher::ffmpeg(
        &srv.publish_url(&format!("{key}?bandwidth=1")),
        Tracks::Both,
    );

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
    let res = srv.get("/hls/alice/index.m3u8").send().await;
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let seg = srv
        .get(&format!("/hls/alice/{}", first.segments[0]))
        .send()
        .await;
    assert_eq!(seg.status(), 200);
    assert_eq!(seg.headers()["content-type"], "video/mp4");
    assert!(
        seg.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );

    // Decodable end to end.
    let (kinds, frames) = ffprobe(&srv.url_for("/hls/alice/index.m3u8")).await;
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
    let list: serde_json::Value = srv.get("/api/v1/channels/alice/vods").send().await.json();
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
    let (kinds, frames) = ffprobe(&srv.url_for(&playlist)).await;
    assert_eq!(kinds, ["audio", "video"]);
    assert!(frames >= 30, "VOD decoded only {frames} frames");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_rtmp2sink_publishes() {
    let srv = server().await;
    let key = srv.channel_with_key("bob").await;
    let _publisher = Publisher::gst_rtmp2sink(&srv.publish_url(&key));
    wait_segments(&srv, "bob", 2).await;
    let (kinds, frames) = ffprobe(&srv.url_for("/hls/bob/index.m3u8")).await;
    assert_eq!(kinds, ["audio", "video"]);
    assert!(frames > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_only_and_video_only_publishers_produce_hls() {
    let srv = server().await;
    let audio_key = srv.channel_with_key("radio").await;
    let video_key = srv.channel_with_key("silent").await;
    let _a = Publisher::ffmpeg(&srv.publish_url(&audio_key), Tracks::AudioOnly);
    let _v = Publisher::ffmpeg(&srv.publish_url(&video_key), Tracks::VideoOnly);
    wait_segments(&srv, "radio", 2).await;
    wait_segments(&srv, "silent", 2).await;
    assert_eq!(
        ffprobe(&srv.url_for("/hls/radio/index.m3u8")).await.0,
        ["audio"]
    );
    let (kinds, frames) = ffprobe(&srv.url_for("/hls/silent/index.m3u8")).await;
    assert_eq!(kinds, ["video"]);
    assert!(frames > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_and_rotated_keys_are_refused_without_files() {
    let srv = server().await;
    let carol = srv.user("carol").await;
    let old_key = srv.rotate_key(&carol).await;
    let _new_key = srv.rotate_key(&carol).await;

    for key in ["not-a-key", old_key.as_str()] {
        let publisher = Publisher::ffmpeg(&srv.publish_url(key), Tracks::Both);
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
    assert_eq!(srv.get("/hls/carol/index.m3u8").send().await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_publisher_on_a_live_channel_is_refused() {
    let srv = server().await;
    let key = srv.channel_with_key("dave").await;
    let _first = Publisher::ffmpeg(&srv.publish_url(&key), Tracks::Both);
    wait_segments(&srv, "dave", 1).await;
    let second = Publisher::ffmpeg(&srv.publish_url(&key), Tracks::Both);
    let (ok, output) = second.exit(LONG).await;
    assert!(!ok);
    assert!(output.contains("already live"), "got: {output}");
    // The first stream is unaffected.
    let p = wait_segments(&srv, "dave", 1).await;
    assert!(!p.ended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finalises_live_playlists_and_keeps_the_vod() {
    let mut srv = server().await;
    let key = srv.channel_with_key("erin").await;
    let _publisher = Publisher::ffmpeg(&srv.publish_url(&key), Tracks::Both);
    wait_segments(&srv, "erin", 2).await;
    srv.shutdown().await;
    let (id, ended, vod_dir): (i64, Option<i64>, Option<String>) =
        sqlx::query_as("SELECT id, ended_at, vod_dir FROM broadcasts")
            .fetch_one(&srv.state.db.pool)
            .await
            .unwrap();
    assert!(ended.is_some(), "broadcast not ended on shutdown");
    let dir = srv.dir.path().join(vod_dir.expect("vod dir"));
    let text = std::fs::read_to_string(dir.join("index.m3u8")).unwrap();
    let p = parse_playlist(&text);
    assert!(p.ended, "VOD playlist lacks ENDLIST: {text}");
    assert!(p.segments.iter().all(|s| s.starts_with(&format!("{id}_"))));
    assert!(p.segments.iter().all(|s| dir.join(s).is_file()));
    // Parts were for live viewers: the recording keeps init + segments only.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("_p")),
        "part files left in the recording: {names:?}"
    );
    assert!(names.contains(&format!("{id}_init.mp4")), "{names:?}");
}

/// LL-HLS: parts and the preload hint are listed, a blocking reload waits for
/// the next part, the hinted part is served the moment it exists, and init +
/// parts decode like the segment they add up to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_latency_parts_blocking_reload_and_preload_hint() {
    let srv = server().await;
    let key = srv.channel_with_key("lola").await;
    let _publisher = Publisher::ffmpeg(&srv.publish_url(&key), Tracks::Both);
    let p = wait_segments(&srv, "lola", 2).await;
    assert_eq!(p.part_target, Some(0.2));
    let map = p.map.clone().expect("EXT-X-MAP");
    assert!(!p.parts.is_empty(), "parts listed");
    let hint = p.preload_hint.clone().expect("preload hint");
    assert!(
        p.parts.iter().all(|(uri, _)| uri != &hint),
        "hint names a future part"
    );

    // The init segment and every part are fMP4.
    let init = srv.get(&format!("/hls/lola/{map}")).send().await;
    assert_eq!(init.status(), 200);
    assert_eq!(init.headers()["content-type"], "video/mp4");
    let init = init.bytes();
    assert_eq!(&init[4..8], b"ftyp");

    // Blocking reload for a part of the next segment: answered only once that
    // part is listed (that segment may not even have started yet).
    let next_msn = p.media_sequence + p.segments.len() as u64 + 1;
    let reloaded = srv
        .get_text(&format!(
            "/hls/lola/index.m3u8?_HLS_msn={}&_HLS_part=3",
            next_msn
        ))
        .await
        .unwrap();
    let after = parse_playlist(&reloaded);
    let wanted = format!("_{next_msn:05}_p3.m4s");
    assert!(
        after.parts.iter().any(|(uri, _)| uri.ends_with(&wanted)),
        "blocking reload returned without part 3 of {next_msn}: {reloaded}"
    );

    // Too far ahead of the live edge: 400 in the contract's error shape.
    let far = srv
        .get(&format!("/hls/lola/index.m3u8?_HLS_msn={}", next_msn + 50))
        .send()
        .await;
    assert_eq!(far.status(), 400);
    let body: serde_json::Value = far.json();
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
    assert_eq!(
        srv.get("/hls/lola/index.m3u8?_HLS_part=1")
            .send()
            .await
            .status(),
        400
    );

    // The hinted part: the request waits for it, then gets its bytes.
    let hint = parse_playlist(&srv.get_text("/hls/lola/index.m3u8").await.unwrap())
        .preload_hint
        .expect("hint");
    let part = srv.get(&format!("/hls/lola/{hint}")).send().await;
    assert_eq!(part.status(), 200, "hinted part {hint}");
    let part = part.bytes();
    assert_eq!(&part[4..8], b"moof");

    // A finished segment is exactly its parts, and init + segment decodes.
    let done = parse_playlist(&srv.get_text("/hls/lola/index.m3u8").await.unwrap());
    let seg_uri = done.segments.last().unwrap().clone();
    let stem = seg_uri.trim_end_matches(".m4s");
    let mut joined = Vec::new();
    for (uri, _) in done
        .parts
        .iter()
        .filter(|(u, _)| u.starts_with(&format!("{stem}_p")))
    {
        joined.extend_from_slice(srv.get(&format!("/hls/lola/{uri}")).send().await.bytes());
    }
    let segment = srv.get(&format!("/hls/lola/{seg_uri}")).send().await;
    let segment = segment.bytes();
    assert!(!joined.is_empty(), "parts of {seg_uri} listed");
    assert_eq!(joined, segment.to_vec(), "segment = its parts");
    let first_part = done
        .parts
        .iter()
        .find(|(u, _)| u.starts_with(&format!("{stem}_p0")))
        .expect("part 0");
    assert!(first_part.1, "a segment's first part is independent");
    let file = srv.dir.path().join("probe.mp4");
    std::fs::write(&file, [init.to_vec(), segment.to_vec()].concat()).unwrap();
    let (kinds, frames) = ffprobe(file.to_str().unwrap()).await;
    assert_eq!(kinds, ["audio", "video"]);
    assert!(frames >= 10, "init + one segment decoded {frames} frames");
}
