//! Runtime layer: whether a `read` is doing its job, as `/healthz` answers it.
//!
//! Healthy while the input makes progress: a batch handed over (a page read, a position saved)
//! or a pass finished without error, within the last [`Health::stale_after`] (three poll
//! intervals, at least a minute). Unhealthy, with a fixed reason (the error's class and a phrase
//! chosen here: never the error's own text, which can carry the source's words or a URL with
//! its query, to an unauthenticated endpoint), when
//!
//! - the last pass failed (the source refused the credentials, or stayed unavailable after the
//!   input's retries) and nothing was handed over since: a later batch or pass clears it;
//! - nothing happened for longer than `stale_after` (stuck waits, an output nobody reads, a
//!   source that answers too slowly to ever finish a page).
//!
//! Times are kept as milliseconds since the host started, in atomics: the writer and the input
//! record progress without a lock. A failure is kept with the time it happened, so a batch the
//! writer handles after the host saw the pass fail cannot hide the failure.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::contract::error::{ErrorKind, InputError};

/// How many poll intervals without progress make a run unhealthy.
pub const STALE_POLLS: u32 = 3;
/// The least time without progress that makes a run unhealthy, whatever the poll interval.
pub const MIN_STALE: Duration = Duration::from_secs(60);

/// What `/healthz` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthStatus {
    /// `200`, with a line saying when the last progress was.
    Healthy(String),
    /// `503`, with a short reason.
    Unhealthy(String),
}

#[derive(Debug)]
struct Failure {
    at_ms: u64,
    reason: &'static str,
}

/// The health of one `read`.
#[derive(Debug)]
pub struct Health {
    started: Instant,
    stale_after_ms: AtomicU64,
    /// Milliseconds since `started` of the last progress (0: none yet, counted from the start).
    last_progress_ms: AtomicU64,
    failure: Mutex<Option<Failure>>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    /// A run that starts now, healthy until it fails or stalls.
    pub fn new() -> Health {
        Health {
            started: Instant::now(),
            stale_after_ms: AtomicU64::new(MIN_STALE.as_millis() as u64),
            last_progress_ms: AtomicU64::new(0),
            failure: Mutex::new(None),
        }
    }

    /// Sets the time without progress after which the run is unhealthy from the poll interval:
    /// [`STALE_POLLS`] intervals, at least [`MIN_STALE`].
    pub fn set_poll_interval(&self, poll_interval: Duration) {
        let stale = (poll_interval * STALE_POLLS).max(MIN_STALE);
        self.stale_after_ms
            .store(stale.as_millis() as u64, Ordering::Relaxed);
    }

    /// The time without progress after which the run is unhealthy.
    pub fn stale_after(&self) -> Duration {
        Duration::from_millis(self.stale_after_ms.load(Ordering::Relaxed))
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The input handed over a batch.
    pub(crate) fn progressed(&self) {
        self.last_progress_ms
            .fetch_max(self.now_ms(), Ordering::Relaxed);
    }

    /// A pass finished without error.
    pub(crate) fn succeeded(&self) {
        self.progressed();
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// A pass failed with `error`.
    pub(crate) fn failed(&self, error: &InputError) {
        let reason = match error.kind {
            ErrorKind::Auth => {
                "the source refused the credentials (auth error; details in the connector's log)"
            }
            ErrorKind::Transient => {
                "the source is unavailable (transient error; details in the connector's log)"
            }
            ErrorKind::Config => {
                "the source refused the configuration (config error; details in the connector's log)"
            }
            ErrorKind::Certificate => {
                "the source's certificate could not be verified (certificate error; details in the connector's log)"
            }
            ErrorKind::Fatal => {
                "the last poll failed (fatal error; details in the connector's log)"
            }
        };
        let failure = Failure {
            at_ms: self.now_ms(),
            reason,
        };
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(failure);
    }

    /// The health now.
    pub fn status(&self) -> HealthStatus {
        self.status_at(self.now_ms())
    }

    fn status_at(&self, now_ms: u64) -> HealthStatus {
        let last = self.last_progress_ms.load(Ordering::Relaxed);
        if let Some(failure) = self
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            && failure.at_ms >= last
        {
            return HealthStatus::Unhealthy(failure.reason.to_owned());
        }
        let idle = Duration::from_millis(now_ms.saturating_sub(last));
        let stale = self.stale_after();
        if idle > stale {
            return HealthStatus::Unhealthy(format!(
                "no progress for {} s (no page read and no poll finished; unhealthy after {} s)",
                idle.as_secs(),
                stale.as_secs()
            ));
        }
        HealthStatus::Healthy(if last == 0 {
            format!("ok: started {:.1} s ago", idle.as_secs_f64())
        } else {
            format!("ok: last progress {:.1} s ago", idle.as_secs_f64())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhealthy(status: HealthStatus) -> String {
        match status {
            HealthStatus::Unhealthy(reason) => reason,
            HealthStatus::Healthy(line) => panic!("healthy: {line}"),
        }
    }

    #[test]
    fn stale_after_a_few_poll_intervals_and_never_less_than_the_minimum() {
        let health = Health::new();
        health.set_poll_interval(Duration::from_secs(120));
        assert_eq!(health.stale_after(), Duration::from_secs(360));
        health.set_poll_interval(Duration::from_secs(1));
        assert_eq!(health.stale_after(), MIN_STALE);

        health.set_poll_interval(Duration::from_secs(120));
        health.last_progress_ms.store(1_000, Ordering::Relaxed);
        assert!(matches!(
            health.status_at(1_000 + 360_000),
            HealthStatus::Healthy(_)
        ));
        let reason = unhealthy(health.status_at(1_000 + 360_001));
        assert!(reason.contains("no progress for 360 s"), "{reason}");
    }

    #[test]
    fn a_failed_pass_is_unhealthy_until_the_input_progresses_again() {
        let health = Health::new();
        health.failed(&InputError::auth("Slack refused the token"));
        let reason = unhealthy(health.status_at(health.now_ms()));
        assert!(
            reason.starts_with("the source refused the credentials (auth error"),
            "{reason}"
        );
        // A batch handled by the writer at the same millisecond does not hide the failure.
        let at = health
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, |f| f.at_ms);
        health.last_progress_ms.store(at, Ordering::Relaxed);
        unhealthy(health.status_at(at));
        // Progress after it does.
        health.last_progress_ms.store(at + 1, Ordering::Relaxed);
        assert!(matches!(health.status_at(at + 2), HealthStatus::Healthy(_)));
        let health = Health::new();
        health.progressed();
        health.failed(&InputError::transient("HTTP 503"));
        unhealthy(health.status());
        health.succeeded();
        assert!(matches!(health.status(), HealthStatus::Healthy(_)));
    }

    /// The endpoint is unauthenticated: an error's own text (the source's words, a URL with its
    /// query) never reaches it, only its class and a fixed phrase.
    #[test]
    fn the_reason_is_the_class_and_a_fixed_phrase_never_the_errors_text() {
        let secret_text = "Slack answered HTTP 503 for https://api.slack.com/audit/v1/logs?actor=U123&action=file_downloaded: <html>upstream words</html>";
        for (error, expected) in [
            (
                InputError::transient(secret_text),
                "the source is unavailable (transient error; details in the connector's log)",
            ),
            (
                InputError::auth(secret_text),
                "the source refused the credentials (auth error; details in the connector's log)",
            ),
            (
                InputError::fatal("x".repeat(10_000)),
                "the last poll failed (fatal error; details in the connector's log)",
            ),
        ] {
            let health = Health::new();
            health.failed(&error);
            assert_eq!(unhealthy(health.status()), expected);
        }
    }
}
