//! Runtime layer: the in-process host, which runs an input's `check` and `read` without the CLI.
//!
//! The CLI ([`crate::front::cli`]) is a thin layer over this module, and a Rust pipeline can embed an
//! input the same way: build it with [`crate::contract::config::parse`], open a [`StateStore`], pick a
//! [`RecordSink`], call [`read`].
//!
//! # Where a checkpoint becomes durable
//!
//! `read` runs the input on the async runtime and a **writer thread** beside it, joined by a
//! channel that holds one batch. The writer takes a batch, delivers its records to the sink
//! (written and flushed), and only then commits the batch's checkpoint to the state file. So the
//! state on disk never describes records that were not delivered, and the input fetches its next
//! page while the writer writes the previous one.
//!
//! # Shutdown
//!
//! When the shutdown token is cancelled the host stops polling the input's future (dropping it
//! is safe: an input's progress is only what it emitted), lets the writer finish the batches
//! already handed over, and returns. Nothing is committed that was not written.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::contract::error::ErrorKind;
use crate::contract::error::StateError;
use crate::contract::input::{Batch, Input};
use crate::runtime::checkpoint::Checkpoints;
use crate::runtime::checkpoint::HostError;
use crate::runtime::host_side::{self, BufferPool, EmitObserver, HostState, Written};
use crate::runtime::metrics::Metrics;
use crate::runtime::output::RecordSink;
use crate::runtime::state_file::{self, StateStore};

/// How `read` runs.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Keep polling after the input has caught up.
    pub follow: bool,
    /// Pause between polls in follow mode.
    pub poll_interval: Duration,
    /// Where to record the generic metrics and health (`--metrics-addr`), if anywhere.
    pub metrics: Option<Metrics>,
    /// Let the input continue although the settings differ from those its state was collected
    /// with (the input logs what that skips); otherwise it may refuse.
    pub accept_settings_change: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            follow: false,
            poll_interval: Duration::from_secs(60),
            metrics: None,
            accept_settings_change: false,
        }
    }
}

/// What a `read` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Records delivered to the sink.
    pub records: u64,
    /// Checkpoints committed to the state file.
    pub commits: u64,
    /// Passes of the input (one without `follow`).
    pub passes: u64,
    /// Whether the run ended because shutdown was requested.
    pub interrupted: bool,
}

/// Opens (and locks) the state file for input `I`; a state that fails [`Input::check_state`]
/// is refused as unusable.
pub fn open_state<I: Input>(
    path: &std::path::Path,
) -> Result<(StateStore<I::State>, I::State), StateError> {
    state_file::open_for::<I>(path)
}

/// Runs `input.check()`.
pub async fn check<I: Input>(input: &I) -> Result<String, HostError> {
    Ok(input.check().await?)
}

/// Reads from `state`, delivering records to `sink` and committing checkpoints to `store` (a
/// [`StateStore`], or any other [`Checkpoints`]) after each delivery, until caught up (or, with
/// `follow`, until `shutdown`).
pub async fn read<I: Input, K: RecordSink, C: Checkpoints<I::State>>(
    input: Arc<I>,
    store: C,
    state: I::State,
    sink: K,
    options: ReadOptions,
    shutdown: CancellationToken,
) -> Result<ReadSummary, HostError> {
    let (tx, rx) = mpsc::channel::<Batch<I::State>>(1);
    let pool = BufferPool::default();
    let metrics = options.metrics.clone();
    let written = Arc::new(Written::default());
    if let Some(m) = &metrics {
        m.health().set_poll_interval(options.poll_interval);
    }
    // The writer stops the input through this token when the output fails.
    let stop_input = shutdown.child_token();
    let writer = {
        let stop_input = stop_input.clone();
        let initial = state.clone();
        std::thread::Builder::new()
            .name("record-writer".into())
            .spawn({
                let pool = pool.clone();
                let metrics = metrics.clone();
                let written = Arc::clone(&written);
                move || {
                    write_batches(
                        rx, sink, store, initial, stop_input, pool, metrics, &written,
                    )
                }
            })
            .map_err(HostError::Output)?
    };

    let last_emitted = Arc::new(Mutex::new(Some(state)));
    let mut passes = 0u64;
    let mut outcome: Result<(), HostError> = Ok(());
    loop {
        passes += 1;
        let start = match last_emitted.lock() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
        .unwrap_or_default();
        let host = HostState {
            last_emitted: Arc::clone(&last_emitted),
            pool: pool.clone(),
            observer: metrics
                .clone()
                .map(|m| Arc::new(m) as Arc<dyn EmitObserver>),
            written: Arc::clone(&written),
        };
        let cx = host_side::read_context(
            tx.clone(),
            stop_input.clone(),
            host,
            options.accept_settings_change,
        );
        let pass = input.read(start, &cx);
        let result = tokio::select! {
            result = pass => Some(result),
            () = stop_input.cancelled() => None,
        };
        if let (Some(m), Some(result)) = (&metrics, &result) {
            m.poll_finished(result.as_ref().map(|_| ()));
        }
        match result {
            None => break,
            Some(Ok(())) => {}
            Some(Err(error)) => {
                let retry = options.follow && error.kind == ErrorKind::Transient;
                if !retry {
                    outcome = Err(HostError::Input(error));
                    break;
                }
                tracing::error!(
                    message = "Read failed; will try again at the next poll.",
                    error = %error.message,
                    poll_interval_s = options.poll_interval.as_secs_f64()
                );
            }
        }
        if !options.follow {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(options.poll_interval) => {}
            () = stop_input.cancelled() => break,
        }
    }
    drop(tx);
    let written = tokio::task::spawn_blocking(move || writer.join())
        .await
        .map_err(|e| HostError::Output(std::io::Error::other(e.to_string())))?
        .map_err(|_| HostError::Output(std::io::Error::other("record writer panicked")))?;
    let mut summary = written?;
    summary.passes = passes;
    summary.interrupted = shutdown.is_cancelled();
    outcome.map(|()| summary)
}

#[allow(clippy::too_many_arguments)]
fn write_batches<S: PartialEq, K: RecordSink, C: Checkpoints<S>>(
    mut rx: mpsc::Receiver<Batch<S>>,
    mut sink: K,
    mut store: C,
    mut committed: S,
    stop_input: CancellationToken,
    pool: BufferPool,
    metrics: Option<Metrics>,
    written: &Written,
) -> Result<ReadSummary, HostError> {
    let mut summary = ReadSummary::default();
    while let Some(batch) = rx.blocking_recv() {
        if let Err(error) = sink.between_batches() {
            stop_input.cancel();
            return Err(HostError::Output(error));
        }
        if !batch.records.is_empty() {
            if let Err(error) = sink.deliver(&batch.records) {
                stop_input.cancel();
                return Err(HostError::Output(error));
            }
            summary.records += batch.records.len() as u64;
            if let Some(m) = &metrics {
                m.delivered(batch.records.len(), batch.records.as_bytes().len());
            }
        }
        let Batch {
            records,
            checkpoint,
        } = batch;
        pool.give(records);
        // Only a position that moved is written: an input that has read nothing valid yet (a
        // refused token, no network) leaves no state file behind, so the next run starts from
        // the configuration as it is then.
        if checkpoint != committed {
            let started = std::time::Instant::now();
            if let Err(error) = store.commit(&checkpoint) {
                stop_input.cancel();
                return Err(error);
            }
            summary.commits += 1;
            if let Some(m) = &metrics {
                m.committed(started.elapsed());
            }
            committed = checkpoint;
        }
        written.batch_done();
    }
    Ok(summary)
}
