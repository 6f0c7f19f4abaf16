//! SRT ingest: a gst-launch-1.0 srtsink caller with the stream key as stream id.

mod support;

use std::time::Duration;

use aethex_server::testing::Api;
use support::media::{MediaServer, Publisher, ffprobe, free_udp_port, parse_playlist, server_with};
use support::wait_for;

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srt_caller_with_key_goes_live_and_wrong_key_is_refused() {
    let port = free_udp_port();
    let srv = server_with(|c| c.srt = Some(([127, 0, 0, 1], port).into())).await;
    let key = srv.channel_with_key("sam").await;

    // Wrong key first: refused at connection time, nothing recorded.
    let wrong = Publisher::gst_srt(port, "not-a-key");
    let (ok, _) = wrong.exit(LONG).await;
    assert!(!ok, "srtsink must fail with a wrong key");
    assert!(
        srv.vod_files().is_empty(),
        "files written: {:?}",
        srv.vod_files()
    );

    let mut publisher = Publisher::gst_srt(port, &key);
    wait_for("SRT segments", LONG, || async {
        let p = parse_playlist(&srv.get_text("/hls/sam/index.m3u8").await?);
        (p.segments.len() >= 2).then_some(())
    })
    .await;
    assert!(srv.is_live("sam").await);
    let (kinds, frames) = ffprobe(&srv.url_for("/hls/sam/index.m3u8")).await;
    assert_eq!(kinds, ["audio", "video"]);
    assert!(frames > 0);

    publisher.kill().await;
    wait_for("SRT broadcast offline", LONG, || async {
        (!srv.is_live("sam").await).then_some(())
    })
    .await;
    let list: serde_json::Value = srv.get("/api/v1/channels/sam/vods").send().await.json();
    assert_eq!(list["vods"].as_array().unwrap().len(), 1, "{list}");
}
