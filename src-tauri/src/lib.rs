//! AeThex Studio: a thin Tauri shell over `aethex-broadcast` and `aethex-client`.
//! Commands live in [`commands`], their typed TypeScript twin in [`ipc`]; [`builder`] is shared by the app and its tests
//! so both register the same handlers. The logic is in `aethex_client::studio`.

pub mod commands;
pub mod ipc;
pub mod preview;
pub mod state;

use tauri::{Builder, Manager, Runtime, WindowEvent};
use tauri_specta::Event;

use state::AppState;

/// The app's builder with its state, the store plugin, the `preview:` scheme and every
/// command and event of [`ipc`] registered.
pub fn builder<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    let ipc = ipc::specta_builder::<R>();
    builder
        .manage(AppState::default())
        .plugin(tauri_plugin_store::Builder::default().build())
        .register_uri_scheme_protocol(preview::SCHEME, |ctx, request| {
            ctx.app_handle()
                .state::<AppState>()
                .preview
                .respond(&request)
        })
        .invoke_handler(ipc.invoke_handler())
        .plugin(ipc::events_plugin(ipc))
        .setup(|app| {
            state::restore_window(app.handle());
            Ok(())
        })
}

/// Ends any broadcast cleanly and stops the built-in server.
pub async fn shutdown(state: &AppState) {
    state.chat_tx.lock().await.take();
    if let Some(studio) = state.studio.lock().await.as_mut() {
        studio.shutdown().await;
    }
}

/// Runs the studio.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .try_init();
    let app = builder(tauri::Builder::default())
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second launch brings the running studio to the front instead.
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.set_focus();
            }
        }))
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                let app = window.app_handle().clone();
                let state = app.state::<AppState>();
                // Busy (e.g. going live right now) counts as live: better to ask.
                let live = match state.studio.try_lock() {
                    Ok(guard) => guard.as_ref().is_some_and(|s| s.is_live()),
                    Err(_) => true,
                };
                state::save_window(&app);
                if live {
                    // The window asks the creator, then calls `quit`.
                    api.prevent_close();
                    let _ = ipc::ConfirmClose.emit(&app);
                }
            }
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("aethex-studio: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::ExitRequested { .. } = event {
            let state = handle.state::<AppState>();
            tauri::async_runtime::block_on(shutdown(&state));
        }
    });
}
