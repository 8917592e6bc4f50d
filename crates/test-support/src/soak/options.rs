//! How a soak runs ([`SoakOptions`]), and the options that cannot work.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::report::SoakError;

/// How a soak runs. [`SoakOptions::default`] is the short run of the test suite's shape; the
/// long run changes `duration`.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// How long events are produced and kills happen (the catch-up and the final stop come
    /// after it).
    pub duration: Duration,
    /// Seed of the events, the faults and the kill schedule (timing still varies run to run).
    pub seed: u64,
    /// Average steady events per second, stamped with the current second.
    pub events_per_second: f64,
    /// Probability per 100 ms tick of a burst of events sharing one second.
    pub burst_probability: f64,
    /// Size of a burst, inclusive range; bursts larger than `page_size` make pages larger
    /// than asked (Slack never splits a second).
    pub burst_size: (u32, u32),
    /// Fraction of the steady events that arrive late (stamped in the past).
    pub late_fraction: f64,
    /// How far in the past a late event is stamped, in seconds, inclusive range; keep it
    /// inside `lookback_secs`.
    pub late_by_secs: (u64, u64),
    /// Probability that a request gets a random fault.
    pub fault_probability: f64,
    /// How long a stall fault holds the connection; longer than `request_timeout_secs`.
    pub stall: Duration,
    /// `Retry-After` of a random 429, in seconds.
    pub retry_after_secs: u64,
    /// If `Some`, the mock also rate-limits to this many requests a minute (its 429s may carry
    /// a longer `Retry-After` than `retry_after_secs`, which a restart right after a kill can
    /// violate through no fault of the connector; leave it `None` unless the connector's
    /// `requests_per_minute` stays well below it).
    pub mock_rate_limit_per_minute: Option<u32>,
    /// Time between SIGKILLs, drawn uniformly from this range.
    pub kill_interval: (Duration, Duration),
    /// Fraction of the kills that wait for the connector's next output line and strike right
    /// then, between a flushed batch and its saved checkpoint (the others strike at once,
    /// wherever the connector is: mid-request, in a backoff, between polls).
    pub kill_on_output_fraction: f64,
    /// The connector's `--poll-interval`.
    pub poll_interval: Duration,
    /// The connector's `page_size`.
    pub page_size: u32,
    /// The connector's `requests_per_minute`.
    pub requests_per_minute: u32,
    /// The connector's `request_timeout_seconds`.
    pub request_timeout_secs: u32,
    /// The connector's `late_arrival_window_seconds`.
    pub lookback_secs: u32,
    /// The connector's `retry_base_delay_ms`.
    pub retry_base_delay_ms: u32,
    /// The connector's `max_retries`.
    pub max_retries: u32,
    /// After producing stops: how long the connector may take to deliver every event.
    pub catch_up_timeout: Duration,
    /// After catching up: how long to keep watching for stray repeats before SIGTERM.
    pub settle: Duration,
    /// How long the connector may take to exit after SIGTERM.
    pub term_timeout: Duration,
    /// Where to keep the config, state and log; `None`: a fresh directory under the system
    /// temp directory.
    pub work_dir: Option<PathBuf>,
    /// Keep the work directory even when every check passed.
    pub keep_work_dir: bool,
    /// How often the progress callback of [`run_with_progress`](super::run_with_progress) is
    /// called.
    pub progress_every: Duration,
}

impl Default for SoakOptions {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(45),
            seed: 1,
            events_per_second: 5.0,
            burst_probability: 0.01,
            burst_size: (20, 80),
            late_fraction: 0.1,
            late_by_secs: (5, 60),
            fault_probability: 0.1,
            stall: Duration::from_secs(3),
            retry_after_secs: 1,
            mock_rate_limit_per_minute: None,
            kill_interval: (Duration::from_secs(3), Duration::from_secs(10)),
            kill_on_output_fraction: 0.5,
            poll_interval: Duration::from_secs(1),
            page_size: 50,
            requests_per_minute: 600,
            request_timeout_secs: 2,
            lookback_secs: 120,
            retry_base_delay_ms: 50,
            max_retries: 8,
            catch_up_timeout: Duration::from_secs(90),
            settle: Duration::from_secs(3),
            term_timeout: Duration::from_secs(10),
            work_dir: None,
            keep_work_dir: false,
            progress_every: Duration::from_secs(15),
        }
    }
}

pub(super) fn validate(binary: &Path, o: &SoakOptions) -> Result<(), SoakError> {
    if !binary.is_file() {
        return Err(SoakError::MissingBinary(binary.to_path_buf()));
    }
    let bad = |why: &str| Err(SoakError::InvalidOptions(why.to_owned()));
    if o.late_by_secs.0 > o.late_by_secs.1 || o.late_by_secs.1 + 5 >= u64::from(o.lookback_secs) {
        return bad(
            "late_by_secs must be an ordered range ending at least 5 s inside lookback_secs",
        );
    }
    if o.burst_size.0 > o.burst_size.1 || o.kill_interval.0 > o.kill_interval.1 {
        return bad("burst_size and kill_interval must be ordered ranges");
    }
    if o.kill_interval.0.is_zero() {
        return bad("kill_interval must be positive");
    }
    let probability = |p: f64| (0.0..=1.0).contains(&p);
    let rates_ok = probability(o.fault_probability)
        && probability(o.late_fraction)
        && probability(o.burst_probability)
        && probability(o.kill_on_output_fraction)
        && o.events_per_second.is_finite()
        && o.events_per_second >= 0.0;
    if !rates_ok {
        return bad("probabilities must be in [0, 1] and the event rate non-negative");
    }
    if o.stall <= Duration::from_secs(u64::from(o.request_timeout_secs)) {
        return bad("stall must be longer than request_timeout_secs");
    }
    Ok(())
}
