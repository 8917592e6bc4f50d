//! Runtime layer: the last line of defence for secrets in what the host prints: every message, log line
//! (human or JSON), Airbyte `LOG`/`TRACE`/`CONNECTION_STATUS`, usage error, panic and status
//! output goes through [`text`], which replaces
//!
//! - the **exact values** of the configured secrets, in each form they take in a message (as
//!   they are, JSON-escaped, URL-encoded: [`secret_forms`]), registered once the config is
//!   loaded ([`register_secrets`]), whatever they look like; then
//! - the credential **shapes** the input recognises ([`Secrets::redact`]: a token pasted into a
//!   URL or a setting, or given on the command line, which no exact-value scrub can know).
//!
//! Records are never touched.
//!
//! The front ends call [`install`] as the very first thing `main` does, before the command line
//! is parsed, so a token typed as a stray argument is scrubbed from clap's usage error too, and
//! [`install_panic_hook`] so a panic's message is scrubbed as well (and reported in the front
//! end's framing). Embedders that never call them get only what the inputs scrubbed themselves.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::{OnceLock, RwLock};

use secrecy::{ExposeSecret, SecretString};
use tracing_subscriber::fmt::MakeWriter;

use crate::contract::config::{MIN_SCRUBBED_SECRET_LEN, secret_forms};
use crate::contract::input::Secrets;

static REDACT: OnceLock<fn(&str) -> Option<String>> = OnceLock::new();

/// The forms of every registered secret value, longest first.
static EXACT: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Makes `K`'s redaction the process's. Later calls are ignored.
pub fn install<K: Secrets>() {
    let _ = REDACT.set(K::redact);
}

/// Redacts the exact values of `secrets` (each in all its [`secret_forms`]) from everything
/// [`text`] is given from now on. Values shorter than [`MIN_SCRUBBED_SECRET_LEN`] are left out
/// (they would blank out ordinary words); the config's own checks refuse such credentials.
pub fn register_secrets(secrets: &[SecretString]) {
    let mut exact = match EXACT.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    for secret in secrets {
        let value = secret.expose_secret();
        if value.len() >= MIN_SCRUBBED_SECRET_LEN {
            exact.extend(secret_forms(value));
        }
    }
    exact.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    exact.dedup();
}

/// `message` with every registered secret value and every recognised credential replaced.
pub fn text(message: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(message);
    {
        let exact = match EXACT.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        for form in exact.iter() {
            if out.contains(form.as_str()) {
                out = Cow::Owned(out.replace(form.as_str(), "[redacted]"));
            }
        }
    }
    match REDACT.get().and_then(|redact| redact(&out)) {
        Some(redacted) => Cow::Owned(redacted),
        None => out,
    }
}

/// Replaces the process's panic hook with one that reports the panic's message and location,
/// redacted ([`text`]), through `report` (the front end's framing: a log line, an Airbyte
/// `TRACE`), instead of printing it as it is; with a backtrace (redacted too) when
/// `RUST_BACKTRACE` asks for one, as the default hook would.
pub fn install_panic_hook(report: fn(&str)) {
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        let thread = std::thread::current();
        let mut described = match info.location() {
            Some(at) => format!(
                "the connector panicked (a bug; please report it) in thread {:?} at {}:{}: {message}",
                thread.name().unwrap_or("unnamed"),
                at.file(),
                at.line()
            ),
            None => format!(
                "the connector panicked (a bug; please report it) in thread {:?}: {message}",
                thread.name().unwrap_or("unnamed")
            ),
        };
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            described.push_str(&format!("\nstack backtrace:\n{backtrace}"));
        }
        report(&text(&described));
    }));
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

/// `text` as it may be shown on a terminal: every control character but newline and tab (an
/// escape sequence from a state file or an upstream's error code could rewrite the screen or
/// forge a line) written as a Rust escape (`\u{1b}`).
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_secret_is_redacted_in_each_of_its_forms_and_a_too_short_one_is_not_registered()
    {
        // The registry is the process's: values no other test uses.
        register_secrets(&[SecretString::from("s3 cr\"t/é"), SecretString::from("abc")]);
        for (message, expected) in [
            ("raw s3 cr\"t/é end", "raw [redacted] end"),
            (r#"json "s3 cr\"t/é""#, r#"json "[redacted]""#),
            (r#"twice "s3 cr\\\"t/é""#, r#"twice "[redacted]""#),
            ("url ?t=s3%20cr%22t%2F%C3%A9&x", "url ?t=[redacted]&x"),
            ("lower ?t=s3%20cr%22t%2f%c3%a9", "lower ?t=[redacted]"),
            ("form ?t=s3+cr%22t%2F%C3%A9", "form ?t=[redacted]"),
            ("abc stays", "abc stays"),
        ] {
            assert_eq!(text(message), expected, "{message}");
        }
    }
}
