//! The cluster behind the repository's nginx configurations
//! (`deploy/nginx/`): nginx caches live HLS as a CDN would, collapses players
//! blocking on the same part into one origin request, survives a node's
//! death, and carries RTMP (TCP) and SRT (UDP) ingest to the nodes.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod cluster_support;
mod support;

use std::time::Duration;

use aethex_test_support::{NginxFront, Redis};
use cluster_support::{Node, Publisher, eventually, is_live, register, stream_key};

const LONG: Duration = Duration::from_secs(30);

/// HLS requests a node has answered so far (its own `/metrics`).
async fn hls_requests(node: &Node) -> u64 {
    let text = reqwest::get(node.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("aethex_http_requests_total{")
                && l.contains("route=\"/hls/{channel}/{file}\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// `(status, X-Cache-Status, Cache-Control, body)` of a GET through nginx.
async fn get(url: &str) -> (u16, String, String, bytes::Bytes) {
    let r = reqwest::get(url).await.unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (cache, control) = (header("x-cache-status"), header("cache-control"));
    (
        r.status().as_u16(),
        cache,
        control,
        r.bytes().await.unwrap(),
    )
}

/// `(msn, part)` of the playlist's preload hint (`{id}_{msn}_p{part}.m4s`).
fn hinted(playlist: &str) -> (u64, u32) {
    let uri = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("a preload hint in\n{playlist}"));
    let stem = uri.strip_suffix(".m4s").unwrap();
    let mut fields = stem.rsplit('_');
    let part = fields
        .next()
        .unwrap()
        .trim_start_matches('p')
        .parse()
        .unwrap();
    let msn = fields.next().unwrap().parse().unwrap();
    (msn, part)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_caches_live_hls_collapses_blocking_reloads_and_carries_ingest() {
    let redis = Redis::start();
    let db = aethex_server::testing::fresh_postgres_database().await;
    let srt = [
        support::media::free_udp_port(),
        support::media::free_udp_port(),
    ];
    let node = |id: &str, srt: u16| {
        let srt = format!("127.0.0.1:{srt}");
        Node::try_start(&[
            "--database-url",
            &db,
            "--redis-url",
            &redis.url(),
            "--node-id",
            id,
            "--srt",
            &srt,
        ])
        .unwrap_or_else(|e| panic!("node {id}: {e}"))
    };
    let mut a = node("node-a", srt[0]);
    let mut b = node("node-b", srt[1]);
    let edge = NginxFront::start(
        &[a.http.to_string(), b.http.to_string()],
        &[a.rtmp.to_string(), b.rtmp.to_string()],
        &srt.map(|p| format!("127.0.0.1:{p}")),
    );
    let token = register(&a, "alice").await;
    let key = stream_key(&a, "alice", &token).await;

    // RTMP through nginx `stream` reaches a node, which claims the channel.
    let _publisher = Publisher::rtmp(([127, 0, 0, 1], edge.rtmp_port).into(), &key);
    let playlist = eventually("a live playlist through nginx", LONG, || async {
        let (status, _, _, body) = get(&edge.url("/hls/alice/index.m3u8")).await;
        let text = String::from_utf8_lossy(&body).to_string();
        (status == 200 && text.matches("#EXTINF").count() >= 2).then_some(text)
    })
    .await;

    // Plain playlists are never served from the cache.
    let (_, cache, control, _) = get(&edge.url("/hls/alice/index.m3u8")).await;
    assert_eq!(control, "no-cache");
    assert_ne!(cache, "HIT", "a plain live playlist must not be cached");

    // Segments and the init segment: fetched once, then from nginx.
    let segment = playlist
        .lines()
        .rfind(|l| l.ends_with(".m4s") && !l.starts_with('#'))
        .unwrap()
        .to_string();
    let init = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .and_then(|l| l.split('"').next())
        .unwrap()
        .to_string();
    for file in [&segment, &init] {
        let (status, first, control, body) = get(&edge.url(&format!("/hls/alice/{file}"))).await;
        assert_eq!(status, 200, "{file}");
        assert!(control.contains("immutable"), "{file}: {control}");
        let (_, second, _, again) = get(&edge.url(&format!("/hls/alice/{file}"))).await;
        assert_eq!((first.as_str(), second.as_str()), ("MISS", "HIT"), "{file}");
        assert_eq!(body, again);
    }

    // Forty players block on the next part: the origin sees one request.
    let (msn, part) = hinted(&playlist);
    let (msn, part) = (msn + 1, part); // further ahead, so all of them wait
    let reload = edge.url(&format!(
        "/hls/alice/index.m3u8?_HLS_msn={msn}&_HLS_part={part}"
    ));
    let before = hls_requests(&a).await + hls_requests(&b).await;
    let answers = futures_util::future::join_all((0..40).map(|_| get(&reload))).await;
    let after = hls_requests(&a).await + hls_requests(&b).await;
    for (status, _, control, body) in &answers {
        assert_eq!(*status, 200);
        assert!(control.starts_with("public"), "{control}");
        assert_eq!(body, &answers[0].3, "every player got the same playlist");
    }
    let text = String::from_utf8_lossy(&answers[0].3);
    assert!(
        text.contains(&format!("_{msn:05}_p{part}.m4s")),
        "the reload waited for part {msn}.{part}:\n{text}"
    );
    // nginx → a node, plus that node → the owner when it is not the owner.
    assert!(
        after - before <= 2,
        "40 blocking reloads cost the origin {} requests",
        after - before
    );
    let (_, cache, _, _) = get(&reload).await;
    assert_eq!(
        cache, "HIT",
        "a later player gets the same reload from the cache"
    );

    // SRT through nginx's UDP proxy reaches a node too.
    let key_sam = stream_key(&a, "sam", &register(&a, "sam").await).await;
    let mut srt_publisher = support::media::Publisher::gst_srt(edge.srt_port, &key_sam);
    eventually("sam live over SRT through nginx", LONG, || async {
        let (status, _, _, body) = get(&edge.url("/hls/sam/index.m3u8")).await;
        (status == 200 && String::from_utf8_lossy(&body).contains("#EXTINF")).then_some(())
    })
    .await;
    assert!(is_live(&a, "sam").await && is_live(&b, "sam").await);
    srt_publisher.kill().await;

    // The node that does not produce alice's stream dies (kill -9): nginx
    // keeps serving her live playlist from the other one.
    let forwarded = reqwest::get(b.url("/hls/alice/index.m3u8")).await.unwrap();
    if forwarded.headers().contains_key("x-aethex-origin") {
        b.kill(); // b forwards to a: a is the owner
    } else {
        a.kill();
    }
    eventually("the live playlist after a node died", LONG, || async {
        let (status, _, _, body) = get(&edge.url("/hls/alice/index.m3u8")).await;
        (status == 200 && String::from_utf8_lossy(&body).contains("#EXT-X-PART")).then_some(())
    })
    .await;
    assert!(edge.error_log().lines().all(|l| !l.contains("[emerg]")));
}
