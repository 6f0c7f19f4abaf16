//! Fixtures for the server's integration tests, on top of
//! `aethex_server::testing` (the one in-process server and request builder):
//! a WebSocket chat client ([`chat`]), real publishers and playlist parsing
//! ([`media`]), and a bounded wait that names what it waited for.
#![allow(dead_code)] // each test binary uses a different subset

pub mod chat;
pub mod http;
pub mod media;
pub mod process;

use std::future::Future;
use std::time::Duration;

/// Polls `check` until it yields `Some`, failing after `timeout` with `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
