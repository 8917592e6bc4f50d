//! Pacing and retries around a [`PageSource`].
//!
//! - **Pacing.** Slack's budget (about 50 calls a minute) is shared by the whole organization and
//!   has no "remaining" header, so the only polite client is one that paces itself: request
//!   starts are spaced `60 / requests_per_minute` seconds apart. After a 429 the next request
//!   waits at least the `Retry-After` Slack gave, never less, up to [`MAX_WAIT`] (five
//!   minutes): a longer ask (a broken proxy's `Retry-After: 999999999`) is capped, and the cap is
//!   logged. No wait in the read path is longer than [`MAX_WAIT`].
//! - **Retries.** Transient failures (5xx, resets, timeouts, broken or non-JSON bodies,
//!   `"ok": false`) are retried a bounded number of times with exponential backoff and full
//!   jitter; then the failure goes up and the run ends without moving its checkpoint. Auth and
//!   config errors are never retried: they need a human.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{CursorHint, FetchError, LogsQuery, PageSource};
use crate::page::Page;

/// Consecutive 429s tolerated for one page before giving up on the run.
const MAX_RATE_LIMITED: u32 = 20;
/// Longest backoff between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Longest wait of any kind in the read path: a `Retry-After` beyond it is capped to it.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// Retry behaviour.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubles each retry up to a minute.
    pub base_delay: Duration,
}

/// Spaces request starts evenly.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// At most `per_minute` request starts a minute.
    pub fn per_minute(per_minute: u32) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(60.0 / f64::from(per_minute.max(1))),
            next: Mutex::new(None),
        }
    }

    /// Waits for the next slot and takes it.
    pub async fn acquire(&self) {
        let mut next = self.next.lock().await;
        if let Some(at) = *next {
            tokio::time::sleep_until(at).await;
        }
        let now = Instant::now();
        let base = next.map_or(now, |at| at.max(now));
        *next = Some(base + self.interval);
    }

    /// No request before `now + wait` (after a 429).
    pub async fn defer(&self, wait: Duration) {
        let mut next = self.next.lock().await;
        let until = Instant::now() + wait;
        *next = Some(next.map_or(until, |at| at.max(until)));
    }
}

/// A [`PageSource`] with pacing and retries.
pub struct Resilient<S> {
    inner: S,
    pacer: Pacer,
    policy: RetryPolicy,
    metrics: std::sync::Arc<dyn super::RequestObserver>,
}

impl<S> Resilient<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, pacer: Pacer, policy: RetryPolicy) -> Self {
        Resilient {
            inner,
            pacer,
            policy,
            metrics: std::sync::Arc::new(()),
        }
    }

    /// The same, counting retries, 429s and waits into `metrics`.
    pub fn with_metrics(mut self, metrics: std::sync::Arc<dyn super::RequestObserver>) -> Self {
        self.metrics = metrics;
        self
    }

    fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .policy
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(MAX_BACKOFF);
        // Full jitter over the upper half: spreads retries, never collapses to zero.
        let factor: f64 = rand::random_range(0.5..=1.0);
        exp.mul_f64(factor)
    }

    async fn with_retries<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, FetchError>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Result<T, FetchError>> + Send,
        T: Send,
    {
        let mut retries = 0u32;
        let mut rate_limited = 0u32;
        loop {
            self.pacer.acquire().await;
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(FetchError::RateLimited(wait)) => {
                    rate_limited += 1;
                    if rate_limited > MAX_RATE_LIMITED {
                        return Err(FetchError::Transient(format!(
                            "Slack kept answering 429 (rate limited) for {what}: another app may be using the organization's whole audit-log budget; lower settings.requests_per_minute or retry later"
                        )));
                    }
                    let capped = wait.min(MAX_WAIT);
                    if capped < wait {
                        tracing::warn!(
                            message = "Rate limited, and asked to wait longer than the cap; waiting the cap instead.",
                            retry_after_s = wait.as_secs_f64(),
                            waiting_s = capped.as_secs_f64(),
                            cap_s = MAX_WAIT.as_secs(),
                            times = rate_limited,
                        );
                    } else {
                        tracing::warn!(
                            message = "Rate limited by Slack; waiting as asked.",
                            retry_after_s = wait.as_secs_f64(),
                            times = rate_limited,
                        );
                    }
                    self.metrics.rate_limited(capped);
                    self.pacer.defer(capped).await;
                }
                Err(FetchError::Transient(reason)) => {
                    if retries >= self.policy.max_retries {
                        return Err(FetchError::Transient(format!(
                            "{reason} (gave up on {what} after {} attempts)",
                            retries + 1
                        )));
                    }
                    let delay = self.backoff(retries);
                    retries += 1;
                    tracing::warn!(
                        message = "Request failed; retrying.",
                        error = %reason,
                        retry = retries,
                        of = self.policy.max_retries,
                        backoff_ms = delay.as_millis() as u64,
                    );
                    self.metrics.retry_after_failure(delay);
                    tokio::time::sleep(delay).await;
                }
                Err(other) => return Err(other),
            }
        }
    }
}

#[async_trait]
impl<S: PageSource> PageSource for Resilient<S> {
    async fn fetch(&self, query: &LogsQuery, cursor: Option<&str>) -> Result<Page, FetchError> {
        self.with_retries("a page", || self.inner.fetch(query, cursor))
            .await
    }

    async fn fetch_announcing(
        &self,
        query: &LogsQuery,
        cursor: Option<&str>,
        hint: &CursorHint,
    ) -> Result<Page, FetchError> {
        self.with_retries("a page", || {
            self.inner.fetch_announcing(query, cursor, hint)
        })
        .await
    }

    async fn probe(&self) -> Result<String, FetchError> {
        self.with_retries("the check", || self.inner.probe()).await
    }

    fn recycle(&self, page: Page) {
        self.inner.recycle(page);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    //! Waits, in virtual time: a `Retry-After` of 31 years is waited for exactly the cap.

    use std::sync::Mutex;

    use super::*;

    /// Answers each call with the next of `answers`, then with an empty page.
    struct Answers(Mutex<Vec<FetchError>>);

    #[async_trait]
    impl PageSource for Answers {
        async fn fetch(&self, _: &LogsQuery, _: Option<&str>) -> Result<Page, FetchError> {
            match self.0.lock().unwrap().pop() {
                Some(error) => Err(error),
                None => Ok(Page::parse(br#"{"entries":[]}"#.to_vec()).unwrap()),
            }
        }

        async fn probe(&self) -> Result<String, FetchError> {
            Ok(String::new())
        }
    }

    fn query() -> LogsQuery {
        LogsQuery {
            oldest: 0,
            latest: 1,
            limit: 1,
            query: std::sync::Arc::default(),
        }
    }

    async fn elapsed_for(answers: Vec<FetchError>) -> Duration {
        let source = Resilient::new(
            Answers(Mutex::new(answers)),
            Pacer::per_minute(600),
            RetryPolicy {
                max_retries: 3,
                base_delay: Duration::from_millis(10),
            },
        );
        let started = Instant::now();
        source.fetch(&query(), None).await.unwrap();
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn an_absurd_retry_after_is_waited_for_the_cap_only() {
        let waited = elapsed_for(vec![FetchError::RateLimited(Duration::from_secs(
            999_999_999,
        ))])
        .await;
        assert!(
            waited >= MAX_WAIT && waited < MAX_WAIT + Duration::from_secs(1),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_reasonable_retry_after_is_waited_in_full() {
        let waited = elapsed_for(vec![FetchError::RateLimited(Duration::from_secs(42))]).await;
        assert!(
            waited >= Duration::from_secs(42) && waited < Duration::from_secs(43),
            "{waited:?}"
        );
    }
}
