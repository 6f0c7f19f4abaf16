//! One thread per output: build its pipeline, watch its bus, retry with backoff.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::{Fanout, Output, OutputError, OutputKind, OutputState, lock, sinks};

/// How long a stopping output may take to flush and close after its end-of-stream.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Starts the supervisor thread of an output.
pub(crate) fn spawn(
    output: Arc<Output>,
    fanout: Arc<Fanout>,
    video_bitrate_kbps: u32,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("output-{}", output.name))
        .spawn(move || supervise(&output, &fanout, video_bitrate_kbps))
}

fn supervise(output: &Arc<Output>, fanout: &Fanout, bitrate: u32) {
    let mut failures: u32 = 0;
    loop {
        let Some((vcaps, acaps)) = wait_for_caps(output, fanout) else {
            break;
        };
        let (went_live, result) = run_once(output, &vcaps, &acaps, bitrate);
        if went_live {
            failures = 0;
        }
        let err = match result {
            Ok(()) => break,
            Err(err) => err,
        };
        if output.stopping.load(Ordering::SeqCst) {
            output.set_state(OutputState::Stopped, Some(err));
            return;
        }
        if !err.is_retryable() {
            output.set_state(OutputState::Failed, Some(err));
            return;
        }
        failures += 1;
        if output.policy.max_retries.is_some_and(|max| failures > max) {
            let last = err.to_string();
            output.set_state(
                OutputState::Failed,
                Some(OutputError::RetriesExhausted {
                    attempts: failures,
                    last,
                }),
            );
            return;
        }
        output.set_state(OutputState::Reconnecting, Some(err));
        lock(&output.status).reconnects += 1;
        let delay = output.policy.delay(failures - 1);
        tracing::info!(output = %output.name, ?delay, attempt = failures, "retrying");
        let status = lock(&output.status);
        let _ = output
            .wake
            .wait_timeout_while(status, delay, |_| !output.stopping.load(Ordering::SeqCst));
    }
    output.set_state(OutputState::Stopped, None);
}

/// Waits until the encoders produced caps (needed to build the output), or until stop.
fn wait_for_caps(output: &Output, fanout: &Fanout) -> Option<(gst::Caps, gst::Caps)> {
    loop {
        if output.stopping.load(Ordering::SeqCst) {
            return None;
        }
        let v = lock(&fanout.video_caps).clone();
        let a = lock(&fanout.audio_caps).clone();
        if let (Some(v), Some(a)) = (v, a) {
            return Some((v, a));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One connection: returns whether it went live, and how it ended.
fn run_once(
    output: &Arc<Output>,
    vcaps: &gst::Caps,
    acaps: &gst::Caps,
    bitrate: u32,
) -> (bool, Result<(), OutputError>) {
    let feed = match sinks::build(output, vcaps, acaps, bitrate) {
        Ok(feed) => feed,
        Err(err) => return (false, Err(err)),
    };
    let pipeline = feed.pipeline.clone();
    let Some(bus) = pipeline.bus() else {
        return (
            false,
            Err(OutputError::Setup("pipeline without bus".into())),
        );
    };
    output.buffers_this_connection.store(0, Ordering::SeqCst);
    let mut went_live = false;
    let result = if pipeline.set_state(gst::State::Playing).is_err() {
        Err(drain_error(output, &bus, false)
            .unwrap_or_else(|| OutputError::Setup("output would not start".into())))
    } else {
        // Feed only a playing pipeline: the first buffer is rebased onto its running time.
        *lock(&output.feed) = Some(feed);
        watch(output, &bus, &mut went_live)
    };
    let feed = lock(&output.feed).take();
    drop(feed);
    let _ = pipeline.set_state(gst::State::Null);
    (went_live, result)
}

fn watch(output: &Arc<Output>, bus: &gst::Bus, went_live: &mut bool) -> Result<(), OutputError> {
    let mut stop_deadline: Option<Instant> = None;
    loop {
        if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
            match msg.view() {
                gst::MessageView::Eos(_) => return Ok(()),
                gst::MessageView::Error(e) => {
                    let text = format!(
                        "{} {}",
                        e.error(),
                        e.debug().map(|d| d.to_string()).unwrap_or_default()
                    );
                    return Err(classify(
                        output,
                        &e.error(),
                        &output.kind.scrub(&text),
                        *went_live,
                    ));
                }
                _ => {}
            }
        }
        // The sink's streaming thread hands it the next buffer only after the previous one
        // was written, so a second media buffer means the connection is up and publishing.
        if !*went_live && output.buffers_this_connection.load(Ordering::Relaxed) >= 2 {
            *went_live = true;
            output.set_state(OutputState::Live, None);
        }
        if output.stopping.load(Ordering::SeqCst) {
            let deadline = *stop_deadline.get_or_insert_with(|| Instant::now() + STOP_GRACE);
            if Instant::now() > deadline {
                tracing::warn!(output = %output.name, "output did not finish in time after stop");
                return Ok(());
            }
        }
    }
}

fn drain_error(output: &Output, bus: &gst::Bus, live: bool) -> Option<OutputError> {
    while let Some(msg) = bus.pop() {
        if let gst::MessageView::Error(e) = msg.view() {
            let text = format!(
                "{} {}",
                e.error(),
                e.debug().map(|d| d.to_string()).unwrap_or_default()
            );
            return Some(classify(
                output,
                &e.error(),
                &output.kind.scrub(&text),
                live,
            ));
        }
    }
    None
}

/// Maps an output's bus error (already scrubbed of secrets) to what the user should know.
fn classify(output: &Output, err: &gst::glib::Error, text: &str, was_live: bool) -> OutputError {
    let first_line = text.lines().next().unwrap_or(text).trim().to_string();
    let lower = text.to_lowercase();
    if matches!(output.kind, OutputKind::Recording { .. }) {
        return OutputError::Write(first_line);
    }
    // A server that accepts the TCP connection and then hangs up before any media went out
    // refused the publish: nginx-rtmp (`deny publish`, `on_publish` 4xx), Twitch and YouTube
    // do this for a wrong or rotated key. OBS does not retry that either.
    let refused_key = lower.contains("'publish' cmd failed")
        || (!was_live
            && ["closed remotely", "reset by peer", "broken pipe"]
                .iter()
                .any(|t| lower.contains(t)))
        || lower.contains("publish.badname")
        || lower.contains("rejected")
        || err.kind::<gst::ResourceError>() == Some(gst::ResourceError::NotAuthorized);
    if refused_key {
        OutputError::KeyRejected(first_line)
    } else if was_live {
        OutputError::ConnectionLost(first_line)
    } else {
        OutputError::Unreachable(first_line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{ReconnectPolicy, SecretUrl};

    fn rtmp() -> Arc<Output> {
        let url = SecretUrl::new("rtmp://127.0.0.1:1935/live/key");
        Output::new(
            "x".into(),
            OutputKind::Rtmp { url },
            ReconnectPolicy::default(),
        )
    }

    fn err(text: &str) -> gst::glib::Error {
        gst::glib::Error::new(gst::ResourceError::Failed, text)
    }

    #[test]
    fn rtmp2sink_errors_map_to_what_the_user_should_do() {
        let o = rtmp();
        // Texts as rtmp2sink 1.22 reports them.
        let refused_key = "Connection error: 'publish' cmd failed: connection closed remotely";
        assert!(matches!(
            classify(&o, &err(refused_key), refused_key, false),
            OutputError::KeyRejected(_)
        ));
        let hung_up = "Connection error: connection closed remotely";
        assert!(matches!(
            classify(&o, &err(hung_up), hung_up, false),
            OutputError::KeyRejected(_)
        ));
        assert!(matches!(
            classify(&o, &err(hung_up), hung_up, true),
            OutputError::ConnectionLost(_)
        ));
        let refused = "Connection refused: Could not connect to 127.0.0.1: Connection refused";
        let e = classify(&o, &err(refused), refused, false);
        assert!(matches!(e, OutputError::Unreachable(_)) && e.is_retryable());
        let rec = Output::new(
            "r".into(),
            OutputKind::Recording {
                path: "/x.mkv".into(),
            },
            ReconnectPolicy::default(),
        );
        let disk = "Error while writing to file: No space left on device";
        assert!(matches!(
            classify(&rec, &err(disk), disk, true),
            OutputError::Write(_)
        ));
    }
}
