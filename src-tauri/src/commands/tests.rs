//! Command tests through Tauri's mock runtime: the same handlers as the app, real IPC
//! serialisation, the real built-in server and the real OS keyring (run under
//! `scripts/with-keyring cargo test -p aethex-studio`).

use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow};

/// Opening the vault probes the keyring with one fixed entry: two probes at once race,
/// so the tests that open it take turns.
static KEYRING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn keyring_turn() -> std::sync::MutexGuard<'static, ()> {
    KEYRING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn app() -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = crate::builder(mock_builder())
        .build(mock_context(noop_assets()))
        .expect("build mock app");
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("mock window");
    (app, webview)
}

fn invoke(webview: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|r| r.deserialize::<Value>().expect("json response"))
}

#[test]
fn app_info_command_answers_through_ipc() {
    let (_app, w) = app();
    let info = invoke(&w, "app_info", json!({})).expect("command succeeds");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        info["gstreamer"]
            .as_str()
            .expect("text")
            .contains("GStreamer")
    );
}

#[test]
fn settings_have_defaults_and_keep_what_the_ui_saves() {
    let (_app, w) = app();
    let defaults = invoke(&w, "load_settings", json!({})).expect("load");
    assert_eq!(defaults["width"], 1280);
    assert_eq!(defaults["source"], "test");
    let mut changed = defaults.clone();
    changed["fps"] = json!(60);
    changed["destinations"] = json!([{"name": "backup", "url": "rtmp://h/app", "enabled": true}]);
    invoke(&w, "save_settings", json!({ "settings": changed })).expect("save");
    let back = invoke(&w, "load_settings", json!({})).expect("load again");
    assert_eq!(back["fps"], 60);
    assert_eq!(back["destinations"][0]["name"], "backup");
    let bad = invoke(&w, "save_settings", json!({ "settings": {"fps": "sixty"} }));
    assert!(
        bad.is_err(),
        "a malformed settings object is refused, not stored"
    );
}

#[test]
fn commands_that_need_an_account_say_so() {
    let _turn = keyring_turn();
    let (_app, w) = app();
    let settings = invoke(&w, "load_settings", json!({})).expect("load");
    let e = invoke(&w, "go_live", json!({"settings": settings, "title": "x"}))
        .expect_err("no server yet");
    assert!(
        e["kind"] == "no_server" || e["kind"] == "keyring",
        "clear error kind: {e}"
    );
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    let e = invoke(
        &w,
        "chat_send",
        json!({"frame": {"type": "send", "text": "hi"}}),
    )
    .expect_err("chat not connected");
    assert_eq!(e["kind"], "chat");
    let e = invoke(&w, "connect", json!({"server": "http://127.0.0.1:9"}))
        .expect_err("nothing listens there");
    assert!(
        e["kind"] == "unreachable" || e["kind"] == "keyring",
        "unreachable server: {e}"
    );
}

/// Sign-up, profile, keys and a wrong password through IPC on the built-in server; the
/// token and key reach the keyring, never the store file.
#[test]
fn onboarding_through_ipc_on_the_built_in_server() {
    let _turn = keyring_turn();
    let data = tempfile::tempdir().expect("tempdir");
    crate::state::set_data_dir_override(data.path());
    let (app, w) = app();
    let status = invoke(&w, "startup", json!({})).expect("built-in server starts");
    assert_eq!(status["local_server"], true);
    assert!(status["profile"].is_null());
    assert!(data.path().join("server/aethex.db").exists());

    let user = format!("ipc_{}", std::process::id());
    let profile = invoke(
        &w,
        "authenticate",
        json!({"username": user, "password": "a long password", "register": true}),
    )
    .expect("sign up");
    assert_eq!(profile["username"], user.as_str());
    let wrong = invoke(
        &w,
        "authenticate",
        json!({"username": user, "password": "not it at all", "register": false}),
    )
    .expect_err("wrong password");
    assert_eq!(wrong["kind"], "wrong_password");
    let p = invoke(
        &w,
        "update_profile",
        json!({"displayName": "IPC Creator", "bio": "hello"}),
    )
    .expect("profile");
    assert_eq!(p["display_name"], "IPC Creator");

    let settings = invoke(&w, "load_settings", json!({})).expect("settings");
    let dests = invoke(&w, "destinations", json!({"settings": settings})).expect("dests");
    assert_eq!(dests[0]["own"], true);
    assert_eq!(dests[0]["has_key"], true);
    let key = invoke(&w, "reveal_key", json!({"name": "own server", "own": true})).expect("reveal");
    let key = key.as_str().expect("a key").to_string();
    assert!(key.len() >= 16);

    // Nothing secret in the store file.
    let store = tauri::Manager::path(&app)
        .app_config_dir()
        .expect("config dir")
        .join(crate::state::STORE);
    if let Ok(text) = std::fs::read_to_string(&store) {
        assert!(!text.contains(&key), "the stream key leaked into the store");
    }
    tauri::async_runtime::block_on(crate::shutdown(&tauri::Manager::state(&app)));
}
