//! Front-end layer: logs as Airbyte `LOG` messages on stdout, filtered by `RUST_LOG` (default `info`).
//!
//! Events are formatted by `tracing-subscriber`'s own formatter (message, then `key=value`
//! fields, no colours, no timestamp: the host stamps lines itself) into one line, which
//! [`LogWriter`] wraps into `{"type":"LOG","log":{"level":…,"message":…}}` and writes under the
//! stdout lock, like every other message, so a log line never lands inside a batch of records.

use std::io::{self, Write};

use serde::Serialize;
use tracing::{Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the global subscriber writing `LOG` messages to stdout. Later calls are ignored.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(MakeLogWriter)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

/// Makes a [`LogWriter`] per event, knowing the event's level.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeLogWriter;

impl<'a> MakeWriter<'a> for MakeLogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        LogWriter::new(&Level::INFO)
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> LogWriter {
        LogWriter::new(meta.level())
    }
}

/// Collects one formatted event and writes it as one `LOG` message when dropped.
#[derive(Debug)]
pub struct LogWriter {
    level: &'static str,
    line: Vec<u8>,
}

impl LogWriter {
    fn new(level: &Level) -> Self {
        LogWriter {
            level: level_name(level),
            line: Vec::new(),
        }
    }

    /// The `LOG` message for what was written, `None` if nothing was.
    fn message(&self) -> Option<Vec<u8>> {
        let text = String::from_utf8_lossy(&self.line);
        let text = crate::runtime::redact::text(&text);
        let text = text.trim_end();
        if text.is_empty() {
            return None;
        }
        #[derive(Serialize)]
        struct Log<'a> {
            level: &'a str,
            message: &'a str,
        }
        #[derive(Serialize)]
        struct Message<'a> {
            #[serde(rename = "type")]
            kind: &'a str,
            log: Log<'a>,
        }
        let mut bytes = serde_json::to_vec(&Message {
            kind: "LOG",
            log: Log {
                level: self.level,
                message: text,
            },
        })
        .ok()?;
        bytes.push(b'\n');
        Some(bytes)
    }
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if let Some(message) = self.message() {
            // A log line that cannot be written has nowhere else to go.
            let _ = super::record_output::write_line(&message);
        }
    }
}

/// The protocol's level names.
fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_formatted_event_becomes_one_log_message() {
        let mut writer = LogWriter::new(&Level::WARN);
        writer
            .write_all(b"Retrying. status=503 \"quoted\"\nsecond line\n")
            .unwrap();
        let bytes = writer.message().unwrap();
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["type"], "LOG");
        assert_eq!(v["log"]["level"], "WARN");
        assert_eq!(
            v["log"]["message"],
            "Retrying. status=503 \"quoted\"\nsecond line"
        );
        writer.line.clear();
        assert!(writer.message().is_none());
    }
}
