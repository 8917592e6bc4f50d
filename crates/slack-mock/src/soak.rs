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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::clock::unix_now;
use crate::config::{FaultKind, MockConfig, RandomFaults};
use crate::entry::MockEntry;
use crate::rng::SplitMix64;
use crate::server::{FaultCounts, MockSlack, MockStats};

/// How often the producer pushes and the orchestrator looks at the connector.
const TICK: Duration = Duration::from_millis(100);
/// Most lost ids quoted in a violation.
const SAMPLE: usize = 10;
/// Bytes of the connector's log quoted in a report when a check failed.
const LOG_TAIL_BYTES: u64 = 8 * 1024;
/// How long a kill waits for output before killing a quiet connector plainly.
const ARMED_KILL_TIMEOUT: Duration = Duration::from_secs(5);

const ACTIONS: [&str; 8] = [
    "user_login",
    "user_logout",
    "file_downloaded",
    "public_channel_created",
    "user_channel_join",
    "role_change_to_admin",
    "pref.sso_setting_changed",
    "app_installed",
];

/// How a soak runs. [`SoakOptions::default`] is the short run of the test suite's shape; the
/// long run changes `duration`.
#[derive(Debug, Clone)]
pub struct SoakOptions {
    /// How long events are produced and kills happen (the catch-up and the final stop come
    /// after it).
    pub duration: Duration,
    /// Seed of the events, the faults and the kill schedule (timing still varies run to run).
    pub seed: u64,
    /// Average steady events per second, stamped with the current second.
    pub events_per_second: f64,
    /// Probability per 100 ms tick of a burst of events sharing one second.
    pub burst_probability: f64,
    /// Size of a burst, inclusive range; bursts larger than `page_size` make pages larger
    /// than asked (Slack never splits a second).
    pub burst_size: (u32, u32),
    /// Fraction of the steady events that arrive late (stamped in the past).
    pub late_fraction: f64,
    /// How far in the past a late event is stamped, in seconds, inclusive range; keep it
    /// inside `lookback_secs`.
    pub late_by_secs: (u64, u64),
    /// Probability that a request gets a random fault.
    pub fault_probability: f64,
    /// How long a stall fault holds the connection; longer than `request_timeout_secs`.
    pub stall: Duration,
    /// `Retry-After` of a random 429, in seconds.
    pub retry_after_secs: u64,
    /// If `Some`, the mock also rate-limits to this many requests a minute (its 429s may carry
    /// a longer `Retry-After` than `retry_after_secs`, which a restart right after a kill can
    /// violate through no fault of the connector; leave it `None` unless the connector's
    /// `requests_per_minute` stays well below it).
    pub mock_rate_limit_per_minute: Option<u32>,
    /// Time between SIGKILLs, drawn uniformly from this range.
    pub kill_interval: (Duration, Duration),
    /// Fraction of the kills that wait for the connector's next output line and strike right
    /// then, between a flushed batch and its saved checkpoint (the others strike at once,
    /// wherever the connector is: mid-request, in a backoff, between polls).
    pub kill_on_output_fraction: f64,
    /// The connector's `--poll-interval`.
    pub poll_interval: Duration,
    /// The connector's `page_size`.
    pub page_size: u32,
    /// The connector's `requests_per_minute`.
    pub requests_per_minute: u32,
    /// The connector's `request_timeout_seconds`.
    pub request_timeout_secs: u32,
    /// The connector's `late_arrival_window_seconds`.
    pub lookback_secs: u32,
    /// The connector's `retry_base_delay_ms`.
    pub retry_base_delay_ms: u32,
    /// The connector's `max_retries`.
    pub max_retries: u32,
    /// After producing stops: how long the connector may take to deliver every event.
    pub catch_up_timeout: Duration,
    /// After catching up: how long to keep watching for stray repeats before SIGTERM.
    pub settle: Duration,
    /// How long the connector may take to exit after SIGTERM.
    pub term_timeout: Duration,
    /// Where to keep the config, state and log; `None`: a fresh directory under the system
    /// temp directory.
    pub work_dir: Option<PathBuf>,
    /// Keep the work directory even when every check passed.
    pub keep_work_dir: bool,
    /// How often the progress callback of [`run_with_progress`] is called.
    pub progress_every: Duration,
}

impl Default for SoakOptions {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(45),
            seed: 1,
            events_per_second: 5.0,
            burst_probability: 0.01,
            burst_size: (20, 80),
            late_fraction: 0.1,
            late_by_secs: (5, 60),
            fault_probability: 0.1,
            stall: Duration::from_secs(3),
            retry_after_secs: 1,
            mock_rate_limit_per_minute: None,
            kill_interval: (Duration::from_secs(3), Duration::from_secs(10)),
            kill_on_output_fraction: 0.5,
            poll_interval: Duration::from_secs(1),
            page_size: 50,
            requests_per_minute: 600,
            request_timeout_secs: 2,
            lookback_secs: 120,
            retry_base_delay_ms: 50,
            max_retries: 8,
            catch_up_timeout: Duration::from_secs(90),
            settle: Duration::from_secs(3),
            term_timeout: Duration::from_secs(10),
            work_dir: None,
            keep_work_dir: false,
            progress_every: Duration::from_secs(15),
        }
    }
}

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

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> SoakError {
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

fn ms(d: Duration) -> String {
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

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("soak-mock")
        .enable_all()
        .build()
        .map_err(io_err("start the mock's runtime"))?;
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

fn validate(binary: &Path, o: &SoakOptions) -> Result<(), SoakError> {
    if !binary.is_file() {
        return Err(SoakError::MissingBinary(binary.to_path_buf()));
    }
    let bad = |why: &str| Err(SoakError::InvalidOptions(why.to_owned()));
    if o.late_by_secs.0 > o.late_by_secs.1 || o.late_by_secs.1 + 5 >= u64::from(o.lookback_secs) {
        return bad(
            "late_by_secs must be an ordered range ending at least 5 s inside lookback_secs",
        );
    }
    if o.burst_size.0 > o.burst_size.1 || o.kill_interval.0 > o.kill_interval.1 {
        return bad("burst_size and kill_interval must be ordered ranges");
    }
    if o.kill_interval.0.is_zero() {
        return bad("kill_interval must be positive");
    }
    let probability = |p: f64| (0.0..=1.0).contains(&p);
    let rates_ok = probability(o.fault_probability)
        && probability(o.late_fraction)
        && probability(o.burst_probability)
        && probability(o.kill_on_output_fraction)
        && o.events_per_second.is_finite()
        && o.events_per_second >= 0.0;
    if !rates_ok {
        return bad("probabilities must be in [0, 1] and the event rate non-negative");
    }
    if o.stall <= Duration::from_secs(u64::from(o.request_timeout_secs)) {
        return bad("stall must be longer than request_timeout_secs");
    }
    Ok(())
}

/// One event as pushed.
struct Pushed {
    json: Arc<str>,
    date_create: i64,
    at: Instant,
}

/// One appearance of an id on stdout.
#[derive(Debug, Clone, Copy)]
struct Delivery {
    instance: usize,
    /// Index of the line in that instance's output.
    line: usize,
    at: Instant,
}

/// How a connector process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Running,
    Killed,
    /// Stopped with SIGTERM at the end.
    Terminated,
    /// Exited on its own.
    Exited(String),
}

#[derive(Default)]
struct Ledger {
    pushed: HashMap<String, Pushed>,
    per_second: HashMap<i64, u64>,
    burst_events: u64,
    late_events: u64,
    deliveries: HashMap<String, Vec<Delivery>>,
    /// Complete lines per instance.
    lines: Vec<usize>,
    /// Instances whose output ended with a partial line.
    torn: Vec<usize>,
    records: u64,
    stray_records: u64,
    /// Complete lines that are not a pushed entry, byte for byte.
    bad_lines: Vec<String>,
}

struct Shared {
    ledger: Mutex<Ledger>,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running connector process and the thread reading its stdout.
struct Instance {
    index: usize,
    child: Child,
    reader: Option<thread::JoinHandle<()>>,
    tripwire: Arc<Tripwire>,
}

impl Instance {
    fn join_reader(&mut self) {
        if let Some(handle) = self.reader.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // Only on an early return: never leave a connector running behind us.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.join_reader();
    }
}

/// What the run produced, for [`Soak::judge`].
struct RunOutcome {
    started: Instant,
    ends: Vec<End>,
    kills: u64,
    kills_on_output: u64,
    elapsed: Duration,
    caught_up: bool,
    term_exit_code: Option<i32>,
    term_wait: Duration,
    violations: Vec<String>,
}

struct Soak<'a> {
    binary: PathBuf,
    options: &'a SoakOptions,
    work_dir: PathBuf,
    config_path: PathBuf,
    state_path: PathBuf,
    log_path: PathBuf,
    token: String,
    mock: &'a MockSlack,
    shared: Arc<Shared>,
}

impl<'a> Soak<'a> {
    fn new(
        binary: &Path,
        options: &'a SoakOptions,
        work_dir: &Path,
        mock: &'a MockSlack,
        token: String,
    ) -> Result<Self, SoakError> {
        let config_path = work_dir.join("config.json");
        let state_path = work_dir.join("state.json");
        let log_path = work_dir.join("connector.log");
        let config = serde_json::json!({
            "settings": {
                "api_base_url": mock.base_url(),
                // Before any event the producer can stamp: the first window covers them all.
                "backfill_start_time": "10m",
                "page_size": options.page_size,
                "requests_per_minute": options.requests_per_minute,
                "late_arrival_window_seconds": options.lookback_secs,
                "request_timeout_seconds": options.request_timeout_secs,
                "max_retries": options.max_retries,
                "retry_base_delay_ms": options.retry_base_delay_ms,
            },
            "secrets": {"user_oauth_token": token},
        });
        fs::write(&config_path, config.to_string())
            .map_err(io_err(format!("write {}", config_path.display())))?;
        for stale in [&state_path, &log_path] {
            if stale.exists() {
                fs::remove_file(stale).map_err(io_err(format!("remove {}", stale.display())))?;
            }
        }
        Ok(Self {
            binary: binary.to_path_buf(),
            options,
            work_dir: work_dir.to_path_buf(),
            config_path,
            state_path,
            log_path,
            token,
            mock,
            shared: Arc::new(Shared {
                ledger: Mutex::new(Ledger::default()),
            }),
        })
    }

    fn spawn(&self, index: usize) -> Result<Instance, SoakError> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io_err(format!("open {}", self.log_path.display())))?;
        writeln!(log, "===== soak: connector process #{index} starts =====")
            .map_err(io_err("write the connector log"))?;
        let mut child = Command::new(&self.binary)
            .arg("read")
            .arg("--config")
            .arg(&self.config_path)
            .arg("--state")
            .arg(&self.state_path)
            .arg("--follow")
            .arg("--poll-interval")
            .arg(format!("{}", self.options.poll_interval.as_secs_f64()))
            .env("RUST_LOG", "info")
            .env("LOG_FORMAT", "human")
            .env("NO_COLOR", "1")
            .current_dir(&self.work_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(io_err(format!("start {}", self.binary.display())))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SoakError::Io {
                what: "take the connector's stdout".into(),
                source: io::Error::other("no stdout pipe"),
            });
        };
        self.shared.ledger().lines.push(0);
        let shared = Arc::clone(&self.shared);
        let tripwire = Arc::new(Tripwire::new(&child));
        let wire = Arc::clone(&tripwire);
        let reader = thread::Builder::new()
            .name(format!("soak-stdout-{index}"))
            .spawn(move || read_stdout(index, stdout, &shared, &wire))
            .map_err(io_err("start a stdout reader"));
        match reader {
            Ok(handle) => Ok(Instance {
                index,
                child,
                reader: Some(handle),
                tripwire,
            }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    fn progress(&self, started: Instant, kills: u64) -> SoakProgress {
        let stats = self.mock.stats();
        let ledger = self.shared.ledger();
        SoakProgress {
            elapsed: started.elapsed(),
            events: ledger.pushed.len() as u64,
            delivered: ledger.deliveries.len() as u64,
            kills,
            faults: stats.faults.total(),
            requests: stats.requests,
        }
    }

    fn all_delivered(&self) -> bool {
        let ledger = self.shared.ledger();
        ledger
            .pushed
            .keys()
            .all(|id| ledger.deliveries.contains_key(id))
    }

    /// Produces, kills, catches up, stops.
    fn drive(&self, progress: &mut impl FnMut(&SoakProgress)) -> Result<RunOutcome, SoakError> {
        let o = self.options;
        let started = Instant::now();
        let stop = AtomicBool::new(false);
        let mut kill_rng = SplitMix64::new(o.seed ^ 0x6b_69_6c_6c);
        let mut violations = Vec::new();
        let mut ends: Vec<End> = Vec::new();
        let mut kills = 0u64;
        let mut kills_on_output = 0u64;
        let mut last_progress = Instant::now();

        let result = thread::scope(|scope| -> Result<RunOutcome, SoakError> {
            let producer = thread::Builder::new()
                .name("soak-producer".into())
                .spawn_scoped(scope, || self.produce(&stop))
                .map_err(io_err("start the producer"))?;
            let guard = StopOnDrop(&stop);

            let mut instance = self.spawn(0)?;
            ends.push(End::Running);
            let end_of_production = started + o.duration;
            let mut next_kill = started + uniform(&mut kill_rng, o.kill_interval);

            // Phase 1: events flow, faults fire, the connector is killed now and then.
            while Instant::now() < end_of_production {
                thread::sleep(TICK);
                if last_progress.elapsed() >= o.progress_every {
                    progress(&self.progress(started, kills));
                    last_progress = Instant::now();
                }
                if let Some(status) = instance
                    .child
                    .try_wait()
                    .map_err(io_err("poll the connector"))?
                {
                    instance =
                        self.after_unexpected_exit(instance, status, &mut ends, &mut violations)?;
                    continue;
                }
                if Instant::now() >= next_kill {
                    let on_output = kill_rng.next_f64() < o.kill_on_output_fraction;
                    match self.kill(&mut instance, on_output)? {
                        Kill::ExitedFirst(status) => {
                            instance = self.after_unexpected_exit(
                                instance,
                                status,
                                &mut ends,
                                &mut violations,
                            )?;
                        }
                        how => {
                            if let Kill::OnOutput = how {
                                kills_on_output += 1;
                            }
                            instance.join_reader();
                            ends[instance.index] = End::Killed;
                            kills += 1;
                            thread::sleep(self.restart_delay());
                            let next = instance.index + 1;
                            drop(instance);
                            instance = self.spawn(next)?;
                            ends.push(End::Running);
                        }
                    }
                    next_kill = Instant::now() + uniform(&mut kill_rng, o.kill_interval);
                }
            }
            drop(guard);
            let _ = producer.join();

            // Phase 2: no more events; every one of them must come out.
            let catch_up_started = Instant::now();
            let mut caught_up = false;
            while catch_up_started.elapsed() < o.catch_up_timeout {
                if self.all_delivered() {
                    caught_up = true;
                    break;
                }
                if let Some(status) = instance
                    .child
                    .try_wait()
                    .map_err(io_err("poll the connector"))?
                {
                    instance =
                        self.after_unexpected_exit(instance, status, &mut ends, &mut violations)?;
                }
                if last_progress.elapsed() >= o.progress_every {
                    progress(&self.progress(started, kills));
                    last_progress = Instant::now();
                }
                thread::sleep(TICK);
            }
            if !caught_up {
                violations.push(format!(
                    "the connector did not deliver every event within {} after producing stopped",
                    ms(o.catch_up_timeout)
                ));
            }
            // Keep watching a little: a stray repeat would show up now.
            let settle_until = Instant::now() + o.settle;
            while Instant::now() < settle_until {
                if let Some(status) = instance
                    .child
                    .try_wait()
                    .map_err(io_err("poll the connector"))?
                {
                    instance =
                        self.after_unexpected_exit(instance, status, &mut ends, &mut violations)?;
                }
                thread::sleep(TICK);
            }

            // Phase 3: SIGTERM must stop it cleanly and promptly.
            let term_sent = Instant::now();
            terminate(&mut instance.child).map_err(io_err("SIGTERM the connector"))?;
            let mut status: Option<ExitStatus> = None;
            while term_sent.elapsed() < o.term_timeout {
                if let Some(s) = instance
                    .child
                    .try_wait()
                    .map_err(io_err("poll the connector"))?
                {
                    status = Some(s);
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let term_wait = term_sent.elapsed();
            let term_exit_code = match status {
                Some(s) => {
                    if s.code() != Some(0) {
                        violations.push(format!(
                            "after SIGTERM the connector exited with {s}, not 0"
                        ));
                    }
                    s.code()
                }
                None => {
                    violations.push(format!(
                        "the connector did not exit within {} of SIGTERM",
                        ms(o.term_timeout)
                    ));
                    let _ = instance.child.kill();
                    let _ = instance.child.wait();
                    None
                }
            };
            instance.join_reader();
            ends[instance.index] = End::Terminated;
            Ok(RunOutcome {
                started,
                ends: ends.clone(),
                kills,
                kills_on_output,
                elapsed: started.elapsed(),
                caught_up,
                term_exit_code,
                term_wait,
                violations: std::mem::take(&mut violations),
            })
        });
        stop.store(true, Ordering::SeqCst);
        result
    }

    /// SIGKILLs and reaps `instance`. With `on_output`, the kill is left to its stdout reader,
    /// which fires on the next line it reads: the moment a batch has been flushed and its
    /// checkpoint is being saved, the worst moment for exactly-once. Returns whether it was
    /// killed that way (a quiet connector is killed plainly after a while).
    fn kill(&self, instance: &mut Instance, on_output: bool) -> Result<Kill, SoakError> {
        let mut tripped = false;
        if on_output && instance.tripwire.arm() {
            let armed = Instant::now();
            while armed.elapsed() < ARMED_KILL_TIMEOUT {
                if let Some(status) = instance
                    .child
                    .try_wait()
                    .map_err(io_err("poll the connector"))?
                {
                    instance.tripwire.disarm();
                    if status.code().is_some() {
                        // It stopped on its own, not by the tripwire.
                        return Ok(Kill::ExitedFirst(status));
                    }
                    tripped = true;
                    break;
                }
                thread::sleep(Duration::from_millis(2));
            }
            instance.tripwire.disarm();
        }
        if !tripped {
            instance
                .child
                .kill()
                .map_err(io_err("SIGKILL the connector"))?;
        }
        instance
            .child
            .wait()
            .map_err(io_err("reap the connector"))?;
        Ok(if tripped { Kill::OnOutput } else { Kill::Plain })
    }

    fn after_unexpected_exit(
        &self,
        mut instance: Instance,
        status: ExitStatus,
        ends: &mut Vec<End>,
        violations: &mut Vec<String>,
    ) -> Result<Instance, SoakError> {
        instance.join_reader();
        let what = status.to_string();
        violations.push(format!(
            "connector process #{} exited on its own ({what}); it was restarted",
            instance.index
        ));
        if let Some(end) = ends.get_mut(instance.index) {
            *end = End::Exited(what);
        }
        let next = instance.index + 1;
        drop(instance);
        thread::sleep(self.restart_delay());
        let instance = self.spawn(next)?;
        ends.push(End::Running);
        Ok(instance)
    }

    /// A new process cannot know of a 429 its predecessor got: start it only once the
    /// longest `Retry-After` the mock hands out has elapsed.
    fn restart_delay(&self) -> Duration {
        Duration::from_secs(self.options.retry_after_secs) + Duration::from_millis(250)
    }

    /// The producer thread: steady events (some late), and bursts sharing one second.
    fn produce(&self, stop: &AtomicBool) {
        let o = self.options;
        let mut rng = SplitMix64::new(o.seed);
        let mut counter = 0u64;
        let per_tick = o.events_per_second * TICK.as_secs_f64();
        while !stop.load(Ordering::SeqCst) {
            let tick_started = Instant::now();
            let now = unix_now();
            let mut batch: Vec<(MockEntry, Kind)> = Vec::new();
            let steady = per_tick.floor() as u64 + u64::from(rng.next_f64() < per_tick.fract());
            for _ in 0..steady {
                let late = rng.next_f64() < o.late_fraction;
                let date = if late {
                    now - uniform_int(&mut rng, o.late_by_secs) as i64
                } else {
                    now
                };
                let kind = if late { Kind::Late } else { Kind::Steady };
                batch.push((entry(&mut rng, &mut counter, date), kind));
            }
            if rng.next_f64() < o.burst_probability {
                let size = uniform_int(
                    &mut rng,
                    (u64::from(o.burst_size.0), u64::from(o.burst_size.1)),
                );
                for _ in 0..size {
                    batch.push((entry(&mut rng, &mut counter, now), Kind::Burst));
                }
            }
            if !batch.is_empty() {
                // Into the ledger first: the mock may serve an entry as soon as it has it.
                {
                    let mut ledger = self.shared.ledger();
                    let at = Instant::now();
                    for (e, kind) in &batch {
                        match kind {
                            Kind::Late => ledger.late_events += 1,
                            Kind::Burst => ledger.burst_events += 1,
                            Kind::Steady => {}
                        }
                        *ledger.per_second.entry(e.date_create).or_default() += 1;
                        ledger.pushed.insert(
                            e.id.clone(),
                            Pushed {
                                json: Arc::clone(&e.json),
                                date_create: e.date_create,
                                at,
                            },
                        );
                    }
                }
                self.mock.push_entries(batch.into_iter().map(|(e, _)| e));
            }
            thread::sleep(TICK.saturating_sub(tick_started.elapsed()));
        }
    }

    /// Checks the ledger against the run.
    fn judge(&self, run: RunOutcome) -> SoakReport {
        let o = self.options;
        let stats = self.mock.stats();
        let mut violations = run.violations;
        let ledger = self.shared.ledger();

        let lost = lost_events(&ledger);
        if !lost.is_empty() {
            violations.push(self.lost_violation(&lost, run.started, run.caught_up));
        }
        violations.extend(record_violations(&ledger, &run.ends));

        // Duplicates: each repeat must follow a delivery by a killed instance, in its last page.
        let largest_tie = ledger.per_second.values().copied().max().unwrap_or(0);
        let bound = u64::from(o.page_size) + largest_tie;
        let Repeats {
            total: duplicates,
            per_kill,
            problems: dup_problems,
        } = judge_repeats(&ledger.deliveries, &ledger.lines, &run.ends, bound);
        let worst_kill_duplicates = per_kill.values().copied().max().unwrap_or(0);
        violations.extend(repeat_violations(
            &dup_problems,
            worst_kill_duplicates,
            bound,
            run.kills,
            duplicates,
        ));

        violations.extend(self.request_violations(&stats));
        let delays = DeliveryDelays::of(&ledger);

        SoakReport {
            seed: o.seed,
            elapsed: run.elapsed,
            events: ledger.pushed.len() as u64,
            burst_events: ledger.burst_events,
            late_events: ledger.late_events,
            largest_tie,
            delivered: ledger.deliveries.len() as u64,
            records: ledger.records,
            stray_records: ledger.stray_records,
            faults: stats.faults,
            rate_limited: stats.rate_limited,
            early_retries: stats.early_retries,
            requests: stats.requests,
            instances: run.ends.len() as u64,
            kills: run.kills,
            kills_on_output: run.kills_on_output,
            kills_with_repeats: per_kill.len() as u64,
            lost: lost.len() as u64,
            duplicates,
            worst_kill_duplicates,
            duplicate_bound_per_kill: bound,
            torn_lines: ledger.torn.len() as u64,
            worst_delay: delays.worst,
            median_delay: delays.median,
            p99_delay: delays.p99,
            term_exit_code: run.term_exit_code,
            term_wait: run.term_wait,
            violations,
            work_dir: self.work_dir.clone(),
            log_tail: None,
        }
    }

    /// The violation of `lost` events (not empty): how many, and the first ones, each said
    /// served by the mock or not.
    fn lost_violation(
        &self,
        lost: &[(&String, &Pushed)],
        started: Instant,
        caught_up: bool,
    ) -> String {
        let served: std::collections::HashSet<String> =
            self.mock.served_ids().into_iter().collect();
        let sample: Vec<String> = lost
            .iter()
            .take(SAMPLE)
            .map(|(id, p)| {
                format!(
                    "{id} (date_create {}, pushed at +{:.1} s, {})",
                    p.date_create,
                    p.at.saturating_duration_since(started).as_secs_f64(),
                    if served.contains(id.as_str()) {
                        "served by the mock"
                    } else {
                        "never served by the mock"
                    }
                )
            })
            .collect();
        format!(
            "{} events lost (caught up: {}); first ones: {}",
            lost.len(),
            caught_up,
            sample.join(", ")
        )
    }

    /// The violations the mock saw in the requests (early retries, no token, invalid ones,
    /// no window bounds), and the token in the connector's log.
    fn request_violations(&self, stats: &MockStats) -> Vec<String> {
        let mut violations = Vec::new();
        if stats.early_retries > 0 {
            violations.push(format!(
                "{} requests came before the Retry-After of a 429 had elapsed",
                stats.early_retries
            ));
        }
        if stats.unauthorized > 0 {
            violations.push(format!(
                "{} requests did not carry the configured token",
                stats.unauthorized
            ));
        }
        if stats.bad_requests + stats.not_found > 0 {
            violations.push(format!(
                "the mock refused {} requests as invalid (bad parameters, path or method)",
                stats.bad_requests + stats.not_found
            ));
        }
        // The cursor is only a position: every page must resend the window's bounds.
        let unbounded = self
            .mock
            .requests()
            .iter()
            .filter(|r| r.param("oldest").is_none() || r.param("latest").is_none())
            .count();
        if unbounded > 0 {
            violations.push(format!(
                "{unbounded} requests did not send both `oldest` and `latest`"
            ));
        }
        if log_contains(&self.log_path, &self.token) {
            violations.push("the token appears in the connector's log".into());
        }
        violations
    }
}

/// Lost: pushed, never delivered; oldest first.
fn lost_events(ledger: &Ledger) -> Vec<(&String, &Pushed)> {
    let mut lost: Vec<(&String, &Pushed)> = ledger
        .pushed
        .iter()
        .filter(|(id, _)| !ledger.deliveries.contains_key(*id))
        .collect();
    lost.sort_by_key(|(id, p)| (p.date_create, (*id).clone()));
    lost
}

/// Records that are not what the mock was given, and torn lines not at the end of a killed
/// process.
fn record_violations(ledger: &Ledger, ends: &[End]) -> Vec<String> {
    let mut violations = Vec::new();
    // Records that are not what the mock was given.
    for bad in ledger.bad_lines.iter().take(SAMPLE) {
        violations.push(bad.clone());
    }
    if ledger.bad_lines.len() > SAMPLE {
        violations.push(format!(
            "… and {} more bad records",
            ledger.bad_lines.len() - SAMPLE
        ));
    }

    // Torn lines only at the end of a killed process.
    for &i in &ledger.torn {
        if ends.get(i) != Some(&End::Killed) {
            violations.push(format!(
                "connector process #{i} left a partial line on stdout without being killed"
            ));
        }
    }
    violations
}

/// Repeats no kill explains, a kill followed by more than a page of repeats, repeats without a
/// kill.
fn repeat_violations(
    problems: &[String],
    worst_kill_duplicates: u64,
    bound: u64,
    kills: u64,
    duplicates: u64,
) -> Vec<String> {
    let mut violations = Vec::new();
    if !problems.is_empty() {
        violations.push(format!(
            "{} repeats not explained by a kill; first ones: {}",
            problems.len(),
            problems
                .iter()
                .take(SAMPLE)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if worst_kill_duplicates > bound {
        violations.push(format!(
            "one kill caused {worst_kill_duplicates} repeats, more than one page ({bound})"
        ));
    }
    if kills == 0 && duplicates > 0 {
        violations.push(format!("{duplicates} repeats without any kill"));
    }
    violations
}

/// Delays from push to first delivery.
struct DeliveryDelays {
    worst: Duration,
    median: Duration,
    p99: Duration,
}

impl DeliveryDelays {
    fn of(ledger: &Ledger) -> Self {
        let mut delays: Vec<Duration> = ledger
            .pushed
            .iter()
            .filter_map(|(id, p)| {
                let first = ledger.deliveries.get(id)?.first()?;
                Some(first.at.saturating_duration_since(p.at))
            })
            .collect();
        delays.sort();
        let quantile = |q: f64| -> Duration {
            if delays.is_empty() {
                return Duration::ZERO;
            }
            let i = ((delays.len() - 1) as f64 * q).round() as usize;
            delays[i.min(delays.len() - 1)]
        };
        Self {
            worst: delays.last().copied().unwrap_or(Duration::ZERO),
            median: quantile(0.5),
            p99: quantile(0.99),
        }
    }
}

/// How [`Soak::kill`] went.
enum Kill {
    Plain,
    OnOutput,
    /// The process exited on its own while the kill waited for output.
    ExitedFirst(ExitStatus),
}

/// Lets a stdout reader SIGKILL its process the instant a line arrives. The orchestrator
/// does not reap the child while the wire is armed, so the pid cannot have been reused.
struct Tripwire {
    armed: AtomicBool,
    #[cfg(unix)]
    pid: rustix::process::Pid,
}

impl Tripwire {
    fn new(child: &Child) -> Self {
        #[cfg(not(unix))]
        let _ = child;
        Self {
            armed: AtomicBool::new(false),
            #[cfg(unix)]
            pid: rustix::process::Pid::from_child(child),
        }
    }

    /// Arms the wire; `false` where it cannot work (not unix).
    fn arm(&self) -> bool {
        self.armed.store(cfg!(unix), Ordering::SeqCst);
        cfg!(unix)
    }

    fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }

    fn fire_if_armed(&self) {
        if self.armed.swap(false, Ordering::SeqCst) {
            #[cfg(unix)]
            {
                use rustix::process::{Signal, kill_process};
                let _ = kill_process(self.pid, Signal::KILL);
            }
        }
    }
}

/// The repeats found in a ledger.
#[derive(Debug, Default, PartialEq, Eq)]
struct Repeats {
    /// Extra deliveries.
    total: u64,
    /// Explained repeats by the killed instance that delivered them first.
    per_kill: BTreeMap<usize, u64>,
    /// Repeats no kill explains.
    problems: Vec<String>,
}

/// Every delivery after an id's first must follow one by a process that was SIGKILLed, among
/// the last `bound` lines it wrote (the batch in flight: written, checkpoint not yet saved).
/// `deliveries` of an id are in instance order, then line order; `lines[i]` counts the
/// complete lines of instance `i`.
fn judge_repeats(
    deliveries: &HashMap<String, Vec<Delivery>>,
    lines: &[usize],
    ends: &[End],
    bound: u64,
) -> Repeats {
    let mut repeats = Repeats::default();
    for (id, deliveries) in deliveries {
        for pair in deliveries.windows(2) {
            let (prev, cur) = (pair[0], pair[1]);
            repeats.total += 1;
            let written = lines.get(prev.instance).copied().unwrap_or(0);
            let from_end = written.saturating_sub(prev.line);
            let problem = if prev.instance == cur.instance {
                Some(format!(
                    "{id} delivered twice by process #{} (lines {} and {})",
                    cur.instance, prev.line, cur.line
                ))
            } else if ends.get(prev.instance) != Some(&End::Killed) {
                Some(format!(
                    "{id} delivered by process #{} ({:?}) and again by #{}: a repeat not caused by a kill",
                    prev.instance,
                    ends.get(prev.instance),
                    cur.instance
                ))
            } else if from_end as u64 > bound {
                Some(format!(
                    "{id} delivered by killed process #{} at line {} of {written} and again by #{}: not in the batch in flight (more than {bound} lines before its end)",
                    prev.instance, prev.line, cur.instance
                ))
            } else {
                None
            };
            match problem {
                Some(p) => repeats.problems.push(p),
                None => *repeats.per_kill.entry(prev.instance).or_default() += 1,
            }
        }
    }
    repeats.problems.sort();
    repeats
}

/// Sets the stop flag if the orchestrator returns early, so the scoped producer ends.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Steady,
    Late,
    Burst,
}

fn entry(rng: &mut SplitMix64, counter: &mut u64, date_create: i64) -> MockEntry {
    *counter += 1;
    let r = rng.next_u64();
    // UUID-shaped: random high bits (so ids of one second sort randomly), a counter in the
    // low bits (so they are unique by construction).
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        r >> 32,
        (r >> 16) & 0xffff,
        (r >> 4) & 0xfff,
        rng.next_u64() & 0xfff,
        *counter
    );
    let action = ACTIONS[(rng.next_u64() % ACTIONS.len() as u64) as usize];
    let actor = format!("W{:08X}", rng.next_u64() % 0x1_0000_0000);
    let entity = format!("W{:08X}", rng.next_u64() % 0x1_0000_0000);
    MockEntry::synthetic(&id, date_create, action, &actor, &entity)
}

/// The run's token: the mock requires it, and it must never show up in the connector's log.
fn soak_token(seed: u64) -> String {
    let mut rng = SplitMix64::new(seed ^ 0x70_6b_65_6e);
    format!(
        "xoxp-0000000000-0000000000-000000000000-{:016x}{:016x}",
        rng.next_u64(),
        rng.next_u64()
    )
}

fn uniform(rng: &mut SplitMix64, (lo, hi): (Duration, Duration)) -> Duration {
    lo + (hi - lo).mul_f64(rng.next_f64())
}

fn uniform_int(rng: &mut SplitMix64, (lo, hi): (u64, u64)) -> u64 {
    lo + rng.next_u64() % (hi - lo + 1)
}

/// Reads one instance's stdout to EOF, recording every complete line.
fn read_stdout(instance: usize, stdout: ChildStdout, shared: &Shared, tripwire: &Tripwire) {
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) if line.last() == Some(&b'\n') => {
                // First, so the kill lands between "flushed" and "checkpoint saved".
                tripwire.fire_if_armed();
                let at = Instant::now();
                line.pop();
                record_line(instance, &line, at, shared);
            }
            Ok(_) => {
                // EOF in the middle of a line: the process died while writing it.
                shared.ledger().torn.push(instance);
                return;
            }
            Err(e) => {
                shared.ledger().bad_lines.push(format!(
                    "reading the stdout of process #{instance} failed: {e}"
                ));
                return;
            }
        }
    }
}

/// Ids of the mock's random stray entries start with this.
const STRAY_PREFIX: &str = "stray-";

fn record_line(instance: usize, line: &[u8], at: Instant, shared: &Shared) {
    #[derive(serde::Deserialize)]
    struct Keyed {
        id: String,
    }
    let mut ledger = shared.ledger();
    ledger.records += 1;
    let index = ledger.lines.get(instance).copied().unwrap_or(0);
    if let Some(n) = ledger.lines.get_mut(instance) {
        *n += 1;
    }
    let shown = || String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
    let id = match serde_json::from_slice::<Keyed>(line) {
        Ok(k) => k.id,
        Err(e) => {
            let text = format!(
                "process #{instance} wrote line {index} that is not an entry with an id ({e}): {}",
                shown()
            );
            ledger.bad_lines.push(text);
            return;
        }
    };
    if id.starts_with(STRAY_PREFIX) {
        ledger.stray_records += 1;
        return;
    }
    let problem = match ledger.pushed.get(&id) {
        None => Some("an id the mock was never given"),
        Some(p) if p.json.as_bytes() != line => Some("bytes differ from the entry the mock served"),
        Some(_) => None,
    };
    if let Some(problem) = problem {
        let text = format!("process #{instance} line {index}: {problem}: {}", shown());
        ledger.bad_lines.push(text);
        return;
    }
    ledger.deliveries.entry(id).or_default().push(Delivery {
        instance,
        line: index,
        at,
    });
}

/// SIGTERM (on unix; elsewhere the closest thing, a kill).
fn terminate(child: &mut Child) -> io::Result<()> {
    #[cfg(unix)]
    {
        use rustix::process::{Pid, Signal, kill_process};
        kill_process(Pid::from_child(child), Signal::TERM).map_err(io::Error::from)
    }
    #[cfg(not(unix))]
    {
        child.kill()
    }
}

fn log_contains(path: &Path, needle: &str) -> bool {
    fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

fn log_tail(path: &Path) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)))
        .ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// `(id, instance, line)` deliveries, in the order the readers saw them.
    fn ledger(rows: &[(&str, usize, usize)]) -> HashMap<String, Vec<Delivery>> {
        let at = Instant::now();
        let mut map: HashMap<String, Vec<Delivery>> = HashMap::new();
        for (id, instance, line) in rows {
            map.entry((*id).to_owned()).or_default().push(Delivery {
                instance: *instance,
                line: *line,
                at,
            });
        }
        map
    }

    #[test]
    fn a_repeat_of_the_batch_in_flight_at_a_kill_is_explained() {
        // Process #0 wrote 10 lines and was killed; its last 2 came again from #1.
        let d = ledger(&[("a", 0, 8), ("b", 0, 9), ("a", 1, 0), ("b", 1, 1)]);
        let r = judge_repeats(&d, &[10, 2], &[End::Killed, End::Terminated], 3);
        assert_eq!(r.total, 2);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.per_kill, BTreeMap::from([(0, 2)]));
        // Killed again before its checkpoint: a third delivery is explained too.
        let d = ledger(&[("a", 0, 9), ("a", 1, 0), ("a", 2, 0)]);
        let r = judge_repeats(
            &d,
            &[10, 1, 1],
            &[End::Killed, End::Killed, End::Terminated],
            3,
        );
        assert_eq!((r.total, r.problems.len()), (2, 0));
    }

    #[test]
    fn repeats_no_kill_explains_are_reported() {
        let ends = [End::Killed, End::Terminated];
        // Twice by one process.
        let r = judge_repeats(&ledger(&[("a", 1, 0), ("a", 1, 5)]), &[0, 6], &ends, 3);
        assert_eq!(r.problems.len(), 1, "{r:?}");
        // After a process that was not killed.
        let ends2 = [End::Exited("exit status: 1".into()), End::Terminated];
        let r = judge_repeats(&ledger(&[("a", 0, 9), ("a", 1, 0)]), &[10, 1], &ends2, 3);
        assert_eq!(r.problems.len(), 1, "{r:?}");
        // Killed, but the id was written long before the batch in flight.
        let r = judge_repeats(&ledger(&[("a", 0, 2), ("a", 1, 0)]), &[10, 1], &ends, 3);
        assert_eq!(r.problems.len(), 1, "{r:?}");
        assert!(r.per_kill.is_empty());
    }

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
