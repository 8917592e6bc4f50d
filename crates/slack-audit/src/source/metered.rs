//! Metrics as a wrapper around a [`PageSource`]: every request that goes through is reported
//! once, with its outcome (`ok`, or the failure's class), the HTTP status class, its duration and
//! the bytes of body read, to a [`RequestObserver`] (the metrics).
//!
//! The source it wraps notes the status and the bytes in the request's [`Wire`] as they come;
//! the outcome and the duration are seen from here. Placed under the retry layer
//! ([`super::resilient`]), it counts each attempt, not each page.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{FetchError, PageRequest, PageSource, RequestObserver, Wire};
use crate::page::Page;

/// A [`PageSource`] whose requests are counted into a [`RequestObserver`].
#[derive(Debug)]
pub struct Metered<S> {
    inner: S,
    metrics: Arc<dyn RequestObserver>,
}

impl<S> Metered<S> {
    /// Wraps `inner`, reporting to `metrics`.
    pub fn new(inner: S, metrics: Arc<dyn RequestObserver>) -> Self {
        Metered { inner, metrics }
    }

    /// Reports one request, answered with `result` after `started`, as `wire` saw it.
    fn report<T>(&self, result: &Result<T, FetchError>, started: Instant, wire: &Wire) {
        self.metrics.request(
            wire.status(),
            result.as_ref().map_or_else(FetchError::kind, |_| "ok"),
            started.elapsed(),
            wire.bytes(),
        );
    }
}

#[async_trait]
impl<S: PageSource> PageSource for Metered<S> {
    async fn fetch(&self, request: PageRequest<'_>) -> Result<Page, FetchError> {
        let wire = Wire::default();
        let started = Instant::now();
        let result = self
            .inner
            .fetch(PageRequest {
                wire: Some(&wire),
                ..request
            })
            .await;
        self.report(&result, started, &wire);
        result
    }

    async fn probe(&self, _wire: Option<&Wire>) -> Result<String, FetchError> {
        let wire = Wire::default();
        let started = Instant::now();
        let result = self.inner.probe(Some(&wire)).await;
        self.report(&result, started, &wire);
        result
    }

    fn recycle(&self, page: Page) {
        self.inner.recycle(page);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    //! What the wrapped source notes in the wire is what the metrics get, for pages and probes.

    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::source::any_query;

    /// Answers everything with a 503 whose body was 12 bytes.
    struct Unavailable;

    impl Unavailable {
        fn answer<T>(wire: Option<&Wire>) -> Result<T, FetchError> {
            let wire = wire.unwrap();
            wire.status_came(503);
            wire.body_read(12);
            Err(FetchError::Transient("Slack answered HTTP 503".into()))
        }
    }

    #[async_trait]
    impl PageSource for Unavailable {
        async fn fetch(&self, request: PageRequest<'_>) -> Result<Page, FetchError> {
            Self::answer(request.wire)
        }

        async fn probe(&self, wire: Option<&Wire>) -> Result<String, FetchError> {
            Self::answer(wire)
        }
    }

    /// The requests reported: status, kind, bytes.
    #[derive(Debug, Default)]
    struct Recorded(Mutex<Vec<(Option<u16>, &'static str, usize)>>);

    impl RequestObserver for Recorded {
        fn request(&self, status: Option<u16>, kind: &'static str, _: Duration, bytes: usize) {
            self.0.lock().unwrap().push((status, kind, bytes));
        }
        fn retry_after_failure(&self, _: Duration) {}
        fn rate_limited(&self, _: Duration) {}
    }

    #[tokio::test]
    async fn each_request_is_reported_once_as_the_source_saw_it() {
        let recorded = Arc::new(Recorded::default());
        let source = Metered::new(Unavailable, recorded.clone());
        let query = any_query();
        assert!(source.fetch(PageRequest::new(&query, None)).await.is_err());
        assert!(source.probe(None).await.is_err());
        assert_eq!(
            recorded.0.lock().unwrap().as_slice(),
            [(Some(503), "transient", 12), (Some(503), "transient", 12)]
        );
    }
}
