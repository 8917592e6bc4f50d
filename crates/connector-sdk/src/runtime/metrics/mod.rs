//! Runtime layer: metrics and health of a running `read`, for Prometheus and for an
//! orchestrator's probe.
//!
//! # The shape
//!
//! [`Metrics`] is one registry of metric families for one connector process, shared by handle.
//! It holds the **generic** families, the ones every connector has and the host records (records
//! and bytes delivered, state commits and their duration, polls by outcome, the last successful
//! poll, build info), and the input's **own** instruments, which the input declares once through
//! [`Input::register_metrics`](crate::contract::input::Input::register_metrics) in the SDK's own terms
//! ([`crate::contract::instruments`]; an optional capability: the default declares none) and
//! which this module maps onto its `prometheus-client` registry (`expose`). The contract
//! never names a Prometheus type: the registry is the runtime's. Every name
//! starts with a prefix derived from [`Input::NAME`](crate::contract::input::Input::NAME) (`slack-audit` → `slack_audit_`), so nothing
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

//!
//! # Modules
//!
//! `registry` holds [`Metrics`] (the registry, the host's families, health); `expose` maps an
//! input's declarations onto the registry; `lake_families` (feature `lake`) holds the lake
//! destination's families; `health` is `/healthz`'s verdict; `server` is the
//! HTTP endpoint.

mod expose;
mod health;
#[cfg(feature = "lake")]
mod lake_families;
mod registry;
mod server;

pub use self::health::{Health, HealthStatus, MIN_STALE, STALE_POLLS};
#[cfg(feature = "lake")]
pub use self::lake_families::LakeMetrics;
pub use self::registry::{CONTENT_TYPE, FamilyInfo, Metrics, metric_prefix};
pub use self::server::{
    CONNECTION_LIFETIME, HEADER_TIMEOUT, MAX_CONNECTIONS, MAX_REQUESTS_PER_CONNECTION,
    MetricsServer,
};
