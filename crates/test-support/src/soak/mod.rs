//! The soak test: the real connector binary, in follow mode, against a mock that keeps
//! producing events and keeps failing, killed and restarted at random, then checked against a
//! ledger of every event the mock was given.
//!
//! # Why
//!
//! Unit and integration tests prove each mechanism (windows, checkpoints, retries, pacing) on
//! a scripted case. What they cannot prove is that the mechanisms hold together under a long,
//! messy run: a SIGKILL between "flushed" and "checkpoint saved", a restart in the middle of a
//! window whose cursor has expired, a late event arriving while the window that covers it is
//! being paged, a stall that outlives the request timeout while a 429 is pending. The soak runs
//! all of that at once and checks the one promise that matters: **every event ends up on
//! stdout, and the only repeats are the batch that was in flight at a kill.**
//!
//! # What it does
//!
//! [`run`] starts a [`MockSlack`] with seeded random faults of every [`FaultKind::RANDOM`] kind (503 with an HTML
//! body, 429 with `Retry-After`, truncated JSON, dropped connections, stalls longer than the
//! connector's request timeout, 200 `{"ok": false}`, refused cursors, entries dated a year away
//! from the window asked for, cursors that repeat themselves), and a producer thread
//! that pushes events into it: a steady stream stamped "now", bursts of many events sharing one
//! second (ties that pages never split), and late arrivals stamped 5–60 s in the past (inside
//! the connector's late-arrival window). It spawns `slack-audit read --follow` on a config that
//! points at the mock, reads its stdout line by line (recording which process instance
//! delivered which id, when), SIGKILLs it at random moments and starts it again on the same
//! state file. At the end it stops producing, waits until the connector has caught up, stops it
//! with SIGTERM (which must exit 0 promptly) and checks the ledger:
//!
//! - **lost** = pushed − delivered must be 0 (an event pushed but never served counts as lost
//!   too: the connector must eventually read every event, since late ones are within its
//!   lookback);
//! - every record is byte-for-byte the entry the mock was given (stray entries, ids
//!   `stray-…`, are passed through and counted apart: they are not events of the ledger);
//! - an id delivered again was, the time before, delivered by a process instance that was
//!   **SIGKILLed**, among the last lines it wrote (at most one page: `page_size` plus the largest
//!   tie); never twice by one instance, never after a clean stop or without a kill;
//! - no request came before a `Retry-After` had elapsed (the mock's `early_retries`);
//! - a partly written line exists only at the end of a killed instance's output;
//! - every request carried the token (the mock checks it), both window bounds (`oldest`,
//!   `latest`: the cursor is only a position) and nothing the mock refuses as invalid;
//! - the token never appears in the connector's logs; the connector never exits on its own.
//!
//! After a kill the new instance is started only once the longest `Retry-After` the mock hands
//! out has elapsed: a fresh process cannot know about a 429 its predecessor received, so an
//! immediate restart would be counted as an early retry that is not the connector's fault.
//!
//! The run keeps its files (config, state, the connector's stderr) in a work directory that is
//! deleted when every check passed and kept, with its path in the report, when one failed.

mod context;
mod drive;
mod judge;
mod ledger;
mod options;
mod process;
mod produce;
mod report;

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use slack_mock::{FaultKind, MockConfig, MockSlack, RandomFaults};

use context::Soak;
pub use options::SoakOptions;
use options::validate;
use process::log_tail;
use produce::soak_token;
use report::io_err;
pub use report::{SoakError, SoakProgress, SoakReport};

/// Runs a soak of `binary` (a `slack-audit` executable) with `options`. Blocking: it starts
/// its own tokio runtime for the mock, so do not call it from inside an async runtime.
pub fn run(binary: &Path, options: SoakOptions) -> Result<SoakReport, SoakError> {
    run_with_progress(binary, options, |_| {})
}

/// [`run`], calling `progress` about every [`SoakOptions::progress_every`] while events are
/// produced and during the catch-up.
pub fn run_with_progress(
    binary: &Path,
    options: SoakOptions,
    mut progress: impl FnMut(&SoakProgress),
) -> Result<SoakReport, SoakError> {
    validate(binary, &options)?;
    let work_dir = match &options.work_dir {
        Some(dir) => dir.clone(),
        None => {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            std::env::temp_dir().join(format!(
                "slack-soak-{}-{}-{nanos}",
                std::process::id(),
                options.seed
            ))
        }
    };
    fs::create_dir_all(&work_dir).map_err(io_err(format!("create {}", work_dir.display())))?;

    let runtime = crate::runtime("soak-mock", 2).map_err(io_err("start the mock's runtime"))?;
    let token = soak_token(options.seed);
    let mock = runtime
        .block_on(MockSlack::start(MockConfig {
            token: Some(token.clone()),
            rate_limit_per_minute: options.mock_rate_limit_per_minute,
            random_faults: Some(RandomFaults {
                seed: options.seed ^ 0x5eed_fa17,
                probability: options.fault_probability,
                kinds: FaultKind::RANDOM.iter().map(|k| (*k, 1)).collect(),
                stall: options.stall,
                retry_after_secs: options.retry_after_secs,
            }),
            ..MockConfig::default()
        }))
        .map_err(io_err("start the mock"))?;

    let soak = Soak::new(binary, &options, &work_dir, &mock, token)?;
    let report = soak.drive(&mut progress).map(|run| soak.judge(run));
    let log_path = soak.log_path.clone();
    drop(soak);
    runtime.block_on(mock.shutdown());
    let mut report = report?;
    if !report.passed() {
        report.log_tail = log_tail(&log_path);
    } else if !options.keep_work_dir {
        let _ = fs::remove_dir_all(&work_dir);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::time::Duration;

    use super::*;

    /// A negative control: a "connector" that reads nothing must fail the soak loudly.
    #[cfg(unix)]
    #[test]
    fn a_connector_that_delivers_nothing_fails_the_soak() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("slack-soak-control-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("fake-connector");
        fs::write(&fake, "#!/bin/sh\nexec sleep 600\n").unwrap();
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        let options = SoakOptions {
            duration: Duration::from_secs(2),
            events_per_second: 20.0,
            kill_interval: (Duration::from_millis(500), Duration::from_millis(900)),
            kill_on_output_fraction: 0.0,
            catch_up_timeout: Duration::from_millis(500),
            settle: Duration::ZERO,
            term_timeout: Duration::from_millis(500),
            work_dir: Some(dir.join("work")),
            ..SoakOptions::default()
        };
        let report = run(&fake, options).unwrap();
        println!("{report}");
        assert!(!report.passed());
        assert!(
            report.events > 0 && report.lost == report.events,
            "{report}"
        );
        assert_eq!(report.delivered, 0);
        assert!(report.kills >= 1, "{report}");
        // `sleep` dies of SIGTERM instead of exiting 0.
        assert_eq!(report.term_exit_code, None, "{report}");
        assert!(
            report.violations.iter().any(|v| v.contains("events lost")),
            "{report}"
        );
        assert!(
            report.violations.iter().any(|v| v.contains("SIGTERM")),
            "{report}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
