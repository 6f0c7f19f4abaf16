//! The loopback test publish: a throwaway server (own temporary data dir and
//! SQLite, ports picked by the system) in this process, a channel on it, a
//! few seconds of GStreamer test stream over RTMP, and a live HLS playlist
//! that must list a segment.

use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use serde_json::Value;

use super::{DoctorError, Finding};
use crate::config::Config;

/// Elements of the test publisher (not of the server).
const PUBLISHER: &[&str] = &[
    "videotestsrc",
    "x264enc",
    "h264parse",
    "flvmux",
    "rtmp2sink",
    "audiotestsrc",
    "audioconvert",
    "avenc_aac",
    "aacparse",
];

/// How long the first segment may take (it is listed about 1–2 s after the start).
const SEGMENT_WAIT: Duration = Duration::from_secs(20);

const CHANNEL: &str = "doctor_check";

/// Runs the loopback publish and reports it.
pub(super) async fn publish() -> Finding {
    const CHECK: &str = "loopback publish";
    if gst::init().is_err() {
        return Finding::warn(
            CHECK,
            "skipped: GStreamer does not start",
            "see the gstreamer finding",
        );
    }
    let missing: Vec<&'static str> = PUBLISHER
        .iter()
        .copied()
        .filter(|e| gst::ElementFactory::find(e).is_none())
        .collect();
    if !missing.is_empty() {
        let error = DoctorError::Plugins { elements: missing };
        return Finding::warn(
            CHECK,
            format!("skipped: the test publisher needs them ({error})"),
            error.fix(),
        );
    }
    let started = Instant::now();
    match run().await {
        Ok(()) => Finding::ok(
            CHECK,
            format!(
                "RTMP test stream became a live HLS segment in {:.1} s",
                started.elapsed().as_secs_f64()
            ),
        ),
        Err(e) => Finding::fail(CHECK, &e),
    }
}

async fn run() -> Result<(), DoctorError> {
    let fail =
        |what: &str, e: &dyn std::fmt::Display| DoctorError::Loopback(format!("{what}: {e}"));
    let dir = tempfile::tempdir().map_err(|e| fail("temporary data dir", &e))?;
    let config = loopback_config(dir.path());
    let server = crate::Server::bind(config)
        .await
        .map_err(|e| fail("starting a test server", &format!("{e:#}")))?;
    let (http, rtmp) = (server.http_addr(), server.rtmp_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(async move {
        let _ = stop_rx.await;
    }));
    let result = publish_to(http, rtmp).await;
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
    result
}

/// Defaults only: nothing of the operator's setup (database, cluster, ports) is used.
fn loopback_config(dir: &std::path::Path) -> Config {
    let mut c = Config::for_tests(dir);
    c.database_url = Some(format!("sqlite://{}", dir.join("doctor.db").display()));
    c.srt = None;
    c.redis_url = None;
    c.s3_endpoint = None;
    c.s3_bucket = None;
    c.public_media_url = None;
    c.web_dir = Some(dir.join("no-web"));
    c.trusted_proxies.clear();
    c.rate_limit = 1000;
    c.exit_with_stdin = false;
    c
}

async fn publish_to(
    http: std::net::SocketAddr,
    rtmp: std::net::SocketAddr,
) -> Result<(), DoctorError> {
    let key = stream_key(http).await?;
    let url = format!("rtmp://{rtmp}/live/{key}");
    let description = format!(
        "videotestsrc is-live=true ! video/x-raw,width=320,height=180,framerate=30/1 ! \
         x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 option-string=scenecut=0 ! \
         h264parse ! queue ! flvmux name=m streamable=true ! rtmp2sink location={url} \
         audiotestsrc is-live=true ! audioconvert ! avenc_aac ! aacparse ! queue ! m."
    );
    let pipeline = gst::parse::launch(&description)
        .map_err(|e| DoctorError::Loopback(format!("test publisher: {e}")))?;
    let result = watch(&pipeline, http).await;
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// Plays the publisher until the playlist lists a segment, the publisher
/// fails, or [`SEGMENT_WAIT`] passes.
async fn watch(pipeline: &gst::Element, http: std::net::SocketAddr) -> Result<(), DoctorError> {
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| DoctorError::Loopback("the test publisher would not start".into()))?;
    let bus = pipeline
        .bus()
        .ok_or_else(|| DoctorError::Loopback("test publisher without a bus".into()))?;
    let client = reqwest::Client::new();
    let playlist = format!("http://{http}/hls/{CHANNEL}/index.m3u8");
    let deadline = Instant::now() + SEGMENT_WAIT;
    while Instant::now() < deadline {
        while let Some(msg) = bus.pop() {
            if let gst::MessageView::Error(e) = msg.view() {
                // The URL with the key is in the debug text: keep to the error itself.
                return Err(DoctorError::Loopback(format!(
                    "the server did not take the RTMP test stream: {}",
                    e.error()
                )));
            }
        }
        let listed = match client.get(&playlist).send().await {
            Ok(r) if r.status().is_success() => r.text().await.unwrap_or_default(),
            _ => String::new(),
        };
        if listed.contains("#EXTINF") {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(DoctorError::Loopback(format!(
        "the RTMP test stream produced no HLS segment within {} s",
        SEGMENT_WAIT.as_secs()
    )))
}

/// Registers the test channel on the throwaway server and gets its key.
async fn stream_key(http: std::net::SocketAddr) -> Result<String, DoctorError> {
    let client = reqwest::Client::new();
    let base = format!("http://{http}/api/v1");
    let password = format!("doctor-{}-{}", std::process::id(), rand::random::<u64>());
    let body = serde_json::json!({ "username": CHANNEL, "password": password });
    let step = |what: &'static str| {
        move |e: reqwest::Error| DoctorError::Loopback(format!("test server: {what}: {e}"))
    };
    let session: Value = client
        .post(format!("{base}/auth/register"))
        .json(&body)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(step("sign-up"))?
        .json()
        .await
        .map_err(step("sign-up"))?;
    let token = session["token"].as_str().unwrap_or_default();
    let key: Value = client
        .post(format!("{base}/channels/{CHANNEL}/stream-key"))
        .bearer_auth(token)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(step("stream key"))?
        .json()
        .await
        .map_err(step("stream key"))?;
    key["stream_key"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| DoctorError::Loopback("test server: no stream key in the answer".into()))
}
