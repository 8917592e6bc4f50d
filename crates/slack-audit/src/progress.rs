//! Where a long backfill is, on stderr: a live bar when stderr is a terminal, a log line every
//! few seconds when it is not (a scheduler's log, a pipe).
//!
//! Pages go backwards in time, so "done" is how far `upper` has come down from the window's
//! `latest` towards its `oldest`; the rate of that descent gives the time left.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use chrono::DateTime;
use indicatif::{ProgressBar, ProgressStyle};

use crate::sync::PassStats;

const LOG_EVERY: Duration = Duration::from_secs(10);
/// Windows shorter than this are routine polls, not backfills: no bar, no progress lines.
const BACKFILL_SECONDS: i64 = 3600;

/// Reports the progress of one pass.
pub struct Progress {
    started: Instant,
    last_log: Instant,
    bar: Option<ProgressBar>,
    tty: bool,
}

impl Progress {
    /// A reporter that picks its form from stderr.
    pub fn new() -> Self {
        let now = Instant::now();
        Progress {
            started: now,
            last_log: now,
            bar: None,
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// After a page: `upper` is how far back the window has been read.
    pub fn page(&mut self, stats: &PassStats, oldest: i64, latest: i64, upper: Option<i64>) {
        // Stored values meet the clock here: nothing may overflow, whatever a state holds.
        let span = latest.saturating_sub(oldest);
        if span < BACKFILL_SECONDS {
            return;
        }
        let reached = upper.unwrap_or(latest).clamp(oldest, latest);
        let done = (latest as f64 - reached as f64) / span as f64;
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = stats.delivered as f64 / elapsed;
        let left = if done > 0.0 {
            // Panics on overflow: a tiny `done` over a long run asks for more than u64 seconds.
            Duration::try_from_secs_f64(elapsed * (1.0 - done) / done).unwrap_or(Duration::MAX)
        } else {
            Duration::ZERO
        };
        let date = format_time(reached);
        if self.tty {
            let bar = self.bar.get_or_insert_with(|| {
                let bar = ProgressBar::new(1000);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} backfill [{bar:30}] {percent:>3}% {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar
            });
            bar.set_position((done * 1000.0) as u64);
            bar.set_message(format!(
                "{} records, reached {date}, {rate:.0}/s, ~{} left",
                stats.delivered,
                human(left)
            ));
        } else if self.last_log.elapsed() >= LOG_EVERY {
            self.last_log = Instant::now();
            tracing::info!(
                message = "Backfill progress.",
                records = stats.delivered,
                reached = %date,
                percent = format!("{:.1}", done * 100.0),
                records_per_s = format!("{rate:.0}"),
                time_left = %human(left),
            );
        }
    }

    /// At the end of the pass.
    pub fn finish(&mut self, stats: &PassStats) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        tracing::info!(
            message = "Caught up.",
            records = stats.delivered,
            duplicates_skipped = stats.duplicates,
            pages = stats.pages,
            seconds = format!("{:.1}", self.started.elapsed().as_secs_f64()),
        );
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

/// `t` (unix seconds) as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn format_time(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
