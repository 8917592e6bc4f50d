//! Runs one case in-process: the real input, the real host runtime, a scripted mock on
//! 127.0.0.1 serving the recorded exchanges, a fixed clock and a state file in a temporary
//! folder. What comes out is a text report (the snapshot) and a list of problems that fail the
//! case whatever the snapshot says: a request the fixture did not expect, an exchange never
//! requested, a record that is not a byte-exact slice of a served body, the token anywhere in
//! the output, or an `expect` fact that does not hold.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use connector_sdk::contract::error::ErrorKind;
use connector_sdk::contract::input::Input;
use connector_sdk::runtime::host::{self, ReadOptions, ReadSummary};
use connector_sdk::runtime::output::MemorySink;
use serde::Deserialize;
use serde_json::Value;
use slack_audit::clock::FixedClock;
use slack_audit::collect::state::SyncState;
use slack_audit::settings::{SlackSecrets, SlackSettings};
use slack_audit::{RecordFormat, SlackAuditInput};
use slack_mock::{MockConfig, MockSlack, RecordedRequest};
use tokio_util::sync::CancellationToken;

use super::fixture::{CASE_FILE, Case, Expect, FIXTURE_TOKEN, Run};

/// A run that takes longer than this is stuck (fixtures keep retries and pacing fast).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// What replaying a case produced.
#[derive(Debug, Clone)]
pub struct CaseReport {
    /// The case's description.
    pub description: String,
    /// The snapshot text: per run, the requests, the outcome, the records and the state.
    pub text: String,
    /// Everything that fails the case regardless of the snapshot.
    pub problems: Vec<String>,
    /// Per run: the outcome class (`ok`, `config`, `auth`, `transient`, `fatal`).
    pub outcomes: Vec<String>,
    /// Per run: the records delivered, exactly as written to the output.
    pub records: Vec<Vec<u8>>,
}

/// Replays the case in `dir` (a folder with a `case.json`).
pub fn run_case(dir: &Path) -> anyhow::Result<CaseReport> {
    run_case_as(dir, RecordFormat::Slack)
}

/// Replays the case with `settings.record_format` set to `format` (the case's config is
/// otherwise unchanged). In OCSF format a record is an event, not a slice of a served body:
/// it must be a JSON object naming its OCSF class.
pub fn run_case_as(dir: &Path, format: RecordFormat) -> anyhow::Result<CaseReport> {
    let case = Case::load(dir)?;
    let runtime = crate::runtime("replay", 2)?;
    runtime.block_on(replay(dir, &case, format))
}

async fn replay(dir: &Path, case: &Case, format: RecordFormat) -> anyhow::Result<CaseReport> {
    let tmp = tempfile::tempdir().context("creating a temporary folder")?;
    let state_path = tmp.path().join("state.json");
    let mut report = CaseReport {
        description: case.description.clone(),
        text: String::new(),
        problems: Vec::new(),
        outcomes: Vec::new(),
        records: Vec::new(),
    };
    if let Some(token) = case
        .config
        .secrets
        .get("user_oauth_token")
        .and_then(Value::as_str)
        && token != FIXTURE_TOKEN
    {
        report.problems.push(format!(
            "{CASE_FILE}: secrets.user_oauth_token must be the placeholder {FIXTURE_TOKEN:?}, never a real token"
        ));
    }
    if let Some(state) = &case.state {
        let state: SyncState = serde_json::from_value(state.clone())
            .context("the case's starting `state` is not a SyncState")?;
        let (store, _) = host::open_state::<SlackAuditInput>(&state_path)?;
        store.commit(&state)?;
    }
    for (index, run) in case.runs.iter().enumerate() {
        let label = format!("run {} of {}", index + 1, case.runs.len());
        replay_run(dir, case, run, &label, &state_path, format, &mut report)
            .await
            .with_context(|| label.clone())?;
    }
    // Shared redactions: nothing in the snapshot may depend on where or when it ran.
    let tmp_text = tmp.path().display().to_string();
    report.text = report.text.replace(&tmp_text, "[tmp]");
    if report.text.contains(FIXTURE_TOKEN) {
        report
            .problems
            .push("the token appears in the output, a message or the state".into());
        report.text = report.text.replace(FIXTURE_TOKEN, "[token]");
    }
    Ok(report)
}

/// How a run ended: the host's summary, or the error class and message.
type Outcome = Result<ReadSummary, (ErrorKind, String)>;

/// Replays one run of the case against a mock serving its exchanges, and appends its part of
/// the report: requests, outcome, records, state, and the problems found on the way.
async fn replay_run(
    dir: &Path,
    case: &Case,
    run: &Run,
    label: &str,
    state_path: &Path,
    format: RecordFormat,
    report: &mut CaseReport,
) -> anyhow::Result<()> {
    let (mock, served_bodies) = start_mock(dir, run).await?;
    let base_url = mock.base_url();
    let (settings, secrets) = run_config(case, &base_url, format, label, &mut report.problems)?;

    let before = std::fs::read(state_path).ok();
    let sink = MemorySink::new();
    let outcome = run_connector(settings, secrets, run, state_path, &sink, label, report).await?;

    let requests = mock.requests();
    check_script(&mock, run, label, &mut report.problems);
    mock.shutdown().await;

    let records = sink.contents();
    let after = std::fs::read(state_path).ok();
    let _ = writeln!(report.text, "# {label} (now {})", run.now);
    if let Some(description) = &run.description {
        let _ = writeln!(report.text, "{description}");
    }
    let matched = report.problems.is_empty();
    write_requests(&mut report.text, &requests, run, matched);
    let outcome_class = match &outcome {
        Ok(_) => "ok".to_owned(),
        Err((kind, _)) => kind_name(*kind).to_owned(),
    };
    write_outcome(&mut report.text, &outcome);
    let lines: Vec<&[u8]> = records
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    write_records(&lines, &served_bodies, format, label, report);
    let _ = writeln!(report.text, "## state");
    let _ = writeln!(report.text, "{}", describe_state(after.as_deref()));

    if let Some(expect) = &run.expect {
        let facts = RunFacts {
            outcome_class: &outcome_class,
            records: lines.len(),
            state_unchanged: before == after,
        };
        check_expectations(expect, &facts, label, &mut report.problems);
    }
    let redacted = report
        .text
        .replace(&base_url, "[mock]")
        .replace(&mock_addr(&base_url), "[mock]");
    report.text = redacted;
    report.outcomes.push(outcome_class);
    report.records.push(records);
    Ok(())
}

/// Starts a mock that answers the run's exchanges in order; also returns the bodies it serves
/// as the output writes them (line breaks flattened), to check records against.
async fn start_mock(dir: &Path, run: &Run) -> anyhow::Result<(MockSlack, Vec<Vec<u8>>)> {
    let script = run
        .exchanges
        .iter()
        .enumerate()
        .map(|(i, e)| e.scripted(dir).with_context(|| format!("exchange #{i}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let served_bodies: Vec<Vec<u8>> = script
        .iter()
        .map(|e| flatten_newlines(&e.response.body))
        .collect();
    let mock = MockSlack::start(MockConfig {
        token: Some(FIXTURE_TOKEN.to_owned()),
        ..MockConfig::scripted(script)
    })
    .await
    .context("starting the mock")?;
    Ok((mock, served_bodies))
}

/// The case's config pointed at the mock (and in `format`), checked against the config schema
/// (a violation is a problem of the case), as the input's settings and secrets.
fn run_config(
    case: &Case,
    base_url: &str,
    format: RecordFormat,
    label: &str,
    problems: &mut Vec<String>,
) -> anyhow::Result<(SlackSettings, SlackSecrets)> {
    let mut settings = case.config.settings.clone();
    settings.insert("api_base_url".into(), Value::String(base_url.to_owned()));
    if format == RecordFormat::Ocsf {
        settings.insert("record_format".into(), Value::String("ocsf".into()));
    }
    let document = serde_json::json!({"settings": settings, "secrets": case.config.secrets});
    for violation in
        connector_sdk::contract::config::validate_against_schema::<SlackAuditInput>(&document)
    {
        problems.push(format!("{label}: the config is invalid: {violation}"));
    }
    let settings: SlackSettings =
        serde_json::from_value(Value::Object(settings)).context("config.settings")?;
    let secrets: SlackSecrets = serde_json::from_value(Value::Object(case.config.secrets.clone()))
        .context("config.secrets")?;
    Ok((settings, secrets))
}

/// Runs the real input and host runtime once, at the run's fixed clock, from the state file
/// into `sink`; a run stuck past [`RUN_TIMEOUT`] is stopped and is a problem of the case.
async fn run_connector(
    settings: SlackSettings,
    secrets: SlackSecrets,
    run: &Run,
    state_path: &Path,
    sink: &MemorySink,
    label: &str,
    report: &mut CaseReport,
) -> anyhow::Result<Outcome> {
    let clock = Arc::new(FixedClock::new(run.now));
    let input = match SlackAuditInput::with_clock(settings, secrets, clock) {
        Err(e) => return Ok(Err((ErrorKind::Config, e.to_string()))),
        Ok(input) => input,
    };
    let (store, state) = host::open_state::<SlackAuditInput>(state_path)?;
    let shutdown = CancellationToken::new();
    let read = host::read(
        Arc::new(input),
        store,
        state,
        sink.clone(),
        ReadOptions::default(),
        shutdown.clone(),
    );
    Ok(match tokio::time::timeout(RUN_TIMEOUT, read).await {
        Ok(Ok(summary)) => Ok(summary),
        Ok(Err(e)) => Err((e.kind(), e.to_string())),
        Err(_) => {
            shutdown.cancel();
            report.problems.push(format!(
                "{label}: still running after {RUN_TIMEOUT:?}; stopped"
            ));
            Err((ErrorKind::Fatal, "stopped: the run did not finish".into()))
        }
    })
}

/// The problems of the script: requests it did not expect, exchanges never requested.
fn check_script(mock: &MockSlack, run: &Run, label: &str, problems: &mut Vec<String>) {
    for mismatch in mock.mismatches() {
        problems.push(format!(
            "{label}: a request the fixture does not expect: {mismatch}"
        ));
    }
    let remaining = mock.remaining_script();
    if remaining > 0 {
        let next = run.exchanges.len() - remaining;
        problems.push(format!(
            "{label}: {remaining} exchange(s) never requested, starting with #{next} (query {:?})",
            run.exchanges[next].query
        ));
    }
}

/// The report's `## requests` section; while every request `matched` its exchange, each line
/// says which answer it got.
fn write_requests(text: &mut String, requests: &[RecordedRequest], run: &Run, matched: bool) {
    let _ = writeln!(text, "## requests ({})", requests.len());
    for (i, request) in requests.iter().enumerate() {
        let status = match request.response_status {
            0 => "no answer".to_owned(),
            s => s.to_string(),
        };
        // Which answer it got, while every request so far matched its exchange.
        let answer = match run.exchanges.get(i).filter(|_| matched) {
            Some(e) if e.drop => String::new(),
            Some(e) => {
                let body = e.body.as_deref().unwrap_or("(empty body)");
                let cut = if e.truncate { ", cut short" } else { "" };
                format!(" ({body}{cut})")
            }
            None => String::new(),
        };
        let _ = writeln!(
            text,
            "{} {} -> {status}{answer}",
            request.method, request.target
        );
    }
}

/// The report's `## outcome` section.
fn write_outcome(text: &mut String, outcome: &Outcome) {
    let _ = writeln!(text, "## outcome");
    match outcome {
        Ok(summary) => {
            let _ = writeln!(
                text,
                "ok (exit 0): {} records, {} checkpoints",
                summary.records, summary.commits
            );
        }
        Err((kind, message)) => {
            let _ = writeln!(
                text,
                "{} (exit {}): {message}",
                kind_name(*kind),
                kind.exit_code()
            );
        }
    }
}

/// The report's `## records` section, and the problems of records: not UTF-8, not an OCSF
/// event (in OCSF format), not a byte-exact slice of a served body (in Slack's).
fn write_records(
    lines: &[&[u8]],
    served_bodies: &[Vec<u8>],
    format: RecordFormat,
    label: &str,
    report: &mut CaseReport,
) {
    let _ = writeln!(report.text, "## records ({})", lines.len());
    for line in lines {
        match std::str::from_utf8(line) {
            Ok(s) => {
                let _ = writeln!(report.text, "{s}");
            }
            Err(_) => report
                .problems
                .push(format!("{label}: a record is not UTF-8")),
        }
        if format == RecordFormat::Ocsf {
            let event: Option<Value> = serde_json::from_slice(line).ok();
            if !event.is_some_and(|e| e["class_uid"].is_u64()) {
                report.problems.push(format!(
                    "{label}: a record is not an OCSF event: {}",
                    String::from_utf8_lossy(line)
                ));
            }
        } else if !served_bodies
            .iter()
            .any(|body| body.windows(line.len()).any(|w| w == *line))
        {
            report.problems.push(format!(
                "{label}: a record is not a byte-exact slice of any served body: {}",
                String::from_utf8_lossy(line)
            ));
        }
    }
}

/// What a run did, as its `expect` block can state it.
struct RunFacts<'a> {
    outcome_class: &'a str,
    records: usize,
    state_unchanged: bool,
}

/// The problems of a run whose `expect` facts do not hold.
fn check_expectations(
    expect: &Expect,
    facts: &RunFacts<'_>,
    label: &str,
    problems: &mut Vec<String>,
) {
    if let Some(expected) = &expect.outcome
        && expected != facts.outcome_class
    {
        problems.push(format!(
            "{label}: expected outcome {expected:?}, got {:?}",
            facts.outcome_class
        ));
    }
    if let Some(expected) = expect.records
        && expected != facts.records as u64
    {
        problems.push(format!(
            "{label}: expected {expected} records, got {}",
            facts.records
        ));
    }
    if expect.state_unchanged && !facts.state_unchanged {
        problems.push(format!(
            "{label}: expected the state file to be left as it was, but it changed"
        ));
    }
}

/// `host:port` of a base URL such as `http://127.0.0.1:4321`.
fn mock_addr(base_url: &str) -> String {
    base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest)
        .trim_end_matches('/')
        .to_owned()
}

/// The output turns line breaks inside an entry into spaces (NDJSON); compare bodies the same way.
fn flatten_newlines(body: &[u8]) -> Vec<u8> {
    body.iter()
        .map(|b| if *b == b'\n' || *b == b'\r' { b' ' } else { *b })
        .collect()
}

/// The outcome class as fixtures spell it.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Config => "config",
        ErrorKind::Auth => "auth",
        ErrorKind::Transient => "transient",
        ErrorKind::Fatal => "fatal",
        ErrorKind::Certificate => "certificate",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    connector: String,
    version: u32,
    state: SyncState,
}

/// The state file, pretty and in a stable key order (typed, so the order is the struct's).
fn describe_state(bytes: Option<&[u8]>) -> String {
    let Some(bytes) = bytes else {
        return "(no state file)".into();
    };
    match serde_json::from_slice::<Envelope>(bytes) {
        Ok(envelope) => {
            let state = serde_json::to_string_pretty(&envelope.state)
                .unwrap_or_else(|e| format!("(cannot print the state: {e})"));
            let expected = (SlackAuditInput::NAME, SlackAuditInput::STATE_VERSION);
            if (envelope.connector.as_str(), envelope.version) == expected {
                state
            } else {
                format!(
                    "(envelope {:?} version {}) {state}",
                    envelope.connector, envelope.version
                )
            }
        }
        Err(e) => format!("(not a state file: {e}) {}", String::from_utf8_lossy(bytes)),
    }
}
