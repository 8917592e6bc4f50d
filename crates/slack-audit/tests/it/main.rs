//! Integration tests of the Slack input, against a loopback mock of Slack (`slack-mock`).
//!
//! One test binary (faster to build and link than one per file); each module is one concern.
//! Most tests run the input in-process through the SDK's host with a pinned clock; the ones
//! about exit codes, signals and kills run the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod airbyte;
mod cli;
mod configs;
mod errors;
mod hostile;
mod kills;
mod lifecycle;
mod metrics;
mod ocsf;
mod ocsf_analyst;
mod secrets;
mod status;
mod support;
mod sync;
mod synthetic;
