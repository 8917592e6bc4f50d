//! The lake encoder alone, in process (`cargo xtask bench --runs lake-encoder`): one spool
//! segment's worth of OCSF 1.3.0 events, planned and encoded into Parquet by the uploader's own
//! functions (`uploader::plan`, `uploader::encode_group`) `--encoder-rounds` times, timed by
//! the CPU time of the thread that does it.
//!
//! # Why
//!
//! The lake path's CPU per record is the JSON path's plus the encoder's, and the encoder is
//! what a change to the lake path moves. Measured through a whole backfill, a 3 % change to the
//! encoder is a 1.5 % change to the process, inside the noise of two runs; measured here (one
//! thread, the events already on disk, the thread's own run time from
//! `/proc/thread-self/schedstat`, which a thread reading its own sees to the scheduler tick,
//! 4 ms here), rounds after the first agree within about 2 %.
//!
//! The events are the lake run's: the bench's data set served by the mock to the release
//! connector with `record_format: "ocsf"`, `ocsf_version: "1.3.0"`, its stdout written to a
//! file: the bytes a spool segment holds.

use std::fmt::Write as _;
use std::io::BufReader;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use connector_sdk::runtime::lake::layout::LakeLayout;
use connector_sdk::runtime::lake::parquet::ParquetEncoder;
use connector_sdk::runtime::lake::uploader::{encode_group, plan};
use slack_audit::lake::ocsf_tables::OcsfLayout;
use slack_audit::ocsf::OcsfVersion;
use slack_mock::MockEntry;

use super::BenchArgs;

/// One round: the segment planned, then every object encoded.
#[derive(Debug, Clone, Copy)]
struct Round {
    plan: Duration,
    encode: Duration,
}

impl Round {
    fn us_per_record(&self, records: u64) -> f64 {
        (self.plan + self.encode).as_secs_f64() * 1e6 / records.max(1) as f64
    }
}

/// The encoder run's measurements.
#[derive(Debug)]
pub(super) struct EncoderBench {
    records: u64,
    segment_bytes: u64,
    objects: usize,
    object_bytes: usize,
    rounds: Vec<Round>,
}

impl EncoderBench {
    /// Its section of the report.
    pub(super) fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "## Lake encoder alone (in process, one thread: plan and encode one spool segment)\n"
        );
        let _ = writeln!(
            out,
            "{} OCSF 1.3.0 events ({:.1} MB, {:.0} bytes each) into {} Parquet objects ({:.1} bytes per record), {} rounds.\n",
            self.records,
            self.segment_bytes as f64 / 1e6,
            self.segment_bytes as f64 / self.records.max(1) as f64,
            self.objects,
            self.object_bytes as f64 / self.records.max(1) as f64,
            self.rounds.len(),
        );
        let _ = writeln!(
            out,
            "| round | plan µs/record | encode µs/record | total µs/record |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|");
        let per = |d: Duration| d.as_secs_f64() * 1e6 / self.records.max(1) as f64;
        for (i, r) in self.rounds.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {:.3} | {:.3} | {:.3} |",
                i + 1,
                per(r.plan),
                per(r.encode),
                r.us_per_record(self.records)
            );
        }
        let mut totals: Vec<f64> = self
            .rounds
            .iter()
            .map(|r| r.us_per_record(self.records))
            .collect();
        totals.sort_by(f64::total_cmp);
        if let (Some(min), Some(max)) = (totals.first(), totals.last()) {
            let median = totals[(totals.len() - 1) / 2];
            let _ = writeln!(
                out,
                "\nMedian {median:.3} µs CPU per record (rounds {min:.3}–{max:.3}).\n"
            );
        }
    }
}

/// The CPU time this thread has run, from `/proc/thread-self/schedstat` (in nanoseconds, as of
/// the last scheduler tick).
fn thread_cpu() -> anyhow::Result<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .context("cannot read /proc/thread-self/schedstat (Linux only)")?;
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|f| f.parse().ok())
        .context("/proc/thread-self/schedstat has no run time")?;
    Ok(Duration::from_nanos(ns))
}

/// Writes the connector's OCSF 1.3.0 events for `entries` (served by a mock) to `segment`.
fn write_segment(
    rt: &tokio::runtime::Runtime,
    binary: &Path,
    entries: &[MockEntry],
    args: &BenchArgs,
    dir: &Path,
    segment: &Path,
) -> anyhow::Result<()> {
    let spec = super::lake_run::spec(entries.len(), args);
    let mock = super::loaded_mock(rt, entries, &spec)?;
    let command = super::write_read_command(dir, &mock.base_url(), entries, &spec)?;
    let out = std::fs::File::create(segment).context("cannot create the segment file")?;
    let status = std::process::Command::new(binary)
        .args(&command)
        .stdout(out)
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    rt.block_on(mock.shutdown());
    ensure!(status.success(), "the connector exited with {status}");
    Ok(())
}

/// Writes one segment of the first `--lake-encoder-entries` entries' events, then plans and
/// encodes it `--encoder-rounds` times.
pub(super) fn run(
    rt: &tokio::runtime::Runtime,
    binary: &Path,
    entries: &[MockEntry],
    args: &BenchArgs,
) -> anyhow::Result<EncoderBench> {
    let dir = tempfile::tempdir_in(crate::target_dir())
        .context("cannot create a folder under the target directory")?;
    let segment = dir.path().join("segment.ndjson");
    eprintln!(
        "bench: lake-encoder: {} entries to OCSF 1.3.0 events…",
        entries.len()
    );
    write_segment(rt, binary, entries, args, dir.path(), &segment)?;
    let segment_bytes = std::fs::metadata(&segment)?.len();
    let layout: Arc<dyn LakeLayout> = Arc::new(
        OcsfLayout::new(OcsfVersion::V1_3_0).map_err(|e| anyhow::anyhow!("the layout: {e}"))?,
    );
    let encoder = ParquetEncoder::new(Arc::clone(&layout));
    let mut rounds = Vec::new();
    let (mut records, mut objects, mut object_bytes) = (0u64, 0, 0);
    for round in 1..=args.encoder_rounds.max(1) {
        eprintln!("bench: lake-encoder: round {round}…");
        let start = thread_cpu()?;
        let file = std::fs::File::open(&segment)?;
        let planned = plan(&mut BufReader::with_capacity(1 << 20, file), &*layout, 1)
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let planned_at = thread_cpu()?;
        let (mut rows, mut bytes) = (0u64, 0);
        for group in &planned.groups {
            let body = encode_group(&encoder, &segment, group)
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            rows += group.records.len() as u64;
            bytes += body.len();
        }
        let encoded_at = thread_cpu()?;
        rounds.push(Round {
            plan: planned_at.saturating_sub(start),
            encode: encoded_at.saturating_sub(planned_at),
        });
        (records, objects, object_bytes) = (rows, planned.groups.len(), bytes);
    }
    ensure!(
        records == entries.len() as u64,
        "the segment holds {records} events, {} entries were served",
        entries.len()
    );
    Ok(EncoderBench {
        records,
        segment_bytes,
        objects,
        object_bytes,
        rounds,
    })
}
