//! Runtime layer: the last line of defence for secrets in what the host prints: every message, log line
//! (human or JSON), Airbyte `LOG`/`TRACE`/`CONNECTION_STATUS` and status output goes through
//! [`text`], which applies the input's [`Secrets::redact`] (credential shapes the connector
//! recognises, such as a token pasted into a URL or a setting). Records are never touched.
//!
//! The front ends install the input's redaction once, before logging starts ([`install`]);
//! until then (and in embedders that never call it) nothing is recognised, and messages are
//! only as safe as the inputs made them.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::OnceLock;

use tracing_subscriber::fmt::MakeWriter;

use crate::contract::input::Secrets;

static REDACT: OnceLock<fn(&str) -> Option<String>> = OnceLock::new();

/// Makes `K`'s redaction the process's. Later calls are ignored.
pub fn install<K: Secrets>() {
    let _ = REDACT.set(K::redact);
}

/// `message` with every recognised credential replaced.
pub fn text(message: &str) -> Cow<'_, str> {
    match REDACT.get().and_then(|redact| redact(message)) {
        Some(redacted) => Cow::Owned(redacted),
        None => Cow::Borrowed(message),
    }
}

/// Log lines to stderr, each redacted as a whole: the writer collects one event and writes it,
/// redacted, when the formatter drops it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactedStderr;

impl<'a> MakeWriter<'a> for RedactedStderr {
    type Writer = RedactedLine;

    fn make_writer(&'a self) -> RedactedLine {
        RedactedLine(Vec::new())
    }
}

/// One log event on its way to stderr.
#[derive(Debug)]
pub struct RedactedLine(Vec<u8>);

impl Write for RedactedLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactedLine {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let line = String::from_utf8_lossy(&self.0);
        // A log line that cannot be written has nowhere else to go.
        let _ = io::stderr().lock().write_all(text(&line).as_bytes());
    }
}
