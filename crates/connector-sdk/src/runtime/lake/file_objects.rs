//! Runtime layer: the `file://` [`ObjectWriter`]: a local folder standing in for a bucket (a
//! local lake, tests). An object is written the way the state file is: a temporary file beside
//! it, `fsync`, `rename` over the object's path, `fsync` of the folder; so a kill leaves the
//! old object or the new one, never half of one, and a retried upload overwrites.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::runtime::file;
use crate::runtime::lake::object::{ObjectUrl, ObjectWriter, PutError, PutErrorKind};
use crate::runtime::lake::spool::sync_dir;

/// Writes objects as files below local folders.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileObjectWriter;

fn put_error(path: &Path, what: &str, e: &io::Error) -> PutError {
    // A folder that cannot be created or written is the operator's to fix (exit 2); a full
    // disk or an interrupted write may pass.
    let kind = match e.kind() {
        io::ErrorKind::PermissionDenied
        | io::ErrorKind::NotFound
        | io::ErrorKind::NotADirectory
        | io::ErrorKind::IsADirectory
        | io::ErrorKind::ReadOnlyFilesystem
        | io::ErrorKind::AlreadyExists => PutErrorKind::Config,
        _ => PutErrorKind::Transient,
    };
    PutError {
        kind,
        message: format!("cannot {what} {}: {e}", path.display()),
    }
}

fn file_path(url: &ObjectUrl) -> Result<&Path, PutError> {
    match url {
        ObjectUrl::File { path } => Ok(path),
        ObjectUrl::S3 { .. } => Err(PutError {
            kind: PutErrorKind::Config,
            message: format!("{url}: the file writer writes only file:// URLs"),
        }),
    }
}

/// Creates `dir` and its missing parents, making each new entry durable in its parent.
fn create_dirs(dir: &Path) -> io::Result<()> {
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at {
        if d.is_dir() {
            break;
        }
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    for d in missing.iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
        if let Some(parent) = d.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Writes `body` at `path` atomically and durably.
fn write_atomically(path: &Path, body: &[u8]) -> Result<(), PutError> {
    let dir = path.parent().ok_or_else(|| PutError {
        kind: PutErrorKind::Config,
        message: format!("{} names no folder", path.display()),
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    create_dirs(dir).map_err(|e| put_error(dir, "create the folder", &e))?;
    let (mut tmp, tmp_path): (File, PathBuf) = file::create_temp_beside(dir, &name)
        .map_err(|e| put_error(dir, "create a temporary file in", &e))?;
    let written = tmp.write_all(body).and_then(|()| tmp.sync_all());
    drop(tmp);
    if let Err(e) = written.and_then(|()| fs::rename(&tmp_path, path)) {
        let _ = fs::remove_file(&tmp_path);
        return Err(put_error(path, "write", &e));
    }
    sync_dir(dir).map_err(|e| put_error(dir, "sync the folder", &e))?;
    remove_leftover_temporaries(dir, &name);
    Ok(())
}

/// Temporaries of `name` a killed writer left in `dir` (the object itself is now whole).
fn remove_leftover_temporaries(dir: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let other = entry.file_name();
        if file::is_temp_of(&other.to_string_lossy(), name)
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[async_trait::async_trait]
impl ObjectWriter for FileObjectWriter {
    async fn put(&self, url: &ObjectUrl, body: bytes::Bytes) -> Result<(), PutError> {
        let path = file_path(url)?.to_path_buf();
        tokio::task::spawn_blocking(move || write_atomically(&path, &body))
            .await
            .map_err(|e| PutError {
                kind: PutErrorKind::Transient,
                message: format!("the write was interrupted: {e}"),
            })?
    }

    async fn probe(&self, prefix: &ObjectUrl) -> Result<(), PutError> {
        let dir = file_path(prefix)?.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let probe = dir.join(format!(".probe-{}", std::process::id()));
            write_atomically(&probe, b"probe\n")?;
            fs::remove_file(&probe).map_err(|e| put_error(&probe, "remove the probe", &e))
        })
        .await
        .map_err(|e| PutError {
            kind: PutErrorKind::Transient,
            message: format!("the probe was interrupted: {e}"),
        })?
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn objects_are_written_whole_and_overwritten_and_probes_leave_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/year=2024/x.ndjson");
        let url = ObjectUrl::File { path: path.clone() };
        let writer = FileObjectWriter;
        writer
            .put(&url, bytes::Bytes::from_static(b"one\n"))
            .await
            .unwrap();
        writer
            .put(&url, bytes::Bytes::from_static(b"two\n"))
            .await
            .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
        assert_eq!(
            fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "a temporary left"
        );
        let prefix = ObjectUrl::File {
            path: tmp.path().join("b"),
        };
        writer.probe(&prefix).await.unwrap();
        assert_eq!(fs::read_dir(tmp.path().join("b")).unwrap().count(), 0);
        let s3 = ObjectUrl::S3 {
            bucket: "b".into(),
            key: "k".into(),
        };
        let e = writer.put(&s3, bytes::Bytes::new()).await.unwrap_err();
        assert_eq!(e.kind, PutErrorKind::Config);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_path_through_a_file_is_a_config_error() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("f"), b"").unwrap();
        let url = ObjectUrl::File {
            path: tmp.path().join("f/x"),
        };
        let e = FileObjectWriter
            .put(&url, bytes::Bytes::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind, PutErrorKind::Config, "{e}");
    }
}
