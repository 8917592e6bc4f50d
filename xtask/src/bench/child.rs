//! Running the release connector as a user would (`slack-audit read --config … --state …`)
//! and measuring only it.
//!
//! # How the child is measured
//!
//! CPU time and peak RSS come from `wait4(2)` on the connector's pid (through the `wait4`
//! crate, which keeps the `unsafe` call out of this crate): the kernel's own rusage of exactly
//! that process (all its threads, user + system time, `ru_maxrss`), collected when it is
//! reaped. This is exact and race-free, unlike polling `/proc/<pid>/status` (`VmHWM`
//! disappears once the process is a zombie, so the last sample may miss the peak) and unlike
//! `getrusage(RUSAGE_CHILDREN)` (which would include the `cargo build` step and every earlier
//! run). The connector is started and reaped by a small helper process (this executable again,
//! see [`measure_exec`] for why), which hands the figures back in a file. The mock and the
//! output counter run in the bench process, so they are not in these figures; the bench's own
//! CPU is read from `/proc/self/stat` and reported beside them.
//!
//! # Where the output goes
//!
//! Records go to a pipe read by a thread of the bench, as they would to a shipper. The thread
//! counts bytes and lines (`memchr`, several GB/s, so it never throttles the connector) and
//! keeps a prefix of every `stride`-th line, checked afterwards against the data set. For the
//! Airbyte front end ([`Framing::Airbyte`]) it takes each `RECORD` message's `data` out of its
//! envelope and counts and samples that, so the same checks apply; `STATE` messages are counted.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use wait4::Wait4;

/// Bytes of each sampled line kept for the check (enough to reach an OCSF event's
/// `metadata.uid`).
pub(crate) const SAMPLE_PREFIX: usize = 640;

/// How the connector frames its records on stdout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `slack-audit read`: one record a line.
    #[default]
    Ndjson,
    /// `source-slack-audit read`: Airbyte messages, records inside `RECORD` envelopes.
    Airbyte,
}

/// The start of every `RECORD` of the Airbyte front end, up to its `data`.
const RECORD_PREFIX: &[u8] = br#"{"type":"RECORD","record":{"stream":"audit_logs","data":"#;
/// What follows a `RECORD`'s `data`.
const RECORD_SUFFIX: &[u8] = br#","emitted_at":"#;

/// Counts what the connector writes, and samples lines.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    /// Bytes of records read (for Airbyte: each `data` plus one, as if it were a line).
    pub(crate) bytes: u64,
    /// Records read.
    pub(crate) lines: u64,
    /// `(record index, first bytes of the record)` of every `stride`-th record.
    pub(crate) samples: Vec<(u64, Vec<u8>)>,
    /// Airbyte: `STATE` messages read.
    pub(crate) states: u64,
    /// Airbyte: lines that are neither `RECORD` nor `STATE` (logs).
    pub(crate) other_messages: u64,
    /// Airbyte: lines that start like a `RECORD` but are not framed as one.
    pub(crate) malformed: u64,
    stride: u64,
    capture: Option<(u64, Vec<u8>)>,
    framing: Framing,
    partial: Vec<u8>,
}

impl Sink {
    fn new(stride: u64, framing: Framing) -> Sink {
        Sink {
            stride: stride.max(1),
            capture: Some((0, Vec::with_capacity(SAMPLE_PREFIX))),
            framing,
            ..Sink::default()
        }
    }

    /// Feeds bytes read from the pipe.
    fn feed(&mut self, chunk: &[u8]) {
        match self.framing {
            Framing::Ndjson => self.consume(chunk),
            Framing::Airbyte => self.consume_messages(chunk),
        }
    }

    fn consume_messages(&mut self, chunk: &[u8]) {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            if self.partial.is_empty() {
                self.message(&chunk[start..nl]);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&chunk[start..nl]);
                self.message(&line);
                line.clear();
                self.partial = line;
            }
            start = nl + 1;
        }
        self.partial.extend_from_slice(&chunk[start..]);
    }

    fn message(&mut self, line: &[u8]) {
        if let Some(rest) = line.strip_prefix(RECORD_PREFIX) {
            let Some(end) = memchr::memmem::rfind(rest, RECORD_SUFFIX) else {
                self.malformed += 1;
                return;
            };
            let data = &rest[..end];
            if self.lines.is_multiple_of(self.stride) {
                self.samples
                    .push((self.lines, data[..data.len().min(SAMPLE_PREFIX)].to_vec()));
            }
            self.bytes += data.len() as u64 + 1;
            self.lines += 1;
        } else if line.starts_with(br#"{"type":"STATE""#) {
            self.states += 1;
        } else {
            self.other_messages += 1;
        }
    }

    fn feed_capture(&mut self, segment: &[u8]) {
        if let Some((_, buf)) = &mut self.capture {
            let take = SAMPLE_PREFIX.saturating_sub(buf.len()).min(segment.len());
            buf.extend_from_slice(&segment[..take]);
        }
    }

    fn consume(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            if self.capture.is_some() {
                self.feed_capture(&chunk[start..nl]);
                if let Some(done) = self.capture.take() {
                    self.samples.push(done);
                }
            }
            self.lines += 1;
            start = nl + 1;
            if self.lines.is_multiple_of(self.stride) {
                self.capture = Some((self.lines, Vec::with_capacity(SAMPLE_PREFIX)));
            }
        }
        if self.capture.is_some() {
            self.feed_capture(&chunk[start..]);
        }
    }
}

/// What the kernel says the connector used, and what it wrote.
#[derive(Debug)]
pub(crate) struct ChildRun {
    /// The connector's exit code (`None`: killed by a signal).
    pub(crate) exit_code: Option<i32>,
    pub(crate) wall: Duration,
    pub(crate) user: Duration,
    pub(crate) sys: Duration,
    pub(crate) max_rss: u64,
    /// The measuring helper's peak RSS: `max_rss` cannot be lower than this.
    pub(crate) helper_rss: u64,
    pub(crate) sink: Sink,
    /// The bench process's own CPU time over the run (mock + output counter).
    pub(crate) bench_cpu: Duration,
    /// The last lines of the child's stderr (its logs).
    pub(crate) stderr_tail: String,
}

/// The measuring helper's report (see [`measure_exec`]).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Measured {
    exit_code: Option<i32>,
    wall_us: u64,
    user_us: u64,
    sys_us: u64,
    max_rss: u64,
    /// The helper's own peak RSS when it started the connector: the floor of `max_rss`.
    helper_rss: u64,
    timed_out: bool,
}

/// Runs `binary args…` (a `read`) to completion (or `timeout`), through the measuring helper
/// (this same executable in `--measure-to` mode), reading its output framed as `framing`.
pub(crate) fn run_read(
    binary: &Path,
    args: &[std::ffi::OsString],
    framing: Framing,
    work: &Path,
    sample_stride: u64,
    timeout: Duration,
) -> anyhow::Result<ChildRun> {
    let stderr_path = work.join("stderr.log");
    let report_path = work.join("rusage.json");
    let stderr_file = std::fs::File::create(&stderr_path)
        .with_context(|| format!("cannot create {}", stderr_path.display()))?;
    let helper = std::env::current_exe().context("cannot find this executable")?;
    let cpu_before = self_cpu()?;
    let mut child = Command::new(helper)
        .arg("bench")
        .arg("--measure-to")
        .arg(&report_path)
        .arg("--timeout-secs")
        .arg(timeout.as_secs().to_string())
        .arg("--")
        .arg(binary)
        .args(args)
        // As a user runs it: default log level and format.
        .env_remove("RUST_LOG")
        .env_remove("LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr_file))
        .spawn()
        .context("cannot start the measuring helper")?;
    let mut stdout = child
        .stdout
        .take()
        .context("the child has no stdout pipe")?;
    let reader = std::thread::Builder::new()
        .name("bench-sink".into())
        .spawn(move || -> std::io::Result<Sink> {
            let mut sink = Sink::new(sample_stride, framing);
            let mut buf = vec![0u8; 1 << 20];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) => return Ok(sink),
                    Ok(n) => sink.feed(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        })
        .context("cannot start the output thread")?;
    let helper_status = child.wait().context("waiting for the measuring helper")?;
    let sink = match reader.join() {
        Ok(Ok(sink)) => sink,
        Ok(Err(e)) => return Err(e).context("reading the connector's output failed"),
        Err(_) => bail!("the output thread panicked"),
    };
    let bench_cpu = self_cpu()?.saturating_sub(cpu_before);
    let stderr_tail = tail(&stderr_path);
    if !helper_status.success() {
        bail!("the measuring helper failed ({helper_status}); stderr ends with:\n{stderr_tail}");
    }
    let measured: Measured = serde_json::from_slice(
        &std::fs::read(&report_path).context("the measuring helper wrote no report")?,
    )
    .context("the measuring helper's report is unreadable")?;
    if measured.timed_out {
        bail!(
            "the connector did not finish within {} s and was killed; stderr ends with:\n{stderr_tail}",
            timeout.as_secs()
        );
    }
    Ok(ChildRun {
        exit_code: measured.exit_code,
        wall: Duration::from_micros(measured.wall_us),
        user: Duration::from_micros(measured.user_us),
        sys: Duration::from_micros(measured.sys_us),
        max_rss: measured.max_rss,
        helper_rss: measured.helper_rss,
        sink,
        bench_cpu,
        stderr_tail,
    })
}

/// The measuring helper: runs `command` with this process's stdio, reaps it with `wait4(2)`
/// and writes its rusage as JSON to `report`.
///
/// Why a helper process: Linux carries the RSS high-water mark of the *spawning* process into
/// the child's `ru_maxrss` (at `exec`, the old address space's peak is folded into the
/// process's `maxrss`; with `posix_spawn`/`vfork` that address space is the parent's). The
/// bench holds the whole data set (up to gigabytes), so a connector spawned by it directly
/// would report the bench's peak. The helper is small (a few MiB), so the connector's own
/// peak is what `wait4` reports, exactly, as long as it exceeds the helper's.
pub(crate) fn measure_exec(
    command: &[std::ffi::OsString],
    report: &Path,
    timeout: Duration,
) -> anyhow::Result<()> {
    let (program, args) = command
        .split_first()
        .context("--measure-to needs a command after --")?;
    let helper_rss = own_peak_rss();
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .spawn()
        .with_context(|| format!("cannot start {}", Path::new(program).display()))?;
    // Poll with WNOHANG so that a hung connector can still be killed; 1 ms of polling
    // granularity is far below what is measured here.
    let mut timed_out = false;
    let usage = loop {
        if let Some(usage) = child.try_wait4().context("wait4 failed")? {
            break usage;
        }
        if started.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child
                .wait4()
                .context("wait4 on the killed connector failed")?;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let wall = started.elapsed();
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let measured = Measured {
        exit_code: usage.status.code(),
        wall_us: micros(wall),
        user_us: micros(usage.rusage.utime),
        sys_us: micros(usage.rusage.stime),
        max_rss: usage.rusage.maxrss,
        helper_rss,
        timed_out,
    };
    std::fs::write(report, serde_json::to_vec(&measured)?)
        .with_context(|| format!("cannot write {}", report.display()))?;
    Ok(())
}

/// This process's `VmHWM` (peak RSS) in bytes, 0 if unknown.
fn own_peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// The last lines of a log file, for error messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// User + system CPU time of this process (all threads) from `/proc/self/stat`, in clock
/// ticks of 1/100 s (Linux's `USER_HZ`, fixed for user space on every architecture).
pub(crate) fn self_cpu() -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("cannot read /proc/self/stat")?;
    // Fields after the command name (which may contain spaces) start at `state` (field 3);
    // utime and stime are fields 14 and 15.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("unexpected /proc/self/stat")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .context("unexpected /proc/self/stat")?
            .parse::<u64>()
            .context("unexpected /proc/self/stat")
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_millis(total * 10))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn sink_counts_and_samples_across_chunk_boundaries() {
        let text = b"aaaa\nbbbbbb\ncc\ndddd\neeeee\n";
        for split in 0..text.len() {
            let mut sink = Sink::new(2, Framing::Ndjson);
            sink.consume(&text[..split]);
            sink.consume(&text[split..]);
            assert_eq!(sink.bytes, text.len() as u64);
            assert_eq!(sink.lines, 5);
            let samples: Vec<(u64, &[u8])> = sink
                .samples
                .iter()
                .map(|(i, b)| (*i, b.as_slice()))
                .collect();
            assert_eq!(
                samples,
                vec![(0, &b"aaaa"[..]), (2, &b"cc"[..]), (4, &b"eeeee"[..])],
                "split at {split}"
            );
        }
    }

    #[test]
    fn airbyte_records_are_taken_out_of_their_envelopes_across_chunk_boundaries() {
        let text = concat!(
            r#"{"type":"LOG","log":{"level":"INFO","message":"Reading."}}"#,
            "\n",
            r#"{"type":"RECORD","record":{"stream":"audit_logs","data":{"id":"a","emitted_at":1},"emitted_at":17}}"#,
            "\n",
            r#"{"type":"RECORD","record":{"stream":"audit_logs","data":{"id":"bb"},"emitted_at":17}}"#,
            "\n",
            r#"{"type":"STATE","state":{}}"#,
            "\n",
            r#"{"type":"RECORD","record":{"stream":"audit_logs","data":{"id":"c"},"emitted_at":18}}"#,
            "\n",
        )
        .as_bytes();
        for split in 0..text.len() {
            let mut sink = Sink::new(2, Framing::Airbyte);
            sink.feed(&text[..split]);
            sink.feed(&text[split..]);
            assert_eq!(sink.lines, 3, "split at {split}");
            assert_eq!(sink.states, 1);
            assert_eq!(sink.other_messages, 1);
            assert_eq!(sink.malformed, 0);
            let data_bytes = [
                r#"{"id":"a","emitted_at":1}"#,
                r#"{"id":"bb"}"#,
                r#"{"id":"c"}"#,
            ];
            assert_eq!(
                sink.bytes,
                data_bytes.iter().map(|d| d.len() as u64 + 1).sum::<u64>()
            );
            let samples: Vec<(u64, &[u8])> = sink
                .samples
                .iter()
                .map(|(i, b)| (*i, b.as_slice()))
                .collect();
            assert_eq!(
                samples,
                vec![(0, data_bytes[0].as_bytes()), (2, data_bytes[2].as_bytes())]
            );
        }
    }

    #[test]
    fn own_cpu_time_is_readable() {
        assert!(self_cpu().is_ok());
    }
}
