//! `cargo xtask lake scenarios`: delivery into a lake, end to end, against a real S3 server on
//! loopback.
//!
//! 1. Makes the lake venv ([`venv`](super::venv): moto's server, boto3, pyarrow, DuckDB and
//!    jsonschema, pinned); builds `slack-audit`; starts `moto_server` on 127.0.0.1 and creates
//!    the buckets.
//! 2. **Security Lake, synthetic**: a synthetic backfill (`record_format` `ocsf`, `ocsf_version`
//!    1.3.0, across UTC midnight) through `read --lake` into moto with small spool segments, then
//!    a second run (nothing twice), then the same settings with `read` to stdout (the NDJSON
//!    run).
//! 3. **Security Lake, replay**: the entries of the recorded fixtures (`fixtures/slack-audit/*/
//!    pages`) served by the loopback mock, read the same two ways.
//! 4. **Plain S3**: NDJSON.gz of both record formats, and Parquet, under `<url><table>/year=…/`.
//! 5. **Kills**: at least `--kills` SIGKILLs at random instants of a backfill into the lake, then
//!    a run to completion.
//! 6. **S3 faults**: `xtask/lake/fault_proxy.py` between the connector (`aws.endpoint`) and moto:
//!    first every write refused with 403 (the read must stop with exit 3 and say so, the records
//!    kept in the spool), then 500s, 503 SlowDown, stalls and dropped connections on the writes
//!    (each injected fault is counted from the proxy's log), the read must succeed.
//!
//! Each scenario's bucket is judged by `xtask/lake/check_lake.py` (see [`read_back`](super::read_back)): the exact
//! layout, the partition day of every row, one class per object, rows in time order, zstd, pages
//! ≤ 1 MiB, row groups ≤ 256 MB, every event valid against its OCSF 1.3.0 class with its
//! declared profiles, read back by pyarrow and DuckDB (`hive_partitioning`), and the multiset of
//! records equal to the NDJSON run's, each exactly once. The AWS secret key given to the
//! connector is checked absent from everything it prints.
//!
//! Everything listens on 127.0.0.1; nothing leaves the machine but the one-time install. Not part
//! of `cargo test`; `.ci/run` runs it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use clap::ValueEnum;
use serde_json::{Value, json};
use slack_mock::{MockConfig, MockEntry, MockSlack};

use super::connector_runs::{Connector, Run, expect_ok, tail, write_config, write_lake};
use super::fault_proxy::FaultProxy;
use super::moto::MotoServer;
use super::read_back::{Checker, Plan};

/// The token the replay mock expects (a fake: nothing leaves loopback).
const TOKEN: &str = "xoxp-3131313131-3131313131-313131313131-1a4e1a4e1a4e1a4e1a4e1a4e1a4e1a4e";

/// The scenarios `cargo xtask lake` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// A synthetic backfill into Security Lake's layout.
    Synthetic,
    /// The recorded fixtures' entries into Security Lake's layout.
    Replay,
    /// Plain S3: NDJSON.gz of both record formats, and Parquet.
    Plain,
    /// SIGKILLs at random instants of a backfill into the lake.
    Kills,
    /// 403, 5xx, throttling, stalls and dropped connections between the connector and moto.
    Faults,
}

/// Arguments of the scenarios.
#[derive(Debug, Clone, clap::Args)]
pub struct ScenarioArgs {
    /// Only these scenarios (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Scenario>,
    /// SIGKILLs of the kill scenario (at least this many land on a running read).
    #[arg(long, default_value_t = 20)]
    pub kills: usize,
    /// Longest random delay before a kill, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    pub kill_max_delay_ms: u64,
    /// Seed of the kill instants (default: from the clock; printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Longest wait for any one run, in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
    /// Keep the work folder (state files, spools, local copies) and print its path.
    #[arg(long)]
    pub keep: bool,
}

/// Runs the task.
pub fn run(args: &ScenarioArgs) -> anyhow::Result<()> {
    let python = super::venv::ensure()?;
    let binary = crate::build_binary("slack-audit", "slack-audit", false)?;
    let work = tempfile::Builder::new()
        .prefix("lake-e2e-")
        .tempdir_in(crate::target_dir())
        .context("cannot create a work folder under the target directory")?;
    let rt = crate::runtime("lake", 2)?;
    let result = rt.block_on(scenarios(args, &python, &binary, work.path()));
    if args.keep {
        let kept = work.keep();
        eprintln!("lake: work folder kept at {}", kept.display());
    }
    result
}

struct Ctx<'a> {
    args: &'a ScenarioArgs,
    python: &'a Path,
    work: &'a Path,
    moto: Moto,
    _server: MotoServer,
    connector: Connector,
    checker: Checker,
    timeout: Duration,
}

async fn scenarios(
    args: &ScenarioArgs,
    python: &Path,
    binary: &Path,
    work: &Path,
) -> anyhow::Result<()> {
    let server = MotoServer::start(&work.join("moto.log"), None).await?;
    let moto = Moto { port: server.port };
    eprintln!("lake: moto's S3 server on {}", moto.endpoint());
    let ctx = Ctx {
        args,
        python,
        work,
        connector: Connector::new(binary, &work.join("home"))?,
        checker: Checker::new(python, &moto.endpoint(), &work.join("check")),
        moto,
        _server: server,
        timeout: Duration::from_secs(args.timeout_secs),
    };
    let wanted = |s: Scenario| args.only.is_empty() || args.only.contains(&s);
    let mut report = Vec::new();
    if wanted(Scenario::Synthetic) {
        report.extend(synthetic(&ctx).await.context("scenario synthetic")?);
    }
    if wanted(Scenario::Replay) {
        report.extend(replay(&ctx).await.context("scenario replay")?);
    }
    if wanted(Scenario::Plain) {
        report.extend(plain(&ctx).await.context("scenario plain")?);
    }
    if wanted(Scenario::Kills) {
        report.extend(kills(&ctx).await.context("scenario kills")?);
    }
    if wanted(Scenario::Faults) {
        report.extend(faults(&ctx).await.context("scenario faults")?);
    }
    println!(
        "\n| scenario | objects | records | bytes/record | largest page | largest row group | validated | DuckDB rows | notes |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for (summary, notes) in &report {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            summary["label"].as_str().unwrap_or("?"),
            summary["objects"],
            summary["records"],
            summary["bytes_per_record"],
            summary["max_page_uncompressed"],
            summary["max_row_group_compressed"],
            summary["validated"],
            summary["duckdb_rows"],
            notes
        );
    }
    println!("\nlake: every scenario passed");
    Ok(())
}

type Outcome = (Value, String);

/// How the scenarios reach moto (started by [`MotoServer`], which the context keeps alive).
struct Moto {
    port: u16,
}

impl Moto {
    /// `http://127.0.0.1:PORT`.
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn port(&self) -> u16 {
        self.port
    }

    /// Creates bucket `name` (moto takes an unsigned `PUT /name` in us-east-1).
    async fn create_bucket(&self, name: &str) -> anyhow::Result<()> {
        let response = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint()))
            .send()
            .await
            .with_context(|| format!("cannot create bucket {name}"))?;
        ensure!(
            response.status().is_success(),
            "creating bucket {name}: moto answered {}",
            response.status()
        );
        Ok(())
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A synthetic backfill start 36 hours back, on the hour (so every run of a scenario asks for
/// the same window start, and the window crosses a UTC midnight).
fn synthetic_start() -> String {
    let hour = now_ms() / 3_600_000 - 36;
    chrono_like_rfc3339(hour * 3600)
}

/// `t` (unix seconds) as `YYYY-MM-DDTHH:MM:SSZ`, through the connector's own formatter.
fn chrono_like_rfc3339(t: i64) -> String {
    slack_audit::clock::format_time(t)
}

fn synthetic_settings(start: &str, format: &str, per_hour: f64, seed: u64) -> Value {
    let mut settings = json!({
        "use_synthetic_data": true,
        "backfill_start_time": start,
        "record_format": format,
        "synthetic_events_per_hour": per_hour,
        "synthetic_seed": seed,
    });
    if format == "ocsf" {
        settings["ocsf_version"] = json!("1.3.0");
    }
    settings
}

/// A scenario's folder, config, state and lake files.
struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(ctx: &Ctx<'_>, name: &str) -> anyhow::Result<Files> {
        let dir = ctx.work.join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(Files { dir })
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The NDJSON run: `read` to stdout with `config` on a fresh state; its records are written to
/// `expected`.
async fn ndjson_run(ctx: &Ctx<'_>, files: &Files, config: &Path) -> anyhow::Result<PathBuf> {
    let run = ctx
        .connector
        .read(config, &files.path("ndjson.state.json"), None, ctx.timeout)
        .await?;
    expect_ok("the NDJSON run", &run)?;
    let expected = files.path("expected.ndjson");
    std::fs::write(&expected, &run.stdout)?;
    Ok(expected)
}

/// A `read --lake` that must succeed and print no record on stdout (they go to the lake).
async fn lake_run(
    ctx: &Ctx<'_>,
    what: &str,
    config: &Path,
    state: &Path,
    lake: &Path,
) -> anyhow::Result<Run> {
    let run = ctx
        .connector
        .read(config, state, Some(lake), ctx.timeout)
        .await?;
    expect_ok(what, &run)?;
    ensure!(
        run.stdout.is_empty(),
        "{what}: read --lake printed {} bytes on stdout (records belong in the lake)",
        run.stdout.len()
    );
    Ok(run)
}

async fn synthetic(ctx: &Ctx<'_>) -> anyhow::Result<Vec<Outcome>> {
    let files = Files::new(ctx, "synthetic")?;
    let bucket = "sl-synthetic";
    ctx.moto.create_bucket(bucket).await?;
    let target = json!({
        "kind": "security_lake",
        "account_id": "external_E0F08CWTEAU",
        "location_template": format!("s3://{bucket}/ext/{{table}}/1.0/"),
    });
    let config = files.path("config.json");
    write_config(
        &config,
        &synthetic_settings(&synthetic_start(), "ocsf", 400.0, 31),
        &json!({}),
    )?;
    let lake = files.path("lake.json");
    write_lake(
        &lake,
        &target,
        &ctx.moto.endpoint(),
        &files.path("spool"),
        512 << 10,
    )?;
    let started = now_ms();
    let state = files.path("state.json");
    lake_run(ctx, "the first lake run", &config, &state, &lake).await?;
    lake_run(ctx, "the second lake run", &config, &state, &lake).await?;
    let expected = ndjson_run(ctx, &files, &config).await?;
    let summary = ctx
        .checker
        .check(&Plan {
            label: "security-lake-synthetic",
            target: &target,
            record_format: "ocsf",
            expected: &expected,
            complete_before_ms: Some(started - 3_600_000),
            validate: true,
            compare_ids: true,
        })
        .await?;
    eprintln!("lake: synthetic: {summary}");
    Ok(vec![(summary, "two runs, 512 KiB segments".into())])
}

/// Every entry of the recorded fixtures' pages, each id once.
fn fixture_entries() -> anyhow::Result<Vec<MockEntry>> {
    let root = crate::workspace_root().join("fixtures/slack-audit");
    let mut seen = std::collections::BTreeSet::new();
    let mut entries = Vec::new();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    cases.sort();
    for case in cases {
        let Ok(pages) = std::fs::read_dir(case.join("pages")) else {
            continue;
        };
        let mut pages: Vec<PathBuf> = pages.filter_map(|e| e.ok().map(|e| e.path())).collect();
        pages.sort();
        for page in pages {
            let Ok(text) = std::fs::read_to_string(&page) else {
                continue;
            };
            // Error pages, HTML and deliberately truncated bodies hold no entries.
            let Ok(value) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            for entry in value["entries"].as_array().into_iter().flatten() {
                // Deliberately broken entries (no integer `date_create`, …) are for the parser's
                // tests; the mock cannot serve them by time.
                let Ok(entry) = MockEntry::from_value(entry) else {
                    continue;
                };
                if seen.insert(entry.id.clone()) {
                    entries.push(entry);
                }
            }
        }
    }
    ensure!(
        entries.len() >= 20,
        "only {} entries in {}",
        entries.len(),
        root.display()
    );
    Ok(entries)
}

async fn replay(ctx: &Ctx<'_>) -> anyhow::Result<Vec<Outcome>> {
    let files = Files::new(ctx, "replay")?;
    let bucket = "sl-replay";
    ctx.moto.create_bucket(bucket).await?;
    let mock = MockSlack::start(MockConfig {
        token: Some(TOKEN.into()),
        ..MockConfig::default()
    })
    .await
    .context("cannot start the mock")?;
    let entries = fixture_entries()?;
    let oldest = entries.iter().map(|e| e.date_create).min().unwrap_or(0);
    let count = entries.len();
    mock.push_entries(entries);
    let target = json!({
        "kind": "security_lake",
        "account_id": "external",
        "location_template": format!("s3://{bucket}/ext/{{source_name}}/1.0/"),
    });
    let config = files.path("config.json");
    write_config(
        &config,
        &json!({
            "api_base_url": mock.base_url(),
            "backfill_start_time": chrono_like_rfc3339(oldest - 3600),
            "record_format": "ocsf",
            "ocsf_version": "1.3.0",
            "page_size": 7,
            "requests_per_minute": 600,
            "retry_base_delay_ms": 10,
        }),
        &json!({"user_oauth_token": TOKEN}),
    )?;
    let lake = files.path("lake.json");
    write_lake(
        &lake,
        &target,
        &ctx.moto.endpoint(),
        &files.path("spool"),
        64 << 20,
    )?;
    lake_run(
        ctx,
        "the replay lake run",
        &config,
        &files.path("state.json"),
        &lake,
    )
    .await?;
    let expected = ndjson_run(ctx, &files, &config).await?;
    let lines = std::fs::read(&expected)?
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    ensure!(
        lines == count,
        "the replay's NDJSON run printed {lines} records of the {count} entries served"
    );
    let summary = ctx
        .checker
        .check(&Plan {
            label: "security-lake-replay",
            target: &target,
            record_format: "ocsf",
            expected: &expected,
            complete_before_ms: None,
            validate: true,
            compare_ids: false,
        })
        .await?;
    eprintln!("lake: replay: {summary}");
    Ok(vec![(
        summary,
        format!("{count} fixture entries, {{source_name}} locations"),
    )])
}

async fn plain(ctx: &Ctx<'_>) -> anyhow::Result<Vec<Outcome>> {
    let start = synthetic_start();
    let mut out = Vec::new();
    for (name, format, object_format) in [
        ("ndjson-gz-ocsf", "ocsf", "ndjson_gz"),
        ("ndjson-gz-slack", "slack", "ndjson_gz"),
        ("parquet-ocsf", "ocsf", "parquet"),
    ] {
        let files = Files::new(ctx, &format!("plain-{name}"))?;
        // A bucket each: the check lists its whole bucket, so nothing else may be in it.
        let bucket = format!("plain-{name}");
        ctx.moto.create_bucket(&bucket).await?;
        let target = json!({
            "kind": "s3",
            "url": format!("s3://{bucket}/{name}/"),
            "format": object_format,
        });
        let config = files.path("config.json");
        write_config(
            &config,
            &synthetic_settings(&start, format, 300.0, 32),
            &json!({}),
        )?;
        let lake = files.path("lake.json");
        write_lake(
            &lake,
            &target,
            &ctx.moto.endpoint(),
            &files.path("spool"),
            256 << 10,
        )?;
        let started = now_ms();
        lake_run(ctx, name, &config, &files.path("state.json"), &lake).await?;
        let expected = ndjson_run(ctx, &files, &config).await?;
        let summary = ctx
            .checker
            .check(&Plan {
                label: &format!("s3-{name}"),
                target: &target,
                record_format: format,
                expected: &expected,
                complete_before_ms: Some(started - 3_600_000),
                validate: format == "ocsf",
                compare_ids: format == "ocsf",
            })
            .await?;
        eprintln!("lake: plain {name}: {summary}");
        out.push((summary, format!("{object_format}, record_format {format}")));
    }
    Ok(out)
}

/// splitmix64: the kill instants, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

async fn kills(ctx: &Ctx<'_>) -> anyhow::Result<Vec<Outcome>> {
    let files = Files::new(ctx, "kills")?;
    let bucket = "sl-kills";
    ctx.moto.create_bucket(bucket).await?;
    let target = json!({
        "kind": "security_lake",
        "account_id": "external",
        "location_template": format!("s3://{bucket}/ext/{{table}}/1.0/"),
    });
    let config = files.path("config.json");
    write_config(
        &config,
        // A backfill long enough that at least `kills` kills land on a running read on an idle
        // machine too (each killed run resumes and gets further: 1,500 an hour was done after
        // a handful of kills there).
        &synthetic_settings(&synthetic_start(), "ocsf", 15000.0, 33),
        &json!({}),
    )?;
    let lake = files.path("lake.json");
    write_lake(
        &lake,
        &target,
        &ctx.moto.endpoint(),
        &files.path("spool"),
        256 << 10,
    )?;
    let state = files.path("state.json");
    let seed = ctx.args.seed.unwrap_or_else(|| now_ms() as u64);
    eprintln!(
        "lake: kills: seed {seed} (rerun with --seed {seed}), delays up to {} ms",
        ctx.args.kill_max_delay_ms
    );
    let mut rng = Rng(seed);
    let started = now_ms();
    let (mut killed, mut finished, mut attempts) = (0usize, 0usize, 0usize);
    while killed < ctx.args.kills {
        attempts += 1;
        if attempts > ctx.args.kills * 4 {
            bail!("only {killed} of {attempts} runs were still running when their kill was due");
        }
        let delay = Duration::from_millis(rng.next() % ctx.args.kill_max_delay_ms.max(1));
        let run = ctx
            .connector
            .read_killed_after(&config, &state, &lake, delay, ctx.timeout)
            .await?;
        match (run.code, run.signal) {
            (None, Some(9)) => killed += 1,
            (Some(0), _) => finished += 1,
            _ => bail!(
                "a run of the kill scenario ended with {:?} (signal {:?}) before its kill; its log:\n{}",
                run.code,
                run.signal,
                tail(&run.stderr)
            ),
        }
    }
    lake_run(ctx, "the run after the kills", &config, &state, &lake).await?;
    let expected = ndjson_run(ctx, &files, &config).await?;
    let summary = ctx
        .checker
        .check(&Plan {
            label: "kills",
            target: &target,
            record_format: "ocsf",
            expected: &expected,
            complete_before_ms: Some(started - 3_600_000),
            validate: false,
            compare_ids: true,
        })
        .await?;
    eprintln!("lake: kills: {killed} SIGKILLs, {finished} runs ended first; {summary}");
    Ok(vec![(
        summary,
        format!(
            "{killed} SIGKILLs at random instants (seed {seed}), {finished} runs ended before theirs"
        ),
    )])
}

async fn faults(ctx: &Ctx<'_>) -> anyhow::Result<Vec<Outcome>> {
    let files = Files::new(ctx, "faults")?;
    let bucket = "sl-faults";
    ctx.moto.create_bucket(bucket).await?;
    let proxy = FaultProxy::start(
        ctx.python,
        ctx.moto.port(),
        &files.path("proxy.json"),
        &files.path("proxy.log"),
    )
    .await?;
    let target = json!({
        "kind": "security_lake",
        "account_id": "external",
        "location_template": format!("s3://{bucket}/ext/{{table}}/1.0/"),
    });
    let config = files.path("config.json");
    write_config(
        &config,
        &synthetic_settings(&synthetic_start(), "ocsf", 300.0, 34),
        &json!({}),
    )?;
    let lake = files.path("lake.json");
    write_lake(
        &lake,
        &target,
        &proxy.endpoint(),
        &files.path("spool"),
        256 << 10,
    )?;
    let state = files.path("state.json");
    let started = now_ms();

    // A refused credential: exit 3, a message saying so, and no silent retry loop.
    proxy.steer(&json!({"deny": true}))?;
    let denied = ctx
        .connector
        .read(&config, &state, Some(&lake), ctx.timeout)
        .await?;
    ensure!(
        denied.code == Some(3),
        "with every write refused (403 AccessDenied), read --lake ended with {:?}, not 3 (auth); its log:\n{}",
        denied.code,
        tail(&denied.stderr)
    );
    let said = denied.stderr.to_lowercase();
    ensure!(
        said.contains("403") || said.contains("accessdenied") || said.contains("denied"),
        "the 403 run's log does not say the write was refused:\n{}",
        tail(&denied.stderr)
    );
    let refused = proxy.faults()?.len();
    ensure!(
        (1..=3).contains(&refused),
        "a refused credential took {refused} writes before the read stopped (want it to stop at the first)"
    );
    let message = denied
        .stderr
        .lines()
        .rev()
        .find(|l| l.to_lowercase().contains("denied") || l.contains("403"))
        .unwrap_or_default()
        .to_owned();

    // 5xx, throttling, stalls and dropped connections: retried, every record once.
    let schedule = [
        "500", "503", "stall", "ok", "reset", "500", "503", "ok", "stall", "503", "500", "reset",
    ];
    proxy.steer(&json!({
        "deny": false,
        "schedule": std::iter::repeat_n("ok", refused).chain(schedule).collect::<Vec<_>>(),
        "stall_seconds": 3,
    }))?;
    lake_run(ctx, "the run through the faults", &config, &state, &lake).await?;
    let injected = proxy.faults()?;
    for fault in ["500", "503", "stall", "reset"] {
        let want = schedule.iter().filter(|f| **f == fault).count();
        let got = injected
            .iter()
            .skip(refused)
            .filter(|f| *f == fault)
            .count();
        ensure!(
            got == want,
            "the proxy injected {got} of {want} '{fault}' faults (the run made {} writes)",
            injected.len() - refused
        );
    }
    let expected = ndjson_run(ctx, &files, &config).await?;
    let summary = ctx
        .checker
        .check(&Plan {
            label: "s3-faults",
            target: &target,
            record_format: "ocsf",
            expected: &expected,
            complete_before_ms: Some(started - 3_600_000),
            validate: false,
            compare_ids: true,
        })
        .await?;
    eprintln!("lake: faults: 403 → exit 3 ({message}); {summary}");
    Ok(vec![(
        summary,
        format!(
            "403 → exit 3 after {refused} write(s); then {} writes with 3×500, 3×503 SlowDown, 2 stalls of 3 s, 2 dropped connections",
            injected.len() - refused
        ),
    )])
}
