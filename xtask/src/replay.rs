//! `cargo xtask replay [CASE…] [--review]`: recorded API pages as snapshot tests.
//!
//! # Why
//!
//! CI cannot call Slack's Audit Logs API (it needs an Enterprise Grid Org Owner's token), so the
//! way to trust the connector against it is to replay what it says, byte for byte, and pin the
//! outcome. Users report bugs the same way: they send pages (see `cargo xtask record`).
//!
//! # How
//!
//! Each case is a folder `fixtures/slack-audit/<case>/` ([`fixture`] describes the format). The
//! case runs in-process ([`runner`]): the real input and host runtime against a scripted mock
//! on 127.0.0.1 that answers the recorded exchanges in order and refuses any request that
//! differs from what the fixture expects. The outcome of every run (requests, exit class and
//! message, the records exactly as written, the final state) is compared with insta to the
//! snapshot `<case>/replay.snap`.
//!
//! A case that delivers records is replayed a second time with `settings.record_format =
//! "ocsf"`: everything but the records (requests, outcome, checkpoints, final state but the
//! record format it remembers) must be the same as in the first replay, and the OCSF events, one a line as written, are compared
//! to `<case>/ocsf.snap`.
//!
//! - `cargo test --workspace` runs every case (`xtask/tests/replay.rs`); under `CI=true` insta
//!   writes nothing and fails on any difference, and the test also fails on a snapshot or page
//!   file that no case uses.
//! - `cargo xtask replay --review` re-runs with `INSTA_UPDATE=always`, which accepts every
//!   change, and lists what changed; `cargo insta review` works too, on the `.snap.new` files a
//!   plain run leaves behind.

pub mod fixture;
pub mod proxy;
pub mod pseudonym;
pub mod runner;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use fixture::{CASE_FILE, Case, OCSF_SNAPSHOT_FILE, SNAPSHOT_FILE};
use slack_audit::RecordFormat;

/// Arguments of `cargo xtask replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Cases to run (folder names under fixtures/slack-audit); all when none is given.
    #[arg(value_name = "CASE")]
    pub cases: Vec<String>,
    /// Accept every changed or new snapshot (like `cargo insta review`, without asking), then
    /// list what changed.
    #[arg(long)]
    pub review: bool,
}

/// Where the cases live.
pub fn cases_root() -> PathBuf {
    crate::workspace_root().join("fixtures").join("slack-audit")
}

/// Every case folder under `root` (folders holding a `case.json`), sorted by name.
pub fn discover(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(root).with_context(|| format!("reading {}", root.display()))? {
        let path = entry?.path();
        if path.join(CASE_FILE).is_file() {
            cases.push(path);
        }
    }
    cases.sort();
    Ok(cases)
}

/// Replays the case in `dir` and compares it with its snapshot: `Err` when the replay broke a
/// rule of the fixture ([`runner`]), a panic from insta when the snapshot differs.
pub fn check_case(dir: &Path) -> anyhow::Result<()> {
    let report = runner::run_case(dir)?;
    let name = case_name(dir);
    if !report.problems.is_empty() {
        bail!(
            "case {name} does not replay as recorded:\n  - {}\nwhat happened:\n{}",
            report.problems.join("\n  - "),
            report.text
        );
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(report.description.clone());
    settings.set_input_file(dir.join(CASE_FILE));
    let snapshot_name = SNAPSHOT_FILE.trim_end_matches(".snap");
    settings.bind(|| insta::assert_snapshot!(snapshot_name, report.text));

    if report.records.iter().all(|r| r.is_empty()) {
        return Ok(());
    }
    let ocsf = runner::run_case_as(dir, RecordFormat::Ocsf)?;
    if !ocsf.problems.is_empty() {
        bail!(
            "case {name} in OCSF format:\n  - {}",
            ocsf.problems.join("\n  - ")
        );
    }
    if without_records(&ocsf.text) != without_records(&report.text) {
        bail!(
            "case {name}: in OCSF format the requests, outcome or state differ from the Slack format's; the format must change the records only.\nSlack format:\n{}\nOCSF format:\n{}",
            report.text,
            ocsf.text
        );
    }
    let mut text = String::new();
    for (index, records) in ocsf.records.iter().enumerate() {
        let lines: Vec<&[u8]> = records
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        text.push_str(&format!(
            "# run {} of {}: {} events\n",
            index + 1,
            ocsf.records.len(),
            lines.len()
        ));
        for line in lines {
            text.push_str(&String::from_utf8_lossy(line));
            text.push('\n');
        }
    }
    let ocsf_name = OCSF_SNAPSHOT_FILE.trim_end_matches(".snap");
    settings.bind(|| insta::assert_snapshot!(ocsf_name, text));
    Ok(())
}

/// A report without the record lines of its runs (their counts stay).
fn without_records(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_records = false;
    for line in text.lines() {
        if line.starts_with("## ") {
            in_records = line.starts_with("## records");
            out.push_str(line);
            out.push('\n');
        } else if !in_records {
            // The state remembers the format it was collected in: the one difference allowed.
            out.push_str(
                &line.replace(r#""record_format": "ocsf""#, r#""record_format": "slack""#),
            );
            out.push('\n');
        }
    }
    out
}

/// Files under `root` that no case uses: snapshots of folders that are not (or no longer)
/// cases, and page files no exchange names. Pending `.snap.new` files are not counted.
pub fn stray_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut stray = Vec::new();
    for entry in std::fs::read_dir(root).with_context(|| format!("reading {}", root.display()))? {
        let dir = entry?.path();
        if !dir.is_dir() {
            continue;
        }
        let case = if dir.join(CASE_FILE).is_file() {
            Some(Case::load(&dir)?)
        } else {
            None
        };
        let used: Vec<PathBuf> = case
            .as_ref()
            .map(|c| c.body_files().iter().map(|f| dir.join(f)).collect())
            .unwrap_or_default();
        for file in walk(&dir)? {
            let rel = file.strip_prefix(&dir).unwrap_or(&file);
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".snap.new") {
                continue;
            }
            let is_case_file = case.is_some() && (rel == Path::new(CASE_FILE));
            let is_snapshot = case.is_some()
                && (rel == Path::new(SNAPSHOT_FILE) || rel == Path::new(OCSF_SNAPSHOT_FILE));
            let is_page = used.iter().any(|u| u == &file);
            if !(is_case_file || is_snapshot || is_page) {
                stray.push(file);
            }
        }
    }
    stray.sort();
    Ok(stray)
}

fn walk(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    Ok(files)
}

fn case_name(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Runs the task.
pub fn run(args: &ReplayArgs) -> anyhow::Result<()> {
    let root = cases_root();
    let all = discover(&root)?;
    let selected: Vec<PathBuf> = if args.cases.is_empty() {
        all.clone()
    } else {
        args.cases
            .iter()
            .map(|name| {
                all.iter()
                    .find(|dir| case_name(dir) == *name)
                    .cloned()
                    .with_context(|| {
                        format!(
                            "no case {name:?} under {} (cases: {})",
                            root.display(),
                            all.iter()
                                .map(|d| case_name(d))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
            })
            .collect::<anyhow::Result<_>>()?
    };
    if args.review {
        return review(
            &selected,
            &args.cases,
            args.cases.is_empty().then_some(&root),
        );
    }

    let mut failed = Vec::new();
    for dir in &selected {
        let name = case_name(dir);
        let outcome = std::panic::catch_unwind(|| check_case(dir));
        match outcome {
            Ok(Ok(())) => println!("ok      {name}"),
            Ok(Err(error)) => {
                println!("FAILED  {name}: {error:#}");
                failed.push(name);
            }
            Err(_) => {
                println!("FAILED  {name}: the snapshot differs (diff above)");
                failed.push(name);
            }
        }
    }
    let mut stray = Vec::new();
    if args.cases.is_empty() {
        stray = stray_files(&root)?;
        for file in &stray {
            println!("unreferenced: {}", file.display());
        }
    }
    println!(
        "{} passed, {} failed",
        selected.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        bail!(
            "{} case(s) failed: {}. If the change is intended, run `cargo xtask replay --review {}`",
            failed.len(),
            failed.join(", "),
            failed.join(" ")
        );
    }
    if !stray.is_empty() {
        bail!(
            "{} file(s) under {} belong to no case; delete them (or `cargo xtask replay --review` does)",
            stray.len(),
            root.display()
        );
    }
    Ok(())
}

/// Re-runs the selected cases in a child process with `INSTA_UPDATE=always` (insta reads its
/// update mode once per process, from the environment), then says which snapshots changed.
/// With every case selected (`root` given), snapshots no case uses are deleted (other stray
/// files are only listed: they may be a case being written).
fn review(selected: &[PathBuf], names: &[String], root: Option<&PathBuf>) -> anyhow::Result<()> {
    let before = read_snapshots(selected);
    let exe = std::env::current_exe().context("finding the xtask binary")?;
    let status = std::process::Command::new(exe)
        .arg("replay")
        .args(names)
        .env("INSTA_UPDATE", "always")
        .env("CI", "false")
        .status()
        .context("re-running the replay")?;
    let after = read_snapshots(selected);
    if status.success() {
        // Accepted in place: a pending file from an earlier plain run is stale now.
        for dir in selected {
            for file in [SNAPSHOT_FILE, OCSF_SNAPSHOT_FILE] {
                let _ = std::fs::remove_file(dir.join(format!("{file}.new")));
            }
        }
    }
    let mut changed = 0;
    for (path, new) in &after {
        match before.get(path) {
            Some(old) if old == new => {}
            Some(_) => {
                changed += 1;
                println!("accepted (changed): {}", path.display());
            }
            None => {
                changed += 1;
                println!("accepted (new):     {}", path.display());
            }
        }
    }
    if let Some(root) = root {
        for file in stray_files(root)? {
            if file.extension().is_some_and(|e| e == "snap") {
                std::fs::remove_file(&file)
                    .with_context(|| format!("deleting {}", file.display()))?;
                println!("deleted (unreferenced snapshot): {}", file.display());
            } else {
                println!("unreferenced (delete it or use it): {}", file.display());
            }
        }
    }
    println!("{changed} snapshot(s) accepted; review them with `git diff fixtures/slack-audit`");
    if !status.success() {
        bail!("some cases failed for reasons a snapshot cannot accept (see above)");
    }
    Ok(())
}

fn read_snapshots(cases: &[PathBuf]) -> BTreeMap<PathBuf, Vec<u8>> {
    cases
        .iter()
        .flat_map(|dir| [dir.join(SNAPSHOT_FILE), dir.join(OCSF_SNAPSHOT_FILE)])
        .filter_map(|path| std::fs::read(&path).ok().map(|bytes| (path, bytes)))
        .collect()
}
