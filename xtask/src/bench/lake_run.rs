//! The lake path of `cargo xtask bench`: the same backfill (OCSF 1.3.0) in pairs of runs
//! (`--lake-pairs`, 3; the verdict on the medians), one after the other on the same data set,
//! first to stdout as JSON lines, then through `read --lake` into
//! Security Lake's layout in a local folder (`file://` locations: the writer's cost is a file
//! write and an `fsync`, not S3's HTTP): CPU per record of the whole path (spool, Parquet
//! encoding, upload) against the JSON path's, peak RSS of the backfill, and bytes per record in
//! the objects. Every run is checked: exit 0, nothing on stdout, every entry a row of exactly one
//! object (rows counted from the Parquet footers), and the spool empty at the end.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use slack_audit::ocsf::OcsfVersion;
use slack_mock::MockEntry;

use super::child::{self, ChildRun, Framing};
use super::{BenchArgs, RunResult, Spec};

/// Most CPU per record of the lake path, relative to the OCSF 1.3.0 JSON path.
pub(super) const TARGET_LAKE_CPU_RATIO: f64 = 2.0;
/// Peak RSS of the lake path's backfill.
pub(super) const TARGET_LAKE_RSS_MIB: f64 = 128.0;

/// One pair of runs: the JSON run, then the lake run, of the same data set.
#[derive(Debug)]
pub(super) struct LakePair {
    /// `read` to stdout, OCSF 1.3.0.
    pub(super) json: RunResult,
    /// `read --lake`, the same settings.
    pub(super) lake: ChildRun,
    /// Rows in the objects (= records).
    pub(super) rows: u64,
    /// Objects written.
    pub(super) objects: u64,
    /// Their bytes.
    pub(super) object_bytes: u64,
}

impl LakePair {
    fn lake_us_per_record(&self) -> f64 {
        (self.lake.user + self.lake.sys).as_secs_f64() * 1e6 / self.rows.max(1) as f64
    }

    fn lake_rss_mib(&self) -> f64 {
        self.lake.max_rss as f64 / (1024.0 * 1024.0)
    }
}

/// The lake bench: `--lake-pairs` pairs of runs, one after the other, judged on the medians
/// (this machine's speed drifts from minute to minute: a JSON run alone moved by ±10 %).
#[derive(Debug)]
pub(super) struct LakeBench {
    pub(super) pairs: Vec<LakePair>,
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

impl LakeBench {
    fn json_us(&self) -> f64 {
        median(self.pairs.iter().map(|p| p.json.us_per_record()).collect())
    }

    fn lake_us(&self) -> f64 {
        median(
            self.pairs
                .iter()
                .map(LakePair::lake_us_per_record)
                .collect(),
        )
    }

    fn peak_rss_mib(&self) -> f64 {
        self.pairs
            .iter()
            .map(LakePair::lake_rss_mib)
            .fold(0.0, f64::max)
    }

    /// The section of the report: every run, then the targets.
    pub(super) fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "## Lake path (`read --lake`, Security Lake layout in a local folder, beside the OCSF 1.3.0 JSON path)\n"
        );
        let _ = writeln!(
            out,
            "| run | records | wall s | CPU s (user+sys) | µs CPU/record | peak RSS MiB | objects | bytes/record |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
        for (i, pair) in self.pairs.iter().enumerate() {
            let n = i + 1;
            let json = &pair.json;
            let _ = writeln!(
                out,
                "| #{n} OCSF 1.3.0 to stdout | {} | {:.2} | {:.2} ({:.2}+{:.2}) | {:.2} | {:.1} | — | {:.0} (JSON) |",
                json.records,
                json.child.wall.as_secs_f64(),
                json.cpu().as_secs_f64(),
                json.child.user.as_secs_f64(),
                json.child.sys.as_secs_f64(),
                json.us_per_record(),
                json.rss_mib(),
                json.json_bytes as f64 / json.records.max(1) as f64,
            );
            let _ = writeln!(
                out,
                "| #{n} OCSF 1.3.0 into the lake | {} | {:.2} | {:.2} ({:.2}+{:.2}) | {:.2} | {:.1} | {} | {:.1} (Parquet) |",
                pair.rows,
                pair.lake.wall.as_secs_f64(),
                (pair.lake.user + pair.lake.sys).as_secs_f64(),
                pair.lake.user.as_secs_f64(),
                pair.lake.sys.as_secs_f64(),
                pair.lake_us_per_record(),
                pair.lake_rss_mib(),
                pair.objects,
                pair.object_bytes as f64 / pair.rows.max(1) as f64,
            );
        }
        let _ = writeln!(
            out,
            "\nMedians over {} pairs: {:.2} µs/record to stdout, {:.2} µs/record into the lake.\n",
            self.pairs.len(),
            self.json_us(),
            self.lake_us()
        );
    }

    /// The lake path's verdicts: CPU on the medians, memory on the highest peak.
    pub(super) fn targets(&self, out: &mut String) {
        use std::fmt::Write as _;
        let (json_us, lake_us) = (self.json_us(), self.lake_us());
        let ratio = lake_us / json_us.max(1e-9);
        let rss = self.peak_rss_mib();
        let Some(last) = self.pairs.last() else {
            return;
        };
        let _ = writeln!(
            out,
            "- Lake path CPU per record ≤ {TARGET_LAKE_CPU_RATIO}× the OCSF 1.3.0 JSON path's (medians of {} pairs): {lake_us:.2} µs against {json_us:.2} µs, {ratio:.2}×: {}.",
            self.pairs.len(),
            super::verdict(ratio <= TARGET_LAKE_CPU_RATIO)
        );
        let _ = writeln!(
            out,
            "- Lake path peak RSS < {TARGET_LAKE_RSS_MIB} MiB during a {}-record backfill (the highest of {} runs): {rss:.1} MiB: {}.",
            last.rows,
            self.pairs.len(),
            super::verdict(rss < TARGET_LAKE_RSS_MIB)
        );
        let _ = writeln!(
            out,
            "- Lake objects: {:.1} bytes per record in {} Parquet objects (the JSON lines: {:.0} bytes per record).",
            last.object_bytes as f64 / last.rows.max(1) as f64,
            last.objects,
            last.json.json_bytes as f64 / last.json.records.max(1) as f64,
        );
    }
}

/// The lake runs' backfill of `entries` entries: OCSF 1.3.0 (the version Parquet tables are
/// of), NDJSON, at the bench's page size and request rate.
pub(super) fn spec(entries: usize, args: &BenchArgs) -> Spec {
    Spec {
        entries,
        page_size: args.page_size,
        rpm: args.requests_per_minute,
        page_delay: Duration::ZERO,
        rate_limit: None,
        ocsf: Some(OcsfVersion::V1_3_0),
        framing: Framing::Ndjson,
        metrics: false,
    }
}

/// Runs `--lake-pairs` pairs of the JSON and the lake backfill of `entries`, alternating.
pub(super) fn run(
    rt: &tokio::runtime::Runtime,
    binary: &Path,
    entries: &[MockEntry],
    args: &BenchArgs,
) -> anyhow::Result<LakeBench> {
    let count = args.lake_pairs.max(1);
    let pairs = (0..count)
        .map(|i| {
            eprintln!("bench: lake: pair {} of {count}", i + 1);
            run_pair(rt, binary, entries, args)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(LakeBench { pairs })
}

/// Runs the JSON and the lake backfill of `entries` once.
fn run_pair(
    rt: &tokio::runtime::Runtime,
    binary: &Path,
    entries: &[MockEntry],
    args: &BenchArgs,
) -> anyhow::Result<LakePair> {
    let spec = spec(entries.len(), args);
    eprintln!(
        "bench: lake: {} entries, OCSF 1.3.0 to stdout…",
        entries.len()
    );
    let json = super::run_one(rt, binary, entries, &spec, args)
        .context("the lake bench's JSON run failed")?;
    eprintln!(
        "bench: lake: {} entries, OCSF 1.3.0 into the lake (file://)…",
        entries.len()
    );
    let mock = super::loaded_mock(rt, entries, &spec)?;
    // Under the target directory: the spool and the objects are a few GB at 2M records.
    let dir = tempfile::tempdir_in(crate::target_dir())
        .context("cannot create a folder under the target directory")?;
    let mut command = super::write_read_command(dir.path(), &mock.base_url(), entries, &spec)?;
    let lake_dir = dir.path().join("lake");
    let spool = dir.path().join("spool");
    let lake_file = dir.path().join("lake.json");
    let lake_doc = serde_json::json!({
        "target": {
            "kind": "security_lake",
            "account_id": "external",
            "location_template": format!("file://{}/{{table}}/", lake_dir.display()),
        },
        "aws": {"region": "us-east-1"},
        "spool": {"dir": spool},
    });
    std::fs::write(&lake_file, serde_json::to_vec_pretty(&lake_doc)?)?;
    command.extend(["--lake".into(), lake_file.into()]);
    let run = child::run_read(
        binary,
        &command,
        Framing::Ndjson,
        dir.path(),
        1,
        Duration::from_secs(args.timeout_secs),
    )?;
    let served = mock.served_ids();
    rt.block_on(mock.shutdown());
    ensure!(
        run.exit_code == Some(0),
        "read --lake exited with {:?}; its stderr ends with:\n{}",
        run.exit_code,
        run.stderr_tail
    );
    ensure!(
        run.sink.lines == 0,
        "read --lake printed {} lines on stdout",
        run.sink.lines
    );
    let unique: std::collections::HashSet<&str> = served.iter().map(String::as_str).collect();
    ensure!(
        unique.len() == entries.len(),
        "the mock served {} distinct ids, {} expected",
        unique.len(),
        entries.len()
    );
    let (objects, object_bytes, rows) = objects_under(&lake_dir)?;
    ensure!(
        rows == entries.len() as u64,
        "the lake holds {rows} rows in {objects} objects, {} entries were served",
        entries.len()
    );
    let left: Vec<_> = std::fs::read_dir(&spool)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("segment-"))
        .collect();
    ensure!(
        left.is_empty(),
        "{} segments are still in the spool after the read",
        left.len()
    );
    Ok(LakePair {
        json,
        lake: run,
        rows,
        objects,
        object_bytes,
    })
}

/// Objects, bytes and rows (from each Parquet footer) of every `.parquet` file below `dir`.
fn objects_under(dir: &Path) -> anyhow::Result<(u64, u64, u64)> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let (mut objects, mut bytes, mut rows) = (0u64, 0u64, 0u64);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in
            std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                let file = std::fs::File::open(&path)?;
                bytes += file.metadata()?.len();
                let reader = SerializedFileReader::new(file)
                    .with_context(|| format!("{} is not a Parquet file", path.display()))?;
                let n = reader.metadata().file_metadata().num_rows();
                rows += u64::try_from(n).unwrap_or_default();
                objects += 1;
            }
        }
    }
    Ok((objects, bytes, rows))
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_verdict_is_on_the_middle_run() {
        assert_eq!(median(vec![8.5, 3.0, 4.0]), 4.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![7.0]), 7.0);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
