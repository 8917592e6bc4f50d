//! Where pages come from: Slack over HTTP, or the synthetic generator, behind one small trait.
//!
//! The sync engine ([`crate::collect::engine`]) only knows [`PageSource`]: "give me the page of
//! this query at this cursor". Pacing and retries are a wrapper around a source ([`resilient`]),
//! not logic sprinkled through the engine, in the spirit of tower's layers.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use connector_sdk::contract::error::InputError;
use tokio::sync::oneshot;

use crate::page::Page;

pub mod ahead;
pub mod http;
pub mod network;
pub mod resilient;
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
    /// Comma-separated action names, if filtered.
    pub action: Option<String>,
    /// Actor user id, if filtered.
    pub actor: Option<String>,
    /// Entity id, if filtered.
    pub entity: Option<String>,
}

impl LogsQuery {
    /// The query parameters for the page at `cursor`, in a stable order.
    pub fn params(&self, cursor: Option<&str>) -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("oldest", self.oldest.to_string()),
            ("latest", self.latest.to_string()),
            ("limit", self.limit.to_string()),
        ];
        if let Some(a) = &self.action {
            params.push(("action", a.clone()));
        }
        if let Some(a) = &self.actor {
            params.push(("actor", a.clone()));
        }
        if let Some(e) = &self.entity {
            params.push(("entity", e.clone()));
        }
        if let Some(c) = cursor {
            params.push(("cursor", c.to_owned()));
        }
        params
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

/// What the sources report about the requests they make and the waits between them: the metrics
/// implement it ([`crate::metrics::SlackMetrics`]); the sources hold it without knowing who
/// listens. `()` listens to nothing.
pub trait RequestObserver: std::fmt::Debug + Send + Sync {
    /// One request answered (`status`: the HTTP status, if a response came) with `kind` (`ok`,
    /// or the failure's class: [`FetchError::kind`]), in `took`, with `bytes` of body read.
    fn request(&self, status: Option<u16>, kind: &'static str, took: Duration, bytes: usize);
    /// A request is retried after a transient failure, `backoff` later.
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

/// A source of audit-log pages.
#[async_trait]
pub trait PageSource: Send + Sync {
    /// The page of `query` at `cursor` (`None`: the newest page of the window).
    async fn fetch(&self, query: &LogsQuery, cursor: Option<&str>) -> Result<Page, FetchError>;

    /// [`fetch`](Self::fetch), announcing the page's next cursor through `hint` as early as the
    /// source can (an HTTP source: once the body is in, before parsing it), so the caller can
    /// ask for the next page meanwhile. An optional capability: the default announces nothing.
    /// An announcement is a guess; the returned page's own cursor is the truth.
    async fn fetch_announcing(
        &self,
        query: &LogsQuery,
        cursor: Option<&str>,
        hint: &CursorHint,
    ) -> Result<Page, FetchError> {
        let _ = hint;
        self.fetch(query, cursor).await
    }

    /// One cheap call proving the source accepts us; says what it proved.
    async fn probe(&self) -> Result<String, FetchError>;

    /// Takes back a page that has been handled, so its buffer can hold a later one.
    fn recycle(&self, _page: Page) {}
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
