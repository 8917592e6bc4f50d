//! `cargo xtask bench`: throughput, memory, network/output overlap and rate-limit pacing of
//! the release connector, measured against a loopback mock.
//!
//! # Why
//!
//! A big organization's first backfill is tens of millions of events, and every later poll
//! competes for an org-wide budget of about 50 calls a minute. The connector must never be the
//! bottleneck: not in CPU, not in memory, not in wasted calls. This task measures exactly that,
//! with one command, on the machine at hand (targets and results: `BENCHMARKS.md`).
//!
//! # What it does
//!
//! 1. Rebuilds itself with optimizations if it was built without (the mock and the generator
//!    must not be what is measured), and builds the release `slack-audit` binary.
//! 2. Generates a seeded, realistic data set with the connector's own synthetic generator
//!    ([`slack_audit_synthetic::SyntheticOrg`]), anchored at a fixed date so every run serves
//!    the same bytes, and loads it into a [`slack_mock::MockSlack`] (pages are concatenations
//!    of pre-rendered entry bytes: the mock does a memcpy per page).
//! 3. Runs `slack-audit read --config … --state …` as a child process, as a user would, with
//!    its stdout on a pipe read by a counting thread, and measures **only the child** with
//!    `wait4(2)` (see the `child` module): CPU seconds, peak RSS. The bench's own CPU (mock + counter)
//!    is shown beside it to prove the mock is not the bottleneck.
//! 4. Checks every run: exit status 0, exactly N lines, exactly the data set's bytes, sampled
//!    lines equal to the data set's entries at the same position, N unique ids served.
//! 5. Prints Markdown tables and a verdict per target.
//!
//! Runs: `throughput` (N entries, default 1,000,000), `airbyte` (the same through the Airbyte
//! front end, `source-slack-audit read`, whose CPU per record is judged against the native
//! one), `scaling` (the same at other sizes, for the RSS flatness), `overlap` (a server delay
//! per page), `pacing` (a mock that answers 429 beyond R requests a minute, the connector set to
//! R), `synthetic` (generator speed), `ocsf` (the throughput backfill with `record_format:
//! "ocsf"`, once per OCSF version, 1.8.0 then 1.3.0: every record an OCSF event; checked by
//! count, and by each sampled event naming the entry it came from and the version), `metrics` (the throughput run alternately without and with
//! `--metrics-addr`, scraped every second: CPU per record on vs off), `lake` (a
//! `--lake-entries` backfill in OCSF 1.3.0, to stdout and then through `read --lake` into
//! Security Lake's layout in a local folder: CPU per record against the JSON path's, peak RSS,
//! bytes per record in the objects; see the `lake_run` module), `lake-encoder` (the lake
//! encoder alone, in process, on one segment of the same events: the figure a change to the
//! lake path moves, without a whole backfill's noise; see the `lake_encoder` module).
//!
//! This is not part of the test suite: nothing runs it but a person.

mod child;
mod dataset;
mod lake_encoder;
mod lake_run;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use clap::ValueEnum;
use slack_audit::ocsf::OcsfVersion;
use slack_mock::{MockConfig, MockEntry, MockSlack};

use self::child::{ChildRun, Framing};
use self::dataset::{DataSet, SyntheticSpeed};

/// The token the mock expects and the connector sends (a fake: nothing leaves loopback).
const TOKEN: &str = "xoxp-0000000000-0000000000-000000000000-be7cbe7cbe7cbe7cbe7cbe7cbe7cbe7c";
/// Set in the environment of the optimized re-run, so it does not re-run itself again.
const REEXEC_ENV: &str = "XTASK_BENCH_OPTIMIZED";

/// Targets of the issue, on a 2-core machine.
const TARGET_US_PER_RECORD: f64 = 3.0;
const TARGET_RSS_MIB: f64 = 64.0;
/// OCSF mode (issue 13): the whole read path with the mapping, per record.
const TARGET_OCSF_US_PER_RECORD: f64 = 6.0;
/// Largest RSS of the biggest scaling run over the smallest's that still counts as flat.
const TARGET_RSS_FLAT_RATIO: f64 = 1.25;
const TARGET_OVERLAP_RATIO: f64 = 1.10;
const TARGET_PACING_RATIO: f64 = 1.10;
const TARGET_PACING_429S: u64 = 1;
const TARGET_SYNTHETIC_PER_SECOND: f64 = 200_000.0;
/// Most CPU per record of the Airbyte front end, relative to the native one.
const TARGET_AIRBYTE_CPU_RATIO: f64 = 1.25;
/// Most extra CPU per record with metrics on, in percent.
const TARGET_METRICS_OVERHEAD_PERCENT: f64 = 3.0;

/// The measurements `cargo xtask bench` can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchRun {
    /// A backfill of `--entries` records at the fastest allowed request rate.
    Throughput,
    /// The throughput run through the Airbyte front end (`source-slack-audit read`).
    Airbyte,
    /// The same backfill at the `--scaling-entries` sizes (RSS must stay flat).
    Scaling,
    /// A backfill with `--page-delay-ms` of server delay per page.
    Overlap,
    /// A long backfill against a rate-limited mock, the connector set to the same rate.
    Pacing,
    /// Speed of the synthetic generator, in process, one thread.
    Synthetic,
    /// The throughput backfill with `record_format: "ocsf"`, in OCSF 1.8.0 and in 1.3.0.
    Ocsf,
    /// The throughput backfill alternately without and with `--metrics-addr` (scraped every
    /// second), `--metrics-pairs` times: CPU per record with metrics on vs off.
    Metrics,
    /// A `--lake-entries` backfill in OCSF 1.3.0 to stdout, then through `read --lake` into
    /// Security Lake's layout in a local folder.
    Lake,
    /// The lake encoder alone, in process: one spool segment of OCSF 1.3.0 events planned and
    /// encoded `--encoder-rounds` times (CPU of the encoding thread per record).
    LakeEncoder,
}

/// Arguments of `cargo xtask bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Entries of the throughput run's data set.
    #[arg(long, default_value_t = 1_000_000)]
    pub entries: usize,
    /// Data set sizes of the scaling runs (peak RSS must not grow with N).
    #[arg(long, value_delimiter = ',', default_value = "250000,2000000")]
    pub scaling_entries: Vec<usize>,
    /// `page_size` of the throughput, scaling and overlap runs.
    #[arg(long, default_value_t = 9999)]
    pub page_size: u32,
    /// `requests_per_minute` of the throughput, scaling and overlap runs (600 is the most the
    /// connector allows: its pacer then spaces request starts 100 ms apart).
    #[arg(long, default_value_t = 600)]
    pub requests_per_minute: u32,
    /// Times the throughput run is repeated (its targets are judged on the median run).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Pairs of metrics-off / metrics-on runs of the metrics comparison (judged on medians).
    #[arg(long, default_value_t = 3)]
    pub metrics_pairs: usize,
    /// Entries of the lake runs (the JSON and the lake backfill of the same data set).
    #[arg(long, default_value_t = 2_000_000)]
    pub lake_entries: usize,
    /// Pairs of lake runs (a JSON run, then a lake run), judged on the medians.
    #[arg(long, default_value_t = 3)]
    pub lake_pairs: usize,
    /// Entries whose events make the lake encoder run's segment (100,000: about one default
    /// 128 MiB segment).
    #[arg(long, default_value_t = 100_000)]
    pub lake_encoder_entries: usize,
    /// Rounds of the lake encoder run (each plans and encodes the whole segment).
    #[arg(long, default_value_t = 5)]
    pub encoder_rounds: usize,
    /// Entries of the overlap run.
    #[arg(long, default_value_t = 200_000)]
    pub overlap_entries: usize,
    /// Server delay per page in the overlap run, in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub page_delay_ms: u64,
    /// Requests a minute the pacing run's mock allows (and the connector is set to).
    #[arg(long, default_value_t = 120)]
    pub pacing_rpm: u32,
    /// Pages of the pacing run's backfill (more than `--pacing-rpm`, so the mock's sliding
    /// one-minute window is full for most of the run).
    #[arg(long, default_value_t = 150)]
    pub pacing_pages: usize,
    /// `page_size` of the pacing run (small pages: the run is about the calls, not the bytes).
    #[arg(long, default_value_t = 100)]
    pub pacing_page_size: u32,
    /// Entries the generator-speed run generates.
    #[arg(long, default_value_t = 1_000_000)]
    pub synthetic_entries: u64,
    /// Density of the data sets, in events an hour (before the generator's working-hours
    /// rhythm).
    #[arg(long, default_value_t = 100_000.0)]
    pub events_per_hour: f64,
    /// Seed of the synthetic organization.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Only these runs (comma-separated). Default: all.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub runs: Vec<BenchRun>,
    /// A small smoke run of everything (about a minute): 50,000 entries, short pacing.
    #[arg(long)]
    pub quick: bool,
    /// Use this connector binary instead of building `slack-audit` in release mode.
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Use this Airbyte front end binary instead of building `source-slack-audit` in release
    /// mode.
    #[arg(long, value_name = "PATH")]
    pub airbyte_binary: Option<PathBuf>,
    /// Give up on a run (and kill the connector) after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub timeout_secs: u64,
    /// Run even if this xtask binary was built without optimizations (figures for the mock
    /// and the generator are then meaningless).
    #[arg(long)]
    pub allow_unoptimized: bool,
    /// Internal: run the command after `--`, reap it with wait4(2) and write its rusage here
    /// (the bench starts the connector this way; see `bench/child.rs`).
    #[arg(long, hide = true, value_name = "FILE")]
    pub measure_to: Option<PathBuf>,
    /// Internal: the command `--measure-to` runs.
    #[arg(last = true, hide = true)]
    pub command: Vec<std::ffi::OsString>,
}

impl BenchArgs {
    fn apply_quick(&mut self) {
        if !self.quick {
            return;
        }
        self.entries = 50_000;
        self.scaling_entries = vec![20_000, 100_000];
        self.overlap_entries = 50_000;
        self.lake_entries = 50_000;
        self.lake_pairs = 1;
        self.lake_encoder_entries = 20_000;
        self.encoder_rounds = 3;
        self.pacing_rpm = 600;
        self.pacing_pages = 30;
        self.synthetic_entries = 200_000;
    }

    fn wants(&self, run: BenchRun) -> bool {
        self.runs.is_empty() || self.runs.contains(&run)
    }
}

/// Runs the task.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if let Some(report) = &args.measure_to {
        return child::measure_exec(
            &args.command,
            report,
            Duration::from_secs(args.timeout_secs),
        );
    }
    if cfg!(debug_assertions) && !args.allow_unoptimized && std::env::var_os(REEXEC_ENV).is_none() {
        return reexec_optimized();
    }
    let mut args = args.clone();
    args.apply_quick();
    ensure!(args.entries > 0, "--entries must be at least 1");
    ensure!(
        args.pacing_pages > 0 && args.pacing_page_size > 0,
        "--pacing-pages and --pacing-page-size must be at least 1"
    );

    let machine = Machine::probe();
    let binaries = Binaries::get(&args)?;
    let rt = crate::runtime("bench-mock", 1)?;
    let end = dataset::anchor(slack_mock::unix_now());
    let mut report = Report::default();
    let data = generate_data_set(&args, end, &mut report)?;
    for (name, spec) in &planned_runs(&args) {
        eprintln!(
            "bench: {name}: {} entries, page_size {}, {} requests/min, {} ms delay…",
            spec.entries,
            spec.page_size,
            spec.rpm,
            spec.page_delay.as_millis()
        );
        let result = run_one(
            &rt,
            binaries.of(spec.framing),
            &data.entries[..spec.entries],
            spec,
            &args,
        )
        .with_context(|| format!("the {name} run failed"))?;
        report.runs.push((name.clone(), spec.clone(), result));
    }
    if args.wants(BenchRun::Pacing) {
        let (spec, result) = pacing_run(&rt, &binaries.native, end, &args)?;
        report.runs.push(("pacing".into(), spec, result));
    }
    if args.wants(BenchRun::Lake) {
        let n = args.lake_entries.min(data.entries.len());
        report.lake = Some(
            lake_run::run(&rt, &binaries.native, &data.entries[..n], &args)
                .context("the lake runs failed")?,
        );
    }
    if args.wants(BenchRun::LakeEncoder) {
        let n = args.lake_encoder_entries.min(data.entries.len());
        report.lake_encoder = Some(
            lake_encoder::run(&rt, &binaries.native, &data.entries[..n], &args)
                .context("the lake encoder run failed")?,
        );
    }
    if args.wants(BenchRun::Synthetic) {
        eprintln!(
            "bench: synthetic: generating {} entries on one thread…",
            args.synthetic_entries
        );
        report.synthetic = Some(dataset::measure_generator(
            args.seed,
            args.events_per_hour,
            end,
            args.synthetic_entries,
        ));
    }

    let command = std::env::var(REEXEC_ENV)
        .unwrap_or_else(|_| format!("cargo run --release -p xtask -- {}", shown_args()));
    print!("{}", report.render(&machine, &command, &args));
    Ok(())
}

/// The connector binaries the runs start: given on the command line, or built in release mode
/// (both in one `cargo build` when both are wanted).
struct Binaries {
    /// `slack-audit`.
    native: PathBuf,
    /// `source-slack-audit` (empty when no Airbyte run is wanted).
    airbyte: PathBuf,
}

impl Binaries {
    fn get(args: &BenchArgs) -> anyhow::Result<Binaries> {
        let build_native = args.binary.is_none();
        let build_airbyte = args.airbyte_binary.is_none() && args.wants(BenchRun::Airbyte);
        let mut bins = Vec::new();
        if build_native {
            bins.push("slack-audit");
        }
        if build_airbyte {
            bins.push("source-slack-audit");
        }
        let mut built = if bins.is_empty() {
            Vec::new()
        } else {
            crate::build_binaries("slack-audit", &bins, "release")?
        }
        .into_iter();
        let mut take = |given: &Option<PathBuf>, build: bool| match given {
            Some(path) => Ok(path.clone()),
            None if build => built
                .next()
                .context("cargo build reported fewer executables than asked"),
            None => Ok(PathBuf::new()),
        };
        let native = take(&args.binary, build_native)?;
        let airbyte = take(&args.airbyte_binary, build_airbyte)?;
        Ok(Binaries { native, airbyte })
    }

    /// The binary of the front end that frames its output as `framing`.
    fn of(&self, framing: Framing) -> &Path {
        match framing {
            Framing::Ndjson => &self.native,
            Framing::Airbyte => &self.airbyte,
        }
    }
}

/// Generates the data set the wanted runs read (as big as the biggest of them, ending at
/// `end`), noting it in `report`; empty when no run reads one.
fn generate_data_set(args: &BenchArgs, end: i64, report: &mut Report) -> anyhow::Result<DataSet> {
    let mut sizes: Vec<usize> = Vec::new();
    if args.wants(BenchRun::Throughput) || args.wants(BenchRun::Airbyte) {
        sizes.push(args.entries);
    }
    if args.wants(BenchRun::Scaling) {
        sizes.extend(args.scaling_entries.iter().copied().filter(|n| *n > 0));
    }
    if args.wants(BenchRun::Overlap) {
        sizes.push(args.overlap_entries);
    }
    if args.wants(BenchRun::Ocsf) || args.wants(BenchRun::Metrics) {
        sizes.push(args.entries);
    }
    if args.wants(BenchRun::Lake) {
        sizes.push(args.lake_entries);
    }
    if args.wants(BenchRun::LakeEncoder) {
        sizes.push(args.lake_encoder_entries);
    }
    let largest = sizes.iter().copied().max().unwrap_or(0);
    if largest == 0 {
        return Ok(DataSet::default());
    }
    eprintln!(
        "bench: generating {largest} entries (seed {}, {} events/h)…",
        args.seed, args.events_per_hour
    );
    let (data, took) = dataset::generate(args.seed, args.events_per_hour, end, largest);
    ensure!(
        data.entries.len() == largest,
        "the generator produced {} entries, {largest} wanted",
        data.entries.len()
    );
    report.dataset = Some(DataSetInfo::of(&data, took));
    Ok(data)
}

/// The wanted runs on the shared data set, named, in the order they run (all but pacing and
/// synthetic).
fn planned_runs(args: &BenchArgs) -> Vec<(String, Spec)> {
    let mut runs: Vec<(String, Spec)> = Vec::new();
    let fast = |n: usize| Spec {
        entries: n,
        page_size: args.page_size,
        rpm: args.requests_per_minute,
        page_delay: Duration::ZERO,
        rate_limit: None,
        ocsf: None,
        framing: Framing::Ndjson,
        metrics: false,
    };
    // Native and Airbyte runs alternate, so a change in the machine's load affects both alike.
    for i in 1..=args.repeat.max(1) {
        let suffix = if i == 1 {
            String::new()
        } else {
            format!(" #{i}")
        };
        if args.wants(BenchRun::Throughput) {
            runs.push((format!("throughput{suffix}"), fast(args.entries)));
        }
        if args.wants(BenchRun::Airbyte) {
            runs.push((
                format!("airbyte{suffix}"),
                Spec {
                    framing: Framing::Airbyte,
                    ..fast(args.entries)
                },
            ));
        }
    }
    if args.wants(BenchRun::Scaling) {
        for n in &args.scaling_entries {
            if *n > 0 && !(args.wants(BenchRun::Throughput) && *n == args.entries) {
                runs.push(("scaling".into(), fast(*n)));
            }
        }
    }
    if args.wants(BenchRun::Overlap) {
        runs.push((
            "overlap".into(),
            Spec {
                page_delay: Duration::from_millis(args.page_delay_ms),
                ..fast(args.overlap_entries)
            },
        ));
    }
    if args.wants(BenchRun::Ocsf) {
        // Both versions in one bench run, on the same data set, one after the other.
        for version in [OcsfVersion::V1_8_0, OcsfVersion::V1_3_0] {
            runs.push((
                ocsf_run_name(version),
                Spec {
                    ocsf: Some(version),
                    ..fast(args.entries)
                },
            ));
        }
    }
    if args.wants(BenchRun::Metrics) {
        // Interleaved, so a machine that gets busier or quieter meanwhile weighs on both sides.
        for i in 1..=args.metrics_pairs.max(1) {
            runs.push((format!("metrics off #{i}"), fast(args.entries)));
            runs.push((
                format!("metrics on #{i}"),
                Spec {
                    metrics: true,
                    ..fast(args.entries)
                },
            ));
        }
    }
    runs
}

/// The pacing run: its own sparse data set against a mock that answers 429 beyond
/// `--pacing-rpm`, the connector set to the same rate.
fn pacing_run(
    rt: &tokio::runtime::Runtime,
    binary: &Path,
    end: i64,
    args: &BenchArgs,
) -> anyhow::Result<(Spec, RunResult)> {
    let n = args.pacing_pages * args.pacing_page_size as usize;
    // Sparse (about one event every 10 s): no second holds two pages' worth, and the
    // late-arrival look-back of a catch-up window re-reads only a page or so.
    let eph = 360.0;
    eprintln!("bench: pacing: generating {n} entries at {eph} events/h…");
    let (pacing_data, _) = dataset::generate(args.seed ^ 0x9ac1_4e55, eph, end, n);
    ensure!(
        pacing_data.entries.len() == n,
        "the generator fell short for the pacing run"
    );
    let spec = Spec {
        entries: n,
        page_size: args.pacing_page_size,
        rpm: args.pacing_rpm,
        page_delay: Duration::ZERO,
        rate_limit: Some(args.pacing_rpm),
        ocsf: None,
        framing: Framing::Ndjson,
        metrics: false,
    };
    eprintln!(
        "bench: pacing: {} pages of {}, mock and connector at {} requests/min…",
        args.pacing_pages, args.pacing_page_size, args.pacing_rpm
    );
    let result =
        run_one(rt, binary, &pacing_data.entries, &spec, args).context("the pacing run failed")?;
    Ok((spec, result))
}

/// Re-runs this task from an optimized build of xtask (`cargo run --release -p xtask`).
fn reexec_optimized() -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!(
        "bench: this xtask is unoptimized; re-running it with `cargo run --release -p xtask`…"
    );
    let status = std::process::Command::new(cargo)
        .current_dir(crate::workspace_root())
        .args(["run", "--release", "--quiet", "-p", "xtask", "--"])
        .args(std::env::args_os().skip(1))
        .env(REEXEC_ENV, format!("cargo xtask {}", shown_args()))
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("the optimized bench failed ({status})");
    }
    Ok(())
}

/// This process's arguments after the program name, for the report.
fn shown_args() -> String {
    std::env::args().skip(1).collect::<Vec<_>>().join(" ")
}

/// The name of the OCSF run of `version` (`ocsf` for the default, as before).
fn ocsf_run_name(version: OcsfVersion) -> String {
    if version == OcsfVersion::default() {
        "ocsf".to_owned()
    } else {
        format!("ocsf {version}")
    }
}

/// One connector run's setup.
#[derive(Debug, Clone)]
struct Spec {
    entries: usize,
    page_size: u32,
    rpm: u32,
    page_delay: Duration,
    rate_limit: Option<u32>,
    /// `record_format: "ocsf"`, with this `ocsf_version`.
    ocsf: Option<OcsfVersion>,
    /// Which front end: `slack-audit read` (NDJSON) or `source-slack-audit read` (Airbyte).
    framing: Framing,
    /// With `--metrics-addr`, scraped every second while it runs.
    metrics: bool,
}

/// One connector run's measurements.
#[derive(Debug)]
struct RunResult {
    child: ChildRun,
    records: u64,
    json_bytes: u64,
    requests: u64,
    pages_ok: u64,
    rate_limited: u64,
    early_retries: u64,
    served: u64,
    /// Scrapes of `/metrics` answered while the connector ran (metrics runs only).
    scrapes: u64,
}

impl RunResult {
    fn cpu(&self) -> Duration {
        self.child.user + self.child.sys
    }

    fn us_per_record(&self) -> f64 {
        self.cpu().as_secs_f64() * 1e6 / self.records.max(1) as f64
    }

    fn rss_mib(&self) -> f64 {
        self.child.max_rss as f64 / (1024.0 * 1024.0)
    }
}

/// A mock serving `entries` (newest first), with `spec`'s page delay and rate limit, checked to
/// hold every one of them.
fn loaded_mock(
    rt: &tokio::runtime::Runtime,
    entries: &[MockEntry],
    spec: &Spec,
) -> anyhow::Result<MockSlack> {
    let mock = rt
        .block_on(MockSlack::start(MockConfig {
            token: Some(TOKEN.into()),
            page_delay: spec.page_delay,
            rate_limit_per_minute: spec.rate_limit,
            ..MockConfig::default()
        }))
        .context("cannot start the mock")?;
    mock.push_entries(entries.iter().cloned());
    ensure!(
        mock.entry_count() == entries.len(),
        "the mock holds {} entries, {} pushed (duplicate ids?)",
        mock.entry_count(),
        entries.len()
    );
    Ok(mock)
}

/// Starts a mock with `entries`, runs the connector against it, and checks the output.
fn run_one(
    rt: &tokio::runtime::Runtime,
    binary: &Path,
    entries: &[MockEntry],
    spec: &Spec,
    args: &BenchArgs,
) -> anyhow::Result<RunResult> {
    let mock = loaded_mock(rt, entries, spec)?;
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let mut command = write_read_command(dir.path(), &mock.base_url(), entries, spec)?;
    let stride = (entries.len() as u64 / 1000).max(1);
    let scraper = if spec.metrics {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        command.extend(["--metrics-addr".into(), addr.to_string().into()]);
        Some(Scraper::start(rt, addr))
    } else {
        None
    };
    let run = child::run_read(
        binary,
        &command,
        spec.framing,
        dir.path(),
        stride,
        Duration::from_secs(args.timeout_secs),
    )?;
    let stats = mock.stats();
    let served = mock.served_ids();
    rt.block_on(mock.shutdown());
    let scrapes = match scraper {
        Some(scraper) => {
            let (scrapes, last) = scraper.finish(rt);
            ensure!(
                scrapes > 0,
                "no scrape of /metrics succeeded during the run"
            );
            ensure!(
                last.is_some_and(|records| records <= entries.len() as f64),
                "the last scrape counted {last:?} records, more than the {} served",
                entries.len()
            );
            scrapes
        }
        None => 0,
    };

    check_output(&run, entries, spec, &served)?;
    Ok(RunResult {
        records: run.sink.lines,
        json_bytes: run.sink.bytes,
        requests: stats.requests,
        pages_ok: stats.pages_ok,
        rate_limited: stats.rate_limited,
        early_retries: stats.early_retries,
        served: served.len() as u64,
        scrapes,
        child: run,
    })
}

/// Writes the config (and for Airbyte the catalog) of a run against the mock at `base_url`
/// into `dir`, backfilling from an hour before the oldest of `entries` (newest first), and
/// returns the connector's arguments.
fn write_read_command(
    dir: &Path,
    base_url: &str,
    entries: &[MockEntry],
    spec: &Spec,
) -> anyhow::Result<Vec<std::ffi::OsString>> {
    let oldest = entries.last().map_or(0, |e| e.date_create);
    let config_path = dir.join("config.json");
    let state_path = dir.join("state.json");
    // Start an hour before the oldest entry, as a duration before the run (no date maths).
    let backfill = format!("{}s", (slack_mock::unix_now() - oldest + 3600).max(60));
    let mut config = serde_json::json!({
        "settings": {
            "api_base_url": base_url,
            "backfill_start_time": backfill,
            "page_size": spec.page_size,
            "requests_per_minute": spec.rpm,
        },
        "secrets": { "user_oauth_token": TOKEN },
    });
    if let Some(version) = spec.ocsf {
        config["settings"]["record_format"] = "ocsf".into();
        config["settings"]["ocsf_version"] = version.as_str().into();
    }
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)
        .context("cannot write the config")?;

    let mut command: Vec<std::ffi::OsString> =
        vec!["read".into(), "--config".into(), config_path.clone().into()];
    match spec.framing {
        Framing::Ndjson => command.extend(["--state".into(), state_path.into()]),
        Framing::Airbyte => {
            // A first incremental read: no state yet, as a host starts a new connection.
            let catalog = dir.join("catalog.json");
            let streams = serde_json::json!({"streams": [{
                "stream": {"name": "audit_logs", "json_schema": {}, "supported_sync_modes": ["incremental"]},
                "sync_mode": "incremental",
                "destination_sync_mode": "append",
            }]});
            std::fs::write(&catalog, streams.to_string()).context("cannot write the catalog")?;
            command.extend(["--catalog".into(), catalog.into()]);
        }
    }
    Ok(command)
}

/// Checks a run's output: exit 0, every entry once in the data set's order (its bytes, or for
/// OCSF an event naming it and the version), Airbyte's framing, and every id served once.
fn check_output(
    run: &ChildRun,
    entries: &[MockEntry],
    spec: &Spec,
    served: &[String],
) -> anyhow::Result<()> {
    ensure!(
        run.exit_code == Some(0),
        "the connector exited with {:?}; its stderr ends with:\n{}",
        run.exit_code,
        run.stderr_tail
    );
    let expected_bytes: u64 = entries.iter().map(|e| e.json.len() as u64 + 1).sum();
    ensure!(
        run.sink.lines == entries.len() as u64,
        "{} records received, {} expected",
        run.sink.lines,
        entries.len()
    );
    if let Some(version) = spec.ocsf {
        // An event is not the entry's bytes: its start must name the entry it came from and
        // the version asked for.
        let version = format!("\"version\":\"{version}\"");
        for (line, prefix) in &run.sink.samples {
            let entry = entries
                .get(*line as usize)
                .context("a sampled line is beyond the data set")?;
            let uid = format!("\"metadata\":{{\"uid\":\"{}\"", entry.id);
            ensure!(
                prefix.starts_with(b"{\"class_uid\":")
                    && memchr::memmem::find(prefix, uid.as_bytes()).is_some(),
                "record {line} is not the OCSF event of the data set's entry {line}: {}",
                String::from_utf8_lossy(prefix)
            );
            ensure!(
                memchr::memmem::find(prefix, version.as_bytes()).is_some()
                    || prefix.len() == child::SAMPLE_PREFIX,
                "record {line} does not say {version}: {}",
                String::from_utf8_lossy(prefix)
            );
        }
    } else {
        ensure!(
            run.sink.bytes == expected_bytes,
            "{} bytes received, {expected_bytes} expected",
            run.sink.bytes
        );
        for (line, prefix) in &run.sink.samples {
            let want = entries
                .get(*line as usize)
                .map(|e| e.json.as_bytes())
                .context("a sampled line is beyond the data set")?;
            let expected = &want[..want.len().min(child::SAMPLE_PREFIX)];
            ensure!(
                prefix.as_slice() == expected,
                "record {line} is not the data set's entry {line}"
            );
        }
    }
    ensure!(!run.sink.samples.is_empty(), "no line was sampled");
    if spec.framing == Framing::Airbyte {
        ensure!(
            run.sink.malformed == 0,
            "{} RECORD messages were not framed as expected",
            run.sink.malformed
        );
        ensure!(run.sink.states > 0, "no STATE message was written");
    }
    let unique: std::collections::HashSet<&str> = served.iter().map(String::as_str).collect();
    ensure!(
        unique.len() == entries.len(),
        "the mock served {} distinct ids, {} expected",
        unique.len(),
        entries.len()
    );
    Ok(())
}

/// Scrapes `/metrics` every second, as an eager Prometheus would, while a run lasts.
struct Scraper {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<(u64, Option<f64>)>,
}

impl Scraper {
    fn start(rt: &tokio::runtime::Runtime, addr: std::net::SocketAddr) -> Scraper {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let task = rt.spawn(async move {
            let client = reqwest::Client::new();
            let url = format!("http://{addr}/metrics");
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            let (mut scrapes, mut last) = (0u64, None);
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                ticks.tick().await;
                let Ok(response) = client.get(&url).send().await else {
                    continue; // not listening yet, or gone
                };
                let Ok(text) = response.text().await else {
                    continue;
                };
                scrapes += 1;
                last = text.lines().find_map(|l| {
                    l.strip_prefix("slack_audit_records_delivered_total ")
                        .and_then(|v| v.parse().ok())
                });
            }
            (scrapes, last)
        });
        Scraper { stop, task }
    }

    fn finish(self, rt: &tokio::runtime::Runtime) -> (u64, Option<f64>) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        rt.block_on(self.task).unwrap_or((0, None))
    }
}

/// The machine, for the report.
#[derive(Debug)]
struct Machine {
    cpus: usize,
    model: String,
    memory: String,
    kernel: String,
    rustc: String,
}

impl Machine {
    fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".into(), |(_, v)| v.trim().to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or_else(
                || "unknown".into(),
                |kib| format!("{:.1} GiB", kib / (1024.0 * 1024.0)),
            );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_or_else(|_| "unknown".into(), |s| s.trim().to_owned());
        let rustc =
            std::process::Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
                .arg("-V")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_else(|| "unknown".into());
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            model,
            memory,
            kernel,
            rustc,
        }
    }
}

/// The generated data set, for the report.
#[derive(Debug)]
struct DataSetInfo {
    entries: usize,
    bytes: u64,
    span_seconds: i64,
    took: Duration,
}

impl DataSetInfo {
    fn of(data: &DataSet, took: Duration) -> DataSetInfo {
        let bytes = data.entries.iter().map(|e| e.json.len() as u64).sum();
        let newest = data.entries.first().map_or(0, |e| e.date_create);
        let oldest = data.entries.last().map_or(0, |e| e.date_create);
        DataSetInfo {
            entries: data.entries.len(),
            bytes,
            span_seconds: newest - oldest + 1,
            took,
        }
    }
}

#[derive(Debug, Default)]
struct Report {
    dataset: Option<DataSetInfo>,
    runs: Vec<(String, Spec, RunResult)>,
    synthetic: Option<SyntheticSpeed>,
    lake: Option<lake_run::LakeBench>,
    lake_encoder: Option<lake_encoder::EncoderBench>,
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn verdict(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**MISSED**" }
}

impl Report {
    fn render(&self, m: &Machine, command: &str, args: &BenchArgs) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\n## Machine\n");
        let _ = writeln!(
            out,
            "{} CPUs ({}), {} memory, Linux {}, {}\n",
            m.cpus, m.model, m.memory, m.kernel, m.rustc
        );
        let _ = writeln!(out, "Command: `{command}`\n");
        if let Some(d) = &self.dataset {
            let _ = writeln!(
                out,
                "Data set: {} entries, {:.1} MB of JSON ({:.0} bytes/entry on average), spanning {:.1} h, generated in {:.2} s.\n",
                d.entries,
                mb(d.bytes),
                d.bytes as f64 / d.entries.max(1) as f64,
                d.span_seconds as f64 / 3600.0,
                d.took.as_secs_f64()
            );
        }
        if !self.runs.is_empty() {
            let _ = writeln!(
                out,
                "## Connector runs (release build: `slack-audit read`; `airbyte` runs: `source-slack-audit read`)\n"
            );
            let _ = writeln!(
                out,
                "| run | records | page size | req/min | delay ms | wall s | CPU s (user+sys) | µs CPU/record | records/CPU-s | JSON MB | MB/CPU-s | MB/s wall | peak RSS MiB | requests | 429s | bench CPU s (mock+sink) |"
            );
            let _ = writeln!(
                out,
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
            for (name, spec, r) in &self.runs {
                let cpu = r.cpu().as_secs_f64();
                let wall = r.child.wall.as_secs_f64();
                let _ = writeln!(
                    out,
                    "| {name} | {} | {} | {} | {} | {wall:.2} | {cpu:.2} ({:.2}+{:.2}) | {:.2} | {:.0} | {:.1} | {:.0} | {:.1} | {:.1} | {} | {} | {:.2} |",
                    r.records,
                    spec.page_size,
                    spec.rpm,
                    spec.page_delay.as_millis(),
                    r.child.user.as_secs_f64(),
                    r.child.sys.as_secs_f64(),
                    r.us_per_record(),
                    r.records as f64 / cpu.max(1e-9),
                    mb(r.json_bytes),
                    mb(r.json_bytes) / cpu.max(1e-9),
                    mb(r.json_bytes) / wall.max(1e-9),
                    r.rss_mib(),
                    r.requests,
                    r.rate_limited,
                    r.child.bench_cpu.as_secs_f64(),
                );
            }
            let _ = writeln!(
                out,
                "\nPeak RSS is the connector's `ru_maxrss` from wait4(2), started by a helper whose own peak ({:.1} MiB) is the floor of that figure.\n",
                self.runs
                    .iter()
                    .map(|(_, _, r)| r.child.helper_rss)
                    .max()
                    .unwrap_or(0) as f64
                    / (1024.0 * 1024.0)
            );
            let _ = writeln!(
                out,
                "Wall time includes process start, config validation and the pacer: at {} requests/min request starts are {:.0} ms apart, so R requests take at least (R-1) × that.\n",
                args.requests_per_minute,
                60_000.0 / f64::from(args.requests_per_minute.max(1))
            );
        }
        if let Some(lake) = &self.lake {
            lake.render(&mut out);
        }
        if let Some(encoder) = &self.lake_encoder {
            encoder.render(&mut out);
        }
        if let Some(s) = &self.synthetic {
            let _ = writeln!(out, "## Synthetic generation (in process, one thread)\n");
            let _ = writeln!(
                out,
                "{} entries ({:.1} MB of JSON) over {:.1} h of organization time at {} events/h in {:.2} s: **{:.0} entries/s**, {:.1} MB/s.\n",
                s.entries,
                mb(s.bytes),
                s.span_seconds as f64 / 3600.0,
                s.events_per_hour,
                s.elapsed.as_secs_f64(),
                s.per_second(),
                mb(s.bytes) / s.elapsed.as_secs_f64().max(1e-9)
            );
        }
        out.push_str(&self.targets(args));
        out
    }

    fn find(&self, name: &str) -> Option<&(String, Spec, RunResult)> {
        self.runs.iter().find(|(n, _, _)| n == name)
    }

    /// The throughput run with the median CPU per record (the lower median of an even count).
    fn median_throughput(&self) -> Option<&(String, Spec, RunResult)> {
        self.median_of("throughput")
    }

    /// The run named `prefix…` with the median CPU per record (the lower median of an even
    /// count).
    fn median_of(&self, prefix: &str) -> Option<&(String, Spec, RunResult)> {
        let mut runs: Vec<&(String, Spec, RunResult)> = self
            .runs
            .iter()
            .filter(|(n, _, _)| n.starts_with(prefix))
            .collect();
        runs.sort_by(|a, b| a.2.us_per_record().total_cmp(&b.2.us_per_record()));
        runs.get(runs.len().saturating_sub(1) / 2).copied()
    }

    /// The verdict of every target the runs allow judging, one bullet each, in a fixed order.
    fn targets(&self, args: &BenchArgs) -> String {
        let mut out = String::from("## Targets\n\n");
        self.throughput_targets(&mut out);
        self.airbyte_targets(&mut out);
        self.rss_flatness_target(&mut out);
        self.overlap_target(&mut out);
        self.pacing_target(&mut out, args);
        self.ocsf_targets(&mut out);
        self.metrics_overhead_target(&mut out);
        if let Some(lake) = &self.lake {
            lake.targets(&mut out);
        }
        self.synthetic_target(&mut out);
        out
    }

    /// CPU per record, wall time against the pacer's floor, and peak RSS of the median throughput
    /// run.
    fn throughput_targets(&self, out: &mut String) {
        if let Some((name, spec, r)) = self.median_throughput() {
            let us = r.us_per_record();
            let _ = writeln!(
                out,
                "- CPU per record ≤ {TARGET_US_PER_RECORD} µs (> {:.0} records/CPU-s), output included: {us:.2} µs ({:.0} records/CPU-s) over {} records (run `{name}`{}): {}{}.",
                1e6 / TARGET_US_PER_RECORD,
                r.records as f64 / r.cpu().as_secs_f64().max(1e-9),
                r.records,
                if self
                    .runs
                    .iter()
                    .filter(|(n, _, _)| n.starts_with("throughput"))
                    .count()
                    > 1
                {
                    ", the median of the throughput runs"
                } else {
                    ""
                },
                verdict(us <= TARGET_US_PER_RECORD),
                if us <= TARGET_US_PER_RECORD {
                    String::new()
                } else {
                    format!(" by {:.0}%", (us / TARGET_US_PER_RECORD - 1.0) * 100.0)
                }
            );
            let floor = r.requests.saturating_sub(1) as f64 * 60.0 / f64::from(spec.rpm.max(1));
            let _ = writeln!(
                out,
                "  - Wall {:.2} s for {} requests, of which the pacer's floor is {floor:.1} s; the connector's CPU was busy {:.0}% of the wall time.",
                r.child.wall.as_secs_f64(),
                r.requests,
                r.cpu().as_secs_f64() / r.child.wall.as_secs_f64().max(1e-9) * 100.0
            );
            let rss = r.rss_mib();
            let _ = writeln!(
                out,
                "- Peak RSS < {TARGET_RSS_MIB} MiB for a 1,000,000-record backfill in pages of 9,999: {rss:.1} MiB for {} records in pages of {}: {}.",
                r.records,
                spec.page_size,
                if r.records < 1_000_000 {
                    "not judged (fewer than 1,000,000 records)".to_owned()
                } else if rss < TARGET_RSS_MIB {
                    verdict(true).to_owned()
                } else {
                    format!(
                        "{} by {:.1} MiB ({:.1}%)",
                        verdict(false),
                        rss - TARGET_RSS_MIB,
                        (rss / TARGET_RSS_MIB - 1.0) * 100.0
                    )
                }
            );
        }
    }

    /// The Airbyte front end's CPU per record against the native one, and its peak RSS.
    fn airbyte_targets(&self, out: &mut String) {
        if let Some((name, _, a)) = self.median_of("airbyte") {
            let count = self
                .runs
                .iter()
                .filter(|(n, _, _)| n.starts_with("airbyte"))
                .count();
            let us = a.us_per_record();
            let median = if count > 1 {
                format!(", the median of {count} runs")
            } else {
                String::new()
            };
            match self.median_throughput() {
                Some((_, _, n)) => {
                    let ratio = us / n.us_per_record().max(1e-9);
                    let _ = writeln!(
                        out,
                        "- Airbyte front end CPU per record ≤ {TARGET_AIRBYTE_CPU_RATIO} × native: {us:.2} µs over {} records (run `{name}`{median}) against {:.2} µs native, ratio {ratio:.3} ({:+.2} µs a record for the envelope): {}.",
                        a.records,
                        n.us_per_record(),
                        us - n.us_per_record(),
                        verdict(ratio <= TARGET_AIRBYTE_CPU_RATIO)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "- Airbyte front end CPU per record: {us:.2} µs (run `{name}`{median}); not judged without a native throughput run."
                    );
                }
            }
            let rss = a.rss_mib();
            let _ = writeln!(
                out,
                "- Airbyte front end peak RSS < {TARGET_RSS_MIB} MiB: {rss:.1} MiB for {} records in pages of 9,999 ({} STATE messages): {}.",
                a.records,
                a.child.sink.states,
                if a.records < 1_000_000 {
                    "not judged (fewer than 1,000,000 records)"
                } else {
                    verdict(rss < TARGET_RSS_MIB)
                }
            );
        }
    }

    /// Peak RSS of the scaling runs and the median throughput run, smallest to largest N.
    fn rss_flatness_target(&self, out: &mut String) {
        let mut fast: Vec<&(String, Spec, RunResult)> = self
            .runs
            .iter()
            .filter(|(n, _, _)| n == "scaling")
            .chain(self.median_throughput())
            .collect();
        fast.sort_by_key(|(_, _, r)| r.records);
        if fast.len() >= 2
            && let (Some(small), Some(big)) = (fast.first(), fast.last())
        {
            let ratio = big.2.rss_mib() / small.2.rss_mib().max(1e-9);
            let series = fast
                .iter()
                .map(|(_, _, r)| format!("{} → {:.1} MiB", r.records, r.rss_mib()))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                out,
                "- Peak RSS flat as N grows (largest/smallest ≤ {TARGET_RSS_FLAT_RATIO}): {series}; ratio {ratio:.2}: {}.",
                verdict(ratio <= TARGET_RSS_FLAT_RATIO)
            );
        }
    }

    /// Wall time of the overlap run against its pages × the server's delay.
    fn overlap_target(&self, out: &mut String) {
        if let Some((_, spec, r)) = self.find("overlap") {
            let pages = r.pages_ok;
            let ideal = pages as f64 * spec.page_delay.as_secs_f64();
            let wall = r.child.wall.as_secs_f64();
            let ratio = wall / ideal.max(1e-9);
            let _ = writeln!(
                out,
                "- Network and output overlap (wall ≤ {TARGET_OVERLAP_RATIO} × pages × delay): {pages} pages × {} ms = {ideal:.2} s, wall {wall:.2} s, ratio {ratio:.3} ({:+.0} ms a page): {}.",
                spec.page_delay.as_millis(),
                (wall - ideal) * 1000.0 / pages.max(1) as f64,
                if ratio <= TARGET_OVERLAP_RATIO {
                    verdict(true).to_owned()
                } else {
                    format!(
                        "{} by {:.2} s ({:.0}% over the allowed {:.2} s)",
                        verdict(false),
                        wall - ideal * TARGET_OVERLAP_RATIO,
                        (wall / (ideal * TARGET_OVERLAP_RATIO) - 1.0) * 100.0,
                        ideal * TARGET_OVERLAP_RATIO
                    )
                }
            );
        }
    }

    /// Wall time and 429s of the pacing run against its request budget.
    fn pacing_target(&self, out: &mut String, args: &BenchArgs) {
        if let Some((_, spec, r)) = self.find("pacing") {
            let admitted = r.requests - r.rate_limited;
            let budget = admitted.saturating_sub(1) as f64 * 60.0 / f64::from(spec.rpm.max(1));
            let wall = r.child.wall.as_secs_f64();
            let ratio = wall / budget.max(1e-9);
            let ok = ratio <= TARGET_PACING_RATIO && r.rate_limited <= TARGET_PACING_429S;
            let _ = writeln!(
                out,
                "- Pacing at R = {} requests/min against a mock allowing R (wall ≤ {TARGET_PACING_RATIO} × budget, ≤ {TARGET_PACING_429S} 429): {} requests answered ({} pages, {} records served incl. look-back re-reads), budget (n-1) × 60/R = {budget:.1} s, wall {wall:.2} s, ratio {ratio:.3}, {} 429s, {} early retries: {}.",
                spec.rpm,
                admitted,
                r.pages_ok,
                r.served,
                r.rate_limited,
                r.early_retries,
                verdict(ok)
            );
            if args.pacing_pages as u64 <= u64::from(spec.rpm) {
                let _ = writeln!(
                    out,
                    "  - Note: {} pages fit in one minute's budget of {}: the mock's window never filled.",
                    args.pacing_pages, spec.rpm
                );
            }
        }
    }

    /// CPU per record and peak RSS of the OCSF runs, one per version.
    fn ocsf_targets(&self, out: &mut String) {
        for version in [OcsfVersion::V1_8_0, OcsfVersion::V1_3_0] {
            let Some((_, spec, r)) = self.find(&ocsf_run_name(version)) else {
                continue;
            };
            let us = r.us_per_record();
            let rss = r.rss_mib();
            let _ = writeln!(
                out,
                "- OCSF {version} (`record_format: \"ocsf\"`, `ocsf_version: \"{version}\"`) ≤ {TARGET_OCSF_US_PER_RECORD} µs CPU per record, output included: {us:.2} µs ({:.0} records/CPU-s, {:.0} bytes/event) over {} records: {}.",
                r.records as f64 / r.cpu().as_secs_f64().max(1e-9),
                r.json_bytes as f64 / r.records.max(1) as f64,
                r.records,
                verdict(us <= TARGET_OCSF_US_PER_RECORD)
            );
            let _ = writeln!(
                out,
                "- OCSF {version} peak RSS < {TARGET_RSS_MIB} MiB ({} records in pages of {}): {rss:.1} MiB: {}.",
                r.records,
                spec.page_size,
                verdict(rss < TARGET_RSS_MIB)
            );
        }
    }

    /// The median CPU per record of the runs named `prefix…` (the lower median of an even
    /// count), how many runs that is, and the scrapes they answered in all.
    fn median_us_and_scrapes(&self, prefix: &str) -> Option<(f64, usize, u64)> {
        let mut us: Vec<f64> = self
            .runs
            .iter()
            .filter(|(n, _, _)| n.starts_with(prefix))
            .map(|(_, _, r)| r.us_per_record())
            .collect();
        us.sort_by(f64::total_cmp);
        let scrapes = self
            .runs
            .iter()
            .filter(|(n, _, _)| n.starts_with(prefix))
            .map(|(_, _, r)| r.scrapes)
            .sum();
        us.get(us.len().saturating_sub(1) / 2)
            .map(|m| (*m, us.len(), scrapes))
    }

    /// CPU per record with metrics on against off, medians of the interleaved pairs.
    fn metrics_overhead_target(&self, out: &mut String) {
        if let (Some((off, n, _)), Some((on, _, scrapes))) = (
            self.median_us_and_scrapes("metrics off"),
            self.median_us_and_scrapes("metrics on"),
        ) {
            let diff = (on / off.max(1e-9) - 1.0) * 100.0;
            let _ = writeln!(
                out,
                "- CPU per record with `--metrics-addr` (scraped every second: {scrapes} scrapes in all) within {TARGET_METRICS_OVERHEAD_PERCENT}% of without, medians of {n} interleaved pairs: off {off:.3} µs, on {on:.3} µs, {diff:+.1}%: {}.",
                verdict(diff <= TARGET_METRICS_OVERHEAD_PERCENT)
            );
        }
    }

    /// Entries per second of the generator alone.
    fn synthetic_target(&self, out: &mut String) {
        if let Some(s) = &self.synthetic {
            let rate = s.per_second();
            let _ = writeln!(
                out,
                "- Synthetic generation ≥ {TARGET_SYNTHETIC_PER_SECOND:.0} entries/s on one core: {rate:.0}/s: {}{}.",
                verdict(rate >= TARGET_SYNTHETIC_PER_SECOND),
                if rate >= TARGET_SYNTHETIC_PER_SECOND {
                    String::new()
                } else {
                    format!(
                        " by {:.0}%",
                        (1.0 - rate / TARGET_SYNTHETIC_PER_SECOND) * 100.0
                    )
                }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn args(line: &[&str]) -> BenchArgs {
        Cli::parse_from(std::iter::once("bench").chain(line.iter().copied())).bench
    }

    #[test]
    fn planned_runs_alternate_the_front_ends_and_keep_their_order() {
        let args = args(&[
            "--runs=throughput,airbyte,scaling,overlap,ocsf,metrics,pacing",
            "--repeat=2",
            "--metrics-pairs=1",
            "--entries=1000",
            "--scaling-entries=1000,5000",
        ]);
        let runs = planned_runs(&args);
        let names: Vec<&str> = runs.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "throughput",
                "airbyte",
                "throughput #2",
                "airbyte #2",
                "scaling",
                "overlap",
                "ocsf",
                "ocsf 1.3.0",
                "metrics off #1",
                "metrics on #1",
            ]
        );
        let frames: Vec<Framing> = runs.iter().map(|(_, spec)| spec.framing).collect();
        assert_eq!(frames[..2], [Framing::Ndjson, Framing::Airbyte]);
        // The scaling size equal to --entries is the throughput run's: not run twice.
        assert_eq!(runs[4].1.entries, 5000);
        assert_eq!(runs[5].1.page_delay, Duration::from_millis(200));
        assert_eq!(
            runs[6..8].iter().map(|(_, s)| s.ocsf).collect::<Vec<_>>(),
            [Some(OcsfVersion::V1_8_0), Some(OcsfVersion::V1_3_0)]
        );
        assert!(runs[9].1.metrics && !runs[8].1.metrics);
    }

    #[test]
    fn given_binaries_are_used_without_building() -> anyhow::Result<()> {
        let args = args(&[
            "--runs=throughput,airbyte",
            "--binary=/given/slack-audit",
            "--airbyte-binary=/given/source-slack-audit",
        ]);
        let binaries = Binaries::get(&args)?;
        assert_eq!(
            binaries.of(Framing::Ndjson),
            Path::new("/given/slack-audit")
        );
        assert_eq!(
            binaries.of(Framing::Airbyte),
            Path::new("/given/source-slack-audit")
        );
        Ok(())
    }
}
