//! Runtime layer: logs on stderr through `tracing`: human format by default, JSON on request, filtered by
//! `RUST_LOG` (default `info`). Stdout belongs to records alone. Every line is redacted
//! ([`crate::runtime::redact`]) whatever the format.

use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;

/// The format the first `init` installed.
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// Whether log lines are JSON (so the last line, the error a run exits with, must be too).
pub fn is_json() -> bool {
    FORMAT.get() == Some(&LogFormat::Json)
}

/// How log lines are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per event, for log pipelines.
    Json,
}

/// Installs the global subscriber writing to stderr. Safe to call more than once (later calls
/// are ignored), so tests and embedders can call it freely.
pub fn init(format: LogFormat) {
    let _ = FORMAT.set(format);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::runtime::redact::RedactedStderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
