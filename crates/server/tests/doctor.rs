//! `aethex-server doctor` on this machine: passes on a good configuration
//! (with a real loopback publish), fails with the fix on a data dir the
//! server's user cannot write and on a port another program holds.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use aethex_server::Config;
use aethex_server::doctor::{self, Level};

fn free_addr() -> String {
    format!("127.0.0.1:{}", aethex_test_support::free_port())
}

/// `aethex-server doctor` with `args` (the binary, as an operator runs it).
fn doctor_cli(args: &[&str], as_nobody: Option<&Path>) -> Output {
    let bin = env!("CARGO_BIN_EXE_aethex-server");
    let mut cmd = match as_nobody {
        // Root writes anywhere: drop to `nobody` (no capabilities) for a real
        // permission check. `nobody` cannot reach the build tree under /root,
        // so it runs a copy.
        Some(dir) => {
            let copy = dir.join("aethex-server");
            std::fs::copy(bin, &copy).unwrap();
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(&copy)
                .env("HOME", dir)
                .env("GST_REGISTRY", dir.join("gst-registry.bin"));
            c
        }
        None => Command::new(bin),
    };
    cmd.arg("doctor")
        .args(args)
        .env_remove("AETHEX_CONFIG")
        .env_remove("AETHEX_DATABASE_URL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "status {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_on_a_good_config_with_a_real_loopback_publish() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path().join("data"));
    config.http = free_addr().parse().unwrap();
    config.rtmp = free_addr().parse().unwrap();
    config.srt = Some(free_addr().parse().unwrap());
    let report = doctor::run(&config).await;
    let shown = report.render();
    assert!(report.can_run(), "{shown}");
    for check in [
        "http port",
        "rtmp port",
        "srt port",
        "data dir",
        "database",
        "disk space",
        "gstreamer",
        "clock",
        "loopback publish",
    ] {
        let f = report.findings.iter().find(|f| f.check == check);
        let f = f.unwrap_or_else(|| panic!("no {check} check: {shown}"));
        if check != "clock" && check != "disk space" {
            assert_eq!(f.level, Level::Ok, "{shown}");
        }
    }
    assert!(shown.contains("ok   loopback publish: RTMP test stream became a live HLS segment"));
    assert!(shown.contains("\nthe server can run ("), "{shown}");
    // The configured database was created and migrated, as a start would.
    assert!(dir.path().join("data/aethex.db").exists());
}

#[test]
fn doctor_fails_with_the_fix_on_an_unwritable_data_dir() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // Not writable by the server's user (root keeps it; `nobody` runs the doctor).
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    let root = runs_as_root();
    let scratch = dir.path().join("scratch");
    std::fs::create_dir(&scratch).unwrap();
    std::fs::set_permissions(&scratch, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (http, rtmp) = (free_addr(), free_addr());
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--http",
        &http,
        "--rtmp",
        &rtmp,
    ];
    let out = doctor_cli(&args, root.then_some(scratch.as_path()));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let want = format!("fail data dir: data dir {} is not writable", data.display());
    assert!(all.contains(&want), "{all}");
    assert!(all.contains("Permission denied"), "{all}");
    assert!(
        all.contains("fix: give the server's user write access"),
        "{all}"
    );
    assert!(
        all.contains("ok   http port"),
        "the other checks still ran: {all}"
    );
    assert!(all.contains("the server cannot run"), "{all}");
}

#[test]
fn doctor_fails_with_the_fix_on_a_port_already_taken() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let rtmp = taken.local_addr().unwrap().to_string();
    let http = free_addr();
    let data = dir.path().join("data");
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--http",
        &http,
        "--rtmp",
        &rtmp,
    ];
    let out = doctor_cli(&args, None);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let want = format!("fail rtmp port: RTMP {rtmp} is already in use by another program");
    assert!(all.contains(&want), "{all}");
    assert!(all.contains("or pick a free port with --rtmp"), "{all}");
    assert!(all.contains("ok   http port"), "{all}");
    assert!(all.contains("ok   data dir"), "{all}");
    drop(taken);
}

/// Whether this test runs as root (then permission bits do not stop it).
fn runs_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
