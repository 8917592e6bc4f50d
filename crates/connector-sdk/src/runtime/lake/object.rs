//! Runtime layer: where objects are written. An [`ObjectWriter`] puts a whole object at a URL,
//! replacing what is there, and returns once the object is durable; the uploader retries what is
//! transient and stops the read on what is not (a refused credential is never a silent retry
//! loop).

use std::fmt;

/// Where an object is: `s3://bucket/key`, or `file:///absolute/path` (a local folder standing
/// in for a bucket: tests, a local lake).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectUrl {
    /// An S3 (or S3-compatible) object.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key, without a leading `/`.
        key: String,
    },
    /// A file below a local folder.
    File {
        /// The absolute path.
        path: std::path::PathBuf,
    },
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectUrl::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
            ObjectUrl::File { path } => write!(f, "file://{}", path.display()),
        }
    }
}

/// The class of a failed write: it decides whether the uploader retries and, when it gives up,
/// the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PutErrorKind {
    /// A 5xx, a timeout, a broken connection: retried with backoff.
    Transient,
    /// Throttling (503 SlowDown, 429): retried, more slowly.
    Throttled,
    /// Credentials missing, expired or refused (403, `ExpiredToken`, an assume-role refused):
    /// the read stops with the auth exit code.
    Auth,
    /// The destination itself is wrong (no such bucket, a malformed URL): the read stops with
    /// the config exit code.
    Config,
}

impl PutErrorKind {
    /// A fixed word for logs and the `upload_errors_total{kind}` metric.
    pub fn as_str(self) -> &'static str {
        match self {
            PutErrorKind::Transient => "transient",
            PutErrorKind::Throttled => "throttled",
            PutErrorKind::Auth => "auth",
            PutErrorKind::Config => "config",
        }
    }
}

/// Why an object could not be written. The message never holds a credential.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PutError {
    /// What the uploader does about it.
    pub kind: PutErrorKind,
    /// What happened, for the person on call.
    pub message: String,
}

/// Writes whole objects.
#[async_trait::async_trait]
pub trait ObjectWriter: Send + Sync + 'static {
    /// Writes `body` at `url`, replacing any object there, and returns once it is durable.
    async fn put(&self, url: &ObjectUrl, body: bytes::Bytes) -> Result<(), PutError>;

    /// Proves objects can be written below `prefix` (for `check`): writes a small probe object
    /// there and deletes it.
    async fn probe(&self, prefix: &ObjectUrl) -> Result<(), PutError>;
}
