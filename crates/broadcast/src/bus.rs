//! The main pipeline's bus: typed errors, level meters, end-of-stream.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc;

use gstreamer as gst;
use gstreamer::prelude::*;
use tokio::sync::watch;

use crate::counters::{AudioLevel, Shared};
use crate::error::{EngineError, from_bus_error};
use crate::outputs::lock;

pub(crate) fn error_of(msg: &gst::Message) -> Option<EngineError> {
    if let gst::MessageView::Error(e) = msg.view() {
        let element = msg
            .src()
            .map(|s| s.path_string().to_string())
            .unwrap_or_else(|| "pipeline".into());
        let debug = e.debug().map(|d| d.to_string());
        return Some(from_bus_error(&element, &e.error(), debug.as_deref()));
    }
    None
}

pub(crate) fn first_error(bus: &gst::Bus) -> Option<EngineError> {
    while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
        if let Some(err) = error_of(&msg) {
            return Some(err);
        }
    }
    None
}

fn level_of(msg: &gst::Message, names: &HashMap<String, String>) -> Option<AudioLevel> {
    let s = msg.structure().filter(|s| s.name() == "level")?;
    let bin = msg.src()?.parent()?.name().to_string();
    let name = names.get(&bin)?.clone();
    let loudest = |field: &str| -> Option<f64> {
        let arr = s.get::<gst::glib::ValueArray>(field).ok()?;
        arr.iter()
            .filter_map(|v| v.get::<f64>().ok())
            .reduce(f64::max)
    };
    Some(AudioLevel {
        name,
        rms_db: loudest("rms")?,
        peak_db: loudest("peak")?,
    })
}

pub(crate) fn watch_bus(
    bus: &gst::Bus,
    shared: &Shared,
    names: &HashMap<String, String>,
    levels_tx: &watch::Sender<Vec<AudioLevel>>,
    eos_tx: &mpsc::Sender<()>,
) {
    while shared.running.load(Ordering::SeqCst) {
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(_) => {
                let _ = eos_tx.send(());
            }
            gst::MessageView::Error(_) => {
                if let Some(err) = error_of(&msg) {
                    tracing::error!("broadcast pipeline error: {err}");
                    *lock(&shared.error) = Some(err);
                }
            }
            gst::MessageView::Element(_) => {
                if let Some(level) = level_of(&msg, names) {
                    let mut levels = lock(&shared.levels);
                    levels.insert(level.name.clone(), level);
                    let mut all: Vec<AudioLevel> = levels.values().cloned().collect();
                    all.sort_by(|a, b| a.name.cmp(&b.name));
                    let _ = levels_tx.send(all);
                }
            }
            _ => {}
        }
    }
}
