//! Object storage for finished media (cluster mode, `--s3-*` flags): every
//! finished segment and the init segment of a live broadcast are uploaded in
//! the background, then its VOD playlist when it ends, so that any node —
//! or a CDN in front of the bucket (`--public-media-url`) — serves a VOD
//! after the node that recorded it is gone.
//!
//! - [`layout`]: object names (`vod/{broadcast}/e{epoch}/{file}`) and the
//!   playlist rewriting between bucket-relative and public URLs;
//! - [`upload`]: one broadcast's [`upload::Uploader`] (a bounded queue and a
//!   task, never in the ingest's way), retries and metrics.
//!
//! Uses `hls` (names, the live playlist it repoints); `vod` and `ingest` use
//! it, `hls` knows nothing of it (a [`crate::hls::sink::MediaSink`] hook).

pub mod layout;
pub mod upload;

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
    RetryConfig,
};

use crate::config::Config;

/// How long one request to the object store may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to the object store may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts per upload (the first and the retries).
pub const ATTEMPTS: u32 = 3;
/// Wait before the first retry; doubled for each further one.
const RETRY_BACKOFF: Duration = Duration::from_millis(250);

/// Why object storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A flag's value is unusable.
    #[error("{flag}: {reason}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The object does not exist.
    #[error("object not found")]
    NotFound,
    /// The object store refused or could not be reached (never holds credentials).
    #[error("object store: {0}")]
    Store(object_store::Error),
}

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound,
            other => StorageError::Store(other),
        }
    }
}

/// The bucket finished media goes to, and the base URL viewers fetch it from.
pub struct MediaStore {
    store: AmazonS3,
    /// Bucket name (for logs).
    bucket: String,
    /// `--public-media-url` without a trailing `/`; `None`: nodes serve it.
    public_base: Option<String>,
}

impl std::fmt::Debug for MediaStore {
    // The client holds the credentials: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStore")
            .field("bucket", &self.bucket)
            .field("public_base", &self.public_base)
            .finish_non_exhaustive()
    }
}

impl MediaStore {
    /// The object store the flags describe; `None` without `--s3-endpoint`.
    /// Path-style requests (any S3-compatible server), plain `http://`
    /// allowed (a private endpoint), credentials from the flags only (no
    /// environment or instance metadata; none given: unsigned requests).
    pub fn from_config(config: &Config) -> Result<Option<Self>, StorageError> {
        let (Some(endpoint), Some(bucket)) = (&config.s3_endpoint, &config.s3_bucket) else {
            if config.public_media_url.is_some() {
                return Err(StorageError::Invalid {
                    flag: "--public-media-url",
                    reason:
                        "needs --s3-endpoint and --s3-bucket (it is where their objects are read)"
                            .into(),
                });
            }
            return Ok(None);
        };
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(StorageError::Invalid {
                flag: "--s3-endpoint",
                reason: "must start with http:// or https://".into(),
            });
        }
        let public_base = match &config.public_media_url {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                Some(u.trim_end_matches('/').to_string())
            }
            Some(_) => {
                return Err(StorageError::Invalid {
                    flag: "--public-media-url",
                    reason: "must be an absolute http:// or https:// URL".into(),
                });
            }
            None => None,
        };
        let options = ClientOptions::new()
            .with_allow_http(true)
            .with_timeout(REQUEST_TIMEOUT)
            .with_connect_timeout(CONNECT_TIMEOUT);
        // Retries are ours (counted and logged per file), not the client's.
        let retry = RetryConfig {
            max_retries: 0,
            ..RetryConfig::default()
        };
        let mut builder = AmazonS3Builder::new()
            .with_endpoint(endpoint.trim_end_matches('/'))
            .with_bucket_name(bucket)
            .with_region(&config.s3_region)
            .with_virtual_hosted_style_request(false)
            .with_client_options(options)
            .with_retry(retry);
        builder = match (&config.s3_access_key, &config.s3_secret_key) {
            (Some(key), Some(secret)) => builder
                .with_access_key_id(key)
                .with_secret_access_key(secret),
            _ => builder.with_skip_signature(true),
        };
        let store = builder.build().map_err(|e| StorageError::Invalid {
            flag: "--s3-endpoint",
            reason: e.to_string(),
        })?;
        tracing::info!(bucket = %bucket, public = ?public_base, "media uploads to object storage");
        Ok(Some(MediaStore {
            store,
            bucket: bucket.clone(),
            public_base,
        }))
    }

    /// The URL viewers fetch object `key` from, when `--public-media-url` is set.
    pub fn public_url(&self, key: &str) -> Option<String> {
        self.public_base.as_ref().map(|b| format!("{b}/{key}"))
    }

    /// The public base URL of a broadcast's objects (`{public}/{prefix}`).
    pub fn public_prefix(&self, prefix: &str) -> Option<String> {
        self.public_url(prefix)
    }

    /// Stores `data` at `key` with the content type its name implies and
    /// `cache_control` (what a CDN in front of the bucket sees), trying
    /// [`ATTEMPTS`] times with a doubling backoff; the last error if every
    /// attempt failed.
    pub async fn put(
        &self,
        key: &str,
        data: Bytes,
        cache_control: &'static str,
    ) -> Result<(), StorageError> {
        let path = ObjectPath::from(key);
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, content_type(key).into());
        attributes.insert(Attribute::CacheControl, cache_control.into());
        let mut wait = RETRY_BACKOFF;
        let mut attempt = 1;
        loop {
            let payload = PutPayload::from(data.clone());
            let options = PutOptions {
                attributes: attributes.clone(),
                ..PutOptions::default()
            };
            match self.store.put_opts(&path, payload, options).await {
                Ok(_) => return Ok(()),
                Err(e) if attempt >= ATTEMPTS => return Err(e.into()),
                Err(e) => {
                    metrics::counter!("aethex_s3_upload_retries_total").increment(1);
                    tracing::debug!(key, attempt, error = %e, "object upload failed, retrying");
                }
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
            attempt += 1;
        }
    }

    /// The object at `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        let found = self.store.get(&ObjectPath::from(key)).await?;
        Ok(found.bytes().await?)
    }

    /// Deletes every object whose name starts with `prefix` (a folder:
    /// `vod/42`); returns how many.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, StorageError> {
        let prefix = ObjectPath::from(prefix);
        let mut listed = self.store.list(Some(&prefix));
        let mut names = Vec::new();
        while let Some(meta) = listed.next().await {
            names.push(meta?.location);
        }
        for name in &names {
            match self.store.delete(name).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(names.len())
    }
}

/// The content type of a media object by its name.
fn content_type(key: &str) -> &'static str {
    if key.ends_with(".m3u8") {
        crate::hls::PLAYLIST_TYPE
    } else if key.ends_with(".ts") {
        crate::hls::TS_TYPE
    } else {
        crate::hls::MP4_TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn config(args: &[&str]) -> Config {
        let mut all = vec!["aethex-server"];
        all.extend_from_slice(args);
        Config::try_parse_from(all).expect("flags parse")
    }

    #[test]
    fn flags_are_checked() {
        assert!(MediaStore::from_config(&config(&[])).unwrap().is_none());
        let public_alone = config(&["--public-media-url", "https://cdn.example"]);
        assert!(MediaStore::from_config(&public_alone).is_err());
        let bad_endpoint = config(&["--s3-endpoint", "s3.local", "--s3-bucket", "b"]);
        assert!(MediaStore::from_config(&bad_endpoint).is_err());
        let bad_public = config(&[
            "--s3-endpoint",
            "http://127.0.0.1:9",
            "--s3-bucket",
            "b",
            "--public-media-url",
            "cdn.example",
        ]);
        assert!(MediaStore::from_config(&bad_public).is_err());
        let ok = config(&[
            "--s3-endpoint",
            "http://127.0.0.1:9",
            "--s3-bucket",
            "b",
            "--public-media-url",
            "https://cdn.example/media/",
        ]);
        let store = MediaStore::from_config(&ok).unwrap().unwrap();
        assert_eq!(
            store.public_url("vod/1/e1/1_init.mp4").as_deref(),
            Some("https://cdn.example/media/vod/1/e1/1_init.mp4")
        );
    }

    #[derive(Clone, Default)]
    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map(|mut v| v.extend_from_slice(buf)).ok();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn credentials_appear_in_no_log_error_or_debug_output() {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        // Nothing listens on port 9: every attempt fails.
        let c = config(&[
            "--s3-endpoint",
            "http://127.0.0.1:9",
            "--s3-bucket",
            "b",
            "--s3-access-key",
            "AKIASECRETKEYID",
            "--s3-secret-key",
            "hunter-s3-secret",
        ]);
        let store = MediaStore::from_config(&c).unwrap().unwrap();
        let err = store
            .put("vod/1/e1/x.m4s", Bytes::from_static(b"x"), "no-cache")
            .await
            .unwrap_err();
        let seen = format!(
            "{}\n{err}\n{err:?}\n{store:?}",
            String::from_utf8_lossy(&capture.0.lock().unwrap())
        );
        assert!(seen.contains("x.m4s"), "the failure is described: {seen}");
        for secret in ["AKIASECRETKEYID", "hunter-s3-secret"] {
            assert!(!seen.contains(secret), "{secret} leaked: {seen}");
        }
    }
}
