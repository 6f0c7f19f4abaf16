//! The media backup's tar archive: `aethex.db` first, then `vod/…`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path};

use super::{BackupError, DB_ENTRY, MEDIA_DIR};

/// What a file given to `restore` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A bare SQLite database (a backup without media).
    Sqlite,
    /// A tar archive (a backup with media).
    Tar,
}

/// Tells the two backup formats apart by their magic bytes.
pub fn detect(path: &Path) -> Result<Format, BackupError> {
    let mut head = [0u8; 512];
    let mut file = File::open(path).map_err(BackupError::io(format!("open {}", path.display())))?;
    let n = read_up_to(&mut file, &mut head)
        .map_err(BackupError::io(format!("read {}", path.display())))?;
    if head[..n].starts_with(b"SQLite format 3\0") {
        Ok(Format::Sqlite)
    } else if n == 512 && &head[257..262] == b"ustar" {
        Ok(Format::Tar)
    } else {
        Err(BackupError::UnknownFormat(path.to_path_buf()))
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Writes `tar` with the database snapshot and every file under `media`
/// (absent = none); returns (media files, media bytes).
pub fn write(tar: &Path, snapshot: &Path, media: &Path) -> Result<(u64, u64), BackupError> {
    let out = File::create(tar).map_err(BackupError::io(format!("create {}", tar.display())))?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(out));
    builder.follow_symlinks(false);
    append_file(&mut builder, snapshot, Path::new(DB_ENTRY))?;
    let mut totals = (0, 0);
    if media.is_dir() {
        append_tree(&mut builder, media, Path::new(MEDIA_DIR), &mut totals)?;
    }
    let out = builder
        .into_inner()
        .map_err(BackupError::io(format!("write {}", tar.display())))?;
    out.into_inner()
        .map_err(|e| BackupError::io(format!("write {}", tar.display()))(e.into_error()))?
        .sync_all()
        .map_err(BackupError::io(format!("sync {}", tar.display())))?;
    Ok(totals)
}

fn append_tree<W: Write>(
    builder: &mut tar::Builder<W>,
    dir: &Path,
    name: &Path,
    totals: &mut (u64, u64),
) -> Result<(), BackupError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(BackupError::io(format!("read {}", dir.display())))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let entry_name = name.join(entry.file_name());
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            append_tree(builder, &path, &entry_name, totals)?;
        } else if kind.is_file() {
            // A recording may be gone (retention) between listing and reading.
            match append_file(builder, &path, &entry_name) {
                Ok(len) => {
                    totals.0 += 1;
                    totals.1 += len;
                }
                Err(BackupError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Appends one file as it is now: a segment still being written is cut at
/// the length it had when opened, so the header always matches the data.
fn append_file<W: Write>(
    builder: &mut tar::Builder<W>,
    path: &Path,
    name: &Path,
) -> Result<u64, BackupError> {
    let file = File::open(path).map_err(BackupError::io(format!("read {}", path.display())))?;
    let meta = file
        .metadata()
        .map_err(BackupError::io(format!("stat {}", path.display())))?;
    let len = meta.len();
    let mut header = tar::Header::new_gnu();
    header.set_metadata(&meta);
    header.set_size(len);
    builder
        .append_data(&mut header, name, file.take(len))
        .map_err(BackupError::io(format!("archive {}", path.display())))?;
    Ok(len)
}

/// Unpacks `archive`: `aethex.db` to `db`, `vod/…` under `data_dir`; refuses
/// anything else (and any path that could leave the data dir).
pub fn unpack(archive: &Path, db: &Path, data_dir: &Path) -> Result<(u64, u64), BackupError> {
    let file =
        File::open(archive).map_err(BackupError::io(format!("open {}", archive.display())))?;
    let mut tar = tar::Archive::new(std::io::BufReader::new(file));
    tar.set_preserve_permissions(false);
    let mut totals = (0, 0);
    let mut saw_db = false;
    let read_err = || BackupError::io(format!("read {}", archive.display()));
    for entry in tar.entries().map_err(read_err())? {
        let mut entry = entry.map_err(read_err())?;
        let name = entry.path().map_err(read_err())?.into_owned();
        let shown = name.display().to_string();
        let safe = name.components().all(|c| matches!(c, Component::Normal(_)));
        let kind = entry.header().entry_type();
        if name == Path::new(DB_ENTRY) && kind.is_file() {
            entry
                .unpack(db)
                .map_err(BackupError::io(format!("write {}", db.display())))?;
            saw_db = true;
        } else if safe && name.starts_with(MEDIA_DIR) && (kind.is_file() || kind.is_dir()) {
            let len = entry.size();
            entry.unpack_in(data_dir).map_err(BackupError::io(format!(
                "write {shown} under {}",
                data_dir.display()
            )))?;
            if kind.is_file() {
                totals.0 += 1;
                totals.1 += len;
            }
        } else {
            return Err(BackupError::UnexpectedEntry(shown));
        }
    }
    if !saw_db {
        return Err(BackupError::NoDatabaseInArchive(archive.to_path_buf()));
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive_with(dir: &Path, entries: &[(&str, &[u8])]) -> std::path::PathBuf {
        let path = dir.join("x.tar");
        let mut b = tar::Builder::new(File::create(&path).unwrap());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap();
        path
    }

    #[test]
    fn formats_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let tar = archive_with(dir.path(), &[("aethex.db", b"x")]);
        assert_eq!(detect(&tar).unwrap(), Format::Tar);
        let db = dir.path().join("a.db");
        std::fs::write(&db, b"SQLite format 3\0rest").unwrap();
        assert_eq!(detect(&db).unwrap(), Format::Sqlite);
        let other = dir.path().join("notes.txt");
        std::fs::write(&other, b"hello").unwrap();
        assert!(matches!(detect(&other), Err(BackupError::UnknownFormat(_))));
    }

    #[test]
    fn entries_outside_the_database_and_vod_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        for (entries, want) in [
            (
                vec![("aethex.db", &b"x"[..]), ("etc/cron.d/evil", b"x")],
                "etc/cron.d/evil",
            ),
            (vec![("aethex.db", &b"x"[..]), ("vodka/x", b"x")], "vodka/x"),
        ] {
            let tar = archive_with(dir.path(), &entries);
            match unpack(&tar, &dir.path().join("db"), &out) {
                Err(BackupError::UnexpectedEntry(e)) => assert_eq!(e, want),
                other => panic!("{want}: {other:?}"),
            }
        }
        let tar = archive_with(dir.path(), &[("vod/1/index.m3u8", b"#EXTM3U")]);
        let got = unpack(&tar, &dir.path().join("db"), &out);
        assert!(
            matches!(got, Err(BackupError::NoDatabaseInArchive(_))),
            "{got:?}"
        );
    }
}
