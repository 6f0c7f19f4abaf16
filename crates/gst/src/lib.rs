//! GStreamer helpers shared by the server's ingest and the studio's broadcast engine.
//!
//! ```text
//! aethex-server (ingest/ts.rs, srt.rs) ─┐
//!                                       ├─ aethex-gst: make(factory)…build() ─ ElementError::Missing { element, package }
//! aethex-broadcast (engine, outputs) ───┘              leaky_queue(n)        package_for(element) ← PACKAGES
//! ```
//!
//! ```no_run
//! # fn demo() -> Result<(), aethex_gst::ElementError> {
//! let sink = aethex_gst::make("rtmp2sink")
//!     .property("location", "rtmp://127.0.0.1/live/KEY")
//!     .build()?; // "rtmp2sink is missing: install the Debian package gstreamer1.0-plugins-bad"
//! # let _ = sink; Ok(()) }
//! ```

#![warn(missing_docs)]

mod element;
mod packages;

pub use element::{ElementBuilder, ElementError, leaky_queue, make};
pub use packages::{FALLBACK_PACKAGE, PACKAGES, package_for};
