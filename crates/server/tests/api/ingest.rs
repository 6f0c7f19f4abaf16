//! `GET /api/v1/ingest`: the advertised ingest addresses, from the bound
//! ports and the request's host, or from `--public-rtmp-url` / `--public-srt-url`.

use aethex_server::testing::{Api, TestApp, TestDb, TestServer};
use axum::http::{StatusCode, header};

#[tokio::test]
async fn a_real_server_advertises_its_bound_rtmp_port_and_the_request_host() {
    let srv = TestServer::start(TestDb::Sqlite).await;
    assert_ne!(srv.rtmp.port(), 1935, "port 0 picks another port");
    let info = srv
        .get("/api/v1/ingest")
        .send()
        .await
        .expect(StatusCode::OK);
    assert_eq!(info["rtmp"]["enabled"], true);
    assert_eq!(info["rtmp"]["url"], srv.rtmp_url().as_str());
    assert_eq!(
        info["rtmp"]["publish_url"],
        format!("{}/{{stream_key}}", srv.rtmp_url()).as_str()
    );
    assert_eq!(info["srt"]["enabled"], false);
    assert!(info["srt"]["url"].is_null());
    // The host a client used (a name, behind a proxy or NAT) is what it gets back.
    let named = srv
        .get("/api/v1/ingest")
        .header(header::HOST, "stream.example.org:8443")
        .send()
        .await
        .expect(StatusCode::OK);
    let want = format!("rtmp://stream.example.org:{}/live", srv.rtmp.port());
    assert_eq!(named["rtmp"]["url"], want.as_str());
    // Junk in Host is refused in the contract's shape, never echoed.
    srv.get("/api/v1/ingest")
        .header(header::HOST, "evil\"host")
        .send()
        .await
        .expect_error(StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test]
async fn configured_public_addresses_win_and_srt_shows_its_stream_id() {
    let app = TestApp::with_config(TestDb::Sqlite, |c| {
        c.public_rtmp_url = Some("rtmp://live.example.org:11935/live".into());
        c.srt = Some("127.0.0.1:9710".parse().unwrap());
        c.public_srt_url = Some("srt://live.example.org:19000".into());
    })
    .await;
    let info = app
        .get("/api/v1/ingest")
        .send()
        .await
        .expect(StatusCode::OK);
    assert_eq!(info["rtmp"]["url"], "rtmp://live.example.org:11935/live");
    assert_eq!(info["srt"]["enabled"], true);
    assert_eq!(info["srt"]["url"], "srt://live.example.org:19000");
    assert_eq!(info["srt"]["stream_id"], "{stream_key}");
    assert_eq!(
        info["srt"]["publish_url"],
        "srt://live.example.org:19000?streamid={stream_key}"
    );
    // SRT on, public URL unset: the request's host with the --srt port.
    let app = TestApp::with_config(TestDb::Sqlite, |c| {
        c.srt = Some("127.0.0.1:9711".parse().unwrap());
    })
    .await;
    let info = app
        .get("/api/v1/ingest")
        .header(header::HOST, "10.1.2.3:8080")
        .send()
        .await
        .expect(StatusCode::OK);
    assert_eq!(info["srt"]["url"], "srt://10.1.2.3:9711");
}

#[test]
fn public_urls_come_from_the_config_file_and_bad_ones_are_refused() {
    use aethex_server::config::parse_layered;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("server.toml");
    std::fs::write(
        &file,
        "public-rtmp-url = \"rtmp://file.example.org:2000\"\npublic-srt-url = \"srt://file.example.org:9000\"\n",
    )
    .unwrap();
    let cli: aethex_server::cli::Cli =
        parse_layered(["aethex-server", "--config", file.to_str().unwrap()], None).unwrap();
    assert_eq!(
        cli.server.public_rtmp_url.as_deref(),
        Some("rtmp://file.example.org:2000/live")
    );
    assert_eq!(
        cli.server.public_srt_url.as_deref(),
        Some("srt://file.example.org:9000")
    );
    std::fs::write(&file, "public-rtmp-url = \"http://x/live\"\n").unwrap();
    let err = parse_layered::<aethex_server::cli::Cli>(
        ["aethex-server", "--config", file.to_str().unwrap()],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("public-rtmp-url") && err.contains("rtmp://"),
        "{err}"
    );
}
