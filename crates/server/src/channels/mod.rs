//! Channels: one per user, listing, profile edits, stream keys, moderators, live state.

pub mod cache;
pub mod live;
pub mod store;

use aethex_proto::{Channel, ChannelList, ChannelPatch, StreamKeyResponse};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};

use crate::auth::{AuthUser, secret};
use crate::authz::{self, Action};
use crate::db::rfc3339;
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::validate;
pub use store::ChannelRow;

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels", get(list))
        .route("/channels/{name}", get(get_one).patch(patch))
        .route("/channels/{name}/stream-key", post(rotate_key))
        .route("/channels/{name}/moderators", get(list_moderators))
        .route(
            "/channels/{name}/moderators/{username}",
            put(add_moderator).delete(remove_moderator),
        )
}

/// The channel row for a path segment, or 404.
pub async fn find(state: &AppState, raw_name: &str) -> ApiResult<std::sync::Arc<ChannelRow>> {
    let name = validate::path_name(raw_name, "channel")?;
    state
        .channels
        .get(&state.db, &name)
        .await?
        .ok_or(ApiError::NotFound("channel"))
}

/// The public view of a channel, with the live viewer count.
pub fn to_wire(state: &AppState, c: &ChannelRow) -> Channel {
    let live = c.live_broadcast_id.is_some();
    Channel {
        name: c.name.clone(),
        display_name: c.display_name.clone(),
        bio: c.bio.clone(),
        live,
        title: c.title.clone(),
        viewers: state.chat.viewer_count(&c.name),
        started_at: c.live_started_at.map(rfc3339),
    }
}

/// All channels, live ones first.
#[utoipa::path(get, path = "/api/v1/channels", tag = "channels",
    responses((status = 200, body = ChannelList)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<ChannelList>> {
    let rows = store::list(&state.db).await?;
    Ok(Json(ChannelList {
        channels: rows.iter().map(|c| to_wire(&state, c)).collect(),
    }))
}

/// One channel.
#[utoipa::path(get, path = "/api/v1/channels/{name}", tag = "channels",
    params(("name" = String, Path, description = "channel name")),
    responses((status = 200, body = Channel), (status = 404, body = aethex_proto::ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Channel>> {
    let c = find(&state, &name).await?;
    Ok(Json(to_wire(&state, &c)))
}

/// Edit display name, bio or title (owner only).
#[utoipa::path(patch, path = "/api/v1/channels/{name}", tag = "channels", request_body = ChannelPatch,
    params(("name" = String, Path, description = "channel name")),
    responses((status = 200, body = Channel), (status = 401, body = aethex_proto::ErrorBody),
              (status = 403, body = aethex_proto::ErrorBody), (status = 422, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn patch(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(name): ApiPath<String>,
    ApiJson(p): ApiJson<ChannelPatch>,
) -> ApiResult<Json<Channel>> {
    let c = find(&state, &name).await?;
    authz::require(&state, &c, Some(&auth.user), Action::ManageChannel).await?;
    let display_name = p
        .display_name
        .map(|v| validate::text("display_name", &v, 1, 50, false))
        .transpose()?;
    let bio = p
        .bio
        .map(|v| validate::text("bio", &v, 0, 500, true))
        .transpose()?;
    let title = p
        .title
        .map(|v| validate::text("title", &v, 0, 140, false))
        .transpose()?;
    store::update(
        &state.db,
        c.id,
        display_name.as_deref(),
        bio.as_deref(),
        title.as_deref(),
    )
    .await?;
    state.channels.invalidate(&c.name);
    let updated = find(&state, &c.name).await?;
    if let (Some(t), true) = (title, updated.live_broadcast_id.is_some()) {
        state.chat.publish(
            &c.name,
            aethex_proto::ServerFrame::Live {
                live: true,
                title: t,
            },
        );
    }
    Ok(Json(to_wire(&state, &updated)))
}

/// Generate a new stream key; shown once, stored hashed; the old key stops working.
#[utoipa::path(post, path = "/api/v1/channels/{name}/stream-key", tag = "channels",
    params(("name" = String, Path, description = "channel name")),
    responses((status = 200, body = StreamKeyResponse), (status = 403, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate_key(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<StreamKeyResponse>> {
    let c = find(&state, &name).await?;
    authz::require(&state, &c, Some(&auth.user), Action::ManageChannel).await?;
    let key = format!("live_{}", secret::random_token());
    store::set_stream_key(&state.db, c.id, &key).await?;
    tracing::info!(channel = %c.name, "stream key rotated");
    Ok(Json(StreamKeyResponse { stream_key: key }))
}

/// Moderators of a channel (extension: owner and moderators may read it).
#[utoipa::path(get, path = "/api/v1/channels/{name}/moderators", tag = "channels",
    params(("name" = String, Path, description = "channel name")),
    responses((status = 200, body = aethex_proto::ModeratorList), (status = 403, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_moderators(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<aethex_proto::ModeratorList>> {
    let c = find(&state, &name).await?;
    authz::require(&state, &c, Some(&auth.user), Action::Moderate).await?;
    Ok(Json(aethex_proto::ModeratorList {
        moderators: store::moderators(&state.db, c.id).await?,
    }))
}

/// Appoint a moderator (owner only).
#[utoipa::path(put, path = "/api/v1/channels/{name}/moderators/{username}", tag = "channels",
    params(("name" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 403, body = aethex_proto::ErrorBody), (status = 404, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_moderator(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((name, username)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let (c, target) = moderator_target(&state, &auth, &name, &username).await?;
    if target == c.owner_id {
        return Err(ApiError::invalid(
            "username",
            "the owner is already in charge of the channel",
        ));
    }
    store::add_moderator(&state.db, c.id, target).await?;
    store::log_action(
        &state.db,
        c.id,
        auth.user.id,
        "add_moderator",
        Some(target),
        None,
        "",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a moderator (owner only).
#[utoipa::path(delete, path = "/api/v1/channels/{name}/moderators/{username}", tag = "channels",
    params(("name" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 403, body = aethex_proto::ErrorBody), (status = 404, body = aethex_proto::ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_moderator(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((name, username)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let (c, target) = moderator_target(&state, &auth, &name, &username).await?;
    store::remove_moderator(&state.db, c.id, target).await?;
    store::log_action(
        &state.db,
        c.id,
        auth.user.id,
        "remove_moderator",
        Some(target),
        None,
        "",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn moderator_target(
    state: &AppState,
    auth: &AuthUser,
    name: &str,
    username: &str,
) -> ApiResult<(std::sync::Arc<ChannelRow>, i64)> {
    let c = find(state, name).await?;
    authz::require(state, &c, Some(&auth.user), Action::ManageChannel).await?;
    let username = validate::path_name(username, "user")?;
    let target = crate::auth::store::user_by_name(&state.db, &username)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    Ok((c, target.id))
}
