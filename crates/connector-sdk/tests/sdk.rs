//! The SDK proves its contract without Slack: a fake connector ([`fake::Fake`]) run as a real
//! process through both front ends, the native CLI and the Airbyte protocol: spec, check,
//! discover, read, a kill in the middle of a read, a clean stop, failures, and the resume from
//! the state each front end left, with every record delivered exactly once across the resume.
//!
//! This test binary is its own connector: run with `FAKE_FRONT=cli` or `FAKE_FRONT=airbyte` in
//! its environment, `main` is the fake connector's `main` (one call into the SDK, as any
//! connector's); otherwise it runs the tests below (`harness = false`; an argument filters them
//! by name, `--exact` and `--list` as libtest has them, so cargo-nextest can run them too).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    unreachable_pub
)]

mod fake;
mod lake;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const FRONT: &str = "FAKE_FRONT";

fn main() -> ExitCode {
    match std::env::var(FRONT).as_deref() {
        Ok("cli") => return connector_sdk::front::cli::run::<fake::Fake>("0.0.0-fake"),
        Ok("cli-extra") => {
            return connector_sdk::front::cli::run_with::<fake::Fake>("0.0.0-fake", &[echo()]);
        }
        Ok("airbyte") => return connector_sdk::front::airbyte::run::<fake::Fake>("0.0.0-fake"),
        Ok("lake") => {
            return connector_sdk::front::cli::run_lake_with::<fake::Fake>(
                "0.0.0-fake",
                lake::parts(),
                &[],
            );
        }
        _ => {}
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filter: Option<&String> = args.iter().find(|a| !a.starts_with('-'));
    let exact = args.iter().any(|a| a == "--exact");
    let base: &[(&str, fn())] = &[
        ("cli_spec_check_and_status", cli_spec_check_and_status),
        (
            "cli_runs_the_connectors_own_subcommand",
            cli_runs_the_connectors_own_subcommand,
        ),
        (
            "cli_read_kill_and_resume_is_exactly_once",
            cli_read_kill_and_resume_is_exactly_once,
        ),
        (
            "cli_stop_on_signal_then_resume",
            cli_stop_on_signal_then_resume,
        ),
        (
            "cli_failure_keeps_what_was_delivered",
            cli_failure_keeps_what_was_delivered,
        ),
        (
            "cli_refuses_impossible_and_foreign_states",
            cli_refuses_impossible_and_foreign_states,
        ),
        (
            "cli_metrics_expose_the_inputs_instruments",
            cli_metrics_expose_the_inputs_instruments,
        ),
        (
            "airbyte_spec_check_and_discover",
            airbyte_spec_check_and_discover,
        ),
        (
            "airbyte_read_message_sequence",
            airbyte_read_message_sequence,
        ),
        (
            "airbyte_kill_and_resume_is_exactly_once",
            airbyte_kill_and_resume_is_exactly_once,
        ),
        ("airbyte_failure_then_resume", airbyte_failure_then_resume),
        (
            "airbyte_refuses_an_impossible_state",
            airbyte_refuses_an_impossible_state,
        ),
        (
            "the_secrets_exact_value_is_redacted_in_every_form_by_both_front_ends",
            the_secrets_exact_value_is_redacted_in_every_form_by_both_front_ends,
        ),
        (
            "a_panic_is_redacted_and_reported_in_each_front_ends_framing",
            a_panic_is_redacted_and_reported_in_each_front_ends_framing,
        ),
        (
            "neither_front_end_may_dump_core",
            neither_front_end_may_dump_core,
        ),
    ];
    let tests: Vec<(&str, fn())> = base.iter().chain(lake::TESTS).copied().collect();
    // As libtest answers a runner (cargo-nextest) that lists, then runs one test at a time.
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            for (name, _) in tests {
                println!("{name}: test");
            }
        }
        return ExitCode::SUCCESS;
    }
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, test) in &tests {
        let selected = match filter {
            None => true,
            Some(f) if exact => name == f,
            Some(f) => name.contains(f.as_str()),
        };
        if !selected {
            continue;
        }
        ran += 1;
        match std::panic::catch_unwind(test) {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        ran - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// ---- running the fake as a process ----

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a config with `settings` (merged over 10 records in batches of 4) and a token.
    fn config(&self, settings: Value) -> PathBuf {
        self.config_with_token(settings, "fake-token-123")
    }

    /// [`Dir::config`] with the token `token`.
    fn config_with_token(&self, settings: Value, token: &str) -> PathBuf {
        let mut all = json!({"records": 10, "batch": 4});
        for (k, v) in settings.as_object().unwrap() {
            all[k] = v.clone();
        }
        let path = self.path("config.json");
        let doc = json!({"settings": all, "secrets": {"token": token}});
        std::fs::write(&path, doc.to_string()).unwrap();
        // Private, as a config holding a secret should be (else the SDK warns).
        #[cfg(unix)]
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        path
    }
}

fn fake(front: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .env(FRONT, front)
        .env_remove("LOG_FORMAT")
        .env("RUST_LOG", "info");
    for a in args {
        command.arg(a);
    }
    command
}

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(mut command: Command) -> Output {
    let out = command.output().unwrap();
    Output {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A running fake whose stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut command: Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads stdout until a line satisfies `done` (panics after a minute: the fake hung).
    fn until(&mut self, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no such line; saw {:?}", self.seen));
            let hit = done(&line);
            self.seen.push(line);
            if hit {
                return;
            }
        }
    }

    fn kill(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        let _ = self.child.wait();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        self.seen
    }

    fn signal_and_wait(mut self, signal: &str) -> (Option<i32>, Vec<String>, String) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut stderr).unwrap();
        (status.code(), self.seen, stderr)
    }
}

/// Waits until `done` holds of the state file at `path` (a minute at most).
fn wait_for_state(path: &Path, done: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(bytes) = std::fs::read(path)
            && let Ok(state) = serde_json::from_slice::<Value>(&bytes)
            && done(&state)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the state file never got there");
}

/// The `n`s of NDJSON records.
fn numbers(lines: impl IntoIterator<Item = impl AsRef<str>>) -> Vec<u64> {
    lines
        .into_iter()
        .filter(|l| !l.as_ref().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l.as_ref()).unwrap();
            v["n"].as_u64().unwrap()
        })
        .collect()
}

/// Every record of `0..total` exactly once, in order.
fn assert_exactly_once(numbers: &[u64], total: u64) {
    assert_eq!(
        numbers,
        (0..total).collect::<Vec<_>>(),
        "not 0..{total} once"
    );
}

fn state_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

// ---- the native CLI ----

fn cli_spec_check_and_status() {
    let out = run(fake("cli", &[&"spec"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let schema: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(schema["title"], "fake config");
    assert!(
        schema.to_string().contains("\"writeOnly\":true"),
        "{schema}"
    );

    let dir = Dir::new();
    let config = dir.config(json!({}));
    let out = run(fake("cli", &[&"check", &"--config", &config]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "check succeeded: the fake source holds 10 records\n"
    );

    let config = dir.config(json!({"auth_fail": true}));
    let out = run(fake("cli", &[&"check", &"--config", &config]));
    assert_eq!(out.code, Some(3));
    assert_eq!(
        out.stderr,
        "fake: authentication error: the fake source refused the token\n"
    );

    let config = dir.config(json!({"batch": 0, "surprise": 1}));
    let out = run(fake("cli", &[&"check", &"--config", &config]));
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("/settings"), "{}", out.stderr);
    assert!(!out.stderr.contains("fake-token-123"), "{}", out.stderr);

    let state = dir.path("state.json");
    let out = run(fake("cli", &[&"status", &"--state", &state, &"--json"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["exists"], false);
    std::fs::write(
        &state,
        json!({"connector": "fake", "version": 1, "state": {"next": 8}}).to_string(),
    )
    .unwrap();
    let out = run(fake("cli", &[&"status", &"--state", &state]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("next record  8"), "{}", out.stdout);
}

/// A connector's own subcommand: `echo WORD` prints it and exits 0; `echo --refuse` fails
/// as a config error would.
fn echo() -> connector_sdk::front::cli::ExtraCommand {
    connector_sdk::front::cli::ExtraCommand {
        command: clap::Command::new("echo")
            .about("Print a word (the fake connector's own subcommand)")
            .arg(clap::Arg::new("word"))
            .arg(
                clap::Arg::new("refuse")
                    .long("refuse")
                    .action(clap::ArgAction::SetTrue),
            ),
        run: |matches| {
            Box::pin(async move {
                if matches.get_flag("refuse") {
                    return Err(connector_sdk::contract::error::InputError::config(
                        "refused as asked",
                    ));
                }
                let word = matches
                    .get_one::<String>("word")
                    .cloned()
                    .unwrap_or_default();
                println!("{word}");
                Ok(ExitCode::from(7))
            })
        },
    }
}

fn cli_runs_the_connectors_own_subcommand() {
    let out = run(fake("cli-extra", &[&"--help"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("echo") && out.stdout.contains("the fake connector's own"),
        "{}",
        out.stdout
    );
    let out = run(fake("cli-extra", &[&"echo", &"hello"]));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(7), "hello\n"),
        "{}",
        out.stderr
    );
    let out = run(fake(
        "cli-extra",
        &[&"--log-format", &"json", &"echo", &"--refuse"],
    ));
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let line: Value = serde_json::from_str(out.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(line["message"], "refused as asked", "{line}");
    assert_eq!(line["kind"], "config error", "{line}");
    // The SDK's own commands are unchanged beside it.
    let out = run(fake("cli-extra", &[&"spec"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

fn cli_read(dir: &Dir, config: &Path) -> Command {
    let state = dir.path("state.json");
    fake("cli", &[&"read", &"--config", &config, &"--state", &state])
}

fn cli_read_kill_and_resume_is_exactly_once() {
    let dir = Dir::new();
    let state = dir.path("state.json");
    let mut first = Running::start(cli_read(&dir, &dir.config(json!({"pause_after": 2}))));
    // Two batches delivered and committed, then the fake waits: kill it there.
    first.until(|l| l == r#"{"n":7}"#);
    wait_for_state(&state, |s| s["state"]["next"] == 8);
    let before = first.kill();
    assert_eq!(numbers(&before), (0..8).collect::<Vec<_>>());
    assert_eq!(
        state_file(&state),
        json!({"connector": "fake", "version": 1, "state": {"next": 8}})
    );

    let out = run(cli_read(&dir, &dir.config(json!({}))));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut all = numbers(&before);
    all.extend(numbers(out.stdout.lines()));
    assert_exactly_once(&all, 10);
    assert!(
        out.stderr.contains("Read finished.") && out.stderr.contains("records=2"),
        "{}",
        out.stderr
    );
    // Nothing more to read: nothing delivered, the state unchanged.
    let out = run(cli_read(&dir, &dir.config(json!({}))));
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), ""));
    assert_eq!(state_file(&state)["state"]["next"], 10);
}

fn cli_stop_on_signal_then_resume() {
    let dir = Dir::new();
    let state = dir.path("state.json");
    let mut first = Running::start(cli_read(&dir, &dir.config(json!({"pause_after": 1}))));
    first.until(|l| l == r#"{"n":3}"#);
    wait_for_state(&state, |s| s["state"]["next"] == 4);
    let (code, before, stderr) = first.signal_and_wait("-TERM");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("Stopped on signal."), "{stderr}");
    let out = run(cli_read(&dir, &dir.config(json!({}))));
    let mut all = numbers(&before);
    all.extend(numbers(out.stdout.lines()));
    assert_exactly_once(&all, 10);
}

fn cli_failure_keeps_what_was_delivered() {
    let dir = Dir::new();
    let out = run(cli_read(&dir, &dir.config(json!({"fail_after": 1}))));
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .ends_with("fake: error (transient): the fake source failed after 1 batches\n"),
        "{}",
        out.stderr
    );
    let before = numbers(out.stdout.lines());
    assert_eq!(before, vec![0, 1, 2, 3]);
    assert_eq!(state_file(&dir.path("state.json"))["state"]["next"], 4);
    let out = run(cli_read(&dir, &dir.config(json!({}))));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let mut all = before;
    all.extend(numbers(out.stdout.lines()));
    assert_exactly_once(&all, 10);

    let dir = Dir::new();
    let out = run(cli_read(&dir, &dir.config(json!({"auth_fail": true}))));
    assert_eq!((out.code, out.stdout.as_str()), (Some(3), ""));
    assert!(
        !dir.path("state.json").exists(),
        "a refused run left a state"
    );
}

fn cli_refuses_impossible_and_foreign_states() {
    let dir = Dir::new();
    let state = dir.path("state.json");
    let cases = [
        (
            json!({"connector": "fake", "version": 1, "state": {"next": 2_000_000}}),
            "it holds a state no run could have written: next record 2000000 is beyond any source",
        ),
        (
            json!({"connector": "other", "version": 1, "state": {"next": 1}}),
            "it belongs to connector \"other\", not \"fake\"",
        ),
        (
            json!({"connector": "fake", "version": 2, "state": {"next": 1}}),
            "state version 2, this build reads up to 1",
        ),
        (
            json!({"connector": "fake", "version": 0, "state": {"next": 1}}),
            "state version 0 is not supported by this build (it reads version 1)",
        ),
    ];
    for (content, expected) in cases {
        std::fs::write(&state, content.to_string()).unwrap();
        let out = run(cli_read(&dir, &dir.config(json!({}))));
        assert_eq!(out.code, Some(1), "{content}");
        assert!(out.stderr.contains(expected), "{content}: {}", out.stderr);
        assert_eq!(out.stdout, "");
        assert_eq!(state_file(&state), content, "the refused state was touched");
    }
}

fn cli_metrics_expose_the_inputs_instruments() {
    // The input's own counter through the SDK's instruments, beside the host's families.
    let input = connector_sdk::contract::config::parse::<fake::Fake>(
        json!({"settings": {"records": 10, "batch": 4}, "secrets": {"token": "t"}})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let metrics = connector_sdk::runtime::metrics::Metrics::new(&input, "0.0.0-fake");
    let text = metrics.encode();
    for expected in [
        "# HELP fake_batches_total Batches the fake emitted.\n# TYPE fake_batches_total counter\nfake_batches_total 0\n",
        "# TYPE fake_records_delivered_total counter\n",
        "fake_build_info{version=\"0.0.0-fake\"} 1\n",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let input = std::sync::Arc::new(input);
    let summary = runtime
        .block_on(connector_sdk::runtime::host::read(
            std::sync::Arc::clone(&input),
            NoCommit,
            fake::FakeState::default(),
            connector_sdk::runtime::output::MemorySink::default(),
            connector_sdk::runtime::host::ReadOptions {
                metrics: Some(metrics.clone()),
                ..Default::default()
            },
            tokio_util::sync::CancellationToken::new(),
        ))
        .unwrap();
    assert_eq!(summary.records, 10);
    let text = metrics.encode();
    for expected in [
        "fake_batches_total 3\n",
        "fake_records_delivered_total 10\n",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
}

struct NoCommit;
impl connector_sdk::runtime::checkpoint::Checkpoints<fake::FakeState> for NoCommit {
    fn commit(
        &mut self,
        _: &fake::FakeState,
    ) -> Result<(), connector_sdk::runtime::checkpoint::HostError> {
        Ok(())
    }
}

// ---- the Airbyte front end ----

fn messages(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A message in short: `RECORD n`, `STATE next (count)`, `STATUS s`, `ERROR failure_type`,
/// `CONNECTION_STATUS s`; `LOG`s are left out.
fn short(message: &Value) -> Option<String> {
    Some(match message["type"].as_str().unwrap() {
        "LOG" => return None,
        "RECORD" => {
            assert_eq!(message["record"]["stream"], "numbers");
            format!("RECORD {}", message["record"]["data"]["n"])
        }
        "STATE" => {
            let s = &message["state"];
            assert_eq!(s["type"], "STREAM");
            assert_eq!(s["stream"]["stream_descriptor"]["name"], "numbers");
            assert_eq!(s["stream"]["stream_state"]["connector"], "fake");
            assert_eq!(s["stream"]["stream_state"]["version"], 1);
            format!(
                "STATE {} ({})",
                s["stream"]["stream_state"]["state"]["next"], s["sourceStats"]["recordCount"]
            )
        }
        "TRACE" => match message["trace"]["type"].as_str().unwrap() {
            "STREAM_STATUS" => format!(
                "STATUS {}",
                message["trace"]["stream_status"]["status"]
                    .as_str()
                    .unwrap()
            ),
            "ERROR" => format!(
                "ERROR {}",
                message["trace"]["error"]["failure_type"].as_str().unwrap()
            ),
            other => format!("TRACE {other}"),
        },
        "CONNECTION_STATUS" => format!(
            "CONNECTION_STATUS {}",
            message["connectionStatus"]["status"].as_str().unwrap()
        ),
        other => other.to_owned(),
    })
}

fn shorts(stdout: &str) -> Vec<String> {
    messages(stdout).iter().filter_map(short).collect()
}

fn catalog(dir: &Dir, mode: &str) -> PathBuf {
    let path = dir.path("catalog.json");
    let catalog = json!({"streams": [{
        "stream": {"name": "numbers", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": mode,
        "destination_sync_mode": "append",
    }]});
    std::fs::write(&path, catalog.to_string()).unwrap();
    path
}

fn airbyte_read(dir: &Dir, config: &Path, state: Option<&Path>) -> Command {
    let catalog = catalog(dir, "incremental");
    let mut command = fake(
        "airbyte",
        &[&"read", &"--config", &config, &"--catalog", &catalog],
    );
    if let Some(state) = state {
        command.arg("--state").arg(state);
    }
    command
}

fn airbyte_spec_check_and_discover() {
    let out = run(fake("airbyte", &[&"spec"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let spec = &messages(&out.stdout)[0];
    assert_eq!(spec["type"], "SPEC");
    let connection = &spec["spec"]["connectionSpecification"];
    assert_eq!(
        connection["properties"]["secrets"]["properties"]["token"]["airbyte_secret"], true,
        "{connection}"
    );

    let dir = Dir::new();
    for (settings, expected) in [
        (json!({}), "CONNECTION_STATUS SUCCEEDED"),
        (json!({"auth_fail": true}), "CONNECTION_STATUS FAILED"),
        (json!({"batch": 0}), "CONNECTION_STATUS FAILED"),
    ] {
        let config = dir.config(settings.clone());
        let out = run(fake("airbyte", &[&"check", &"--config", &config]));
        assert_eq!(out.code, Some(0), "{settings}: {}", out.stderr);
        assert_eq!(shorts(&out.stdout), vec![expected], "{settings}");
        assert!(!out.stdout.contains("fake-token-123"));
    }

    let config = dir.config(json!({}));
    let out = run(fake("airbyte", &[&"discover", &"--config", &config]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let catalog = &messages(&out.stdout)[0];
    assert_eq!(catalog["type"], "CATALOG");
    let stream = &catalog["catalog"]["streams"][0];
    assert_eq!(stream["name"], "numbers");
    assert_eq!(stream["default_cursor_field"], json!(["n"]));
    assert_eq!(stream["source_defined_primary_key"], json!([["n"]]));
}

fn airbyte_read_message_sequence() {
    let dir = Dir::new();
    let out = run(airbyte_read(&dir, &dir.config(json!({})), None));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let expected = [
        "STATUS STARTED",
        "STATUS RUNNING",
        "RECORD 0",
        "RECORD 1",
        "RECORD 2",
        "RECORD 3",
        "STATE 4 (4.0)",
        "RECORD 4",
        "RECORD 5",
        "RECORD 6",
        "RECORD 7",
        "STATE 8 (4.0)",
        "RECORD 8",
        "RECORD 9",
        "STATE 10 (2.0)",
        "STATUS COMPLETE",
    ];
    assert_eq!(shorts(&out.stdout), expected);
}

/// The state file a pipeline host would pass back: its last `STATE` message's `state`.
fn last_state(lines: &[String], path: &Path) -> u64 {
    let last = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|m| m["type"] == "STATE")
        .unwrap();
    std::fs::write(path, json!([last["state"]]).to_string()).unwrap();
    last["state"]["stream"]["stream_state"]["state"]["next"]
        .as_u64()
        .unwrap()
}

/// The records up to the last `STATE` (those after it are not committed: the host drops them).
fn committed_records(lines: &[String]) -> Vec<u64> {
    let mut committed = Vec::new();
    let mut pending = Vec::new();
    for line in lines {
        let m: Value = serde_json::from_str(line).unwrap();
        match m["type"].as_str() {
            Some("RECORD") => pending.push(m["record"]["data"]["n"].as_u64().unwrap()),
            Some("STATE") => committed.append(&mut pending),
            _ => {}
        }
    }
    committed
}

fn airbyte_kill_and_resume_is_exactly_once() {
    let dir = Dir::new();
    let mut first = Running::start(airbyte_read(
        &dir,
        &dir.config(json!({"pause_after": 2})),
        None,
    ));
    first.until(|l| l.contains(r#""type":"STATE""#) && l.contains(r#""next":8"#));
    let before = first.kill();
    let state = dir.path("state.json");
    assert_eq!(last_state(&before, &state), 8);
    let mut all = committed_records(&before);
    let out = run(airbyte_read(&dir, &dir.config(json!({})), Some(&state)));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        shorts(&out.stdout),
        [
            "STATUS STARTED",
            "STATUS RUNNING",
            "RECORD 8",
            "RECORD 9",
            "STATE 10 (2.0)",
            "STATUS COMPLETE"
        ]
    );
    let lines: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    all.extend(committed_records(&lines));
    assert_exactly_once(&all, 10);
}

fn airbyte_failure_then_resume() {
    let dir = Dir::new();
    let out = run(airbyte_read(
        &dir,
        &dir.config(json!({"fail_after": 1})),
        None,
    ));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(
        shorts(&out.stdout),
        [
            "STATUS STARTED",
            "STATUS RUNNING",
            "RECORD 0",
            "RECORD 1",
            "RECORD 2",
            "RECORD 3",
            "STATE 4 (4.0)",
            "STATUS INCOMPLETE",
            "ERROR transient_error"
        ]
    );
    let error = messages(&out.stdout).pop().unwrap();
    assert_eq!(
        error["trace"]["error"]["message"],
        "the fake source failed after 1 batches"
    );
    assert_eq!(
        error["trace"]["error"]["stream_descriptor"]["name"],
        "numbers"
    );
    let lines: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    let state = dir.path("state.json");
    assert_eq!(last_state(&lines, &state), 4);
    let mut all = committed_records(&lines);
    let out = run(airbyte_read(&dir, &dir.config(json!({})), Some(&state)));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    all.extend(committed_records(&lines));
    assert_exactly_once(&all, 10);

    let out = run(airbyte_read(
        &dir,
        &dir.config(json!({"auth_fail": true})),
        None,
    ));
    assert_eq!(out.code, Some(3));
    assert_eq!(
        shorts(&out.stdout),
        ["STATUS STARTED", "STATUS INCOMPLETE", "ERROR config_error"]
    );
}

fn airbyte_refuses_an_impossible_state() {
    let dir = Dir::new();
    let state = dir.path("state.json");
    let stream_state = |next: u64| {
        json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "numbers"},
            "stream_state": {"connector": "fake", "version": 1, "state": {"next": next}}}}])
    };
    std::fs::write(&state, stream_state(2_000_000).to_string()).unwrap();
    let out = run(airbyte_read(&dir, &dir.config(json!({})), Some(&state)));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert_eq!(shorts(&out.stdout), ["ERROR config_error"]);
    let error = messages(&out.stdout).pop().unwrap();
    let message = error["trace"]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(
            "it holds a state no run could have written: next record 2000000 is beyond any source"
        ),
        "{message}"
    );
    // A state it could have written resumes there.
    std::fs::write(&state, stream_state(9).to_string()).unwrap();
    let out = run(airbyte_read(&dir, &dir.config(json!({})), Some(&state)));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        shorts(&out.stdout),
        [
            "STATUS STARTED",
            "STATUS RUNNING",
            "RECORD 9",
            "STATE 10 (1.0)",
            "STATUS COMPLETE"
        ]
    );
}

// ---- the secret, whatever happens ----

/// A secret the fake recognises by no shape, so only its exact value can redact it, in every
/// form a message may carry it: as it is, JSON-escaped, percent-encoded (either case) and
/// form-encoded.
const ODD_SECRET: &str = "p@ss w\u{f6}rd\"\\/+&=tail";
const ODD_FORMS: [&str; 5] = [
    ODD_SECRET,
    "p@ss w\u{f6}rd\\\"\\\\/+&=tail",
    "p%40ss%20w%C3%B6rd%22%5C%2F%2B%26%3Dtail",
    "p%40ss%20w%c3%b6rd%22%5c%2f%2b%26%3dtail",
    "p%40ss+w%C3%B6rd%22%5C%2F%2B%26%3Dtail",
];

/// Whether any form of the odd secret, or a recognisable piece of it, is in `text`.
fn odd_secret_in(text: &str) -> bool {
    ODD_FORMS.iter().any(|form| text.contains(form))
        || text.contains("rd%22")
        || text.contains("p@ss")
}

fn the_secrets_exact_value_is_redacted_in_every_form_by_both_front_ends() {
    let dir = Dir::new();
    let message = format!("the source echoed {}", ODD_FORMS.join(" | "));
    let config = dir.config_with_token(json!({"check_fails_with": message}), ODD_SECRET);
    let runs = [
        ("cli text", fake("cli", &[&"check", &"--config", &config])),
        (
            "cli json",
            fake(
                "cli",
                &[&"--log-format", &"json", &"check", &"--config", &config],
            ),
        ),
        (
            "airbyte",
            fake("airbyte", &[&"check", &"--config", &config]),
        ),
    ];
    for (how, command) in runs {
        let out = run(command);
        assert_eq!(out.code, Some(1), "{how}: {}", out.stderr);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(!odd_secret_in(&all), "{how}: the secret leaked: {all}");
        assert!(
            all.contains(
                "the source echoed [redacted] | [redacted] | [redacted] | [redacted] | [redacted]"
            ),
            "{how}: the message is kept, the secret replaced: {all}"
        );
    }
}

fn a_panic_is_redacted_and_reported_in_each_front_ends_framing() {
    let dir = Dir::new();
    let config = dir.config(json!({"check_panics_with": "boom near fake-token-123"}));
    let leaked = |out: &Output| {
        out.stdout.contains("fake-token-123") || out.stderr.contains("fake-token-123")
    };

    let no_backtrace = |mut command: Command| {
        command.env_remove("RUST_BACKTRACE");
        command
    };
    let out = run(no_backtrace(fake("cli", &[&"check", &"--config", &config])));
    assert_eq!(out.code, Some(101), "{}", out.stderr);
    assert!(!leaked(&out), "{}", out.stderr);
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "fake: error: the connector panicked (a bug; please report it) in thread \"main\" at "
        ) && last.ends_with(": boom near [redacted]"),
        "{}",
        out.stderr
    );

    // Asked for, the backtrace comes along (redacted as well).
    let mut command = fake("cli", &[&"check", &"--config", &config]);
    command.env("RUST_BACKTRACE", "1");
    let out = run(command);
    assert_eq!(out.code, Some(101), "{}", out.stderr);
    assert!(!leaked(&out), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(": boom near [redacted]\nstack backtrace:\n"),
        "{}",
        out.stderr
    );

    let out = run(no_backtrace(fake(
        "cli",
        &[&"--log-format", &"json", &"check", &"--config", &config],
    )));
    assert_eq!(out.code, Some(101), "{}", out.stderr);
    assert!(!leaked(&out), "{}", out.stderr);
    let lines: Vec<Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "ERROR", "{last}");
    assert_eq!(last["kind"], "panic", "{last}");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .ends_with(": boom near [redacted]"),
        "{last}"
    );

    let out = run(no_backtrace(fake(
        "airbyte",
        &[&"check", &"--config", &config],
    )));
    assert_eq!(out.code, Some(101), "{}", out.stderr);
    assert!(!leaked(&out), "{}{}", out.stdout, out.stderr);
    assert_eq!(out.stderr, "", "everything goes to stdout as messages");
    let messages = messages(&out.stdout);
    let trace = messages.last().unwrap();
    assert_eq!(trace["type"], "TRACE", "{trace}");
    assert_eq!(trace["trace"]["type"], "ERROR", "{trace}");
    assert_eq!(
        trace["trace"]["error"]["failure_type"], "system_error",
        "{trace}"
    );
    let message = trace["trace"]["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("the connector panicked")
            && message.ends_with(": boom near [redacted]"),
        "{trace}"
    );
}

fn neither_front_end_may_dump_core() {
    let dir = Dir::new();
    let config = dir.config(json!({"check_reports_core_dumps": true}));
    let expected =
        "the fake source holds 10 records; dumpable: NotDumpable; core limit: Some(0)/Some(0)";
    let out = run(fake("cli", &[&"check", &"--config", &config]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, format!("check succeeded: {expected}\n"));
    let out = run(fake("airbyte", &[&"check", &"--config", &config]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let status = messages(&out.stdout)
        .into_iter()
        .find(|m| m["type"] == "CONNECTION_STATUS")
        .unwrap();
    assert_eq!(status["connectionStatus"]["message"], expected, "{status}");
}
