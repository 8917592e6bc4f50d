//! The lake destination through the real binary: the fake connector run with `FAKE_FRONT=lake`
//! (`front::cli::run_lake_with` and the parts below) into a `file://` lake, killed at every
//! durable step, with a writer that fails on purpose, and with a full spool.
//!
//! The parts: the SDK's `file://` writer behind a fault switch (`FAKE_LAKE_FAULTS`:
//! `transient:N` fails the first N writes as transient, `auth` refuses every write, `stall`
//! fails every write as transient), a test encoder (the records as NDJSON, one per line), a
//! short backoff, and a step observer that SIGKILLs the process at the Nth occurrence of a
//! step (`FAKE_LAKE_KILL_AT=committed:2`).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use connector_sdk::contract::error::ConfigError;
use connector_sdk::runtime::lake::encode::{EncodeError, ObjectBody, ObjectEncoder};
use connector_sdk::runtime::lake::file_objects::FileObjectWriter;
use connector_sdk::runtime::lake::lake_config::LakeConfig;
use connector_sdk::runtime::lake::lake_parts::{self, Backoff, LakeParts, LakeStep};
use connector_sdk::runtime::lake::layout::LakeLayout;
use connector_sdk::runtime::lake::object::{ObjectUrl, ObjectWriter, PutError, PutErrorKind};
use serde_json::{Value, json};

use super::{Dir, assert_exactly_once, fake, run, state_file};

const KILL_AT: &str = "FAKE_LAKE_KILL_AT";
const FAULTS: &str = "FAKE_LAKE_FAULTS";

// ---- the parts the fake binary delivers with ----

/// The records as NDJSON, one per line: what went into an object can be read back exactly.
struct NdjsonLines;

impl ObjectEncoder for NdjsonLines {
    fn extension(&self) -> &'static str {
        "ndjson"
    }

    fn start(&self, _table: &str) -> Result<Box<dyn ObjectBody + '_>, EncodeError> {
        Ok(Box::new(Lines(Vec::new())))
    }
}

struct Lines(Vec<u8>);

impl ObjectBody for Lines {
    fn push(&mut self, record: &[u8]) -> Result<(), EncodeError> {
        self.0.extend_from_slice(record);
        self.0.push(b'\n');
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, EncodeError> {
        Ok(self.0)
    }
}

/// The file writer, failing as `FAKE_LAKE_FAULTS` says.
struct Faulty {
    inner: FileObjectWriter,
    puts: AtomicU64,
}

#[async_trait::async_trait]
impl ObjectWriter for Faulty {
    async fn put(&self, url: &ObjectUrl, body: bytes::Bytes) -> Result<(), PutError> {
        let n = self.puts.fetch_add(1, Ordering::SeqCst);
        let faults = std::env::var(FAULTS).unwrap_or_default();
        let fail = |kind| {
            Err(PutError {
                kind,
                message: format!("injected {} failure of write {n}", kind.as_str()),
            })
        };
        match faults.split_once(':') {
            Some(("transient", count)) if n < count.parse().unwrap_or(0) => {
                return fail(PutErrorKind::Transient);
            }
            _ if faults == "auth" => return fail(PutErrorKind::Auth),
            _ if faults == "stall" => return fail(PutErrorKind::Transient),
            _ => {}
        }
        self.inner.put(url, body).await
    }

    async fn probe(&self, prefix: &ObjectUrl) -> Result<(), PutError> {
        if std::env::var(FAULTS).is_ok_and(|f| f == "auth") {
            return Err(PutError {
                kind: PutErrorKind::Auth,
                message: "injected auth failure of the probe".into(),
            });
        }
        self.inner.probe(prefix).await
    }
}

fn faulty_writer_for(config: &LakeConfig) -> Result<Arc<dyn ObjectWriter>, ConfigError> {
    // The SDK's own refusals of non-file locations first.
    lake_parts::file_writer_for(config)?;
    Ok(Arc::new(Faulty {
        inner: FileObjectWriter,
        puts: AtomicU64::new(0),
    }))
}

fn ndjson_for(
    _config: &LakeConfig,
    _layout: &Arc<dyn LakeLayout>,
) -> Result<Arc<dyn ObjectEncoder>, ConfigError> {
    Ok(Arc::new(NdjsonLines))
}

fn step_name(step: &LakeStep) -> &'static str {
    match step {
        LakeStep::Appended { .. } => "appended",
        LakeStep::Committed { .. } => "committed",
        LakeStep::Sealed { .. } => "sealed",
        LakeStep::ObjectWritten { .. } => "object_written",
        LakeStep::ObjectsWritten { .. } => "objects_written",
        LakeStep::SegmentRemoved { .. } => "segment_removed",
    }
}

static SEEN: AtomicU64 = AtomicU64::new(0);

/// SIGKILLs this process at the Nth occurrence of the step `FAKE_LAKE_KILL_AT` names.
fn kill_at_step(step: &LakeStep) {
    let Ok(at) = std::env::var(KILL_AT) else {
        return;
    };
    let Some((name, nth)) = at.split_once(':') else {
        return;
    };
    if name != step_name(step) {
        return;
    }
    let seen = SEEN.fetch_add(1, Ordering::SeqCst) + 1;
    if nth.parse() == Ok(seen) {
        let _ = writeln!(std::io::stderr(), "killed at {step:?}");
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
}

/// The parts the fake binary delivers into a lake with.
pub fn parts() -> LakeParts {
    LakeParts {
        writer_for: faulty_writer_for,
        encoder_for: ndjson_for,
        backoff: Backoff {
            first: Duration::from_millis(2),
            max: Duration::from_millis(20),
        },
        on_step: Some(kill_at_step),
    }
}

// ---- helpers ----

/// A lake file: a plain target into `<dir>/lake/`, the spool in `<dir>/spool/`.
fn lake_file(dir: &Dir, spool: Value) -> PathBuf {
    let mut spool_doc = json!({
        "dir": dir.path("spool"),
        "segment_max_bytes": 30,
        "max_bytes": 1 << 20,
    });
    for (k, v) in spool.as_object().unwrap() {
        spool_doc[k] = v.clone();
    }
    let doc = json!({
        "target": {"kind": "s3", "url": format!("file://{}/", dir.path("lake").display())},
        "spool": spool_doc,
    });
    let path = dir.path("lake.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

fn lake_read(dir: &Dir, config: &Path, lake: &Path) -> Command {
    let state = dir.path("state.json");
    fake(
        "lake",
        &[
            &"read",
            &"--config",
            &config,
            &"--state",
            &state,
            &"--lake",
            &lake,
        ],
    )
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every record in the lake under `root`, checked to sit in its own table's partition of its
/// UTC day and, within each object, in time order.
fn lake_numbers(root: &Path) -> Vec<u64> {
    let mut files = Vec::new();
    files_under(root, &mut files);
    let mut all = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            !relative.contains("/."),
            "a temporary or probe was left in the lake: {relative}"
        );
        let mut last_time = i64::MIN;
        for line in std::fs::read_to_string(&file).unwrap().lines() {
            let n = serde_json::from_str::<Value>(line).unwrap()["n"]
                .as_u64()
                .unwrap();
            let (table, time_ms) = super::fake::fake_placement(n);
            let day = chrono_free_day(time_ms);
            assert!(
                relative.starts_with(&format!("{table}/{day}/")),
                "record {n} in {relative}, not under {table}/{day}/"
            );
            assert!(
                time_ms >= last_time,
                "{relative} is not in time order at {n}"
            );
            last_time = time_ms;
            all.push(n);
        }
    }
    all.sort_unstable();
    all
}

/// `year=YYYY/month=MM/day=DD` of `time_ms` (the fake's times are within 1970).
fn chrono_free_day(time_ms: i64) -> String {
    const DAYS: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut day = time_ms.div_euclid(86_400_000);
    let mut month = 0;
    while day >= DAYS[month] {
        day -= DAYS[month];
        month += 1;
    }
    format!("year=1970/month={:02}/day={:02}", month + 1, day + 1)
}

fn segments_left(dir: &Dir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.path("spool"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("segment-"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The non-empty segments left in the spool.
fn pending_segments(dir: &Dir) -> Vec<String> {
    segments_left(dir)
        .into_iter()
        .filter(|n| std::fs::metadata(dir.path("spool").join(n)).is_ok_and(|m| m.len() > 0))
        .collect()
}

const RECORDS: u64 = 20;

fn settings() -> Value {
    json!({"records": RECORDS, "batch": 3})
}

// ---- the tests ----

/// A kill at each durable step (after a spool append before its commit; after a commit before
/// the next seal; right after a seal; between two objects of a segment; after every object
/// before the segment's removal; after the removal), then a plain re-run: every record is in
/// the lake exactly once, in its partition, and the spool is empty.
pub fn lake_kill_at_every_step_is_exactly_once() {
    for point in [
        "appended:2",
        "appended:5",
        "committed:1",
        "committed:3",
        "sealed:1",
        "sealed:2",
        "object_written:1",
        "object_written:3",
        "objects_written:1",
        "objects_written:2",
        "segment_removed:1",
    ] {
        let dir = Dir::new();
        let config = dir.config(settings());
        let lake = lake_file(&dir, json!({}));
        let mut first = lake_read(&dir, &config, &lake);
        first.env(KILL_AT, point);
        let out = run(first);
        assert_eq!(out.code, None, "{point}: not killed: {}", out.stderr);
        assert!(out.stderr.contains("killed at"), "{point}: {}", out.stderr);
        let out = run(lake_read(&dir, &config, &lake));
        assert_eq!(out.code, Some(0), "{point}: {}", out.stderr);
        let numbers = lake_numbers(&dir.path("lake"));
        assert!(
            numbers.windows(2).all(|w| w[0] != w[1]),
            "{point}: a record twice: {numbers:?}"
        );
        assert_exactly_once(&numbers, RECORDS);
        assert_eq!(pending_segments(&dir), Vec::<String>::new(), "{point}");
        let state = state_file(&dir.path("state.json"));
        assert_eq!(state["state"]["next"], RECORDS, "{point}");
        assert_eq!(state["destination"]["offset"], 0, "{point}: {state}");
    }
}

/// Several kills in one backfill, then the rest: still exactly once.
///
/// Each kill point is one the run must reach whatever the runs before it did (how far a killed
/// run's reader gets before its uploader writes an object depends on the machine's load): the
/// first run appends all 20 batches; killed at its third append it leaves at least 18 to
/// commit, so the second reaches its fourth commit; that leaves at least 14 segments (one a
/// batch, `segment_max_bytes` 30) to write, so the third writes a second object; the segment it
/// was killed in is still sealed, so the fourth finishes its objects, and, killed before
/// removing it, leaves it to the fifth to remove.
pub fn lake_repeated_kills_then_finish_is_exactly_once() {
    let dir = Dir::new();
    let config = dir.config(json!({"records": 60, "batch": 3}));
    let lake = lake_file(&dir, json!({}));
    for point in [
        "appended:3",
        "committed:4",
        "object_written:2",
        "objects_written:1",
        "segment_removed:1",
    ] {
        let mut killed = lake_read(&dir, &config, &lake);
        killed.env(KILL_AT, point);
        let out = run(killed);
        assert_eq!(out.code, None, "{point}: {}", out.stderr);
    }
    let out = run(lake_read(&dir, &config, &lake));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_exactly_once(&lake_numbers(&dir.path("lake")), 60);
}

/// The uncommitted tail a kill leaves (appended, never committed) is cut on restart and read
/// again: the spool never holds a record twice.
pub fn lake_restart_cuts_the_uncommitted_tail() {
    let dir = Dir::new();
    let config = dir.config(settings());
    // Big segments: nothing is sealed before the kill.
    let lake = lake_file(&dir, json!({"segment_max_bytes": 1 << 20}));
    let mut first = lake_read(&dir, &config, &lake);
    first.env(KILL_AT, "appended:3");
    let out = run(first);
    assert_eq!(out.code, None, "{}", out.stderr);
    let state = state_file(&dir.path("state.json"));
    let committed = state["destination"]["offset"].as_u64().unwrap();
    let segment = dir.path("spool").join("segment-0000000001.ndjson");
    let spooled = std::fs::metadata(&segment).unwrap().len();
    assert!(
        spooled > committed,
        "the third batch is spooled past the commit"
    );
    assert_eq!(state["state"]["next"], 6);
    let out = run(lake_read(&dir, &config, &lake));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains("Cutting the spool's uncommitted tail"),
        "{}",
        out.stderr
    );
    assert_exactly_once(&lake_numbers(&dir.path("lake")), RECORDS);
}

/// A writer that fails transiently, then works: retried with backoff (each failure logged),
/// nothing lost or doubled.
pub fn lake_transient_failures_are_retried_without_loss_or_doubles() {
    let dir = Dir::new();
    let config = dir.config(settings());
    let lake = lake_file(&dir, json!({}));
    let mut command = lake_read(&dir, &config, &lake);
    command.env(FAULTS, "transient:5");
    let out = run(command);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stderr
            .matches("Writing an object failed; trying again.")
            .count(),
        5,
        "{}",
        out.stderr
    );
    assert_exactly_once(&lake_numbers(&dir.path("lake")), RECORDS);
    assert_eq!(pending_segments(&dir), Vec::<String>::new());
}

/// A refused credential stops the read with the auth exit code and says so; the state never
/// covers more than the spool holds (the next run with a working lake opens it and delivers
/// everything exactly once).
pub fn lake_auth_failure_exits_3_and_keeps_the_spool() {
    let dir = Dir::new();
    let config = dir.config(settings());
    let lake = lake_file(&dir, json!({}));
    let mut command = lake_read(&dir, &config, &lake);
    command.env(FAULTS, "auth");
    let out = run(command);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("fake: authentication error: the lake refused file://")
            && out.stderr.contains("stay in the spool"),
        "{}",
        out.stderr
    );
    assert!(lake_numbers(&dir.path("lake")).is_empty());
    let state = state_file(&dir.path("state.json"));
    let spooled: u64 = segments_left(&dir)
        .iter()
        .map(|n| std::fs::metadata(dir.path("spool").join(n)).unwrap().len())
        .sum();
    assert!(spooled > 0, "{state}");
    assert!(!pending_segments(&dir).is_empty());
    let out = run(lake_read(&dir, &config, &lake));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_exactly_once(&lake_numbers(&dir.path("lake")), RECORDS);
}

/// A lake that cannot be written for a reason retrying cannot mend (a location under a
/// regular file) stops the read with the config exit code, naming the object; a lake file
/// whose spool could not work is refused before anything is read, naming the field.
pub fn lake_config_failures_exit_2() {
    let dir = Dir::new();
    let config = dir.config(settings());
    std::fs::write(dir.path("lake"), b"a file, not a folder").unwrap();
    let lake = lake_file(&dir, json!({}));
    let out = run(lake_read(&dir, &config, &lake));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("fake: config error: the lake refused file://"),
        "{}",
        out.stderr
    );
    let lake = lake_file(&dir, json!({"segment_max_bytes": 100, "max_bytes": 10}));
    let out = run(lake_read(&dir, &config, &lake));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("/spool/max_bytes"), "{}", out.stderr);
    let out = run(fake(
        "lake",
        &[
            &"read",
            &"--config",
            &config,
            &"--state",
            &dir.path("s.json"),
            &"--lake",
            &lake,
            &"--output",
            &dir.path("out"),
        ],
    ));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
}

/// A fake running with its stderr lines on a channel.
struct Watched {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watched {
    fn start(mut command: Command) -> Watched {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watched {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn until(&mut self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {what:?} on stderr; saw {:#?}", self.seen));
            self.seen.push(line.clone());
            if line.contains(what) {
                return line;
            }
        }
    }
}

fn scrape(addr: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

/// With the lake unreachable and the spool past `max_bytes`, delivery waits: the checkpoint
/// stays where the spool ends, the log, `lake_waiting` and `status` say so; a signal stops the
/// wait cleanly, and the next run delivers everything exactly once.
pub fn lake_full_spool_blocks_delivery_and_the_checkpoint_stays() {
    let dir = Dir::new();
    let config = dir.config(settings());
    let lake = lake_file(&dir, json!({"segment_max_bytes": 20, "max_bytes": 40}));
    let mut command = lake_read(&dir, &config, &lake);
    command
        .args(["--metrics-addr", "127.0.0.1:0"])
        .env(FAULTS, "stall");
    let mut running = Watched::start(command);
    let serving = running.until("Serving metrics");
    let addr = serving
        .split("address=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    running.until("Collection waits for the lake");
    let state = state_file(&dir.path("state.json"));
    let next = state["state"]["next"].as_u64().unwrap();
    assert!(next < RECORDS, "{state}");
    let metrics = scrape(&addr);
    assert!(metrics.contains("fake_lake_waiting 1"), "{metrics}");
    assert!(
        metrics.contains("fake_lake_upload_errors_total{kind=\"transient\"}"),
        "{metrics}"
    );
    let status = run(fake(
        "lake",
        &[
            &"status",
            &"--state",
            &dir.path("state.json"),
            &"--lake",
            &lake,
        ],
    ));
    assert_eq!(status.code, Some(0), "{}", status.stderr);
    assert!(
        status
            .stdout
            .contains("full: collection waits for the lake"),
        "{}",
        status.stdout
    );
    // Still waiting, still there.
    running.until("Writing an object failed");
    assert_eq!(state_file(&dir.path("state.json")), state);
    let killed = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let code = running.child.wait().unwrap().code();
    assert_eq!(code, Some(0), "{:#?}", running.seen);
    let out = run(lake_read(&dir, &config, &lake));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_exactly_once(&lake_numbers(&dir.path("lake")), RECORDS);
}

/// A `read` whose lake stays down does not wait for it forever: past `spool.drain_seconds` it
/// stops with exit 1, saying the records stay in the spool; the state covers everything read,
/// and the next run, the lake back, uploads them exactly once.
pub fn lake_read_gives_up_on_a_lake_that_stays_down_and_keeps_the_spool() {
    let dir = Dir::new();
    let config = dir.config(settings());
    let lake = lake_file(&dir, json!({"drain_seconds": 1}));
    let mut command = lake_read(&dir, &config, &lake);
    command.env(FAULTS, "stall");
    // Run on a thread, so a read that never gives up fails the test instead of hanging it.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(run(command));
    });
    let out = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the read still waits for the lake after 60 s");
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the lake did not take the read's records within spool.drain_seconds (1 s)")
            && out.stderr.contains("stay in the spool"),
        "{}",
        out.stderr
    );
    let state = state_file(&dir.path("state.json"));
    assert_eq!(state["state"]["next"], RECORDS, "{state}");
    assert!(!pending_segments(&dir).is_empty(), "the spool was emptied");
    let out = run(lake_read(&dir, &config, &lake));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_exactly_once(&lake_numbers(&dir.path("lake")), RECORDS);
    assert_eq!(pending_segments(&dir), Vec::<String>::new());
}

/// `--follow` into a lake: segments are sealed by size and uploaded while the read goes on; a
/// signal stops it cleanly wherever the uploader is, and a later read without `--follow`
/// seals the rest: every record in the lake exactly once.
pub fn lake_follow_then_signal_then_finish_is_exactly_once() {
    let dir = Dir::new();
    let config = dir.config(settings());
    let lake = lake_file(&dir, json!({}));
    let mut command = lake_read(&dir, &config, &lake);
    command.args(["--follow", "--poll-interval", "0.1"]);
    let mut running = Watched::start(command);
    super::wait_for_state(&dir.path("state.json"), |s| s["state"]["next"] == RECORDS);
    running.until("Spool segment uploaded.");
    let killed = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(
        running.child.wait().unwrap().code(),
        Some(0),
        "{:#?}",
        running.seen
    );
    let in_lake = lake_numbers(&dir.path("lake")).len();
    assert!(in_lake > 0, "nothing uploaded while following");
    let out = run(lake_read(&dir, &config, &lake));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_exactly_once(&lake_numbers(&dir.path("lake")), RECORDS);
    assert_eq!(pending_segments(&dir), Vec::<String>::new());
}

/// A spool and a state that do not belong together are refused, naming what is wrong, and
/// left as they are: another spool's id, a state with a spool position read without `--lake`,
/// a spool shorter than the state says.
pub fn lake_refuses_mismatched_spools_and_states() {
    let dir = Dir::new();
    let config = dir.config(json!({"pause_after": 2}));
    let lake = lake_file(&dir, json!({"segment_max_bytes": 1 << 20}));
    let mut first = lake_read(&dir, &config, &lake);
    first.env(KILL_AT, "committed:2");
    assert_eq!(run(first).code, None);
    let state_path = dir.path("state.json");
    let state = state_file(&state_path);
    assert_eq!(state["destination"]["segment"], 1, "{state}");

    let out = run(super::cli_read(&dir, &config));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("read into a lake") && out.stderr.contains("--lake"),
        "{}",
        out.stderr
    );
    assert_eq!(state_file(&state_path), state);

    let identity = dir.path("spool").join("spool.json");
    let original = std::fs::read(&identity).unwrap();
    let mut other: Value = serde_json::from_slice(&original).unwrap();
    other["spool_id"] = json!("00000000-0000-0000-0000-000000000000");
    std::fs::write(&identity, other.to_string()).unwrap();
    let out = run(lake_read(&dir, &config, &lake));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("a state is only read with its own spool"),
        "{}",
        out.stderr
    );
    std::fs::write(&identity, &original).unwrap();

    let segment = dir.path("spool").join("segment-0000000001.ndjson");
    let bytes = std::fs::read(&segment).unwrap();
    std::fs::write(&segment, &bytes[..bytes.len() / 2]).unwrap();
    let out = run(lake_read(&dir, &config, &lake));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("fewer than the"), "{}", out.stderr);
    assert_eq!(state_file(&state_path), state);
}

/// `check --lake` probes every location (and says which), `lake-setup` prints one custom
/// source per table, a Security Lake target lands under region=/accountId=/eventDay=, and a
/// connector without a lake refuses `--lake`.
pub fn lake_check_setup_and_security_lake_layout() {
    let dir = Dir::new();
    let config = dir.config(json!({"records": 6, "batch": 3}));
    let root = dir.path("sl");
    let lake = dir.path("sl.json");
    std::fs::write(
        &lake,
        json!({
            "target": {
                "kind": "security_lake",
                "account_id": "external_T1",
                "locations": {"even": format!("file://{}/ext/fake-even/1.0/", root.display())},
                "location_template": format!("file://{}/ext/{{source_name}}/1.0/", root.display()),
            },
            "aws": {"region": "eu-west-1", "external_id": "x-1"},
            "spool": {"dir": dir.path("spool")},
        })
        .to_string(),
    )
    .unwrap();
    let out = run(fake(
        "lake",
        &[&"check", &"--config", &config, &"--lake", &lake],
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("lake: even: file://") && out.stdout.contains("lake: odd: file://"),
        "{}",
        out.stdout
    );
    let mut probe = fake("lake", &[&"check", &"--config", &config, &"--lake", &lake]);
    probe.env(FAULTS, "auth");
    let out = run(probe);
    assert_eq!(out.code, Some(3), "{}", out.stderr);

    let out = run(fake(
        "lake",
        &[&"lake-setup", &"--config", &config, &"--lake", &lake],
    ));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("--source-name fake-odd --event-classes API_ACTIVITY"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("externalId=x-1"), "{}", out.stdout);

    let out = run(lake_read(&dir, &config, &lake));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut files = Vec::new();
    files_under(&root, &mut files);
    let mut relative: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    relative.sort();
    assert!(!relative.is_empty());
    for r in &relative {
        let ok = r.starts_with(
            "ext/fake-even/1.0/region=eu-west-1/accountId=external_T1/eventDay=1970010",
        ) || r.starts_with(
            "ext/fake-odd/1.0/region=eu-west-1/accountId=external_T1/eventDay=1970010",
        );
        assert!(ok && r.ends_with(".ndjson"), "{r}");
        let name = r.rsplit('/').next().unwrap();
        assert_eq!(
            name.len(),
            "0000000001-0123456789abcdef.ndjson".len(),
            "{name}"
        );
    }

    let out = run(fake(
        "cli",
        &[&"check", &"--config", &config, &"--lake", &lake],
    ));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("does not deliver into a lake"),
        "{}",
        out.stderr
    );
}

/// Every test here, for the runner in `tests/sdk.rs`.
pub const TESTS: &[(&str, fn())] = &[
    (
        "lake_kill_at_every_step_is_exactly_once",
        lake_kill_at_every_step_is_exactly_once,
    ),
    (
        "lake_repeated_kills_then_finish_is_exactly_once",
        lake_repeated_kills_then_finish_is_exactly_once,
    ),
    (
        "lake_restart_cuts_the_uncommitted_tail",
        lake_restart_cuts_the_uncommitted_tail,
    ),
    (
        "lake_transient_failures_are_retried_without_loss_or_doubles",
        lake_transient_failures_are_retried_without_loss_or_doubles,
    ),
    (
        "lake_auth_failure_exits_3_and_keeps_the_spool",
        lake_auth_failure_exits_3_and_keeps_the_spool,
    ),
    ("lake_config_failures_exit_2", lake_config_failures_exit_2),
    (
        "lake_full_spool_blocks_delivery_and_the_checkpoint_stays",
        lake_full_spool_blocks_delivery_and_the_checkpoint_stays,
    ),
    (
        "lake_read_gives_up_on_a_lake_that_stays_down_and_keeps_the_spool",
        lake_read_gives_up_on_a_lake_that_stays_down_and_keeps_the_spool,
    ),
    (
        "lake_follow_then_signal_then_finish_is_exactly_once",
        lake_follow_then_signal_then_finish_is_exactly_once,
    ),
    (
        "lake_refuses_mismatched_spools_and_states",
        lake_refuses_mismatched_spools_and_states,
    ),
    (
        "lake_check_setup_and_security_lake_layout",
        lake_check_setup_and_security_lake_layout,
    ),
];
