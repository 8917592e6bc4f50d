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
use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{OnceLock, RwLock};

use secrecy::{ExposeSecret, SecretString};
use tracing_subscriber::fmt::MakeWriter;

use crate::contract::config::{MIN_SCRUBBED_SECRET_LEN, secret_forms};
use crate::contract::input::Secrets;

static REDACT: OnceLock<fn(&str) -> Option<String>> = OnceLock::new();

/// The registered secret values.
static EXACT: RwLock<Registry> = RwLock::new(Registry::new());

/// Generations of a rotating credential kept ([`register_rotating`]): the one in use and the
/// ones before it that a request in flight, or a message about one, may still show.
const ROTATING_GENERATIONS: usize = 16;

/// The secrets [`text`] replaces.
struct Registry {
    /// The forms of the secrets registered for the process's life ([`register_secrets`]).
    fixed: Vec<String>,
    /// Each rotating credential's last generations' forms, oldest first.
    rotating: Vec<(&'static str, VecDeque<Vec<String>>)>,
    /// All of the above, longest first, each once: what [`text`] looks for.
    forms: Vec<String>,
}

impl Registry {
    const fn new() -> Registry {
        Registry {
            fixed: Vec::new(),
            rotating: Vec::new(),
            forms: Vec::new(),
        }
    }

    fn rebuild(&mut self) {
        let mut forms = self.fixed.clone();
        for (_, generations) in &self.rotating {
            forms.extend(generations.iter().flatten().cloned());
        }
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        self.forms = forms;
    }
}

fn registry() -> std::sync::RwLockWriteGuard<'static, Registry> {
    match EXACT.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The forms of `secrets` worth scrubbing (see [`register_secrets`]).
fn forms_of(secrets: &[SecretString]) -> Vec<String> {
    secrets
        .iter()
        .map(ExposeSecret::expose_secret)
        .filter(|value| value.len() >= MIN_SCRUBBED_SECRET_LEN)
        .flat_map(secret_forms)
        .collect()
}

/// Makes `K`'s redaction the process's. Later calls are ignored.
pub fn install<K: Secrets>() {
    let _ = REDACT.set(K::redact);
}

/// Redacts the exact values of `secrets` (each in all its [`secret_forms`]) from everything
/// [`text`] is given from now on. Values shorter than [`MIN_SCRUBBED_SECRET_LEN`] are left out
/// (they would blank out ordinary words); the config's own checks refuse such credentials.
pub fn register_secrets(secrets: &[SecretString]) {
    let mut registry = registry();
    registry.fixed.extend(forms_of(secrets));
    registry.rebuild();
}

/// Redacts `secrets`, the newest generation of the rotating credential `kind` (temporary AWS
/// credentials, renewed every hour or so), as [`register_secrets`] does, keeping only the
/// last 16 generations of `kind`: a service that runs for months renews
/// thousands of times, and every message is checked against every registered value.
pub fn register_rotating(kind: &'static str, secrets: &[SecretString]) {
    let mut registry = registry();
    let forms = forms_of(secrets);
    let at = match registry.rotating.iter().position(|(k, _)| *k == kind) {
        Some(at) => at,
        None => {
            registry.rotating.push((kind, VecDeque::new()));
            registry.rotating.len() - 1
        }
    };
    let generations = &mut registry.rotating[at].1;
    generations.push_back(forms);
    while generations.len() > ROTATING_GENERATIONS {
        generations.pop_front();
    }
    registry.rebuild();
}

/// `message` with every registered secret value and every recognised credential replaced.
pub fn text(message: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(message);
    {
        let registry = match EXACT.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        for form in &registry.forms {
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

    #[test]
    fn a_rotating_credential_keeps_its_last_generations_redacted_and_no_more() {
        let generation = |n: usize| format!("rotating-secret-{n:04}-of-a-test-kind");
        for n in 0..100 {
            register_rotating("test-kind", &[SecretString::from(generation(n))]);
        }
        let kept = |n: usize| text(&generation(n)) == "[redacted]";
        let newest = 99;
        assert!(
            (newest + 1 - ROTATING_GENERATIONS..=newest).all(kept),
            "the last generations are redacted"
        );
        assert!(
            !kept(newest - ROTATING_GENERATIONS),
            "the registry keeps only the last generations"
        );
        // Another kind, and the fixed secrets, are kept whatever `test-kind` does.
        register_secrets(&[SecretString::from("a-fixed-secret-beside-rotating-ones")]);
        register_rotating("other-kind", &[SecretString::from(generation(7_777))]);
        for n in 100..120 {
            register_rotating("test-kind", &[SecretString::from(generation(n))]);
        }
        assert_eq!(text("a-fixed-secret-beside-rotating-ones"), "[redacted]");
        assert!(kept(7_777));
    }
}
