use super::*;
use clap::Parser;

fn config(args: &[&str]) -> Config {
    let mut all = vec!["aethex-server"];
    all.extend_from_slice(args);
    Config::parse_from(all)
}

fn local() -> SocketAddr {
    "127.0.0.1:8080".parse().unwrap()
}

#[test]
fn without_cluster_flags_it_is_a_single_node() {
    let c = config(&[]);
    assert!(
        ClusterConfig::from_config(&c, Backend::Sqlite, local())
            .unwrap()
            .is_none()
    );
}

#[test]
fn cluster_mode_on_sqlite_is_refused_with_a_clear_message() {
    let c = config(&["--redis-url", "redis://127.0.0.1:6379"]);
    let e = ClusterConfig::from_config(&c, Backend::Sqlite, local()).unwrap_err();
    assert!(matches!(e, ClusterError::NeedsPostgres));
    assert!(e.to_string().contains("needs PostgreSQL"), "{e}");
}

#[test]
fn cluster_flags_without_redis_or_half_pairs_are_refused() {
    for (args, flag) in [
        (&["--s3-bucket", "b"][..], "--s3-bucket"),
        (&["--node-id", "a"][..], "--node-id"),
    ] {
        let e = ClusterConfig::from_config(&config(args), Backend::Postgres, local()).unwrap_err();
        assert!(e.to_string().starts_with(flag), "{e}");
        assert!(e.to_string().contains("--redis-url"), "{e}");
    }
    let r = ["--redis-url", "redis://r:6379"];
    for (extra, needs) in [
        (&["--s3-endpoint", "http://s3"][..], "--s3-bucket"),
        (&["--s3-bucket", "b"][..], "--s3-endpoint"),
        (&["--s3-access-key", "k"][..], "--s3-secret-key"),
        (&["--s3-secret-key", "s"][..], "--s3-access-key"),
    ] {
        let args: Vec<&str> = r.iter().chain(extra).copied().collect();
        let e = ClusterConfig::from_config(&config(&args), Backend::Postgres, local()).unwrap_err();
        assert!(e.to_string().ends_with(needs), "{e}");
    }
    let e = ClusterConfig::from_config(
        &config(&["--redis-url", "http://r"]),
        Backend::Postgres,
        local(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("redis://"), "{e}");
}

#[test]
fn a_wildcard_listener_needs_an_advertised_address() {
    let c = config(&["--redis-url", "redis://r:6379"]);
    let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
    let e = ClusterConfig::from_config(&c, Backend::Postgres, any).unwrap_err();
    assert!(matches!(e, ClusterError::NoAdvertise(_)), "{e}");
    let c = config(&[
        "--redis-url",
        "redis://r:6379",
        "--advertise-http",
        "10.0.0.5:8080",
    ]);
    let cc = ClusterConfig::from_config(&c, Backend::Postgres, any)
        .unwrap()
        .unwrap();
    assert_eq!(cc.advertise_http.to_string(), "10.0.0.5:8080");
    let cc = ClusterConfig::from_config(
        &config(&["--redis-url", "redis://r"]),
        Backend::Postgres,
        local(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(cc.advertise_http, local());
}

#[test]
fn node_ids_default_to_distinct_host_names_and_are_validated() {
    let (a, b) = (default_node_id(), default_node_id());
    assert_ne!(a, b);
    assert!(valid_node_id(&a).is_ok(), "{a}");
    assert!(valid_node_id("edge-1.eu").is_ok());
    for bad in ["", "has space", "a/b", &"x".repeat(65)] {
        assert!(valid_node_id(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn the_redis_password_is_not_printed() {
    let c = config(&["--redis-url", "redis://:hunter2@r:6379", "--node-id", "n1"]);
    let cc = ClusterConfig::from_config(&c, Backend::Postgres, local())
        .unwrap()
        .unwrap();
    assert!(!format!("{cc:?}").contains("hunter2"));
}
