//! Runtime layer: the files an operator names (config, state, catalog, secret files), read and written without trusting
//! what sits at the path.
//!
//! - **Reads** take only a regular file, up to a cap: the file is opened without blocking (a
//!   FIFO or a device would otherwise hang the open or never end), its type and size are checked
//!   on the open handle, and no more than the cap is read even if it grows meanwhile.
//!   `/dev/zero` as a config, a FIFO as a state file or a multi-gigabyte catalog is a clear
//!   error naming the cap, never an exhausted memory or a hung `status`.
//! - **Created** files (the state file's temporary, its lock) are readable and writable by the
//!   owner only (`0600`), and a temporary is created exclusively (`O_CREAT|O_EXCL`, never
//!   following a symlink): whatever another user plants in a shared directory is never
//!   written through.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest config file read (a config is a few hundred bytes).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// The largest secret file read (`…_TOKEN_FILE`, `$CREDENTIALS_DIRECTORY/<key>`: a token is
/// tens of bytes).
pub const MAX_SECRET_FILE_BYTES: u64 = 1 << 20;
/// The largest state file read (ids of one late-arrival window: a busy organization's state is
/// a few megabytes at most).
pub const MAX_STATE_BYTES: u64 = 64 << 20;
/// The largest configured catalog read (a catalog repeats the stream's schema, a few tens of
/// kilobytes).
pub const MAX_CATALOG_BYTES: u64 = 16 << 20;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing at the path.
    #[error("it does not exist")]
    NotFound,
    /// A directory.
    #[error("it is a directory, not a file")]
    Directory,
    /// A FIFO, socket or device.
    #[error("it is not a regular file (it is a {kind}); only regular files are read")]
    NotRegular {
        /// What it is.
        kind: &'static str,
    },
    /// Over the cap.
    #[error("it is larger than the cap of {} for a {what} file ({size}); refusing to read it", human(*cap), size = size.map_or_else(|| "it kept growing".to_owned(), |s| format!("{s} bytes")))]
    TooLarge {
        /// What the file is (config, state, catalog).
        what: &'static str,
        /// The cap in bytes.
        cap: u64,
        /// Its size, when known.
        size: Option<u64>,
    },
    /// Any other failure of the operating system.
    #[error("{0}")]
    Io(io::Error),
}

/// Reads the regular file at `path` (following symlinks), refusing more than `cap` bytes; `what`
/// names the kind of file in the error.
pub fn read_regular(path: &Path, cap: u64, what: &'static str) -> Result<Vec<u8>, ReadError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading would wait for a writer; a terminal would become ours.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound,
        io::ErrorKind::IsADirectory => ReadError::Directory,
        _ => ReadError::Io(e),
    })?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(ReadError::Directory);
    }
    if !kind.is_file() {
        return Err(ReadError::NotRegular {
            kind: describe_type(&kind),
        });
    }
    if meta.len() > cap {
        return Err(ReadError::TooLarge {
            what,
            cap,
            size: Some(meta.len()),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge {
            what,
            cap,
            size: None,
        });
    }
    Ok(bytes)
}

/// Creates the file at `path` for writing, mode `0600`, failing if anything exists there
/// (a file, a FIFO, a symlink even dangling: it is never followed).
pub fn create_exclusive(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Opens (creating if needed, mode `0600`) the file at `path` for writing without truncating it
/// and without following a symlink there (for lock files).
pub fn open_or_create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(path)
}

/// Creates a temporary file with a name no one can predict, in `dir`, beside (and named after)
/// `file_name`; returns it with its path. Retries on a name already taken.
pub fn create_temp_beside(dir: &Path, file_name: &str) -> io::Result<(File, PathBuf)> {
    let mut last = None;
    for attempt in 0..16u32 {
        let path = dir.join(format!(
            "{}{}.{}.tmp",
            temp_prefix(file_name),
            std::process::id(),
            unique_suffix(attempt)
        ));
        match create_exclusive(&path) {
            Ok(file) => return Ok((file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// The start of every temporary name of `file_name` (`.<name>.`).
pub fn temp_prefix(file_name: &str) -> String {
    format!(".{file_name}.")
}

/// Whether `name` is exactly a temporary [`create_temp_beside`] makes for `file_name`:
/// `.<file_name>.<pid>.<hex>.tmp`, nothing more between the dots (so `.s.json.x.1.ab.tmp`, a
/// temporary of `s.json.x`, is not one of `s.json`'s).
pub fn is_temp_of(name: &str, file_name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(&temp_prefix(file_name))
        .and_then(|r| r.strip_suffix(".tmp"))
    else {
        return false;
    };
    let Some((pid, suffix)) = rest.split_once('.') else {
        return false;
    };
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && !suffix.is_empty()
        && suffix
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn unique_suffix(attempt: u32) -> String {
    use std::hash::{BuildHasher, Hasher};
    // A random-keyed SipHash of the time and the attempt: unpredictable across processes.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(attempt);
    format!("{:016x}", hasher.finish())
}

fn describe_type(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "FIFO";
        }
        if kind.is_socket() {
            return "socket";
        }
        if kind.is_char_device() {
            return "character device";
        }
        if kind.is_block_device() {
            return "block device";
        }
    }
    let _ = kind;
    "special file"
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_regular_file_under_the_cap_is_read_and_one_over_it_is_refused_naming_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_regular(&path, 5, "test").unwrap(), b"12345");
        let error = read_regular(&path, 4, "test").unwrap_err().to_string();
        assert!(
            error.contains("cap of 4 bytes for a test file (5 bytes)"),
            "{error}"
        );
        // A sparse file far over a real cap is refused from its size, without reading it.
        let big = dir.path().join("big");
        File::create(&big)
            .unwrap()
            .set_len(MAX_CONFIG_BYTES + 1)
            .unwrap();
        let error = read_regular(&big, MAX_CONFIG_BYTES, "config")
            .unwrap_err()
            .to_string();
        assert!(error.contains("cap of 1 MiB for a config file"), "{error}");
        assert!(matches!(
            read_regular(&dir.path().join("none"), 9, "test"),
            Err(ReadError::NotFound)
        ));
        assert!(matches!(
            read_regular(dir.path(), 9, "test"),
            Err(ReadError::Directory)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_not_read() {
        let error = read_regular(Path::new("/dev/zero"), MAX_CONFIG_BYTES, "config")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not a regular file (it is a character device)"),
            "{error}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_temporary_is_private_and_never_written_through_a_planted_name() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (file, path) = create_temp_beside(dir.path(), "s.json").unwrap();
        drop(file);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".s.json.") && name.ends_with(".tmp"),
            "{name}"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (_, other) = create_temp_beside(dir.path(), "s.json").unwrap();
        assert_ne!(path, other, "two temporaries share a name");

        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let planted = dir.path().join("planted");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let error = create_exclusive(&planted).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists, "{error}");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(create_exclusive(&dangling).is_err());
        assert!(
            !dir.path().join("nowhere").exists(),
            "followed a dangling symlink"
        );
        assert!(
            open_or_create_private(&planted).is_err(),
            "a lock followed a symlink"
        );
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }
}

/// Why [`take_lock`] did not take a lock.
#[derive(Debug)]
pub(crate) enum LockRefused {
    /// Another open file description holds it: another reader is running.
    Held,
    /// The lock file could not be opened or locked; the text says why, naming it.
    Unusable(String),
}

/// Opens (or creates, private) the lock file `lock_path` and takes an exclusive lock on it
/// without waiting; the lock lasts as long as the returned file is open.
pub(crate) fn take_lock(lock_path: &Path) -> Result<File, LockRefused> {
    let lock = open_or_create_private(lock_path).map_err(|e| {
        LockRefused::Unusable(format!(
            "cannot open lock file {}: {e}",
            lock_path.display()
        ))
    })?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(LockRefused::Held),
        Err(std::fs::TryLockError::Error(e)) => Err(LockRefused::Unusable(format!(
            "cannot lock {}: {e}",
            lock_path.display()
        ))),
    }
}

/// Test helpers.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;

    /// Makes a FIFO at `path`, for tests of refusing one. In process: a forked `mkfifo` would,
    /// until its exec, share every open descriptor of the test binary, and with them the locks
    /// of tests running beside it.
    #[cfg(unix)]
    #[allow(clippy::unwrap_used)]
    pub(crate) fn mkfifo(path: &Path) {
        use rustix::fs::{CWD, FileType, Mode, mknodat};
        mknodat(CWD, path, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
    }
}
