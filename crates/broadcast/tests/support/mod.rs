//! Engine-specific test helpers (stats waits); the real peers (nginx-rtmp, ffprobe,
//! Xvfb) come from the shared `aethex-test-support` crate.
#![allow(dead_code)] // each test file uses a different subset

use std::time::Duration;

use aethex_broadcast::{OutputState, OutputStats, StatsEvent};
#[allow(unused_imports)] // re-exported for the test files that use them
pub use aethex_test_support::{Nginx, Probe, Xvfb, free_port, probe};
use tokio::sync::broadcast;

/// Waits for a stats event matching `pred`; panics with the last event after `timeout`.
pub async fn wait_stats(
    rx: &mut broadcast::Receiver<StatsEvent>,
    timeout: Duration,
    what: &str,
    pred: impl Fn(&StatsEvent) -> bool,
) -> StatsEvent {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = None;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) => {
                if pred(&e) {
                    return e;
                }
                last = Some(e);
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(broadcast::error::RecvError::Closed)) => {
                panic!("stats closed while waiting for {what}")
            }
            Err(_) => {
                panic!("timed out after {timeout:?} waiting for {what}; last stats: {last:#?}")
            }
        }
    }
}

/// The stats of the output called `name`.
pub fn output<'a>(e: &'a StatsEvent, name: &str) -> &'a OutputStats {
    e.outputs
        .iter()
        .find(|o| o.name == name)
        .unwrap_or_else(|| panic!("no output {name} in {e:#?}"))
}

/// Whether output `name` is in `state`.
pub fn is(e: &StatsEvent, name: &str, state: OutputState) -> bool {
    e.outputs.iter().any(|o| o.name == name && o.state == state)
}
