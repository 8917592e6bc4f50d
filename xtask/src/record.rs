//! `cargo xtask record --config FILE --case NAME`: records a real exchange with your own
//! organization into a new replay fixture, safe to share.
//!
//! # Why
//!
//! A bug against an API nobody else can call is fixed by replaying what that API said. This
//! task turns one run of the connector against your organization into a case under
//! `fixtures/slack-audit/<NAME>/` that `cargo xtask replay` runs, with nothing in it that
//! identifies you:
//!
//! - the token is never written: the fixture carries the placeholder
//!   `xoxp-1000000000-2000000000-300000000000-f1c7e5f1c7e5f1c7e5f1c7e5f1c7e5f1`, and every written file is checked for the real one;
//! - names, emails, IP addresses, user agents and the like in the bodies are replaced by
//!   pseudonyms, consistently (the same person stays the same pseudonym across pages), while
//!   every other byte of Slack's answer is kept (see [`crate::replay::pseudonym`]).
//!
//! # How
//!
//! The connector runs in-process with its clock frozen at the moment recording starts (the
//! fixture's `now`), pointed at a loopback proxy ([`crate::replay::proxy`]) that forwards each
//! request to the configured `api_base_url` and captures the exchange. Your state file, if you
//! give one with `--state`, is only read: the recording runs on a copy. The new case is then
//! replayed once to prove it reproduces what happened; create its snapshot with
//! `cargo xtask replay --review NAME` and read it before sharing.
//!
//! Timing-only settings are made fast for replays (`requests_per_minute` 600,
//! `retry_base_delay_ms` 1) and `Retry-After` values are capped at 1 second; nothing that
//! changes which requests are made is touched.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use connector_sdk::runtime::host::{self, ReadOptions};
use connector_sdk::runtime::output::MemorySink;
use serde_json::{Map, Value};
use slack_audit::SlackAuditInput;
use slack_audit::clock::{Clock, FixedClock, SystemClock};
use slack_audit::settings::{SlackConfig, SlackSecrets, SlackSettings};
use tokio_util::sync::CancellationToken;

use crate::replay::fixture::{CASE_FILE, Case, CaseConfig, Exchange, Expect, FIXTURE_TOKEN, Run};
use crate::replay::proxy::{Captured, RecordingProxy};
use crate::replay::pseudonym::Pseudonymiser;
use crate::replay::runner::{self, kind_name};

/// Longest `Retry-After` kept in a fixture, in seconds.
const MAX_RETRY_AFTER: u64 = 1;

/// Arguments of `cargo xtask record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Your connector config document ({"settings": {…}, "secrets": {…}}), with your real token.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Name of the new case (a folder name: letters, digits, `-`, `_`).
    #[arg(long, value_name = "NAME")]
    pub case: String,
    /// Start from this state file (read only; the recording runs on a copy).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Where to create the case folder.
    #[arg(long, value_name = "DIR", default_value_os_t = crate::replay::cases_root())]
    pub out: PathBuf,
}

/// What a recording produced.
#[derive(Debug)]
pub struct Recording {
    /// The new case folder.
    pub dir: PathBuf,
    /// Exchanges recorded.
    pub exchanges: usize,
    /// The run's outcome class.
    pub outcome: String,
    /// Records the run delivered.
    pub records: u64,
    /// Distinct values pseudonymised.
    pub pseudonymised: usize,
    /// Problems replaying the new case (empty when it replays as recorded).
    pub replay_problems: Vec<String>,
}

/// Runs the task.
pub fn run(args: &RecordArgs) -> anyhow::Result<()> {
    let recording = record(&args.config, &args.case, args.state.as_deref(), &args.out)?;
    println!(
        "recorded {} exchange(s) into {} (outcome {}, {} records, {} values pseudonymised)",
        recording.exchanges,
        recording.dir.display(),
        recording.outcome,
        recording.records,
        recording.pseudonymised
    );
    if !recording.replay_problems.is_empty() {
        bail!(
            "the new case does not replay as recorded (keep it and report this):\n  - {}",
            recording.replay_problems.join("\n  - ")
        );
    }
    println!(
        "it replays as recorded. Create its snapshot with `cargo xtask replay --review {}`, then read {} before sharing it",
        args.case,
        recording.dir.display()
    );
    Ok(())
}

/// Records one run with the config at `config_path` into `out/<case>`.
pub fn record(
    config_path: &Path,
    case: &str,
    state: Option<&Path>,
    out: &Path,
) -> anyhow::Result<Recording> {
    if case.is_empty()
        || !case
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("--case {case:?}: use letters, digits, `-` and `_` only");
    }
    let dir = out.join(case);
    if dir.exists() {
        bail!("{} exists already; pick another --case", dir.display());
    }
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    // Validated as the connector would (schema and semantic checks; messages never quote the
    // token), before anything is started.
    connector_sdk::contract::config::parse::<SlackAuditInput>(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("{}: {e}", config_path.display()))?;
    let document: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", config_path.display()))?;
    let settings = document
        .get("settings")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let secrets = document
        .get("secrets")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if settings.get("use_synthetic_data") == Some(&Value::Bool(true)) {
        bail!("settings.use_synthetic_data is true: there is nothing to record");
    }
    let token = secrets
        .get("user_oauth_token")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let starting_state = match state {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("reading state file {}", path.display()))?,
        ),
        None => None,
    };
    let now = SystemClock.now();

    // The config as the user wrote it must be valid as it is (https to Slack, a real token).
    let typed_settings: SlackSettings =
        serde_json::from_value(Value::Object(settings.clone())).context("config settings")?;
    let typed_secrets: SlackSecrets =
        serde_json::from_value(Value::Object(secrets.clone())).context("config secrets")?;
    let checked =
        SlackConfig::new(typed_settings, typed_secrets, now).map_err(|e| anyhow::anyhow!("{e}"))?;
    let upstream = checked.base_url.to_string();
    let timeout = checked.request_timeout();

    let runtime = crate::runtime("record", 2)?;
    let (captured, outcome, records) = runtime.block_on(capture(
        &upstream,
        timeout,
        settings.clone(),
        secrets,
        starting_state.as_deref(),
        now,
    ))?;
    drop(runtime);

    let mut pseudonymiser = Pseudonymiser::new();
    for c in &captured {
        pseudonymiser.learn(&c.body);
    }
    let mut pages: Vec<(String, Vec<u8>)> = Vec::new();
    let mut exchanges = Vec::new();
    for (i, c) in captured.iter().enumerate() {
        exchanges.push(exchange_of(i, c, &mut pseudonymiser, &mut pages));
    }

    let mut fixture_settings = settings;
    fixture_settings.remove("api_base_url");
    fixture_settings.insert("requests_per_minute".into(), Value::from(600));
    fixture_settings.insert("retry_base_delay_ms".into(), Value::from(1));
    let mut fixture_secrets = Map::new();
    fixture_secrets.insert("user_oauth_token".into(), Value::from(FIXTURE_TOKEN));
    let fixture_state = match &starting_state {
        Some(bytes) => {
            let envelope: Value =
                serde_json::from_slice(bytes).context("the --state file is not a state file")?;
            envelope.get("state").cloned()
        }
        None => None,
    };
    let fixture = Case {
        description: format!(
            "Recorded with `cargo xtask record` ({} exchange(s), outcome {outcome}). Describe what it shows.",
            exchanges.len()
        ),
        config: CaseConfig {
            settings: fixture_settings,
            secrets: fixture_secrets,
        },
        state: fixture_state,
        runs: vec![Run {
            description: None,
            now,
            exchanges,
            expect: Some(Expect {
                outcome: Some(outcome.clone()),
                records: Some(records),
                state_unchanged: false,
            }),
        }],
    };

    write_case(&dir, &fixture, &pages, &token, &pseudonymiser)?;
    let replay_problems = match runner::run_case(&dir) {
        Ok(report) => report.problems,
        Err(e) => vec![format!("{e:#}")],
    };
    Ok(Recording {
        dir,
        exchanges: captured.len(),
        outcome,
        records,
        pseudonymised: pseudonymiser.len(),
        replay_problems,
    })
}

/// Runs the connector once through the proxy.
async fn capture(
    upstream: &str,
    timeout: Duration,
    mut settings: Map<String, Value>,
    secrets: Map<String, Value>,
    starting_state: Option<&[u8]>,
    now: i64,
) -> anyhow::Result<(Vec<Captured>, String, u64)> {
    let proxy = RecordingProxy::start(upstream, timeout).await?;
    settings.insert("api_base_url".into(), Value::String(proxy.base_url()));
    let settings: SlackSettings = serde_json::from_value(Value::Object(settings))?;
    let secrets: SlackSecrets = serde_json::from_value(Value::Object(secrets))?;
    let input = SlackAuditInput::with_clock(settings, secrets, Arc::new(FixedClock::new(now)))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let tmp = tempfile::tempdir()?;
    let state_path = tmp.path().join("state.json");
    if let Some(bytes) = starting_state {
        std::fs::write(&state_path, bytes)?;
    }
    let (store, state) = host::open_state::<SlackAuditInput>(&state_path)?;
    let sink = MemorySink::new();
    let result = host::read(
        Arc::new(input),
        store,
        state,
        sink.clone(),
        ReadOptions::default(),
        CancellationToken::new(),
    )
    .await;
    let outcome = match &result {
        Ok(_) => "ok".to_owned(),
        Err(e) => {
            println!("the run failed ({}): {e}", kind_name(e.kind()));
            kind_name(e.kind()).to_owned()
        }
    };
    let records = sink.contents().iter().filter(|b| **b == b'\n').count() as u64;
    let captured = proxy.captured();
    proxy.stop();
    Ok((captured, outcome, records))
}

/// The fixture form of one captured exchange; its body goes to `pages`.
fn exchange_of(
    index: usize,
    captured: &Captured,
    pseudonymiser: &mut Pseudonymiser,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> Exchange {
    let query = captured.query.iter().cloned().collect();
    let Some(status) = captured.status else {
        return Exchange {
            query,
            status: 200,
            headers: Default::default(),
            body: None,
            truncate: false,
            drop: true,
        };
    };
    let body = pseudonymiser.body(&captured.body);
    let mut headers: std::collections::BTreeMap<String, String> = captured
        .headers
        .iter()
        .map(|(k, v)| {
            let v = if k.eq_ignore_ascii_case("retry-after") {
                v.trim()
                    .parse::<u64>()
                    .map_or_else(|_| v.clone(), |s| s.min(MAX_RETRY_AFTER).to_string())
            } else {
                v.clone()
            };
            (k.clone(), v)
        })
        .collect();
    let truncate = captured.truncated.is_some();
    if let Some(declared) = captured.truncated {
        // Keep it cut short by as much as it was, whatever the pseudonyms did to its length.
        let missing = declared.map_or(1, |d| d.saturating_sub(captured.body.len() as u64).max(1));
        headers.insert(
            "Content-Length".into(),
            (body.len() as u64 + missing).to_string(),
        );
    }
    let extension = if body.is_empty() {
        "empty"
    } else if body.first() == Some(&b'{') || body.first() == Some(&b'[') {
        "json"
    } else if body.starts_with(b"<") {
        "html"
    } else {
        "txt"
    };
    let file = format!("pages/{:03}.{extension}", index + 1);
    pages.push((file.clone(), body));
    Exchange {
        query,
        status,
        headers,
        body: Some(file),
        truncate,
        drop: false,
    }
}

/// Writes the case, then makes sure no written byte carries the token or an original value.
fn write_case(
    dir: &Path,
    fixture: &Case,
    pages: &[(String, Vec<u8>)],
    token: &str,
    pseudonymiser: &Pseudonymiser,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("pages"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let mut text = serde_json::to_string_pretty(fixture)?;
    text.push('\n');
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![(dir.join(CASE_FILE), text.into_bytes())];
    files.extend(pages.iter().map(|(f, b)| (dir.join(f), b.clone())));
    let leaks = |bytes: &[u8]| -> Option<String> {
        if !token.is_empty() && contains(bytes, token.as_bytes()) {
            return Some("the token".into());
        }
        pseudonymiser
            .must_not_remain()
            .find(|o| contains(bytes, o.as_bytes()))
            .map(|_| "an email or IP address that should have been pseudonymised".into())
    };
    for (path, bytes) in &files {
        if let Some(what) = leaks(bytes) {
            let _ = std::fs::remove_dir_all(dir);
            bail!(
                "{} would contain {what}; nothing was written",
                path.display()
            );
        }
    }
    for (path, bytes) in &files {
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
