//! The reading side of `cargo xtask lake scenarios`: `xtask/lake/check_lake.py` (boto3, pyarrow, DuckDB,
//! jsonschema from the venv) judges what one scenario left in the bucket against the records of
//! the NDJSON run with the same settings, and prints a one-line summary.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// What the checker needs to judge one scenario.
pub struct Plan<'a> {
    /// A name for the report.
    pub label: &'a str,
    /// The `--lake` document's `target`.
    pub target: &'a Value,
    /// `ocsf` or `slack`.
    pub record_format: &'a str,
    /// The NDJSON run's records.
    pub expected: &'a Path,
    /// For a synthetic run (whose end moves with the clock): the instant (ms) the lake run
    /// started; the lake must hold every record up to its own newest, and that must be past
    /// this.
    pub complete_before_ms: Option<i64>,
    /// Validate every event against its OCSF 1.3.0 class schema (slow: off for the kill and
    /// fault scenarios, whose point is counting).
    pub validate: bool,
    /// Compare the records' ids (each exactly once) instead of their whole contents: for the
    /// synthetic OCSF runs, whose reference run maps a few events differently (the mapping of
    /// an event depends on what else its run saw; two runs over different windows differ).
    pub compare_ids: bool,
}

/// Runs the checker with the venv's Python against the S3 server at `endpoint`.
pub struct Checker {
    python: PathBuf,
    endpoint: String,
    work: PathBuf,
}

impl Checker {
    /// A checker using `python`, reading from `endpoint`, with local copies under `work`.
    pub fn new(python: &Path, endpoint: &str, work: &Path) -> Checker {
        Checker {
            python: python.to_path_buf(),
            endpoint: endpoint.to_owned(),
            work: work.to_path_buf(),
        }
    }

    /// Judges one scenario; its summary, or an error listing every problem.
    pub async fn check(&self, plan: &Plan<'_>) -> anyhow::Result<Value> {
        let root = crate::workspace_root();
        let work = self.work.join(plan.label);
        std::fs::create_dir_all(&work)?;
        let plan_path = work.join("plan.json");
        let doc = json!({
            "label": plan.label,
            "endpoint": self.endpoint,
            "region": super::moto::REGION,
            "target": plan.target,
            "record_format": plan.record_format,
            "expected": plan.expected,
            "complete_before_ms": plan.complete_before_ms,
            "validate": plan.validate,
            "compare": if plan.compare_ids { "ids" } else { "records" },
            "work_dir": work,
            "schemas_dir": root.join("schemas/ocsf/1.3.0"),
        });
        std::fs::write(&plan_path, serde_json::to_vec_pretty(&doc)?)?;
        let output = tokio::process::Command::new(&self.python)
            .arg(root.join("xtask/lake/check_lake.py"))
            .arg(&plan_path)
            .output()
            .await
            .context("cannot run check_lake.py")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            bail!(
                "the lake check of {} failed ({}):\n{}\n{}",
                plan.label,
                output.status,
                stdout.trim(),
                stderr.trim()
            );
        }
        let summary = stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str::<Value>(l).ok())
            .with_context(|| format!("check_lake.py printed no summary: {stdout}"))?;
        Ok(summary)
    }
}
