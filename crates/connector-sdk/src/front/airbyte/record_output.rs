//! Front-end layer: Airbyte messages on stdout: `RECORD`s around the records' own bytes, `STATE` after them, and
//! every other message, one JSON object a line.
//!
//! Every write takes the process's stdout lock for a whole message (or a whole batch of
//! `RECORD`s) and flushes before releasing it, so messages written from other threads (logs)
//! never land inside one another.
//!
//! # Records, byte for byte
//!
//! A [`RecordBuf`] holds one JSON value per line, as the input received it. [`RecordWriter`]
//! writes each line between a fixed prefix and suffix:
//!
//! ```text
//! {"type":"RECORD","record":{"stream":"NAME","data":<the record's bytes>,"emitted_at":MS}}
//! ```
//!
//! The record is never parsed or re-serialised: what the host gets in `data` is the same text the
//! native CLI writes on its own line. `emitted_at` is taken once per batch.
//!
//! # Stream status
//!
//! As the Python CDK does it: `STARTED` before anything is read, `RUNNING` just before the
//! first `RECORD` (written in the same locked write, so nothing can come between them),
//! `COMPLETE` after the last `STATE`, or `INCOMPLETE` before the error `TRACE` of a failure
//! ([`stream_status`]). The platform counts a stream as synced only when it says `COMPLETE`.

use std::io::{self, Write};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::contract::input::{Input, RecordBuf};
use crate::contract::state_rules::EnvelopeOut;
use crate::runtime::checkpoint::Checkpoints;
use crate::runtime::checkpoint::HostError;
use crate::runtime::output::RecordSink;

/// Bytes of `RECORD` messages gathered before they are written (a page can be megabytes).
const CHUNK: usize = 1 << 20;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Writes one message as a line on stdout and flushes it.
pub fn emit<T: Serialize + ?Sized>(message: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
    line.push(b'\n');
    write_line(&line)
}

/// Writes the message `{"type": kind, field: payload}` (with `type` first, as hosts show
/// messages) as a line on stdout and flushes it.
pub fn emit_message<T: Serialize + ?Sized>(kind: &str, field: &str, payload: &T) -> io::Result<()> {
    let mut line = b"{\"type\":".to_vec();
    serde_json::to_writer(&mut line, kind).map_err(io::Error::other)?;
    line.push(b',');
    serde_json::to_writer(&mut line, field).map_err(io::Error::other)?;
    line.push(b':');
    serde_json::to_writer(&mut line, payload).map_err(io::Error::other)?;
    line.extend_from_slice(b"}\n");
    write_line(&line)
}

/// Writes bytes that are one or more complete lines to stdout, flushed, under its lock.
pub(crate) fn write_line(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// A stream's status, as `TRACE` / `STREAM_STATUS` messages report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStatus {
    /// The stream is about to be read.
    Started,
    /// The first record is on its way.
    Running,
    /// Everything was read and its last `STATE` written.
    Complete,
    /// The read stopped before the end (an error, or a stop asked for).
    Incomplete,
}

impl StreamStatus {
    /// The protocol's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamStatus::Started => "STARTED",
            StreamStatus::Running => "RUNNING",
            StreamStatus::Complete => "COMPLETE",
            StreamStatus::Incomplete => "INCOMPLETE",
        }
    }
}

/// The `TRACE` / `STREAM_STATUS` message of `stream` in `status`, as one line.
pub fn stream_status_line(stream: &str, status: StreamStatus) -> Vec<u8> {
    let message = serde_json::json!({
        "type": "TRACE",
        "trace": {
            "type": "STREAM_STATUS",
            "emitted_at": now_ms() as f64,
            "stream_status": {
                "stream_descriptor": {"name": stream},
                "status": status.as_str(),
            },
        },
    });
    let mut line = serde_json::to_vec(&message).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Writes the `TRACE` / `STREAM_STATUS` message of `stream` in `status` on stdout.
pub fn stream_status(stream: &str, status: StreamStatus) -> io::Result<()> {
    write_line(&stream_status_line(stream, status))
}

/// The host's [`RecordSink`] for the Airbyte front end: each record becomes a `RECORD` message.
/// The first batch with records is preceded by the stream's `RUNNING` status.
pub struct RecordWriter {
    prefix: Vec<u8>,
    buf: Vec<u8>,
    delivered: Arc<AtomicU64>,
    /// The `RUNNING` status line, until it is written.
    running: Option<Vec<u8>>,
}

impl RecordWriter {
    /// A writer of `RECORD`s of stream `stream`.
    pub fn new(stream: &str) -> Self {
        let mut prefix = br#"{"type":"RECORD","record":{"stream":"#.to_vec();
        // A string always serialises.
        prefix.extend_from_slice(serde_json::to_string(stream).unwrap_or_default().as_bytes());
        prefix.extend_from_slice(br#","data":"#);
        RecordWriter {
            prefix,
            buf: Vec::new(),
            delivered: Arc::default(),
            running: Some(stream_status_line(stream, StreamStatus::Running)),
        }
    }

    /// The count of records delivered since the last `STATE` (shared with [`StateWriter`]).
    pub fn counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.delivered)
    }

    /// Appends the `RECORD` messages of `records` to `buf`, calling `flush` whenever `buf`
    /// holds [`CHUNK`] bytes or more (and not after the last one).
    fn frame(
        &mut self,
        records: &RecordBuf,
        emitted_at: u64,
        mut flush: impl FnMut(&mut Vec<u8>) -> io::Result<()>,
    ) -> io::Result<()> {
        let suffix = format!(",\"emitted_at\":{emitted_at}}}}}\n");
        let bytes = records.as_bytes();
        let overhead = self.prefix.len() + suffix.len();
        self.buf.clear();
        self.buf
            .reserve((bytes.len() + records.len() * overhead).min(CHUNK + 64 * 1024));
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', bytes) {
            self.buf.extend_from_slice(&self.prefix);
            self.buf.extend_from_slice(&bytes[start..end]);
            self.buf.extend_from_slice(suffix.as_bytes());
            start = end + 1;
            if self.buf.len() >= CHUNK {
                flush(&mut self.buf)?;
                self.buf.clear();
            }
        }
        Ok(())
    }
}

impl RecordSink for RecordWriter {
    fn deliver(&mut self, records: &RecordBuf) -> io::Result<()> {
        let emitted_at = now_ms();
        let stdout = io::stdout();
        let mut out = stdout.lock();
        if !records.is_empty()
            && let Some(running) = self.running.take()
        {
            out.write_all(&running)?;
        }
        self.frame(records, emitted_at, |chunk| out.write_all(chunk))?;
        out.write_all(&self.buf)?;
        out.flush()?;
        drop(out);
        self.buf.clear();
        if self.buf.capacity() > 2 * CHUNK {
            self.buf.shrink_to(2 * CHUNK);
        }
        self.delivered
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// The host's [`Checkpoints`] for the Airbyte front end: a checkpoint becomes a per-stream
/// `STATE` message, written after the `RECORD`s it covers, whose `stream_state` is the same
/// envelope the native state file holds (`{"connector", "version", "state"}`), so the same
/// migration and refusal rules apply when the host passes it back.
pub struct StateWriter<I> {
    stream: String,
    delivered: Arc<AtomicU64>,
    _input: PhantomData<fn() -> I>,
}

impl<I: Input> StateWriter<I> {
    /// A writer of `STATE`s of stream `stream`, counting the records of `delivered` (see
    /// [`RecordWriter::counter`]) into each message's `sourceStats.recordCount`.
    pub fn new(stream: &str, delivered: Arc<AtomicU64>) -> Self {
        StateWriter {
            stream: stream.to_owned(),
            delivered,
            _input: PhantomData,
        }
    }
}

#[derive(Serialize)]
struct StateMessage<'a, S> {
    #[serde(rename = "type")]
    kind: &'static str,
    state: PerStream<'a, S>,
}

#[derive(Serialize)]
struct PerStream<'a, S> {
    #[serde(rename = "type")]
    kind: &'static str,
    stream: StreamState<'a, S>,
    #[serde(rename = "sourceStats")]
    source_stats: SourceStats,
}

#[derive(Serialize)]
struct StreamState<'a, S> {
    stream_descriptor: Descriptor<'a>,
    stream_state: EnvelopeOut<'a, S>,
}

#[derive(Serialize)]
struct Descriptor<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct SourceStats {
    /// A double in the protocol ("always with a decimal point").
    #[serde(rename = "recordCount")]
    record_count: f64,
}

impl<I: Input> Checkpoints<I::State> for StateWriter<I> {
    fn commit(&mut self, checkpoint: &I::State) -> Result<(), HostError> {
        let count = self.delivered.swap(0, Ordering::Relaxed);
        let message = StateMessage {
            kind: "STATE",
            state: PerStream {
                kind: "STREAM",
                stream: StreamState {
                    stream_descriptor: Descriptor { name: &self.stream },
                    stream_state: EnvelopeOut::of::<I>(checkpoint),
                },
                source_stats: SourceStats {
                    record_count: count as f64,
                },
            },
        };
        emit(&message).map_err(HostError::Output)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn framed(records: &[&str], emitted_at: u64) -> Vec<u8> {
        let mut buf = RecordBuf::default();
        for r in records {
            buf.push_json(r.as_bytes());
        }
        let mut writer = RecordWriter::new("audit_logs");
        let mut out = Vec::new();
        writer
            .frame(&buf, emitted_at, |chunk| {
                out.extend_from_slice(chunk);
                Ok(())
            })
            .unwrap();
        out.extend_from_slice(&writer.buf);
        out
    }

    #[test]
    fn records_are_framed_around_their_own_bytes() {
        let records = [
            r#"{"id":"a","n":1.50,"s":"\u00e9"}"#,
            r#"{ "id" : "b",  "x":[1, 2] }"#,
            "{\"id\":\"c\",\n\"y\":true}",
        ];
        let out = String::from_utf8(framed(&records, 1_700_000_000_123)).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            r#"{"type":"RECORD","record":{"stream":"audit_logs","data":{"id":"a","n":1.50,"s":"\u00e9"},"emitted_at":1700000000123}}"#
        );
        assert_eq!(
            lines[1],
            r#"{"type":"RECORD","record":{"stream":"audit_logs","data":{ "id" : "b",  "x":[1, 2] },"emitted_at":1700000000123}}"#
        );
        // A raw newline (JSON whitespace) became a space, as on the native output.
        assert!(
            lines[2].contains(r#""data":{"id":"c", "y":true},"#),
            "{}",
            lines[2]
        );
        for line in lines {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["type"], "RECORD");
        }
    }

    #[test]
    fn large_batches_are_written_in_chunks_of_whole_messages() {
        let record = format!(r#"{{"id":"x","pad":"{}"}}"#, "p".repeat(4000));
        let mut buf = RecordBuf::default();
        for _ in 0..600 {
            buf.push_json(record.as_bytes());
        }
        let mut writer = RecordWriter::new("s");
        let mut chunks = Vec::new();
        writer
            .frame(&buf, 1, |chunk| {
                chunks.push(chunk.clone());
                Ok(())
            })
            .unwrap();
        chunks.push(writer.buf.clone());
        assert!(chunks.len() >= 2, "{} chunks", chunks.len());
        let mut lines = 0;
        for chunk in &chunks {
            assert_eq!(chunk.last(), Some(&b'\n'), "a chunk ends inside a message");
            lines += chunk.iter().filter(|b| **b == b'\n').count();
        }
        assert_eq!(lines, 600);
    }
}
