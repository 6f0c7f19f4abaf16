//! `aethex-server backup` of a running server and `restore` into a fresh data
//! dir: the restored server has the accounts (login works), the channel, the
//! chat history and the VOD with its media.

mod support;

use std::path::Path;
use std::time::Duration;

use aethex_server::testing::PASSWORD;
use serde_json::json;
use support::http::{get, post, register, stream_key};
use support::process::{command, run, start_on};

/// `aethex-server --data-dir DATA ARGS…`: (success, stdout + stderr).
fn op(data: &Path, args: &[&str]) -> (bool, String) {
    let mut cmd = command();
    cmd.args(args).arg("--data-dir").arg(data);
    let (status, out, err) = run(cmd);
    (status.success(), format!("{out}{err}"))
}

#[tokio::test]
async fn backup_of_a_live_server_restores_accounts_channels_chat_and_vods() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (data, restored) = (dir.path().join("data"), dir.path().join("restored"));
    let server = start_on(&data);
    let http = reqwest::Client::new();

    // Accounts, a channel with a title, chat messages, one finished broadcast.
    let token = register(&http, &server, "alice").await;
    register(&http, &server, "bob").await;
    let res = http
        .patch(server.url("/api/v1/channels/alice"))
        .bearer_auth(&token)
        .json(&json!({"title": "Backed up"}))
        .send()
        .await
        .expect("patch");
    assert!(res.status().is_success());
    let key = stream_key(&http, &server, "alice", &token).await;
    let ws = format!("ws://{}/ws/chat/alice?token={token}", server.http);
    let mut chat = support::chat::Chat::join_url(&ws).await;
    for text in ["first message", "second message"] {
        chat.say_and_see(text).await;
    }
    let publish = format!("rtmp://{}/live/{key}", server.rtmp);
    let mut publisher = support::media::Publisher::ffmpeg(&publish, support::media::Tracks::Both);
    let live = |want: bool| {
        let (http, url) = (http.clone(), server.url("/api/v1/channels/alice"));
        async move { (get(&http, url).await["live"] == want).then_some(()) }
    };
    support::wait_for("alice to go live", Duration::from_secs(20), || live(true)).await;
    // A few seconds of recording (backed up mid-segment once), then the publisher goes away.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let while_live = dir.path().join("while-live.tar");
    let (ok, out) = op(
        &data,
        &[
            "backup",
            "--to",
            while_live.to_str().unwrap(),
            "--with-media",
        ],
    );
    assert!(ok, "backup while live: {out}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    publisher.kill().await;
    support::wait_for("the broadcast to end", Duration::from_secs(20), || {
        live(false)
    })
    .await;
    let vods = get(&http, server.url("/api/v1/channels/alice/vods")).await;
    let vods = vods["vods"].as_array().cloned().unwrap_or_default();
    assert_eq!(vods.len(), 1, "one VOD before the backup: {vods:?}");
    let vod_playlist = vods[0]["playlist"].as_str().expect("playlist").to_string();

    // Backups while the server runs: database only, and with media.
    let db_only = dir.path().join("aethex-db.bak");
    let with_media = dir.path().join("aethex-full.tar");
    let (ok, out) = op(&data, &["backup", "--to", db_only.to_str().unwrap()]);
    assert!(ok, "backup: {out}");
    assert!(
        out.contains("2 users, 2 channels, 2 chat messages, 1 broadcasts"),
        "{out}"
    );
    let (ok, out) = op(
        &data,
        &[
            "backup",
            "--to",
            with_media.to_str().unwrap(),
            "--with-media",
        ],
    );
    assert!(ok, "backup --with-media: {out}");
    assert!(out.contains("media files"), "{out}");
    let (ok, out) = op(&data, &["backup", "--to", with_media.to_str().unwrap()]);
    assert!(
        !ok && out.contains("already exists"),
        "never overwrites: {out}"
    );
    // The server is still serving.
    get(&http, server.url("/api/v1/channels/alice")).await;
    drop(server);

    // Restore refuses a data dir in use, then restores into a fresh one.
    let (ok, out) = op(&data, &["restore", "--from", with_media.to_str().unwrap()]);
    assert!(
        !ok && out.contains("restore into an empty data dir"),
        "{out}"
    );
    let (ok, out) = op(
        &restored,
        &["restore", "--from", with_media.to_str().unwrap()],
    );
    assert!(ok, "restore: {out}");
    assert!(
        out.contains("2 users, 2 channels, 2 chat messages, 1 broadcasts"),
        "{out}"
    );

    let server = start_on(&restored);
    let login = post(
        &http,
        server.url("/api/v1/auth/login"),
        None,
        json!({"username": "bob", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        login["user"]["username"], "bob",
        "login works on the restored server"
    );
    let channel = get(&http, server.url("/api/v1/channels/alice")).await;
    assert_eq!(channel["title"], "Backed up");
    let history = get(&http, server.url("/api/v1/channels/alice/chat")).await;
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["first message", "second message"]);
    let restored_vods = get(&http, server.url("/api/v1/channels/alice/vods")).await;
    assert_eq!(
        restored_vods["vods"].as_array().map(Vec::len),
        Some(1),
        "{restored_vods}"
    );
    let playlist = http
        .get(server.url(&vod_playlist))
        .send()
        .await
        .expect("vod playlist");
    assert!(
        playlist.status().is_success(),
        "VOD playlist: {}",
        playlist.status()
    );
    let text = playlist.text().await.expect("text");
    assert!(text.contains("#EXT-X-ENDLIST"), "{text}");
    let segment = text
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .expect("a segment");
    let base = vod_playlist.rsplit_once('/').expect("dir").0;
    let seg = http
        .get(server.url(&format!("{base}/{segment}")))
        .send()
        .await
        .expect("segment");
    assert!(
        seg.status().is_success(),
        "VOD segment {segment}: {}",
        seg.status()
    );
    drop(server);

    // The database-only backup restores too (without the recordings' files).
    let plain = dir.path().join("plain");
    let (ok, out) = op(&plain, &["restore", "--from", db_only.to_str().unwrap()]);
    assert!(ok, "restore of a database-only backup: {out}");
    assert!(!plain.join("vod").exists());

    // So does the one taken mid-broadcast (its recording is cut where the backup was).
    let mid = dir.path().join("mid");
    let (ok, out) = op(&mid, &["restore", "--from", while_live.to_str().unwrap()]);
    assert!(ok, "restore of a backup taken while live: {out}");
    assert!(mid.join("vod").is_dir());
}
