//! Runtime layer: the lake destination as the host sees it: a [`LakeSink`] (the host's
//! [`RecordSink`]: a batch is delivered by appending it to the spool's open segment and
//! `fsync`ing it) and [`LakeCheckpoints`] (the host's [`Checkpoints`]: a commit writes the
//! input's checkpoint and the spool position together, and seals the open segment when it is
//! due). The host's order, deliver then commit, is unchanged: the state never covers records
//! that are not durable in the spool.
//!
//! Both share one [`LakeCore`] with the uploader ([`crate::runtime::lake::uploader`]), which
//! takes sealed segments from it and tells it when one is gone. When the spool holds more than
//! `max_bytes`, `deliver` waits for the uploader (the checkpoint does not move), logging once a
//! minute and setting `lake_waiting`; when the uploader stops on an error that retrying cannot
//! mend, `deliver` fails and the read stops.

use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::contract::error::ErrorKind;
use crate::contract::input::RecordBuf;
use crate::runtime::checkpoint::{Checkpoints, HostError};
use crate::runtime::lake::lake_config::SpoolConfig;
use crate::runtime::lake::lake_parts::LakeStep;
use crate::runtime::lake::spool::{Sealed, Spool, SpoolError};
use crate::runtime::metrics::LakeMetrics;
use crate::runtime::output::RecordSink;
use crate::runtime::state_file::StateStore;

/// How often a waiting `deliver` says so.
const WAIT_LOG_EVERY: Duration = Duration::from_secs(60);
/// How often a waiting `deliver` looks at the shutdown signal.
const WAIT_TICK: Duration = Duration::from_millis(200);

/// Why the lake stopped the read: its class decides the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeFailure {
    /// The class (auth: exit 3, config: exit 2, else 1).
    pub kind: ErrorKind,
    /// What happened, for the person on call.
    pub message: String,
}

impl From<SpoolError> for LakeFailure {
    fn from(e: SpoolError) -> Self {
        LakeFailure {
            kind: match e {
                SpoolError::Refused { .. } | SpoolError::Locked { .. } => ErrorKind::Config,
                SpoolError::Io { .. } => ErrorKind::Fatal,
            },
            message: e.to_string(),
        }
    }
}

impl From<LakeFailure> for HostError {
    fn from(f: LakeFailure) -> Self {
        HostError::Destination {
            kind: f.kind,
            message: f.message,
        }
    }
}

struct Inner<S> {
    spool: Spool,
    store: StateStore<S>,
    /// The checkpoint last committed (a seal with no new batch commits it again).
    last: S,
    failure: Option<LakeFailure>,
}

/// The state the sink, the checkpoints and the uploader share.
pub struct LakeCore<S> {
    inner: Mutex<Inner<S>>,
    /// Signalled when the spool shrinks or the lake fails.
    changed: Condvar,
    /// Wakes the uploader: a segment was sealed, or a drain was asked for.
    pub(crate) wake: tokio::sync::Notify,
    drain: std::sync::atomic::AtomicBool,
    config: SpoolConfig,
    metrics: Option<LakeMetrics>,
    on_step: Option<fn(&LakeStep)>,
}

impl<S> std::fmt::Debug for LakeCore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeCore").finish_non_exhaustive()
    }
}

fn unix_ms(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl<S: Serialize + DeserializeOwned + Clone + Send + 'static> LakeCore<S> {
    /// The core of a read into a lake: the spool (in step with the state), the state store and
    /// the checkpoint it last committed.
    pub fn new(
        spool: Spool,
        store: StateStore<S>,
        last: S,
        config: SpoolConfig,
        metrics: Option<LakeMetrics>,
        on_step: Option<fn(&LakeStep)>,
    ) -> Arc<LakeCore<S>> {
        let core = Arc::new(LakeCore {
            inner: Mutex::new(Inner {
                spool,
                store,
                last,
                failure: None,
            }),
            changed: Condvar::new(),
            wake: tokio::sync::Notify::new(),
            drain: std::sync::atomic::AtomicBool::new(false),
            config,
            metrics,
            on_step,
        });
        {
            let inner = core.lock();
            core.record_spool(&inner.spool);
        }
        core
    }

    fn lock(&self) -> MutexGuard<'_, Inner<S>> {
        match self.inner.lock() {
            Ok(inner) => inner,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn step(&self, step: LakeStep) {
        if let Some(hook) = self.on_step {
            hook(&step);
        }
    }

    fn record_spool(&self, spool: &Spool) {
        if let Some(m) = &self.metrics {
            m.spool(
                spool.total_bytes(),
                spool.sealed().count(),
                spool.oldest_since().map_or(0, unix_ms),
            );
        }
    }

    /// Commits `checkpoint` with the spool's position, sealing the open segment when `seal`.
    fn commit_locked(
        &self,
        inner: &mut Inner<S>,
        checkpoint: &S,
        seal: bool,
    ) -> Result<(), HostError> {
        let position = if seal {
            inner
                .spool
                .seal_position()
                .map_err(|e| HostError::from(LakeFailure::from(e)))?
        } else {
            inner.spool.position()
        };
        inner
            .store
            .commit_with(checkpoint, Some(&position))
            .map_err(HostError::State)?;
        self.step(LakeStep::Committed {
            segment: position.segment,
            offset: position.offset,
        });
        let sealing = position.segment;
        inner.spool.committed(&position);
        inner.last = checkpoint.clone();
        inner
            .spool
            .claim()
            .map_err(|e| HostError::from(LakeFailure::from(e)))?;
        if seal {
            self.step(LakeStep::Sealed {
                segment: sealing - 1,
            });
            self.wake.notify_one();
        }
        self.record_spool(&inner.spool);
        Ok(())
    }

    /// Seals the open segment if it holds records and every one is committed (re-committing
    /// the last checkpoint with the next segment's position): the end of a read, a full spool,
    /// or an open segment past its age while no batch comes.
    fn seal_committed_locked(&self, inner: &mut Inner<S>) -> Result<bool, HostError> {
        if inner.spool.open_bytes() == 0 || !inner.spool.all_committed() {
            return Ok(false);
        }
        let last = inner.last.clone();
        self.commit_locked(inner, &last, true)?;
        Ok(true)
    }

    /// Seals the open segment at the end of a read (so one `read` delivers all it read).
    pub fn seal_now(&self) -> Result<(), HostError> {
        let mut inner = self.lock();
        self.seal_committed_locked(&mut inner).map(|_| ())
    }

    /// Seals the open segment if it is past its age and fully committed (the uploader's tick).
    pub fn seal_if_old(&self) -> Result<(), HostError> {
        let mut inner = self.lock();
        if inner.spool.due(&self.config, SystemTime::now()) {
            self.seal_committed_locked(&mut inner)?;
        }
        Ok(())
    }

    /// How many sealed segments wait for the uploader.
    pub fn sealed_segments(&self) -> usize {
        self.lock().spool.sealed().count()
    }

    /// The oldest sealed segment and its path, if any.
    pub fn oldest_sealed(&self) -> Option<(Sealed, std::path::PathBuf)> {
        let inner = self.lock();
        inner
            .spool
            .oldest_sealed()
            .map(|s| (s, inner.spool.segment_path(s.seq)))
    }

    /// Removes sealed segment `seq`, every object of which is durable in the lake.
    pub fn remove_uploaded(&self, seq: u64) -> Result<(), LakeFailure> {
        let mut inner = self.lock();
        inner.spool.remove_uploaded(seq)?;
        self.step(LakeStep::SegmentRemoved { segment: seq });
        self.record_spool(&inner.spool);
        drop(inner);
        self.changed.notify_all();
        Ok(())
    }

    /// Removes the spool's spare segment file (the end of a read).
    pub fn remove_spare(&self) -> Result<(), LakeFailure> {
        Ok(self.lock().spool.remove_spare()?)
    }

    /// Stops delivery with `failure` (the uploader met an error retrying cannot mend).
    pub fn fail(&self, failure: LakeFailure) {
        let mut inner = self.lock();
        inner.failure.get_or_insert(failure);
        drop(inner);
        self.changed.notify_all();
    }

    /// The failure that stopped the lake, if one did.
    pub fn failure(&self) -> Option<LakeFailure> {
        self.lock().failure.clone()
    }

    /// Asks the uploader to return once no sealed segment is left.
    pub fn request_drain(&self) {
        self.drain.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Whether a drain was asked for.
    pub fn drain_requested(&self) -> bool {
        self.drain.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Notes a failed write of class `kind` in the metrics.
    pub fn upload_failed(&self, kind: &'static str) {
        if let Some(m) = &self.metrics {
            m.upload_failed(kind);
        }
    }

    /// Notes an object written in the metrics and for the step observer.
    pub fn object_written(&self, step: LakeStep, table: &str, bytes: usize) {
        if let Some(m) = &self.metrics {
            m.object_written(table, bytes);
        }
        self.step(step);
    }

    /// Tells the step observer that every object of `segment` is durable.
    pub fn objects_written(&self, segment: u64) {
        self.step(LakeStep::ObjectsWritten { segment });
    }

    /// Waits while the spool is full, then appends `records`.
    fn deliver(&self, records: &[u8], shutdown: &CancellationToken) -> io::Result<()> {
        let mut inner = self.lock();
        let mut logged: Option<Instant> = None;
        let mut waited = false;
        loop {
            if let Some(f) = &inner.failure {
                return Err(io::Error::other(f.message.clone()));
            }
            let total = inner.spool.total_bytes();
            // Past the cap: the batch that crossed it was taken, the next one waits.
            let full = total > self.config.max_bytes;
            if !full {
                break;
            }
            // Room is made only by uploads: seal the open segment so it can go too.
            if inner.spool.oldest_sealed().is_none()
                && !self
                    .seal_committed_locked(&mut inner)
                    .map_err(|e| io::Error::other(e.to_string()))?
            {
                // Nothing sealed and nothing that can be: records past the cap are taken.
                break;
            }
            if shutdown.is_cancelled() {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "stopped while waiting for the lake (the batch is not delivered; it is read again)",
                ));
            }
            if !waited {
                waited = true;
                if let Some(m) = &self.metrics {
                    m.waiting(true);
                }
            }
            if logged.is_none_or(|at| at.elapsed() >= WAIT_LOG_EVERY) {
                logged = Some(Instant::now());
                tracing::warn!(
                    message = "Collection waits for the lake: the spool is full; the checkpoint stays until uploads make room.",
                    spool_bytes = total,
                    max_bytes = self.config.max_bytes,
                    sealed_segments = inner.spool.sealed().count(),
                );
            }
            inner = match self.changed.wait_timeout(inner, WAIT_TICK) {
                Ok((inner, _)) => inner,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        if waited && let Some(m) = &self.metrics {
            m.waiting(false);
        }
        inner
            .spool
            .append(records)
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.step(LakeStep::Appended {
            segment: inner.spool.position().segment,
            len: inner.spool.open_bytes(),
        });
        self.record_spool(&inner.spool);
        Ok(())
    }

    fn commit(&self, checkpoint: &S) -> Result<(), HostError> {
        let mut inner = self.lock();
        if let Some(f) = &inner.failure {
            return Err(f.clone().into());
        }
        let seal = inner.spool.due(&self.config, SystemTime::now());
        self.commit_locked(&mut inner, checkpoint, seal)
    }
}

/// The host's [`RecordSink`] for a lake: appends each batch to the spool.
pub struct LakeSink<S> {
    core: Arc<LakeCore<S>>,
    shutdown: CancellationToken,
}

impl<S> LakeSink<S> {
    /// The sink of `core`; `shutdown` ends a wait on a full spool.
    pub fn new(core: Arc<LakeCore<S>>, shutdown: CancellationToken) -> Self {
        LakeSink { core, shutdown }
    }
}

impl<S: Serialize + DeserializeOwned + Clone + Send + 'static> RecordSink for LakeSink<S> {
    fn deliver(&mut self, records: &RecordBuf) -> io::Result<()> {
        self.core.deliver(records.as_bytes(), &self.shutdown)
    }
}

/// The host's [`Checkpoints`] for a lake: commits the checkpoint with the spool's position.
pub struct LakeCheckpoints<S> {
    core: Arc<LakeCore<S>>,
}

impl<S> LakeCheckpoints<S> {
    /// The checkpoints of `core`.
    pub fn new(core: Arc<LakeCore<S>>) -> Self {
        LakeCheckpoints { core }
    }
}

impl<S: Serialize + DeserializeOwned + Clone + Send + 'static> Checkpoints<S>
    for LakeCheckpoints<S>
{
    fn commit(&mut self, checkpoint: &S) -> Result<(), HostError> {
        self.core.commit(checkpoint)
    }
}
