//! The real binary with a configuration file: the file's values are used,
//! the environment beats the file, a flag beats both, and a bad file stops
//! the start with one clear line.

mod support;

use support::process::{ServerProcess, command, run};

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port()
}

#[test]
fn file_then_environment_then_flag() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let (file_srt, env_srt, flag_srt) = (free_udp_port(), free_udp_port(), free_udp_port());
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "# aethex-server configuration\n\
             http = \"127.0.0.1:0\"\n\
             rtmp = \"127.0.0.1:0\"\n\
             data-dir = \"{}\"\n\
             srt = \"127.0.0.1:{file_srt}\"\n\
             session_days = 7\n",
            data.display()
        ),
    )
    .expect("write config");

    // The file alone (named by --config).
    let mut cmd = command();
    cmd.arg("--config").arg(&config);
    let server = ServerProcess::start(cmd).expect("starts from the file");
    assert_eq!(
        server.srt.map(|a| a.port()),
        Some(file_srt),
        "srt from the file"
    );
    assert!(data.join("aethex.db").exists(), "data dir from the file");
    assert!(server.terminate().success());

    // AETHEX_CONFIG names the file; AETHEX_SRT beats it.
    let mut cmd = command();
    cmd.env("AETHEX_CONFIG", &config)
        .env("AETHEX_SRT", format!("127.0.0.1:{env_srt}"));
    let server = ServerProcess::start(cmd).expect("starts from env + file");
    assert_eq!(
        server.srt.map(|a| a.port()),
        Some(env_srt),
        "environment beats file"
    );
    drop(server);

    // A flag beats both.
    let mut cmd = command();
    cmd.env("AETHEX_CONFIG", &config)
        .env("AETHEX_SRT", format!("127.0.0.1:{env_srt}"))
        .args(["--srt", &format!("127.0.0.1:{flag_srt}")]);
    let server = ServerProcess::start(cmd).expect("starts from flag + env + file");
    assert_eq!(
        server.srt.map(|a| a.port()),
        Some(flag_srt),
        "flag beats environment"
    );
}

#[test]
fn a_bad_file_stops_the_start_with_file_key_and_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("server.toml");
    for (text, want) in [
        (
            "http = \"127.0.0.1:0\"\nrtmp-port = 1935\n",
            ":2: unknown key `rtmp-port`",
        ),
        (
            "rate-limit = \"fast\"\n",
            ":1: `rate-limit`: invalid value \"fast\"",
        ),
    ] {
        std::fs::write(&config, text).expect("write config");
        let mut cmd = command();
        cmd.arg("--config").arg(&config);
        let (status, stdout, stderr) = run(cmd);
        assert!(!status.success(), "{text:?} was accepted");
        assert!(
            !stdout.contains("listening"),
            "{text:?}: the server started"
        );
        let line = format!("aethex-server: {}{want}", config.display());
        assert!(stderr.contains(&line), "{text:?}: stderr was {stderr:?}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr:?}");
    }
    // A missing file named explicitly is an error too, not silently skipped.
    let mut cmd = command();
    cmd.arg("--config").arg(dir.path().join("missing.toml"));
    let (status, _, stderr) = run(cmd);
    assert!(!status.success());
    assert!(stderr.contains("missing.toml: cannot read"), "{stderr:?}");
}
