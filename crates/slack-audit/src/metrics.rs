//! Slack's own metrics: what the sync skipped and why, what the requests to Slack did, and
//! where the position is.
//!
//! The families are created with the input and recorded into whether or not anybody asked for
//! metrics (they are the SDK's instruments, atomics; recording is a few additions per page);
//! they are exposed only when the host asks for them ([`connector_sdk::contract::input::Input::register_metrics`]
//! declares them, [`connector_sdk::contract::instruments`]), under the prefix the SDK derives from the
//! connector's name (`slack_audit_`).
//!
//! Nothing here is recorded per entry: the engine counts a page's entries in locals and reports
//! the page's totals ([`SyncObserver::page`], implemented here); requests, retries and waits are
//! counted where they happen, once each. Label values are fixed words from code (a status class,
//! an error kind, a reason): no text of a request, a response or the config ever reaches a label.
//!
//! One family is labelled from data: `unknown_actions` names the actions the OCSF mapping does
//! not know, so an alert can say which. Its label values are bounded: plain action names only
//! (letters, digits, `_` and `.`, at most 64), the first [`MAX_UNKNOWN_ACTION_LABELS`] distinct
//! ones, then `other`.
//!
//! The position (checked-through and lag, watermark and newest event's age, the window being read) is read at scrape time from atomics the
//! engine updates with every checkpoint it hands over, so the lag keeps growing while nothing
//! moves.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use connector_sdk::contract::instruments::{
    Counter, CounterFamily, FloatCounter, GaugeReadings, GaugeSource, Histogram, Instruments, Unit,
    exponential_buckets, unix_now,
};

use crate::collect::observe::{CursorRestart, PassStats, SyncObserver};
use crate::collect::state::{SyncState, Window, progress_ratio};
use crate::source::RequestObserver;

/// Slack's metric families, shared by the input, its sources and its engine.
#[derive(Debug)]
pub struct SlackMetrics {
    duplicates: Counter,
    unkeyed: Counter,
    out_of_window: Counter,
    filtered: Counter,
    pages: Counter,
    requests: CounterFamily<2>,
    request_duration: Histogram,
    received: Counter,
    retries: CounterFamily<1>,
    rate_limited: Counter,
    rate_limit_wait: FloatCounter,
    backoff_wait: FloatCounter,
    cursor_restarts: CounterFamily<1>,
    unknown_actions: CounterFamily<1>,
    /// The action names `unknown_actions` has labels for, in the order first seen.
    unknown_names: Mutex<Vec<&'static str>>,
    position: Arc<Position>,
}

/// Most distinct action names the `unknown_actions` family has labels for; entries of further
/// names count under `other`.
pub const MAX_UNKNOWN_ACTION_LABELS: usize = 20;

/// Longest action name used as a label.
const MAX_LABELLED_NAME: usize = 64;

/// The label of `action`, kept for the life of the process (the family's label values are
/// `&'static str`). Each name is kept once per process, and at most
/// [`MAX_INTERNED_NAMES`] are: the memory is bounded whatever Slack sends.
fn interned(action: &str) -> Option<&'static str> {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(name) = names.iter().find(|name| **name == action) {
        return Some(name);
    }
    if names.len() >= MAX_INTERNED_NAMES {
        return None;
    }
    let name: &'static str = Box::leak(action.to_owned().into_boxed_str());
    names.push(name);
    Some(name)
}

/// Most action names kept as labels by one process, over every input it builds.
const MAX_INTERNED_NAMES: usize = 256;

impl Default for SlackMetrics {
    fn default() -> Self {
        SlackMetrics {
            duplicates: Counter::default(),
            unkeyed: Counter::default(),
            out_of_window: Counter::default(),
            filtered: Counter::default(),
            pages: Counter::default(),
            requests: CounterFamily::default(),
            // 10 ms to about 160 s (a page of 9,999 entries over a slow link; the request
            // timeout is at most 300 s).
            request_duration: Histogram::new(exponential_buckets(0.01, 2.0, 15)),
            received: Counter::default(),
            retries: CounterFamily::default(),
            rate_limited: Counter::default(),
            rate_limit_wait: FloatCounter::default(),
            backoff_wait: FloatCounter::default(),
            cursor_restarts: CounterFamily::default(),
            unknown_actions: CounterFamily::default(),
            unknown_names: Mutex::default(),
            position: Arc::default(),
        }
    }
}

impl SlackMetrics {
    /// Declares every family into `instruments` (the host prefixes them).
    pub fn register(&self, instruments: &mut Instruments) {
        instruments.counter(
            "duplicates_skipped",
            "Entries not delivered because they already were (re-read at the resume second or within the late-arrival window)",
            &self.duplicates,
        );
        instruments.counter(
            "unkeyed_entries",
            "Entries without a string id or an integer date_create: delivered as sent, but they cannot be de-duplicated",
            &self.unkeyed,
        );
        instruments.counter(
            "out_of_window_entries",
            "Entries dated outside the window asked for: delivered as sent, never trusted to move the checkpoint",
            &self.out_of_window,
        );
        instruments.counter(
            "filtered_entries",
            "Entries read but not delivered: the action filter applied on our side (more than 30 names, or exclusions) left them out; they still move the checkpoint",
            &self.filtered,
        );
        instruments.counter(
            "pages",
            "Pages of audit logs handled (de-duplicated, handed over with their checkpoint)",
            &self.pages,
        );
        instruments.counter_family(
            "requests",
            "Requests to Slack's Audit Logs API by HTTP status class (status: 2xx, 4xx, 5xx, ... or none when no response came) and outcome (kind: ok, rate_limited, transient, invalid_cursor, auth, config, fatal, certificate)",
            &self.requests,
        );
        instruments.histogram_with_unit(
            "request_duration",
            "Time of one request to Slack, from sending it to the last byte of the body or the error",
            Unit::Seconds,
            &self.request_duration,
        );
        instruments.counter_with_unit(
            "received",
            "Bytes of response bodies received from Slack, after decompression",
            Unit::Bytes,
            &self.received,
        );
        instruments.counter_family(
            "retries",
            "Requests tried again, by reason (rate_limited: a 429 or Slack's ratelimited error; transient: 5xx, timeouts, broken connections or bodies, \"ok\": false)",
            &self.retries,
        );
        instruments.counter(
            "rate_limited",
            "Answers asking to slow down (HTTP 429, or Slack's ratelimited error)",
            &self.rate_limited,
        );
        instruments.float_counter_with_unit(
            "rate_limit_wait",
            "Time waited because Slack asked to (Retry-After, capped at 5 minutes a wait)",
            Unit::Seconds,
            &self.rate_limit_wait,
        );
        instruments.float_counter_with_unit(
            "backoff_wait",
            "Time waited between a failed request and its retry (exponential backoff with jitter)",
            Unit::Seconds,
            &self.backoff_wait,
        );
        instruments.counter_family(
            "cursor_restarts",
            "Windows resumed from their checkpoint without a cursor, by reason (invalid_cursor: Slack refused it; loop: a cursor came back)",
            &self.cursor_restarts,
        );
        instruments.counter_family(
            "unknown_actions",
            "Entries whose action the OCSF mapping does not know, emitted as API Activity with activity_id 99 (Other), by action (the first 20 distinct plain names, then other); record_format ocsf only. The mapping is behind: see slack-audit actions",
            &self.unknown_actions,
        );
        instruments.gauges(Arc::clone(&self.position) as Arc<dyn GaugeSource>);
        // The label sets every run can have start at 0, so they are listed from the first
        // scrape and `rate()` sees their first increase.
        let _ = self
            .requests
            .get_or_create(&[("status", "2xx"), ("kind", "ok")]);
        for reason in ["transient", "rate_limited"] {
            let _ = self.retries.get_or_create(&[("reason", reason)]);
        }
        for reason in ["invalid_cursor", "loop"] {
            let _ = self.cursor_restarts.get_or_create(&[("reason", reason)]);
        }
    }
}

impl SlackMetrics {
    /// The `unknown_actions` label of `action`: itself if it is a plain name and one of the
    /// first [`MAX_UNKNOWN_ACTION_LABELS`] seen, else `other`.
    fn unknown_action_label(&self, action: Option<&str>) -> &'static str {
        let Some(action) = action.filter(|a| {
            !a.is_empty()
                && a.len() <= MAX_LABELLED_NAME
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        }) else {
            return "other";
        };
        let mut names = self
            .unknown_names
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(name) = names.iter().find(|name| **name == action) {
            return name;
        }
        if names.len() >= MAX_UNKNOWN_ACTION_LABELS {
            return "other";
        }
        match interned(action) {
            Some(name) => {
                names.push(name);
                name
            }
            None => "other",
        }
    }
}

/// The OCSF encoder's reports of actions its mapping does not know, counted by name.
impl crate::ocsf::UnknownActionObserver for SlackMetrics {
    fn unknown_action(&self, action: Option<&str>) {
        let label = self.unknown_action_label(action);
        self.unknown_actions
            .get_or_create(&[("action", label)])
            .inc();
    }
}

/// The sources' reports about their requests, recorded (the sources know only
/// [`RequestObserver`], so they never import the metrics back).
impl RequestObserver for SlackMetrics {
    /// One request answered (`status`: the HTTP status, if a response came) with `kind` (`ok`,
    /// or the failure's class: [`crate::source::FetchError::kind`]), in `took`, with `bytes` of
    /// body read.
    fn request(&self, status: Option<u16>, kind: &'static str, took: Duration, bytes: usize) {
        let class = match status {
            None => "none",
            Some(100..=199) => "1xx",
            Some(200..=299) => "2xx",
            Some(300..=399) => "3xx",
            Some(400..=499) => "4xx",
            Some(500..=599) => "5xx",
            Some(_) => "other",
        };
        self.requests
            .get_or_create(&[("status", class), ("kind", kind)])
            .inc();
        self.request_duration.observe(took.as_secs_f64());
        self.received.inc_by(bytes as u64);
    }

    /// A request is retried after a transient failure, `backoff` later.
    fn retry_after_failure(&self, backoff: Duration) {
        self.retries.get_or_create(&[("reason", "transient")]).inc();
        self.backoff_wait.inc_by(backoff.as_secs_f64());
    }

    /// Slack asked to slow down; the next request waits `wait`.
    fn rate_limited(&self, wait: Duration) {
        self.retries
            .get_or_create(&[("reason", "rate_limited")])
            .inc();
        self.rate_limited.inc();
        self.rate_limit_wait.inc_by(wait.as_secs_f64());
    }
}

/// The engine's reports, recorded. Recording is atomic, so a shared reference listens (as a
/// `&File` writes): every pass reports to the one `SlackMetrics` of the input.
impl SyncObserver for &SlackMetrics {
    /// A window resumes from its checkpoint without a cursor (`reason`: `invalid_cursor` or
    /// `loop`).
    fn cursor_restart(&mut self, reason: CursorRestart) {
        let reason = match reason {
            CursorRestart::Refused => "invalid_cursor",
            CursorRestart::Loop => "loop",
        };
        self.cursor_restarts
            .get_or_create(&[("reason", reason)])
            .inc();
    }

    /// A page was handled: the pass's counts went from `before` to `after`.
    fn page(&mut self, before: &PassStats, after: &PassStats, _window: &Window) {
        self.pages.inc_by(after.pages.saturating_sub(before.pages));
        self.duplicates
            .inc_by(after.duplicates.saturating_sub(before.duplicates));
        self.unkeyed
            .inc_by(after.unkeyed.saturating_sub(before.unkeyed));
        self.out_of_window
            .inc_by(after.out_of_window.saturating_sub(before.out_of_window));
        self.filtered
            .inc_by(after.filtered.saturating_sub(before.filtered));
    }

    /// The position a checkpoint handed over describes.
    fn position(&mut self, state: &SyncState) {
        let p = &self.position;
        p.watermark
            .store(state.watermark.unwrap_or(NONE), Ordering::Relaxed);
        p.checked_through
            .store(state.checked_through.unwrap_or(NONE), Ordering::Relaxed);
        let window = state.window.as_ref();
        p.oldest
            .store(window.map_or(NONE, |w| w.oldest), Ordering::Relaxed);
        p.latest
            .store(window.map_or(NONE, |w| w.latest), Ordering::Relaxed);
        p.upper
            .store(window.map_or(NONE, Window::position), Ordering::Relaxed);
        let ids: usize = state.recent.values().map(Vec::len).sum();
        p.late_ids.store(ids as i64, Ordering::Relaxed);
    }
}

/// "Not known": no watermark yet, no window open.
const NONE: i64 = i64::MIN;

/// The position, read at scrape time.
#[derive(Debug)]
struct Position {
    watermark: AtomicI64,
    checked_through: AtomicI64,
    oldest: AtomicI64,
    latest: AtomicI64,
    upper: AtomicI64,
    late_ids: AtomicI64,
}

impl Default for Position {
    fn default() -> Self {
        Position {
            watermark: AtomicI64::new(NONE),
            checked_through: AtomicI64::new(NONE),
            oldest: AtomicI64::new(NONE),
            latest: AtomicI64::new(NONE),
            upper: AtomicI64::new(NONE),
            late_ids: AtomicI64::new(0),
        }
    }
}

fn known(v: &AtomicI64) -> Option<i64> {
    Some(v.load(Ordering::Relaxed)).filter(|v| *v != NONE)
}

impl GaugeSource for Position {
    fn read(&self, gauges: &mut GaugeReadings) {
        let seconds = Some(Unit::Seconds);
        let watermark = known(&self.watermark);
        let checked_through = known(&self.checked_through);
        let now = unix_now();
        gauges.gauge(
            "checked_through_timestamp",
            "End of the last window read completely, in unix seconds: every event dated up to it that Slack had indexed by then is collected (absent until a window completes).",
            seconds,
            checked_through,
        );
        gauges.gauge(
            "lag",
            "Now minus the end of the last window read completely (checked_through), in seconds: how far behind collection is, whether or not events happened (absent until a window completes).",
            seconds,
            checked_through.map(|c| now - c as f64),
        );
        gauges.gauge(
            "watermark_timestamp",
            "The newest date_create of a completed window, in unix seconds: the newest event collected (absent until a window with events completes).",
            seconds,
            watermark,
        );
        gauges.gauge(
            "newest_event_age",
            "Now minus the watermark, in seconds: the age of the newest event collected. Grows on a quiet organization while collection is up to date; not a measure of lag.",
            seconds,
            watermark.map(|w| now - w as f64),
        );
        let window = match (known(&self.oldest), known(&self.latest), known(&self.upper)) {
            (Some(o), Some(l), Some(u)) => Some((o, l, u)),
            _ => None,
        };
        gauges.gauge(
            "window_oldest_timestamp",
            "Start of the window being read, in unix seconds (absent between windows).",
            seconds,
            window.map(|(o, _, _)| o),
        );
        gauges.gauge(
            "window_latest_timestamp",
            "End of the window being read, in unix seconds (absent between windows).",
            seconds,
            window.map(|(_, l, _)| l),
        );
        gauges.gauge(
            "window_position_timestamp",
            "How far back the window being read has got (pages go newest first), in unix seconds: the backfill position (absent between windows).",
            seconds,
            window.map(|(_, _, u)| u),
        );
        gauges.gauge(
            "window_progress_ratio",
            "Share of the window being read that is done, from 0 to 1 (absent between windows).",
            None,
            window.map(|(o, l, u)| progress_ratio(o, l, u)),
        );
        gauges.gauge(
            "late_arrival_ids",
            "Ids kept to recognise events re-read within the late-arrival window.",
            None,
            Some(self.late_ids.load(Ordering::Relaxed)),
        );
    }
}
