//! The Airbyte front end through the real `source-slack-audit` binary, against the loopback
//! mock: one message per line on stdout, records byte for byte, a `STATE` after the records it
//! covers, resumption from the last `STATE`, full refresh, the catalog's selection, the state
//! forms hosts send, and failures as one `TRACE` with an exit code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use connector_sdk::front::airbyte::schema::keywords_outside_draft_07;
use serde_json::{Value, json};
use slack_mock::{Fault, MockEntry, MockSlack};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::*;

const RECORD_PREFIX: &str = r#"{"type":"RECORD","record":{"stream":"audit_logs","data":"#;

/// What one run of `source-slack-audit` printed.
struct Source {
    code: i32,
    lines: Vec<String>,
    messages: Vec<Value>,
    stderr: String,
}

impl Source {
    fn of_type(&self, kind: &str) -> Vec<&Value> {
        self.messages.iter().filter(|m| m["type"] == kind).collect()
    }

    /// `(id, data as written)` of every RECORD, in order.
    fn records(&self) -> Vec<(String, String)> {
        self.lines
            .iter()
            .filter(|l| l.starts_with(r#"{"type":"RECORD""#))
            .map(|l| record_data(l))
            .collect()
    }

    fn ids(&self) -> Vec<String> {
        self.records().into_iter().map(|(id, _)| id).collect()
    }

    /// The `state` of the last STATE message: what a host keeps and passes back.
    fn last_state(&self) -> Value {
        self.of_type("STATE")
            .last()
            .map(|m| m["state"].clone())
            .expect("no STATE message")
    }

    /// The one error `TRACE`, which must be the last message.
    fn trace(&self) -> &Value {
        let errors: Vec<&Value> = self
            .of_type("TRACE")
            .into_iter()
            .filter(|m| m["trace"]["type"] == "ERROR")
            .collect();
        assert_eq!(errors.len(), 1, "one error TRACE wanted: {:?}", self.lines);
        assert_eq!(
            self.messages.last(),
            Some(errors[0]),
            "the error TRACE comes last"
        );
        &errors[0]["trace"]
    }

    /// The stream statuses reported, in order.
    fn statuses(&self) -> Vec<&str> {
        self.of_type("TRACE")
            .into_iter()
            .filter(|m| m["trace"]["type"] == "STREAM_STATUS")
            .map(|m| {
                assert_eq!(
                    m["trace"]["stream_status"]["stream_descriptor"],
                    json!({"name": "audit_logs"})
                );
                m["trace"]["stream_status"]["status"].as_str().unwrap()
            })
            .collect()
    }

    /// The messages other than logs, as `type` (and the status or trace type for a TRACE).
    fn sequence(&self) -> Vec<String> {
        self.messages
            .iter()
            .filter(|m| m["type"] != "LOG")
            .map(|m| match m["type"].as_str().unwrap() {
                "TRACE" if m["trace"]["type"] == "STREAM_STATUS" => {
                    m["trace"]["stream_status"]["status"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                }
                "TRACE" => format!("TRACE {}", m["trace"]["type"].as_str().unwrap()),
                other => other.to_owned(),
            })
            .collect()
    }
}

/// `(id, the data exactly as written)` of a RECORD line.
fn record_data(line: &str) -> (String, String) {
    let rest = line
        .strip_prefix(RECORD_PREFIX)
        .unwrap_or_else(|| panic!("not a RECORD of audit_logs: {line}"));
    let (data, tail) = rest.rsplit_once(r#","emitted_at":"#).unwrap();
    assert!(
        tail.ends_with("}}") && tail[..tail.len() - 2].bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );
    (id_of(data), data.to_owned())
}

/// Parses every stdout line as one Airbyte message and checks none holds the token.
fn parse(code: i32, stdout: &[u8], stderr: &[u8]) -> Source {
    let stdout = String::from_utf8(stdout.to_vec()).unwrap();
    let stderr = String::from_utf8_lossy(stderr).into_owned();
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains(TOKEN) && !text.contains("5ec7e75ec7e7d0a07"),
            "token leaked:\n{text}"
        );
    }
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    let messages = lines
        .iter()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON message a line ({e}): {line}"));
            assert!(v["type"].is_string(), "no type: {line}");
            v
        })
        .collect();
    Source {
        code,
        lines,
        messages,
        stderr,
    }
}

async fn source(args: &[&str], envs: &[(&str, &str)]) -> Source {
    let mut cmd = tokio::process::Command::new(source_binary());
    cmd.args(args).kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    parse(out.status.code().unwrap_or(-1), &out.stdout, &out.stderr)
}

fn catalog(work: &Workdir, streams: Value) -> PathBuf {
    let path = work.dir.path().join("catalog.json");
    std::fs::write(&path, json!({ "streams": streams }).to_string()).unwrap();
    path
}

fn audit_logs(sync_mode: &str) -> Value {
    json!([{
        "stream": {"name": "audit_logs", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": sync_mode,
        "destination_sync_mode": "append",
    }])
}

fn state_file(work: &Workdir, name: &str, state: &Value) -> PathBuf {
    let path = work.dir.path().join(name);
    std::fs::write(&path, state.to_string()).unwrap();
    path
}

/// `read` with `sync_mode` and, if given, `--state` holding `state`.
async fn read(
    work: &Workdir,
    config: &Path,
    sync_mode: &str,
    state: Option<&Value>,
    envs: &[(&str, &str)],
) -> Source {
    let catalog = catalog(work, audit_logs(sync_mode));
    let mut args = vec![
        "read".to_owned(),
        "--config".to_owned(),
        config.display().to_string(),
        "--catalog".to_owned(),
        catalog.display().to_string(),
    ];
    if let Some(state) = state {
        args.push("--state".into());
        args.push(state_file(work, "state.json", state).display().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    source(&args, envs).await
}

/// An entry formatted the way no serializer of ours would: spaces, an escape, a trailing zero,
/// an unknown field. It must reach the host exactly like this.
fn odd_entry(id: &str, date: i64) -> MockEntry {
    MockEntry::from_json(&format!(
        r#"{{ "id" : "{id}", "date_create":{date},  "action":"user_login", "actor":{{"type":"user","user":{{"id":"W0123ABCD","name":"Ad\u00e9le"}}}}, "entity":{{"type":"user","user":{{"id":"W0456EFGH"}}}}, "context":{{"ip_address":"203.0.113.42"}}, "score": 2.50, "x_new":[1, {{"deep":null}}] }}"#
    ))
    .unwrap()
}

fn odd_entries(prefix: &str, n: usize, from: i64, to: i64) -> Vec<MockEntry> {
    entries(prefix, n, from, to)
        .into_iter()
        .map(|e| odd_entry(&e.id, e.date_create))
        .collect()
}

/// A config for `mock` with a backfill reaching the entries (the binary's clock is real).
fn mock_config(work: &Workdir, mock: &MockSlack, extra: Value) -> PathBuf {
    let mut s = settings(mock, json!({"backfill_start_time": "3h", "page_size": 50}));
    if let (Some(base), Some(extra)) = (s.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    work.write_config(&config(s))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn spec_is_one_message_with_the_config_schema_secrets_marked_and_draft_07_only() {
    let out = source(&["spec"], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.messages.len(), 1, "{:?}", out.lines);
    assert!(out.lines[0].starts_with(r#"{"type":"SPEC","spec":"#));
    let spec = &out.messages[0]["spec"];
    assert_eq!(spec["supportsIncremental"], json!(true));
    let settings = &spec["connectionSpecification"]["properties"]["settings"]["properties"];
    for filter in [
        "actions",
        "exclude_actions",
        "action_categories",
        "exclude_action_categories",
    ] {
        assert_eq!(settings[filter]["type"], "array", "{filter}: {spec}");
    }
    assert_eq!(spec["protocol_version"], json!("0.2.0"));
    assert_eq!(
        spec["documentationUrl"],
        json!(slack_audit::DOCUMENTATION_URL)
    );
    // Airbyte's rule: `additionalProperties`, where set, is `true` (a config written for another
    // version stays valid); the front end ignores unknown keys instead (tested below).
    assert!(
        !spec.to_string().contains(r#""additionalProperties":false"#),
        "{spec}"
    );
    let schema = &spec["connectionSpecification"];
    let token = &schema["properties"]["secrets"]["properties"]["user_oauth_token"];
    assert_eq!(token["airbyte_secret"], json!(true), "{token}");
    assert_eq!(token["writeOnly"], json!(true));
    assert!(!schema.to_string().contains("$ref"), "{schema}");
    assert_eq!(keywords_outside_draft_07(schema), Vec::<String>::new());

    // The same documents are valid and invalid under it as under the native schema, once the
    // keys the native schema does not know are dropped (as the front end does).
    let native_schema =
        connector_sdk::contract::config::config_schema::<slack_audit::SlackAuditInput>();
    let native = jsonschema::validator_for(&native_schema).unwrap();
    let inlined = connector_sdk::front::airbyte::schema::for_airbyte(native_schema.clone());
    let airbyte = jsonschema::validator_for(schema).unwrap();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/bad");
    let mut documents: Vec<Value> = std::fs::read_dir(corpus)
        .unwrap()
        .filter_map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).ok()?).ok())
        .collect();
    for example in ["synthetic.json", "slack.json"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(example);
        documents.push(serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap());
    }
    assert!(documents.len() > 20);
    let mut valid = 0;
    let mut with_unknown_keys = 0;
    for document in &documents {
        let mut known = document.clone();
        let dropped =
            connector_sdk::front::airbyte::lenient_config::drop_unknown_keys(&mut known, &inlined);
        with_unknown_keys += usize::from(!dropped.is_empty());
        assert_eq!(
            airbyte.is_valid(document),
            native.is_valid(&known),
            "{document}"
        );
        valid += usize::from(native.is_valid(document));
    }
    assert!(valid >= 2 && valid < documents.len(), "{valid} valid");
    assert!(
        with_unknown_keys >= 1,
        "the corpus has a document with an unknown key"
    );
}

#[tokio::test]
async fn discover_describes_audit_logs_with_a_schema_its_records_satisfy() {
    let work = Workdir::new();
    let config = work.write_config(&json!({"settings": {
        "use_synthetic_data": true, "backfill_start_time": "1h", "synthetic_events_per_hour": 50000
    }}));
    let out = source(&["discover", "--config", config.to_str().unwrap()], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.messages.len(), 1, "{:?}", out.lines);
    let streams = out.messages[0]["catalog"]["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1);
    let stream = &streams[0];
    assert_eq!(stream["name"], "audit_logs");
    assert_eq!(
        stream["supported_sync_modes"],
        json!(["full_refresh", "incremental"])
    );
    assert_eq!(stream["source_defined_cursor"], json!(true));
    assert_eq!(stream["default_cursor_field"], json!(["date_create"]));
    assert_eq!(stream["source_defined_primary_key"], json!([["id"]]));
    let schema = &stream["json_schema"];
    assert_eq!(schema["properties"]["id"]["type"], "string");
    assert_eq!(schema["properties"]["date_create"]["type"], "integer");
    assert_eq!(
        schema["properties"]["details"]["type"],
        json!(["object", "null"])
    );
    assert!(!schema.to_string().contains("$ref"));
    assert_eq!(keywords_outside_draft_07(schema), Vec::<String>::new());

    // Synthetic records (every kind of action) satisfy it, as they satisfy the native schema.
    let validator = jsonschema::validator_for(schema).unwrap();
    let records = read(&work, &config, "incremental", None, &[]).await;
    assert_eq!(records.code, 0, "{}", records.stderr);
    let data = records.records();
    assert!(data.len() > 100, "{}", data.len());
    for (id, text) in data.iter().step_by(data.len() / 2000 + 1) {
        let value: Value = serde_json::from_str(text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{id}: {errors:?}");
    }
    // And a record that breaks the schema is caught by it.
    assert!(!validator.is_valid(&json!({"id": 7, "date_create": "soon"})));
}

/// With `record_format: "ocsf"` the stream is OCSF events: its schema, cursor and key follow,
/// and the records read satisfy that schema.
#[tokio::test]
async fn discover_follows_the_record_format() {
    let work = Workdir::new();
    let config = work.write_config(&json!({"settings": {
        "use_synthetic_data": true, "backfill_start_time": "1h",
        "synthetic_events_per_hour": 20000, "record_format": "ocsf"
    }}));
    let out = source(&["discover", "--config", config.to_str().unwrap()], &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let stream = &out.messages[0]["catalog"]["streams"][0];
    assert_eq!(stream["name"], "audit_logs");
    assert_eq!(stream["default_cursor_field"], json!(["time"]));
    // No key: hosts' caches refuse a nested one (`metadata.uid`); see `record_stream`.
    assert!(
        stream.get("source_defined_primary_key").is_none(),
        "{stream}"
    );
    let schema = &stream["json_schema"];
    for field in [
        "class_uid",
        "activity_id",
        "time",
        "metadata",
        "actor",
        "unmapped",
    ] {
        assert!(
            schema["properties"].get(field).is_some(),
            "no {field} in {schema}"
        );
    }
    assert!(schema["properties"].get("date_create").is_none());
    assert!(!schema.to_string().contains("$ref"));

    let validator = jsonschema::validator_for(schema).unwrap();
    let records = read(&work, &config, "incremental", None, &[]).await;
    assert_eq!(records.code, 0, "{}", records.stderr);
    let events: Vec<Value> = records
        .of_type("RECORD")
        .iter()
        .map(|m| m["record"]["data"].clone())
        .collect();
    assert!(events.len() > 100, "{}", events.len());
    for event in events.iter().step_by(events.len() / 500 + 1) {
        let errors: Vec<String> = validator
            .iter_errors(event)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{event}: {errors:?}");
        assert!(
            event["metadata"]["uid"].is_string() && event["time"].is_i64(),
            "{event}"
        );
    }
}

/// The stream's schema is the one of `settings.ocsf_version`: 1.3.0 lacks attributes 1.8.0's
/// union has (`is_alert`, `policies`, …), and its records say 1.3.0.
#[tokio::test]
async fn discover_shows_the_chosen_ocsf_versions_schema() {
    let work = Workdir::new();
    let mut properties = Vec::new();
    for version in ["1.8.0", "1.3.0"] {
        let config = work.write_config(&json!({"settings": {
            "use_synthetic_data": true, "backfill_start_time": "1h",
            "synthetic_events_per_hour": 2000, "record_format": "ocsf", "ocsf_version": version
        }}));
        let out = source(&["discover", "--config", config.to_str().unwrap()], &[]).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let schema = &out.messages[0]["catalog"]["streams"][0]["json_schema"];
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../schemas/ocsf")
                    .join(version)
                    .join("events.schema.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let keys = |s: &Value| -> Vec<String> {
            s["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        assert_eq!(keys(schema), keys(&want), "{version}");
        properties.push(keys(schema));
        let records = read(&work, &config, "incremental", None, &[]).await;
        assert_eq!(records.code, 0, "{}", records.stderr);
        let events = records.of_type("RECORD");
        assert!(!events.is_empty());
        for m in events {
            assert_eq!(m["record"]["data"]["metadata"]["version"], version);
        }
    }
    assert!(properties[0].contains(&"is_alert".to_owned()));
    assert!(!properties[1].contains(&"is_alert".to_owned()));
}

#[tokio::test]
async fn read_writes_records_byte_for_byte_and_a_state_after_the_records_it_covers() {
    let mock = mock().await;
    let t = now();
    let all = odd_entries("b", 230, t - 5000, t - 10);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let config = mock_config(&work, &mock, json!({}));
    let out = read(&work, &config, "incremental", None, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "stderr: {}", out.stderr);

    let by_id: HashMap<&str, &str> = all.iter().map(|e| (e.id.as_str(), &*e.json)).collect();
    let records = out.records();
    for (id, data) in &records {
        assert_eq!(Some(&data.as_str()), by_id.get(id.as_str()), "record {id}");
    }
    assert_exactly_once(&out.ids(), &all);

    // Each STATE counts the RECORDs since the previous one, and none is left uncovered.
    let mut since = 0u64;
    let mut states = 0;
    for m in &out.messages {
        match m["type"].as_str() {
            Some("RECORD") => since += 1,
            Some("STATE") => {
                let state = &m["state"];
                assert_eq!(state["type"], "STREAM");
                assert_eq!(
                    state["stream"]["stream_descriptor"],
                    json!({"name": "audit_logs"})
                );
                let envelope = &state["stream"]["stream_state"];
                assert_eq!(envelope["connector"], "slack-audit");
                assert_eq!(envelope["version"], 1);
                assert_eq!(state["sourceStats"]["recordCount"], json!(since as f64));
                since = 0;
                states += 1;
            }
            _ => {}
        }
    }
    assert_eq!(since, 0, "records after the last STATE");
    assert!(
        states >= 5,
        "{states} STATEs for 230 records in pages of 50"
    );
    let last = out.last_state();
    assert!(last["stream"]["stream_state"]["state"]["watermark"].is_i64());
    // The summary is logged, then the stream is reported COMPLETE, last.
    assert_eq!(out.sequence().last().map(String::as_str), Some("COMPLETE"));
    assert!(out.lines.last().unwrap().contains(r#""status":"COMPLETE""#));
}

#[tokio::test]
async fn resuming_from_the_last_state_after_a_failure_loses_and_repeats_nothing() {
    let mock = mock().await;
    let t = now();
    let all = odd_entries("f", 300, t - 5000, t - 10);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let config = mock_config(&work, &mock, json!({"max_retries": 0}));
    // Page 1 fine, then Slack goes down for the rest of the run.
    mock.enqueue_fault(Fault::InvalidCursor);
    mock.enqueue_fault(Fault::service_unavailable_html());
    let failed = read(&work, &config, "incremental", Some(&json!([])), &[]).await;
    assert_eq!(failed.code, 1, "{:?}", failed.lines);
    assert_eq!(failed.trace()["error"]["failure_type"], "transient_error");
    let first = failed.ids();
    assert!(
        !first.is_empty() && first.len() < all.len(),
        "{}",
        first.len()
    );

    let resumed = read(
        &work,
        &config,
        "incremental",
        Some(&json!([failed.last_state()])),
        &[],
    )
    .await;
    assert_eq!(resumed.code, 0, "{:?}", resumed.lines);
    let mut ids = first;
    ids.extend(resumed.ids());
    assert_exactly_once(&ids, &all);
}

/// Every STATE describes exactly the records before it: a host that stops after any STATE and
/// resumes from it gets the rest, nothing lost, nothing repeated.
#[tokio::test]
async fn resuming_from_any_state_message_gets_exactly_the_records_after_it() {
    let mock = mock().await;
    let t = now();
    let all = odd_entries("a", 260, t - 6000, t - 10);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let config = mock_config(&work, &mock, json!({}));
    let full = read(&work, &config, "incremental", None, &[]).await;
    assert_eq!(full.code, 0, "{}", full.stderr);
    let mut before: Vec<String> = Vec::new();
    let mut resumed_from = 0;
    for (i, line) in full.lines.iter().enumerate() {
        let message = &full.messages[i];
        match message["type"].as_str() {
            Some("RECORD") => before.push(record_data(line).0),
            Some("STATE") => {
                let state = json!([message["state"]]);
                let rest = read(&work, &config, "incremental", Some(&state), &[]).await;
                assert_eq!(rest.code, 0, "{}", rest.stderr);
                let mut ids = before.clone();
                ids.extend(rest.ids());
                assert_exactly_once(&ids, &all);
                resumed_from += 1;
            }
            _ => {}
        }
    }
    assert!(resumed_from >= 6, "only {resumed_from} STATEs");
}

#[tokio::test]
async fn a_host_resuming_after_sigkill_loses_nothing_and_repeats_at_most_the_batch_in_flight() {
    let t = now();
    let all = entries("k", 2000, t - 9000, t - 10);
    let mock = paced_mock(&all, Duration::from_millis(40)).await;
    let work = Workdir::new();
    let page_size = 50;
    let config = mock_config(&work, &mock, json!({"page_size": page_size}));
    let catalog = catalog(&work, audit_logs("incremental"));

    let mut delivered: Vec<String> = Vec::new();
    let mut kept: Value = json!([]);
    let kills = [130usize, 300, 311, 900, 1500];
    for (i, after) in kills.iter().enumerate() {
        let state = state_file(&work, "state.json", &kept);
        let mut child = tokio::process::Command::new(source_binary())
            .args(["read", "--config", config.to_str().unwrap()])
            .args(["--catalog", catalog.to_str().unwrap()])
            .args(["--state", state.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let host = |line: &str, delivered: &mut Vec<String>, kept: &mut Value| {
            let message: Value = serde_json::from_str(line).unwrap();
            match message["type"].as_str() {
                Some("RECORD") => delivered.push(record_data(line).0),
                // A host persists each STATE as it arrives.
                Some("STATE") => *kept = json!([message["state"]]),
                _ => {}
            }
        };
        let target = delivered.len() + after.saturating_sub(delivered.len()).max(10);
        while delivered.len() < target {
            match tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await {
                Ok(Ok(Some(line))) => host(&line, &mut delivered, &mut kept),
                other => panic!("run {i} ended early: {other:?}"),
            }
        }
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            host(&line, &mut delivered, &mut kept);
        }
    }
    let last = read(&work, &config, "incremental", Some(&kept), &[]).await;
    assert_eq!(last.code, 0, "{}", last.stderr);
    delivered.extend(last.ids());

    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &delivered {
        *counts.entry(id).or_default() += 1;
    }
    let lost = all
        .iter()
        .filter(|e| !counts.contains_key(e.id.as_str()))
        .count();
    assert_eq!(lost, 0, "lost {lost} events");
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    assert!(
        duplicates <= kills.len() * page_size * 2,
        "{duplicates} duplicates for {} kills: more than the batches in flight",
        kills.len()
    );
    assert_eq!(counts.len(), all.len());
}

#[tokio::test]
async fn incremental_from_the_state_reads_only_what_is_new_and_full_refresh_reads_all_again() {
    let mock = mock().await;
    let t = now();
    let old = odd_entries("o", 120, t - 5000, t - 700);
    mock.push_entries(old.clone());
    let work = Workdir::new();
    let config = mock_config(&work, &mock, json!({}));
    let first = read(&work, &config, "incremental", None, &[]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_exactly_once(&first.ids(), &old);

    let watermark = old.iter().map(|e| e.date_create).max().unwrap();
    let new = odd_entries("n", 30, t - 300, t - 5);
    let late = odd_entries("l", 10, watermark - 200, watermark - 100);
    mock.push_entries(new.iter().chain(&late).cloned());
    let state = json!([first.last_state()]);
    let second = read(&work, &config, "incremental", Some(&state), &[]).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    let fresh: Vec<MockEntry> = new.iter().chain(&late).cloned().collect();
    assert_exactly_once(&second.ids(), &fresh);

    // Full refresh with no state: everything from the start point again.
    let everything: Vec<MockEntry> = old.iter().chain(&fresh).cloned().collect();
    let refresh = read(&work, &config, "full_refresh", None, &[]).await;
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
    assert_exactly_once(&refresh.ids(), &everything);
    // Full refresh with the state of an interrupted attempt resumes it (`is_resumable`):
    // nothing delivered before is delivered again.
    let resumed = read(
        &work,
        &config,
        "full_refresh",
        Some(&json!([second.last_state()])),
        &[],
    )
    .await;
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(resumed.ids(), Vec::<String>::new());
    assert_eq!(resumed.statuses(), ["STARTED", "COMPLETE"]);
    // It still checkpoints, so a host can continue incrementally from it.
    let after = read(
        &work,
        &config,
        "incremental",
        Some(&json!([refresh.last_state()])),
        &[],
    )
    .await;
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(after.ids(), Vec::<String>::new());
}

#[tokio::test]
async fn a_catalog_that_does_not_select_the_stream_reads_nothing() {
    let mock = mock().await;
    mock.push_entries(entries("u", 20, now() - 500, now() - 10));
    let work = Workdir::new();
    let config = mock_config(&work, &mock, json!({}));
    for streams in [
        json!([]),
        json!([{"stream": {"name": "other_stream"}, "sync_mode": "incremental"}]),
    ] {
        let catalog = catalog(&work, streams.clone());
        let out = source(
            &[
                "read",
                "--config",
                config.to_str().unwrap(),
                "--catalog",
                catalog.to_str().unwrap(),
            ],
            &[],
        )
        .await;
        assert_eq!(out.code, 0, "{streams}: {}", out.stderr);
        assert!(out.of_type("RECORD").is_empty() && out.of_type("STATE").is_empty());
        assert!(out.of_type("TRACE").is_empty());
    }
    assert_eq!(mock.stats().requests, 0, "nothing was asked of Slack");
}

#[tokio::test]
async fn the_state_forms_hosts_send_are_understood() {
    let mock = mock().await;
    let t = now();
    let all = entries("s", 40, t - 3000, t - 10);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let config = mock_config(&work, &mock, json!({}));
    let first = read(&work, &config, "incremental", None, &[]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_exactly_once(&first.ids(), &all);
    let done = first.last_state();
    let envelope = done["stream"]["stream_state"].clone();

    // No state yet: everything.
    for empty in [json!([]), Value::Null, json!({})] {
        let out = read(&work, &config, "incremental", Some(&empty), &[]).await;
        assert_eq!(out.code, 0, "{empty}: {}", out.stderr);
        assert_exactly_once(&out.ids(), &all);
    }
    // The state after everything, in each form: nothing again.
    let forms = [
        json!([done]),
        // As PyAirbyte writes it back, every optional field present.
        json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "audit_logs", "namespace": null}, "stream_state": envelope}, "global": null, "data": null, "sourceStats": {"recordCount": 40.0}, "destinationStats": null}]),
        json!([{"type": "GLOBAL", "global": {"shared_state": null, "stream_states": [{"stream_descriptor": {"name": "audit_logs"}, "stream_state": envelope}]}}]),
        json!({"audit_logs": envelope}),
        json!([{"type": "LEGACY", "data": {"audit_logs": envelope}}]),
        json!([
            {"type": "STREAM", "stream": {"stream_descriptor": {"name": "another"}, "stream_state": {"x": 1}}},
            done,
        ]),
    ];
    for form in forms {
        let out = read(&work, &config, "incremental", Some(&form), &[]).await;
        assert_eq!(out.code, 0, "{form}: {}", out.stderr);
        assert_eq!(out.ids(), Vec::<String>::new(), "{form}");
    }
}

#[tokio::test]
async fn failures_are_one_trace_with_a_failure_type_and_the_native_exit_code() {
    let mock = mock().await;
    mock.push_entries(entries("e", 20, now() - 500, now() - 10));
    let work = Workdir::new();
    let good = mock_config(&work, &mock, json!({"max_retries": 0}));
    let good_state = {
        let out = read(&work, &good, "incremental", None, &[]).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.last_state()
    };
    let requests_before = mock.stats().requests;

    let bad_config = work.dir.path().join("bad.json");
    std::fs::write(
        &bad_config,
        json!({"settings": {"page_size": "ten"}, "secrets": {"user_oauth_token": TOKEN}})
            .to_string(),
    )
    .unwrap();
    let mut foreign = good_state.clone();
    foreign["stream"]["stream_state"]["connector"] = json!("another-connector");
    let mut newer = good_state.clone();
    newer["stream"]["stream_state"]["version"] = json!(99);
    let mut inverted = good_state.clone();
    inverted["stream"]["stream_state"]["state"]["window"] =
        json!({"oldest": 1_900_000_200, "latest": 1_900_000_100});
    let mut malformed = good_state.clone();
    malformed["stream"]["stream_state"]["state"] = json!({"watermark": "yesterday"});

    struct Case {
        name: &'static str,
        config: PathBuf,
        state: Option<Value>,
        code: i32,
        failure_type: &'static str,
        words: &'static str,
    }
    let cases = [
        Case {
            name: "bad config",
            config: bad_config.clone(),
            state: None,
            code: 2,
            failure_type: "config_error",
            words: "/settings/page_size",
        },
        Case {
            name: "another connector's state",
            config: good.clone(),
            state: Some(json!([foreign])),
            code: 1,
            failure_type: "config_error",
            words: "belongs to connector \"another-connector\"",
        },
        Case {
            name: "a newer version's state",
            config: good.clone(),
            state: Some(json!([newer])),
            code: 1,
            failure_type: "config_error",
            words: "written by a newer version",
        },
        Case {
            name: "a malformed state",
            config: good.clone(),
            state: Some(json!([malformed])),
            code: 1,
            failure_type: "config_error",
            words: "does not have the expected shape",
        },
        Case {
            name: "a state no run could have written",
            config: good.clone(),
            state: Some(json!([inverted])),
            code: 1,
            failure_type: "config_error",
            words: "no run could have written: the open window's start 1900000200 is after its end 1900000100",
        },
        Case {
            name: "a state file that is a JSON string",
            config: good.clone(),
            state: Some(json!("[{\"type\":")),
            code: 1,
            failure_type: "config_error",
            words: "not a list of state messages",
        },
    ];
    for case in cases {
        let out = read(&work, &case.config, "incremental", case.state.as_ref(), &[]).await;
        assert_eq!(out.code, case.code, "{}: {:?}", case.name, out.lines);
        let trace = out.trace();
        assert_eq!(trace["type"], "ERROR", "{}", case.name);
        assert!(trace["emitted_at"].is_f64(), "{}", case.name);
        assert_eq!(
            trace["error"]["failure_type"], case.failure_type,
            "{}",
            case.name
        );
        let message = trace["error"]["message"].as_str().unwrap();
        assert!(message.contains(case.words), "{}: {message}", case.name);
        assert!(out.of_type("RECORD").is_empty(), "{}", case.name);
        // A refused state is the stream's: its descriptor says which.
        if case.state.is_some() {
            assert_eq!(
                trace["error"]["stream_descriptor"],
                json!({"name": "audit_logs"}),
                "{}",
                case.name
            );
        } else {
            assert!(trace["error"].get("stream_descriptor").is_none());
        }
    }
    assert_eq!(
        mock.stats().requests,
        requests_before,
        "refused before asking Slack"
    );

    // Refusals of the token or the installation are config errors (exit 3, as natively).
    // A failure while reading: the stream is INCOMPLETE, then the error names the stream.
    mock.enqueue_fault(Fault::json_error(403, "team_not_authorized"));
    let out = read(&work, &good, "incremental", None, &[]).await;
    assert_eq!(out.code, 3, "{:?}", out.lines);
    assert_eq!(
        out.sequence(),
        ["STARTED", "INCOMPLETE", "TRACE ERROR"],
        "{:?}",
        out.lines
    );
    assert_eq!(out.trace()["error"]["failure_type"], "config_error");
    assert_eq!(
        out.trace()["error"]["stream_descriptor"],
        json!({"name": "audit_logs"})
    );
    assert!(
        out.trace()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("installed on a workspace")
    );

    // A usage error is a TRACE too.
    let out = source(&["read", "--config", good.to_str().unwrap()], &[]).await;
    assert_eq!(out.code, 2, "{:?}", out.lines);
    assert!(
        out.trace()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--catalog")
    );
}

#[tokio::test]
async fn check_gives_the_native_check_message_in_one_connection_status() {
    let mock = mock().await;
    let work = Workdir::new();
    let config = mock_config(&work, &mock, json!({"max_retries": 0}));
    let path = config.to_str().unwrap();
    let ok = source(&["check", "--config", path], &[]).await;
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let status = ok.of_type("CONNECTION_STATUS");
    assert_eq!(status.len(), 1, "{:?}", ok.lines);
    assert_eq!(status[0]["connectionStatus"]["status"], "SUCCEEDED");

    let refusals = [
        Fault::unauthorized_empty(),
        Fault::json_error(403, "team_not_authorized"),
        Fault::json_error(403, "user_not_authorized"),
        Fault::json_error(200, "feature_not_enabled"),
    ];
    for fault in refusals {
        mock.enqueue_fault(fault.clone());
        let native = run_binary(&["check", "--config", path], &[]).await;
        let native = String::from_utf8_lossy(&native.stderr).into_owned();
        mock.enqueue_fault(fault.clone());
        let out = source(&["check", "--config", path], &[("RUST_LOG", "trace")]).await;
        assert_eq!(out.code, 0, "{fault:?}: the check ran, so exit 0");
        let status = out.of_type("CONNECTION_STATUS");
        assert_eq!(status.len(), 1, "{fault:?}: {:?}", out.lines);
        assert_eq!(status[0]["connectionStatus"]["status"], "FAILED");
        let message = status[0]["connectionStatus"]["message"].as_str().unwrap();
        assert!(
            message.len() > 20 && native.contains(message),
            "{fault:?}: {message:?} not in {native:?}"
        );
        assert_eq!(mock.pending_faults(), 0);
    }

    // Not an answer about the config (the source is unavailable): no status, an error TRACE
    // and a non-zero exit, as the Python CDK does it.
    mock.enqueue_fault(Fault::service_unavailable_html());
    let out = source(&["check", "--config", path], &[]).await;
    assert_eq!(out.code, 1, "{:?}", out.lines);
    assert!(
        out.of_type("CONNECTION_STATUS").is_empty(),
        "{:?}",
        out.lines
    );
    assert_eq!(out.trace()["error"]["failure_type"], "transient_error");

    // A config the schema refuses is a FAILED status (exit 0).
    let bad = work.dir.path().join("bad.json");
    std::fs::write(&bad, json!({"settings": {"page_size": 0}}).to_string()).unwrap();
    let out = source(&["check", "--config", bad.to_str().unwrap()], &[]).await;
    assert_eq!(out.code, 0);
    let status = &out.of_type("CONNECTION_STATUS")[0]["connectionStatus"];
    assert_eq!(status["status"], "FAILED");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("/settings/page_size"),
        "{status}"
    );

    // Unknown keys are ignored, with one warning naming them (the native CLI refuses them).
    let mut document: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    document["settings"]["page_sise"] = json!(10);
    document["from_a_later_version"] = json!({"x": 1});
    std::fs::write(&bad, document.to_string()).unwrap();
    let out = source(&["check", "--config", bad.to_str().unwrap()], &[]).await;
    assert_eq!(out.code, 0, "{:?}", out.lines);
    assert_eq!(
        out.of_type("CONNECTION_STATUS")[0]["connectionStatus"]["status"],
        "SUCCEEDED"
    );
    let warnings: Vec<&str> = out
        .of_type("LOG")
        .iter()
        .filter(|l| l["log"]["level"] == "WARN")
        .map(|l| l["log"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("/from_a_later_version, /settings/page_sise"),
        "{warnings:?}"
    );
    let native = run_binary(&["check", "--config", bad.to_str().unwrap()], &[]).await;
    assert_eq!(native.status.code(), Some(2), "the native CLI refuses them");
}

/// As the Python CDK reports a stream: STARTED before anything, RUNNING just before the first
/// RECORD, COMPLETE after the last STATE; a read with nothing new has no RUNNING.
#[tokio::test]
async fn stream_status_frames_the_read_like_the_python_cdk() {
    let mock = mock().await;
    mock.push_entries(odd_entries("st", 120, now() - 2000, now() - 10));
    let work = Workdir::new();
    let config = mock_config(&work, &mock, json!({}));
    let out = read(&work, &config, "incremental", None, &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sequence = out.sequence();
    assert_eq!(sequence.first().map(String::as_str), Some("STARTED"));
    let running = sequence.iter().position(|m| m == "RUNNING").unwrap();
    assert_eq!(sequence[running + 1], "RECORD", "{sequence:?}");
    assert!(!sequence[..running].contains(&"RECORD".to_owned()));
    assert_eq!(sequence.last().map(String::as_str), Some("COMPLETE"));
    assert_eq!(sequence[sequence.len() - 2], "STATE", "{sequence:?}");
    assert_eq!(out.statuses(), ["STARTED", "RUNNING", "COMPLETE"]);

    let again = read(
        &work,
        &config,
        "incremental",
        Some(&json!([out.last_state()])),
        &[],
    )
    .await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.ids(), Vec::<String>::new());
    assert_eq!(again.statuses(), ["STARTED", "COMPLETE"]);
}

#[tokio::test]
async fn logs_are_log_messages_on_stdout_and_never_split_a_line() {
    let mock = mock().await;
    let t = now();
    let all = odd_entries("g", 400, t - 8000, t - 10);
    mock.push_entries(all.clone());
    // Retries and cursor refusals log warnings while records are being written.
    mock.enqueue_fault(Fault::InvalidCursor);
    mock.enqueue_fault(Fault::Truncated);
    let work = Workdir::new();
    let config = mock_config(&work, &mock, json!({"page_size": 20}));
    let out = read(
        &work,
        &config,
        "incremental",
        None,
        &[("RUST_LOG", "trace")],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "stderr: {}", out.stderr);
    let logs = out.of_type("LOG");
    let levels: std::collections::BTreeSet<&str> = logs
        .iter()
        .filter_map(|l| l["log"]["level"].as_str())
        .collect();
    assert!(
        levels.contains("DEBUG") && levels.contains("INFO"),
        "{levels:?}"
    );
    assert!(
        logs.iter().any(
            |l| l["log"]["message"].as_str().unwrap().contains("retrying")
                || l["log"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("refused the cursor")
        ),
        "no warning logged"
    );
    assert_exactly_once(&out.ids(), &all);
}

#[tokio::test]
async fn every_command_at_trace_level_through_error_paths_keeps_the_token_secret() {
    let faults: Vec<Option<Fault>> = vec![
        None,
        Some(Fault::unauthorized_empty()),
        Some(Fault::json_error(403, "team_not_authorized")),
        Some(Fault::json_error(400, "invalid_action")),
        Some(Fault::OkFalse("fatal_error".into())),
        Some(Fault::Truncated),
        Some(Fault::service_unavailable_html()),
    ];
    for fault in faults {
        let mock = mock().await;
        mock.push_entries(entries("x", 30, now() - 100, now() - 1));
        let work = Workdir::new();
        let config = mock_config(&work, &mock, json!({"max_retries": 0}));
        let catalog = catalog(&work, audit_logs("incremental"));
        let path = config.to_str().unwrap();
        for args in [
            vec!["check", "--config", path],
            vec!["discover", "--config", path],
            vec![
                "read",
                "--config",
                path,
                "--catalog",
                catalog.to_str().unwrap(),
            ],
        ] {
            if let Some(f) = &fault {
                mock.enqueue_fault(f.clone());
            }
            // `source` fails the test if the token is on stdout or stderr.
            let out = source(&args, &[("RUST_LOG", "trace"), ("RUST_BACKTRACE", "1")]).await;
            assert!(
                !out.messages.is_empty(),
                "{fault:?} {}: no message",
                args[0]
            );
        }
    }
}
