//! AeThex Studio: a thin Tauri shell over `aethex-broadcast` and `aethex-client`.
//! Commands live in [`commands`]; [`builder`] is shared by the app and its tests
//! so both register the same handlers.

pub mod commands;

use tauri::{Builder, Runtime};

/// The app's builder with every command registered.
pub fn builder<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder.invoke_handler(tauri::generate_handler![commands::app_info])
}

/// Runs the studio.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .try_init();
    if let Err(e) = builder(tauri::Builder::default()).run(tauri::generate_context!()) {
        eprintln!("aethex-studio: {e}");
        std::process::exit(1);
    }
}
