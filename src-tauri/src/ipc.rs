//! Typed IPC: every command the window may call and every event it may hear, registered
//! once here and generated into TypeScript (`ui/src/studio/bindings.ts`, tauri-specta), so
//! a renamed command, a changed argument or a changed event payload fails `tsc` in the UI
//! instead of failing at run time. `typescript_bindings_are_up_to_date` (run by
//! `scripts/check-bindings`) fails when the committed file is stale.

use aethex_client::studio::{ChatUpdate, PreviewView, StatsView};
use serde::{Deserialize, Serialize};
use specta_typescript::{BigIntExportBehavior, Typescript};
use tauri::Runtime;
use tauri::plugin::TauriPlugin;
use tauri_specta::{ErrorHandlingMode, Event, collect_commands, collect_events};

use crate::commands;

/// The generated bindings, relative to the workspace root.
pub const BINDINGS: &str = "ui/src/studio/bindings.ts";

/// `preview`: a new preview frame; its JPEG is at `preview://localhost/{seq}`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct Preview(pub PreviewView);

impl Event for Preview {
    const NAME: &'static str = "preview";
}

/// `stats`: the engine's numbers, once a second.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct Stats(pub StatsView);

impl Event for Stats {
    const NAME: &'static str = "stats";
}

/// `chat`: a frame from the creator's chat connection, or its state in words.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct Chat(pub ChatUpdate);

impl Event for Chat {
    const NAME: &'static str = "chat";
}

/// `confirm-close`: the window was asked to close while live; it asks the creator, then
/// calls `quit`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct ConfirmClose;

impl Event for ConfirmClose {
    const NAME: &'static str = "confirm-close";
}

/// Every command and event. Commands throw their `StudioErrorView` in TypeScript
/// (`ErrorHandlingMode::Throw`): the window catches and shows it. Generic commands name
/// `tauri::Wry` for their types only (the handler itself is generic over `R`).
pub fn specta_builder<R: Runtime>() -> tauri_specta::Builder<R> {
    tauri_specta::Builder::<R>::new()
        .commands(collect_commands![
            commands::app_info,
            commands::studio::load_settings::<tauri::Wry>,
            commands::studio::save_settings::<tauri::Wry>,
            commands::studio::startup::<tauri::Wry>,
            commands::studio::connect::<tauri::Wry>,
            commands::studio::authenticate,
            commands::studio::sign_out,
            commands::studio::update_profile,
            commands::studio::destinations,
            commands::studio::set_destination_key,
            commands::studio::reveal_key,
            commands::studio::rotate_key,
            commands::studio::start_preview::<tauri::Wry>,
            commands::studio::go_live::<tauri::Wry>,
            commands::studio::end_stream::<tauri::Wry>,
            commands::studio::is_live,
            commands::studio::set_audio,
            commands::studio::chat_connect::<tauri::Wry>,
            commands::studio::chat_send,
            commands::studio::recordings,
            commands::studio::open_folder,
            commands::studio::quit::<tauri::Wry>,
        ])
        .events(collect_events![Preview, Stats, Chat, ConfirmClose])
        .error_handling(ErrorHandlingMode::Throw)
}

/// Registers the typed events with the app as it is built (a plugin, so the mock
/// runtime of the command tests gets them too: `setup` hooks only run with the event
/// loop). Emitting an unregistered event panics.
pub fn events_plugin<R: Runtime>(ipc: tauri_specta::Builder<R>) -> TauriPlugin<R> {
    tauri::plugin::Builder::new("typed-events")
        .setup(move |app, _api| {
            ipc.mount_events(app);
            Ok(())
        })
        .build()
}

/// The exporter's settings: ids and counts are JSON numbers (`i64`/`u64` as `number`,
/// like the ts-rs wire types), and the file is not type-checked itself (only its use is).
fn typescript() -> Typescript {
    Typescript::default()
        .header("// @ts-nocheck")
        .bigint(BigIntExportBehavior::Number)
}

/// The TypeScript of every command, event and the types they carry.
pub fn render() -> Result<String, specta_typescript::ExportError> {
    specta_builder::<tauri::Wry>().export_str(typescript())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ui/src/studio/bindings.ts` must be what the commands and events generate. Rewrite
    /// it with `AETHEX_WRITE_BINDINGS=1 cargo test -p aethex-studio --lib ipc::`
    /// (`scripts/check-bindings` does), then commit it.
    #[test]
    fn typescript_bindings_are_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(BINDINGS);
        let fresh = render().expect("render the bindings");
        if std::env::var_os("AETHEX_WRITE_BINDINGS").is_some() {
            std::fs::write(&path, &fresh).expect("write the bindings");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "{BINDINGS} is stale: run scripts/check-bindings and commit it"
        );
    }

    #[test]
    fn events_keep_their_wire_names() {
        let ts = render().expect("render the bindings");
        for name in ["\"preview\"", "\"stats\"", "\"chat\"", "\"confirm-close\""] {
            assert!(ts.contains(name), "event {name} missing from the bindings");
        }
    }
}
