//! Runtime layer: the state file, where a connector resumes from.
//!
//! Three promises, each of which other collectors have broken:
//!
//! - **Never ahead of the output.** The host commits a checkpoint only after the batch it covers
//!   has been written and flushed (see [`crate::runtime::host`]); this module only makes each commit
//!   atomic: write a temporary file beside the target, `fsync` it, `rename` it over the target,
//!   `fsync` the directory. A kill at any instant leaves either the old state or the new one.
//! - **Never silently replaced.** A state file that cannot be read, is truncated, belongs to
//!   another connector or was written by a newer version is an error naming the file. Only an
//!   absent file means "start fresh".
//! - **One reader at a time.** An exclusive advisory lock on a sidecar `<state>.lock` file is
//!   held for as long as the store lives; a second `read` on the same state refuses.
//!
//! The file is a small JSON envelope around the input's own state:
//! `{"connector": "slack-audit", "version": 1, "state": {…}}`; what it may hold, and which
//! states are refused, are the contract's state rules ([`crate::contract::state_rules`]).
//!
//! Runtime layer: the native front end's [`Checkpoints`].

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::contract::error::StateError;
use crate::contract::input::Input;
use crate::contract::state_rules::{Destination, EnvelopeOut, refuse_impossible};
use crate::contract::state_rules::{Migrate, decode_with_destination, refuse_destination};
use crate::runtime::checkpoint::Checkpoints;
use crate::runtime::checkpoint::HostError;
use crate::runtime::file;

/// A locked state file.
#[derive(Debug)]
pub struct StateStore<S> {
    /// The path as the operator gave it (for messages).
    path: PathBuf,
    /// The file commits replace: `path` with every symlink resolved, so that two paths naming
    /// one file share one lock and a commit replaces the file, not a symlink to it.
    target: PathBuf,
    connector: &'static str,
    version: u32,
    // Held for the store's lifetime; the OS releases the lock when it is dropped or the process dies.
    _lock: File,
    _state: PhantomData<fn() -> S>,
}

impl<S: Serialize + DeserializeOwned> StateStore<S> {
    /// Locks the state file at `path`, checks that its directory takes a new file, and loads
    /// it. `Ok((store, None))` when the file does not exist yet (it is created by the first
    /// commit). A state a read into a lake committed is refused (see
    /// [`StateStore::open_with_destination`]).
    pub fn open(
        path: &Path,
        connector: &'static str,
        version: u32,
        migrate: Migrate<S>,
    ) -> Result<(Self, Option<S>), StateError> {
        let (store, loaded) = Self::open_with_destination(path, connector, version, migrate)?;
        match loaded {
            None => Ok((store, None)),
            Some((state, destination)) => {
                refuse_destination(destination.as_ref(), path)?;
                Ok((store, Some(state)))
            }
        }
    }

    /// [`StateStore::open`] for a reader that delivers into a destination's spool: the state
    /// comes with the destination's position it was committed with, if any.
    #[allow(clippy::type_complexity)]
    pub fn open_with_destination(
        path: &Path,
        connector: &'static str,
        version: u32,
        migrate: Migrate<S>,
    ) -> Result<(Self, Option<(S, Option<Destination>)>), StateError> {
        let unusable = |reason: String| StateError::Unusable {
            path: path.to_path_buf(),
            reason,
        };
        if path.is_dir() {
            return Err(unusable("it is a directory".into()));
        }
        let target = canonical_target(path).map_err(unusable)?;
        let lock_path = sidecar(&target, ".lock");
        let lock = file::take_lock(&lock_path).map_err(|refused| match refused {
            file::LockRefused::Held => StateError::Locked {
                path: path.to_path_buf(),
                lock: lock_path.clone(),
            },
            file::LockRefused::Unusable(reason) => unusable(reason),
        })?;
        let store = StateStore {
            path: path.to_path_buf(),
            target,
            connector,
            version,
            _lock: lock,
            _state: PhantomData,
        };
        warn_if_directory_is_shared(store.dir(), path);
        store.remove_leftover_temporaries();
        // Found now, not at the first commit after a batch was already delivered.
        store.probe_writable()?;
        let bytes = match file::read_regular(&store.target, file::MAX_STATE_BYTES, "state") {
            Ok(bytes) => bytes,
            Err(file::ReadError::NotFound) => return Ok((store, None)),
            Err(e) => return Err(unusable(e.to_string())),
        };
        let loaded = decode_with_destination(&bytes, &store.path, connector, version, migrate)?;
        Ok((store, Some(loaded)))
    }

    fn dir(&self) -> &Path {
        directory_of(&self.target)
    }

    fn file_name(&self) -> String {
        self.target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Creates and removes a temporary in the state's directory: what every commit needs.
    fn probe_writable(&self) -> Result<(), StateError> {
        let (probe, probe_path) = file::create_temp_beside(self.dir(), &self.file_name())
            .map_err(|e| StateError::Write {
                path: self.path.clone(),
                reason: format!(
                    "the state's directory {} does not take a new file ({e}); nothing was read, so nothing is lost",
                    self.dir().display()
                ),
            })?;
        drop(probe);
        let _ = fs::remove_file(probe_path);
        Ok(())
    }

    /// Temporaries a killed run left behind (only regular files: anything else there is not
    /// ours to remove). The lock is held, so no other run of this state is writing one.
    fn remove_leftover_temporaries(&self) {
        let own = self.file_name();
        let Ok(entries) = fs::read_dir(self.dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if file::is_temp_of(&name, &own) && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Replaces the state file atomically with `state`.
    pub fn commit(&self, state: &S) -> Result<(), StateError> {
        self.commit_with(state, None)
    }

    /// Replaces the state file atomically with `state` and the destination's position
    /// `destination` (one write: a kill leaves both old or both new).
    pub fn commit_with(
        &self,
        state: &S,
        destination: Option<&Destination>,
    ) -> Result<(), StateError> {
        let write_error = |reason: String| StateError::Write {
            path: self.path.clone(),
            reason,
        };
        let envelope = EnvelopeOut {
            connector: self.connector,
            version: self.version,
            state,
            destination,
        };
        let mut bytes = serde_json::to_vec(&envelope).map_err(|e| write_error(e.to_string()))?;
        bytes.push(b'\n');
        let (mut tmp, tmp_path) =
            file::create_temp_beside(self.dir(), &self.file_name()).map_err(|e| {
                write_error(format!(
                    "cannot create a temporary file in {}: {e}",
                    self.dir().display()
                ))
            })?;
        let written = tmp.write_all(&bytes).and_then(|()| tmp.sync_all());
        drop(tmp);
        if let Err(e) = written.and_then(|()| fs::rename(&tmp_path, &self.target)) {
            let _ = fs::remove_file(&tmp_path);
            return Err(write_error(format!("{}: {e}", tmp_path.display())));
        }
        // Makes the rename itself durable. Not every platform lets a directory be opened.
        if let Ok(d) = File::open(self.dir()) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file commits replace: [`StateStore::path`] with every symlink resolved (what a lake
    /// spool records as its owner).
    pub fn resolved(&self) -> &Path {
        &self.target
    }
}

/// Opens (and locks) the state file of input `I` at `path`, with the state rules of `I`: its
/// name, version and migration, and the refusal of a state no run could have written.
pub fn open_for<I: Input>(path: &Path) -> Result<(StateStore<I::State>, I::State), StateError> {
    let (store, state) =
        StateStore::<I::State>::open(path, I::NAME, I::STATE_VERSION, I::migrate_state)?;
    if let Some(state) = &state {
        refuse_impossible::<I>(state, path)?;
    }
    Ok((store, state.unwrap_or_default()))
}

/// [`open_for`] for a reader into a lake: the state (the default when there is none) and the
/// destination's position it was committed with.
#[allow(clippy::type_complexity)]
pub fn open_with_destination_for<I: Input>(
    path: &Path,
) -> Result<(StateStore<I::State>, I::State, Option<Destination>), StateError> {
    let (store, loaded) = StateStore::<I::State>::open_with_destination(
        path,
        I::NAME,
        I::STATE_VERSION,
        I::migrate_state,
    )?;
    match loaded {
        None => Ok((store, I::State::default(), None)),
        Some((state, destination)) => {
            refuse_impossible::<I>(&state, path)?;
            Ok((store, state, destination))
        }
    }
}

/// Reads the state file of input `I` at `path` without locking it
/// ([`read_unlocked_with_destination`] with the name, version and migration of `I`; an
/// impossible state is *not* refused here, `status` reports it).
#[allow(clippy::type_complexity)]
pub fn read_unlocked_for<I: Input>(
    path: &Path,
) -> Result<Option<(I::State, Option<Destination>)>, StateError> {
    read_unlocked_with_destination::<I::State>(path, I::NAME, I::STATE_VERSION, I::migrate_state)
}

impl<S> Checkpoints<S> for StateStore<S>
where
    S: Serialize + DeserializeOwned + 'static,
{
    fn commit(&mut self, checkpoint: &S) -> Result<(), HostError> {
        StateStore::commit(self, checkpoint).map_err(HostError::State)
    }
}

/// `path` with every symlink resolved: the file itself when it exists, else (the path, or the
/// end of its symlinks, names no file yet) its directory's canonical path and its name.
///
/// A symlink that points to nothing yet is followed only when this process's user owns it (an
/// operator's own alias of a state to be created); one another user owns is refused: creating
/// the state where a planted link points would let whoever planted it choose where the state
/// and its lock are written (`fs.protected_symlinks` does not apply: the link is resolved here,
/// not by the kernel).
fn canonical_target(path: &Path) -> Result<PathBuf, String> {
    let mut current = path.to_path_buf();
    // As many links as the kernel follows before it says ELOOP.
    for _ in 0..40 {
        match fs::canonicalize(&current) {
            Ok(target) => return Ok(target),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.to_string()),
        }
        let Ok(meta) = fs::symlink_metadata(&current) else {
            break;
        };
        if !meta.file_type().is_symlink() {
            break;
        }
        refuse_foreign_link(&current, &meta)?;
        // A dangling symlink of our own: the first commit creates the file it points to.
        match fs::read_link(&current) {
            Ok(link) => {
                current = match current.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                }
            }
            Err(_) => break,
        }
    }
    let name = current
        .file_name()
        .ok_or_else(|| "it does not name a file".to_owned())?;
    let dir = directory_of(&current);
    let dir = fs::canonicalize(dir)
        .map_err(|e| format!("its directory {} cannot be used: {e}", dir.display()))?;
    Ok(dir.join(name))
}

/// Refuses the dangling symlink `link` (with metadata `meta`) unless this process's user owns it.
fn refuse_foreign_link(link: &Path, meta: &fs::Metadata) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            let points_to =
                fs::read_link(link).map_or_else(|_| "?".into(), |l| l.display().to_string());
            return Err(format!(
                "{} is a symlink to {points_to}, which does not exist, and it belongs to uid {}, not to this user (uid {me}); a state is never created where another user's link points (name the file itself)",
                link.display(),
                meta.uid()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (link, meta);
    Ok(())
}

/// Why a state directory others may write to is worth a warning, or `None` when it is not:
/// `mode` and `owner` are the directory's, `me` this process's user. A directory of ours (or
/// root's, without group or world write) is fine. In a sticky one (`/tmp`) others cannot
/// replace or remove our files but can take names first (a state before the first run, the
/// lock); in any other, they can replace the state between two runs.
pub(crate) fn shared_directory_risk(mode: u32, owner: u32, me: u32) -> Option<&'static str> {
    if owner == me || mode & 0o022 == 0 {
        return None;
    }
    Some(if mode & 0o1000 != 0 {
        "other users may create files in the state's directory (it is group- or world-writable, sticky): they can plant a state file or its lock before a first run. Keep the state in a directory of its own (mode 0700)"
    } else {
        "other users may replace or remove the state file (its directory is group- or world-writable and not owned by this user): they could move the position and skip records. Keep the state in a directory of its own (mode 0700)"
    })
}

/// Logs [`shared_directory_risk`] for the directory `dir` a state is kept in.
fn warn_if_directory_is_shared(dir: &Path, state: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = fs::metadata(dir) else {
            return;
        };
        let me = rustix::process::geteuid().as_raw();
        if let Some(risk) = shared_directory_risk(meta.mode(), meta.uid(), me) {
            tracing::warn!(
                message = risk,
                path = %state.display(),
                directory = %dir.display(),
                mode = %format!("{:04o}", meta.mode() & 0o7777),
                owner_uid = meta.uid(),
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, state);
}

/// Reads the state file at `path` **without locking it or writing anything**, with the same
/// refusals and migrations as [`StateStore::open`]: for `status`, safe while a reader runs
/// (commits replace the file atomically, so a read sees the old state or the new one).
/// `Ok(None)` when there is no state file.
pub fn read_unlocked<S: DeserializeOwned>(
    path: &Path,
    connector: &str,
    version: u32,
    migrate: Migrate<S>,
) -> Result<Option<S>, StateError> {
    match read_unlocked_with_destination(path, connector, version, migrate)? {
        None => Ok(None),
        Some((state, destination)) => {
            refuse_destination(destination.as_ref(), path)?;
            Ok(Some(state))
        }
    }
}

/// [`read_unlocked`], with the destination's position the state was committed with (for
/// `status`, which describes a lake reader's state too).
#[allow(clippy::type_complexity)]
pub fn read_unlocked_with_destination<S: DeserializeOwned>(
    path: &Path,
    connector: &str,
    version: u32,
    migrate: Migrate<S>,
) -> Result<Option<(S, Option<Destination>)>, StateError> {
    let unusable = |reason: String| StateError::Unusable {
        path: path.to_path_buf(),
        reason,
    };
    if path.is_dir() {
        return Err(unusable("it is a directory".into()));
    }
    match file::read_regular(path, file::MAX_STATE_BYTES, "state") {
        Ok(bytes) => decode_with_destination(&bytes, path, connector, version, migrate).map(Some),
        Err(file::ReadError::NotFound) => Ok(None),
        Err(e) => Err(unusable(e.to_string())),
    }
}

/// Whether a reader holds the lock of the state file at `path`, probed without creating or
/// writing anything: the lock file (beside the file `path` resolves to, as a reader keys it)
/// is opened read-only (absent: nobody ever read with this state file, or it was removed, so
/// nobody holds it) and a shared lock is tried without waiting and released at once. A reader
/// starting in that same instant would find the lock taken and refuse to start, saying so.
pub fn lock_is_held(path: &Path) -> Result<bool, StateError> {
    // No directory to resolve: no lock there either (opening it below says so).
    let target = canonical_target(path).unwrap_or_else(|_| path.to_path_buf());
    let lock_path = sidecar(&target, ".lock");
    let file = match open_lock_for_probe(&lock_path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(StateError::Unusable {
                path: path.to_path_buf(),
                reason: format!("cannot open lock file {}: {e}", lock_path.display()),
            });
        }
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(false)
        }
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(e)) => Err(StateError::Unusable {
            path: path.to_path_buf(),
            reason: format!("cannot probe lock {}: {e}", lock_path.display()),
        }),
    }
}

fn open_lock_for_probe(lock_path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    options.open(lock_path)
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The directory a state file at `target` lives in: its parent, or `.` for a bare file name
/// (whose parent is the empty path, which no directory call accepts).
fn directory_of(target: &Path) -> &Path {
    match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::Value;

    fn refuse(_: u32, _: Value) -> Result<Vec<u32>, String> {
        Err("no migration".into())
    }

    type Opened = (StateStore<Vec<u32>>, Option<Vec<u32>>);

    fn open(path: &Path) -> Result<Opened, StateError> {
        StateStore::open(path, "test", 2, refuse)
    }

    #[test]
    fn a_bare_file_name_lives_in_the_current_directory() {
        assert_eq!(directory_of(Path::new("state.json")), Path::new("."));
        assert_eq!(directory_of(Path::new("a/state.json")), Path::new("a"));
        assert_eq!(directory_of(Path::new("/state.json")), Path::new("/"));
    }

    #[test]
    fn absent_then_committed_then_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let (store, loaded) = open(&path).unwrap();
        assert_eq!(loaded, None);
        assert_eq!(store.path(), path);
        assert!(!path.exists(), "opening must not create the state file");
        store.commit(&vec![1, 2]).unwrap();
        drop(store);
        let (_, loaded) = open(&path).unwrap();
        assert_eq!(loaded, Some(vec![1, 2]));
    }

    /// A lake reader's commit carries the spool position beside the state; a reader without
    /// the lake refuses such a state (it would leave the spool behind), and a state written
    /// before the field existed loads unchanged, with no position.
    #[test]
    fn a_destination_round_trips_and_only_the_lake_reader_loads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        fs::write(&path, br#"{"connector":"test","version":2,"state":[5]}"#).unwrap();
        let (store, loaded) =
            StateStore::<Vec<u32>>::open_with_destination(&path, "test", 2, refuse).unwrap();
        assert_eq!(loaded, Some((vec![5], None)));
        let at = Destination {
            spool_id: "0a1b".into(),
            segment: 3,
            offset: 120,
            sealed_through: Some(2),
        };
        store.commit_with(&vec![6], Some(&at)).unwrap();
        drop(store);
        let written: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            written["destination"],
            serde_json::json!({"spool_id": "0a1b", "segment": 3, "offset": 120, "sealed_through": 2})
        );
        let (store, loaded) =
            StateStore::<Vec<u32>>::open_with_destination(&path, "test", 2, refuse).unwrap();
        assert_eq!(loaded, Some((vec![6], Some(at))));
        drop(store);
        let error = open(&path).unwrap_err().to_string();
        assert!(
            error.contains("read into a lake") && error.contains("0a1b"),
            "{error}"
        );
        let error = read_unlocked::<Vec<u32>>(&path, "test", 2, refuse).unwrap_err();
        assert!(error.to_string().contains("--lake"), "{error}");
        // A plain commit drops the position again.
        let (store, _) =
            StateStore::<Vec<u32>>::open_with_destination(&path, "test", 2, refuse).unwrap();
        store.commit(&vec![7]).unwrap();
        assert!(
            !String::from_utf8(fs::read(&path).unwrap())
                .unwrap()
                .contains("destination")
        );
    }

    #[test]
    fn second_open_is_refused_while_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let (_first, _) = open(&path).unwrap();
        let second = open(&path).unwrap_err();
        assert!(matches!(second, StateError::Locked { .. }), "{second}");
    }

    #[test]
    fn reading_unlocked_neither_locks_nor_writes_and_sees_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let read = |p: &Path| read_unlocked::<Vec<u32>>(p, "test", 2, refuse);
        assert_eq!(read(&path).unwrap(), None);
        assert!(!lock_is_held(&path).unwrap());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "probing created a file"
        );

        let (store, _) = open(&path).unwrap();
        store.commit(&vec![7]).unwrap();
        assert!(lock_is_held(&path).unwrap(), "the store holds the lock");
        assert_eq!(read(&path).unwrap(), Some(vec![7]));
        assert!(
            lock_is_held(&path).unwrap(),
            "probing did not release the reader's lock"
        );
        store.commit(&vec![8]).unwrap();
        drop(store);
        assert!(!lock_is_held(&path).unwrap());
        // The probe let go of its own lock: a reader can start.
        let (_again, loaded) = open(&path).unwrap();
        assert_eq!(loaded, Some(vec![8]));
    }

    /// Only a state file that does not exist means "start fresh": one that exists but cannot
    /// be read (here a symlink loop, since root reads any mode) is an error, for the reader,
    /// for the status probe, and for the lock probe alike.
    #[cfg(unix)]
    #[test]
    fn a_file_that_cannot_be_read_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::os::unix::fs::symlink(&path, &path).unwrap();
        let error = open(&path).unwrap_err();
        assert!(
            matches!(&error, StateError::Unusable { path: p, .. } if *p == path),
            "{error}"
        );
        let error = read_unlocked::<Vec<u32>>(&path, "test", 2, refuse).unwrap_err();
        assert!(matches!(error, StateError::Unusable { .. }), "{error}");

        let other = dir.path().join("t.json");
        let lock = dir.path().join("t.json.lock");
        std::os::unix::fs::symlink(&lock, &lock).unwrap();
        let error = lock_is_held(&other).unwrap_err();
        assert!(error.to_string().contains("t.json.lock"), "{error}");
    }

    #[test]
    fn bad_files_are_errors_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty"),
            (
                b"{\"connector\":\"test\",\"version\":2,\"state\":[1,",
                "truncated",
            ),
            (b"not json", "not a state file"),
            (
                b"{\"connector\":\"other\",\"version\":2,\"state\":[]}",
                "belongs to connector",
            ),
            (
                b"{\"connector\":\"test\",\"version\":3,\"state\":[]}",
                "newer version",
            ),
            (
                b"{\"connector\":\"test\",\"version\":1,\"state\":[]}",
                "no migration",
            ),
            (
                b"{\"connector\":\"test\",\"version\":2,\"state\":{}}",
                "expected shape",
            ),
        ];
        for (bytes, expected) in cases {
            fs::write(&path, bytes).unwrap();
            let error = open(&path).unwrap_err().to_string();
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
            assert_eq!(
                fs::read(&path).unwrap(),
                *bytes,
                "the file must be left as it was"
            );
        }
    }

    /// A symlink planted at the name the temporary file once had (`<state>.tmp`), or anywhere
    /// in the directory, is never written through; files and lock are the owner's only.
    #[cfg(unix)]
    #[test]
    fn commits_never_write_through_a_planted_symlink_and_create_private_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("s.json.tmp")).unwrap();
        let (store, _) = open(&path).unwrap();
        store.commit(&vec![1]).unwrap();
        store.commit(&vec![2]).unwrap();
        assert_eq!(
            fs::read(&victim).unwrap(),
            b"precious",
            "written through the symlink"
        );
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600, "state file");
        assert_eq!(mode(&dir.path().join("s.json.lock")), 0o600, "lock file");
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["s.json", "s.json.lock", "s.json.tmp", "victim"],
            "a temporary was left behind"
        );
        drop(store);
        assert_eq!(open(&path).unwrap().1, Some(vec![2]));
    }

    /// A FIFO (or device) at the state's path is refused at once, never waited on.
    #[cfg(unix)]
    #[test]
    fn a_fifo_as_state_is_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        // Made in process: a forked `mkfifo` would, until its exec, share every open
        // descriptor of this test binary, and with it the locks of tests running beside this one.
        crate::runtime::file::testing::mkfifo(&path);
        let (tx, rx) = std::sync::mpsc::channel();
        let probe = path.clone();
        std::thread::spawn(move || {
            let unlocked = read_unlocked::<Vec<u32>>(&probe, "test", 2, refuse)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let locked = open(&probe).map(|_| ()).map_err(|e| e.to_string());
            let _ = tx.send((unlocked, locked));
        });
        let (unlocked, locked) = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("reading a FIFO as the state hung");
        for error in [unlocked.unwrap_err(), locked.unwrap_err()] {
            assert!(
                error.contains("not a regular file (it is a FIFO)"),
                "{error}"
            );
        }
        let error = read_unlocked::<Vec<u32>>(Path::new("/dev/zero"), "test", 2, refuse)
            .unwrap_err()
            .to_string();
        assert!(error.contains("character device"), "{error}");
    }

    #[test]
    fn a_state_file_over_the_cap_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        File::create(&path)
            .unwrap()
            .set_len(file::MAX_STATE_BYTES + 1)
            .unwrap();
        let error = open(&path).unwrap_err().to_string();
        assert!(error.contains("cap of 64 MiB for a state file"), "{error}");
        let error = read_unlocked::<Vec<u32>>(&path, "test", 2, refuse)
            .unwrap_err()
            .to_string();
        assert!(error.contains("cap of 64 MiB"), "{error}");
    }

    /// Two paths to one file (a symlink, a `..` detour) share one lock, and a commit through
    /// the symlink replaces the file it points to.
    #[cfg(unix)]
    #[test]
    fn an_alias_of_a_locked_state_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        let path = dir.path().join("s.json");
        let alias = dir.path().join("alias.json");
        std::os::unix::fs::symlink(&path, &alias).unwrap();
        let detour = dir.path().join("sub/../s.json");
        let (store, _) = open(&alias).unwrap();
        store.commit(&vec![5]).unwrap();
        assert!(
            fs::symlink_metadata(&alias)
                .unwrap()
                .file_type()
                .is_symlink(),
            "the commit replaced the symlink instead of the file"
        );
        for other in [&path, &detour, &alias] {
            let error = open(other).unwrap_err();
            assert!(
                matches!(error, StateError::Locked { .. }),
                "{}: {error}",
                other.display()
            );
        }
        assert!(lock_is_held(&path).unwrap());
        drop(store);
        assert_eq!(open(&path).unwrap().1, Some(vec![5]));
    }

    /// Leftovers of a killed commit are removed by the next reader; what is not a regular file
    /// is left alone.
    #[cfg(unix)]
    #[test]
    fn a_killed_commits_temporary_is_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let leftover = dir.path().join(".s.json.123.abc.tmp");
        fs::write(&leftover, b"half").unwrap();
        let odd = dir.path().join(".s.json.124.abc.tmp");
        fs::create_dir(&odd).unwrap();
        // Files that are not our temporaries: our prefix without `.tmp`, `.tmp` without it.
        let kept = dir.path().join(".s.json.125.abc.keep");
        fs::write(&kept, b"someone's").unwrap();
        let foreign = dir.path().join("other.tmp");
        fs::write(&foreign, b"someone else's").unwrap();
        let (_store, _) = open(&path).unwrap();
        assert!(!leftover.exists());
        assert!(odd.exists());
        assert!(
            kept.exists(),
            "a file with our prefix but not .tmp was removed"
        );
        assert!(
            foreign.exists(),
            "a .tmp file without our prefix was removed"
        );
    }

    /// The clean-up removes this state's temporaries only: not another state's whose name
    /// starts with this one's (`.s.json.x.…tmp` is `s.json.x`'s), nor a look-alike.
    #[test]
    fn the_clean_up_leaves_another_states_temporaries_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (_other, other_tmp) = file::create_temp_beside(dir.path(), "s.json.x").unwrap();
        let (_mine, my_tmp) = file::create_temp_beside(dir.path(), "s.json").unwrap();
        let look_alikes = [
            ".s.json.12.xyz.tmp",
            ".s.json..ab.tmp",
            ".s.json.12..tmp",
            ".s.json.12.AB.tmp",
        ];
        for name in look_alikes {
            fs::write(dir.path().join(name), b"not ours").unwrap();
        }
        let (_store, _) = open(&dir.path().join("s.json")).unwrap();
        assert!(!my_tmp.exists(), "this state's leftover was kept");
        assert!(other_tmp.exists(), "another state's temporary was removed");
        for name in look_alikes {
            assert!(dir.path().join(name).exists(), "{name} was removed");
        }
    }

    /// A dangling symlink another user planted at the state's path (or further down a chain of
    /// links) is refused, and nothing is created where it points (neither the state nor its
    /// lock); once the file it points to exists, the link is an alias like any other.
    #[cfg(unix)]
    #[test]
    fn a_dangling_symlink_another_user_planted_is_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        let me = rustix::process::geteuid().as_raw();
        let planted = dir.path().join("s.json");
        std::os::unix::fs::symlink(elsewhere.join("chosen.json"), &planted).unwrap();
        if std::os::unix::fs::lchown(&planted, Some(me + 1), None).is_err() {
            eprintln!("SKIPPED: another user's symlink needs root to make");
            return;
        }
        let error = open(&planted).unwrap_err().to_string();
        assert!(
            error.contains("symlink") && error.contains("does not exist"),
            "{error}"
        );
        // Our own link to another user's dangling link.
        let chained = dir.path().join("t.json");
        std::os::unix::fs::symlink(&planted, &chained).unwrap();
        assert!(
            open(&chained).is_err(),
            "followed a chain to a planted link"
        );
        assert!(lock_is_held(&planted).is_ok());
        assert_eq!(
            fs::read_dir(&elsewhere).unwrap().count(),
            0,
            "created a file where the planted link points"
        );
        fs::write(
            elsewhere.join("chosen.json"),
            b"{\"connector\":\"test\",\"version\":2,\"state\":[3]}",
        )
        .unwrap();
        assert_eq!(open(&planted).unwrap().1, Some(vec![3]));
    }

    #[test]
    fn a_state_directory_others_may_write_to_is_a_risk_unless_it_is_ours() {
        let me = 1000;
        // Ours, whatever its mode; root's without group or world write (/var/lib).
        assert_eq!(shared_directory_risk(0o40777, me, me), None);
        assert_eq!(shared_directory_risk(0o40755, 0, me), None);
        assert_eq!(shared_directory_risk(0o40700, 0, me), None);
        // Another user's, writable by group or world; sticky (/tmp) or not.
        let tmp = shared_directory_risk(0o41777, 0, me).unwrap();
        assert!(tmp.contains("sticky"), "{tmp}");
        for mode in [0o40777, 0o40775, 0o40757] {
            let risk = shared_directory_risk(mode, 0, me).unwrap();
            assert!(risk.contains("replace or remove"), "{mode:o}: {risk}");
        }
        assert!(shared_directory_risk(0o40770, 0, me).is_some());
        assert!(shared_directory_risk(0o40702, 0, me).is_some());
    }

    /// `status` probes the lock without following a planted symlink (which could point at any
    /// file) and without waiting on a planted FIFO (opening one to read waits for a writer).
    #[cfg(unix)]
    #[test]
    fn the_lock_probe_never_follows_a_symlink_nor_waits_on_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let linked = dir.path().join("linked.json");
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, b"").unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("linked.json.lock")).unwrap();
        let error = lock_is_held(&linked).unwrap_err().to_string();
        assert!(error.contains("cannot open lock file"), "{error}");

        let piped = dir.path().join("piped.json");
        let fifo = dir.path().join("piped.json.lock");
        // Made in process: a forked `mkfifo` would, until its exec, share every open
        // descriptor of this test binary, and with it the locks of tests running beside this one.
        crate::runtime::file::testing::mkfifo(&fifo);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(lock_is_held(&piped).map_err(|e| e.to_string()));
        });
        let answer = rx.recv_timeout(std::time::Duration::from_secs(10));
        assert!(answer.is_ok(), "the probe waited on a FIFO");
        // Unblock a probe that did wait, so the thread ends.
        use std::os::unix::fs::OpenOptionsExt;
        let _ = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo);
    }

    /// A path that goes through a regular file names nothing a state can be kept at: refused,
    /// not taken for a file yet to be created.
    #[test]
    fn a_path_through_a_regular_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("afile");
        fs::write(&file, b"").unwrap();
        assert!(canonical_target(&file.join("s.json")).is_err());
        assert!(open(&file.join("s.json")).is_err());
        // Beside it, a state yet to be created is fine.
        assert_eq!(
            canonical_target(&dir.path().join("s.json")).unwrap(),
            fs::canonicalize(dir.path()).unwrap().join("s.json")
        );
    }
}
