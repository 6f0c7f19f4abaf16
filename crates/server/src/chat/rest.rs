//! Chat REST routes under `/api/v1`: history, message deletion, bans and
//! timeouts, slow mode, blocked terms and the moderation log. The rules are
//! the WebSocket's ([`super::moderation`]).

use std::collections::HashMap;

use aethex_proto::{BanRequest, BlockedTerm, BlockedTermList, MessageList, ModLog, SlowMode};
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, put};
use axum::{Json, Router};

use super::{moderation, store};
use crate::auth::AuthUser;
use crate::authz::{self, Action};
use crate::channels;
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiJson, ApiPath};
use crate::state::AppState;

/// Default page size of history and log reads.
pub const DEFAULT_PAGE: i64 = 50;
/// Largest page size (bigger requests are clamped).
pub const MAX_PAGE: i64 = 100;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels/{name}/chat", get(history))
        .route("/chat/messages/{id}", delete(delete_message))
        .route("/channels/{name}/bans/{username}", put(ban).delete(unban))
        .route("/channels/{name}/slow-mode", put(slow_mode))
        .route(
            "/channels/{name}/blocked-terms",
            get(list_terms).post(add_term),
        )
        .route("/channels/{name}/blocked-terms/{term}", delete(remove_term))
        .route("/channels/{name}/mod-log", get(mod_log))
}

/// `?before={id}&limit={n}`: `before` a positive id, `limit` clamped to 1–100.
fn paging(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<(Option<i64>, i64)> {
    let Query(q) = query.map_err(|_| ApiError::BadRequest("invalid query string".into()))?;
    let before = q
        .get("before")
        .map(|v| match v.parse::<i64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ApiError::BadRequest(
                "before: must be a positive message id".into(),
            )),
        })
        .transpose()?;
    let limit = match q.get("limit") {
        None => DEFAULT_PAGE,
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| ApiError::BadRequest("limit: must be a number".into()))?
            .clamp(1, MAX_PAGE),
    };
    Ok((before, limit))
}

/// Chat history, newest last, deleted messages absent.
#[utoipa::path(get, path = "/api/v1/channels/{name}/chat", tag = "chat",
    params(("name" = String, Path, description = "channel name"),
           ("before" = Option<i64>, Query, description = "only messages with a smaller id"),
           ("limit" = Option<i64>, Query, description = "1–100 (clamped), default 50")),
    responses((status = 200, body = MessageList), (status = 400, body = aethex_proto::ErrorBody),
              (status = 404, body = aethex_proto::ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Json<MessageList>> {
    let (before, limit) = paging(query)?;
    let c = channels::find(&state, &name).await?;
    Ok(Json(MessageList {
        messages: store::recent(&state.db, c.id, before, limit).await?,
    }))
}

/// Delete a message; every chat client gets `deleted`.
#[utoipa::path(delete, path = "/api/v1/chat/messages/{id}", tag = "chat",
    params(("id" = i64, Path, description = "message id")),
    responses((status = 204), (status = 401, body = aethex_proto::ErrorBody),
              (status = 403, body = aethex_proto::ErrorBody), (status = 404, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_message(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    moderation::delete_message(&state, &auth.user, id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ban (no body or no `seconds`) or time out (`seconds`, 1 s – 14 days) a user.
#[utoipa::path(put, path = "/api/v1/channels/{name}/bans/{username}", tag = "chat",
    request_body(content = Option<BanRequest>, description = "absent or `{}` = permanent ban"),
    params(("name" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 401, body = aethex_proto::ErrorBody),
              (status = 403, body = aethex_proto::ErrorBody), (status = 404, body = aethex_proto::ErrorBody),
              (status = 422, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn ban(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((name, username)): ApiPath<(String, String)>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let req: BanRequest = if body.iter().all(u8::is_ascii_whitespace) {
        BanRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid request body: {e}")))?
    };
    let c = channels::find(&state, &name).await?;
    moderation::restrict(&state, &c, &auth.user, &username, req.seconds).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift a ban or timeout.
#[utoipa::path(delete, path = "/api/v1/channels/{name}/bans/{username}", tag = "chat",
    params(("name" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 401, body = aethex_proto::ErrorBody),
              (status = 403, body = aethex_proto::ErrorBody), (status = 404, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn unban(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((name, username)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let c = channels::find(&state, &name).await?;
    moderation::unban(&state, &c, &auth.user, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set slow mode (extension; 0 = off); chat clients get `slow`.
#[utoipa::path(put, path = "/api/v1/channels/{name}/slow-mode", tag = "chat", request_body = SlowMode,
    params(("name" = String, Path)),
    responses((status = 204), (status = 401, body = aethex_proto::ErrorBody),
              (status = 403, body = aethex_proto::ErrorBody), (status = 422, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn slow_mode(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<SlowMode>,
) -> ApiResult<StatusCode> {
    let c = channels::find(&state, &name).await?;
    moderation::set_slow(&state, &c, &auth.user, body.seconds).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The channel's blocked terms (extension; owner and moderators).
#[utoipa::path(get, path = "/api/v1/channels/{name}/blocked-terms", tag = "chat",
    params(("name" = String, Path)),
    responses((status = 200, body = BlockedTermList), (status = 401, body = aethex_proto::ErrorBody),
              (status = 403, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_terms(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<BlockedTermList>> {
    let c = channels::find(&state, &name).await?;
    authz::require(&state, &c, Some(&auth.user), Action::Moderate).await?;
    Ok(Json(BlockedTermList {
        terms: store::blocked_terms(&state.db, c.id).await?,
    }))
}

/// Block a term (extension): 201 when new, 204 when it was already blocked.
#[utoipa::path(post, path = "/api/v1/channels/{name}/blocked-terms", tag = "chat", request_body = BlockedTerm,
    params(("name" = String, Path)),
    responses((status = 201), (status = 204), (status = 401, body = aethex_proto::ErrorBody),
              (status = 403, body = aethex_proto::ErrorBody), (status = 422, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_term(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<BlockedTerm>,
) -> ApiResult<StatusCode> {
    let c = channels::find(&state, &name).await?;
    let added = moderation::add_term(&state, &c, &auth.user, &body.term).await?;
    Ok(if added {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    })
}

/// Unblock a term (extension).
#[utoipa::path(delete, path = "/api/v1/channels/{name}/blocked-terms/{term}", tag = "chat",
    params(("name" = String, Path), ("term" = String, Path)),
    responses((status = 204), (status = 401, body = aethex_proto::ErrorBody),
              (status = 403, body = aethex_proto::ErrorBody), (status = 404, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_term(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((name, term)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let c = channels::find(&state, &name).await?;
    moderation::remove_term(&state, &c, &auth.user, &term).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The moderation log (extension; owner and moderators), newest last.
#[utoipa::path(get, path = "/api/v1/channels/{name}/mod-log", tag = "chat",
    params(("name" = String, Path),
           ("before" = Option<i64>, Query, description = "only entries with a smaller id"),
           ("limit" = Option<i64>, Query, description = "1–100 (clamped), default 50")),
    responses((status = 200, body = ModLog), (status = 400, body = aethex_proto::ErrorBody),
              (status = 401, body = aethex_proto::ErrorBody), (status = 403, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn mod_log(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(name): ApiPath<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<Json<ModLog>> {
    let (before, limit) = paging(query)?;
    let c = channels::find(&state, &name).await?;
    authz::require(&state, &c, Some(&auth.user), Action::Moderate).await?;
    Ok(Json(ModLog {
        entries: store::mod_log(&state.db, c.id, before, limit).await?,
    }))
}
