//! Hostile or broken peers on the RTMP port, HLS path safety, VOD retention.

mod support;

use std::time::Duration;

use aethex_server::testing::Api;
use support::media::{MediaServer, Publisher, Tracks, parse_playlist, server, server_with};
use support::wait_for;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LONG: Duration = Duration::from_secs(60);

/// Reads until the server closes the connection (EOF or reset).
async fn expect_closed_by_server(mut s: TcpStream, within: Duration) {
    let mut buf = [0u8; 8192];
    let closed = tokio::time::timeout(within, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "server kept the connection open past {within:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_truncated_handshake_and_slow_loris_are_dropped_without_leaks() {
    let srv = server().await;

    // Garbage: not an RTMP version byte.
    let mut garbage = TcpStream::connect(srv.rtmp).await.unwrap();
    let noise: Vec<u8> = (0..64 * 1024).map(|i| (i * 7 + 13) as u8).collect();
    let _ = garbage.write_all(&noise).await;
    expect_closed_by_server(garbage, Duration::from_secs(20)).await;

    // Valid C0 + half of C1, then silence.
    let mut truncated = TcpStream::connect(srv.rtmp).await.unwrap();
    truncated.write_all(&[3]).await.unwrap();
    truncated.write_all(&[0u8; 700]).await.unwrap();
    // Slow-loris: a byte every second, never completing the handshake.
    let mut slow = TcpStream::connect(srv.rtmp).await.unwrap();
    slow.write_all(&[3]).await.unwrap();
    let slow_writer = tokio::spawn(async move {
        for _ in 0..40 {
            if slow.write_all(&[0]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    expect_closed_by_server(truncated, Duration::from_secs(30)).await;
    let _ = tokio::time::timeout(Duration::from_secs(45), slow_writer).await;

    wait_for("all RTMP connections released", LONG, || async {
        (srv.state.live.open_connections() == 0).then_some(())
    })
    .await;

    // The server still takes a real publisher afterwards.
    let key = srv.channel_with_key("after").await;
    let _p = Publisher::ffmpeg(&srv.publish_url(&key), Tracks::Both);
    wait_for("a segment after the abuse", LONG, || async {
        let p = parse_playlist(&srv.get_text("/hls/after/index.m3u8").await?);
        (!p.segments.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_is_404_offline_and_refuses_path_traversal() {
    let srv = server().await;
    let key = srv.channel_with_key("frank").await;
    assert_eq!(srv.get("/hls/frank/index.m3u8").send().await.status(), 404);
    assert_eq!(srv.get("/hls/nobody/index.m3u8").send().await.status(), 404);

    let _p = Publisher::ffmpeg(&srv.publish_url(&key), Tracks::Both);
    wait_for("first segment", LONG, || async {
        let p = parse_playlist(&srv.get_text("/hls/frank/index.m3u8").await?);
        (!p.segments.is_empty()).then_some(())
    })
    .await;
    for path in [
        "/hls/frank/..%2F..%2Faethex.db",
        "/hls/frank/%2e%2e%2f%2e%2e%2faethex.db",
        "/hls/frank/..",
        "/hls/frank/%2Fetc%2Fpasswd",
        "/hls/frank/.index.m3u8.tmp",
        "/hls/frank/..%5C..%5Caethex.db",
        "/vod/1/..%2F..%2Faethex.db",
        "/vod/..%2F1/index.m3u8",
    ] {
        let res = srv.get(path).send().await;
        assert!(
            res.status() == 404 || res.status() == 400,
            "{path} answered {}",
            res.status()
        );
        let body = res.bytes();
        assert!(!body.starts_with(b"SQLite"), "{path} leaked the database");
    }
    assert_eq!(srv.get("/vod/999/index.m3u8").send().await.status(), 404);
    assert_eq!(srv.get("/vod/abc/index.m3u8").send().await.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_newest_recordings_and_deletes_older_files() {
    let srv = server_with(|c| c.vod_keep_count = Some(1)).await;
    let key = srv.channel_with_key("gina").await;
    let mut dirs = Vec::new();
    for round in 0..2 {
        let mut p = Publisher::ffmpeg(&srv.publish_url(&key), Tracks::Both);
        wait_for(&format!("segments in round {round}"), LONG, || async {
            let pl = parse_playlist(&srv.get_text("/hls/gina/index.m3u8").await?);
            (pl.segments.len() >= 2 && !pl.ended).then_some(())
        })
        .await;
        p.kill().await;
        wait_for("broadcast ended", LONG, || async {
            (!srv.state.live.is_live("gina")).then_some(())
        })
        .await;
        let (dir,): (String,) =
            sqlx::query_as("SELECT vod_dir FROM broadcasts ORDER BY id DESC LIMIT 1")
                .fetch_one(&srv.state.db.pool)
                .await
                .unwrap();
        dirs.push(srv.dir.path().join(dir));
    }
    wait_for("older recording deleted", LONG, || async {
        (!dirs[0].exists()).then_some(())
    })
    .await;
    assert!(
        dirs[1].join("index.m3u8").is_file(),
        "newest recording must stay"
    );
    // Retention deletes the files first, then marks the row deleted.
    wait_for("older recording unlisted", LONG, || async {
        let list = srv.get("/api/v1/channels/gina/vods").send().await;
        (list["vods"].as_array()?.len() == 1).then_some(())
    })
    .await;
    // A copy of a deleted recording still on disk (another node of a
    // cluster ran retention) goes at the next run; kept ones stay.
    std::fs::create_dir_all(&dirs[0]).unwrap();
    std::fs::write(dirs[0].join("index.m3u8"), "#EXTM3U\n").unwrap();
    aethex_server::vod::retention::apply(&srv.state)
        .await
        .unwrap();
    assert!(!dirs[0].exists(), "a deleted VOD's files are swept");
    assert!(dirs[1].join("index.m3u8").is_file());
}
