//! A headless broadcast with the test source, for measurements and crash tests.
//!
//! ```text
//! cargo run -p aethex-broadcast --example broadcast -- [--duration SECS] [--record FILE]
//!     [--dest URL]... [--size 1280x720] [--fps 30] [--no-preview]
//! ```
//! Prints `started_ms=…`, `first_preview_ms=…`, then one JSON stats line a second;
//! `--duration 0` runs until killed.

use std::time::{Duration, Instant};

use aethex_broadcast::{BroadcastSettings, Destination, Engine, RecordingSettings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut settings = BroadcastSettings::default();
    let mut duration = 10u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--duration" => duration = value()?.parse()?,
            "--record" => {
                settings.recording = Some(RecordingSettings {
                    path: value()?.into(),
                })
            }
            "--dest" => {
                let n = settings.destinations.len();
                settings
                    .destinations
                    .push(Destination::new(format!("dest{n}"), value()?));
            }
            "--size" => {
                let v = value()?;
                let (w, h) = v
                    .split_once('x')
                    .ok_or_else(|| anyhow::anyhow!("--size WxH"))?;
                settings.encoder.width = w.parse()?;
                settings.encoder.height = h.parse()?;
            }
            "--fps" => settings.encoder.fps = value()?.parse()?,
            "--no-preview" => settings.preview.enabled = false,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let t0 = Instant::now();
    let preview_wanted = settings.preview.enabled;
    let engine = tokio::task::spawn_blocking(move || Engine::start(settings)).await??;
    println!(
        "started_ms={} encoder={}",
        t0.elapsed().as_millis(),
        engine.encoder()
    );
    if preview_wanted {
        let mut preview = engine.preview();
        let frame = tokio::time::timeout(Duration::from_secs(10), preview.recv()).await??;
        println!(
            "first_preview_ms={} preview={}x{} jpeg_bytes={}",
            t0.elapsed().as_millis(),
            frame.width,
            frame.height,
            frame.jpeg.len()
        );
        // Keep a reader so the preview branch does its full work, like the studio would.
        tokio::spawn(async move {
            while !matches!(
                preview.recv().await,
                Err(tokio::sync::broadcast::error::RecvError::Closed)
            ) {}
        });
    }
    let mut stats = engine.stats();
    let until = (duration > 0).then(|| tokio::time::Instant::now() + Duration::from_secs(duration));
    loop {
        let next = async {
            match until {
                Some(t) => tokio::time::timeout_at(t, stats.recv()).await.ok(),
                None => Some(stats.recv().await),
            }
        };
        tokio::select! {
            event = next => match event {
                Some(Ok(e)) => println!("{}", serde_json::to_string(&e)?),
                Some(Err(_)) => continue,
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    let report = engine.stop().await?;
    println!("stopped {}", serde_json::to_string(&report)?);
    Ok(())
}
