//! VODs in object storage (cluster mode): a finished broadcast whose every
//! file reached the bucket is served from there on any node — its playlist
//! read from the bucket and naming its media by public URL
//! (`--public-media-url`), or, without a public URL, its media relayed by
//! the node. This keeps a VOD playing after the node that recorded it is
//! gone — even one that died mid-broadcast (what the bucket's growing
//! playlist lists of it).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::hls::recording::PLAYLIST;
use crate::hls::{MP4_TYPE, TS_TYPE, playlist_response};
use crate::storage::{MediaStore, StorageError, layout};

/// Media in the bucket never changes under its name (the epoch is in it).
const OBJECT_CACHE: &str = layout::MEDIA_CACHE;

fn unavailable(e: &StorageError) -> ApiError {
    tracing::warn!(error = %e, "reading a VOD from object storage failed");
    ApiError::Unavailable("object storage is unreachable; try again later".into())
}

/// A playlist object of the broadcast stored under `prefix`, named by
/// public URL (`Ok(None)`: not in the bucket).
async fn read_playlist(
    store: &MediaStore,
    prefix: &str,
    file: &str,
) -> Result<Option<String>, ApiError> {
    let bytes = match store.get(&layout::key(prefix, file)).await {
        Ok(b) => b,
        Err(StorageError::NotFound) => return Ok(None),
        Err(e) => return Err(unavailable(&e)),
    };
    let text = String::from_utf8_lossy(&bytes);
    Ok(Some(match store.public_prefix(prefix) {
        Some(base) => layout::absolute(&text, &base),
        None => text.into_owned(),
    }))
}

/// The complete VOD playlist of the broadcast stored under `prefix`
/// (`Ok(None)`: not complete in the bucket, e.g. uploads failed).
pub async fn playlist(store: &MediaStore, prefix: &str) -> Result<Option<Response>, ApiError> {
    Ok(read_playlist(store, prefix, PLAYLIST)
        .await?
        .map(playlist_response))
}

/// What the bucket holds of a broadcast whose recording node died before
/// its end: the growing playlist, ended.
pub async fn partial_playlist(
    store: &MediaStore,
    prefix: &str,
) -> Result<Option<Response>, ApiError> {
    let text = read_playlist(store, prefix, layout::GROWING_PLAYLIST).await?;
    Ok(text.map(|t| playlist_response(layout::ended(&t))))
}

/// Media file `file` (a plain segment name) of the broadcast stored under
/// `prefix`: a redirect to its public URL, or its bytes relayed.
pub async fn media(store: &MediaStore, prefix: &str, file: &str) -> Result<Response, ApiError> {
    let key = layout::key(prefix, file);
    if let Some(url) = store.public_url(&key) {
        let location = HeaderValue::try_from(url).map_err(|e| ApiError::Internal(e.into()))?;
        return Ok((
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(OBJECT_CACHE),
                ),
            ],
        )
            .into_response());
    }
    let bytes = match store.get(&key).await {
        Ok(b) => b,
        Err(StorageError::NotFound) => return Err(ApiError::NotFound("segment")),
        Err(e) => return Err(unavailable(&e)),
    };
    let kind = if file.ends_with(".ts") {
        TS_TYPE
    } else {
        MP4_TYPE
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(OBJECT_CACHE),
            ),
        ],
        bytes,
    )
        .into_response())
}
