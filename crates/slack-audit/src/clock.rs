//! Time as the connector keeps it, in unix seconds: what time it is, from a clock that can be
//! injected so replays and tests are deterministic, and how a time is written for people
//! ([`format_time`]) in the sync's logs and errors, the progress report and `slack-audit status`.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::DateTime;

/// A source of the current unix time in seconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in unix seconds.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// A clock that says what it is told: for replays and tests.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock stopped at `now`.
    pub fn new(now: i64) -> Self {
        FixedClock(AtomicI64::new(now))
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// `t` (unix seconds) as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}
