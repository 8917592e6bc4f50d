//! Slack Enterprise Grid Audit Logs, collected exactly once.
//!
//! # Why
//!
//! Security teams need every audit event of their Slack organization in their SIEM, once. The
//! API makes that harder than it looks: pages come newest first, the cursor forgets `oldest`
//! and expires, bounds are inclusive, events of one second may straddle pages, some events are
//! indexed late, errors come with empty bodies or as `200 {"ok": false}`. Every open collector
//! gets at least one of these wrong; [`collect`] is the design that gets all of them right, and
//! its module docs say why it is exact.
//!
//! # Map
//!
//! - [`settings`]: the config (`settings` + `secrets`) and its semantic checks.
//! - [`source`]: where pages come from, one [`source::PageRequest`] at a time:
//!   [`source::http`] (one request to Slack, classified by [`source::slack_errors`], Slack's
//!   codes in words), wrapped by [`source::metered`] (request metrics) and
//!   [`source::resilient`] (pacing and retries); [`source::synthetic`] (demo data from
//!   `slack-audit-synthetic`); [`source::ahead`] (each page request on its own task, the next
//!   one started early).
//! - [`page`]: a response body kept as bytes; entries as byte ranges plus `id`/`date_create`.
//! - [`collect`]: the incremental sync. [`collect::state`]: what a checkpoint holds (the window,
//!   its position, the watermark, the ids kept for late arrivals) and what a loaded one must
//!   pass; [`collect::engine`]: windows, pages, dedupe, late events, cursor restarts;
//!   [`collect::observe`]: the one interface the engine reports through. [`query`]: the filters
//!   and format, built once from the settings, sent with every page, remembered by the state,
//!   and what changing them means. [`clock`]: what time it is, and how a time is written.
//! - [`encode`]: the encoder stage, how accepted entries become records (Slack's bytes, or
//!   OCSF events), chosen once from the query's format.
//! - [`actions`]: whether Slack lists an action name or category (the catalogue of
//!   `slack-audit-model`), for the checks of the action filters; [`catalogue`]: `slack-audit
//!   actions`, Slack's live catalogue and entity schemas against the bundled ones.
//! - [`ocsf`]: the optional OCSF output, an encoder on the way out (mapping table as data).
//! - [`lake`]: the records in a lake (`read --lake`): tables, times and fixed schemas.
//! - [`input`]: the [`connector_sdk::contract::input::Input`] implementation tying it together.
//! - [`app_manifest`]: the Slack app manifest of `examples/` (the scopes and the org-wide
//!   install the connector needs).
//! - [`metrics`]: Slack's metric families (requests, retries, skips, position);
//!   [`progress`]: a long backfill's progress on stderr (both listen to the engine through
//!   [`collect::observe::SyncObserver`]); [`state_report`]: what a saved state says, for
//!   `slack-audit status`.

#![forbid(unsafe_code)]

pub mod actions;
pub mod app_manifest;
pub mod catalogue;
pub mod clock;
pub mod collect;
pub mod encode;
pub mod input;
mod json_scan;
pub mod lake;
pub mod metrics;
pub mod ocsf;
pub mod page;
pub mod progress;
pub mod query;
pub mod redact;
pub mod settings;
pub mod source;
pub mod state_report;

pub use input::{DOCUMENTATION_URL, NAME, STREAM, SlackAuditInput, VERSION};
pub use settings::RecordFormat;
