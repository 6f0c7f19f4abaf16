//! Who is calling: the session token from `Authorization: Bearer`, the session
//! cookie, or (WebSocket only) `?token=`, resolved to a user.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::secret::sha256_hex;
use super::store::{self, UserRow};
use crate::error::ApiError;
use crate::state::AppState;

/// Name of the HttpOnly session cookie.
pub const COOKIE: &str = "aethex_session";

/// The raw token presented with a request, if any (never logged).
pub fn token_from_parts(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(t.trim().to_string());
        }
    }
    cookie_token(parts)
}

fn cookie_token(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// Resolves a raw token to its user (expired or unknown → `None`).
pub async fn user_for_token(state: &AppState, token: &str) -> Result<Option<UserRow>, ApiError> {
    // Tokens are 64 hex chars; anything else cannot match, so skip the query.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    Ok(store::user_by_session(&state.db, &sha256_hex(token)).await?)
}

/// A signed-in caller; rejects with 401 otherwise.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The user.
    pub user: UserRow,
    /// SHA-256 of the presented token (for logout).
    pub token_hash: String,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = token_from_parts(parts).ok_or(ApiError::Unauthorized)?;
        let user = user_for_token(state, &token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(AuthUser {
            user,
            token_hash: sha256_hex(&token),
        })
    }
}

/// A caller who may or may not be signed in. A presented but invalid token is
/// still a 401, so a client learns its session expired instead of silently
/// acting as anonymous.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<UserRow>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match token_from_parts(parts) {
            None => Ok(MaybeUser(None)),
            Some(t) => match user_for_token(state, &t).await? {
                Some(u) => Ok(MaybeUser(Some(u))),
                None => Err(ApiError::Unauthorized),
            },
        }
    }
}
