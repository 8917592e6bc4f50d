//! Every recorded case under `fixtures/slack-audit/` replays as its snapshot says, nothing under
//! it is unreferenced, a fixture that expects another request turns the case red, and
//! `cargo xtask record` produces a fixture that replays and leaks nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use slack_mock::{Fault, MockConfig, MockEntry, MockSlack};
use xtask::replay::{self, fixture::Case, runner};

/// The one helper every case goes through.
fn check(dir: &Path) -> Result<(), String> {
    match std::panic::catch_unwind(|| replay::check_case(dir)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err(
            "the snapshot differs (diff above); `cargo xtask replay --review` accepts it".into(),
        ),
    }
}

#[test]
fn every_case_replays_as_its_snapshot_says() {
    let cases = replay::discover(&replay::cases_root()).unwrap();
    assert!(
        cases.len() >= 18,
        "expected every case of the issue, found {}",
        cases.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|dir| check(dir).err().map(|e| format!("{}: {e}", dir.display())))
        .collect();
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn no_snapshot_or_page_is_unreferenced() {
    let stray = replay::stray_files(&replay::cases_root()).unwrap();
    assert!(
        stray.is_empty(),
        "files no case uses (delete them, or run `cargo xtask replay --review`): {stray:#?}"
    );
    let elsewhere = xtask::workspace_root().join("xtask/tests/snapshots");
    assert!(
        !elsewhere.exists() || std::fs::read_dir(&elsewhere).unwrap().next().is_none(),
        "snapshots of the replay live beside their case, not in {}",
        elsewhere.display()
    );
}

/// Copies a case into a temporary folder, so a test can change it.
fn copy_case(name: &str) -> (tempfile::TempDir, PathBuf) {
    let from = replay::cases_root().join(name);
    let tmp = tempfile::tempdir().unwrap();
    let to = tmp.path().join(name);
    std::fs::create_dir_all(to.join("pages")).unwrap();
    std::fs::copy(from.join("case.json"), to.join("case.json")).unwrap();
    for entry in std::fs::read_dir(from.join("pages")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join("pages").join(path.file_name().unwrap())).unwrap();
    }
    (tmp, to)
}

/// What "dropping `oldest` on cursor requests" looks like to a replay: the connector's request
/// no longer matches the fixture. Here the fixture is changed instead of the connector (the
/// same mismatch from the other side): it now expects a cursor request without `oldest`.
#[test]
fn a_request_that_differs_from_the_fixture_turns_the_case_red() {
    let (_tmp, dir) = copy_case("multi_page_backfill");
    let path = dir.join("case.json");
    let mut case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let second = &mut case["runs"][0]["exchanges"][1]["query"];
    assert!(
        second.get("cursor").is_some(),
        "the second exchange pages with a cursor"
    );
    second.as_object_mut().unwrap().remove("oldest");
    std::fs::write(&path, serde_json::to_vec_pretty(&case).unwrap()).unwrap();

    let report = runner::run_case(&dir).unwrap();
    let problems = report.problems.join("\n");
    assert!(
        problems.contains("a request the fixture does not expect") && problems.contains("oldest"),
        "{problems}"
    );
    assert!(problems.contains("never requested"), "{problems}");
    let error = replay::check_case(&dir).unwrap_err().to_string();
    assert!(error.contains("does not replay as recorded"), "{error}");
}

#[test]
fn an_expectation_that_does_not_hold_turns_the_case_red() {
    let (_tmp, dir) = copy_case("ok_false_persistent");
    let path = dir.join("case.json");
    let mut case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    case["runs"][0]["expect"]["outcome"] = Value::from("ok");
    std::fs::write(&path, serde_json::to_vec_pretty(&case).unwrap()).unwrap();
    let report = runner::run_case(&dir).unwrap();
    assert_eq!(report.outcomes, ["transient", "ok"]);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("expected outcome \"ok\", got \"transient\"")),
        "{:?}",
        report.problems
    );
}

const REAL_TOKEN: &str = "xoxp-1234567890-1234567890-123456789012-7ea17ea17ea17ea17ea17ea17ea17ea1";

fn entry(id: &str, date: i64, actor: (&str, &str, &str), ip: &str) -> MockEntry {
    let (user_id, name, email) = actor;
    let json = format!(
        r#"{{"id":"{id}","date_create":{date},"action":"user_login","actor":{{"type":"user","user":{{"id":"{user_id}","name":"{name}","email":"{email}","team":"E0AAAAAAA"}}}},"entity":{{"type":"user","user":{{"id":"{user_id}","name":"{name}","email":"{email}","team":"E0AAAAAAA"}}}},"context":{{"location":{{"type":"enterprise","id":"E0AAAAAAA","name":"Initech Holdings","domain":"initech"}},"ua":"Mozilla/5.0 (Macintosh) Initech-Laptop-7","ip_address":"{ip}","session_id":{date}}},"details":{{"note":"signed in from {ip} as {email}"}}}}"#
    );
    MockEntry::from_json(&json).unwrap()
}

#[test]
fn record_writes_a_pseudonymised_fixture_that_replays_as_recorded() {
    let people = [
        ("W0PETER", "peter.gibbons", "peter.gibbons@initech.example"),
        ("W0MILTON", "milton.waddams", "milton@initech.example"),
        ("W0SAMIR", "samir.n", "samir@initech.example"),
    ];
    let ips = ["198.18.7.21", "203.0.113.77", "2001:db8:77::5"];
    let runtime = xtask::runtime("record-test", 2).unwrap();
    let mock = runtime
        .block_on(MockSlack::start(MockConfig {
            token: Some(REAL_TOKEN.to_owned()),
            ..MockConfig::default()
        }))
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for i in 0..7 {
        let person = people[i % 3];
        mock.push_entry(entry(
            &format!("ev-{i}"),
            now - 3000 + 300 * i as i64,
            person,
            ips[i % 3],
        ));
    }
    // A transient failure and a body cut short, so the recording holds more than pages.
    mock.enqueue_fault(Fault::service_unavailable_html());
    mock.enqueue_fault(Fault::Truncated);

    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.json");
    let document = serde_json::json!({
        "settings": {
            "api_base_url": mock.base_url(),
            "backfill_start_time": "2h",
            "page_size": 3,
            "requests_per_minute": 600,
            "retry_base_delay_ms": 1,
            "max_retries": 3
        },
        "secrets": {"user_oauth_token": REAL_TOKEN}
    });
    std::fs::write(&config, serde_json::to_vec(&document).unwrap()).unwrap();
    let out = tmp.path().join("cases");
    std::fs::create_dir_all(&out).unwrap();

    let recording = xtask::record::record(&config, "recorded_case", None, &out).unwrap();
    assert_eq!(recording.outcome, "ok");
    assert_eq!(recording.records, 7);
    assert!(
        recording.replay_problems.is_empty(),
        "{:?}",
        recording.replay_problems
    );
    let requests = mock.requests().len();
    assert_eq!(recording.exchanges, requests, "one exchange per request");
    runtime.block_on(mock.shutdown());

    // Nothing identifying, and never the token, in any file.
    let dir = out.join("recorded_case");
    let mut all = String::new();
    let mut files = vec![dir.join("case.json")];
    files.extend(
        std::fs::read_dir(dir.join("pages"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    for file in &files {
        all.push_str(&String::from_utf8_lossy(&std::fs::read(file).unwrap()));
        all.push('\n');
    }
    let mut forbidden: Vec<&str> = vec![REAL_TOKEN, "Initech", "initech", "Macintosh"];
    forbidden.extend(ips);
    for (_, name, email) in people {
        forbidden.extend([name, email]);
    }
    for word in forbidden {
        assert!(!all.contains(word), "{word:?} is in the fixture");
    }
    assert!(all.contains(xtask::replay::fixture::FIXTURE_TOKEN));

    // The fixture holds the failure and the truncated body as they happened.
    let case = Case::load(&dir).unwrap();
    let exchanges = &case.runs[0].exchanges;
    assert_eq!(exchanges[0].status, 503);
    assert!(exchanges[1].truncate, "{:?}", exchanges[1]);
    assert!(
        exchanges
            .iter()
            .filter(|e| e.query.contains_key("cursor"))
            .count()
            >= 2
    );

    // The same person has one pseudonym everywhere: ids are kept, so map id -> emails.
    let mut emails_of: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for e in exchanges.iter().filter(|e| e.status == 200 && !e.truncate) {
        let body: Value =
            serde_json::from_slice(&std::fs::read(dir.join(e.body.as_ref().unwrap())).unwrap())
                .unwrap();
        for entry in body["entries"].as_array().unwrap() {
            for side in ["actor", "entity"] {
                let user = &entry[side]["user"];
                let name = user["name"].as_str().unwrap();
                assert_eq!(user["email"], format!("{name}@example.com"), "{user}");
                emails_of
                    .entry(user["id"].as_str().unwrap().to_owned())
                    .or_default()
                    .insert(user["email"].as_str().unwrap().to_owned());
            }
            let note = entry["details"]["note"].as_str().unwrap();
            let email = entry["actor"]["user"]["email"].as_str().unwrap();
            assert!(note.ends_with(email), "{note} / {email}");
        }
    }
    assert_eq!(emails_of.len(), 3, "{emails_of:?}");
    let distinct: std::collections::BTreeSet<_> = emails_of.values().flatten().collect();
    assert_eq!(distinct.len(), 3, "{emails_of:?}");
    assert!(
        emails_of.values().all(|set| set.len() == 1),
        "{emails_of:?}"
    );

    // And it replays: the same requests, the same records (pseudonymised), outcome ok.
    let report = runner::run_case(&dir).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.outcomes, ["ok"]);
    assert_eq!(report.records[0].iter().filter(|b| **b == b'\n').count(), 7);
}
