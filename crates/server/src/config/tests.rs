//! The configuration file layered under flags: precedence and refusals.
//! (Environment over file is checked with the real binary in `tests/config_file.rs`:
//! tests cannot set variables in their own process.)

use std::path::Path;

use super::{ConfigFileError, LoadError, parse_layered};
use crate::cli::Cli;

fn load(file: &str, args: &[&str]) -> Result<Cli, LoadError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("server.toml");
    std::fs::write(&path, file).expect("write config");
    let mut argv = vec!["aethex-server".to_string(), "--config".into()];
    argv.push(path.display().to_string());
    argv.extend(args.iter().map(|a| a.to_string()));
    parse_layered(argv, None)
}

fn file_error(file: &str) -> String {
    match load(file, &[]) {
        Err(LoadError::File(e)) => e.to_string(),
        Err(LoadError::Cli(e)) => panic!("expected a file error, got clap's {e}"),
        Ok(_) => panic!("{file:?} was accepted"),
    }
}

#[test]
fn file_values_beat_defaults_and_flags_beat_the_file() {
    let file = r#"
        http = "127.0.0.1:9001"
        rtmp = "127.0.0.1:9002"
        data-dir = "/srv/aethex"
        rate_limit = 7              # snake_case is accepted too
        secure-cookies = true
        cors-origin = ["https://a.example", "https://b.example"]
        hls-part-ms = 300
        trusted-proxy = ["10.0.0.0/8", "127.0.0.1"]
    "#;
    let cli = load(file, &[]).expect("valid file");
    let c = &cli.server;
    assert_eq!(c.http.to_string(), "127.0.0.1:9001");
    assert_eq!(c.rtmp.to_string(), "127.0.0.1:9002");
    assert_eq!(c.data_dir.as_deref(), Some(Path::new("/srv/aethex")));
    assert_eq!(c.rate_limit, 7);
    assert!(c.secure_cookies);
    assert_eq!(c.cors_origins, ["https://a.example", "https://b.example"]);
    assert_eq!(c.hls_part_ms, 300);
    assert_eq!(c.trusted_proxies.len(), 2);
    assert_eq!(
        c.hls_segment_ms, 1000,
        "keys absent from the file keep their defaults"
    );

    let cli = load(
        file,
        &[
            "--http",
            "127.0.0.1:0",
            "--cors-origin",
            "https://c.example",
            "--rate-limit",
            "0",
        ],
    )
    .expect("valid file and flags");
    assert_eq!(
        cli.server.http.to_string(),
        "127.0.0.1:0",
        "flag beats file"
    );
    assert_eq!(
        cli.server.cors_origins,
        ["https://c.example"],
        "a list flag replaces the file's list"
    );
    assert_eq!(cli.server.rate_limit, 0);
    assert_eq!(cli.server.rtmp.to_string(), "127.0.0.1:9002");
}

#[test]
fn no_file_means_built_in_defaults() {
    let missing = Path::new("/nonexistent/aethex/server.toml");
    let cli: Cli = parse_layered(["aethex-server"], Some(missing)).expect("defaults");
    assert_eq!(cli.server.http.to_string(), "127.0.0.1:8080");
    assert_eq!(cli.config, None);
}

#[test]
fn the_default_file_is_read_when_it_exists() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("server.toml");
    std::fs::write(&path, "rate-limit = 3\n").expect("write");
    let cli: Cli = parse_layered(["aethex-server"], Some(&path)).expect("default file");
    assert_eq!(cli.server.rate_limit, 3);
}

#[test]
fn unknown_keys_are_refused_with_file_line_and_key() {
    let msg = file_error("http = \"127.0.0.1:0\"\nhtp = \"127.0.0.1:1\"\n");
    assert!(msg.contains("server.toml:2: unknown key `htp`"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    let msg = file_error("[cluster]\nredis-url = \"redis://x\"\n");
    assert!(
        msg.contains("unknown key `cluster`"),
        "sections are not keys: {msg}"
    );
    let msg = file_error("config = \"/etc/other.toml\"\n");
    assert!(
        msg.contains("unknown key `config`"),
        "a file cannot name another: {msg}"
    );
}

#[test]
fn bad_values_are_refused_with_the_reason() {
    for (file, want) in [
        (
            "http = \"nope\"",
            "server.toml:1: `http`: invalid value \"nope\": invalid socket address syntax",
        ),
        ("rate-limit = -1", "`rate-limit`: invalid value \"-1\""),
        (
            "rate-limit = \"lots\"",
            "`rate-limit`: invalid value \"lots\": invalid digit",
        ),
        (
            "secure-cookies = \"yes\"",
            "`secure-cookies`: expected true or false, found a string",
        ),
        (
            "http = [\"127.0.0.1:1\"]",
            "`http`: takes one value, not a list",
        ),
        (
            "trusted-proxy = [\"10.0.0.0/8\", \"proxy.local\"]",
            "`trusted-proxy`: invalid value \"10.0.0.0/8,proxy.local\": expected an address range",
        ),
        (
            "data-dir = { path = \"/x\" }",
            "`data-dir`: expected a string or a number, found a table",
        ),
    ] {
        let msg = file_error(file);
        assert!(msg.contains(want), "{file}: {msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }
}

#[test]
fn syntax_errors_name_the_line() {
    let msg = file_error("http = \"127.0.0.1:0\"\nrtmp = \n");
    assert!(msg.contains("server.toml:2: not valid TOML"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn a_missing_named_file_is_an_error() {
    let argv = ["aethex-server", "--config", "/nonexistent/aethex.toml"];
    match parse_layered::<Cli>(argv, None) {
        Err(LoadError::File(ConfigFileError::Read { path, .. })) => {
            assert_eq!(path, Path::new("/nonexistent/aethex.toml"))
        }
        other => panic!("expected a read error, got {other:?}"),
    }
}

#[test]
fn secrets_from_the_file_stay_out_of_help() {
    use clap::CommandFactory;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("server.toml");
    let cmd = super::file::apply_str(
        Cli::command(),
        &path,
        "database-url = \"postgres://me:hunter2@db/x\"\nnode-id = \"edge-7\"\n",
    )
    .expect("valid");
    let help = cmd.clone().render_long_help().to_string();
    assert!(!help.contains("hunter2"), "{help}");
    assert!(
        help.contains("edge-7"),
        "non-secret defaults are shown: {help}"
    );
}
