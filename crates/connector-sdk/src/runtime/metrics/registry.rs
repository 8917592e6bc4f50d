//! Runtime layer: [`Metrics`], the registry of one connector process: the host's generic
//! families, the input's declared instruments ([`super::expose`]), build info, and health.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use super::expose;
use super::health::Health;
use crate::contract::error::{ErrorKind, InputError};
use crate::contract::input::Input;
use crate::contract::instruments::{Instruments, unix_now};
use crate::runtime::host_side::EmitObserver;

/// The `Content-Type` of what `/metrics` serves (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// A gauge holding a float (unix seconds).
type FloatGauge = Gauge<f64, AtomicU64>;
/// Labels of a family: fixed words chosen by code, so a lookup allocates nothing.
type Labels<const N: usize> = [(&'static str, &'static str); N];

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
    #[cfg(feature = "lake")]
    lake: super::LakeMetrics,
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
    /// the input's own, declared through [`Input::register_metrics`] and mapped onto the
    /// registry. `version` is the
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
        #[cfg(feature = "lake")]
        let lake = super::LakeMetrics::default();
        #[cfg(feature = "lake")]
        lake.register(&mut registry);
        let mut instruments = Instruments::default();
        input.register_metrics(&mut instruments);
        expose::register(&mut registry, instruments);
        Metrics {
            inner: Arc::new(Inner {
                registry,
                host,
                health: Health::new(),
                #[cfg(feature = "lake")]
                lake,
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

    /// The lake destination's families (recorded only by a read into a lake).
    #[cfg(feature = "lake")]
    pub fn lake(&self) -> &super::LakeMetrics {
        &self.inner.lake
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

impl EmitObserver for Metrics {
    /// Records that the input handed over a batch: it is alive and its source answers.
    fn emitted(&self) {
        self.inner.host.last_emit.set(unix_now());
        self.inner.health.progressed();
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
