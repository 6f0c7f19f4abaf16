//! Accounts: register, login (throttled), logout, me.

pub mod secret;
pub mod session;
pub mod store;

use std::net::IpAddr;
use std::time::Duration;

use aethex_proto::{AuthResponse, Credentials, MeResponse};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::error::{ApiError, ApiResult};
use crate::http::ratelimit::FailureThrottle;
use crate::http::{ApiJson, ClientIp};
use crate::state::AppState;
use crate::validate;
pub use session::{AuthUser, MaybeUser};

/// Failed-login throttles: per username and per client IP.
#[derive(Debug)]
pub struct LoginThrottle {
    /// Failures per username.
    pub by_name: FailureThrottle<String>,
    /// Failures per IP.
    pub by_ip: FailureThrottle<IpAddr>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            by_name: FailureThrottle::new(5, Duration::from_secs(5 * 60)),
            by_ip: FailureThrottle::new(20, Duration::from_secs(5 * 60)),
        }
    }
}

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
}

/// Create an account (and its channel).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = Credentials,
    responses((status = 201, body = AuthResponse), (status = 409, body = aethex_proto::ErrorBody),
              (status = 422, body = aethex_proto::ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(creds): ApiJson<Credentials>,
) -> ApiResult<Response> {
    let username = validate::username(&creds.username)?;
    validate::password(&creds.password)?;
    let password = creds.password;
    let hash = tokio::task::spawn_blocking(move || secret::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let user = store::create_user_with_channel(&state.db, &username, &hash)
        .await?
        .ok_or_else(|| ApiError::Conflict {
            code: "username_taken",
            message: format!("the username {username:?} is taken"),
        })?;
    tracing::info!(user = %user.username, "registered");
    let body = issue_session(&state, &user).await?;
    Ok(with_cookie(&state, StatusCode::CREATED, body))
}

/// Sign in; throttled per IP and per username after repeated failures.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Credentials,
    responses((status = 200, body = AuthResponse), (status = 401, body = aethex_proto::ErrorBody),
              (status = 429, body = aethex_proto::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(creds): ApiJson<Credentials>,
) -> ApiResult<Response> {
    let username = creds.username.trim().to_ascii_lowercase();
    let throttle = &state.login_throttle;
    throttle.by_ip.check(&ip).map_err(ApiError::RateLimited)?;
    throttle
        .by_name
        .check(&username)
        .map_err(ApiError::RateLimited)?;
    let user = if username.len() <= 25 {
        store::user_by_name(&state.db, &username).await?
    } else {
        None
    };
    let stored = user.as_ref().map_or_else(
        || secret::dummy_hash().to_string(),
        |u| u.password_hash.clone(),
    );
    let password = creds.password;
    let ok = tokio::task::spawn_blocking(move || {
        password.chars().count() <= 1024 && secret::verify_password(&password, &stored)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            // For fail2ban-style tools; the address is the proxied client's
            // when the request came through a trusted proxy.
            let shown: String = username.chars().take(32).collect();
            tracing::warn!(client = %ip, username = ?shown, "failed login");
            throttle.by_ip.fail(ip);
            throttle.by_name.fail(username);
            return Err(ApiError::InvalidCredentials);
        }
    };
    throttle.by_name.clear(&username);
    let body = issue_session(&state, &user).await?;
    Ok(with_cookie(&state, StatusCode::OK, body))
}

/// End this session; the token stops working at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout(State(state): State<AppState>, auth: AuthUser) -> ApiResult<Response> {
    store::delete_session(&state.db, &auth.token_hash).await?;
    let mut headers = HeaderMap::new();
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
        session::COOKIE
    );
    if let Ok(v) = HeaderValue::from_str(&clear) {
        headers.insert(header::SET_COOKIE, v);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = MeResponse), (status = 401, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn me(auth: AuthUser) -> Json<MeResponse> {
    Json(MeResponse {
        user: auth.user.to_wire(),
    })
}

async fn issue_session(state: &AppState, user: &store::UserRow) -> ApiResult<AuthResponse> {
    let token = secret::random_token();
    let ttl_ms = i64::from(state.config.session_days) * 24 * 3600 * 1000;
    store::create_session(&state.db, &secret::sha256_hex(&token), user.id, ttl_ms).await?;
    Ok(AuthResponse {
        user: user.to_wire(),
        token,
    })
}

fn with_cookie(state: &AppState, status: StatusCode, body: AuthResponse) -> Response {
    let max_age = u64::from(state.config.session_days) * 24 * 3600;
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        session::COOKIE,
        body.token
    );
    let mut res = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}
