//! `aethex-server backup` and `restore`: an online, consistent copy of the
//! SQLite database (`VACUUM INTO`, which reads one snapshot while the server
//! keeps writing), optionally with the recordings (`vod/`) in a tar archive.
//!
//! A backup without media is a plain SQLite file (open it with `sqlite3`); with
//! media it is a tar holding `aethex.db` and `vod/…`. `restore` recognises both
//! and refuses a data dir that already holds a database or recordings.
//! PostgreSQL is backed up with its own tools (`pg_dump`, see `docs/deploy.md`).

mod archive;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use crate::config::Config;

/// The database's name inside a media archive.
pub const DB_ENTRY: &str = "aethex.db";
/// The recordings' directory, in the data dir and in an archive.
pub const MEDIA_DIR: &str = "vod";

/// Why a backup or restore failed; each names what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The server runs on PostgreSQL.
    #[error(
        "the database is PostgreSQL: back it up with `pg_dump --format=custom` and restore with \
         `pg_restore` (docs/deploy.md, \"Backups\"); `tar -C DATA_DIR -cf media.tar vod` copies the recordings"
    )]
    Postgres,
    /// A database URL that names no SQLite file.
    #[error("cannot tell the SQLite file from the database URL")]
    NotAFile,
    /// Nothing to back up.
    #[error("no database at {} (are --data-dir / --database-url the server's?)", .0.display())]
    NoDatabase(PathBuf),
    /// `--to` already exists.
    #[error("{} already exists: choose a new file (a backup never overwrites)", .0.display())]
    TargetExists(PathBuf),
    /// The data dir of a restore is not empty.
    #[error("{} already exists: restore into an empty data dir (or move it away first)", .0.display())]
    NotEmpty(PathBuf),
    /// The file given to restore is neither of the two formats.
    #[error("{} is neither an SQLite database nor a media backup (tar)", .0.display())]
    UnknownFormat(PathBuf),
    /// An archive entry outside `aethex.db` and `vod/`.
    #[error("the archive holds {0:?}, which a backup never contains: refusing to restore it")]
    UnexpectedEntry(String),
    /// A tar without the database.
    #[error("{} holds no {DB_ENTRY}: not an aethex-server backup", .0.display())]
    NoDatabaseInArchive(PathBuf),
    /// A restored database that SQLite finds damaged.
    #[error("the restored database fails SQLite's check: {0}")]
    Corrupt(String),
    /// SQLite said no.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Reading or writing files.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl BackupError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| BackupError::Io { what, source }
    }
}

/// What a backup or restore copied, for the one line it prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Accounts in the copied database.
    pub users: i64,
    /// Channels.
    pub channels: i64,
    /// Stored chat messages.
    pub chat_messages: i64,
    /// Broadcasts (each one a VOD while its files are kept).
    pub broadcasts: i64,
    /// Media files copied.
    pub media_files: u64,
    /// Bytes of media copied.
    pub media_bytes: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users, {} channels, {} chat messages, {} broadcasts",
            self.users, self.channels, self.chat_messages, self.broadcasts
        )?;
        if self.media_files > 0 {
            write!(
                f,
                ", {} media files ({:.1} MB)",
                self.media_files,
                self.media_bytes as f64 / 1e6
            )?;
        }
        Ok(())
    }
}

/// The SQLite file the configuration points at.
pub fn sqlite_path(config: &Config) -> Result<PathBuf, BackupError> {
    let url = config.database_url();
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Err(BackupError::Postgres);
    }
    let rest = url.strip_prefix("sqlite:").ok_or(BackupError::NotAFile)?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(BackupError::NotAFile);
    }
    Ok(PathBuf::from(path))
}

async fn open(path: &Path, create: bool) -> Result<SqliteConnection, BackupError> {
    let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(create)
        .busy_timeout(std::time::Duration::from_secs(10))
        .log_statements(tracing::log::LevelFilter::Trace);
    Ok(opts.connect().await?)
}

async fn counts(conn: &mut SqliteConnection) -> Result<Summary, BackupError> {
    let (users, channels, chat_messages, broadcasts): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM channels), \
                (SELECT COUNT(*) FROM chat_messages), (SELECT COUNT(*) FROM broadcasts)",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Summary {
        users,
        channels,
        chat_messages,
        broadcasts,
        ..Summary::default()
    })
}

/// Writes a consistent copy of the running server's database to `to` (and,
/// with `with_media`, its recordings: then `to` is a tar archive). The file
/// appears only once complete.
pub async fn backup(config: &Config, to: &Path, with_media: bool) -> Result<Summary, BackupError> {
    let db = sqlite_path(config)?;
    if !db.exists() {
        return Err(BackupError::NoDatabase(db));
    }
    if to.exists() {
        return Err(BackupError::TargetExists(to.to_path_buf()));
    }
    let parent = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let work = tempfile::Builder::new()
        .prefix(".aethex-backup")
        .tempdir_in(parent)
        .map_err(BackupError::io(format!(
            "create a temporary dir in {}",
            parent.display()
        )))?;
    let snapshot = work.path().join(DB_ENTRY);
    let mut conn = open(&db, false).await?;
    // One read transaction: the copy is the database as of one moment, while
    // the server goes on writing through its own connections (WAL).
    sqlx::query("VACUUM INTO $1")
        .bind(snapshot.display().to_string())
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let mut snap = open(&snapshot, false).await?;
    let mut summary = counts(&mut snap).await?;
    snap.close().await?;
    let finished = if with_media {
        let tar = work.path().join("backup.tar");
        let data_dir = config.data_dir();
        let (files, bytes) = tokio::task::spawn_blocking({
            let (tar, snapshot, media) = (tar.clone(), snapshot.clone(), data_dir.join(MEDIA_DIR));
            move || archive::write(&tar, &snapshot, &media)
        })
        .await
        .map_err(|e| BackupError::io("archive")(std::io::Error::other(e)))??;
        summary.media_files = files;
        summary.media_bytes = bytes;
        tar
    } else {
        snapshot
    };
    // Never replace a file that appeared meanwhile.
    if to.exists() {
        return Err(BackupError::TargetExists(to.to_path_buf()));
    }
    std::fs::rename(&finished, to).map_err(BackupError::io(format!("write {}", to.display())))?;
    Ok(summary)
}

/// Restores `from` (a database file or a media archive) into the configured,
/// empty data dir. The server then starts on it (and migrates it forward if
/// the backup is older than the binary).
pub async fn restore(config: &Config, from: &Path) -> Result<Summary, BackupError> {
    let db = sqlite_path(config)?;
    let data_dir = config.data_dir();
    for taken in [db.clone(), data_dir.join(MEDIA_DIR)] {
        if taken.exists() {
            return Err(BackupError::NotEmpty(taken));
        }
    }
    let format = archive::detect(from)?;
    for dir in [Some(data_dir.as_path()), db.parent()]
        .into_iter()
        .flatten()
    {
        std::fs::create_dir_all(dir)
            .map_err(BackupError::io(format!("create {}", dir.display())))?;
    }
    let staged = db.with_extension("db.restoring");
    let (files, bytes) = match format {
        archive::Format::Sqlite => {
            std::fs::copy(from, &staged)
                .map_err(BackupError::io(format!("copy {}", from.display())))?;
            (0, 0)
        }
        archive::Format::Tar => tokio::task::spawn_blocking({
            let (from, staged, data_dir) = (from.to_path_buf(), staged.clone(), data_dir.clone());
            move || archive::unpack(&from, &staged, &data_dir)
        })
        .await
        .map_err(|e| BackupError::io("archive")(std::io::Error::other(e)))??,
    };
    let mut conn = open(&staged, false).await?;
    let (check,): (String,) = sqlx::query_as("PRAGMA quick_check")
        .fetch_one(&mut conn)
        .await?;
    if check != "ok" {
        return Err(BackupError::Corrupt(check));
    }
    let mut summary = counts(&mut conn).await?;
    conn.close().await?;
    std::fs::rename(&staged, &db).map_err(BackupError::io(format!("write {}", db.display())))?;
    summary.media_files = files;
    summary.media_bytes = bytes;
    Ok(summary)
}
