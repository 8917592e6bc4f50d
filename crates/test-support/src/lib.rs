//! Plumbing the test suite and `cargo xtask` share, kept out of the crates they exercise.
//!
//! - [`soak`]: the soak supervisor, which runs the real connector binary in follow mode
//!   against a faulty [`slack_mock::MockSlack`], kills it at random and judges its output
//!   against a ledger (`crates/slack-audit/tests/soak.rs` runs it short, `cargo xtask soak`
//!   long).
//! - [`runtime`]: the multi-threaded tokio runtime a blocking caller (a task, a test, the
//!   soak) starts to run the mock or an async check on.
//!
//! Why a crate of its own: the short soak is a test of the `slack-audit` package (it needs the
//! binary cargo builds for that package's tests), and the same supervisor serves xtask; neither
//! the mock (the loopback Slack only) nor xtask (which depends on `slack-audit`) can hold it for
//! both.

#![forbid(unsafe_code)]

pub mod soak;

/// A multi-threaded tokio runtime with `workers` worker threads named `name`, every driver
/// enabled.
pub fn runtime(name: &str, workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
}
