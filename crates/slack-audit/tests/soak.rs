//! The short soak: the `slack-audit` binary in follow mode for about a minute against a mock
//! that keeps producing events (bursts of ties, late arrivals) and keeps failing (every fault
//! kind), SIGKILLed and restarted every few seconds, then stopped with SIGTERM.
//!
//! Why a separate test binary: it runs a real child process for a minute and owns its timing;
//! sharing a binary with fast tests would only slow them down. The long run is
//! `cargo xtask soak --minutes 30`; the machinery is `test_support::soak`.

#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use test_support::soak::{self, SoakOptions};

#[test]
fn short_soak_loses_nothing_and_repeats_only_batches_in_flight_at_a_kill() {
    let binary = Path::new(env!("CARGO_BIN_EXE_slack-audit"));
    let options = SoakOptions {
        duration: Duration::from_secs(45),
        seed: 1405,
        // Often enough that a minute sees several kills, some of them mid-window.
        kill_interval: (Duration::from_secs(3), Duration::from_secs(8)),
        fault_probability: 0.15,
        ..SoakOptions::default()
    };
    let report = soak::run(binary, options).expect("the soak runs");
    println!("{report}");

    assert!(report.passed(), "soak checks failed:\n{report}");
    assert_eq!(report.lost, 0, "{report}");
    assert_eq!(report.early_retries, 0, "{report}");
    assert_eq!(report.term_exit_code, Some(0), "{report}");
    assert!(
        report.kills >= 3,
        "too few kills to prove anything:\n{report}"
    );
    assert!(
        report.worst_kill_duplicates <= report.duplicate_bound_per_kill,
        "{report}"
    );
    assert!(
        report.duplicates <= report.kills * report.duplicate_bound_per_kill,
        "{report}"
    );
    // The run exercised what it claims to: ties, late events, and most kinds of faults.
    assert!(report.events >= 150, "{report}");
    assert!(
        report.late_events > 0 && report.burst_events > 0,
        "{report}"
    );
    assert!(report.largest_tie > 1, "{report}");
    assert!(report.faults.total() >= 10, "{report}");
    // The seed's fault sequence (arrival order) holds each kind below within its first 45
    // requests (17 faults in all); `invalid_cursor` and `repeat_cursor` need a request that carries a cursor, so
    // they are not required.
    assert!(
        report.fault_kinds_seen() >= 6,
        "fewer than 6 fault kinds injected:\n{report}"
    );
    for (kind, count) in [
        ("429", report.faults.rate_limited),
        ("stall", report.faults.stall),
        ("truncated", report.faults.truncated),
        ("503", report.faults.status),
        ("dropped", report.faults.drop),
        ("ok:false", report.faults.ok_false),
        ("stray entry", report.faults.stray_entry),
    ] {
        assert!(count > 0, "no {kind} fault injected:\n{report}");
    }
    // Some kills wait for output and strike between a flushed batch and its checkpoint.
    assert!(report.kills_on_output >= 1, "{report}");
}
