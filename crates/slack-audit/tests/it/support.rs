//! The helpers every test goes through: a mock with entries, a config pointing at it, and one
//! function per way of running the input (in-process, or the real binary).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use connector_sdk::runtime::checkpoint::HostError;
use connector_sdk::runtime::host::{self, ReadOptions, ReadSummary};
use connector_sdk::runtime::metrics::{Metrics, MetricsServer};
use connector_sdk::runtime::output::MemorySink;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use slack_audit::SlackAuditInput;
use slack_audit::clock::FixedClock;
use slack_mock::{MockConfig, MockEntry, MockSlack};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};
use tokio_util::sync::CancellationToken;

/// A fixed "now" in the past, so the mock never sees a `latest` in its future.
pub const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// The token every test uses; it must never show up anywhere.
pub const TOKEN: &str = "xoxp-4242424242-4242424242-424242424242-5ec7e75ec7e7d0a07d0a07b4e7a1e5ec";

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_slack-audit")
}

/// The Airbyte front end's binary.
pub fn source_binary() -> &'static str {
    env!("CARGO_BIN_EXE_source-slack-audit")
}

pub async fn mock() -> MockSlack {
    mock_with(MockConfig::default()).await
}

pub async fn mock_with(config: MockConfig) -> MockSlack {
    MockSlack::start(MockConfig {
        token: Some(TOKEN.into()),
        ..config
    })
    .await
    .unwrap()
}

/// A mock holding `all`, serving each page `page_delay` after it is asked for.
pub async fn paced_mock(all: &[MockEntry], page_delay: Duration) -> MockSlack {
    let mock = mock_with(MockConfig {
        page_delay,
        ..MockConfig::default()
    })
    .await;
    mock.push_entries(all.to_vec());
    mock
}

/// A mock holding `all`, serving each page at once.
pub async fn mock_holding(all: &[MockEntry]) -> MockSlack {
    paced_mock(all, Duration::ZERO).await
}

/// An entry at `date` with a recognisable id.
pub fn entry(id: &str, date: i64) -> MockEntry {
    MockEntry::synthetic(id, date, "user_login", "W0123ABCD", "W0123ABCD")
}

/// `n` entries spread over `[from, to]`, several per second.
pub fn entries(prefix: &str, n: usize, from: i64, to: i64) -> Vec<MockEntry> {
    let span = (to - from + 1) as usize;
    (0..n)
        .map(|i| {
            entry(
                &format!("{prefix}-{i:06}"),
                from + ((i * 7919) % span) as i64,
            )
        })
        .collect()
}

/// Settings pointing at `mock`, with fast retries, merged with `extra`.
pub fn settings(mock: &MockSlack, extra: Value) -> Value {
    let mut s = json!({
        "api_base_url": mock.base_url(),
        "page_size": 100,
        "requests_per_minute": 600,
        "retry_base_delay_ms": 5,
        "request_timeout_seconds": 2,
    });
    if let (Some(base), Some(extra)) = (s.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    s
}

pub fn config(settings: Value) -> Value {
    json!({"settings": settings, "secrets": {"user_oauth_token": TOKEN}})
}

/// A temp dir with a state file path in it.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }
    pub fn write_config(&self, config: &Value) -> PathBuf {
        let path = self.dir.path().join("config.json");
        std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
        path
    }
    /// Writes an Airbyte catalog selecting `audit_logs` incrementally, appended.
    pub fn write_catalog(&self) -> PathBuf {
        let path = self.dir.path().join("catalog.json");
        let catalog = json!({"streams": [{
            "stream": {"name": "audit_logs", "json_schema": {}, "supported_sync_modes": ["incremental"]},
            "sync_mode": "incremental",
            "destination_sync_mode": "append",
        }]});
        std::fs::write(&path, catalog.to_string()).unwrap();
        path
    }
    pub fn state_json(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.state()).unwrap()).unwrap()
    }
}

/// A backfill to run: a mock holding `all` (each page served `page_delay` late) and a work dir
/// whose config reads it from `2025-12-31` on, with the settings of `extra` besides.
pub struct Backfill {
    pub mock: MockSlack,
    pub all: Vec<MockEntry>,
    pub work: Workdir,
    /// The config file.
    pub config: PathBuf,
}

impl Backfill {
    pub async fn new(all: Vec<MockEntry>, page_delay: Duration, extra: Value) -> Self {
        let mock = paced_mock(&all, page_delay).await;
        let work = Workdir::new();
        let mut from = json!({"backfill_start_time": "2025-12-31"});
        if let (Some(from), Some(extra)) = (from.as_object_mut(), extra.as_object()) {
            from.extend(extra.clone());
        }
        let config = work.write_config(&config(settings(&mock, from)));
        Backfill {
            mock,
            all,
            work,
            config,
        }
    }

    /// A backfill of `all`, served at once, with the default settings.
    pub async fn of(all: Vec<MockEntry>) -> Self {
        Backfill::new(all, Duration::ZERO, json!({})).await
    }

    /// [`spawn_read`] of this backfill into the work dir's state.
    pub fn spawn_read(&self, extra: &[&str], stderr: Stdio) -> (Child, StdoutLines) {
        spawn_read(&self.config, &self.work.state(), extra, stderr)
    }
}

/// What the real binary writes on stdout, line by line.
pub type StdoutLines = Lines<BufReader<ChildStdout>>;

/// The real binary running `read --config <config> --state <state>`, then `extra`: the child,
/// with its stdout's lines to read and its stderr as `stderr` says.
pub fn spawn_read(
    config: &Path,
    state: &Path,
    extra: &[&str],
    stderr: Stdio,
) -> (Child, StdoutLines) {
    let mut child = tokio::process::Command::new(binary())
        .args(read_args(config, state))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// The next line of `lines`, which must come within 10 s.
pub async fn next_line(lines: &mut StdoutLines) -> String {
    tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

/// SIGKILLs `child`, and returns the lines it had already written to the pipe: they count as
/// delivered, as for a real consumer.
pub async fn kill_and_drain(mut child: Child, lines: &mut StdoutLines) -> Vec<String> {
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let mut rest = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push(line);
    }
    rest
}

/// What one in-process read produced.
pub struct Run {
    pub lines: Vec<String>,
    pub result: Result<ReadSummary, HostError>,
}

impl Run {
    pub fn ids(&self) -> Vec<String> {
        self.lines.iter().map(|l| id_of(l)).collect()
    }
}

pub fn id_of(line: &str) -> String {
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {e}: {line}"));
    v["id"].as_str().unwrap_or("").to_owned()
}

/// Runs the input in-process once (no follow) with the clock at `now`.
pub async fn read_at(settings: Value, state: &Path, now: i64) -> Run {
    let input = SlackAuditInput::with_clock(
        serde_json::from_value(settings).unwrap(),
        serde_json::from_value(json!({"user_oauth_token": TOKEN})).unwrap(),
        Arc::new(FixedClock::new(now)),
    )
    .unwrap();
    let (store, initial) = host::open_state::<SlackAuditInput>(state).unwrap();
    let sink = MemorySink::new();
    let result = host::read(
        Arc::new(input),
        store,
        initial,
        sink.clone(),
        ReadOptions::default(),
        CancellationToken::new(),
    )
    .await;
    let lines = String::from_utf8(sink.contents())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    Run { lines, result }
}

/// Runs the real binary to completion.
pub async fn run_binary(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(binary());
    cmd.args(args).kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

/// Runs `binary` with `args` to completion at `RUST_LOG=trace`, without the variables `unset`
/// and with `envs` set: its exit code, stdout and stderr.
pub async fn run_traced(
    binary: &str,
    args: &[&str],
    unset: &[&str],
    envs: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let mut command = tokio::process::Command::new(binary);
    command
        .args(args)
        .env("RUST_LOG", "trace")
        .kill_on_drop(true);
    for variable in unset {
        command.env_remove(variable);
    }
    for (k, v) in envs {
        command.env(k, v);
    }
    let out = command.output().await.unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A read running in-process on its own task, its metrics served on a loopback port.
pub struct ServedRead {
    /// Where the metrics endpoint listens.
    pub addr: SocketAddr,
    pub metrics: Metrics,
    pub server: MetricsServer,
    /// What the read wrote.
    pub sink: MemorySink,
    pub reading: tokio::task::JoinHandle<Result<ReadSummary, HostError>>,
}

impl ServedRead {
    /// Starts `input` reading from the state file `state` with `options` (and metrics, served
    /// on `127.0.0.1:0`) until `shutdown`.
    pub async fn start(
        input: SlackAuditInput,
        state: &Path,
        options: ReadOptions,
        shutdown: CancellationToken,
    ) -> Self {
        let metrics = Metrics::new(&input, "test");
        let server = MetricsServer::bind("127.0.0.1:0", metrics.clone())
            .await
            .unwrap();
        let addr = server.local_addr();
        let (store, initial) = host::open_state::<SlackAuditInput>(state).unwrap();
        let sink = MemorySink::new();
        let reading = tokio::spawn(host::read(
            Arc::new(input),
            store,
            initial,
            sink.clone(),
            ReadOptions {
                metrics: Some(metrics.clone()),
                ..options
            },
            shutdown,
        ));
        ServedRead {
            addr,
            metrics,
            server,
            sink,
            reading,
        }
    }
}

/// The arguments of `slack-audit read --config <config> --state <state>`.
pub fn read_args(config: &Path, state: &Path) -> Vec<String> {
    vec![
        "read".to_owned(),
        "--config".to_owned(),
        config.to_str().unwrap().to_owned(),
        "--state".to_owned(),
        state.to_str().unwrap().to_owned(),
    ]
}

/// Runs `slack-audit read --config <config> --state <state>`, then `extra` arguments, to
/// completion, with `envs` set.
pub async fn run_read(
    config: &Path,
    state: &Path,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> Output {
    let args = read_args(config, state);
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    run_binary(&all, envs).await
}

/// Runs `slack-audit read --config <config> --state <state>` to completion, which must exit 0:
/// the ids of the records it wrote, in order.
pub async fn read_the_rest(config: &Path, state: &Path) -> Vec<String> {
    let out = run_read(config, state, &[], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ids_in(&out.stdout)
}

/// The ids of the records a run wrote on stdout, in order (the output must be UTF-8).
pub fn ids_in(stdout: &[u8]) -> Vec<String> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(id_of)
        .collect()
}

/// Asserts `ids` holds every id of `expected` exactly once and nothing else.
pub fn assert_exactly_once(ids: &[String], expected: &[MockEntry]) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in ids {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let dups: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(dups.is_empty(), "duplicates: {dups:?}");
    let missing: Vec<_> = expected
        .iter()
        .filter(|e| !counts.contains_key(e.id.as_str()))
        .map(|e| (&e.id, e.date_create))
        .collect();
    assert!(
        missing.is_empty(),
        "lost {} entries, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(ids.len(), expected.len(), "unexpected extra records");
}

/// GET `http://addr/path`: status and body.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The real binary reading with `--metrics-addr 127.0.0.1:0`, its stdout lines, and the
/// address it logged.
pub struct Reader {
    pub child: Child,
    pub lines: Lines<BufReader<ChildStdout>>,
    pub addr: SocketAddr,
    pub stderr: Arc<std::sync::Mutex<String>>,
}

impl Reader {
    pub async fn start(
        config: &std::path::Path,
        state: &std::path::Path,
        extra: &[&str],
    ) -> Reader {
        let mut child = tokio::process::Command::new(binary())
            .args([
                "read",
                "--config",
                config.to_str().unwrap(),
                "--state",
                state.to_str().unwrap(),
                "--metrics-addr",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut errors = BufReader::new(child.stderr.take().unwrap()).lines();
        let stderr = Arc::new(std::sync::Mutex::new(String::new()));
        let addr = loop {
            let line = tokio::time::timeout(Duration::from_secs(10), errors.next_line())
                .await
                .expect("the endpoint's address is logged at start")
                .unwrap()
                .unwrap_or_else(|| panic!("stderr ended: {}", stderr.lock().unwrap()));
            stderr.lock().unwrap().push_str(&line);
            stderr.lock().unwrap().push('\n');
            if let Some(at) = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("address="))
            {
                break at.parse().unwrap();
            }
        };
        let sink = Arc::clone(&stderr);
        tokio::spawn(async move {
            while let Ok(Some(line)) = errors.next_line().await {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Reader {
            child,
            lines,
            addr,
            stderr,
        }
    }

    /// Reads `n` more lines (10 s each at most).
    pub async fn take(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match tokio::time::timeout(Duration::from_secs(10), self.lines.next_line()).await {
                Ok(Ok(Some(line))) => out.push(line),
                other => panic!(
                    "output ended after {} lines: {other:?}\n{}",
                    out.len(),
                    self.stderr.lock().unwrap()
                ),
            }
        }
        out
    }

    /// SIGTERM, and the exit code.
    pub async fn stop(mut self) -> Option<i32> {
        let pid = Pid::from_raw(self.child.id().unwrap() as i32);
        kill(pid, Signal::SIGTERM).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("stops promptly")
            .unwrap()
            .code()
    }
}
