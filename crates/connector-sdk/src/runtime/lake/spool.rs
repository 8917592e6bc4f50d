//! Runtime layer: the lake's local spool, the durable place a batch is delivered to before its
//! checkpoint is committed.
//!
//! A spool is a folder (`spool.dir`, created `0700`) holding `spool.json` (its identity, and the
//! state file it belongs to), a lock, and numbered segments `segment-<seq:010>.ndjson` of the
//! records as the input emitted them. One segment is **open**: batches are appended to it and
//! `fsync`ed before their checkpoint is committed. The committed state names the open segment
//! and its committed length ([`Destination`]); every segment before it is **sealed**: immutable,
//! holding only committed records, waiting to be uploaded and then removed.
//!
//! An uploaded segment's file is kept as the spool's one **spare** (`spare.ndjson`) and the
//! next segment is written over it, from its start, instead of into a new file: its pages are
//! still in the page cache, and writing over them costs a fraction of writing new ones (on the
//! VMs this was measured on, memory the kernel has freed goes back to the host, and a new page
//! costs a host fault: 2.4 s of system time a GB, against 0.05 s written over; PostgreSQL
//! recycles its WAL segments for the same reason). Until it is sealed, such a segment's file
//! may hold an old segment's bytes past what was appended; the spool cuts them before the
//! commit that seals it, and a restart cuts the open segment to the committed length anyway.
//! The spare is removed at the end of a read; it adds at most one segment to the spool's disk.
//!
//! On open, the spool is brought in step with the state: the open segment is cut to the
//! committed length (what lies past it was delivered but never checkpointed: the input fetches
//! it again), and segments after it (never committed) are removed. A spool that disagrees in a
//! way that cutting cannot mend is refused, naming what is wrong: shorter than the committed
//! length, another state's spool, or a state naming a spool that is not there.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::contract::state_rules::Destination;
use crate::runtime::file;
use crate::runtime::lake::lake_config::SpoolConfig;

/// The spool's identity file.
pub const SPOOL_FILE: &str = "spool.json";
/// The lock a reader holds on its spool.
const LOCK_FILE: &str = "spool.lock";
/// An uploaded segment's file, kept to be written over by the next segment.
pub const SPARE_FILE: &str = "spare.ndjson";
/// The largest `spool.json` read.
const MAX_SPOOL_FILE_BYTES: u64 = 64 << 10;

/// The most bytes one `write(2)` of [`Spool::append`] hands the kernel. A batch is often several
/// MiB; written in one call it costs four to six times the system time of the same bytes in
/// 1 MiB calls on the Linux 6.18 VMs this was measured on (`BENCHMARKS.md`).
const APPEND_WRITE_BYTES: usize = 1 << 20;

/// Why a spool cannot be used. Nothing was cut or removed when it is returned.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The spool and the state disagree, or the spool is not usable as one.
    #[error("lake spool {dir}: {reason}")]
    Refused {
        /// The spool's folder.
        dir: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
    },
    /// Another reader holds the spool.
    #[error("lake spool {dir}: another reader is using it (its lock {lock} is held)")]
    Locked {
        /// The spool's folder.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// A read or write of the spool failed.
    #[error("lake spool {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// `spool.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpoolFile {
    spool_id: String,
    /// The state file (resolved) the spool belongs to.
    state: PathBuf,
    /// Whether that state has been committed with this spool's position: until then, nothing
    /// spooled is covered by a state, and a restart without a position may cut it all.
    #[serde(default)]
    committed: bool,
}

/// A sealed segment waiting for upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    /// Its sequence number.
    pub seq: u64,
    /// Its length.
    pub bytes: u64,
    /// When its first record was spooled (for a segment of an earlier run: its last write).
    pub since: SystemTime,
}

/// An open, locked spool in step with its state.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    id: String,
    /// The state file it belongs to, and whether a commit has named it ([`SpoolFile`]).
    state: PathBuf,
    claimed: bool,
    _lock: File,
    /// The open segment's number.
    seq: u64,
    /// Its file, once something was appended in this run (or it held committed records).
    file: Option<File>,
    /// Its length (everything appended, committed or not).
    len: u64,
    /// Whether its file is a spare written over, which may hold an old segment's bytes past
    /// `len` (cut before the commit that seals it).
    stale_tail: bool,
    /// How much of it the state covers.
    committed: u64,
    /// When its first record was spooled.
    first_at: Option<SystemTime>,
    sealed: BTreeMap<u64, Sealed>,
}

/// The name of segment `seq`.
pub fn segment_name(seq: u64) -> String {
    format!("segment-{seq:010}.ndjson")
}

fn segment_seq(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("segment-")?.strip_suffix(".ndjson")?;
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segments in `dir`, by number, with their metadata.
fn list_segments(dir: &Path) -> Result<BTreeMap<u64, fs::Metadata>, SpoolError> {
    let io_error = |source| SpoolError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut found = BTreeMap::new();
    for entry in fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let name = entry.file_name();
        let Some(seq) = segment_seq(&name.to_string_lossy()) else {
            continue;
        };
        let meta = fs::symlink_metadata(entry.path()).map_err(io_error)?;
        if !meta.is_file() {
            return Err(SpoolError::Refused {
                dir: dir.to_path_buf(),
                reason: format!(
                    "{} is not a regular file; a spool holds only its own segments",
                    entry.path().display()
                ),
            });
        }
        found.insert(seq, meta);
    }
    Ok(found)
}

/// `fsync`s the directory `dir` (makes a create, rename or removal in it durable).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Spool {
    /// Opens the spool of `config` for the state file `state` (resolved), which was committed
    /// with `destination` (`None`: no commit into a lake yet), and brings it in step with that
    /// state. Returns the spool; its [`Spool::position`] is where the next commit starts from.
    pub fn open(
        config: &SpoolConfig,
        state: &Path,
        destination: Option<&Destination>,
    ) -> Result<Spool, SpoolError> {
        let dir = config.dir.clone();
        let refused = |reason: String| SpoolError::Refused {
            dir: dir.clone(),
            reason,
        };
        let io_at = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SpoolError::Io { path, source }
        };
        create_private_dir(&dir).map_err(io_at(&dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = file::take_lock(&lock_path).map_err(|refusal| match refusal {
            file::LockRefused::Held => SpoolError::Locked {
                dir: dir.clone(),
                lock: lock_path.clone(),
            },
            file::LockRefused::Unusable(reason) => refused(reason),
        })?;
        let identity_path = dir.join(SPOOL_FILE);
        let identity = match file::read_regular(&identity_path, MAX_SPOOL_FILE_BYTES, "spool") {
            Ok(bytes) => Some(serde_json::from_slice::<SpoolFile>(&bytes).map_err(|e| {
                refused(format!(
                    "{} is not a spool file this connector wrote ({e})",
                    identity_path.display()
                ))
            })?),
            Err(file::ReadError::NotFound) => None,
            Err(e) => return Err(refused(e.to_string())),
        };
        let segments = list_segments(&dir)?;
        let (id, claimed, seq, committed) = match (destination, identity) {
            (None, None) => {
                if !segments.is_empty() {
                    return Err(refused(format!(
                        "it holds {} segment(s) but no {SPOOL_FILE}: not a spool this reader created; give the lake an empty folder of its own",
                        segments.len()
                    )));
                }
                let identity = SpoolFile {
                    spool_id: uuid::Uuid::new_v4().to_string(),
                    state: state.to_path_buf(),
                    committed: false,
                };
                write_identity(&dir, &identity).map_err(io_at(&identity_path))?;
                (identity.spool_id, false, 1, 0)
            }
            (None, Some(identity)) => {
                if identity.state != state {
                    return Err(refused(format!(
                        "it belongs to the state file {} (spool {}), not to {}; give each state its own spool",
                        identity.state.display(),
                        identity.spool_id,
                        state.display()
                    )));
                }
                // No commit has named this spool yet (a first run killed before its first
                // commit): nothing spooled is covered by a state, and is cut. Once one has, a
                // state without a position was removed or replaced: the spool's records are
                // committed and not in the lake, so they are never cut.
                let holding = segments.values().any(|m| m.len() > 0);
                if identity.committed && holding {
                    return Err(refused(format!(
                        "it holds committed segments waiting for upload ({}) but the state {} names no spool position (was it removed or replaced?); restore that state, or remove the segments to drop them (the input then reads from its configured start again)",
                        segments
                            .keys()
                            .map(|s| segment_name(*s))
                            .collect::<Vec<_>>()
                            .join(", "),
                        state.display()
                    )));
                }
                for &seq in segments.keys().filter(|&&seq| seq != 1) {
                    let path = dir.join(segment_name(seq));
                    fs::remove_file(&path).map_err(io_at(&path))?;
                }
                (identity.spool_id, identity.committed, 1, 0)
            }
            (Some(d), None) => {
                return Err(refused(format!(
                    "the state names spool {} at segment {}, offset {}, but {} holds no {SPOOL_FILE}: the records spooled and committed there would be lost; point spool.dir at that spool",
                    d.spool_id,
                    d.segment,
                    d.offset,
                    dir.display()
                )));
            }
            (Some(d), Some(identity)) => {
                if identity.spool_id != d.spool_id {
                    return Err(refused(format!(
                        "it is spool {}, but the state names spool {}: a state is only read with its own spool",
                        identity.spool_id, d.spool_id
                    )));
                }
                (identity.spool_id, identity.committed, d.segment, d.offset)
            }
        };
        let mut spool = Spool {
            dir: dir.clone(),
            id,
            state: state.to_path_buf(),
            claimed,
            _lock: lock,
            seq,
            file: None,
            len: 0,
            stale_tail: false,
            committed,
            first_at: None,
            sealed: BTreeMap::new(),
        };
        spool.bring_in_step(segments)?;
        Ok(spool)
    }

    /// Cuts the open segment to the committed length, removes segments after it, and lists the
    /// sealed ones before it.
    fn bring_in_step(&mut self, segments: BTreeMap<u64, fs::Metadata>) -> Result<(), SpoolError> {
        let mut changed_dir = false;
        for (&seq, meta) in &segments {
            let path = self.segment_path(seq);
            let io_error = |source| SpoolError::Io {
                path: path.clone(),
                source,
            };
            if seq < self.seq {
                let since = meta.modified().unwrap_or_else(|_| SystemTime::now());
                self.sealed.insert(
                    seq,
                    Sealed {
                        seq,
                        bytes: meta.len(),
                        since,
                    },
                );
            } else if seq > self.seq {
                tracing::warn!(
                    message = "Removing a spool segment no commit named: its records were never checkpointed and will be read again.",
                    segment = %path.display(),
                    bytes = meta.len(),
                );
                fs::remove_file(&path).map_err(io_error)?;
                changed_dir = true;
            }
        }
        let open_path = self.segment_path(self.seq);
        let open_len = segments.get(&self.seq).map(fs::Metadata::len);
        match open_len {
            None if self.committed > 0 => {
                return Err(SpoolError::Refused {
                    dir: self.dir.clone(),
                    reason: format!(
                        "the state covers {} bytes of {}, which does not exist: records committed to the spool are missing (was it cleaned?); they are not in the lake",
                        self.committed,
                        open_path.display()
                    ),
                });
            }
            None => {}
            Some(len) if len < self.committed => {
                return Err(SpoolError::Refused {
                    dir: self.dir.clone(),
                    reason: format!(
                        "{} holds {len} bytes, fewer than the {} the state covers: records committed to the spool are missing; they are not in the lake",
                        open_path.display(),
                        self.committed
                    ),
                });
            }
            Some(len) => {
                let io_error = |source| SpoolError::Io {
                    path: open_path.clone(),
                    source,
                };
                // Not append mode: writes are positional, at the segment's length.
                let file = OpenOptions::new()
                    .write(true)
                    .open(&open_path)
                    .map_err(io_error)?;
                if len > self.committed {
                    tracing::info!(
                        message = "Cutting the spool's uncommitted tail: those records were delivered but never checkpointed, and will be read again.",
                        segment = %open_path.display(),
                        committed_bytes = self.committed,
                        cut_bytes = len - self.committed,
                    );
                    file.set_len(self.committed).map_err(io_error)?;
                    file.sync_all().map_err(io_error)?;
                }
                self.len = self.committed;
                if self.len > 0 {
                    self.first_at = Some(SystemTime::now());
                }
                self.file = Some(file);
            }
        }
        if changed_dir {
            sync_dir(&self.dir).map_err(|source| SpoolError::Io {
                path: self.dir.clone(),
                source,
            })?;
        }
        Ok(())
    }

    /// The spool's identity.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The spool's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of segment `seq`.
    pub fn segment_path(&self, seq: u64) -> PathBuf {
        self.dir.join(segment_name(seq))
    }

    /// Appends `records` (whole NDJSON lines) to the open segment and makes them durable
    /// (`fsync`) before returning: only then may a checkpoint cover them.
    pub fn append(&mut self, records: &[u8]) -> Result<(), SpoolError> {
        if records.is_empty() {
            return Ok(());
        }
        let path = self.segment_path(self.seq);
        let io_error = |source| SpoolError::Io {
            path: path.clone(),
            source,
        };
        if self.file.is_none() {
            let spare = self.spare_path();
            let recycled =
                missing_is_fine(fs::rename(&spare, &path)).map_err(|source| SpoolError::Io {
                    path: spare,
                    source,
                })?;
            let file = OpenOptions::new()
                .create(true)
                .write(true)
                // A spare keeps its bytes (written over, cut at the seal); a new file is empty.
                .truncate(!recycled)
                .open(&path)
                .map_err(io_error)?;
            // The segment's name is durable before any commit names it.
            sync_dir(&self.dir).map_err(io_error)?;
            self.stale_tail = recycled;
            self.file = Some(file);
        }
        if let Some(file) = self.file.as_mut() {
            let mut at = self.len;
            records
                .chunks(APPEND_WRITE_BYTES)
                .try_for_each(|piece| {
                    file.write_all_at(piece, at)?;
                    at += piece.len() as u64;
                    Ok(())
                })
                .and_then(|()| file.sync_data())
                .map_err(io_error)?;
        }
        self.len += records.len() as u64;
        self.first_at.get_or_insert_with(SystemTime::now);
        Ok(())
    }

    /// The position a commit covering everything appended so far names: the open segment and
    /// its length.
    pub fn position(&self) -> Destination {
        self.destination(self.seq, self.len)
    }

    /// The position a commit that seals the open segment names (the next segment at offset 0),
    /// the open segment's file first cut to its length and made durable when it was a spare
    /// written over: a sealed segment holds exactly its records.
    pub fn seal_position(&mut self) -> Result<Destination, SpoolError> {
        if self.stale_tail {
            let path = self.segment_path(self.seq);
            if let Some(file) = &self.file {
                file.set_len(self.len)
                    .and_then(|()| file.sync_all())
                    .map_err(|source| SpoolError::Io { path, source })?;
            }
            self.stale_tail = false;
        }
        Ok(self.destination(self.seq + 1, 0))
    }

    fn destination(&self, segment: u64, offset: u64) -> Destination {
        Destination {
            spool_id: self.id.clone(),
            segment,
            offset,
            sealed_through: segment.checked_sub(1).filter(|&s| s > 0),
        }
    }

    /// Whether the open segment is due to be sealed at this commit: it holds `max_bytes`, or
    /// its first record was spooled `roll_seconds` ago.
    pub fn due(&self, config: &SpoolConfig, now: SystemTime) -> bool {
        if self.len == 0 {
            return false;
        }
        let old = self.first_at.is_some_and(|at| {
            now.duration_since(at)
                .is_ok_and(|age| age.as_secs() >= config.roll_seconds)
        });
        self.len >= config.segment_max_bytes || old
    }

    /// Records that `position` was committed: with a position past the open segment, the open
    /// segment is sealed (it will be uploaded) and the next one opened.
    pub fn committed(&mut self, position: &Destination) {
        if position.segment > self.seq {
            self.sealed.insert(
                self.seq,
                Sealed {
                    seq: self.seq,
                    bytes: self.len,
                    since: self.first_at.unwrap_or_else(SystemTime::now),
                },
            );
            self.seq = position.segment;
            self.file = None;
            self.len = 0;
            self.stale_tail = false;
            self.first_at = None;
        }
        self.committed = position.offset;
    }

    /// Notes in `spool.json`, once, that a commit has named this spool (call after a commit):
    /// from then on a state without a position never cuts it.
    pub fn claim(&mut self) -> Result<(), SpoolError> {
        if self.claimed {
            return Ok(());
        }
        let identity = SpoolFile {
            spool_id: self.id.clone(),
            state: self.state.clone(),
            committed: true,
        };
        write_identity(&self.dir, &identity).map_err(|source| SpoolError::Io {
            path: self.dir.join(SPOOL_FILE),
            source,
        })?;
        self.claimed = true;
        Ok(())
    }

    /// Whether everything appended is covered by the last commit (the open segment may be
    /// sealed by a commit of the same checkpoint).
    pub fn all_committed(&self) -> bool {
        self.len == self.committed
    }

    /// Bytes in the open segment.
    pub fn open_bytes(&self) -> u64 {
        self.len
    }

    /// The oldest sealed segment.
    pub fn oldest_sealed(&self) -> Option<Sealed> {
        self.sealed.values().next().copied()
    }

    /// The sealed segments, oldest first.
    pub fn sealed(&self) -> impl Iterator<Item = &Sealed> {
        self.sealed.values()
    }

    /// Bytes in the spool: the open segment and the sealed ones.
    pub fn total_bytes(&self) -> u64 {
        self.len + self.sealed.values().map(|s| s.bytes).sum::<u64>()
    }

    /// When the oldest record still in the spool was spooled.
    pub fn oldest_since(&self) -> Option<SystemTime> {
        self.sealed
            .values()
            .map(|s| s.since)
            .next()
            .or(self.first_at)
    }

    /// Removes sealed segment `seq`, whose every object is durable in the lake, and makes the
    /// removal durable: its file becomes the spare (replacing an older one) that the next
    /// segment is written over.
    pub fn remove_uploaded(&mut self, seq: u64) -> Result<(), SpoolError> {
        let path = self.segment_path(seq);
        missing_is_fine(fs::rename(&path, self.spare_path()))
            .map_err(|source| SpoolError::Io { path, source })?;
        sync_dir(&self.dir).map_err(|source| SpoolError::Io {
            path: self.dir.clone(),
            source,
        })?;
        self.sealed.remove(&seq);
        Ok(())
    }

    /// Removes the spare, if any (the end of a read: the spool keeps no records it no longer
    /// needs).
    pub fn remove_spare(&mut self) -> Result<(), SpoolError> {
        let spare = self.spare_path();
        missing_is_fine(fs::remove_file(&spare)).map_err(|source| SpoolError::Io {
            path: spare,
            source,
        })?;
        Ok(())
    }

    /// Where the spare segment lives (see [`SPARE_FILE`]).
    fn spare_path(&self) -> PathBuf {
        self.dir.join(SPARE_FILE)
    }
}

/// A rename or removal whose source may already be gone: `Ok(true)` if it happened,
/// `Ok(false)` if there was nothing to move.
fn missing_is_fine(result: io::Result<()>) -> io::Result<bool> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Creates `dir` (mode `0700`) if it does not exist.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `spool.json` atomically.
fn write_identity(dir: &Path, identity: &SpoolFile) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(identity).map_err(io::Error::other)?;
    bytes.push(b'\n');
    let (mut tmp, tmp_path) = file::create_temp_beside(dir, SPOOL_FILE)?;
    let written = tmp.write_all(&bytes).and_then(|()| tmp.sync_all());
    drop(tmp);
    if let Err(e) = written.and_then(|()| fs::rename(&tmp_path, dir.join(SPOOL_FILE))) {
        let _ = fs::remove_file(&tmp_path);
        return Err(e);
    }
    sync_dir(dir)
}

/// The spool as `status` shows it, read without locking or changing it: the segments waiting
/// (sealed and open), their bytes, and when the oldest was last written.
pub fn describe(dir: &Path) -> Result<Vec<(u64, u64, SystemTime)>, SpoolError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    Ok(list_segments(dir)?
        .into_iter()
        .map(|(seq, meta)| {
            (
                seq,
                meta.len(),
                meta.modified().unwrap_or_else(|_| SystemTime::now()),
            )
        })
        .collect())
}

/// `status`'s lines on the spool in `dir` (read-only), given the position the state names.
pub fn status(
    dir: &Path,
    destination: Option<&Destination>,
    max_bytes: u64,
) -> Result<crate::contract::input::StateDescription, SpoolError> {
    let segments = describe(dir)?;
    let open = destination.map_or(1, |d| d.segment);
    let sealed: Vec<_> = segments.iter().filter(|(seq, _, _)| *seq < open).collect();
    let sealed_bytes: u64 = sealed.iter().map(|(_, b, _)| b).sum();
    let open_bytes = destination.map_or(0, |d| d.offset);
    let total = sealed_bytes + open_bytes;
    let oldest = segments.first().map(|(_, _, at)| {
        let age = SystemTime::now()
            .duration_since(*at)
            .map_or(0, |d| d.as_secs());
        (segments[0].0, age)
    });
    let mut lines = vec![
        ("spool".to_owned(), dir.display().to_string()),
        (
            "segments pending".to_owned(),
            format!(
                "{} sealed, waiting for upload ({sealed_bytes} bytes); open segment {open_bytes} bytes committed",
                sealed.len()
            ),
        ),
        (
            "spool bytes".to_owned(),
            format!(
                "{total} of {max_bytes}{}",
                if total > max_bytes {
                    " (full: collection waits for the lake)"
                } else {
                    ""
                }
            ),
        ),
    ];
    if let Some((seq, age)) = oldest {
        lines.push((
            "oldest segment".to_owned(),
            format!("{} last written {age} s ago", segment_name(seq)),
        ));
    }
    Ok(crate::contract::input::StateDescription {
        lines,
        json: serde_json::json!({
            "dir": dir.display().to_string(),
            "sealed_segments": sealed.len(),
            "sealed_bytes": sealed_bytes,
            "open_bytes": open_bytes,
            "bytes": total,
            "max_bytes": max_bytes,
            "full": total > max_bytes,
            "oldest_age_seconds": oldest.map(|(_, age)| age),
        }),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn config(dir: &Path) -> SpoolConfig {
        SpoolConfig {
            dir: dir.join("spool"),
            max_bytes: 1 << 20,
            segment_max_bytes: 10,
            roll_seconds: 3600,
            drain_seconds: 900,
        }
    }

    /// A new spool in a temporary folder, with its config and state file path.
    fn fresh_spool() -> (tempfile::TempDir, SpoolConfig, PathBuf, Spool) {
        let tmp = tempfile::tempdir().unwrap();
        let config = config(tmp.path());
        let state = tmp.path().join("state.json");
        let spool = Spool::open(&config, &state, None).unwrap();
        (tmp, config, state, spool)
    }

    fn contents(spool: &Spool, seq: u64) -> Vec<u8> {
        fs::read(spool.segment_path(seq)).unwrap()
    }

    #[test]
    fn a_restart_cuts_the_uncommitted_tail_and_keeps_the_sealed_segments() {
        let (_tmp, config, state, mut spool) = fresh_spool();
        spool.append(b"{\"n\":0}\n{\"n\":1}\n").unwrap();
        assert!(spool.due(&config, SystemTime::now()));
        let sealed = spool.seal_position().unwrap();
        assert_eq!(
            (sealed.segment, sealed.offset, sealed.sealed_through),
            (2, 0, Some(1))
        );
        spool.committed(&sealed);
        spool.append(b"{\"n\":2}\n").unwrap();
        let at = spool.position();
        spool.committed(&at);
        assert_eq!((at.segment, at.offset), (2, 8));
        // Delivered, never committed; then a kill.
        spool.append(b"{\"n\":3}\n").unwrap();
        drop(spool);

        let spool = Spool::open(&config, &state, Some(&at)).unwrap();
        assert_eq!(contents(&spool, 2), b"{\"n\":2}\n");
        assert_eq!(contents(&spool, 1), b"{\"n\":0}\n{\"n\":1}\n");
        assert_eq!(
            spool.oldest_sealed().map(|s| (s.seq, s.bytes)),
            Some((1, 16))
        );
        assert_eq!(spool.total_bytes(), 24);
        assert_eq!(spool.position(), at);
    }

    /// A segment is due at a commit once it holds `segment_max_bytes`, or once its first
    /// record is `roll_seconds` old; an empty one never.
    #[test]
    fn a_segment_is_due_by_size_or_by_the_age_of_its_first_record() {
        let tmp = tempfile::tempdir().unwrap();
        let config = SpoolConfig {
            segment_max_bytes: 100,
            roll_seconds: 300,
            drain_seconds: 900,
            ..config(tmp.path())
        };
        let state = tmp.path().join("state.json");
        let mut spool = Spool::open(&config, &state, None).unwrap();
        let now = SystemTime::now();
        let later = |s: u64| now + std::time::Duration::from_secs(s);
        assert!(
            !spool.due(&config, later(10_000)),
            "an empty segment is never due"
        );
        spool.append(b"{\"n\":0}\n").unwrap();
        assert!(!spool.due(&config, later(0)));
        assert!(!spool.due(&config, later(290)));
        assert!(spool.due(&config, later(301)));
        spool.append(&[b'x'; 99]).unwrap();
        assert!(spool.due(&config, later(0)), "past segment_max_bytes");
    }

    #[test]
    fn a_first_run_killed_before_its_first_commit_starts_over() {
        let (_tmp, config, state, mut spool) = fresh_spool();
        let id = spool.id().to_owned();
        spool.append(b"{\"n\":0}\n").unwrap();
        drop(spool);
        let spool = Spool::open(&config, &state, None).unwrap();
        assert_eq!(spool.id(), id);
        assert_eq!(contents(&spool, 1), b"");
        assert_eq!(spool.total_bytes(), 0);
    }

    #[test]
    fn segments_no_commit_named_are_removed() {
        let (_tmp, config, state, spool) = fresh_spool();
        let at = spool.position();
        let stray = spool.segment_path(2);
        drop(spool);
        fs::write(&stray, b"{\"n\":9}\n").unwrap();
        let spool = Spool::open(&config, &state, Some(&at)).unwrap();
        assert!(!stray.exists());
        assert_eq!(spool.total_bytes(), 0);
    }

    #[test]
    fn mismatched_spools_and_states_are_refused_and_left_untouched() {
        let (tmp, config, state, mut spool) = fresh_spool();
        spool.append(b"{\"n\":0}\n").unwrap();
        let at = spool.position();
        spool.committed(&at);
        drop(spool);
        let refused =
            |d: Option<&Destination>, s: &Path| Spool::open(&config, s, d).unwrap_err().to_string();

        // Another spool's state.
        let other = Destination {
            spool_id: "another".into(),
            ..at.clone()
        };
        let e = refused(Some(&other), &state);
        assert!(e.contains("the state names spool another"), "{e}");
        // The spool is shorter than the state says.
        let longer = Destination {
            offset: 99,
            ..at.clone()
        };
        let e = refused(Some(&longer), &state);
        assert!(e.contains("fewer than the 99"), "{e}");
        // Another state file's spool.
        let e = refused(None, &tmp.path().join("other.json"));
        assert!(e.contains("belongs to the state file"), "{e}");
        // Still whole.
        assert_eq!(
            fs::read(config.dir.join(segment_name(1))).unwrap(),
            b"{\"n\":0}\n"
        );
        // The state names a spool that is not there.
        let empty = SpoolConfig {
            dir: tmp.path().join("empty"),
            ..config.clone()
        };
        let e = Spool::open(&empty, &state, Some(&at))
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds no spool.json"), "{e}");
        // A second reader.
        let _held = Spool::open(&config, &state, Some(&at)).unwrap();
        let e = refused(Some(&at), &state);
        assert!(e.contains("another reader"), "{e}");
    }

    #[test]
    fn a_state_without_a_position_never_drops_sealed_segments() {
        let (_tmp, config, state, mut spool) = fresh_spool();
        spool.append(b"{\"n\":0}\n").unwrap();
        let sealed = spool.seal_position().unwrap();
        spool.committed(&sealed);
        spool.claim().unwrap();
        drop(spool);
        let e = Spool::open(&config, &state, None).unwrap_err().to_string();
        assert!(e.contains("committed segments waiting"), "{e}");
        assert!(config.dir.join(segment_name(1)).exists());
    }

    #[test]
    fn the_next_segment_is_written_over_an_uploaded_one_and_sealed_at_its_own_length() {
        use std::os::unix::fs::MetadataExt;
        let (_tmp, config, state, mut spool) = fresh_spool();
        let long = b"{\"n\":\"a long record of the first segment\"}\n";
        spool.append(long).unwrap();
        let inode = fs::metadata(spool.segment_path(1)).unwrap().ino();
        let sealed = spool.seal_position().unwrap();
        spool.committed(&sealed);
        spool.remove_uploaded(1).unwrap();
        assert!(!spool.segment_path(1).exists());

        // Segment 2 is the first one's file, written over from its start.
        spool.append(b"{\"n\":1}\n").unwrap();
        assert!(!config.dir.join(SPARE_FILE).exists());
        let path = spool.segment_path(2);
        assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
        let at = spool.position();
        spool.committed(&at);
        spool.append(b"{\"n\":2}\n").unwrap();
        let sealed = spool.seal_position().unwrap();
        spool.committed(&sealed);
        assert_eq!(contents(&spool, 2), b"{\"n\":1}\n{\"n\":2}\n");
        assert_eq!(spool.oldest_sealed().map(|s| s.bytes), Some(16));
        spool.remove_uploaded(2).unwrap();

        // Killed while segment 3 is written over the spare: the restart cuts the old bytes.
        spool.append(b"{\"n\":3}\n").unwrap();
        let at = spool.position();
        spool.committed(&at);
        drop(spool);
        let mut spool = Spool::open(&config, &state, Some(&at)).unwrap();
        assert_eq!(contents(&spool, 3), b"{\"n\":3}\n");
        spool.append(b"{\"n\":4}\n").unwrap();
        assert_eq!(contents(&spool, 3), b"{\"n\":3}\n{\"n\":4}\n");
        spool.remove_spare().unwrap();
    }

    #[test]
    fn uploaded_segments_leave_the_spool() {
        let (_tmp, config, _state, mut spool) = fresh_spool();
        spool.append(b"{\"n\":0}\n").unwrap();
        let sealed = spool.seal_position().unwrap();
        spool.committed(&sealed);
        assert_eq!(spool.total_bytes(), 8);
        spool.remove_uploaded(1).unwrap();
        assert_eq!(spool.total_bytes(), 0);
        assert!(spool.oldest_sealed().is_none());
        assert!(!spool.segment_path(1).exists());
        assert!(config.dir.join(SPARE_FILE).exists());
        spool.remove_spare().unwrap();
        assert!(!config.dir.join(SPARE_FILE).exists());
    }
}
