//! The app's shared state and the store (settings, server choice, window) — never keys.

use aethex_client::Vault;
use aethex_client::studio::{Studio, StudioErrorKind, StudioErrorView, StudioSettings};
use aethex_proto::chat::ClientFrame;
use serde_json::json;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_store::StoreExt;

/// The store file in the app's config dir.
pub const STORE: &str = "studio.json";

/// Held by Tauri for every command.
#[derive(Default)]
pub struct AppState {
    /// The studio, created on first use (opening the keyring may fail).
    pub studio: tokio::sync::Mutex<Option<Studio>>,
    /// Sends into the creator's chat connection (dropping it closes the connection).
    pub chat_tx: tokio::sync::Mutex<Option<tokio::sync::mpsc::Sender<ClientFrame>>>,
    /// The newest preview frame, served to the window by the `preview:` scheme.
    pub preview: crate::preview::LatestFrame,
}

/// A command's error as the UI shows it.
pub type CmdResult<T> = Result<T, StudioErrorView>;

/// Wraps any error sentence.
pub fn err(kind: StudioErrorKind, message: impl std::fmt::Display) -> StudioErrorView {
    StudioErrorView {
        kind,
        message: message.to_string(),
    }
}

/// Locks the studio, creating it (and opening the keyring) on first use.
pub async fn studio(state: &AppState) -> CmdResult<tokio::sync::MappedMutexGuard<'_, Studio>> {
    let mut guard = state.studio.lock().await;
    if guard.is_none() {
        let vault = Vault::open().map_err(|e| err(StudioErrorKind::Keyring, e))?;
        *guard = Some(Studio::new(vault));
    }
    tokio::sync::MutexGuard::try_map(guard, Option::as_mut)
        .map_err(|_| err(StudioErrorKind::State, "the studio is not available"))
}

/// A value from the store.
pub fn load<R: Runtime, T: serde::de::DeserializeOwned>(
    app: &AppHandle<R>,
    key: &str,
) -> Option<T> {
    let store = app.store(STORE).ok()?;
    serde_json::from_value(store.get(key)?).ok()
}

/// Saves a value in the store (errors are logged: remembering is best effort).
pub fn save<R: Runtime, T: serde::Serialize>(app: &AppHandle<R>, key: &str, value: &T) {
    match (app.store(STORE), serde_json::to_value(value)) {
        (Ok(store), Ok(v)) => {
            store.set(key, v);
            if let Err(e) = store.save() {
                tracing::warn!("saving {key}: {e}");
            }
        }
        (Err(e), _) => tracing::warn!("opening the store: {e}"),
        (_, Err(e)) => tracing::warn!("serialising {key}: {e}"),
    }
}

/// The remembered settings, or defaults.
pub fn settings<R: Runtime>(app: &AppHandle<R>) -> StudioSettings {
    load(app, "settings").unwrap_or_default()
}

static DATA_DIR_OVERRIDE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Puts the app's data somewhere else (tests); the first call wins.
pub fn set_data_dir_override(dir: &std::path::Path) {
    let _ = DATA_DIR_OVERRIDE.set(dir.to_path_buf());
}

/// The directory the built-in server keeps its data in (`AETHEX_STUDIO_DATA_DIR/server`
/// when set, else the app data dir's `server`).
pub fn server_data_dir<R: Runtime>(app: &AppHandle<R>) -> std::path::PathBuf {
    if let Some(dir) = DATA_DIR_OVERRIDE.get() {
        return dir.join("server");
    }
    if let Some(dir) = std::env::var_os("AETHEX_STUDIO_DATA_DIR") {
        return std::path::PathBuf::from(dir).join("server");
    }
    app.path()
        .app_data_dir()
        .unwrap_or_else(|_| std::env::temp_dir().join("aethex-studio"))
        .join("server")
}

/// Remembers the main window's size and position.
pub fn save_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("main")
        && let (Ok(pos), Ok(size)) = (w.outer_position(), w.inner_size())
    {
        save(
            app,
            "window",
            &json!({"x": pos.x, "y": pos.y, "width": size.width, "height": size.height}),
        );
    }
}

/// Puts the main window back where it was.
pub fn restore_window<R: Runtime>(app: &AppHandle<R>) {
    #[derive(serde::Deserialize)]
    struct Geometry {
        x: i32,
        y: i32,
        width: u32,
        height: u32,
    }
    if let (Some(w), Some(g)) = (
        app.get_webview_window("main"),
        load::<R, Geometry>(app, "window"),
    ) {
        let _ = w.set_size(tauri::PhysicalSize::new(
            g.width.max(960),
            g.height.max(600),
        ));
        let _ = w.set_position(tauri::PhysicalPosition::new(g.x, g.y));
    }
}
