//! Runtime layer: where delivered records go.
//!
//! A [`RecordSink`] must have made the records visible downstream when `deliver` returns (for
//! stdout: written and flushed), because the host commits the batch's checkpoint right after.
//! The CLI uses [`StdoutSink`], or [`FileSink`] with `--output FILE`; an embedding pipeline
//! supplies its own, or collects into memory with [`MemorySink`].

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
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
    reopen: Arc<AtomicBool>,
}

impl FileSink {
    /// Opens `path` for appending (created when absent, with the process's umask).
    ///
    /// A file that does not end with a newline was being written when the process was killed:
    /// its last record is incomplete, and its batch was never checkpointed (the checkpoint
    /// follows the `fsync`), so it will be delivered again. The torn tail is cut off first, so
    /// the records appended next start on a line of their own.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = Self::open_file(path)?;
        let torn = cut_torn_tail(&file)?;
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
            reopen: Arc::default(),
        })
    }

    fn open_file(path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
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
}

/// Truncates `file` after its last newline; returns how many bytes were cut.
fn cut_torn_tail(file: &File) -> io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    const CHUNK: u64 = 64 * 1024;
    let len = file.metadata()?.len();
    if len == 0 || !file.metadata()?.is_file() {
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
            if keep < len {
                file.set_len(keep)?;
                file.sync_all()?;
            }
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
        if self.reopen.swap(false, Ordering::SeqCst) {
            self.file.sync_all()?;
            self.file = Self::open_file(&self.path)?;
            tracing::info!(
                message = "Reopened the output file (log rotation).",
                path = %self.path.display(),
            );
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
            let mut sink = FileSink::open(&path).unwrap();
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
    }

    #[test]
    fn a_file_sink_reopens_its_path_between_batches_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        let rotated = dir.path().join("out.ndjson.1");
        let mut sink = FileSink::open(&path).unwrap();
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
}
