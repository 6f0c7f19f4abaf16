//! VODs in object storage (cluster mode): a finished broadcast whose every
//! file reached the bucket is served from there on any node — its playlist
//! read from the bucket and naming its media by public URL
//! (`--public-media-url`), or, without a public URL, its media relayed by
//! the node. This keeps a VOD playing after the node that recorded it is gone.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::hls::recording::PLAYLIST;
use crate::hls::{MP4_TYPE, TS_TYPE, playlist_response};
use crate::storage::{MediaStore, StorageError, layout};

/// Media in the bucket never changes under its name (the epoch is in it).
const OBJECT_CACHE: &str = "public, max-age=31536000, immutable";

fn unavailable(e: &StorageError) -> ApiError {
    tracing::warn!(error = %e, "reading a VOD from object storage failed");
    ApiError::Unavailable("object storage is unreachable; try again later".into())
}

/// The VOD playlist of the broadcast stored under `prefix`, if complete
/// there (`Ok(None)`: not in the bucket, e.g. uploads failed).
pub async fn playlist(store: &MediaStore, prefix: &str) -> Result<Option<Response>, ApiError> {
    let bytes = match store.get(&layout::key(prefix, PLAYLIST)).await {
        Ok(b) => b,
        Err(StorageError::NotFound) => return Ok(None),
        Err(e) => return Err(unavailable(&e)),
    };
    let text = String::from_utf8_lossy(&bytes);
    let text = match store.public_prefix(prefix) {
        Some(base) => layout::absolute(&text, &base),
        None => text.into_owned(),
    };
    Ok(Some(playlist_response(text)))
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
                (header::CACHE_CONTROL, HeaderValue::from_static(OBJECT_CACHE)),
            ],
        )
            .into_response());
    }
    let bytes = match store.get(&key).await {
        Ok(b) => b,
        Err(StorageError::NotFound) => return Err(ApiError::NotFound("segment")),
        Err(e) => return Err(unavailable(&e)),
    };
    let kind = if file.ends_with(".ts") { TS_TYPE } else { MP4_TYPE };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CACHE_CONTROL, HeaderValue::from_static(OBJECT_CACHE)),
        ],
        bytes,
    )
        .into_response())
}
