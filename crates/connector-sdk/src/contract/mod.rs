//! The contract layer: what a connector implements and what crosses between it and the host.
//!
//! Nothing here runs anything, opens a file or names a metrics or HTTP type; the modules here
//! import only each other (and never in a circle), never [`crate::runtime`] or [`crate::front`].
//!
//! - [`input`]: the [`Input`](input::Input), [`Settings`](input::Settings) and
//!   [`Secrets`](input::Secrets) traits, the [`Config`](input::Config) document type, the records
//!   and batches an input emits through its [`ReadContext`](input::ReadContext), and what it says
//!   about a saved state ([`StateDescription`](input::StateDescription)).
//! - [`instruments`]: the SDK's own counters, families, histograms and scrape-time gauges an
//!   input declares and records into.
//! - [`config`]: the config JSON Schema and the one path from raw bytes to a built input.
//! - [`state_rules`]: the state envelope, versions, migration, and the refusal of a state no
//!   run could have written.
//! - [`error`]: errors, classified the way an operator needs them.

pub mod config;
pub mod error;
pub mod input;
pub mod instruments;
pub mod state_rules;
