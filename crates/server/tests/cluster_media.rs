//! Media in object storage across real server processes: segments and init
//! segments uploaded to a real S3 server (s3s-fs) under the broadcast and
//! lease epoch, the live playlist pointing at the public media URL only for
//! what is uploaded, a VOD that plays from another node after its recording
//! node is killed, retention deleting the objects, and an S3 outage that the
//! live stream rides out.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod cluster_support;

use std::time::Duration;

use aethex_test_support::{Redis, S3};
use cluster_support::{Node, Publisher, eventually, is_live, register, stream_key};

/// Media URIs of a playlist (segment lines and the `EXT-X-MAP`).
fn media_uris(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .filter_map(|l| {
            if let Some(map) = l.strip_prefix("#EXT-X-MAP:URI=\"") {
                return map.split('"').next().map(str::to_string);
            }
            (!l.is_empty() && !l.starts_with('#')).then(|| l.to_string())
        })
        .collect()
}

/// Segment URIs of a playlist (no map), in order.
fn segment_uris(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

async fn get_text(url: &str) -> Option<String> {
    let r = reqwest::get(url).await.ok()?;
    r.status().is_success().then_some(())?;
    r.text().await.ok()
}

async fn get_bytes(url: &str) -> (reqwest::StatusCode, Vec<u8>) {
    let r = reqwest::get(url).await.unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

/// The broadcast ids with objects in `s3` (names `vod/{id}/e{epoch}/…`).
fn broadcast_ids(s3: &S3) -> Vec<i64> {
    let mut ids: Vec<i64> = s3
        .objects("vod/")
        .iter()
        .filter_map(|k| k.split('/').nth(1)?.parse().ok())
        .collect();
    ids.dedup();
    ids
}

/// Every absolute URI of a live playlist is an object already in the bucket.
fn assert_public_only_when_uploaded(s3: &S3, playlist: &str) {
    let public = format!("{}/", s3.public_url());
    for uri in segment_uris(playlist) {
        if let Some(key) = uri.strip_prefix(&public) {
            assert!(
                s3.objects(key).contains(&key.to_string()),
                "{uri} is listed but not in the bucket"
            );
        } else {
            assert!(!uri.contains("://"), "{uri}: neither origin nor public");
        }
    }
}

/// `aethex_s3_uploads_total{kind,result}` on `node` (0 if absent).
async fn uploads(node: &Node, kind: &str, result: &str) -> u64 {
    let text = get_text(&node.url("/metrics")).await.unwrap_or_default();
    let want = format!("aethex_s3_uploads_total{{kind=\"{kind}\",result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&want)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Prints the mean hand-off → stored time per kind (a measurement, not a check).
async fn report_upload_times(node: &Node) {
    let text = get_text(&node.url("/metrics")).await.unwrap_or_default();
    for kind in ["init", "segment", "playlist"] {
        let value = |what: &str| -> Option<f64> {
            let want = format!("aethex_s3_upload_duration_seconds_{what}{{kind=\"{kind}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&want)?.trim().parse().ok())
        };
        if let (Some(sum), Some(n)) = (value("sum"), value("count")) {
            eprintln!(
                "s3 uploads ({kind}): {n} in {:.1} ms on average from hand-off to stored",
                sum / n * 1000.0
            );
        }
    }
}

/// Codec names ffprobe reads from `url` (headers only).
async fn ffprobe_codecs(url: &str) -> Vec<String> {
    let out = tokio::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name"])
        .args(["-of", "csv=p=0", url])
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("ffprobe within 60 s")
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
async fn media_goes_to_object_storage_and_the_vod_outlives_its_node() {
    let s3 = S3::start();
    let redis = Redis::start();
    let db = aethex_server::testing::fresh_postgres_database().await;
    let mut flags = s3.server_args();
    flags.extend(["--vod-keep-count".to_string(), "1".to_string()]);
    let mut a = Node::start_with("node-a", &db, &redis.url(), &flags);
    let b = Node::start_with("node-b", &db, &redis.url(), &flags);
    let token = register(&a, "alice").await;
    let key = stream_key(&a, "alice", &token).await;

    let first = Publisher::rtmp(a.rtmp, &key);
    eventually("live on node a", Duration::from_secs(20), || async {
        is_live(&a, "alice").await.then_some(())
    })
    .await;

    // Init and finished segments appear in the bucket under vod/{id}/e1/.
    let objects = eventually(
        "init + 2 segments in the bucket",
        Duration::from_secs(30),
        || async {
            let o = s3.objects("vod/");
            let segments = o.iter().filter(|k| k.ends_with(".m4s")).count();
            (segments >= 2 && o.iter().any(|k| k.ends_with("_init.mp4"))).then_some(o)
        },
    )
    .await;
    let id = broadcast_ids(&s3)[0];
    let prefix = format!("vod/{id}/e1/");
    assert!(
        objects.iter().all(|k| k.starts_with(&prefix)),
        "object names carry the broadcast and epoch 1: {objects:?}"
    );

    // The live playlist names uploaded segments by their public URL (and
    // only those); fetched through it they are the origin's bytes.
    let public = format!("{}/", s3.public_url());
    let playlist = eventually(
        "a live playlist pointing at the public media URL",
        Duration::from_secs(20),
        || async {
            let text = get_text(&a.url("/hls/alice/index.m3u8")).await?;
            segment_uris(&text)
                .iter()
                .any(|u| u.starts_with(&public))
                .then_some(text)
        },
    )
    .await;
    assert_public_only_when_uploaded(&s3, &playlist);
    let uri = segment_uris(&playlist)
        .into_iter()
        .find(|u| u.starts_with(&public))
        .unwrap();
    let name = uri.rsplit('/').next().unwrap();
    let (status, through_cdn) = get_bytes(&uri).await;
    assert_eq!(status, 200, "{uri}");
    let (status, from_origin) = get_bytes(&a.url(&format!("/hls/alice/{name}"))).await;
    assert_eq!(status, 200);
    assert!(!through_cdn.is_empty());
    assert_eq!(through_cdn, from_origin, "{name}: same bytes in the bucket");
    // Parts and the preload hint stay on the origin (the live edge).
    for line in playlist.lines().filter(|l| l.starts_with("#EXT-X-PART:")) {
        assert!(!line.contains("://"), "{line}");
    }

    // The broadcast ends; its VOD playlist reaches the bucket.
    drop(first);
    let vod_key = format!("{prefix}index.m3u8");
    eventually(
        "the VOD playlist in the bucket",
        Duration::from_secs(30),
        || async { s3.objects(&vod_key).contains(&vod_key).then_some(()) },
    )
    .await;
    assert!(uploads(&a, "segment", "ok").await >= 2);
    assert_eq!(uploads(&a, "segment", "failed").await, 0);
    report_upload_times(&a).await;

    // With the recording node dead, another node serves the VOD from the bucket.
    a.kill();
    let vod_url = b.url(&format!("/vod/{id}/index.m3u8"));
    let vod = get_text(&vod_url).await.expect("VOD playlist from node b");
    assert!(vod.ends_with("#EXT-X-ENDLIST\n"), "{vod}");
    let uris = media_uris(&vod);
    assert!(uris.len() >= 3, "{vod}");
    for uri in &uris {
        assert!(uri.starts_with(&public), "{uri}: not from object storage");
        let (status, body) = get_bytes(uri).await;
        assert_eq!(status, 200, "{uri}");
        assert!(!body.is_empty(), "{uri}");
    }
    // A segment asked for at the node is redirected to the bucket.
    let seg = uris.last().unwrap().rsplit('/').next().unwrap().to_string();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(b.url(&format!("/vod/{id}/{seg}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], format!("{public}{prefix}{seg}"));
    assert_eq!(ffprobe_codecs(&vod_url).await, ["aac", "h264"]);

    // A second broadcast (on node b: epoch 2); keeping one VOD per channel,
    // retention then deletes the first one's objects.
    let second = Publisher::rtmp(b.rtmp, &key);
    eventually(
        "the second broadcast's segments under epoch 2",
        Duration::from_secs(40),
        || async {
            let ids = broadcast_ids(&s3);
            let next = *ids.iter().find(|i| **i != id)?;
            let o = s3.objects(&format!("vod/{next}/e2/"));
            (o.iter().filter(|k| k.ends_with(".m4s")).count() >= 2).then_some(())
        },
    )
    .await;
    drop(second);
    eventually(
        "retention removed the first VOD's objects",
        Duration::from_secs(40),
        || async { s3.objects(&format!("vod/{id}/")).is_empty().then_some(()) },
    )
    .await;
    let r = reqwest::get(&vod_url).await.unwrap();
    assert_eq!(r.status(), 404, "a deleted VOD is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_storage_outage_keeps_the_live_stream_on_the_origin() {
    let mut s3 = S3::start();
    let redis = Redis::start();
    let db = aethex_server::testing::fresh_postgres_database().await;
    let a = Node::start_with("node-a", &db, &redis.url(), &s3.server_args());
    let token = register(&a, "alice").await;
    let key = stream_key(&a, "alice", &token).await;
    let publisher = Publisher::rtmp(a.rtmp, &key);
    let public = format!("{}/", s3.public_url());
    eventually("2 segments uploaded", Duration::from_secs(30), || async {
        (uploads(&a, "segment", "ok").await >= 2).then_some(())
    })
    .await;

    // S3 goes away: new segments stay on the origin and live keeps playing.
    s3.stop();
    let newest = |text: &str| segment_uris(text).last().cloned();
    let during = eventually(
        "3 failed segment uploads",
        Duration::from_secs(40),
        || async { (uploads(&a, "segment", "failed").await >= 3).then_some(()) },
    );
    during.await;
    let playlist = get_text(&a.url("/hls/alice/index.m3u8"))
        .await
        .expect("live playlist during the outage");
    let last = newest(&playlist).unwrap();
    assert!(
        !last.contains("://"),
        "{last}: not uploaded, must be on the origin"
    );
    let (status, body) = get_bytes(&a.url(&format!("/hls/alice/{last}"))).await;
    assert_eq!(status, 200);
    assert!(!body.is_empty());
    assert!(is_live(&a, "alice").await);
    // One clear error names the bucket, the object and the cause, and no
    // credential is ever printed.
    let logs = a.logs();
    let error = logs
        .lines()
        .find(|l| l.contains("uploading to object storage failed"))
        .unwrap_or_else(|| panic!("no upload error logged:\n{logs}"));
    assert!(
        error.contains("ERROR") && error.contains("bucket=media"),
        "{error}"
    );
    for secret in [
        aethex_test_support::s3::ACCESS_KEY,
        aethex_test_support::s3::SECRET_KEY,
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
    let failed_msn: u64 = last
        .trim_end_matches(".m4s")
        .rsplit('_')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // S3 is back: later segments are uploaded and named by public URL again.
    s3.restart();
    let later = eventually(
        "a later segment uploaded and listed by public URL",
        Duration::from_secs(40),
        || async {
            let text = get_text(&a.url("/hls/alice/index.m3u8")).await?;
            segment_uris(&text).into_iter().find(|u| {
                u.starts_with(&public)
                    && u.trim_end_matches(".m4s")
                        .rsplit('_')
                        .next()
                        .and_then(|n| n.parse::<u64>().ok())
                        .is_some_and(|n| n > failed_msn)
            })
        },
    )
    .await;
    let (status, _) = get_bytes(&later).await;
    assert_eq!(status, 200, "{later}");

    // At the end the segments missed during the outage are uploaded from
    // disk, so the whole VOD is in the bucket.
    drop(publisher);
    let id = broadcast_ids(&s3)[0];
    let vod_key = format!("vod/{id}/e1/index.m3u8");
    eventually(
        "the VOD playlist in the bucket",
        Duration::from_secs(40),
        || async { s3.objects(&vod_key).contains(&vod_key).then_some(()) },
    )
    .await;
    let vod = get_text(&a.url(&format!("/vod/{id}/index.m3u8")))
        .await
        .unwrap();
    for uri in media_uris(&vod) {
        assert!(uri.starts_with(&public), "{uri}");
        assert_eq!(get_bytes(&uri).await.0, 200, "{uri}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vod_outlives_its_node_dying_mid_broadcast() {
    let s3 = S3::start();
    let redis = Redis::start();
    let db = aethex_server::testing::fresh_postgres_database().await;
    // No public media URL: the nodes relay media from the bucket themselves.
    let mut flags = s3.server_args();
    let at = flags
        .iter()
        .position(|f| f == "--public-media-url")
        .unwrap();
    flags.drain(at..at + 2);
    let mut a = Node::start_with("node-a", &db, &redis.url(), &flags);
    let b = Node::start_with("node-b", &db, &redis.url(), &flags);
    let token = register(&a, "alice").await;
    let key = stream_key(&a, "alice", &token).await;
    let publisher = Publisher::rtmp(a.rtmp, &key);

    // While live, the bucket gets a playlist of what is uploaded so far.
    let growing = eventually(
        "the growing playlist in the bucket",
        Duration::from_secs(40),
        || async {
            let o = s3.objects("vod/");
            o.into_iter().find(|k| k.ends_with("/e1/event.m3u8"))
        },
    )
    .await;
    let id: i64 = growing.split('/').nth(1).unwrap().parse().unwrap();
    let listed =
        segment_uris(&std::fs::read_to_string(s3.root.join("media").join(&growing)).unwrap());
    assert!(listed.len() >= 10, "{listed:?}");

    // kill -9 mid-broadcast: node b ends the broadcast once the lease runs
    // out, and serves what the bucket holds of it as an ended VOD, relaying
    // the media.
    a.kill();
    drop(publisher);
    let vod_url = b.url(&format!("/vod/{id}/index.m3u8"));
    let vod = eventually("the VOD on node b", Duration::from_secs(30), || {
        get_text(&vod_url)
    })
    .await;
    assert!(
        vod.contains("#EXT-X-PLAYLIST-TYPE:VOD\n") && vod.ends_with("#EXT-X-ENDLIST\n"),
        "{vod}"
    );
    let uris = media_uris(&vod);
    assert!(
        uris.len() > listed.len(),
        "init + at least what was listed: {vod}"
    );
    for uri in &uris {
        assert!(!uri.contains("://"), "{uri}: relayed by the node");
        let (status, body) = get_bytes(&b.url(&format!("/vod/{id}/{uri}"))).await;
        assert_eq!(status, 200, "{uri}");
        let stored =
            std::fs::read(s3.root.join("media").join(format!("vod/{id}/e1/{uri}"))).unwrap();
        assert_eq!(body, stored, "{uri}: the bucket's bytes");
    }
    assert_eq!(ffprobe_codecs(&vod_url).await, ["aac", "h264"]);
}
