//! The real `aethex-server` binary: starts on port 0, answers, stops on SIGTERM.

use aethex_e2e::ServerProcess;

#[tokio::test]
async fn binary_prints_addresses_answers_healthz_and_exits_cleanly_on_sigterm() {
    let server = ServerProcess::start(&[]).expect("start server");
    assert_ne!(server.http.port(), 0);
    assert_ne!(server.rtmp.port(), 0);
    assert_eq!(server.srt, None, "no srt= without --srt");
    let res = reqwest::get(format!("{}/healthz", server.url()))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        server.data_dir.path().join("aethex.db").exists(),
        "SQLite file created in the data dir"
    );
    // The RTMP port is really bound.
    std::net::TcpStream::connect(server.rtmp).expect("rtmp port accepts connections");
    let status = server.terminate().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

#[tokio::test]
async fn srt_listener_address_is_on_the_listening_line() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = ServerProcess::start(&["--srt", &addr]).expect("start server");
    assert_eq!(server.srt, Some(addr.parse().unwrap()));
    let status = server.terminate().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}
