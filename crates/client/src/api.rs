//! [`ApiClient`]: every route of the contract's HTTP API (`/api/v1`), with
//! errors parsed from the contract's `{"error":{"code","message"}}` shape into
//! [`ApiError`], whose messages a UI can show as they are.

use std::time::Duration;

use aethex_proto::{
    AuthResponse, BanRequest, Channel, ChannelList, ChannelPatch, Credentials, ErrorBody,
    MeResponse, Message, MessageList, ModeratorList, StreamKeyResponse, User, Vod, VodList,
};
use reqwest::{Method, RequestBuilder, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::secret::Secret;

/// How long to wait for a TCP connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every way an API call can fail, phrased for the person using the app.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server address is not an `http(s)://` URL.
    #[error("{url:?} is not a server address: {reason} (expected e.g. http://127.0.0.1:8080)")]
    InvalidServerUrl {
        /// What was given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No TCP connection (refused, DNS, TLS).
    #[error("cannot reach the server at {server}: is it running and is the address right?")]
    Unreachable {
        /// The server's base URL.
        server: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// Connected, but no answer in time.
    #[error("the server at {server} did not answer in time")]
    Timeout {
        /// The server's base URL.
        server: String,
    },
    /// Login refused: wrong username or password.
    #[error("wrong username or password")]
    InvalidCredentials,
    /// No session, or it expired or was logged out.
    #[error("not signed in, or the session has expired: sign in again")]
    Unauthorized,
    /// Signed in but not allowed (e.g. not the channel's owner).
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The channel, user or message does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Clashes with existing state, e.g. a taken username.
    #[error("{message}")]
    Conflict {
        /// The contract's snake_case code, e.g. `username_taken`.
        code: String,
        /// The server's sentence.
        message: String,
    },
    /// The input broke a rule (400 or 422).
    #[error("{message}")]
    Invalid {
        /// The contract's snake_case code.
        code: String,
        /// The server's sentence, e.g. `username: 3–25 characters`.
        message: String,
    },
    /// The body was too large.
    #[error("too large: {0}")]
    TooLarge(String),
    /// Too many requests; the server asks to wait.
    #[error("{}", rate_limited_text(*.retry_after))]
    RateLimited {
        /// From `Retry-After`, when the server sent seconds.
        retry_after: Option<Duration>,
    },
    /// Any other error the server reported in the contract's shape.
    #[error("the server failed (HTTP {status}, {code}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The contract's code.
        code: String,
        /// The server's sentence.
        message: String,
    },
    /// The answer was not the contract's JSON: probably not an AeThex server.
    #[error("unexpected answer from {server} (HTTP {status}): is it an AeThex Live server?")]
    UnexpectedResponse {
        /// The server's base URL.
        server: String,
        /// HTTP status.
        status: u16,
    },
    /// Any other transport failure while sending or reading.
    #[error("request to {server} failed: {source}")]
    Transport {
        /// The server's base URL.
        server: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
}

fn rate_limited_text(after: Option<Duration>) -> String {
    match after {
        Some(d) => format!("too many requests: try again in {} s", d.as_secs().max(1)),
        None => "too many requests: try again shortly".to_string(),
    }
}

impl ApiError {
    /// Maps a non-success answer to an error: the contract's JSON error when
    /// present, the status alone otherwise. `retry_after` is the raw header.
    pub fn from_response_parts(
        server: &str,
        status: u16,
        retry_after: Option<&str>,
        body: &[u8],
    ) -> ApiError {
        let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
        let (code, message) = match parsed {
            Some(b) => (b.error.code, b.error.message),
            None if status == 429 => (String::new(), String::new()),
            None => {
                return ApiError::UnexpectedResponse {
                    server: server.to_string(),
                    status,
                };
            }
        };
        match (status, code.as_str()) {
            (_, "invalid_credentials") => ApiError::InvalidCredentials,
            (429, _) | (_, "rate_limited") => ApiError::RateLimited {
                retry_after: retry_after
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs),
            },
            (401, _) => ApiError::Unauthorized,
            (403, _) => ApiError::Forbidden(message),
            (404, _) => ApiError::NotFound(message),
            (409, _) => ApiError::Conflict { code, message },
            (400 | 422, _) => ApiError::Invalid { code, message },
            (413, _) => ApiError::TooLarge(message),
            _ => ApiError::Server {
                status,
                code,
                message,
            },
        }
    }

    /// The contract's error code when the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::InvalidCredentials => Some("invalid_credentials"),
            ApiError::Unauthorized => Some("unauthorized"),
            ApiError::RateLimited { .. } => Some("rate_limited"),
            ApiError::Conflict { code, .. }
            | ApiError::Invalid { code, .. }
            | ApiError::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether trying the same request again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ApiError::Unreachable { .. }
                | ApiError::Timeout { .. }
                | ApiError::RateLimited { .. }
                | ApiError::Transport { .. }
        ) || matches!(self, ApiError::Server { status, .. } if *status >= 500)
    }
}

/// A signed-in session: who, and the token to send as `Authorization: Bearer`.
#[derive(Debug, Clone)]
pub struct Session {
    /// The signed-in user.
    pub user: User,
    /// Session token; keep it in the [`crate::vault::Vault`].
    pub token: Secret,
}

impl From<AuthResponse> for Session {
    fn from(r: AuthResponse) -> Self {
        Session {
            user: r.user,
            token: Secret::new(r.token),
        }
    }
}

/// Client for one AeThex server. Cheap to clone (shares the connection pool).
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
}

impl ApiClient {
    /// A client for the server at `server` (e.g. `http://127.0.0.1:8080`),
    /// not signed in.
    pub fn new(server: &str) -> Result<ApiClient, ApiError> {
        let base = parse_server_url(server)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("aethex/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ApiError::Transport {
                server: server.to_string(),
                source,
            })?;
        Ok(ApiClient {
            http,
            base,
            token: None,
        })
    }

    /// The same client, sending `token` on every request.
    pub fn with_token(mut self, token: Secret) -> ApiClient {
        self.token = Some(token);
        self
    }

    /// The server's base URL, normalised (no trailing slash).
    pub fn server(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_string()
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The session token, if signed in.
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    /// `GET /healthz`: the server is up and its database answers.
    pub async fn health(&self) -> Result<(), ApiError> {
        let url = self.url(&["healthz"]);
        let req = self.http.get(url);
        self.send(req).await.map(drop)
    }

    /// `GET /ingest`: where this server wants publishers to send (no sign-in needed).
    pub async fn ingest(&self) -> Result<aethex_proto::IngestInfo, ApiError> {
        self.json(Method::GET, &["ingest"], None::<&()>).await
    }

    /// `POST /auth/register`: creates the user and their channel; signs in.
    pub async fn register(&self, username: &str, password: &Secret) -> Result<Session, ApiError> {
        let body = credentials(username, password);
        let r: AuthResponse = self
            .json(Method::POST, &["auth", "register"], Some(&body))
            .await?;
        Ok(r.into())
    }

    /// `POST /auth/login`.
    pub async fn login(&self, username: &str, password: &Secret) -> Result<Session, ApiError> {
        let body = credentials(username, password);
        let r: AuthResponse = self
            .json(Method::POST, &["auth", "login"], Some(&body))
            .await?;
        Ok(r.into())
    }

    /// `POST /auth/logout`: the token stops working.
    pub async fn logout(&self) -> Result<(), ApiError> {
        self.empty(Method::POST, &["auth", "logout"], None::<&()>)
            .await
    }

    /// `GET /me`: who the token belongs to.
    pub async fn me(&self) -> Result<User, ApiError> {
        let r: MeResponse = self.json(Method::GET, &["me"], None::<&()>).await?;
        Ok(r.user)
    }

    /// `GET /channels`: live channels first.
    pub async fn channels(&self) -> Result<Vec<Channel>, ApiError> {
        let r: ChannelList = self.json(Method::GET, &["channels"], None::<&()>).await?;
        Ok(r.channels)
    }

    /// `GET /channels/{name}`.
    pub async fn channel(&self, name: &str) -> Result<Channel, ApiError> {
        self.json(Method::GET, &["channels", name], None::<&()>)
            .await
    }

    /// `PATCH /channels/{name}` (owner): absent fields stay as they are.
    pub async fn update_channel(
        &self,
        name: &str,
        patch: &ChannelPatch,
    ) -> Result<Channel, ApiError> {
        self.json(Method::PATCH, &["channels", name], Some(patch))
            .await
    }

    /// `POST /channels/{name}/stream-key` (owner): a new key; the old one
    /// stops working at once.
    pub async fn rotate_stream_key(&self, name: &str) -> Result<Secret, ApiError> {
        let r: StreamKeyResponse = self
            .json(Method::POST, &["channels", name, "stream-key"], None::<&()>)
            .await?;
        Ok(Secret::new(r.stream_key))
    }

    /// `GET /channels/{name}/moderators` (owner; extension): usernames, sorted.
    pub async fn moderators(&self, channel: &str) -> Result<Vec<String>, ApiError> {
        let r: ModeratorList = self
            .json(
                Method::GET,
                &["channels", channel, "moderators"],
                None::<&()>,
            )
            .await?;
        Ok(r.moderators)
    }

    /// `PUT /channels/{name}/moderators/{username}` (owner).
    pub async fn add_moderator(&self, channel: &str, username: &str) -> Result<(), ApiError> {
        let path = ["channels", channel, "moderators", username];
        self.empty(Method::PUT, &path, None::<&()>).await
    }

    /// `DELETE /channels/{name}/moderators/{username}` (owner).
    pub async fn remove_moderator(&self, channel: &str, username: &str) -> Result<(), ApiError> {
        let path = ["channels", channel, "moderators", username];
        self.empty(Method::DELETE, &path, None::<&()>).await
    }

    /// `GET /channels/{name}/chat?before=&limit=`: newest last.
    pub async fn chat_history(
        &self,
        channel: &str,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<Message>, ApiError> {
        let mut url = self.api_url(&["channels", channel, "chat"]);
        {
            let mut q = url.query_pairs_mut();
            if let Some(b) = before {
                q.append_pair("before", &b.to_string());
            }
            if let Some(l) = limit {
                q.append_pair("limit", &l.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let r: MessageList = self.parse(self.request(Method::GET, url)).await?;
        Ok(r.messages)
    }

    /// `DELETE /chat/messages/{id}` (owner, moderator).
    pub async fn delete_message(&self, id: i64) -> Result<(), ApiError> {
        let id = id.to_string();
        self.empty(Method::DELETE, &["chat", "messages", &id], None::<&()>)
            .await
    }

    /// `PUT /channels/{name}/bans/{username}` (owner, moderator); `None`
    /// seconds bans permanently.
    pub async fn ban(
        &self,
        channel: &str,
        username: &str,
        seconds: Option<u64>,
    ) -> Result<(), ApiError> {
        let body = BanRequest { seconds };
        let path = ["channels", channel, "bans", username];
        self.empty(Method::PUT, &path, Some(&body)).await
    }

    /// `DELETE /channels/{name}/bans/{username}` (owner, moderator).
    pub async fn unban(&self, channel: &str, username: &str) -> Result<(), ApiError> {
        let path = ["channels", channel, "bans", username];
        self.empty(Method::DELETE, &path, None::<&()>).await
    }

    /// `GET /channels/{name}/vods`: newest first.
    pub async fn vods(&self, channel: &str) -> Result<Vec<Vod>, ApiError> {
        let r: VodList = self
            .json(Method::GET, &["channels", channel, "vods"], None::<&()>)
            .await?;
        Ok(r.vods)
    }

    /// The chat WebSocket URL for a channel (`ws(s)://…/ws/chat/{channel}`),
    /// without the token.
    pub fn chat_url(&self, channel: &str) -> Url {
        let mut url = self.base.clone();
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        // Only http/https bases exist (checked in `new`), both convertible.
        let _ = url.set_scheme(scheme);
        push_segments(&mut url, &["ws", "chat", channel]);
        url
    }

    /// `{base}/api/v1/{segments…}`, each segment percent-encoded.
    fn api_url(&self, segments: &[&str]) -> Url {
        let mut all = vec!["api", "v1"];
        all.extend_from_slice(segments);
        self.url(&all)
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        push_segments(&mut url, segments);
        url
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let req = self.http.request(method, url);
        match &self.token {
            Some(t) => req.header(header::AUTHORIZATION, format!("Bearer {}", t.expose())),
            None => req,
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&impl Serialize>,
    ) -> Result<T, ApiError> {
        let mut req = self.request(method, self.api_url(segments));
        if let Some(b) = body {
            req = req.json(b);
        }
        self.parse(req).await
    }

    async fn empty(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&impl Serialize>,
    ) -> Result<(), ApiError> {
        let mut req = self.request(method, self.api_url(segments));
        if let Some(b) = body {
            req = req.json(b);
        }
        self.send(req).await.map(drop)
    }

    async fn parse<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T, ApiError> {
        let res = self.send(req).await?;
        let status = res.status().as_u16();
        let bytes = res.bytes().await.map_err(|e| self.transport(e))?;
        serde_json::from_slice(&bytes).map_err(|_| ApiError::UnexpectedResponse {
            server: self.server(),
            status,
        })
    }

    /// Sends, and turns every non-2xx answer into an [`ApiError`].
    async fn send(&self, req: RequestBuilder) -> Result<reqwest::Response, ApiError> {
        let res = req.send().await.map_err(|e| self.transport(e))?;
        let status = res.status();
        if status.is_success() {
            return Ok(res);
        }
        let retry_after = res
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = res.bytes().await.unwrap_or_default();
        let err = ApiError::from_response_parts(
            &self.server(),
            status.as_u16(),
            retry_after.as_deref(),
            &body,
        );
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!(status = status.as_u16(), error = %err, "server error");
        }
        Err(err)
    }

    fn transport(&self, e: reqwest::Error) -> ApiError {
        let server = self.server();
        if e.is_timeout() {
            ApiError::Timeout { server }
        } else if e.is_connect() {
            ApiError::Unreachable { server, source: e }
        } else {
            ApiError::Transport { server, source: e }
        }
    }
}

fn credentials(username: &str, password: &Secret) -> Credentials {
    Credentials {
        username: username.to_string(),
        password: password.expose().to_string(),
    }
}

/// Parses and normalises a server address: `http(s)` only, no query or
/// fragment, and a path that ends in `/` so segments append below it.
pub fn parse_server_url(server: &str) -> Result<Url, ApiError> {
    let invalid = |reason: &str| ApiError::InvalidServerUrl {
        url: without_password(server),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(server.trim()).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none() {
        return Err(invalid("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the address"));
    }
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The address as typed, with any password in it masked.
fn without_password(server: &str) -> String {
    match Url::parse(server.trim()) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => server.to_string(),
    }
}

fn push_segments(url: &mut Url, segments: &[&str]) {
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
}

#[cfg(test)]
mod tests;
