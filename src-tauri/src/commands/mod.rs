//! Tauri commands: each translates between the UI and the library crates.

pub mod studio;

use serde::Serialize;

/// Versions shown in the studio's about box.
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    /// Studio version.
    pub version: String,
    /// GStreamer runtime, or the reason it could not start.
    pub gstreamer: String,
}

/// Reports the studio and GStreamer versions.
#[tauri::command]
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
mod tests {
    use tauri::ipc::{CallbackFn, InvokeBody};
    use tauri::test::{INVOKE_KEY, get_ipc_response, mock_builder, mock_context, noop_assets};
    use tauri::webview::InvokeRequest;

    #[test]
    fn app_info_command_answers_through_ipc() {
        let app = crate::builder(mock_builder())
            .build(mock_context(noop_assets()))
            .expect("build mock app");
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("mock window");
        let res = get_ipc_response(
            &webview,
            InvokeRequest {
                cmd: "app_info".into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::default(),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .expect("command succeeds");
        let info: serde_json::Value = res.deserialize().unwrap();
        assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
        assert!(info["gstreamer"].as_str().unwrap().contains("GStreamer"));
    }
}
