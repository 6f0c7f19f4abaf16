//! Tauri commands: each translates between the UI and the library crates.

pub mod studio;

use serde::Serialize;

/// Versions shown in the studio's about box.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct AppInfo {
    /// Studio version.
    pub version: String,
    /// GStreamer runtime, or the reason it could not start.
    pub gstreamer: String,
}

/// Reports the studio and GStreamer versions.
#[tauri::command]
#[specta::specta]
pub fn app_info() -> AppInfo {
    let gstreamer = match aethex_broadcast::init() {
        Ok(()) => aethex_broadcast::gstreamer_version(),
        Err(e) => format!("unavailable: {e}"),
    };
    AppInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        gstreamer,
    }
}

#[cfg(test)]
mod tests;
