//! Contract layer: errors, classified the way an operator needs them: is it my config, my credentials, a
//! passing problem at the source, or something else?
//!
//! The class decides the exit code ([`ErrorKind::exit_code`]) and, in follow mode, whether the
//! host keeps polling. Messages never carry secrets: inputs build them from classified facts,
//! never from raw request data.

use std::fmt;
use std::path::PathBuf;

/// What kind of failure this is, from the operator's point of view.
///
/// Each kind's process exit code is [`ErrorKind::exit_code`], and the table users read (in
/// `--help`, the man pages and the README) is generated from [`ErrorKind::exit_codes`]: the
/// numbers are stated there and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The configuration (or command line) is wrong; nothing was read or written.
    Config,
    /// The source refused the credentials or the installation.
    Auth,
    /// A passing problem at the source (timeouts, 5xx, rate limits beyond patience); follow
    /// mode retries at the next poll.
    Transient,
    /// Anything else: a bug, a broken state file, an output that went away.
    Fatal,
    /// The source's TLS certificate could not be verified (most often a TLS-inspecting proxy
    /// whose CA the connector was not given): nothing was sent. Not retried, since only a change
    /// of trust (a CA bundle, the system store) or of address fixes it.
    Certificate,
}

impl ErrorKind {
    /// The process exit code for this kind of failure.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Config => 2,
            ErrorKind::Auth => 3,
            ErrorKind::Transient | ErrorKind::Fatal => 1,
            ErrorKind::Certificate => 4,
        }
    }

    /// Every kind, in the order the exit-code tables list them.
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::Config,
        ErrorKind::Auth,
        ErrorKind::Certificate,
        ErrorKind::Transient,
        ErrorKind::Fatal,
    ];

    /// The exit codes of a connector binary and what each means: `0` first, then one row per
    /// code of [`ErrorKind::ALL`] (kinds that share a code share its row). `--help`, the man
    /// pages and the docs are generated from it.
    pub fn exit_codes() -> Vec<(u8, &'static str)> {
        let mut rows = vec![(0, "success (including a clean stop on SIGINT/SIGTERM)")];
        for kind in Self::ALL {
            let meaning = match kind {
                ErrorKind::Config => "config or usage error: nothing was read, nothing was written",
                ErrorKind::Auth => {
                    "the source refused the credentials or the installation: the message says what to fix"
                }
                ErrorKind::Certificate => {
                    "the source's TLS certificate could not be verified (usually a TLS-inspecting proxy whose CA was not given): nothing was sent; not retried, even in follow mode"
                }
                ErrorKind::Transient | ErrorKind::Fatal => {
                    "anything else (the source unavailable after retries, a broken state file, output closed); the checkpoint did not move past what was written"
                }
            };
            if !rows.iter().any(|(code, _)| *code == kind.exit_code()) {
                rows.push((kind.exit_code(), meaning));
            }
        }
        rows
    }

    /// [`ErrorKind::exit_codes`] as the text of a `--help` (and man page) section.
    pub fn exit_codes_help() -> String {
        let rows: Vec<String> = Self::exit_codes()
            .into_iter()
            .map(|(code, meaning)| format!("  {code}  {meaning}"))
            .collect();
        format!("Exit codes:\n{}", rows.join("\n"))
    }
}

/// One thing wrong with a config document, located by JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending value, such as `/settings/page_size` (`""` for the root).
    pub path: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl Violation {
    /// A violation at `path` (a JSON pointer) with `message`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Violation {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(document)"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

/// The config document could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, a directory, unreadable).
    #[error("cannot read config file {path}: {reason}")]
    Unreadable {
        /// The file named on the command line.
        path: PathBuf,
        /// Why it could not be read.
        reason: String,
    },
    /// The bytes are not a JSON document.
    #[error("config is not valid JSON: {0}")]
    NotJson(String),
    /// The document does not satisfy the schema or the input's own checks.
    #[error("config is invalid:\n{}", list(.0))]
    Invalid(Vec<Violation>),
}

fn list(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("  - {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A failure reported by an input's `check` or `read`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    /// How the host should treat it.
    pub kind: ErrorKind,
    /// A message for a human on call: what happened and what to do.
    pub message: String,
}

impl InputError {
    /// A configuration problem discovered at run time (for example, the source refused a filter).
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    /// The source refused the credentials or the installation.
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Auth, message)
    }
    /// A passing problem; retrying later may succeed.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transient, message)
    }
    /// The source's certificate could not be verified.
    pub fn certificate(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Certificate, message)
    }
    /// Anything else.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Fatal, message)
    }
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        InputError {
            kind,
            message: message.into(),
        }
    }
}

impl From<ConfigError> for InputError {
    fn from(error: ConfigError) -> Self {
        InputError::config(error.to_string())
    }
}

/// The state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another process holds the lock.
    #[error(
        "state file {path} is in use by another process (lock {lock} is held); run one `read` per state file"
    )]
    Locked {
        /// The state file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The file exists but could not be read or understood.
    #[error(
        "state file {path} cannot be used: {reason}. It was left untouched; fix or move it away deliberately (moving it away restarts from the configured start point)"
    )]
    Unusable {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A newer build wrote it.
    #[error(
        "state file {path} was written by a newer version of {connector} (state version {found}, this build reads up to {supported}); upgrade the connector rather than lose your position"
    )]
    TooNew {
        /// The state file.
        path: PathBuf,
        /// The connector name.
        connector: String,
        /// The version in the file.
        found: u32,
        /// The highest version this build reads.
        supported: u32,
    },
    /// Writing the new state failed; the previous state is intact.
    #[error("cannot write state file {path}: {reason}; the previous state is intact")]
    Write {
        /// The state file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}
