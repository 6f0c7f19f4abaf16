//! Studio commands: each one translates between the window and `aethex_client::studio`.

use aethex_client::Secret;
use aethex_client::chat::ChatEvent;
use aethex_client::studio::{
    ChatUpdate, DestinationView, EngineFeeds, Profile, RecordingView, ServerStatus, StudioError,
    StudioErrorKind, StudioSettings, chat_state_text, preview_view, recordings as list_recordings,
    stats_view,
};
use aethex_proto::chat::ClientFrame;
use std::sync::atomic::{AtomicU32, Ordering};

use tauri::{AppHandle, Manager, Runtime, State};
use tauri_specta::Event;
use tokio::sync::broadcast::error::RecvError;

use crate::ipc::{Chat, Preview, Stats};
use crate::state::{self, AppState, CmdResult, err};

/// The remembered settings (defaults on first run).
#[tauri::command]
#[specta::specta]
pub fn load_settings<R: Runtime>(app: AppHandle<R>) -> StudioSettings {
    state::settings(&app)
}

/// Remembers the settings (they never hold a key).
#[tauri::command]
#[specta::specta]
pub fn save_settings<R: Runtime>(app: AppHandle<R>, settings: StudioSettings) {
    state::save(&app, "settings", &settings);
}

/// Connects to the server named by `AETHEX_SERVER_URL` (how `scripts/run`
/// points the studio at the server it started), else the remembered one (the
/// built-in server unless another was chosen).
#[tauri::command]
#[specta::specta]
pub async fn startup<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<ServerStatus> {
    let server: Option<String> = std::env::var("AETHEX_SERVER_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| state::load(&app, "server"));
    connect(app, state, server).await
}

/// Connects to `server`, or starts the built-in server when it is empty.
#[tauri::command]
#[specta::specta]
pub async fn connect<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    server: Option<String>,
) -> CmdResult<ServerStatus> {
    let ports: Option<(u16, u16)> = state::load(&app, "local_ports");
    let dir = state::server_data_dir(&app);
    let mut studio = state::studio(&state).await?;
    let status = studio
        .connect(server.as_deref(), &dir, ports)
        .await
        .map_err(|e| e.view())?;
    state::save(&app, "server", &server.filter(|s| !s.trim().is_empty()));
    if let Some(p) = studio.local_ports() {
        state::save(&app, "local_ports", &p);
    }
    Ok(status)
}

/// Creates an account (`register`) or signs in; the token goes to the keyring.
#[tauri::command]
#[specta::specta]
pub async fn authenticate(
    state: State<'_, AppState>,
    username: String,
    password: String,
    register: bool,
) -> CmdResult<Profile> {
    let password = Secret::new(password);
    let mut studio = state::studio(&state).await?;
    studio
        .authenticate(&username, &password, register)
        .await
        .map_err(|e| e.view())
}

/// Signs out (the token leaves the keyring).
#[tauri::command]
#[specta::specta]
pub async fn sign_out(state: State<'_, AppState>) -> CmdResult<()> {
    state.chat_tx.lock().await.take();
    let mut studio = state::studio(&state).await?;
    studio.sign_out().await.map_err(|e| e.view())
}

/// Sets the display name and bio.
#[tauri::command]
#[specta::specta]
pub async fn update_profile(
    state: State<'_, AppState>,
    display_name: String,
    bio: String,
) -> CmdResult<Profile> {
    let mut studio = state::studio(&state).await?;
    studio
        .update_profile(&display_name, &bio)
        .await
        .map_err(|e| e.view())
}

/// The destinations panel's rows.
#[tauri::command]
#[specta::specta]
pub async fn destinations(
    state: State<'_, AppState>,
    settings: StudioSettings,
) -> CmdResult<Vec<DestinationView>> {
    let studio = state::studio(&state).await?;
    studio.destinations(&settings).map_err(|e| e.view())
}

/// Stores a custom destination's key in the keyring (empty removes it).
#[tauri::command]
#[specta::specta]
pub async fn set_destination_key(
    state: State<'_, AppState>,
    name: String,
    key: String,
) -> CmdResult<()> {
    let studio = state::studio(&state).await?;
    studio
        .set_destination_key(&name, &Secret::new(key))
        .map_err(|e| e.view())
}

/// Reads a key from the keyring to show it once, on request.
#[tauri::command]
#[specta::specta]
pub async fn reveal_key(
    state: State<'_, AppState>,
    name: String,
    own: bool,
) -> CmdResult<Option<String>> {
    let studio = state::studio(&state).await?;
    let key = studio.reveal_key(&name, own).map_err(|e| e.view())?;
    Ok(key.map(|k| k.expose().to_string()))
}

/// Rotates the own server's stream key.
#[tauri::command]
#[specta::specta]
pub async fn rotate_key(state: State<'_, AppState>) -> CmdResult<()> {
    let studio = state::studio(&state).await?;
    studio.rotate_own_key().await.map_err(|e| e.view())
}

/// Numbers preview frames across engine restarts, so a URL never repeats.
static PREVIEW_SEQ: AtomicU32 = AtomicU32::new(1);

/// Forwards an engine's preview frames (`preview`) and stats (`stats`) to the window.
fn forward<R: Runtime>(app: &AppHandle<R>, feeds: EngineFeeds, live: bool) {
    let EngineFeeds {
        mut preview,
        mut stats,
    } = feeds;
    let a = app.clone();
    let latest = app.state::<AppState>().preview.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match preview.recv().await {
                Ok(frame) => {
                    // The event only announces the frame; the window fetches the JPEG
                    // from the `preview:` scheme (see crate::preview).
                    let seq = PREVIEW_SEQ.fetch_add(1, Ordering::Relaxed);
                    let view = preview_view(&frame, seq);
                    latest.put(frame);
                    let _ = Preview(view).emit(&a);
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    });
    let a = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match stats.recv().await {
                Ok(ev) => {
                    let _ = Stats(stats_view(&ev, live)).emit(&a);
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// Forwards a freshly started engine's feeds to the window, or reports why it
/// could not start (shared by preview, go-live and end-stream).
fn forward_result<R: Runtime>(
    app: &AppHandle<R>,
    feeds: Result<EngineFeeds, StudioError>,
    live: bool,
) -> CmdResult<()> {
    forward(app, feeds.map_err(|e| e.view())?, live);
    Ok(())
}

/// (Re)starts the preview with `settings` (not live).
#[tauri::command]
#[specta::specta]
pub async fn start_preview<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    settings: StudioSettings,
) -> CmdResult<()> {
    let mut studio = state::studio(&state).await?;
    let feeds = studio.start_preview(&settings).await;
    forward_result(&app, feeds, false)
}

/// Goes live with `title`.
#[tauri::command]
#[specta::specta]
pub async fn go_live<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    settings: StudioSettings,
    title: String,
) -> CmdResult<()> {
    let mut studio = state::studio(&state).await?;
    let feeds = studio.go_live(&settings, &title).await;
    forward_result(&app, feeds, true)
}

/// Ends the stream cleanly, then goes back to preview.
#[tauri::command]
#[specta::specta]
pub async fn end_stream<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    settings: StudioSettings,
) -> CmdResult<()> {
    let mut studio = state::studio(&state).await?;
    studio.end_stream().await.map_err(|e| e.view())?;
    let feeds = studio.start_preview(&settings).await;
    forward_result(&app, feeds, false)
}

/// Whether a broadcast is on.
#[tauri::command]
#[specta::specta]
pub async fn is_live(state: State<'_, AppState>) -> CmdResult<bool> {
    Ok(state::studio(&state).await?.is_live())
}

/// Sets volume and mute of the running engine.
#[tauri::command]
#[specta::specta]
pub async fn set_audio(state: State<'_, AppState>, volume: f64, muted: bool) -> CmdResult<()> {
    let studio = state::studio(&state).await?;
    studio.set_audio(volume, muted).map_err(|e| e.view())
}

/// Opens the own channel's chat; updates arrive as `chat` events.
#[tauri::command]
#[specta::specta]
pub async fn chat_connect<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<()> {
    let mut client = {
        let studio = state::studio(&state).await?;
        studio.chat().map_err(|e| e.view())?
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ClientFrame>(32);
    // The client stays in this task; sends go through `tx`.
    tauri::async_runtime::spawn(async move {
        loop {
            tokio::select! {
                ev = client.next_event() => match ev {
                    Some(ChatEvent::Frame(frame)) => {
                        let _ = Chat(ChatUpdate::Frame { frame }).emit(&app);
                    }
                    Some(ChatEvent::State(s)) => {
                        let (connected, text) = chat_state_text(&s);
                        let _ = Chat(ChatUpdate::State { connected, text }).emit(&app);
                    }
                    None => break,
                },
                out = rx.recv() => match out {
                    Some(frame) => {
                        if let Err(e) = client.send(frame).await {
                            let _ = Chat(ChatUpdate::State { connected: false, text: e.to_string() }).emit(&app);
                        }
                    }
                    None => { client.close().await; break; }
                },
            }
        }
    });
    *state.chat_tx.lock().await = Some(tx);
    Ok(())
}

/// Sends a chat frame: a message, or a moderation action (delete, timeout, ban, slow).
#[tauri::command]
#[specta::specta]
pub async fn chat_send(state: State<'_, AppState>, frame: ClientFrame) -> CmdResult<()> {
    let tx = state.chat_tx.lock().await.clone();
    match tx {
        Some(tx) => tx
            .send(frame)
            .await
            .map_err(|_| err(StudioErrorKind::Chat, "the chat connection is closed")),
        None => Err(err(StudioErrorKind::Chat, "chat is not connected")),
    }
}

/// The recordings in the recording folder.
#[tauri::command]
#[specta::specta]
pub fn recordings(dir: String) -> Vec<RecordingView> {
    list_recordings(std::path::Path::new(&dir))
}

/// Opens a folder in the desktop's file manager.
#[tauri::command]
#[specta::specta]
pub fn open_folder(dir: String) -> CmdResult<()> {
    std::fs::create_dir_all(&dir)
        .map_err(|e| err(StudioErrorKind::State, format!("cannot create {dir}: {e}")))?;
    std::process::Command::new("xdg-open")
        .arg(&dir)
        .spawn()
        .map(drop)
        .map_err(|e| err(StudioErrorKind::State, format!("cannot open {dir}: {e}")))
}

/// Ends any stream cleanly and quits.
#[tauri::command]
#[specta::specta]
pub async fn quit<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> CmdResult<()> {
    crate::shutdown(&state).await;
    state::save_window(&app);
    app.exit(0);
    Ok(())
}
