//! Runtime layer: the host's side of a [`ReadContext`]: the record buffers it lends, the count
//! of batches handed over against those its writer delivered, the newest checkpoint handed
//! over, and who is told of each batch (the metrics' health). [`crate::runtime::host::read`]
//! builds one per read and the writer thread advances it; an input only sees the
//! [`ReadContext`] methods these back.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::contract::input::{Batch, HostSide, ReadContext, RecordBuf, Stopped};

/// Emptied record buffers handed back by the host once written, so page-sized allocations are
/// reused instead of being returned to the OS and faulted in again for every batch.
#[derive(Debug, Clone, Default)]
pub struct BufferPool {
    free: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl BufferPool {
    const KEEP: usize = 3;

    /// A buffer with room for at least `capacity` bytes, reused when one is free.
    pub fn take(&self, capacity: usize) -> RecordBuf {
        let mut bytes = self
            .free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default();
        bytes.clear();
        bytes.reserve(capacity);
        RecordBuf::from_vec(bytes)
    }

    /// Hands a buffer back for reuse.
    pub fn give(&self, buf: RecordBuf) {
        let bytes = buf.into_vec();
        if bytes.capacity() == 0 {
            return;
        }
        if let Ok(mut free) = self.free.lock()
            && free.len() < Self::KEEP
        {
            free.push(bytes);
        }
    }
}

/// How many batches were handed to the host, and how many its writer has delivered and
/// committed: lets an input wait until what it emitted is out before it says so.
#[derive(Debug)]
pub struct Written {
    handed: AtomicU64,
    done: tokio::sync::watch::Sender<u64>,
}

impl Default for Written {
    fn default() -> Self {
        Written {
            handed: AtomicU64::new(0),
            done: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Written {
    /// The writer delivered (and committed) one more batch.
    pub fn batch_done(&self) {
        self.done.send_modify(|n| *n += 1);
    }
}

/// Told each time the input hands a batch over: the runtime records it as progress (its
/// health, the last-progress gauge).
pub trait EmitObserver: fmt::Debug + Send + Sync + 'static {
    /// The input handed over one more batch.
    fn emitted(&self);
}

/// The host's state behind one read's [`ReadContext`].
#[derive(Debug)]
pub struct HostState<S> {
    /// The newest checkpoint handed over (where the next pass starts).
    pub last_emitted: Arc<Mutex<Option<S>>>,
    /// Where record buffers come from.
    pub pool: BufferPool,
    /// Told of each batch handed over.
    pub observer: Option<Arc<dyn EmitObserver>>,
    /// Batches handed over against those delivered.
    pub written: Arc<Written>,
}

impl<S> HostState<S> {
    fn handed(&self, checkpoint: S) {
        self.written.handed.fetch_add(1, Ordering::SeqCst);
        match self.last_emitted.lock() {
            Ok(mut last) => *last = Some(checkpoint),
            Err(poisoned) => *poisoned.into_inner() = Some(checkpoint),
        }
        if let Some(observer) = &self.observer {
            observer.emitted();
        }
    }

    fn all_written(&self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        let target = self.written.handed.load(Ordering::SeqCst);
        let mut done = self.written.done.subscribe();
        Box::pin(async move { done.wait_for(|n| *n >= target).await.is_ok() })
    }
}

/// What stands behind one [`ReadContext`]: the channel to the writer and, for the host's own
/// reads, its state.
#[derive(Debug)]
struct Hosted<S> {
    output: mpsc::Sender<Batch<S>>,
    state: Option<HostState<S>>,
}

impl<S: fmt::Debug + Send + 'static> HostSide<S> for Hosted<S> {
    fn send(
        &self,
        batch: Batch<S>,
    ) -> Pin<Box<dyn Future<Output = Result<(), Stopped>> + Send + '_>> {
        Box::pin(async move { self.output.send(batch).await.map_err(|_| Stopped) })
    }

    fn record_buf(&self, capacity: usize) -> RecordBuf {
        match &self.state {
            Some(state) => state.pool.take(capacity),
            None => RecordBuf::with_capacity(capacity),
        }
    }

    fn handed(&self, checkpoint: S) {
        if let Some(state) = &self.state {
            state.handed(checkpoint);
        }
    }

    fn all_written(&self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
        match &self.state {
            Some(state) => state.all_written(),
            None => Box::pin(std::future::ready(true)),
        }
    }
}

/// A context for one pass of `read` that sends batches into `output`, observes `shutdown` and
/// keeps the host's side in `host`.
pub fn read_context<S: Clone + fmt::Debug + Send + 'static>(
    output: mpsc::Sender<Batch<S>>,
    shutdown: CancellationToken,
    host: HostState<S>,
    accept_settings_change: bool,
) -> ReadContext<S> {
    let hosted = Hosted {
        output,
        state: Some(host),
    };
    ReadContext::new(Arc::new(hosted), shutdown, accept_settings_change)
}

/// A context whose batches go only into `output`, with no host state behind it: fresh record
/// buffers, nothing counted, and [`ReadContext::all_written`] `true` at once. For an input's own
/// tests, which read the batches from the channel's other end.
pub fn channel_context<S: Clone + fmt::Debug + Send + 'static>(
    output: mpsc::Sender<Batch<S>>,
    shutdown: CancellationToken,
) -> ReadContext<S> {
    let hosted = Hosted {
        output,
        state: None,
    };
    ReadContext::new(Arc::new(hosted), shutdown, false)
}
