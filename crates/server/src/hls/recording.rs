//! A broadcast's recording on disk: where it lives, its playlist file (grown
//! by appending while live, replaced atomically at the end) and the writer
//! thread that puts init, parts and playlists there in order, off the ingest
//! task. `vod` serves what this writes.
//!
//! Parts are appended to their segment's file as they are cut (a segment is
//! the concatenation of its parts), so a part is a byte range of that file.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

use bytes::Bytes;

/// File name of every playlist, live or VOD.
pub const PLAYLIST: &str = "index.m3u8";

/// Directory (relative to the data dir) holding broadcast `id`'s segments.
pub fn dir_for(id: i64) -> String {
    format!("vod/{id}")
}

/// Replaces `dir/index.m3u8` atomically (readers never see half a playlist)
/// and durably: the new file is on the disk before it replaces the old one,
/// and the rename is on the disk on return.
pub fn write_playlist_durably(dir: &Path, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(".index.m3u8.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(PLAYLIST))?;
    sync_dir(dir)
}

/// Puts `dir`'s entries (new and renamed files) on the disk.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Appends lines to `dir/index.m3u8` (a growing `EVENT` playlist: each new
/// segment costs one small write, not a rewrite of the whole list) and puts
/// them on the disk.
pub fn append_playlist(dir: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(PLAYLIST))?;
    f.write_all(text.as_bytes())?;
    f.sync_data()
}

/// A file write for the broadcast's directory, done off the ingest task in order.
#[derive(Debug)]
pub enum DiskJob {
    /// A whole file (the init segment).
    File {
        /// File name.
        name: String,
        /// Contents.
        data: Bytes,
    },
    /// A part, appended to its segment's file.
    AppendPart {
        /// The segment's file name.
        segment: String,
        /// The part's bytes.
        data: Bytes,
    },
    /// The VOD playlist, replaced.
    Playlist(String),
    /// Lines appended to the VOD playlist.
    AppendPlaylist(String),
}

/// Writes a broadcast's files in order on a thread of its own (one hand-off
/// per file, no async machinery; the open segment file is kept open); returns
/// when the sender is gone and everything queued is written. Live viewers are
/// served from memory, so a slow or failing disk costs the recording only.
pub fn disk_writer(dir: &Path, jobs: Receiver<DiskJob>) {
    let mut open: Option<(String, File)> = None;
    // Power-cut safety: a playlist entry reaches the disk only after the
    // segment it lists (and the init segment, and the directory entries), so
    // start-up recovery (`vod::recover`) never finds an entry without its
    // bytes. Two fsyncs a segment, on this thread, off the live path.
    for job in jobs {
        let result = match job {
            DiskJob::File { name, data } => write_durably(dir, &name, &data),
            DiskJob::AppendPart { segment, data } => append_part(dir, &mut open, segment, &data),
            DiskJob::Playlist(text) => {
                sync_open(dir, &open).and_then(|()| write_playlist_durably(dir, &text))
            }
            DiskJob::AppendPlaylist(text) => {
                sync_open(dir, &open).and_then(|()| append_playlist(dir, &text))
            }
        };
        if let Err(e) = result {
            metrics::counter!("aethex_vod_write_errors_total").increment(1);
            tracing::warn!(error = %e, "ingest: writing a recording file failed");
        }
    }
}

/// Writes `dir/name` whole and puts it (and its directory entry) on the disk.
fn write_durably(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    let mut f = File::create(dir.join(name))?;
    f.write_all(data)?;
    f.sync_data()?;
    sync_dir(dir)
}

/// Puts the segment file being written on the disk (its entry comes next).
/// Its directory entry too, when the segment is new.
fn sync_open(dir: &Path, open: &Option<(String, File)>) -> std::io::Result<()> {
    match open {
        Some((_, f)) => {
            f.sync_data()?;
            sync_dir(dir)
        }
        None => Ok(()),
    }
}

/// Appends `data` to `dir/segment`, reusing the file kept `open` when it is
/// that segment's.
fn append_part(
    dir: &Path,
    open: &mut Option<(String, File)>,
    segment: String,
    data: &[u8],
) -> std::io::Result<()> {
    let mut file = match open.take() {
        Some((name, f)) if name == segment => f,
        _ => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(&segment))?,
    };
    file.write_all(data)?;
    *open = Some((segment, file));
    Ok(())
}

/// The running [`disk_writer`] thread of one broadcast: queue jobs with
/// [`Recorder::write`], then [`Recorder::close`] waits for them to land.
#[derive(Debug)]
pub struct Recorder {
    jobs: Option<Sender<DiskJob>>,
    /// Resolves when the writer thread has written everything and stopped.
    done: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Recorder {
    /// Starts the writer thread for `dir`.
    pub fn start(dir: PathBuf) -> std::io::Result<Recorder> {
        let (jobs, queue) = std::sync::mpsc::channel();
        let (done_tx, done) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("vod-writer".into())
            .spawn(move || {
                disk_writer(&dir, queue);
                let _ = done_tx.send(());
            })?;
        Ok(Recorder {
            jobs: Some(jobs),
            done: Some(done),
        })
    }

    /// Queues a write (ignored once closed).
    pub fn write(&self, job: DiskJob) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
    }

    /// Closes the queue and waits up to `timeout` for the writer to drain it;
    /// false if it had not finished by then.
    pub async fn close(&mut self, timeout: Duration) -> bool {
        self.jobs = None;
        match self.done.take() {
            Some(done) => tokio::time::timeout(timeout, done).await.is_ok(),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_land_in_order_and_close_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut recorder = Recorder::start(dir.path().to_path_buf()).unwrap();
        recorder.write(DiskJob::Playlist("#EXTM3U\n".into()));
        for data in ["AA", "B"] {
            recorder.write(DiskJob::AppendPart {
                segment: "s.m4s".into(),
                data: Bytes::from_static(data.as_bytes()),
            });
        }
        recorder.write(DiskJob::AppendPlaylist("s.m4s\n".into()));
        assert!(recorder.close(Duration::from_secs(10)).await);
        recorder.write(DiskJob::AppendPlaylist("late\n".into()));
        let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
        assert_eq!(read("s.m4s"), "AAB");
        assert_eq!(read(PLAYLIST), "#EXTM3U\ns.m4s\n");
    }
}
