//! `cargo xtask fuzz`: every `cargo fuzz` target of `fuzz/`, for a fixed time each.
//!
//! 1. Installs `cargo-fuzz` (pinned) with `cargo install --locked` when `cargo fuzz` is missing;
//!    needs the nightly toolchain (`rustup toolchain install nightly`).
//! 2. Builds every target once (`cargo +nightly fuzz build`, optimised, debug assertions and
//!    overflow checks on, no sanitizer: the crates forbid `unsafe`, so what a fuzzer can find
//!    here is a panic, an overflow or a hang, and without ASan each run is several times
//!    faster), into `<target>/fuzz`.
//! 3. Seeds each target's corpus (`<target>/fuzz/corpus/<name>`) from the repository's own
//!    inputs (the recorded Slack pages of `fixtures/`, the example and bad configs, and
//!    `fuzz/seeds/<name>/`), then runs the targets `--jobs` at a time for `--seconds` each
//!    (libFuzzer's `-max_total_time`; a single input taking over `--timeout` seconds is a
//!    finding too).
//! 4. Prints, per target, the runs, the corpus size and what it found; writes the same table
//!    to `<target>/fuzz/summary.md`. A crash leaves its input in `fuzz/artifacts/<name>/` and
//!    fails the task: make it a regression test, fix it, delete the artifact.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

/// The version of cargo-fuzz installed when missing.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Every target of `fuzz/Cargo.toml`, with the folders (relative to the repository) and files
/// that seed its corpus.
pub const TARGETS: &[(&str, &[&str])] = &[
    ("page", &["fixtures/slack-audit/*/pages"]),
    (
        "config",
        &["examples", "crates/slack-audit/tests/configs/bad"],
    ),
    ("state", &["fuzz/seeds/state"]),
    ("airbyte_catalog", &["fuzz/seeds/airbyte_catalog"]),
    (
        "airbyte_state",
        &["fuzz/seeds/airbyte_state", "fuzz/seeds/state"],
    ),
    ("ocsf", &["fuzz/seeds/ocsf"]),
    ("retry_after", &["fuzz/seeds/retry_after"]),
];

/// Arguments of `cargo xtask fuzz`.
#[derive(Debug, Clone, clap::Args)]
pub struct FuzzArgs {
    /// Seconds each target runs.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Targets run at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Only these targets (repeatable; default: all).
    #[arg(long = "target")]
    pub targets: Vec<String>,
    /// An input running longer than this many seconds is reported as a hang.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Build the targets and seed the corpora, without running them.
    #[arg(long)]
    pub build_only: bool,
}

/// What one target's run gave.
struct Outcome {
    name: String,
    runs: Option<u64>,
    corpus: usize,
    wall: Duration,
    finding: Option<String>,
}

/// Runs the task.
pub fn run(args: &FuzzArgs) -> anyhow::Result<()> {
    let root = crate::workspace_root();
    let out = crate::target_dir().join("fuzz");
    ensure_cargo_fuzz()?;
    let selected: Vec<&str> = TARGETS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| args.targets.is_empty() || args.targets.iter().any(|t| t == name))
        .collect();
    for wanted in &args.targets {
        ensure!(
            TARGETS.iter().any(|(name, _)| name == wanted),
            "no fuzz target {wanted:?}; the targets are {:?}",
            TARGETS.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
    }
    build(&root, &out)?;
    let binaries = out.join("x86_64-unknown-linux-gnu/release");
    for name in &selected {
        seed(&root, &out.join("corpus").join(name), name)?;
    }
    if args.build_only {
        eprintln!("xtask: fuzz targets built in {}", binaries.display());
        return Ok(());
    }
    let mut outcomes = Vec::new();
    for chunk in selected.chunks(args.jobs.max(1)) {
        let handles: Vec<_> = chunk
            .iter()
            .map(|name| {
                let binary = binaries.join(name);
                let corpus = out.join("corpus").join(name);
                let artifacts = root.join("fuzz/artifacts").join(name);
                let log = out.join("logs").join(format!("{name}.log"));
                let (seconds, timeout) = (args.seconds, args.timeout);
                let name = (*name).to_owned();
                std::thread::spawn(move || {
                    run_one(&name, &binary, &corpus, &artifacts, &log, seconds, timeout)
                })
            })
            .collect();
        for handle in handles {
            let outcome = handle
                .join()
                .map_err(|_| anyhow::anyhow!("a fuzz thread panicked"))??;
            outcomes.push(outcome);
        }
    }
    let summary = summarize(&outcomes, args.seconds);
    print!("{summary}");
    std::fs::write(out.join("summary.md"), &summary)?;
    let found: Vec<&Outcome> = outcomes.iter().filter(|o| o.finding.is_some()).collect();
    if !found.is_empty() {
        bail!(
            "{} target(s) found a crash or hang (inputs in fuzz/artifacts/; logs in {}): make each a regression test",
            found.len(),
            out.join("logs").display()
        );
    }
    Ok(())
}

fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    let found = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Ok(());
    }
    eprintln!("xtask: installing cargo-fuzz {CARGO_FUZZ_VERSION} (cargo install --locked)…");
    let status = Command::new("cargo")
        .args([
            "install",
            "--locked",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
        ])
        .status()
        .context("cannot run cargo install")?;
    ensure!(
        status.success(),
        "cargo install cargo-fuzz failed ({status})"
    );
    Ok(())
}

fn build(root: &Path, out: &Path) -> anyhow::Result<()> {
    eprintln!("xtask: building the fuzz targets (cargo +nightly fuzz build)…");
    let mut command = Command::new("cargo");
    crate::without_xtask_package_env(&mut command);
    // rustup picks the toolchain from `+nightly`; the outer cargo's choice must not leak in.
    command.env_remove("RUSTUP_TOOLCHAIN").env_remove("CARGO");
    let status = command
        .current_dir(root)
        .args([
            "+nightly",
            "fuzz",
            "build",
            "--sanitizer",
            "none",
            "--debug-assertions",
        ])
        .arg("--target-dir")
        .arg(out)
        .status()
        .context("cannot run cargo +nightly fuzz build (is the nightly toolchain installed?)")?;
    ensure!(
        status.success(),
        "cargo +nightly fuzz build failed ({status})"
    );
    Ok(())
}

/// Copies the seed inputs of `name` into its corpus folder (existing entries are kept: the
/// corpus grows from run to run).
fn seed(root: &Path, corpus: &Path, name: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(corpus)?;
    let sources = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(&[][..], |(_, s)| *s);
    let mut folders = Vec::new();
    for source in sources {
        match source.split_once("/*/") {
            Some((parent, child)) => {
                for entry in std::fs::read_dir(root.join(parent))? {
                    folders.push(entry?.path().join(child));
                }
            }
            None => folders.push(root.join(source)),
        }
    }
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_file() {
                let stem = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('/', "_");
                std::fs::copy(&path, corpus.join(format!("seed_{stem}")))?;
            }
        }
    }
    // The OCSF writer's seeds are the entries of the recorded pages, one per file.
    if name == "ocsf" {
        for pages in std::fs::read_dir(root.join("fixtures/slack-audit"))? {
            let Ok(files) = std::fs::read_dir(pages?.path().join("pages")) else {
                continue;
            };
            for file in files {
                let path = file?.path();
                let Ok(page) = slack_audit::page::Page::parse(std::fs::read(&path)?) else {
                    continue;
                };
                for (i, entry) in page.entries().iter().enumerate() {
                    let stem = path.to_string_lossy().replace('/', "_");
                    std::fs::write(corpus.join(format!("seed{stem}_{i}")), page.raw(entry))?;
                }
            }
        }
    }
    Ok(())
}

fn run_one(
    name: &str,
    binary: &Path,
    corpus: &Path,
    artifacts: &Path,
    log: &Path,
    seconds: u64,
    timeout: u64,
) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(artifacts)?;
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    eprintln!(
        "xtask: fuzzing {name} for {seconds} s (log: {})…",
        log.display()
    );
    let started = Instant::now();
    let log_file = std::fs::File::create(log)?;
    let status = Command::new(binary)
        .arg(corpus)
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={timeout}"))
        .arg("-rss_limit_mb=2048")
        .arg("-max_len=65536")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .stdout(Stdio::null())
        .stderr(log_file)
        .status()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let wall = started.elapsed();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let runs = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok());
    let finding = (!status.success()).then(|| {
        text.lines()
            .rev()
            .find(|l| l.contains("Test unit written to") || l.contains("ERROR: libFuzzer"))
            .unwrap_or("the fuzzer exited with an error")
            .to_owned()
    });
    let corpus = std::fs::read_dir(corpus).map_or(0, |d| d.count());
    Ok(Outcome {
        name: name.to_owned(),
        runs,
        corpus,
        wall,
        finding,
    })
}

fn summarize(outcomes: &[Outcome], seconds: u64) -> String {
    let mut text = "| target | seconds asked | wall | runs | runs/s | corpus | found |\n|---|---:|---:|---:|---:|---:|---|\n".to_owned();
    for o in outcomes {
        let runs = o.runs.map_or_else(|| "?".to_owned(), |r| r.to_string());
        let rate = o.runs.map_or_else(
            || "?".to_owned(),
            |r| format!("{:.0}", r as f64 / o.wall.as_secs_f64().max(1e-3)),
        );
        let _ = writeln!(
            text,
            "| `{}` | {seconds} | {:.0} s | {runs} | {rate} | {} | {} |",
            o.name,
            o.wall.as_secs_f64(),
            o.corpus,
            o.finding.as_deref().unwrap_or("nothing")
        );
    }
    text
}
