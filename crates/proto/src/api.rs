//! HTTP API bodies (`/api/v1/...`).

use serde::{Deserialize, Serialize};

/// A registered person. `display_name` defaults to the username.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Stable numeric id.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    /// Lower-case login name, 3–25 chars of `[a-z0-9_]`.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
}

/// Body of `POST /auth/register` and `POST /auth/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    /// Login name (case-insensitive).
    pub username: String,
    /// At least 8 characters.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Answer to register and login: the user and a session token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthResponse {
    /// The signed-in user.
    pub user: User,
    /// Session token for `Authorization: Bearer`; shown once, stored hashed.
    pub token: String,
}

impl std::fmt::Debug for AuthResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthResponse")
            .field("user", &self.user)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Answer to `GET /me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeResponse {
    /// The signed-in user.
    pub user: User,
}

/// A creator's channel, as listed and shown to viewers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Channel {
    /// Same as the owner's username; used in every URL.
    pub name: String,
    /// Shown name (≤ 50 chars).
    pub display_name: String,
    /// Profile text (≤ 500 chars).
    pub bio: String,
    /// Whether a broadcast is running now.
    pub live: bool,
    /// Stream title (≤ 140 chars); the running broadcast's while live.
    pub title: String,
    /// Distinct people watching now.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub viewers: u64,
    /// RFC 3339 start of the running broadcast, `null` when offline.
    pub started_at: Option<String>,
}

/// Answer to `GET /channels`: live channels first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelList {
    /// Live ones first, then offline ones.
    pub channels: Vec<Channel>,
}

/// Body of `PATCH /channels/{name}`; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelPatch {
    /// New shown name, 1–50 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub display_name: Option<String>,
    /// New profile text, ≤ 500 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub bio: Option<String>,
    /// New stream title, ≤ 140 chars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub title: Option<String>,
}

/// Answer to `POST /channels/{name}/stream-key`: the only time the key is shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamKeyResponse {
    /// Publish to `rtmp://HOST:PORT/live/{stream_key}`.
    pub stream_key: String,
}

impl std::fmt::Debug for StreamKeyResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamKeyResponse { stream_key: <redacted> }")
    }
}

/// Body of `PUT /channels/{name}/bans/{username}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BanRequest {
    /// Timeout length; absent means a permanent ban.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "number"))]
    pub seconds: Option<u64>,
}

/// One stored chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Message {
    /// Grows with time within a channel.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    /// Author.
    pub username: String,
    /// Exactly as sent (trimmed); render as text, never HTML.
    pub text: String,
    /// RFC 3339 time the server stored it.
    pub sent_at: String,
}

/// Answer to `GET /channels/{name}/chat`: newest last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageList {
    /// Oldest first.
    pub messages: Vec<Message>,
}

/// One finished (or running) broadcast kept as video on demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Vod {
    /// Broadcast id; the playlist is `/vod/{id}/index.m3u8`.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    /// Title the broadcast had.
    pub title: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Length in seconds.
    pub duration_seconds: f64,
    /// Path of the HLS playlist.
    pub playlist: String,
}

/// Answer to `GET /channels/{name}/vods`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VodList {
    /// Newest first.
    pub vods: Vec<Vod>,
}

/// The contract's error shape: `{"error":{"code","message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// Machine-readable code plus a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// snake_case code, e.g. `invalid_credentials`.
    pub code: String,
    /// Human sentence.
    pub message: String,
}

/// Answer to `GET /channels/{name}/moderators` (extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModeratorList {
    /// Usernames, sorted.
    pub moderators: Vec<String>,
}

/// Body of `GET /api/v1/ingest`: where publishers send, as the server's
/// operator wants them advertised (`--public-rtmp-url`, `--public-srt-url`),
/// else the host the request came to with the bound ingest ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestInfo {
    /// RTMP ingest.
    pub rtmp: RtmpIngest,
    /// SRT ingest.
    pub srt: SrtIngest,
}

/// RTMP ingest of `GET /api/v1/ingest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RtmpIngest {
    /// Whether the server accepts RTMP publishers.
    pub enabled: bool,
    /// Server URL for OBS and `aethex`, e.g. `rtmp://stream.example.org:1935/live`.
    pub url: String,
    /// `{url}/{stream_key}`: the full publish URL with the key's place marked.
    pub publish_url: String,
}

/// SRT ingest of `GET /api/v1/ingest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, export_to = "bindings/"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SrtIngest {
    /// Whether the server listens for SRT callers (`--srt`).
    pub enabled: bool,
    /// `srt://HOST:PORT` when enabled.
    pub url: Option<String>,
    /// How the caller's `streamid` is formed: `{stream_key}` (the key itself).
    pub stream_id: String,
    /// `srt://HOST:PORT?streamid={stream_key}` when enabled.
    pub publish_url: Option<String>,
}
