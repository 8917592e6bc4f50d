//! Integration tests of the Slack input, against a loopback mock of Slack (`slack-mock`).
//!
//! One test binary (faster to build and link than one per file); each module is one concern.
//! Most tests run the input in-process through the SDK's host with a pinned clock; the ones
//! about exit codes, signals and kills run the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod airbyte;
mod catalogue;
mod cli;
mod configs;
mod env_secrets;
mod errors;
mod exit_codes;
mod file_output;
mod filters;
mod hostile;
mod kills;
mod lake;
mod lake_kills;
mod lifecycle;
mod metrics;
mod network;
mod ocsf;
mod ocsf_analyst;
mod packaging;
mod rough_edges;
mod secrets;
mod settings_change;
mod status;
mod support;
mod sync;
mod synthetic;
