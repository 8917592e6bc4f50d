//! `cargo xtask mutants [--group G]… [--list]`: mutation testing of the checkpoint path.
//!
//! # Why
//!
//! The exactly-once promise rests on a few files: `connector-sdk`'s `runtime/state_file.rs` and
//! `contract/state_rules.rs` (atomic commits, refused loads) and `runtime/host.rs` (commit only
//! after delivery), `slack-audit`'s `collect/state.rs` (the window, its position and the
//! watermark; what a loaded state must pass), `collect/engine.rs` (how pages move them) and
//! `page.rs` (what a body says). A test suite that
//! stays green when one of their operators is flipped does not guard them. This task runs
//! [cargo-mutants] over exactly those files, one group per concern, each with the narrow set of
//! tests that exercises it, so that the whole run fits in about an hour on a 2-core machine (about 40 minutes measured)
//! (TESTING.md has the figures and the scope).
//!
//! # How
//!
//! - cargo-mutants is pinned ([`MUTANTS_VERSION`]) and installed with `cargo install --locked`
//!   when missing; cargo-nextest runs the tests (its filter expressions pick tests across
//!   binaries).
//! - Each group builds only the test targets it runs (`--lib`, `--test it`, …), so a mutant
//!   costs one incremental build of the mutated crate and a few seconds of tests.
//! - The mutants' builds share one target directory, `<target>/mutants/build`, so dependencies
//!   are compiled once across groups and runs; each group's report is in
//!   `<target>/mutants/<group>/mutants.out/` and the summary in `<target>/mutants/summary.txt`.
//! - A missed mutant is acceptable only when TESTING.md's table of equivalent mutants says why
//!   no test can tell it apart; the task fails on any other, and lists table rows that no
//!   longer match a missed mutant (stale justifications).
//!
//! [cargo-mutants]: https://mutants.rs/

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The cargo-mutants release whose mutants and figures TESTING.md describes.
pub const MUTANTS_VERSION: &str = "27.1.0";
/// Installed when `cargo nextest` is missing.
const NEXTEST_VERSION: &str = "0.9.143";

/// Arguments of `cargo xtask mutants`.
#[derive(Debug, clap::Args)]
pub struct MutantsArgs {
    /// Run only these groups (repeatable): page, state, host, sync, output, lake-scan. Default:
    /// all.
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,
    /// List each group's mutants instead of testing them.
    #[arg(long)]
    pub list: bool,
    /// Mutants built and tested in parallel (each in its own copy of the tree). Past 1, each copy
    /// builds in its own target directory, from cold: one shared directory let one job's test
    /// run the binary the other job had just built, and mutants were judged by the wrong code.
    #[arg(long, default_value_t = 1)]
    pub jobs: u32,
    /// Only the mutants on lines changed since this git revision (cargo-mutants `--in-diff`):
    /// the run after a change, when the whole group ran before it.
    #[arg(long, value_name = "REV")]
    pub since: Option<String>,
}

/// One cargo-mutants invocation: the files it mutates and the tests that judge them.
#[derive(Debug)]
pub struct Group {
    /// Name on the command line and in the report.
    pub name: &'static str,
    /// Files mutated, relative to the workspace root.
    pub files: &'static [&'static str],
    /// Packages whose tests run (beside the mutated file's own).
    pub test_packages: &'static [&'static str],
    /// Test targets built, as cargo arguments (`--lib`, `--test=it`): nothing else is rebuilt
    /// per mutant.
    pub targets: &'static [&'static str],
    /// Which tests of those targets run: a nextest filter expression.
    pub filter: &'static str,
    /// Mutants not run, by regular expression over their names, each with the reason.
    pub exclusions: &'static [Exclusion],
    /// Seconds a mutant's tests may take before it counts as a timeout (a hang it caused).
    pub test_timeout: u32,
}

/// Mutants left out of a group on purpose.
#[derive(Debug)]
pub struct Exclusion {
    /// Regular expression over the mutant's name (as `cargo mutants --list` shows it).
    pub re: &'static str,
    /// Why running them would prove nothing (repeated in TESTING.md).
    pub why: &'static str,
}

/// The scoped run: the checkpoint path, file by file.
pub const GROUPS: &[Group] = &[
    Group {
        name: "page",
        files: &["crates/slack-audit/src/page.rs"],
        test_packages: &[],
        targets: &["--lib", "--test=it"],
        // The page's own tests and the sync's (ids and dates as the engine reads them), the
        // proptests of hostile bodies, the sync tests through the HTTP source, and the filter
        // tests (the action each entry is filtered by is read from the page).
        filter: "kind(lib) | (binary(it) & test(/^(hostile|sync|filters)::/))",
        exclusions: &[],
        test_timeout: 25,
    },
    Group {
        name: "state",
        files: &[
            "crates/connector-sdk/src/runtime/state_file.rs",
            "crates/connector-sdk/src/contract/state_rules.rs",
        ],
        test_packages: &["connector-sdk", "slack-audit"],
        targets: &["--lib", "--test=host", "--test=sdk", "--test=it"],
        // The SDK's tests, and the binary's tests that load, refuse, probe or resume from a
        // state file (native and Airbyte).
        filter: "package(connector-sdk) | (binary(it) & test(/^(cli::unusable_state|cli::an_unwritable_state_directory|cli::a_state_directory_others|hostile::arbitrary_state|status::|kills::a_kill_between|airbyte::(the_state_forms|resuming_from_the_last_state))/))",
        exclusions: &[],
        test_timeout: 60,
    },
    Group {
        name: "host",
        files: &[
            "crates/connector-sdk/src/runtime/host.rs",
            "crates/connector-sdk/src/runtime/checkpoint.rs",
        ],
        test_packages: &["connector-sdk", "slack-audit"],
        targets: &["--lib", "--test=host", "--test=sdk", "--test=it"],
        // The SDK's tests, and the binary's tests of exit codes, follow mode, signals, kills,
        // a run that read nothing, and the Airbyte front end's checkpoints.
        filter: "package(connector-sdk) | (binary(it) & test(/^(errors::(persistent_failures|a_200_with|check_reports)|cli::follow_mode|kills::|lifecycle::(sig|a_second_signal)|sync::first_run|airbyte::(read_writes|a_host_resuming))/))",
        exclusions: &[],
        test_timeout: 90,
    },
    Group {
        name: "sync",
        // The sync's state and its engine, and the query the state remembers and holds a run's
        // settings against (`query.rs`: its saved shape and `compare`, which `adopt_query`
        // acts on; once `SyncPlan::saved_query` in the engine). `collect/observe.rs` holds no
        // checkpoint logic: the observer interface, its value types and the pair that forwards
        // to two listeners.
        files: &[
            "crates/slack-audit/src/collect/state.rs",
            "crates/slack-audit/src/collect/engine.rs",
            "crates/slack-audit/src/query.rs",
        ],
        test_packages: &[],
        targets: &["--lib", "--test=it", "--test=upstream"],
        // The engine's unit tests, the sync, error, kill and lifecycle tests through the
        // mock, and the hostile-upstream tests about the checkpoint (not the memory caps).
        filter: "kind(lib) | (binary(it) & test(/^(sync|errors|kills|lifecycle|settings_change)::/)) | (binary(upstream) & test(/^(an_entry_dated|a_state_in_the_future|a_loop_that|a_cursor_that_never|a_run_that_read_nothing)/))",
        exclusions: &[],
        test_timeout: 90,
    },
    Group {
        name: "output",
        // The `--output` file: its lock (one collector per output), the refusal of the state,
        // its lock or the config as the output, private creation without following a symlink,
        // the torn-tail cut, and the reopen after a rotation.
        files: &["crates/connector-sdk/src/runtime/output_file.rs"],
        test_packages: &[],
        // Its own unit tests hold every case (the binary's `file_output::` tests run the same
        // code through the CLI, 30 s a mutant more for no case the unit tests lack).
        targets: &["--lib"],
        filter: "test(/^runtime::output_file::/)",
        exclusions: &[],
        test_timeout: 30,
    },
    Group {
        name: "lake-scan",
        // The lake encoder's fast path: the scan that appends a record's values straight to
        // Arrow columns, and the columns themselves. A wrong value here is a record changed on
        // its way into the lake; serde's row (`row_shape.rs`) is the reference the tests hold
        // it to.
        files: &[
            "crates/connector-sdk/src/runtime/lake/row_shape/scan.rs",
            "crates/connector-sdk/src/runtime/lake/row_shape/columns.rs",
        ],
        test_packages: &[],
        // The row shape's and the Parquet encoder's unit tests (equivalence with serde's row,
        // rollback of a refused record, round trips through Parquet).
        targets: &["--lib"],
        filter: "test(/^runtime::lake::(row_shape|parquet)::/)",
        exclusions: &[],
        test_timeout: 30,
    },
];

/// Runs the task.
pub fn run(args: &MutantsArgs) -> anyhow::Result<()> {
    let root = crate::workspace_root();
    let groups = selected(&args.groups)?;
    ensure_tools(&root)?;
    let out = crate::target_dir().join("mutants");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    if args.list {
        for group in &groups {
            let status = mutants_command(&root, &out, group, args.jobs, &["--list"])
                .status()
                .context("cannot run cargo mutants")?;
            if !status.success() {
                bail!(
                    "cargo mutants --list failed for group {} ({status})",
                    group.name
                );
            }
        }
        return Ok(());
    }
    let mut results = Vec::new();
    for group in &groups {
        eprintln!(
            "mutants: group {}: {} (tests: {})",
            group.name,
            group.files.join(", "),
            group.filter
        );
        let started = Instant::now();
        if !group.test_packages.is_empty() {
            baseline(&root, &out, group)?;
        }
        let in_diff = match &args.since {
            Some(rev) => match changes_since(&root, &out, group, rev)? {
                Some(diff) => Some(diff),
                None => {
                    eprintln!(
                        "mutants: group {}: no change since {rev}; skipped",
                        group.name
                    );
                    continue;
                }
            },
            None => None,
        };
        let in_diff_arg = in_diff
            .as_ref()
            .map(|p| format!("--in-diff={}", p.display()));
        let extra: Vec<&str> = in_diff_arg.iter().map(String::as_str).collect();
        let status = mutants_command(&root, &out, group, args.jobs, &extra)
            .status()
            .context("cannot run cargo mutants")?;
        let wall = started.elapsed();
        // cargo-mutants exits 2 for missed mutants and 3 for timeouts: judged below, from its
        // report. Anything else (1: usage, 4: the unmutated tree fails its tests) is an error.
        if !matches!(status.code(), Some(0 | 2 | 3)) {
            bail!(
                "cargo mutants failed for group {} ({status}); see {}",
                group.name,
                out.join(group.name).join("mutants.out").display()
            );
        }
        results.push(read_result(group, &out.join(group.name), wall)?);
    }
    let justified = equivalents(&root.join("TESTING.md"))?;
    let report = summarize(&results, &justified, groups.len() == GROUPS.len());
    print!("{}", report.text);
    std::fs::write(out.join("summary.txt"), &report.text)
        .with_context(|| format!("cannot write {}", out.join("summary.txt").display()))?;
    if !report.unexplained.is_empty() {
        bail!(
            "{} missed mutant(s) are neither killed by a test nor justified in TESTING.md",
            report.unexplained.len()
        );
    }
    Ok(())
}

/// Writes the diff of `group`'s files since `rev` for `--in-diff` and returns its path; `None`
/// when they did not change.
fn changes_since(
    root: &Path,
    out: &Path,
    group: &Group,
    rev: &str,
) -> anyhow::Result<Option<PathBuf>> {
    let diff = Command::new("git")
        .current_dir(root)
        .args(["diff", "--no-color", "--no-ext-diff", "-M", rev, "--"])
        .args(group.files)
        .output()
        .context("cannot run git diff")?;
    if !diff.status.success() {
        bail!(
            "git diff {rev} failed: {}",
            String::from_utf8_lossy(&diff.stderr).trim()
        );
    }
    if diff.stdout.is_empty() {
        return Ok(None);
    }
    let path = out.join(format!("{}.since.diff", group.name));
    std::fs::write(&path, &diff.stdout)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Some(path))
}

fn selected(names: &[String]) -> anyhow::Result<Vec<&'static Group>> {
    if names.is_empty() {
        return Ok(GROUPS.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            GROUPS.iter().find(|g| g.name == name).with_context(|| {
                let known: Vec<_> = GROUPS.iter().map(|g| g.name).collect();
                format!("no group {name:?}; groups: {}", known.join(", "))
            })
        })
        .collect()
}

/// Installs the pinned cargo-mutants, and cargo-nextest, when missing.
fn ensure_tools(root: &Path) -> anyhow::Result<()> {
    let version = Command::new(cargo())
        .args(["mutants", "--version"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if version.as_deref() != Some(&format!("cargo-mutants {MUTANTS_VERSION}")) {
        eprintln!(
            "mutants: installing cargo-mutants {MUTANTS_VERSION} (found: {})",
            version.as_deref().unwrap_or("none")
        );
        install(root, &format!("cargo-mutants@{MUTANTS_VERSION}"))?;
    }
    let nextest = Command::new(cargo())
        .args(["nextest", "--version"])
        .current_dir(root)
        .output()
        .is_ok_and(|o| o.status.success());
    if !nextest {
        eprintln!("mutants: installing cargo-nextest {NEXTEST_VERSION}");
        install(root, &format!("cargo-nextest@{NEXTEST_VERSION}"))?;
    }
    Ok(())
}

fn install(root: &Path, spec: &str) -> anyhow::Result<()> {
    let status = Command::new(cargo())
        .args(["install", "--locked", spec])
        .current_dir(root)
        // Built in cargo's own temporary directory, not in the workspace's target.
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .context("cannot run cargo install")?;
    if !status.success() {
        bail!("cargo install --locked {spec} failed ({status})");
    }
    Ok(())
}

/// Runs `group`'s tests on the unmutated tree, for a group whose tests are in other packages
/// than the mutated one: cargo-mutants' own baseline builds and tests only the mutated
/// package, where the other packages' test targets do not exist, so it is skipped for them
/// (see [`mutants_command`]). Without a green baseline every mutant would look caught.
///
/// The build directory is shared with cargo-mutants' copies of the tree, and cargo records the
/// workspace's sources relative to each package: an artifact built from the last mutant's copy
/// looks up to date for this tree's older files. So the workspace's own packages are cleaned
/// first and built from this tree (the next copy, newer, is rebuilt in turn).
fn baseline(root: &Path, out: &Path, group: &Group) -> anyhow::Result<()> {
    eprintln!("mutants: group {}: the unmutated tree's tests", group.name);
    let mut clean = Command::new(cargo());
    crate::without_xtask_package_env(&mut clean);
    clean
        .current_dir(root)
        .env("CARGO_TARGET_DIR", out.join("build"))
        .args(["clean", "--quiet"]);
    for package in workspace_packages(root)? {
        clean.arg(format!("--package={package}"));
    }
    let status = clean.status().context("cannot run cargo clean")?;
    if !status.success() {
        bail!("cargo clean of the workspace's packages failed ({status})");
    }
    let mut cmd = Command::new(cargo());
    crate::without_xtask_package_env(&mut cmd);
    cmd.current_dir(root)
        .env("CARGO_TARGET_DIR", out.join("build"))
        .env("INSTA_UPDATE", "no")
        .env("INSTA_FORCE_PASS", "0")
        .args(["nextest", "run", "--no-fail-fast"]);
    for package in group.test_packages {
        cmd.arg(format!("--package={package}"));
    }
    cmd.args(group.targets).args(["-E", group.filter]);
    let status = cmd.status().context("cannot run cargo nextest")?;
    if !status.success() {
        bail!(
            "the unmutated tree fails group {}'s tests ({status}): fix them before testing mutants",
            group.name
        );
    }
    Ok(())
}

/// The names of the workspace's packages.
fn workspace_packages(root: &Path) -> anyhow::Result<Vec<String>> {
    let output = Command::new(cargo())
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version=1"])
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed ({})", output.status);
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata printed no JSON")?;
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata listed no packages")?;
    Ok(packages
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect())
}

/// The cargo-mutants command line of `group`, with `extra` options of cargo-mutants.
fn mutants_command(root: &Path, out: &Path, group: &Group, jobs: u32, extra: &[&str]) -> Command {
    let mut cmd = Command::new(cargo());
    crate::without_xtask_package_env(&mut cmd);
    cmd.current_dir(root);
    if jobs <= 1 {
        // One build directory for every mutant, so each rebuilds only what it changed.
        cmd.env("CARGO_TARGET_DIR", out.join("build"));
    } else {
        // Each of cargo-mutants' copies then builds in its own `target/`.
        cmd.env_remove("CARGO_TARGET_DIR");
    }
    cmd
        // Snapshots are checked, never rewritten (cargo-mutants sets these too).
        .env("INSTA_UPDATE", "no")
        .env("INSTA_FORCE_PASS", "0")
        .args([
            "mutants",
            "--no-config",
            "--test-tool=nextest",
            "--colors=never",
        ])
        .arg(format!("--jobs={jobs}"))
        .arg(format!("--timeout={}", group.test_timeout))
        .arg(format!("--output={}", out.join(group.name).display()));
    for file in group.files {
        cmd.arg(format!("--file={file}"));
    }
    for package in group.test_packages {
        cmd.arg(format!("--test-package={package}"));
    }
    if !group.test_packages.is_empty() {
        // Checked by `baseline` instead.
        cmd.arg("--baseline=skip");
    }
    for exclusion in group.exclusions {
        cmd.arg(format!("--exclude-re={}", exclusion.re));
    }
    for target in group.targets {
        // For the build and the test phase alike, so nothing but these targets is built.
        cmd.arg(format!("--cargo-arg={target}"));
    }
    cmd.args(extra);
    // The rest goes to `cargo nextest run` in the test phase.
    cmd.args(["--", "-E", group.filter]);
    cmd
}

/// What one group's run found.
#[derive(Debug)]
struct GroupResult {
    name: &'static str,
    mutants: u64,
    caught: u64,
    missed: Vec<String>,
    unviable: u64,
    timeouts: u64,
    wall: Duration,
}

fn read_result(group: &Group, dir: &Path, wall: Duration) -> anyhow::Result<GroupResult> {
    let report = dir.join("mutants.out");
    let outcomes = report.join("outcomes.json");
    let text = std::fs::read_to_string(&outcomes)
        .with_context(|| format!("cannot read {}", outcomes.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", outcomes.display()))?;
    let count = |key: &str| {
        json[key]
            .as_u64()
            .with_context(|| format!("{} has no count {key:?}", outcomes.display()))
    };
    let missed_txt = report.join("missed.txt");
    let missed: Vec<String> = std::fs::read_to_string(&missed_txt)
        .with_context(|| format!("cannot read {}", missed_txt.display()))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let result = GroupResult {
        name: group.name,
        mutants: count("total_mutants")?,
        caught: count("caught")?,
        missed,
        unviable: count("unviable")?,
        timeouts: count("timeout")?,
        wall,
    };
    if result.missed.len() as u64 != count("missed")? {
        bail!(
            "{} and {} disagree on the missed mutants",
            outcomes.display(),
            missed_txt.display()
        );
    }
    Ok(result)
}

/// A mutant's name without its line and column (`file:12:5: replace …` → `file: replace …`),
/// which is how TESTING.md's table names it: it survives edits elsewhere in the file.
pub fn without_position(name: &str) -> String {
    let Some((file, rest)) = name.split_once(':') else {
        return name.to_owned();
    };
    let mut rest = rest;
    for _ in 0..2 {
        match rest.split_once(':') {
            Some((n, tail)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                rest = tail;
            }
            _ => break,
        }
    }
    format!("{file}:{rest}")
}

/// The mutants TESTING.md justifies as equivalent: the rows of the table between its
/// `equivalent-mutants` markers, `| file | mutation | why |`, as `file: mutation`.
pub fn equivalents(testing_md: &Path) -> anyhow::Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(testing_md)
        .with_context(|| format!("cannot read {}", testing_md.display()))?;
    parse_equivalents(&text).with_context(|| format!("in {}", testing_md.display()))
}

/// See [`equivalents`].
pub fn parse_equivalents(text: &str) -> anyhow::Result<BTreeSet<String>> {
    const START: &str = "<!-- equivalent-mutants:start -->";
    const END: &str = "<!-- equivalent-mutants:end -->";
    let (_, after) = text
        .split_once(START)
        .with_context(|| format!("no {START} marker"))?;
    let (table, _) = after
        .split_once(END)
        .with_context(|| format!("no {END} marker"))?;
    let mut rows = BTreeSet::new();
    for line in table.lines().map(str::trim).filter(|l| l.starts_with('|')) {
        // A `|` inside a cell is written `\|`, as Markdown tables want it.
        let escaped = line.replace("\\|", "\u{1}");
        let cells: Vec<String> = escaped
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().replace('\u{1}', "|"))
            .collect();
        let [file, mutation, why] = [0, 1, 2].map(|i| cells.get(i).map_or("", String::as_str));
        if cells.len() != 3 {
            bail!("a row of the equivalent-mutants table has not 3 cells: {line}");
        }
        if file == "file" || file.starts_with("---") {
            continue;
        }
        let unquote = |s: &str| s.trim_matches('`').to_owned();
        if why.is_empty() {
            bail!("equivalent mutant without a reason: {line}");
        }
        rows.insert(format!("{}: {}", unquote(file), unquote(mutation)));
    }
    Ok(rows)
}

struct Report {
    text: String,
    unexplained: Vec<String>,
}

fn summarize(results: &[GroupResult], justified: &BTreeSet<String>, all_groups: bool) -> Report {
    let mut text = String::from("\n");
    let mut unexplained = Vec::new();
    let mut matched = BTreeSet::new();
    let mut total = Row {
        name: "all",
        ..Row::default()
    };
    text.push_str(Row::HEADER);
    for r in results {
        let mut row = Row {
            name: r.name,
            mutants: r.mutants,
            caught: r.caught,
            missed: r.missed.len() as u64,
            unviable: r.unviable,
            timeouts: r.timeouts,
            wall: r.wall,
            unjustified: 0,
        };
        for name in &r.missed {
            let key = without_position(name);
            if justified.contains(&key) {
                matched.insert(key);
            } else {
                row.unjustified += 1;
                unexplained.push(name.clone());
            }
        }
        text.push_str(&row.line());
        total.add(&row);
    }
    text.push_str(&total.line());
    if !unexplained.is_empty() {
        text.push_str("\nMissed, neither killed by a test nor justified in TESTING.md:\n");
        for name in &unexplained {
            let _ = writeln!(text, "  {name}");
        }
    }
    if all_groups {
        let stale: Vec<_> = justified.difference(&matched).collect();
        if !stale.is_empty() {
            text.push_str(
                "\nTESTING.md justifies mutants this run did not miss (stale rows: remove them):\n",
            );
            for name in stale {
                let _ = writeln!(text, "  {name}");
            }
        }
    }
    Report { text, unexplained }
}

/// One line of the summary.
#[derive(Debug, Default)]
struct Row {
    name: &'static str,
    mutants: u64,
    caught: u64,
    missed: u64,
    unviable: u64,
    timeouts: u64,
    wall: Duration,
    /// Missed and not in TESTING.md's table.
    unjustified: u64,
}

impl Row {
    const HEADER: &str =
        "group    mutants  caught  missed  unviable  timeouts      wall   missed, not justified\n";

    fn line(&self) -> String {
        format!(
            "{:<8} {:>7} {:>7} {:>7} {:>9} {:>9} {:>9}   {}\n",
            self.name,
            self.mutants,
            self.caught,
            self.missed,
            self.unviable,
            self.timeouts,
            minutes(self.wall),
            self.unjustified
        )
    }

    fn add(&mut self, other: &Row) {
        self.mutants += other.mutants;
        self.caught += other.caught;
        self.missed += other.missed;
        self.unviable += other.unviable;
        self.timeouts += other.timeouts;
        self.wall += other.wall;
        self.unjustified += other.unjustified;
    }
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn positions_are_dropped_from_names() {
        assert_eq!(
            without_position("crates/a/src/page.rs:193:9: replace < with <= in f"),
            "crates/a/src/page.rs: replace < with <= in f"
        );
        assert_eq!(
            without_position("crates/a/src/page.rs: replace < with <= in f"),
            "crates/a/src/page.rs: replace < with <= in f"
        );
    }

    #[test]
    fn the_table_is_read_between_its_markers() {
        let text = "intro | a | b | c |\n<!-- equivalent-mutants:start -->\n| file | mutation | why |\n|---|---|---|\n| `x.rs` | `replace f -> usize with 0` | capacity only |\n<!-- equivalent-mutants:end -->\n| y | z | w |\n";
        let rows = parse_equivalents(text).unwrap();
        assert_eq!(
            rows.into_iter().collect::<Vec<_>>(),
            ["x.rs: replace f -> usize with 0"]
        );
        assert!(parse_equivalents("| a | b | c |").is_err());
        assert!(
            parse_equivalents(
                "<!-- equivalent-mutants:start -->\n| `x.rs` | `m` | |\n<!-- equivalent-mutants:end -->"
            )
            .is_err(),
            "a row without a reason"
        );
        // A `|` in a cell is escaped, as Markdown wants it.
        let rows = parse_equivalents(
            "<!-- equivalent-mutants:start -->\n| `x.rs` | `replace \\| with ^ in f` | same bits |\n<!-- equivalent-mutants:end -->",
        )
        .unwrap();
        assert_eq!(
            rows.into_iter().collect::<Vec<_>>(),
            ["x.rs: replace | with ^ in f"]
        );
    }
}
