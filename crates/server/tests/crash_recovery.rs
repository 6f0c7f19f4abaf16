//! `kill -9` of the server in the middle of a broadcast, then a restart on the
//! same data dir: the channel is offline, the broadcast is listed as a VOD
//! whose playlist is complete (`PLAYLIST-TYPE:VOD`, `EXT-X-ENDLIST`, every
//! listed segment whole) and ffprobe decodes it to the end; the next
//! broadcast records normally.

mod support;

use std::time::Duration;

use support::http::{get, register, stream_key};
use support::media::{Publisher, Tracks, ffprobe, parse_playlist};
use support::process::{ServerProcess, start_on};

async fn wait_live(http: &reqwest::Client, server: &ServerProcess, want: bool) {
    let url = server.url("/api/v1/channels/alice");
    support::wait_for(&format!("live = {want}"), Duration::from_secs(20), || {
        let (http, url) = (http.clone(), url.clone());
        async move { (get(&http, url).await["live"] == want).then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn a_broadcast_cut_by_kill_9_becomes_a_complete_playable_vod() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let server = start_on(&data);
    let http = reqwest::Client::new();
    let token = register(&http, &server, "alice").await;
    let key = stream_key(&http, &server, "alice", &token).await;
    let publisher = Publisher::ffmpeg(&format!("rtmp://{}/live/{key}", server.rtmp), Tracks::Both);
    wait_live(&http, &server, true).await;
    // About four segments on disk, the next one half written.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    drop(server); // SIGKILL: no flush, no end of broadcast
    drop(publisher);

    let server = start_on(&data);
    assert!(
        server.stderr().contains("recovered the recording"),
        "{}",
        server.stderr()
    );
    let channel = get(&http, server.url("/api/v1/channels/alice")).await;
    assert_eq!(channel["live"], false, "{channel}");
    let vods = get(&http, server.url("/api/v1/channels/alice/vods")).await;
    let vods = vods["vods"].as_array().cloned().unwrap_or_default();
    assert_eq!(vods.len(), 1, "the cut broadcast is a VOD: {vods:?}");
    let duration = vods[0]["duration_seconds"].as_f64().unwrap_or_default();
    assert!(
        (2.0..=6.0).contains(&duration),
        "duration of ~4 s recorded: {duration} s"
    );
    let playlist_url = server.url(vods[0]["playlist"].as_str().expect("playlist"));
    let text = reqwest::get(&playlist_url)
        .await
        .expect("playlist")
        .text()
        .await
        .expect("text");
    assert!(text.contains("#EXT-X-PLAYLIST-TYPE:VOD"), "{text}");
    assert!(text.trim_end().ends_with("#EXT-X-ENDLIST"), "{text}");
    let parsed = parse_playlist(&text);
    assert!(parsed.segments.len() >= 2, "{text}");
    let listed: f64 = parsed.segments.len() as f64;
    let (kinds, frames) = ffprobe(&playlist_url).await;
    assert_eq!(kinds, ["audio", "video"], "both tracks decode");
    // 30 fps; every listed segment decodes (allow the first GOP's start-up).
    assert!(
        frames as f64 >= listed * 0.5 * 30.0,
        "{frames} frames from {listed} segments"
    );

    // The next broadcast records and ends normally.
    let mut publisher =
        Publisher::ffmpeg(&format!("rtmp://{}/live/{key}", server.rtmp), Tracks::Both);
    wait_live(&http, &server, true).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    publisher.kill().await;
    wait_live(&http, &server, false).await;
    let vods = get(&http, server.url("/api/v1/channels/alice/vods")).await;
    assert_eq!(vods["vods"].as_array().map(Vec::len), Some(2), "{vods}");
}
