//! Video on demand: every broadcast's segments are kept; listed at
//! `GET /api/v1/channels/{name}/vods`, played at `/vod/{id}/index.m3u8`.

pub mod objects;
pub mod recover;
pub mod retention;
pub mod store;

use aethex_proto::{Vod, VodList};
use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::error::{ApiError, ApiResult};
use crate::hls::recording::PLAYLIST;
use crate::hls::{is_segment_name, playlist_response, serve_segment};
use crate::state::AppState;

/// Media routes of the VOD feature (`/vod/{id}/{file}`).
pub fn router() -> Router<AppState> {
    Router::new().route("/vod/{id}/{file}", get(vod_file))
}

/// API routes of the VOD feature, nested under `/api/v1`.
pub fn api_router() -> Router<AppState> {
    Router::new().route("/channels/{name}/vods", get(list))
}

/// `GET /api/v1/channels/{name}/vods`: kept recordings, newest first.
async fn list(
    State(state): State<AppState>,
    UrlPath(name): UrlPath<String>,
) -> ApiResult<Json<VodList>> {
    let rows = store::list_for_channel(&state.db, &name)
        .await?
        .ok_or(ApiError::NotFound("channel"))?;
    let vods = rows
        .into_iter()
        .map(|r| Vod {
            id: r.id,
            title: r.title,
            started_at: crate::db::rfc3339(r.started_at),
            duration_seconds: r.duration_ms as f64 / 1000.0,
            playlist: format!("/vod/{}/{}", r.id, PLAYLIST),
        })
        .collect();
    Ok(Json(VodList { vods }))
}

/// `GET /vod/{id}/{file}`: a finished broadcast's playlist or segment — from
/// object storage when the whole VOD is there (any node), else from this
/// node's disk.
async fn vod_file(
    State(state): State<AppState>,
    UrlPath((id, file)): UrlPath<(String, String)>,
) -> ApiResult<Response> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound("recording"))?;
    let row = store::find(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound("recording"))?;
    let dir = state.data_dir.join(&row.vod_dir);
    let bucket = state.media.as_deref().zip(row.media_prefix.as_deref());
    if file == PLAYLIST {
        if let Some((media, prefix)) = bucket
            && let Some(response) = objects::playlist(media, prefix).await?
        {
            return Ok(response);
        }
        if let Ok(text) = tokio::fs::read_to_string(dir.join(PLAYLIST)).await {
            return Ok(playlist_response(text));
        }
        if let Some((media, prefix)) = bucket
            && let Some(response) = objects::partial_playlist(media, prefix).await?
        {
            return Ok(response);
        }
        return Err(ApiError::NotFound("recording"));
    }
    if !is_segment_name(&file) {
        return Err(ApiError::NotFound("file"));
    }
    if let Some((media, prefix)) = bucket
        && !tokio::fs::try_exists(dir.join(&file))
            .await
            .unwrap_or(false)
    {
        return objects::media(media, prefix, &file).await;
    }
    Ok(serve_segment(&dir, &file).await.into_response())
}
