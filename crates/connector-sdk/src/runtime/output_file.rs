//! Runtime layer: the `--output FILE` sink, and the rules that keep one collector per output.
//!
//! - **One collector per output, checked before anything is touched.** [`FileSink::open`] first
//!   takes an exclusive lock on a sidecar `<output>.lock` (beside the file the path's directory
//!   resolves to), held for the sink's lifetime; only then is the output opened, and only then
//!   is a torn last line cut off. A second reader (another state, the same output) is refused
//!   without opening the output at all. The sidecar, not the output itself, is the lock because
//!   the output is renamed away on every rotation: a lock on the file would move with it, and
//!   between the rename and the reopen a second reader could lock the new file first. The output
//!   file is locked as well (a hard link to a file in use is refused), and the CLI takes the
//!   state's lock before the output's, so a second reader of the same state never reaches here.
//!   The cut goes back to the last newline, not to an offset the checkpoint records (the state
//!   is the input's and knows no output): under the lock, only a collector of this output that
//!   died inside a write leaves a torn line, and that write's batch was never checkpointed.
//! - **Not the state, its lock or the config** ([`refuse_shared_paths`]): records appended to
//!   the state file go to an inode the next commit renames away; a torn-tail cut of the config
//!   would destroy it.
//! - **Private, never through a symlink.** A new output is created `0600` (`0640` when the
//!   operator asks for a group-readable output, for a shipper running as another user), opened
//!   with `O_NOFOLLOW` and without blocking; a symlink, a FIFO or a device at the path, or a file
//!   owned by another user, is refused. An existing output others may read gets a warning.
//! - **Rotation by rename, then SIGHUP.** Between two batches the sink syncs the old file and
//!   opens the path again under the same rules. When the file found there cannot be used (created
//!   by a rotator as another user), the sink keeps appending to the file it has, logs what to fix,
//!   and tries again before every later batch: collection never stops for it, nothing is lost.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::contract::error::ErrorKind;
use crate::contract::input::RecordBuf;
use crate::runtime::file;
use crate::runtime::output::RecordSink;

/// How the output file is created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputOptions {
    /// Create a new output `0640` (group may read) instead of `0600`.
    pub group_readable: bool,
}

impl OutputOptions {
    /// The permissions a new output file gets.
    pub fn mode(self) -> u32 {
        if self.group_readable { 0o640 } else { 0o600 }
    }
}

/// Why the output file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Another reader holds the output's lock.
    #[error(
        "output file {path} is in use by another reader (lock {lock} is held); run one `read` per output file (nothing was written to it)"
    )]
    Locked {
        /// The output file.
        path: PathBuf,
        /// The lock held.
        lock: PathBuf,
    },
    /// The path names nothing an output may be written to.
    #[error("--output {path}: {reason}")]
    Refused {
        /// The output file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl OutputError {
    /// The class of this failure: a held lock is a reader running ([`ErrorKind::Fatal`], exit
    /// 1, as for a state file in use); anything else needs the operator ([`ErrorKind::Config`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            OutputError::Locked { .. } => ErrorKind::Fatal,
            OutputError::Refused { .. } => ErrorKind::Config,
        }
    }
}

/// A file that records are appended to, made durable (`fsync`) before each checkpoint is
/// committed, and reopened by name when asked (after `SIGHUP`: log rotation).
///
/// Rotation by rename is safe: the file is renamed while this sink still appends to it (the
/// same inode, so no record is split across the two files), the rotator sends `SIGHUP`, and
/// between two batches the sink syncs the old file and opens a new one at the path. A batch
/// goes wholly to one file or the other. Copying and truncating the file in place
/// (`copytruncate`) is not safe: records appended between the copy and the truncation are lost.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: File,
    options: OutputOptions,
    reopen: Arc<AtomicBool>,
    /// A reopen was asked for and has not succeeded yet (tried again before every batch).
    reopen_pending: bool,
    // Held for the sink's lifetime; the OS releases it when it is dropped or the process dies.
    _lock: File,
}

impl FileSink {
    /// Locks `<path>.lock`, then opens `path` for appending (created `0600` when absent) and
    /// cuts a torn last line.
    ///
    /// A file that does not end with a newline was being written when its collector was killed:
    /// its last record is incomplete, and its batch was never checkpointed (the checkpoint
    /// follows the `fsync`), so it will be delivered again. The cut happens only under the lock,
    /// so it can never cut a batch a live collector is writing.
    pub fn open(path: &Path) -> Result<Self, OutputError> {
        Self::open_with(path, OutputOptions::default())
    }

    /// [`FileSink::open`] with the permissions of `options` for a new file.
    pub fn open_with(path: &Path, options: OutputOptions) -> Result<Self, OutputError> {
        let refused = |reason: String| OutputError::Refused {
            path: path.to_path_buf(),
            reason,
        };
        if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(refused(
                "it is a symlink; an output is never written through one (name the file itself)"
                    .into(),
            ));
        }
        let lock_path = lock_path_of(path).map_err(refused)?;
        let lock = file::take_lock(&lock_path).map_err(|refusal| match refusal {
            file::LockRefused::Held => OutputError::Locked {
                path: path.to_path_buf(),
                lock: lock_path.clone(),
            },
            file::LockRefused::Unusable(reason) => refused(reason),
        })?;
        let file = match open_output(path, options) {
            Ok(file) => file,
            Err(OpenError::Locked) => {
                return Err(OutputError::Locked {
                    path: path.to_path_buf(),
                    lock: path.to_path_buf(),
                });
            }
            Err(OpenError::Unusable(reason)) => return Err(refused(reason)),
        };
        warn_if_others_may_read(path, &file);
        let torn = cut_torn_tail(&file)
            .map_err(|e| refused(format!("cannot cut the incomplete last record off: {e}")))?;
        if torn > 0 {
            tracing::warn!(
                message = "The output file ended inside a record (a write was interrupted); cut the incomplete record off. Its batch was not checkpointed and is written again.",
                path = %path.display(),
                bytes = torn,
            );
        }
        Ok(FileSink {
            path: path.to_path_buf(),
            file,
            options,
            reopen: Arc::default(),
            reopen_pending: false,
            _lock: lock,
        })
    }

    /// The flag that asks this sink to reopen its file before the next batch (set it from a
    /// `SIGHUP` handler).
    pub fn reopen_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.reopen)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the path again (after a rotation); on a file that cannot be used, keeps the one it
    /// has and says so once, until a later attempt succeeds.
    fn reopen(&mut self) -> io::Result<()> {
        self.file.sync_all()?;
        if still_at_path(&self.file, &self.path) {
            // Not rotated (a reload without a rotation): the file open is the one at the path.
            self.reopen_pending = false;
            return Ok(());
        }
        match open_output(&self.path, self.options) {
            Ok(file) => {
                self.file = file;
                self.reopen_pending = false;
                tracing::info!(
                    message = "Reopened the output file (log rotation).",
                    path = %self.path.display(),
                );
            }
            Err(error) => {
                let reason = match error {
                    OpenError::Locked => "another process holds a lock on it".to_owned(),
                    OpenError::Unusable(reason) => reason,
                };
                if !self.reopen_pending {
                    tracing::error!(
                        message = "Cannot reopen the output file after a rotation: still appending to the file already open (the rotated one), and trying again before every batch. Remove what is at the path, or let the rotator not create it (logrotate: nocreate), then send SIGHUP.",
                        path = %self.path.display(),
                        reason = %reason,
                    );
                }
                self.reopen_pending = true;
            }
        }
        Ok(())
    }
}

/// Whether `path` names the very file `file` is (the same device and inode).
fn still_at_path(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(open), Ok(there)) = (file.metadata(), fs::symlink_metadata(path)) {
            return open.dev() == there.dev() && open.ino() == there.ino();
        }
    }
    #[cfg(not(unix))]
    let _ = (file, path);
    false
}

/// Why [`open_output`] did not give a file.
enum OpenError {
    /// The file is locked by another sink (a hard link to an output in use).
    Locked,
    /// What is wrong with it, for a human.
    Unusable(String),
}

/// Opens `path` for appending: created exclusively with `options`' mode when absent (exactly that mode,
/// whatever the umask), never through a symlink, never blocking on a FIFO; only a regular file
/// owned by this process's user is taken, and it is locked.
fn open_output(path: &Path, options: OutputOptions) -> Result<File, OpenError> {
    let unusable = |e: io::Error| OpenError::Unusable(format!("cannot open it for appending: {e}"));
    let file = match open_flags(options, false).open(path) {
        Ok(file) => file,
        // None there: created exclusively (one that appeared in between is an error here; a
        // reopen tries again before the next batch).
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let file = open_flags(options, true).open(path).map_err(unusable)?;
            // Ours: exactly the mode asked for, not narrowed by the umask.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(fs::Permissions::from_mode(options.mode()))
                    .map_err(unusable)?;
            }
            file
        }
        Err(e) => return Err(unusable(e)),
    };
    let meta = file.metadata().map_err(unusable)?;
    if !meta.is_file() {
        return Err(OpenError::Unusable(
            "it is not a regular file (a FIFO, a device or a socket); records go to a regular file, or to stdout without --output".into(),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(OpenError::Unusable(format!(
                "it is owned by uid {}, not by this process's user (uid {me}): its owner could read or change every record; remove it (or chown it) so the collector creates its own",
                meta.uid()
            )));
        }
    }
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(OpenError::Locked),
        Err(TryLockError::Error(e)) => Err(OpenError::Unusable(format!("cannot lock it: {e}"))),
    }
}

/// Open options for the output: `create` creates it exclusively (failing when anything is
/// there), otherwise an existing file is opened.
fn open_flags(options: OutputOptions, create: bool) -> OpenOptions {
    let mut open = OpenOptions::new();
    open.read(true).append(true);
    if create {
        open.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(options.mode())
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    #[cfg(not(unix))]
    let _ = options;
    open
}

/// Warns when other users may read the existing output at `path` (records are the audit trail
/// of the whole organization).
fn warn_if_others_may_read(path: &Path, file: &File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = file.metadata() else {
            return;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o004 != 0 {
            tracing::warn!(
                message = "The output file may be read by every user on this machine: restrict it (chmod 600, or 640 for a shipper in the file's group).",
                path = %path.display(),
                mode = %format!("{mode:04o}"),
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, file);
}

/// `<output>.lock`, beside the file `path` names once its directory is resolved (two spellings
/// of one directory share one lock).
fn lock_path_of(path: &Path) -> Result<PathBuf, String> {
    let mut lock = resolved(path)?.into_os_string();
    lock.push(".lock");
    Ok(PathBuf::from(lock))
}

/// `path` with every symlink resolved when it names an existing file, else its directory's
/// canonical path and its name (what it will be once created).
fn resolved(path: &Path) -> Result<PathBuf, String> {
    if let Ok(target) = fs::canonicalize(path) {
        return Ok(target);
    }
    let name = path
        .file_name()
        .ok_or_else(|| "it does not name a file".to_owned())?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let dir = fs::canonicalize(dir)
        .map_err(|e| format!("its directory {} cannot be used: {e}", dir.display()))?;
    Ok(dir.join(name))
}

/// Whether `a` and `b` name one file: the same device and inode when both exist, else the same
/// resolved path (before they exist).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (fs::metadata(a), fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    match (resolved(a), resolved(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Refuses an `--output` (or its lock) that is one of `others` (the state file, the state's
/// lock, the config: each with a name for the message), before anything is opened.
pub fn refuse_shared_paths(output: &Path, others: &[(&str, &Path)]) -> Result<(), OutputError> {
    let own_lock = lock_path_of(output).ok();
    for (what, other) in others {
        let hit = same_file(output, other)
            || own_lock
                .as_deref()
                .is_some_and(|lock| same_file(lock, other));
        if hit {
            return Err(OutputError::Refused {
                path: output.to_path_buf(),
                reason: format!(
                    "it is (or its lock is) the {what} {}; records appended there would be lost or destroy it. Name a file of its own",
                    other.display()
                ),
            });
        }
    }
    Ok(())
}

/// The lock file a state file at `state` is guarded by (`<state>.lock` beside the file it
/// resolves to), for [`refuse_shared_paths`].
pub fn state_lock_path(state: &Path) -> PathBuf {
    lock_path_of(state).unwrap_or_else(|_| {
        let mut lock = state.as_os_str().to_owned();
        lock.push(".lock");
        PathBuf::from(lock)
    })
}

/// Truncates `file` after its last newline; returns how many bytes were cut.
fn cut_torn_tail(file: &File) -> io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    const CHUNK: u64 = 64 * 1024;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    let mut reader = file;
    let mut end = len;
    let mut buf = vec![0u8; CHUNK as usize];
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &mut buf[..(end - start) as usize];
        reader.seek(SeekFrom::Start(start))?;
        reader.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            let keep = start + i as u64 + 1;
            // A no-op when the file ends with a newline (as it does unless a write was cut).
            file.set_len(keep)?;
            file.sync_all()?;
            return Ok(len - keep);
        }
        end = start;
    }
    file.set_len(0)?;
    file.sync_all()?;
    Ok(len)
}

impl RecordSink for FileSink {
    fn deliver(&mut self, records: &RecordBuf) -> io::Result<()> {
        self.file.write_all(records.as_bytes())?;
        // Durable before the host commits the checkpoint that covers these records: a crash of
        // the machine must not leave a state that is ahead of the file.
        self.file.sync_data()
    }

    fn between_batches(&mut self) -> io::Result<()> {
        if self.reopen.swap(false, Ordering::SeqCst) || self.reopen_pending {
            self.reopen()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// What `f` logs (every level), as text.
    fn logs_of<T>(f: impl FnOnce() -> T) -> (T, String) {
        #[derive(Clone, Default)]
        struct Buffer(Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let value = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        (value, text)
    }

    /// One record (the buffer adds the newline).
    fn record(json: &[u8]) -> RecordBuf {
        let mut buf = RecordBuf::with_capacity(json.len() + 1);
        buf.push_json(json);
        buf
    }

    #[test]
    fn a_file_sink_cuts_a_torn_record_and_appends_after_whole_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"{\"a\":1}\n", b"{\"a\":1}\n"),
            (b"{\"a\":1}\n{\"b\":", b"{\"a\":1}\n"),
            (b"{\"b\":", b""),
        ];
        for (before, kept) in cases {
            std::fs::write(&path, before).unwrap();
            let (sink, logs) = logs_of(|| FileSink::open(&path).unwrap());
            let mut sink = sink;
            let cut = before.len() - kept.len();
            assert_eq!(
                logs.contains("cut the incomplete record off"),
                cut > 0,
                "{before:?}: {logs}"
            );
            if cut > 0 {
                assert!(logs.contains(&format!("bytes={cut}")), "{logs}");
            }
            sink.deliver(&record(b"{\"c\":3}")).unwrap();
            let mut expected = kept.to_vec();
            expected.extend_from_slice(b"{\"c\":3}\n");
            assert_eq!(std::fs::read(&path).unwrap(), expected, "{before:?}");
        }
        // A torn tail longer than one read chunk.
        let mut big = b"{\"a\":1}\n".to_vec();
        big.extend(std::iter::repeat_n(b'x', 200 * 1024));
        std::fs::write(&path, &big).unwrap();
        drop(FileSink::open(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":1}\n");
        // A torn tail with whole records a chunk and more before it.
        let mut long = std::iter::repeat_n(b"{\"d\":4}\n".as_slice(), 10_000)
            .flatten()
            .copied()
            .collect::<Vec<u8>>();
        let whole = long.clone();
        long.extend_from_slice(b"{\"e\":");
        std::fs::write(&path, &long).unwrap();
        drop(FileSink::open(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), whole);
    }

    #[test]
    fn a_file_sink_reopens_its_path_between_batches_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let rotated = dir.path().join("out.ndjson.1");
        let mut sink = FileSink::open(&path).unwrap();
        assert_eq!(sink.path(), path);
        sink.deliver(&record(b"1")).unwrap();
        std::fs::rename(&path, &rotated).unwrap();
        // Until asked, the renamed file is still the one written.
        sink.between_batches().unwrap();
        sink.deliver(&record(b"2")).unwrap();
        sink.reopen_flag().store(true, Ordering::SeqCst);
        sink.between_batches().unwrap();
        sink.deliver(&record(b"3")).unwrap();
        assert_eq!(std::fs::read(&rotated).unwrap(), b"1\n2\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"3\n");
    }

    /// A second sink on one output is refused through the lock before the file is opened, so
    /// the live sink's torn last line (a batch being written) is never cut; the lock lives as
    /// long as the first sink, across its reopens.
    #[test]
    fn a_second_sink_on_one_output_is_refused_before_touching_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let mut first = FileSink::open(&path).unwrap();
        first.deliver(&record(b"1")).unwrap();
        // A batch half-written by the live sink.
        first.file.write_all(b"{\"half\":").unwrap();
        let alias = dir.path().join(".").join("out.ndjson");
        for other in [&path, &alias] {
            let error = FileSink::open(other).unwrap_err();
            assert!(matches!(error, OutputError::Locked { .. }), "{error}");
            assert_eq!(error.kind(), ErrorKind::Fatal);
            assert!(error.to_string().contains("in use"), "{error}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"1\n{\"half\":");
        // Another output beside it has a lock of its own.
        let beside = FileSink::open(&dir.path().join("beside.ndjson")).unwrap();
        drop(beside);
        // A hard link to the output in use is another name for the locked file.
        let linked = dir.path().join("linked.ndjson");
        fs::hard_link(&path, &linked).unwrap();
        let error = FileSink::open(&linked).unwrap_err();
        assert!(matches!(error, OutputError::Locked { .. }), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"1\n{\"half\":");
        fs::remove_file(&linked).unwrap();

        // A reload without a rotation: the file at the path is the one open, nothing to do.
        first.reopen_flag().store(true, Ordering::SeqCst);
        let ((), logs) = logs_of(|| first.between_batches().unwrap());
        assert!(
            !first.reopen_pending,
            "a reload without a rotation failed: {logs}"
        );
        assert!(!logs.contains("Cannot reopen"), "{logs}");
        assert!(FileSink::open(&path).is_err(), "the lock ended at a reopen");
        drop(first);
        let _again = FileSink::open(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"1\n");
    }

    /// A new output is the owner's only, whatever the umask; group-readable only when asked;
    /// an existing file keeps its mode.
    #[cfg(unix)]
    #[test]
    fn a_new_output_is_private_unless_group_read_is_asked_for() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let private = dir.path().join("private.ndjson");
        drop(FileSink::open(&private).unwrap());
        assert_eq!(mode(&private), 0o600);
        assert_eq!(mode(&dir.path().join("private.ndjson.lock")), 0o600);
        let shared = dir.path().join("shared.ndjson");
        let options = OutputOptions {
            group_readable: true,
        };
        drop(FileSink::open_with(&shared, options).unwrap());
        assert_eq!(mode(&shared), 0o640);
        // Reopened after a rotation: the same mode for the new file.
        let mut sink = FileSink::open_with(&shared, options).unwrap();
        fs::rename(&shared, dir.path().join("shared.ndjson.1")).unwrap();
        sink.reopen_flag().store(true, Ordering::SeqCst);
        sink.between_batches().unwrap();
        assert_eq!(mode(&shared), 0o640);
        let existing = dir.path().join("existing.ndjson");
        fs::write(&existing, b"").unwrap();
        for (existing_mode, warned) in
            [(0o644, true), (0o604, true), (0o640, false), (0o600, false)]
        {
            fs::set_permissions(&existing, fs::Permissions::from_mode(existing_mode)).unwrap();
            let (sink, logs) = logs_of(|| FileSink::open(&existing).unwrap());
            drop(sink);
            assert_eq!(
                logs.contains("may be read by every user"),
                warned,
                "{existing_mode:o}: {logs}"
            );
            if warned {
                assert!(
                    logs.contains(&format!("mode={existing_mode:04o}")),
                    "{logs}"
                );
            }
            assert_eq!(
                mode(&existing),
                existing_mode,
                "an existing output's mode was changed"
            );
        }
    }

    /// A symlink at the output path (dangling or not), a FIFO, or a file another user owns is
    /// refused, and nothing is written where it points.
    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_fifo_or_foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let planted = dir.path().join("planted.ndjson");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let dangling = dir.path().join("dangling.ndjson");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        for path in [&planted, &dangling] {
            let error = FileSink::open(path).unwrap_err();
            assert!(error.to_string().contains("symlink"), "{error}");
            assert_eq!(error.kind(), ErrorKind::Config);
        }
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(!dir.path().join("nowhere").exists());

        let fifo = dir.path().join("fifo.ndjson");
        // Made in process: a forked `mkfifo` would, until its exec, share every open
        // descriptor of this test binary, and with it the locks of tests running beside this one.
        crate::runtime::file::testing::mkfifo(&fifo);
        let error = FileSink::open(&fifo).unwrap_err().to_string();
        assert!(
            error.contains("cannot open") || error.contains("not a regular file"),
            "{error}"
        );

        let me = rustix::process::geteuid().as_raw();
        let foreign = dir.path().join("foreign.ndjson");
        fs::write(&foreign, b"").unwrap();
        if std::os::unix::fs::chown(&foreign, Some(me + 1), None).is_err() {
            eprintln!("SKIPPED: another user's output needs root to make");
            return;
        }
        let error = FileSink::open(&foreign).unwrap_err().to_string();
        assert!(error.contains("owned by uid"), "{error}");
        assert_eq!(fs::read(&foreign).unwrap(), b"");
    }

    /// A symlink planted at the path after a rotation is not followed by the reopen either:
    /// the sink keeps the rotated file, and the link's target is untouched.
    #[cfg(unix)]
    #[test]
    fn a_reopen_never_follows_a_symlink_planted_after_the_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let rotated = dir.path().join("out.ndjson.1");
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let mut sink = FileSink::open(&path).unwrap();
        fs::rename(&path, &rotated).unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        sink.reopen_flag().store(true, Ordering::SeqCst);
        let ((), logs) = logs_of(|| sink.between_batches().unwrap());
        assert!(logs.contains("Cannot reopen"), "{logs}");
        // The open refused the link itself (ELOOP), not a file said to exist.
        assert!(logs.contains("os error 40"), "{logs}");
        sink.deliver(&record(b"1")).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&rotated).unwrap(), b"1\n");
    }

    /// A bare file name is in the current directory (nothing is created by resolving it).
    #[test]
    fn a_bare_output_name_resolves_in_the_current_directory() {
        let name = Path::new("no-such-output-here.ndjson");
        assert_eq!(
            resolved(name).unwrap(),
            fs::canonicalize(".").unwrap().join(name)
        );
        assert!(!name.exists());
    }

    /// After a rotation that left a file the sink cannot use at the path, the sink keeps
    /// writing the file it has (nothing lost), and takes the path once it is usable.
    #[cfg(unix)]
    #[test]
    fn a_reopen_that_meets_an_unusable_file_keeps_writing_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let rotated = dir.path().join("out.ndjson.1");
        let mut sink = FileSink::open(&path).unwrap();
        sink.deliver(&record(b"1")).unwrap();
        fs::rename(&path, &rotated).unwrap();
        fs::write(&path, b"").unwrap();
        let me = rustix::process::geteuid().as_raw();
        if std::os::unix::fs::chown(&path, Some(me + 1), None).is_err() {
            eprintln!("SKIPPED: another user's file needs root to make");
            return;
        }
        sink.reopen_flag().store(true, Ordering::SeqCst);
        let ((), logs) = logs_of(|| {
            sink.between_batches().unwrap();
            sink.deliver(&record(b"2")).unwrap();
            sink.between_batches().unwrap();
            sink.deliver(&record(b"3")).unwrap();
        });
        assert_eq!(
            logs.matches("Cannot reopen the output file").count(),
            1,
            "said once, not at every retry: {logs}"
        );
        assert!(logs.contains("owned by uid"), "{logs}");
        assert_eq!(fs::read(&rotated).unwrap(), b"1\n2\n3\n");
        assert_eq!(
            fs::read(&path).unwrap(),
            b"",
            "wrote into another user's file"
        );
        // Fixed: the next batch goes to a new file of its own, without another SIGHUP.
        fs::remove_file(&path).unwrap();
        let ((), logs) = logs_of(|| sink.between_batches().unwrap());
        assert!(logs.contains("Reopened the output file"), "{logs}");
        sink.deliver(&record(b"4")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"4\n");
        assert_eq!(fs::read(&rotated).unwrap(), b"1\n2\n3\n");
    }

    /// The output may not be the state, the state's lock or the config, spelt any way, existing
    /// or not; nor may its own lock be one of them.
    #[cfg(unix)]
    #[test]
    fn an_output_that_is_the_state_its_lock_or_the_config_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir(d.join("sub")).unwrap();
        let state = d.join("s.json");
        let config = d.join("c.json");
        fs::write(&config, b"{}").unwrap();
        let state_lock = state_lock_path(&state);
        assert_eq!(state_lock, fs::canonicalize(d).unwrap().join("s.json.lock"));
        let others = [
            ("state file", state.as_path()),
            ("state's lock", state_lock.as_path()),
            ("config", config.as_path()),
        ];
        let refused = |output: &Path| refuse_shared_paths(output, &others).is_err();
        // Neither the state nor its lock exists yet: same resolved path.
        assert!(refused(&state));
        assert!(refused(&d.join("sub/../s.json")));
        assert!(refused(&d.join("s.json.lock")));
        assert!(refused(&config));
        assert!(
            refused(&d.join("c.json.lock").with_extension("")),
            "c.json itself"
        );
        // The output's own lock would be the state: `--output s` beside `--state s.lock`.
        let odd_state = d.join("o.lock");
        assert!(refuse_shared_paths(&d.join("o"), &[("state file", &odd_state)]).is_err());
        // Existing: same device and inode, through a hard link.
        fs::write(&state, b"{}").unwrap();
        let linked = d.join("linked.json");
        fs::hard_link(&state, &linked).unwrap();
        assert!(refused(&linked));
        let error = refuse_shared_paths(&linked, &others).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert!(error.to_string().contains("state file"), "{error}");
        // A file of its own is fine, existing or not.
        assert!(!refused(&d.join("audit.ndjson")));
        fs::write(d.join("audit.ndjson"), b"").unwrap();
        assert!(!refused(&d.join("audit.ndjson")));
        assert!(!refused(&d.join("s.json.1")));
    }
}
