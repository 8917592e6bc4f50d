//! Runtime layer: where delivered records go.
//!
//! A [`RecordSink`] must have made the records visible downstream when `deliver` returns (for
//! stdout: written and flushed), because the host commits the batch's checkpoint right after.
//! The CLI uses [`StdoutSink`], or [`FileSink`](crate::runtime::output_file::FileSink) with
//! `--output FILE` (its rules, one collector per output among them, are in
//! [`crate::runtime::output_file`]); an embedding pipeline
//! supplies its own, or collects into memory with [`MemorySink`].

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use crate::contract::input::RecordBuf;

/// A destination for NDJSON records.
pub trait RecordSink: Send + 'static {
    /// Writes `records` and flushes them; on `Ok` the host may commit their checkpoint.
    fn deliver(&mut self, records: &RecordBuf) -> io::Result<()>;

    /// Called by the host before every batch, with records or without (a checkpoint alone), so
    /// a sink can do its housekeeping between batches, never inside one (a file sink reopens
    /// its file there after a rotation).
    fn between_batches(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl RecordSink for Box<dyn RecordSink> {
    fn deliver(&mut self, records: &RecordBuf) -> io::Result<()> {
        (**self).deliver(records)
    }

    fn between_batches(&mut self) -> io::Result<()> {
        (**self).between_batches()
    }
}

/// Standard output, locked once per batch (never per record).
pub struct StdoutSink {
    out: io::Stdout,
}

impl StdoutSink {
    /// The process's stdout.
    pub fn new() -> Self {
        StdoutSink { out: io::stdout() }
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordSink for StdoutSink {
    fn deliver(&mut self, records: &RecordBuf) -> io::Result<()> {
        let mut out = self.out.lock();
        out.write_all(records.as_bytes())?;
        out.flush()
    }
}

/// Collects records in memory: for tests and for pipelines that take records in-process.
#[derive(Clone, Default)]
pub struct MemorySink {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything delivered so far, as NDJSON bytes.
    pub fn contents(&self) -> Vec<u8> {
        match self.bytes.lock() {
            Ok(bytes) => bytes.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl RecordSink for MemorySink {
    fn deliver(&mut self, records: &RecordBuf) -> io::Result<()> {
        let mut bytes = self
            .bytes
            .lock()
            .map_err(|_| io::Error::other("memory sink poisoned"))?;
        bytes.extend_from_slice(records.as_bytes());
        Ok(())
    }
}
