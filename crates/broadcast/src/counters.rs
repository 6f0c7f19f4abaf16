//! What the running broadcast shares between its GStreamer callbacks and helper threads:
//! frame counters, audio levels, the last pipeline error. The engine writes them, the bus
//! watcher and the stats loop read them; none of the three imports another.
//!
//! ```text
//! engine.rs ─┬─ bus.rs ───┬─ counters.rs
//!            └─ stats.rs ─┘
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::outputs::Fanout;

/// Counters and state shared with GStreamer callbacks and the helper threads.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) fanout: Arc<Fanout>,
    pub(crate) frames_encoded: AtomicU64,
    pub(crate) late_frames: AtomicU64,
    pub(crate) encoder_skipped: AtomicU64,
    pub(crate) levels: Mutex<HashMap<String, AudioLevel>>,
    pub(crate) error: Mutex<Option<EngineError>>,
    pub(crate) running: AtomicBool,
}

/// An audio input's level in dBFS (0 = full scale, -inf… as -700 from GStreamer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioLevel {
    /// The input's name.
    pub name: String,
    /// Loudest channel's RMS.
    pub rms_db: f64,
    /// Loudest channel's peak.
    pub peak_db: f64,
}
