//! One broadcast's uploads: the ingest hands finished files to a bounded
//! queue ([`MediaSink`], never waiting), one task per broadcast uploads them
//! in order and, once a segment is in the bucket, repoints the live playlist
//! at its public URL. When the broadcast ends, files that failed (or did not
//! fit in the queue) are uploaded again from the recording on disk, then the
//! VOD playlist — only when every file it names is in the bucket, so the
//! playlist object's presence means "this VOD plays from object storage".
//!
//! ```text
//! Packager --MediaSink (try_send)--> queue --> upload task --> bucket
//!                                                   `--> LiveStream::relocate (public URL)
//! ```
//!
//! Metrics: `aethex_s3_uploads_total{kind="init|segment|playlist",result="ok|failed|dropped"}`,
//! `aethex_s3_upload_retries_total`, `aethex_s3_upload_duration_seconds{kind}` (from
//! hand-off to stored: queueing, retries and the upload).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::MediaStore;
use super::layout::{self, GROWING_PLAYLIST, PLAYLIST};
use crate::hls::live::LiveStream;
use crate::hls::sink::MediaSink;

/// Files waiting for upload per broadcast (≈ a minute of 1 s segments);
/// beyond that a file waits for the end of the broadcast (from disk).
pub const QUEUE: usize = 64;
/// Rounds of re-uploading missing files at the end of a broadcast.
const COMPLETION_ROUNDS: u32 = 3;
/// Pause between those rounds (doubled each time).
const COMPLETION_PAUSE: Duration = Duration::from_secs(2);

/// The growing playlist goes to the bucket after this many segments, then
/// each time the broadcast grew by a tenth (at least this many again): a
/// bounded number of rewrites however long the broadcast runs.
const GROWING_FIRST: usize = 10;

/// What a file is (the `kind` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Init,
    Segment,
    Playlist,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Init => "init",
            Kind::Segment => "segment",
            Kind::Playlist => "playlist",
        }
    }
}

/// The `Cache-Control` of object `file` (a playlist or media).
fn cache_control(file: &str) -> &'static str {
    match file {
        PLAYLIST => layout::VOD_CACHE,
        GROWING_PLAYLIST => layout::GROWING_CACHE,
        _ => layout::MEDIA_CACHE,
    }
}

fn count(kind: Kind, result: &'static str) {
    metrics::counter!("aethex_s3_uploads_total", "kind" => kind.label(), "result" => result)
        .increment(1);
}

enum Job {
    File {
        name: String,
        data: Bytes,
        kind: Kind,
        /// When the sink took it.
        queued: Instant,
    },
    Finish {
        playlist: String,
    },
}

/// The [`MediaSink`] side: a bounded queue to the upload task.
#[derive(Debug)]
struct Queue {
    jobs: mpsc::Sender<Job>,
    /// Files that did not fit in the queue (uploaded from disk at the end).
    dropped: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::File { name, .. } => write!(f, "File({name})"),
            Job::Finish { .. } => f.write_str("Finish"),
        }
    }
}

impl Queue {
    fn offer(&self, name: &str, data: Bytes, kind: Kind) {
        let job = Job::File {
            name: name.to_string(),
            data,
            kind,
            queued: Instant::now(),
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                count(kind, "dropped");
                if let Ok(mut d) = self.dropped.lock() {
                    if d.is_empty() {
                        tracing::warn!(
                            file = name,
                            "object storage upload queue full: files wait for the end of the broadcast"
                        );
                    }
                    d.push(name.to_string());
                }
            }
            // The upload task is gone (the broadcast is ending).
            Err(mpsc::error::TrySendError::Closed(_)) => count(kind, "dropped"),
        }
    }
}

impl MediaSink for Queue {
    fn init(&self, name: &str, data: Bytes) {
        self.offer(name, data, Kind::Init);
    }

    fn segment(&self, name: &str, data: Bytes) {
        self.offer(name, data, Kind::Segment);
    }
}

/// Uploads one broadcast's media under `vod/{id}/e{epoch}/`.
#[derive(Debug)]
pub struct Uploader {
    queue: Arc<Queue>,
    task: JoinHandle<bool>,
    prefix: String,
}

impl Uploader {
    /// Starts the upload task of `stream`'s broadcast under lease `epoch`.
    pub fn start(store: Arc<MediaStore>, stream: Arc<LiveStream>, epoch: i64) -> Uploader {
        let prefix = layout::prefix(stream.broadcast_id, epoch);
        let (jobs, rx) = mpsc::channel(QUEUE);
        let queue = Arc::new(Queue {
            jobs,
            dropped: Mutex::default(),
        });
        let worker = Worker {
            store,
            stream,
            prefix: prefix.clone(),
            missing: Vec::new(),
            failing: false,
            segments: 0,
            growing_at: GROWING_FIRST,
        };
        let task = tokio::spawn(worker.run(rx, queue.clone()));
        Uploader {
            queue,
            task,
            prefix,
        }
    }

    /// The folder of this broadcast's objects (`vod/{id}/e{epoch}`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The hook to hand the packager.
    pub fn sink(&self) -> Arc<dyn MediaSink> {
        self.queue.clone()
    }

    /// The broadcast ended (its files are on disk): uploads what is still
    /// missing, then `vod_playlist`; true when the whole VOD is in the bucket.
    pub async fn finish(self, vod_playlist: String) -> bool {
        let job = Job::Finish {
            playlist: vod_playlist,
        };
        if self.queue.jobs.send(job).await.is_err() {
            return false;
        }
        self.task.await.unwrap_or(false)
    }
}

struct Worker {
    store: Arc<MediaStore>,
    stream: Arc<LiveStream>,
    prefix: String,
    /// Files whose upload failed.
    missing: Vec<String>,
    /// The last upload failed (log the outage once, and its end).
    failing: bool,
    /// Segments uploaded.
    segments: usize,
    /// Upload the growing playlist when `segments` reaches this.
    growing_at: usize,
}

impl Worker {
    async fn run(mut self, mut jobs: mpsc::Receiver<Job>, queue: Arc<Queue>) -> bool {
        while let Some(job) = jobs.recv().await {
            match job {
                Job::File {
                    name,
                    data,
                    kind,
                    queued,
                } => {
                    if !self.upload(&name, data, kind).await {
                        self.missing.push(name);
                        continue;
                    }
                    metrics::histogram!("aethex_s3_upload_duration_seconds", "kind" => kind.label())
                        .record(queued.elapsed().as_secs_f64());
                    if kind == Kind::Segment {
                        self.relocate(&name);
                        self.segments += 1;
                        let gapless = queue.dropped.lock().is_ok_and(|d| d.is_empty());
                        if self.segments >= self.growing_at && self.missing.is_empty() && gapless {
                            self.upload_growing(&name).await;
                        }
                    }
                }
                Job::Finish { playlist } => {
                    let dropped = queue.dropped.lock().map(|mut d| std::mem::take(&mut *d));
                    self.missing.extend(dropped.unwrap_or_default());
                    return self.complete(playlist).await;
                }
            }
        }
        false
    }

    /// Uploads one file (with retries); counts and logs the outcome.
    async fn upload(&mut self, name: &str, data: Bytes, kind: Kind) -> bool {
        let key = layout::key(&self.prefix, name);
        match self.store.put(&key, data, cache_control(name)).await {
            Ok(()) => {
                count(kind, "ok");
                if std::mem::take(&mut self.failing) {
                    tracing::info!(bucket = %self.store.bucket, key, "object storage reachable again: uploads resumed");
                }
                true
            }
            Err(e) => {
                count(kind, "failed");
                if !std::mem::replace(&mut self.failing, true) {
                    tracing::error!(
                        bucket = %self.store.bucket, key, error = %e,
                        "uploading to object storage failed (live goes on from this node; retried at the end of the broadcast)"
                    );
                } else {
                    tracing::debug!(key, error = %e, "object upload failed");
                }
                false
            }
        }
    }

    /// Everything up to segment `last` is in the bucket: so is a playlist of
    /// it (other nodes serve that if this node dies mid-broadcast).
    async fn upload_growing(&mut self, last: &str) {
        self.growing_at = self.segments + (self.segments / 10).max(GROWING_FIRST);
        let Some(text) = self.stream.vod_playlist() else {
            return;
        };
        let text = self.bucket_copy(&layout::up_to(&text, last));
        self.upload(GROWING_PLAYLIST, text.into(), Kind::Playlist)
            .await;
    }

    /// A playlist as the bucket keeps it: relative names only.
    fn bucket_copy(&self, playlist: &str) -> String {
        match self.store.public_prefix(&self.prefix) {
            Some(base) => layout::relative(playlist, &base),
            None => playlist.to_string(),
        }
    }

    /// The segment is in the bucket: the live playlist names its public URL.
    fn relocate(&self, name: &str) {
        let key = layout::key(&self.prefix, name);
        if let Some(url) = self.store.public_url(&key) {
            self.stream.relocate(name, url);
        }
    }

    /// Re-uploads missing files from disk, then the VOD playlist.
    async fn complete(mut self, playlist: String) -> bool {
        let mut pause = COMPLETION_PAUSE;
        for round in 1..=COMPLETION_ROUNDS {
            let mut missing = std::mem::take(&mut self.missing).into_iter();
            while let Some(name) = missing.next() {
                let kind = if name.ends_with(".mp4") {
                    Kind::Init
                } else {
                    Kind::Segment
                };
                let data = match tokio::fs::read(self.stream.dir.join(&name)).await {
                    Ok(data) => data,
                    Err(e) => {
                        tracing::warn!(file = %name, error = %e, "recording file unreadable: not uploaded");
                        self.missing.push(name);
                        continue;
                    }
                };
                if !self.upload(&name, data.into(), kind).await {
                    // The store is unreachable: the rest waits for the next
                    // round instead of failing one by one.
                    self.missing.push(name);
                    self.missing.extend(missing);
                    break;
                }
            }
            if self.missing.is_empty() {
                break;
            }
            if round < COMPLETION_ROUNDS {
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
        let id = self.stream.broadcast_id;
        if !self.missing.is_empty() {
            tracing::error!(
                broadcast = id,
                missing = self.missing.len(),
                "VOD not complete in object storage: it plays from this node's disk only"
            );
            return false;
        }
        let text = self.bucket_copy(&playlist);
        let ok = self.upload(PLAYLIST, text.into(), Kind::Playlist).await;
        if ok {
            tracing::info!(broadcast = id, prefix = %self.prefix, "VOD stored in object storage");
        }
        ok
    }
}
