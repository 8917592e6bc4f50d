//! Metrics and health of a running `read`, for Prometheus and for an orchestrator's probe.
//!
//! # The shape
//!
//! [`Metrics`] is one registry of metric families for one connector process, shared by handle.
//! It holds the **generic** families, the ones every connector has and the host records (records
//! and bytes delivered, state commits and their duration, polls by outcome, the last successful
//! poll, build info), and the input's **own** families, which the input registers once through
//! [`Input::register_metrics`] (an optional capability: the default registers none). Every name
//! starts with a prefix derived from [`Input::NAME`] (`slack-audit` → `slack_audit_`), so nothing
//! source-specific is written here.
//!
//! [`MetricsServer`] serves `GET /metrics` (the Prometheus text exposition format 0.0.4,
//! written by `prometheus-client`) and `GET /healthz` (see [`Health`]) on the address the
//! operator asked for, and nowhere else.
//!
//! # Cost
//!
//! Counters and gauges are atomics. The host records once per batch and once per pass, never per
//! record; inputs are expected to do the same (count in locals while handling a page, add the
//! page's totals once). Label sets are `&'static str` arrays: looking a labelled counter up
//! allocates nothing. Encoding happens only when somebody scrapes.
//!
//! # What is never in a metric
//!
//! Secrets. Label values are fixed words chosen by code (an outcome, a status class), never
//! text from a config, a request or a response.

mod health;
mod server;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use prometheus_client;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
pub use prometheus_client::registry::Registry;
use prometheus_client::registry::Unit;

pub use self::health::{Health, HealthStatus, MIN_STALE, STALE_POLLS};
pub use self::server::{
    CONNECTION_LIFETIME, HEADER_TIMEOUT, MAX_CONNECTIONS, MAX_REQUESTS_PER_CONNECTION,
    MetricsServer,
};
use crate::error::{ErrorKind, InputError};
use crate::input::Input;

/// The `Content-Type` of what `/metrics` serves (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// A gauge holding a float (unix seconds, ratios).
pub type FloatGauge = Gauge<f64, AtomicU64>;
/// A counter holding a float (seconds waited).
pub type FloatCounter = Counter<f64, AtomicU64>;
/// Labels of a family: fixed words chosen by code, so a lookup allocates nothing.
pub type Labels<const N: usize> = [(&'static str, &'static str); N];

/// The metric name prefix of connector `name`: lower case, `_` for anything but letters and
/// digits (`slack-audit` → `slack_audit`).
pub fn metric_prefix(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The generic families, recorded by the host.
#[derive(Debug)]
struct HostFamilies {
    records: Counter,
    bytes: Counter,
    commits: Counter,
    commit_duration: Histogram,
    polls: Family<Labels<1>, Counter>,
    last_success: FloatGauge,
    last_emit: FloatGauge,
}

impl HostFamilies {
    fn new() -> Self {
        HostFamilies {
            records: Counter::default(),
            bytes: Counter::default(),
            commits: Counter::default(),
            // 0.5 ms to about 8 s.
            commit_duration: Histogram::new(exponential_buckets(0.0005, 2.0, 15)),
            polls: Family::default(),
            last_success: FloatGauge::default(),
            last_emit: FloatGauge::default(),
        }
    }
}

/// The metrics of one connector process: the registry, the host's families, and health.
///
/// Cheap to clone (a handle); every clone records into the same families.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    host: HostFamilies,
    health: Health,
}

/// One metric family as the exposition describes it, for the README's reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyInfo {
    /// Its full name as exposed (with `_total`, unit and prefix).
    pub name: String,
    /// `counter`, `gauge` or `histogram`.
    pub kind: String,
    /// Its help text.
    pub help: String,
}

impl Metrics {
    /// The metrics of `input`: the generic families under the prefix of [`Input::NAME`], then
    /// the input's own, registered through [`Input::register_metrics`]. `version` is the
    /// connector's version, exposed as build info.
    pub fn new<I: Input>(input: &I, version: &'static str) -> Metrics {
        let mut registry = Registry::with_prefix(metric_prefix(I::NAME));
        let host = HostFamilies::new();
        registry.register(
            "records_delivered",
            "Records written to the output and flushed (each exactly once per delivery)",
            host.records.clone(),
        );
        registry.register_with_unit(
            "delivered",
            "Bytes of records written to the output and flushed",
            Unit::Bytes,
            host.bytes.clone(),
        );
        registry.register(
            "state_commits",
            "Checkpoints committed to the state after the records they cover were delivered",
            host.commits.clone(),
        );
        registry.register_with_unit(
            "state_commit_duration",
            "Time to commit one checkpoint (write, fsync, rename)",
            Unit::Seconds,
            host.commit_duration.clone(),
        );
        registry.register(
            "polls",
            "Passes of the input (a poll reads until caught up), by outcome: ok, or the error's class (config_error, auth_error, transient_error, fatal_error, certificate_error)",
            host.polls.clone(),
        );
        registry.register_with_unit(
            "last_successful_poll_timestamp",
            "When the last pass finished without error, in unix seconds (0: none yet)",
            Unit::Seconds,
            host.last_success.clone(),
        );
        registry.register_with_unit(
            "last_progress_timestamp",
            "When the input last handed over a batch (a page read, a checkpoint moved), in unix seconds (0: none yet)",
            Unit::Seconds,
            host.last_emit.clone(),
        );
        registry.register(
            "build",
            "The connector's version; always 1",
            Info::new([("version", version)]),
        );
        for outcome in ["ok", "transient_error"] {
            let _ = host.polls.get_or_create(&[("outcome", outcome)]);
        }
        input.register_metrics(&mut registry);
        Metrics {
            inner: Arc::new(Inner {
                registry,
                host,
                health: Health::new(),
            }),
        }
    }

    /// The exposition of every family, in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_text::encode(&mut out, &self.inner.registry);
        out
    }

    /// The families this process exposes: name, type and help, in registration order.
    pub fn families(&self) -> Vec<FamilyInfo> {
        let text = self.encode();
        let mut families: Vec<FamilyInfo> = Vec::new();
        let mut help: Option<(String, String)> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                help = rest
                    .split_once(' ')
                    .map(|(n, h)| (n.to_owned(), h.replace("\\\\", "\\")));
            } else if let Some(rest) = line.strip_prefix("# TYPE ")
                && let Some((name, kind)) = rest.split_once(' ')
            {
                let text = match &help {
                    Some((n, h)) if n == name => h.clone(),
                    _ => String::new(),
                };
                families.push(FamilyInfo {
                    name: name.to_owned(),
                    kind: kind.to_owned(),
                    help: text,
                });
            }
        }
        families
    }

    /// The health the `/healthz` endpoint reports.
    pub fn health(&self) -> &Health {
        &self.inner.health
    }

    /// Records that `records` records of `bytes` bytes were delivered (once per batch).
    pub(crate) fn delivered(&self, records: usize, bytes: usize) {
        self.inner.host.records.inc_by(records as u64);
        self.inner.host.bytes.inc_by(bytes as u64);
    }

    /// Records one checkpoint committed in `took`.
    pub(crate) fn committed(&self, took: Duration) {
        self.inner.host.commits.inc();
        self.inner.host.commit_duration.observe(took.as_secs_f64());
    }

    /// Records that the input handed over a batch: it is alive and its source answers.
    pub(crate) fn emitted(&self) {
        self.inner.host.last_emit.set(unix_now());
        self.inner.health.progressed();
    }

    /// Records the end of a pass.
    pub(crate) fn poll_finished(&self, outcome: Result<(), &InputError>) {
        let label = match outcome {
            Ok(()) => "ok",
            Err(e) => match e.kind {
                ErrorKind::Config => "config_error",
                ErrorKind::Auth => "auth_error",
                ErrorKind::Transient => "transient_error",
                ErrorKind::Fatal => "fatal_error",
                ErrorKind::Certificate => "certificate_error",
            },
        };
        self.inner
            .host
            .polls
            .get_or_create(&[("outcome", label)])
            .inc();
        match outcome {
            Ok(()) => {
                self.inner.host.last_success.set(unix_now());
                self.inner.health.succeeded();
            }
            Err(e) => self.inner.health.failed(e),
        }
    }

    /// The rows of a Markdown table of every family: name, type, help.
    pub fn reference_table(&self) -> String {
        let mut out = String::from("| metric | type | description |\n|---|---|---|\n");
        for f in self.families() {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                f.name,
                f.kind,
                f.help.replace('|', "\\|")
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn prefixes_are_derived_from_the_name() {
        assert_eq!(metric_prefix("slack-audit"), "slack_audit");
        assert_eq!(metric_prefix("My.Source 2"), "my_source_2");
    }
}
