//! What a Slack audit log entry is, and which actions Slack lists.
//!
//! # Why this crate exists
//!
//! Two crates need the same two facts about Slack's Audit Logs API, and neither should need the
//! other to get them:
//!
//! - `slack-audit` (the connector) documents its records with [`entry::record_schema`] and warns
//!   about a filter naming an action Slack never listed ([`ActionCatalog::contains`]): that is
//!   config validation, which must not pull in a data generator.
//! - `slack-audit-synthetic` (the generator) renders every object it invents through the
//!   [`entry`] types, so generated records and the published schema cannot drift apart, and it
//!   emits only action names from the [`ActionCatalog`].
//!
//! Kept here, below both, the facts have one home and the crate graph stays a tree:
//! `slack-audit → slack-audit-synthetic → slack-audit-model`, `slack-audit → slack-audit-model`.
//! The alternative, the generator owning the model, would make the connector's config
//! validation depend on the generator again, which is what this split undoes.
//!
//! # Map
//!
//! - [`entry`]: the typed, deliberately open model of one entry, and its JSON Schema.
//! - [`catalog`]: the action names of `GET /audit/v1/actions`, bundled
//!   (`data/slack-audit-actions.json`) and parsed once.
//!
//! Nothing here does I/O; real records are never parsed through these types (the connector
//! passes them through as bytes).

#![forbid(unsafe_code)]

pub mod catalog;
pub mod entry;

pub use catalog::{ACTIONS_JSON, ActionCatalog, EntitySchemas, SCHEMAS_JSON};
