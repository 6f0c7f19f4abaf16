//! Stream ownership across real server processes: one owner per live channel
//! (a PostgreSQL lease), a takeover with epoch + 1 after the owner is killed.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod cluster_support;

use std::time::Duration;

use aethex_test_support::{Haproxy, Redis};
use cluster_support::{Node, Publisher, eventually, is_live, register, stream_key};

async fn epoch(db: &str) -> i64 {
    let db = aethex_server::db::Db::connect(db).await.unwrap();
    let (e,): (i64,) = sqlx::query_as("SELECT epoch FROM stream_leases")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    e
}

/// Codec names of a live playlist as ffprobe sees them (headers only).
async fn ffprobe_codecs(url: &str) -> Vec<String> {
    let out = tokio::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            url,
        ])
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("ffprobe within 30 s")
        .expect("ffprobe runs");
    let mut codecs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    codecs.sort();
    codecs.dedup();
    codecs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_owns_a_stream_and_another_takes_over_when_it_dies() {
    let redis = Redis::start();
    let db = aethex_server::testing::fresh_postgres_database().await;
    let mut a = Node::start("node-a", &db, &redis.url());
    let b = Node::start("node-b", &db, &redis.url());
    let token = register(&a, "alice").await;
    let key = stream_key(&a, "alice", &token).await;
    // Publishers reach the nodes through HAProxy in TCP mode (first healthy node).
    let balancer = Haproxy::tcp(&[a.rtmp.to_string(), b.rtmp.to_string()]);
    let through: std::net::SocketAddr = ([127, 0, 0, 1], balancer.port).into();

    let _first = Publisher::rtmp(through, &key);
    eventually("live through node a", Duration::from_secs(20), || async {
        is_live(&b, "alice").await.then_some(())
    })
    .await;
    assert_eq!(epoch(&db).await, 1);

    // Node b does not produce the stream: it forwards live HLS to node a.
    let playlist = eventually(
        "a playlist through node b",
        Duration::from_secs(20),
        || async {
            let r = reqwest::get(b.url("/hls/alice/index.m3u8")).await.ok()?;
            let origin = r
                .headers()
                .get("x-aethex-origin")?
                .to_str()
                .ok()?
                .to_string();
            let text = r.text().await.ok()?;
            (text.contains("#EXT-X-PART:")).then_some((origin, text))
        },
    )
    .await;
    assert_eq!(playlist.0, "node-a");
    let part = playlist
        .1
        .lines()
        .find_map(|l| l.split("URI=\"").nth(1)?.split('"').next())
        .expect("a part in the playlist")
        .to_string();
    let r = reqwest::get(b.url(&format!("/hls/alice/{part}")))
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "part {part} through node b");
    assert_eq!(r.headers()["content-type"], "video/mp4");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(!r.bytes().await.unwrap().is_empty());

    // Cache headers pass through the edge: the plain playlist revalidates,
    // a blocking reload (one playlist version per URL) may be cached.
    let plain = reqwest::get(b.url("/hls/alice/index.m3u8")).await.unwrap();
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    let msn = playlist
        .1
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .expect("media sequence");
    let url = b.url(&format!("/hls/alice/index.m3u8?_HLS_msn={msn}"));
    let mut seen = Vec::new();
    for _ in 0..5 {
        let r = reqwest::get(&url).await.unwrap();
        let cache = r.headers().get("cache-control").cloned();
        seen.push((r.status(), cache.clone()));
        if r.status() == 200 {
            assert_eq!(
                cache.as_ref().and_then(|c| c.to_str().ok()),
                Some("public, max-age=60"),
                "blocking reload headers: {:?}",
                r.headers()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        seen.last().map(|s| s.0),
        Some(reqwest::StatusCode::OK),
        "{seen:?}"
    );
    // Once whole segments are listed, ffprobe reads both tracks through node b.
    let url = b.url("/hls/alice/index.m3u8");
    eventually(
        "ffprobe reads h264 + aac through node b",
        Duration::from_secs(20),
        || {
            let url = url.clone();
            async move { (ffprobe_codecs(&url).await == ["aac", "h264"]).then_some(()) }
        },
    )
    .await;

    // A second publisher on another node is refused while a holds the lease.
    let mut second = Publisher::rtmp(b.rtmp, &key);
    eventually(
        "node b refuses the second publisher",
        Duration::from_secs(15),
        || {
            let exited = second.exited();
            async move { exited.then_some(()) }
        },
    )
    .await;

    // kill -9 the owner; the publisher comes back through the balancer, which
    // now sends it to node b.
    a.kill();
    let killed = tokio::time::Instant::now();
    let mut takeover = loop {
        let mut p = Publisher::rtmp(through, &key);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        if !p.exited() {
            break p;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "no takeover within 20 s"
        );
    };
    let took = killed.elapsed();
    eventually(
        "live again through node b",
        Duration::from_secs(10),
        || async { is_live(&b, "alice").await.then_some(()) },
    )
    .await;
    assert_eq!(epoch(&db).await, 2, "a takeover is a new epoch");
    assert!(!takeover.exited());
    eprintln!("stream back on node b {took:?} after its owner was killed");
}
