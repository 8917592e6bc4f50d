//! What a soak tells its caller: the report and its text, the progress snapshots, and the
//! errors of a soak that could not run.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use slack_mock::{FaultCounts, FaultKind};

/// A soak could not be run at all (as opposed to a run whose checks failed, which is a
/// [`SoakReport`] with violations).
#[derive(Debug)]
pub enum SoakError {
    /// The connector binary does not exist.
    MissingBinary(PathBuf),
    /// Options that cannot work (e.g. late events outside the lookback).
    InvalidOptions(String),
    /// An I/O step failed.
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: io::Error,
    },
}

impl fmt::Display for SoakError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingBinary(path) => {
                write!(f, "connector binary {} does not exist", path.display())
            }
            Self::InvalidOptions(why) => write!(f, "invalid soak options: {why}"),
            Self::Io { what, source } => write!(f, "soak: cannot {what}: {source}"),
        }
    }
}

impl std::error::Error for SoakError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub(super) fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> SoakError {
    let what = what.into();
    move |source| SoakError::Io { what, source }
}

/// A snapshot handed to the progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoakProgress {
    /// Since the start.
    pub elapsed: Duration,
    /// Events pushed so far.
    pub events: u64,
    /// Distinct events delivered so far.
    pub delivered: u64,
    /// SIGKILLs so far.
    pub kills: u64,
    /// Faults injected so far.
    pub faults: u64,
    /// Requests the mock received so far.
    pub requests: u64,
}

/// What a soak saw, and which of its checks failed.
#[derive(Debug, Clone)]
pub struct SoakReport {
    /// The seed.
    pub seed: u64,
    /// Wall time of the whole run (producing, catch-up, stop).
    pub elapsed: Duration,
    /// Events pushed into the mock.
    pub events: u64,
    /// Of those, pushed in bursts sharing one second.
    pub burst_events: u64,
    /// Of those, stamped in the past (late arrivals).
    pub late_events: u64,
    /// Most events sharing one `date_create`.
    pub largest_tie: u64,
    /// Distinct events seen on stdout.
    pub delivered: u64,
    /// Complete lines read from stdout (all instances).
    pub records: u64,
    /// Of those, stray entries ([`FaultKind::StrayEntry`]: dated a year away from the window
    /// asked for). They must be passed through, not judged as events of the ledger.
    pub stray_records: u64,
    /// Faults injected by kind.
    pub faults: FaultCounts,
    /// Every 429 the mock sent.
    pub rate_limited: u64,
    /// Requests that came before a `Retry-After` had elapsed.
    pub early_retries: u64,
    /// Requests the mock received.
    pub requests: u64,
    /// Connector processes started.
    pub instances: u64,
    /// SIGKILLs.
    pub kills: u64,
    /// Of those, struck the instant a batch appeared on stdout.
    pub kills_on_output: u64,
    /// Kills after which some records were delivered again.
    pub kills_with_repeats: u64,
    /// Pushed events never seen on stdout.
    pub lost: u64,
    /// Extra deliveries (an id delivered three times counts two).
    pub duplicates: u64,
    /// Largest number of ids one killed instance left to be delivered again.
    pub worst_kill_duplicates: u64,
    /// The bound per kill: `page_size` + the largest tie.
    pub duplicate_bound_per_kill: u64,
    /// Partial last lines of killed instances.
    pub torn_lines: u64,
    /// Longest time from an event's push to its first appearance on stdout.
    pub worst_delay: Duration,
    /// Median of that time.
    pub median_delay: Duration,
    /// 99th percentile of that time.
    pub p99_delay: Duration,
    /// Exit code after the final SIGTERM (`None`: killed by a signal or did not exit).
    pub term_exit_code: Option<i32>,
    /// How long the connector took to exit after SIGTERM.
    pub term_wait: Duration,
    /// Every check that failed, described; empty when the soak passed.
    pub violations: Vec<String>,
    /// The work directory (kept when a check failed).
    pub work_dir: PathBuf,
    /// The end of the connector's stderr when a check failed.
    pub log_tail: Option<String>,
}

impl SoakReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// Fault kinds that were injected at least once.
    pub fn fault_kinds_seen(&self) -> usize {
        FaultKind::ALL
            .iter()
            .filter(|k| self.faults.get(**k) > 0)
            .count()
    }
}

pub(super) fn ms(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

impl fmt::Display for SoakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fc = &self.faults;
        writeln!(
            f,
            "soak: seed {}, {} wall time",
            self.seed,
            ms(self.elapsed)
        )?;
        writeln!(
            f,
            "  events      {} pushed ({} in same-second bursts, {} late; largest tie {})",
            self.events, self.burst_events, self.late_events, self.largest_tie
        )?;
        writeln!(
            f,
            "  delivered   {} distinct, {} records on stdout",
            self.delivered, self.records
        )?;
        writeln!(
            f,
            "  faults      {} (503 html {}, 429 {}, truncated {}, dropped {}, stalled {}, ok:false {}, invalid_cursor {}, stray entry {}, repeated cursor {})",
            fc.total(),
            fc.status,
            fc.rate_limited,
            fc.truncated,
            fc.drop,
            fc.stall,
            fc.ok_false,
            fc.invalid_cursor,
            fc.stray_entry,
            fc.repeat_cursor
        )?;
        writeln!(
            f,
            "  strays      {} records of stray (out-of-window) entries on stdout",
            self.stray_records
        )?;
        writeln!(
            f,
            "  requests    {} ({} answered 429, {} early retries)",
            self.requests, self.rate_limited, self.early_retries
        )?;
        writeln!(
            f,
            "  kills       {} SIGKILL ({} right after output, {} followed by repeats), {} processes; SIGTERM exit {} after {}",
            self.kills,
            self.kills_on_output,
            self.kills_with_repeats,
            self.instances,
            self.term_exit_code
                .map_or_else(|| "none".to_owned(), |c| c.to_string()),
            ms(self.term_wait)
        )?;
        writeln!(f, "  lost        {}", self.lost)?;
        writeln!(
            f,
            "  duplicates  {} (worst kill {}, bound per kill {}; {} torn lines)",
            self.duplicates,
            self.worst_kill_duplicates,
            self.duplicate_bound_per_kill,
            self.torn_lines
        )?;
        writeln!(
            f,
            "  delay       worst {}, median {}, p99 {}",
            ms(self.worst_delay),
            ms(self.median_delay),
            ms(self.p99_delay)
        )?;
        if self.violations.is_empty() {
            write!(f, "  result      PASS")?;
        } else {
            writeln!(
                f,
                "  result      FAIL ({} violations)",
                self.violations.len()
            )?;
            for v in &self.violations {
                writeln!(f, "    - {v}")?;
            }
            write!(f, "  work dir    {} (kept)", self.work_dir.display())?;
            if let Some(tail) = &self.log_tail {
                write!(f, "\n  connector log (end):\n{tail}")?;
            }
        }
        Ok(())
    }
}
