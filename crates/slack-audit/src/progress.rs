//! Where a long backfill is, on stderr: a live bar when stderr is a terminal, a log line every
//! few seconds when it is not (a scheduler's log, a pipe).
//!
//! Pages go backwards in time, so "done" is how far `upper` has come down from the window's
//! `latest` towards its `oldest`; the rate of that descent gives the time left. The rate is
//! smoothed over about half a minute ([`Eta`]) and measured per window (a pass that catches up
//! opens a second window: its time left does not inherit the first one's elapsed time), so the
//! estimate does not jump from page to page.
//!
//! It listens to the engine as a [`SyncObserver`] (a page handled, the pass caught up), one
//! report per pass, and computes nothing the state does not already say: how far a window is
//! read is [`Window::progress_ratio`], the same figure `status` and the metrics show.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::clock::format_time;
use crate::collect::observe::{PassStats, SyncObserver};
use crate::collect::state::Window;

const LOG_EVERY: Duration = Duration::from_secs(10);
/// Time constant of the smoothed descent rate, in seconds.
const RATE_TAU: f64 = 30.0;

/// A steady time-left estimate: the share of the window done per second, smoothed
/// exponentially (time-weighted, so irregular pages weigh by their duration), reset when the
/// window changes.
#[derive(Debug, Default)]
pub struct Eta {
    window: Option<(i64, i64)>,
    last: Option<(f64, f64)>,
    rate: Option<f64>,
}

impl Eta {
    /// At `t` seconds (any fixed origin), `done` (0 to 1) of `window` is read: the time left.
    pub fn observe(&mut self, window: (i64, i64), t: f64, done: f64) -> Option<Duration> {
        if self.window != Some(window) {
            *self = Eta {
                window: Some(window),
                last: Some((t, done)),
                rate: None,
            };
            return None;
        }
        if let Some((t0, d0)) = self.last {
            let dt = t - t0;
            if dt > 0.0 {
                let instant = ((done - d0) / dt).max(0.0);
                let weight = 1.0 - (-dt / RATE_TAU).exp();
                self.rate = Some(self.rate.map_or(instant, |r| r + weight * (instant - r)));
                self.last = Some((t, done));
            }
        }
        let rate = self.rate.filter(|r| *r > 0.0)?;
        Some(Duration::from_secs_f64(
            ((1.0 - done).max(0.0) / rate).min(1e9),
        ))
    }
}
/// Windows shorter than this are routine polls, not backfills: no bar, no progress lines.
const BACKFILL_SECONDS: i64 = 3600;

/// Reports the progress of one pass.
pub struct Progress {
    started: Instant,
    last_log: Instant,
    bar: Option<ProgressBar>,
    tty: bool,
    eta: Eta,
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
            eta: Eta::default(),
        }
    }
}

/// The engine's reports, shown: a page's progress, and the summary once caught up.
impl SyncObserver for Progress {
    /// After a page: the window's position is how far back it has been read.
    fn page(&mut self, _before: &PassStats, stats: &PassStats, window: &Window) {
        let (oldest, latest) = (window.oldest, window.latest);
        // Stored values meet the clock here: nothing may overflow, whatever a state holds.
        let span = latest.saturating_sub(oldest);
        if span < BACKFILL_SECONDS {
            return;
        }
        let reached = window.position().clamp(oldest, latest);
        let done = window.progress_ratio();
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = stats.delivered as f64 / elapsed;
        let left = self.eta.observe((oldest, latest), elapsed, done);
        let left = left.map_or_else(|| "?".to_owned(), human);
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
                "{} records, reached {date}, {rate:.0}/s, ~{left} left",
                stats.delivered,
            ));
        } else if self.last_log.elapsed() >= LOG_EVERY {
            self.last_log = Instant::now();
            tracing::info!(
                message = "Backfill progress.",
                records = stats.delivered,
                reached = %date,
                percent = format!("{:.1}", done * 100.0),
                records_per_s = format!("{rate:.0}"),
                time_left = %left,
            );
        }
    }

    /// At the end of the pass.
    fn caught_up(&mut self, stats: &PassStats) {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A window read at a steady 1% a second, then a slow page (a dense hour of events: 10 s
    /// for 1%), then steady again: the estimate moves, it does not jump.
    #[test]
    fn the_time_left_is_steady_across_a_slow_page() {
        let mut eta = Eta::default();
        let window = (0, 86_400);
        let mut t = 0.0;
        let mut done = 0.0;
        let mut estimates = Vec::new();
        for page in 0..40 {
            let (dt, dd) = if page == 20 {
                (10.0, 0.01)
            } else {
                (1.0, 0.01)
            };
            t += dt;
            done += dd;
            if let Some(left) = eta.observe(window, t, done) {
                estimates.push(left.as_secs_f64());
            }
        }
        for pair in estimates.windows(2) {
            let ratio = pair[1] / pair[0];
            assert!(
                (0.5..=2.0).contains(&ratio),
                "the estimate jumped from {:.0} s to {:.0} s: {estimates:?}",
                pair[0],
                pair[1]
            );
        }
    }

    /// A pass that catches up opens a second window after a long first one: its estimate
    /// starts from its own pages, not from the time the pass has run.
    #[test]
    fn a_new_window_starts_its_own_estimate() {
        let mut eta = Eta::default();
        for i in 1..=100 {
            eta.observe((0, 86_400), f64::from(i), f64::from(i) / 100.0);
        }
        assert_eq!(eta.observe((86_400, 90_000), 101.0, 0.1), None);
        let left = eta.observe((86_400, 90_000), 102.0, 0.2).unwrap();
        assert!(
            (7.0..=9.0).contains(&left.as_secs_f64()),
            "{left:?}: 10% a second with 80% left is 8 s (the pass has run 102 s: not 408 s)"
        );
    }
}
