//! Where pages come from: Slack over HTTP, or the synthetic generator, behind one small trait.
//!
//! The sync engine ([`crate::collect::engine`]) only knows [`PageSource`]: "give me the page
//! this [`PageRequest`] names". What is not the exchange itself is a wrapper around a source, in
//! the spirit of tower's layers, not logic sprinkled through the engine or the HTTP client:
//!
//! ```text
//! Resilient<Metered<HttpSource>>      (or SyntheticSource alone)
//! │         │       └ one request to Slack, classified (slack_errors: Slack's codes in words)
//! │         └ each request counted: outcome, status class, duration, bytes
//! └ pacing and retries (429 waits, backoff), counted too
//! ```

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use connector_sdk::contract::error::InputError;
use tokio::sync::oneshot;

use crate::page::Page;
use crate::query::Query;

pub mod ahead;
pub mod http;
pub mod metered;
pub mod network;
pub mod resilient;
pub mod slack_errors;
pub mod synthetic;
pub mod tls;

/// The query of one window. Every page of a sequence carries all of it again: Slack's cursor
/// remembers only a position, never `oldest`, `latest` or the filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsQuery {
    /// Unix seconds, inclusive.
    pub oldest: i64,
    /// Unix seconds, inclusive; never in the future.
    pub latest: i64,
    /// Entries wanted per page.
    pub limit: u32,
    /// The filters (the settings' [`Query`], shared by every window of a run).
    pub query: Arc<Query>,
}

impl LogsQuery {
    /// The query parameters for the page at `cursor`, in a stable order.
    pub fn params(&self, cursor: Option<&str>) -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("oldest", self.oldest.to_string()),
            ("latest", self.latest.to_string()),
            ("limit", self.limit.to_string()),
        ];
        params.extend(self.query.params());
        if let Some(c) = cursor {
            params.push(("cursor", c.to_owned()));
        }
        params
    }
}

/// A query of one second and one entry, for tests of the wrappers, which never look at it.
#[cfg(test)]
pub(crate) fn any_query() -> LogsQuery {
    LogsQuery {
        oldest: 0,
        latest: 1,
        limit: 1,
        query: Arc::default(),
    }
}

/// Why a page could not be had, classified for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Token or installation refused: exit 3.
    #[error("{0}")]
    Auth(String),
    /// Slack refused a setting (filter, time range): exit 2.
    #[error("{0}")]
    Config(String),
    /// The cursor expired or was refused; resume from the checkpoint without it.
    #[error("Slack refused the page cursor (invalid_cursor)")]
    InvalidCursor,
    /// HTTP 429: wait at least this long.
    #[error("rate limited by Slack (retry after {0:?})")]
    RateLimited(Duration),
    /// Worth retrying: 5xx, resets, timeouts, broken bodies, `"ok": false`.
    #[error("{0}")]
    Transient(String),
    /// Not worth retrying, and not the user's config either.
    #[error("{0}")]
    Fatal(String),
    /// The server's TLS certificate could not be verified: nothing was sent; not retried.
    #[error("{0}")]
    Certificate(String),
}

/// What the source wrappers report about the requests they see and the waits between them: the
/// metrics implement it ([`crate::metrics::SlackMetrics`]); the wrappers hold it without knowing
/// who listens. `()` listens to nothing.
pub trait RequestObserver: std::fmt::Debug + Send + Sync {
    /// One request answered (`status`: the HTTP status, if a response came) with `kind` (`ok`,
    /// or the failure's class: [`FetchError::kind`]), in `took`, with `bytes` of body read.
    /// Reported by [`metered::Metered`].
    fn request(&self, status: Option<u16>, kind: &'static str, took: Duration, bytes: usize);
    /// A request is retried after a transient failure, `backoff` later. Reported by
    /// [`resilient::Resilient`], as is the next one.
    fn retry_after_failure(&self, backoff: Duration);
    /// Slack asked to slow down; the next request waits `wait`.
    fn rate_limited(&self, wait: Duration);
}

impl RequestObserver for () {
    fn request(&self, _status: Option<u16>, _kind: &'static str, _took: Duration, _bytes: usize) {}
    fn retry_after_failure(&self, _backoff: Duration) {}
    fn rate_limited(&self, _wait: Duration) {}
}

impl FetchError {
    /// The failure's class as a fixed word, for the `requests` metric's `kind` label.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Auth(_) => "auth",
            FetchError::Config(_) => "config",
            FetchError::InvalidCursor => "invalid_cursor",
            FetchError::RateLimited(_) => "rate_limited",
            FetchError::Transient(_) => "transient",
            FetchError::Fatal(_) => "fatal",
            FetchError::Certificate(_) => "certificate",
        }
    }
}

impl From<FetchError> for InputError {
    fn from(error: FetchError) -> Self {
        let message = error.to_string();
        match error {
            FetchError::Auth(_) => InputError::auth(message),
            FetchError::Config(_) => InputError::config(message),
            FetchError::InvalidCursor | FetchError::RateLimited(_) | FetchError::Transient(_) => {
                InputError::transient(message)
            }
            FetchError::Fatal(_) => InputError::fatal(message),
            FetchError::Certificate(_) => InputError::certificate(message),
        }
    }
}

/// One request for a page: which page, and who listens while it is fetched. `Copy`, so a retry
/// sends the same request again.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    /// The window and its filters.
    pub query: &'a LogsQuery,
    /// Where in the window (`None`: its newest page).
    pub cursor: Option<&'a str>,
    /// Where to announce the page's next cursor as early as the source can (an HTTP source: once
    /// the body is in, before parsing it), so the caller can ask for the next page meanwhile. A
    /// source that cannot ignores it. An announcement is a guess; the returned page's own cursor
    /// is the truth.
    pub hint: Option<&'a CursorHint>,
    /// Where a source that talks to a server notes what came back ([`Wire`]), for the wrapper
    /// that meters it ([`metered::Metered`]).
    pub wire: Option<&'a Wire>,
}

impl<'a> PageRequest<'a> {
    /// The page of `query` at `cursor`, nobody listening.
    pub fn new(query: &'a LogsQuery, cursor: Option<&'a str>) -> Self {
        PageRequest {
            query,
            cursor,
            hint: None,
            wire: None,
        }
    }

    /// The same, announcing the next cursor early through `hint`.
    pub fn announcing(self, hint: &'a CursorHint) -> Self {
        PageRequest {
            hint: Some(hint),
            ..self
        }
    }
}

/// A source of audit-log pages.
#[async_trait]
pub trait PageSource: Send + Sync {
    /// The page `request` names.
    async fn fetch(&self, request: PageRequest<'_>) -> Result<Page, FetchError>;

    /// One cheap call proving the source accepts us; says what it proved. A source that talks
    /// to a server notes in `wire` what came back, as [`fetch`](Self::fetch) does. Apart from
    /// `fetch` as tower keeps `poll_ready` apart from `call`: it asks for no page.
    async fn probe(&self, wire: Option<&Wire>) -> Result<String, FetchError>;

    /// Takes back a page that has been handled, so its buffer can hold a later one. An optional
    /// capability: the default drops the page.
    fn recycle(&self, _page: Page) {}
}

/// What one exchange with a server got back, noted by the source as it goes: the HTTP status, if
/// a response came, and the bytes of body read (after decompression).
#[derive(Debug, Default)]
pub struct Wire {
    /// `0` until a response came (no HTTP status is 0).
    status: AtomicU16,
    bytes: AtomicUsize,
}

impl Wire {
    /// A response came with `status`.
    pub fn status_came(&self, status: u16) {
        self.status.store(status, Ordering::Relaxed);
    }

    /// `bytes` of body have been read so far.
    pub fn body_read(&self, bytes: usize) {
        self.bytes.store(bytes, Ordering::Relaxed);
    }

    /// The HTTP status, if a response came.
    pub fn status(&self) -> Option<u16> {
        Some(self.status.load(Ordering::Relaxed)).filter(|s| *s != 0)
    }

    /// The bytes of body read.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// The sending side of an early next-cursor announcement: the first offer is delivered, later
/// ones (from retries of the same page, which share it by reference) are ignored.
#[derive(Debug)]
pub struct CursorHint(Mutex<Option<oneshot::Sender<String>>>);

impl CursorHint {
    /// A hint and the receiver its first offer reaches.
    pub fn channel() -> (CursorHint, oneshot::Receiver<String>) {
        let (tx, rx) = oneshot::channel();
        (CursorHint(Mutex::new(Some(tx))), rx)
    }

    /// Announces `cursor`, unless a cursor was announced already.
    pub fn offer(&self, cursor: &str) {
        if let Some(tx) = self.0.lock().ok().and_then(|mut slot| slot.take()) {
            let _ = tx.send(cursor.to_owned());
        }
    }
}
