//! The desktop studio's logic, kept out of the Tauri shell so it is testable without a
//! window: server choice (a remote one or the built-in [`LocalServer`]), sign-up/in with
//! the session token in the [`Vault`], profile, stream keys, and the broadcast engine
//! (preview while idle, the same engine with destinations while live).
//!
//! Keys and tokens only ever live in the vault; [`StudioSettings`] (what the app
//! remembers in its store) holds none.

mod local;
mod translate;
pub mod types;

use std::path::{Path, PathBuf};

use aethex_broadcast::{Engine, EngineError, PreviewFrame, StatsEvent, StopReport};
use aethex_proto::api::ChannelPatch;
use tokio::sync::broadcast;

pub use local::{LocalServer, LocalServerError};
pub use translate::{
    MIC, TONE, broadcast_settings, chat_state_text, destination_url, preview_view, recordings,
    stats_view,
};
pub use types::*;

use crate::api::{ApiClient, ApiError};
use crate::chat::{ChatClient, ChatOptions};
use crate::secret::Secret;
use crate::vault::{Vault, VaultError};

/// Everything that can go wrong in the studio, each phrased for the creator.
#[derive(Debug, thiserror::Error)]
pub enum StudioError {
    /// A server call failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The engine failed (device busy, plugin missing, …).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The OS keyring failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The built-in server failed.
    #[error(transparent)]
    Local(#[from] LocalServerError),
    /// No server chosen yet.
    #[error("choose a server first")]
    NoServer,
    /// Needs an account.
    #[error("sign in first")]
    NotSignedIn,
    /// The request does not fit the current state.
    #[error("{0}")]
    State(String),
}

impl StudioError {
    /// The error as the UI shows it: a kind it can act on and the sentence.
    pub fn view(&self) -> StudioErrorView {
        use StudioErrorKind as K;
        let kind = match self {
            StudioError::Api(ApiError::Unreachable { .. } | ApiError::Timeout { .. }) => {
                K::Unreachable
            }
            StudioError::Api(ApiError::InvalidCredentials) => K::WrongPassword,
            StudioError::Api(ApiError::Unauthorized) | StudioError::NotSignedIn => K::NotSignedIn,
            StudioError::Api(ApiError::Conflict { .. }) => K::Conflict,
            StudioError::Api(ApiError::Invalid { .. } | ApiError::InvalidServerUrl { .. }) => {
                K::Invalid
            }
            StudioError::Api(ApiError::RateLimited { .. }) => K::RateLimited,
            StudioError::Api(_) => K::Server,
            StudioError::Engine(EngineError::MissingElement { .. }) => K::MissingPlugin,
            StudioError::Engine(EngineError::DeviceBusy { .. }) => K::DeviceBusy,
            StudioError::Engine(EngineError::DeviceUnavailable { .. }) => K::Device,
            StudioError::Engine(EngineError::InvalidSettings(_)) => K::Invalid,
            StudioError::Engine(_) => K::Engine,
            StudioError::Vault(_) => K::Keyring,
            StudioError::Local(_) => K::LocalServer,
            StudioError::NoServer => K::NoServer,
            StudioError::State(_) => K::State,
        };
        StudioErrorView {
            kind,
            message: self.to_string(),
        }
    }
}

/// Result of studio calls.
pub type StudioResult<T> = Result<T, StudioError>;

/// What a started engine feeds the window.
#[derive(Debug)]
pub struct EngineFeeds {
    /// Preview JPEG frames.
    pub preview: broadcast::Receiver<PreviewFrame>,
    /// One stats event a second.
    pub stats: broadcast::Receiver<StatsEvent>,
}

struct Connection {
    api: ApiClient,
    local: Option<LocalServer>,
    rtmp_base: String,
    profile: Option<Profile>,
}

/// Vault entry name of a custom destination's key.
fn custom_key_name(name: &str) -> String {
    format!("destination:{name}")
}

/// The studio's state: one per app.
pub struct Studio {
    vault: Vault,
    conn: Option<Connection>,
    // In a mutex only so `Studio` is `Sync` (the engine holds a non-`Sync` receiver).
    engine: std::sync::Mutex<Option<Engine>>,
    live: bool,
}

impl std::fmt::Debug for Studio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Studio")
            .field("server", &self.conn.as_ref().map(|c| c.api.server()))
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl Studio {
    /// A studio using `vault` for every secret.
    pub fn new(vault: Vault) -> Studio {
        Studio {
            vault,
            conn: None,
            engine: std::sync::Mutex::new(None),
            live: false,
        }
    }

    /// Connects to `server`, or starts the built-in server (data in `data_dir`, on the
    /// `preferred` ports when free) when `server` is `None`; resumes a session kept in
    /// the keyring when it still works.
    pub async fn connect(
        &mut self,
        server: Option<&str>,
        data_dir: &Path,
        preferred: Option<(u16, u16)>,
    ) -> StudioResult<ServerStatus> {
        if self.live {
            return Err(StudioError::State(
                "end the stream before changing servers".into(),
            ));
        }
        if let Some(old) = self.conn.take()
            && let Some(local) = old.local
        {
            local.stop().await;
        }
        let (api, local, rtmp_base) = match server.map(str::trim).filter(|s| !s.is_empty()) {
            Some(url) => {
                let api = ApiClient::new(url)?;
                use crate::cli::config::{ConfigError, discover_rtmp};
                let rtmp = match discover_rtmp(&api, None).await {
                    Ok(rtmp) => rtmp,
                    // Unreachable, timed out…: the same error the health check gives.
                    Err(ConfigError::Discovery(e)) => return Err(e.into()),
                    Err(e) => return Err(StudioError::State(e.to_string())),
                };
                (api, None, rtmp)
            }
            None => {
                let local = LocalServer::start(data_dir, preferred).await?;
                let api = ApiClient::new(&local.url())?;
                let rtmp = local.rtmp_base();
                (api, Some(local), rtmp)
            }
        };
        api.health().await?;
        let mut conn = Connection {
            api,
            local,
            rtmp_base,
            profile: None,
        };
        let server = conn.api.server();
        if let Some(token) = self.vault.session_token(&server)? {
            let api = conn.api.clone().with_token(token);
            match api.me().await {
                Ok(user) => {
                    conn.api = api;
                    conn.profile = Some(profile_of(&conn, &user.username).await?);
                }
                Err(ApiError::Unauthorized) => self.vault.delete_session_token(&server)?,
                Err(e) => return Err(e.into()),
            }
        }
        let status = ServerStatus {
            server,
            local_server: conn.local.is_some(),
            profile: conn.profile.clone(),
        };
        self.conn = Some(conn);
        Ok(status)
    }

    /// The built-in server's ports, to prefer next launch.
    pub fn local_ports(&self) -> Option<(u16, u16)> {
        self.conn.as_ref()?.local.as_ref().map(LocalServer::ports)
    }

    fn conn(&self) -> StudioResult<&Connection> {
        self.conn.as_ref().ok_or(StudioError::NoServer)
    }

    fn signed_in(&self) -> StudioResult<(&Connection, &Profile)> {
        let c = self.conn()?;
        let p = c.profile.as_ref().ok_or(StudioError::NotSignedIn)?;
        Ok((c, p))
    }

    /// Creates an account (`register = true`) or signs in; the token and a fresh
    /// stream key go into the keyring.
    pub async fn authenticate(
        &mut self,
        username: &str,
        password: &Secret,
        register: bool,
    ) -> StudioResult<Profile> {
        let conn = self.conn.as_mut().ok_or(StudioError::NoServer)?;
        let session = if register {
            conn.api.register(username.trim(), password).await?
        } else {
            conn.api.login(username.trim(), password).await?
        };
        let server = conn.api.server();
        self.vault.set_session_token(&server, &session.token)?;
        conn.api = conn.api.clone().with_token(session.token);
        let name = session.user.username;
        if self.vault.stream_key(&server)?.is_none() {
            let key = conn.api.rotate_stream_key(&name).await?;
            self.vault.set_stream_key(&server, &key)?;
        }
        let profile = profile_of(conn, &name).await?;
        conn.profile = Some(profile.clone());
        Ok(profile)
    }

    /// Signs out: the session ends on the server and leaves the keyring.
    pub async fn sign_out(&mut self) -> StudioResult<()> {
        if self.live {
            return Err(StudioError::State(
                "end the stream before signing out".into(),
            ));
        }
        let conn = self.conn.as_mut().ok_or(StudioError::NoServer)?;
        let _ = conn.api.logout().await;
        self.vault.delete_session_token(&conn.api.server())?;
        conn.profile = None;
        Ok(())
    }

    /// Sets the display name and bio.
    pub async fn update_profile(&mut self, display_name: &str, bio: &str) -> StudioResult<Profile> {
        let (conn, p) = self.signed_in()?;
        let patch = ChannelPatch {
            display_name: Some(display_name.trim().to_string()),
            bio: Some(bio.trim().to_string()),
            title: None,
        };
        conn.api.update_channel(&p.username, &patch).await?;
        let name = p.username.clone();
        let conn = self.conn.as_mut().ok_or(StudioError::NoServer)?;
        let profile = profile_of(conn, &name).await?;
        conn.profile = Some(profile.clone());
        Ok(profile)
    }

    /// The own server plus the custom destinations, with whether each has a key.
    pub fn destinations(&self, settings: &StudioSettings) -> StudioResult<Vec<DestinationView>> {
        let conn = self.conn()?;
        let mut out = vec![DestinationView {
            name: "own server".into(),
            url: conn.rtmp_base.clone(),
            own: true,
            has_key: self.vault.stream_key(&conn.api.server())?.is_some(),
            enabled: true,
        }];
        for d in &settings.destinations {
            out.push(DestinationView {
                name: d.name.clone(),
                url: d.url.clone(),
                own: false,
                has_key: self.vault.stream_key(&custom_key_name(&d.name))?.is_some(),
                enabled: d.enabled,
            });
        }
        Ok(out)
    }

    /// Stores a custom destination's key in the keyring.
    pub fn set_destination_key(&self, name: &str, key: &Secret) -> StudioResult<()> {
        if key.expose().trim().is_empty() {
            return Ok(self.vault.delete_stream_key(&custom_key_name(name))?);
        }
        Ok(self.vault.set_stream_key(&custom_key_name(name), key)?)
    }

    /// A destination's key from the keyring (`own = true`: the own server's).
    pub fn reveal_key(&self, name: &str, own: bool) -> StudioResult<Option<Secret>> {
        let entry = if own {
            self.conn()?.api.server()
        } else {
            custom_key_name(name)
        };
        Ok(self.vault.stream_key(&entry)?)
    }

    /// Rotates the own server's key; the new key goes into the keyring.
    pub async fn rotate_own_key(&self) -> StudioResult<()> {
        let (conn, p) = self.signed_in()?;
        let key = conn.api.rotate_stream_key(&p.username).await?;
        self.vault.set_stream_key(&conn.api.server(), &key)?;
        Ok(())
    }

    /// Whether a broadcast is on.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// (Re)starts the engine for the preview only: no destination, no recording.
    pub async fn start_preview(&mut self, settings: &StudioSettings) -> StudioResult<EngineFeeds> {
        if self.live {
            return Err(StudioError::State("already live".into()));
        }
        let s = broadcast_settings(settings, Vec::new(), None);
        self.restart(s).await
    }

    /// Goes live: sets the title, stops the preview engine and starts one with the own
    /// server, every enabled custom destination with a key, and the recording.
    pub async fn go_live(
        &mut self,
        settings: &StudioSettings,
        title: &str,
    ) -> StudioResult<EngineFeeds> {
        if self.live {
            return Err(StudioError::State("already live".into()));
        }
        let (conn, p) = self.signed_in()?;
        let patch = ChannelPatch {
            display_name: None,
            bio: None,
            title: Some(title.trim().to_string()),
        };
        conn.api.update_channel(&p.username, &patch).await?;
        let own_key = match self.vault.stream_key(&conn.api.server())? {
            Some(k) => k,
            None => {
                let k = conn.api.rotate_stream_key(&p.username).await?;
                self.vault.set_stream_key(&conn.api.server(), &k)?;
                k
            }
        };
        let mut dests = vec![aethex_broadcast::Destination::new(
            "own server",
            destination_url(&conn.rtmp_base, &own_key),
        )];
        for d in settings.destinations.iter().filter(|d| d.enabled) {
            if let Some(key) = self.vault.stream_key(&custom_key_name(&d.name))? {
                dests.push(aethex_broadcast::Destination::new(
                    d.name.clone(),
                    destination_url(&d.url, &key),
                ));
            }
        }
        let recording = settings.recording_dir.as_deref().map(|dir| {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            PathBuf::from(dir).join(format!("aethex-{stamp}.mkv"))
        });
        if let Some(dir) = &settings.recording_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| StudioError::State(format!("cannot create {dir}: {e}")))?;
        }
        let s = broadcast_settings(settings, dests, recording);
        let feeds = self.restart(s).await?;
        self.live = true;
        Ok(feeds)
    }

    /// Ends the broadcast cleanly (streams ended, recording finalised).
    pub async fn end_stream(&mut self) -> StudioResult<Option<StopReport>> {
        self.live = false;
        let engine = self.engine_slot().take();
        match engine {
            Some(engine) => Ok(Some(engine.stop().await?)),
            None => Ok(None),
        }
    }

    /// Sets the audio gain and mute of the running engine.
    pub fn set_audio(&self, volume: f64, muted: bool) -> StudioResult<()> {
        let guard = self
            .engine
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(engine) = guard.as_ref() {
            for input in [MIC, TONE] {
                if engine.set_volume(input, volume).is_ok() {
                    engine.set_muted(input, muted)?;
                }
            }
        }
        Ok(())
    }

    /// Opens the own channel's chat signed in as the creator.
    pub fn chat(&self) -> StudioResult<ChatClient> {
        let (conn, p) = self.signed_in()?;
        Ok(ChatClient::connect(
            &conn.api,
            &p.username,
            ChatOptions::default(),
        ))
    }

    /// The signed-in API client (moderation calls).
    pub fn api(&self) -> StudioResult<(&ApiClient, &str)> {
        let (conn, p) = self.signed_in()?;
        Ok((&conn.api, &p.username))
    }

    /// Ends any broadcast and stops the built-in server: call before quitting.
    pub async fn shutdown(&mut self) {
        if let Err(e) = self.end_stream().await {
            tracing::warn!("ending the stream on quit: {e}");
        }
        if let Some(conn) = self.conn.take()
            && let Some(local) = conn.local
        {
            local.stop().await;
        }
    }

    fn engine_slot(&mut self) -> &mut Option<Engine> {
        self.engine
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn restart(
        &mut self,
        settings: aethex_broadcast::BroadcastSettings,
    ) -> StudioResult<EngineFeeds> {
        let old = self.engine_slot().take();
        if let Some(old) = old
            && let Err(e) = old.stop().await
        {
            tracing::warn!("stopping the previous engine: {e}");
        }
        let engine = tokio::task::spawn_blocking(move || Engine::start(settings))
            .await
            .map_err(|e| StudioError::State(format!("engine start task failed: {e}")))??;
        let feeds = EngineFeeds {
            preview: engine.preview(),
            stats: engine.stats(),
        };
        *self.engine_slot() = Some(engine);
        Ok(feeds)
    }
}

async fn profile_of(conn: &Connection, name: &str) -> StudioResult<Profile> {
    let ch = conn.api.channel(name).await?;
    Ok(Profile {
        server: conn.api.server(),
        local_server: conn.local.is_some(),
        username: ch.name,
        display_name: ch.display_name,
        bio: ch.bio,
    })
}

#[cfg(test)]
mod tests;
