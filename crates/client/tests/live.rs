//! `aethex live` as a user runs it: the real binary and engine, publishing to
//! nginx-rtmp (a real third-party RTMP server) standing in for the own
//! server's ingest, with the key taken from the real OS keyring.
//! Needs a keyring: run under `scripts/with-keyring` (as `scripts/test` does).

mod support;

use std::path::Path;

use aethex_client::cli::config::CliConfig;
use aethex_client::{ApiClient, Secret, Vault};
use aethex_test_support::{Nginx, probe_codecs, probe_duration};
use support::{TestDb, TestServer, aethex, closed_port, has_route, text, within};

fn vault() -> Option<Vault> {
    match Vault::open() {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("skipped: {e}; run under scripts/with-keyring");
            None
        }
    }
}

/// Signed-in state as `aethex login` + `aethex key rotate` leave it.
fn signed_in(cfg: &Path, vault: &Vault, rtmp: &str, key: &str) -> String {
    // A unique server URL per test keeps keyring entries apart.
    let server = format!("http://127.0.0.1:{}", closed_port());
    CliConfig {
        server: server.clone(),
        username: "alice".into(),
        rtmp: rtmp.to_string(),
    }
    .save_to(&cfg.join("cli.json"))
    .expect("write cli.json");
    vault
        .set_session_token(&server, &Secret::new("tok_live_test"))
        .expect("store token");
    vault
        .set_stream_key(&server, &Secret::new(key))
        .expect("store key");
    server
}

/// `aethex live ARGS…` running in the background, and a task collecting its stdout lines.
fn spawn_live(
    cfg: &Path,
    args: &[&str],
) -> (tokio::process::Child, tokio::task::JoinHandle<Vec<String>>) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_aethex"))
        .arg("live")
        .args(args)
        .env("AETHEX_CONFIG_DIR", cfg)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn aethex live");
    let stdout = child.stdout.take().expect("piped stdout");
    let printer = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut all = Vec::new();
        while let Ok(Some(l)) = lines.next_line().await {
            all.push(l);
        }
        all
    });
    (child, printer)
}

#[tokio::test]
async fn live_publishes_records_and_stops_after_duration() {
    let Some(vault) = vault() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = format!("sk_good_{}", std::process::id());
    let nginx = Nginx::accepting_only(&key);
    let cfg = dir.path().join("cfg");
    let server = signed_in(&cfg, &vault, &nginx.base(), &key);
    let rec = dir.path().join("local.mkv");
    // The extra destination has a wrong key: it fails alone, the rest go on.
    let also = format!("{}/sk_also_wrong", nginx.base());
    let out = aethex(
        &cfg,
        None,
        &[
            "live",
            "--source",
            "test",
            "--duration",
            "6",
            "--record",
            rec.to_str().unwrap(),
            "--also",
            &also,
        ],
    )
    .await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let stats = String::from_utf8_lossy(&out.stdout);
    let live_lines = stats
        .lines()
        .filter(|l| l.contains("own server live"))
        .count();
    assert!(live_lines >= 3, "one stats line a second while live: {all}");
    assert!(stats.contains("also 1 (rtmp://127.0.0.1:"), "{all}");
    assert!(
        all.contains("failed"),
        "the wrong-key extra destination failed: {all}"
    );
    for secret in [key.as_str(), "sk_also_wrong", "tok_live_test"] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
    // What nginx received from the own-server destination, and the recording.
    let flv = nginx.recording(&key);
    assert_eq!(probe_codecs(&flv), ["h264", "aac"], "{}", flv.display());
    let received = probe_duration(&flv).unwrap_or(0.0);
    assert!(received >= 3.0, "nginx received {received} s");
    let mut codecs = probe_codecs(&rec);
    codecs.sort();
    assert_eq!(codecs, ["aac", "h264"]);
    let recorded = probe_duration(&rec).unwrap_or(0.0);
    assert!(recorded >= 4.0, "recorded {recorded} s");
    vault.delete_stream_key(&server).unwrap();
    vault.delete_session_token(&server).unwrap();
}

#[tokio::test]
async fn live_fails_clearly_when_the_own_server_refuses_the_key() {
    let Some(vault) = vault() else { return };
    let dir = tempfile::tempdir().unwrap();
    let nginx = Nginx::accepting_only("sk_the_right_one");
    let cfg = dir.path().join("cfg");
    let server = signed_in(&cfg, &vault, &nginx.base(), "sk_rotated_away");
    // Far longer than the refusal takes: the exit must come from the refusal.
    let out = aethex(&cfg, None, &["live", "--duration", "120"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("aethex: error: the server refused the stream"),
        "{all}"
    );
    assert!(all.contains("stream key"), "{all}");
    assert!(!all.contains("sk_rotated_away"), "key leaked: {all}");
    vault.delete_stream_key(&server).unwrap();
    vault.delete_session_token(&server).unwrap();
}

#[tokio::test]
async fn ctrl_c_stops_cleanly_with_exit_0_and_a_finished_recording() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let Some(vault) = vault() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = format!("sk_ctrl_c_{}", std::process::id());
    let nginx = Nginx::accepting_only(&key);
    let cfg = dir.path().join("cfg");
    let server = signed_in(&cfg, &vault, &nginx.base(), &key);
    let rec = dir.path().join("until-ctrl-c.mkv");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_aethex"))
        .args(["live", "--record", rec.to_str().unwrap()])
        .env("AETHEX_CONFIG_DIR", &cfg)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Wait until two stats lines say the own server is live.
    let mut live = 0;
    while live < 2 {
        let line = within("a live stats line", lines.next_line())
            .await
            .unwrap()
            .expect("aethex live ended before going live");
        live += usize::from(line.contains("own server live"));
    }
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let mut rest = Vec::new();
    while let Some(line) = within("output after Ctrl-C", lines.next_line())
        .await
        .unwrap()
    {
        rest.push(line);
    }
    let status = within("exit after Ctrl-C", child.wait()).await.unwrap();
    assert_eq!(status.code(), Some(0), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.starts_with("stopped after")),
        "{rest:?}"
    );
    let recorded = probe_duration(&rec).unwrap_or(0.0);
    assert!(
        recorded >= 1.0,
        "recording finished and playable: {recorded} s"
    );
    vault.delete_stream_key(&server).unwrap();
    vault.delete_session_token(&server).unwrap();
}

/// The whole journey with a real server for the account and the key:
/// register → key rotate → live with a title (published to nginx-rtmp, which
/// accepts exactly the key the server issued) → logout → live refused early.
#[tokio::test]
async fn journey_register_rotate_live_with_title() {
    let Some(vault) = vault() else { return };
    let srv = TestServer::start(TestDb::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");
    let server = srv.url();
    let out = aethex(
        &cfg,
        Some("journey password 2"),
        &["register", "--server", &server, "--username", "erin"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = aethex(&cfg, None, &["key", "rotate"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let key = vault.stream_key(&server).unwrap().expect("key stored");
    let nginx = Nginx::accepting_only(key.expose());

    let rtmp = nginx.base();
    let live = [
        "live",
        "--duration",
        "3",
        "--title",
        "Morning stream",
        "--rtmp",
        &rtmp,
    ];
    let out = aethex(&cfg, None, &live).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains(key.expose()), "key leaked: {all}");
    let api = ApiClient::new(&server).unwrap();
    let channel = within("channel", api.channel("erin")).await.unwrap();
    assert_eq!(channel.title, "Morning stream");
    let flv = nginx.recording(key.expose());
    assert_eq!(probe_codecs(&flv), ["h264", "aac"], "{all}");

    let out = aethex(&cfg, None, &["logout"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = aethex(&cfg, None, &live).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("no session for"), "{all}");
    vault.delete_stream_key(&server).unwrap();
}

/// The contract's CLI journey on the real server: login → key rotate →
/// live 10 s → HLS appears while live, a VOD afterwards; then a rotated-away
/// key is refused by the server and `live` exits non-zero.
#[tokio::test]
async fn journey_login_rotate_live_hls_on_the_real_server() {
    let Some(vault) = vault() else { return };
    let srv = TestServer::start(TestDb::Sqlite).await;
    if !has_route(&srv, "/api/v1/channels/nobody/vods").await {
        return;
    }
    let server = srv.url();
    let api = ApiClient::new(&server).unwrap();
    within(
        "register",
        api.register("frank", &Secret::new("frank password 1")),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");
    let rtmp = srv.rtmp_url();
    let out = aethex(
        &cfg,
        Some("frank password 1"),
        &[
            "login",
            "--server",
            &server,
            "--username",
            "frank",
            "--rtmp",
            &rtmp,
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = aethex(&cfg, None, &["key", "rotate"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let (mut child, printer) = spawn_live(&cfg, &["--duration", "10", "--title", "HLS check"]);
    // While live: the channel says so and its HLS playlist lists segments.
    let http = reqwest::Client::new();
    let playlist = format!("{server}/hls/frank/index.m3u8");
    let body = within("HLS playlist with a segment", async {
        loop {
            if let Ok(r) = http.get(&playlist).send().await
                && r.status().is_success()
                && let Ok(b) = r.text().await
                && b.contains("#EXTINF")
            {
                return b;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(body.contains("#EXT-X-PROGRAM-DATE-TIME"), "{body}");
    let ch = within("channel", api.channel("frank")).await.unwrap();
    assert!(ch.live, "{ch:?}");
    assert_eq!(ch.title, "HLS check");

    let status = within("live ends", child.wait()).await.unwrap();
    let lines = printer.await.unwrap();
    assert_eq!(status.code(), Some(0), "{lines:?}");
    assert!(
        lines
            .iter()
            .filter(|l| l.contains("own server live"))
            .count()
            >= 5,
        "{lines:?}"
    );
    let vods = within("vods", async {
        loop {
            let v = api.vods("frank").await.unwrap();
            if !v.is_empty() {
                return v;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(vods[0].duration_seconds >= 5.0, "{vods:?}");

    // Rotate on the server behind the CLI's back: the stored key is now dead.
    let token = vault.session_token(&server).unwrap().unwrap();
    within(
        "rotate",
        api.clone().with_token(token).rotate_stream_key("frank"),
    )
    .await
    .unwrap();
    let out = aethex(&cfg, None, &["live", "--duration", "60"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("the server refused the stream"), "{all}");
    vault.delete_stream_key(&server).unwrap();
    vault.delete_session_token(&server).unwrap();
}

/// A new user against a server on another RTMP port: `aethex login --server`
/// alone is enough (the CLI asks the server for its ingest), and `aethex live`
/// reaches that server: the channel goes live.
#[tokio::test]
async fn login_discovers_the_ingest_of_a_server_on_another_rtmp_port() {
    let Some(vault) = vault() else { return };
    let srv = TestServer::start(TestDb::Sqlite).await;
    assert_ne!(
        srv.rtmp.port(),
        1935,
        "the server is not on the default port"
    );
    let server = srv.url();
    let api = ApiClient::new(&server).unwrap();
    let password = Secret::new("gina password 1");
    within("register", api.register("gina", &password))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cfg");
    let login = ["login", "--server", &server, "--username", "gina"];
    let out = aethex(&cfg, Some(password.expose()), &login).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let saved = CliConfig::load_from(&cfg.join("cli.json")).unwrap();
    assert_eq!(
        saved.rtmp,
        srv.rtmp_url(),
        "the advertised ingest was saved"
    );
    let out = aethex(&cfg, None, &["key", "rotate"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let (mut child, printer) = spawn_live(&cfg, &["--source", "test", "--duration", "8"]);
    within("the server shows the channel live", async {
        while !api.channel("gina").await.is_ok_and(|c| c.live) {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
    .await;
    let status = within("live ends", child.wait()).await.unwrap();
    let lines = printer.await.unwrap();
    assert_eq!(status.code(), Some(0), "{lines:?}");
    vault.delete_stream_key(&server).unwrap();
    vault.delete_session_token(&server).unwrap();
}

/// The own server's ingest is wrong (nothing listens there) while an `--also`
/// destination (a real nginx-rtmp) takes the stream: `aethex live` still
/// fails, soon, saying the own server never accepted it.
#[tokio::test]
async fn live_fails_when_the_own_server_never_accepts_whatever_also_says() {
    let Some(vault) = vault() else { return };
    let dir = tempfile::tempdir().unwrap();
    let also_key = format!("sk_also_ok_{}", std::process::id());
    let nginx = Nginx::accepting_only(&also_key);
    let cfg = dir.path().join("cfg");
    let wrong = format!("rtmp://127.0.0.1:{}/live", closed_port());
    let server = signed_in(&cfg, &vault, &wrong, "sk_own_never_seen");
    let also = nginx.url(&also_key);
    let started = std::time::Instant::now();
    let args = [
        "live",
        "--duration",
        "120",
        "--give-up-after",
        "6",
        "--also",
        &also,
    ];
    let out = aethex(&cfg, None, &args).await;
    let took = started.elapsed();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("aethex: error: your server at rtmp://127.0.0.1:")
            && all.contains("never accepted the stream"),
        "{all}"
    );
    assert!(took.as_secs() < 40, "gave up after {took:?}: {all}");
    // The extra destination was live meanwhile: it did not keep the run going.
    assert!(
        all.contains("also 1 (rtmp://127.0.0.1:") && all.contains(") live"),
        "{all}"
    );
    assert!(
        !all.contains("sk_own_never_seen") && !all.contains(&also_key),
        "{all}"
    );
    vault.delete_stream_key(&server).unwrap();
    vault.delete_session_token(&server).unwrap();
}

/// The own server (nginx-rtmp standing in) takes the stream and then dies for
/// good while an `--also` destination stays up: `aethex live` exits non-zero.
#[tokio::test]
async fn live_fails_when_the_own_server_is_lost_for_good() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let Some(vault) = vault() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = format!("sk_lost_{}", std::process::id());
    let mut own = Nginx::accepting_only(&key);
    let also = Nginx::start();
    let cfg = dir.path().join("cfg");
    let server = signed_in(&cfg, &vault, &own.base(), &key);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_aethex"))
        .args(["live", "--duration", "120", "--give-up-after", "5"])
        .args(["--also", &also.url("sk_any")])
        .env("AETHEX_CONFIG_DIR", &cfg)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut live = 0;
    while live < 2 {
        let line = within("a live stats line", lines.next_line())
            .await
            .unwrap()
            .expect("aethex live ended before going live");
        live += usize::from(line.contains("own server live"));
    }
    own.kill();
    let mut stderr = child.stderr.take().unwrap();
    let status = within("give up after the loss", child.wait())
        .await
        .unwrap();
    let mut err = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut err)
        .await
        .unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("aethex: error: lost the stream to your server"),
        "{err}"
    );
    vault.delete_stream_key(&server).unwrap();
    vault.delete_session_token(&server).unwrap();
}
