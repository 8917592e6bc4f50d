//! Hostile input: arbitrary response bodies and state files never panic or hang; they become
//! classified errors (or, for a valid page, records).

use std::path::Path;

use proptest::prelude::*;
use slack_audit::SlackAuditInput;
use slack_audit::collect::state::SyncState;
use slack_audit::page::{Page, PageError};

fn valid_page() -> String {
    r#"{"entries":[{"id":"a","date_create":1767225600,"details":{"new_value":["x"]}},{"id":"b","date_create":1767225599}],"response_metadata":{"next_cursor":"dXNlcjpVMEc5V0ZYTlo="}}"#.to_owned()
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("entries".to_owned()),
                    Just("id".to_owned()),
                    Just("date_create".to_owned()),
                    Just("ok".to_owned()),
                    Just("error".to_owned()),
                    Just("response_metadata".to_owned()),
                    Just("next_cursor".to_owned()),
                    ".{0,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_page_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Page::parse(bytes);
    }

    #[test]
    fn truncated_or_mutated_pages_are_errors_or_consistent_pages(cut in 0usize..400, flip in 0usize..400, byte in any::<u8>()) {
        let mut body = valid_page().into_bytes();
        if flip < body.len() { body[flip] = byte; }
        body.truncate(cut.min(body.len()));
        match Page::parse(body.clone()) {
            Ok(page) => {
                // A page is accepted only if the whole body is one JSON document whose
                // `entries` are exactly the page's entries, byte for byte: never the entries
                // that came before a cut. (Syntax only: a mutation can make a valid number that
                // `serde_json::Value` cannot hold, such as `1e67225599`, and such an entry is
                // passed through as sent.)
                let whole = serde_json::from_slice::<WholePage<'_>>(&body);
                prop_assert!(whole.is_ok(), "accepted a body that is not JSON: {:?}", String::from_utf8_lossy(&body));
                let whole = whole.unwrap();
                let entries = whole.entries.unwrap_or_default();
                prop_assert_eq!(entries.len(), page.entries().len());
                for (raw, e) in entries.iter().zip(page.entries()) {
                    prop_assert_eq!(raw.get().as_bytes(), page.raw(e));
                }
            }
            Err(PageError::Malformed(_) | PageError::NoEntries | PageError::Slack { .. }) => {}
        }
    }

    #[test]
    fn arbitrary_json_documents_are_classified(v in json_value()) {
        let body = serde_json::to_vec(&v).unwrap();
        if let Ok(page) = Page::parse(body) {
            for e in page.entries() {
                let _ = page.id(e);
                prop_assert!(!page.raw(e).is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_state_files_are_loaded_or_refused_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), json in json_value(), shaped in sync_state_like()) {
        let dir = tempfile::tempdir().unwrap();
        let envelope = |state: serde_json::Value| serde_json::to_vec(&serde_json::json!({"connector": "slack-audit", "version": 1, "state": state})).unwrap();
        for (i, content) in [bytes.clone(), envelope(json.clone()), envelope(shaped.clone())].into_iter().enumerate() {
            // A file (and lock) of its own each time: a child process another test spawns
            // can hold a just-released lock for an instant (its inherited descriptor closes
            // only at exec), and this loop takes thousands of them.
            let sub = dir.path().join(i.to_string());
            std::fs::create_dir(&sub).unwrap();
            let path = sub.join("state.json");
            std::fs::write(&path, &content).unwrap();
            match load(&path) {
                Ok(state) => {
                    // Whatever was accepted is a state the engine could have written.
                    prop_assert!(state.check().is_ok(), "{:?}", state);
                }
                Err(message) => {
                    prop_assert!(message.contains("state.json"), "{}", message);
                    // Refused for a reason it names, not for anything else.
                    prop_assert!(
                        STATE_REFUSALS.iter().any(|r| message.contains(r)),
                        "{}", message
                    );
                    prop_assert_eq!(std::fs::read(&path).unwrap(), content, "a refused state file must be left as it was");
                }
            }
        }
    }
}

/// What a refused state file's message may say; each names what is wrong with the file.
const STATE_REFUSALS: &[&str] = &[
    "cannot be used: it is empty",
    "cannot be used: it is truncated",
    "cannot be used: it is not a state file this connector wrote",
    "cannot be used: its state does not have the expected shape",
    "cannot be used: it holds a state no run could have written",
];

#[derive(serde::Deserialize)]
struct WholePage<'a> {
    #[serde(borrow, default)]
    entries: Option<Vec<&'a serde_json::value::RawValue>>,
}

/// Documents with `SyncState`'s keys and values of the right type or not, so that loading
/// gets past the envelope and exercises the state's own shape and its semantic checks.
fn sync_state_like() -> impl Strategy<Value = serde_json::Value> {
    let time = prop_oneof![
        Just(serde_json::Value::Null),
        (1_500_000_000i64..1_900_000_000).prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::from("1767225600")),
    ];
    let ids = prop::collection::vec("[a-z0-9-]{1,8}", 0..3).prop_map(serde_json::Value::from);
    let window = (time.clone(), time.clone(), time.clone(), ids.clone(), time.clone()).prop_map(
        |(oldest, latest, upper, upper_ids, newest)| {
            serde_json::json!({"oldest": oldest, "latest": latest, "upper": upper, "upper_ids": upper_ids, "newest": newest})
        },
    );
    let recent = prop::collection::btree_map("[0-9]{1,10}", ids, 0..3)
        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()));
    (
        time.clone(),
        time,
        recent,
        prop_oneof![Just(serde_json::Value::Null), window],
        any::<bool>(),
    )
        .prop_map(|(floor, watermark, recent, window, extra)| {
            let mut state = serde_json::json!({"floor": floor, "watermark": watermark, "recent": recent, "window": window});
            if extra {
                state["unknown"] = serde_json::json!(1);
            }
            state
        })
}

fn load(path: &Path) -> Result<SyncState, String> {
    connector_sdk::runtime::host::open_state::<SlackAuditInput>(path)
        .map(|(_, s)| s)
        .map_err(|e| e.to_string())
}

/// Times a hand-edited state may hold: the extremes of `i64`, either side of the audit log's
/// first day, plausible ones, and the far future.
fn state_time() -> impl Strategy<Value = i64> {
    use slack_audit::settings::AUDIT_LOG_EPOCH;
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::MIN + 1),
        Just(i64::MAX - 1),
        Just(0i64),
        Just(AUDIT_LOG_EPOCH - 1),
        Just(AUDIT_LOG_EPOCH),
        (AUDIT_LOG_EPOCH..1_800_000_000i64),
        (1_764_000_000i64..1_767_225_600),
        any::<i64>(),
    ]
}

/// Arbitrary `SyncState`s with the right shape, so that they pass the envelope and reach the
/// state's checks, the engine, `status` and the metrics.
fn arbitrary_sync_state() -> impl Strategy<Value = serde_json::Value> {
    let ids = prop::collection::vec("[a-z0-9]{1,4}", 0..3);
    let window = (
        state_time(),
        state_time(),
        prop::option::of(state_time()),
        ids.clone(),
        prop::option::of(state_time()),
    )
        .prop_map(|(oldest, latest, upper, upper_ids, newest)| {
            // Half of them ordered, so that they get past the window's own check.
            let (oldest, latest) = (oldest.min(latest), oldest.max(latest));
            let upper_ids = if upper.is_some() { upper_ids } else { Vec::new() };
            serde_json::json!({"oldest": oldest, "latest": latest, "upper": upper, "upper_ids": upper_ids, "newest": newest})
        });
    (
        prop::option::of(state_time()),
        prop::option::of(state_time()),
        prop::collection::btree_map(state_time(), ids, 0..3),
        prop::option::of(window),
    )
        .prop_map(|(floor, watermark, recent, window)| {
            let recent: serde_json::Map<String, serde_json::Value> = recent
                .into_iter()
                .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                .collect();
            serde_json::json!({"floor": floor, "watermark": watermark, "recent": recent, "window": window})
        })
}

/// Whatever a state document holds, `status`, `read` and the Airbyte front end's `read` (the
/// debug binaries: overflow checks on, as the README's `cargo run` quick start builds) answer
/// with a clear error or go on from a repaired state: never a panic.
#[test]
fn arbitrary_states_reach_status_read_and_airbyte_without_panic() {
    use crate::support::*;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(mock());
    let work = Workdir::new();
    let config = work.write_config(&config(settings(
        &mock,
        serde_json::json!({"backfill_start_time": "2025-12-31"}),
    )));
    let catalog = work.dir.path().join("catalog.json");
    std::fs::write(
        &catalog,
        serde_json::json!({"streams": [{
            "stream": {"name": "audit_logs", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "incremental",
            "destination_sync_mode": "append",
        }]})
        .to_string(),
    )
    .unwrap();
    let no_panic = |what: &str, out: &std::process::Output| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code() != Some(101) && !stderr.contains("panicked"),
            "{what} panicked: {stderr}"
        );
        assert!(out.status.code().is_some(), "{what} died: {:?}", out.status);
        stderr.into_owned()
    };
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 48,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    });
    let case = std::cell::Cell::new(0u32);
    runner
        .run(&arbitrary_sync_state(), |state| {
            case.set(case.get() + 1);
            let dir = work.dir.path().join(format!("case-{}", case.get()));
            std::fs::create_dir(&dir).unwrap();
            let envelope =
                serde_json::json!({"connector": "slack-audit", "version": 1, "state": state});
            let path = dir.join("state.json");
            std::fs::write(&path, envelope.to_string()).unwrap();
            // The library's view, at the clocks a test and a user have.
            if let Ok(typed) = serde_json::from_value::<SyncState>(state.clone()) {
                for now in [T0, chrono::Utc::now().timestamp()] {
                    let _ = slack_audit::state_report::describe(&typed, now);
                    if typed.check().is_ok() {
                        let mut repaired = typed.clone();
                        repaired.repair(now);
                        prop_assert!(repaired.check().is_ok(), "{:?}", repaired);
                    }
                }
            }
            let p = path.to_str().unwrap();
            let status = runtime.block_on(run_binary(&["status", "--state", p], &[]));
            no_panic("status", &status);
            let json = runtime.block_on(run_binary(&["status", "--json", "--state", p], &[]));
            no_panic("status --json", &json);
            let read = runtime.block_on(run_binary(
                &["read", "--config", config.to_str().unwrap(), "--state", p],
                &[],
            ));
            let stderr = no_panic("read", &read);
            if read.status.code() != Some(0) {
                prop_assert!(stderr.contains("state.json"), "an unnamed refusal: {}", stderr);
            } else {
                // What a successful run leaves is a state the engine accepts.
                prop_assert!(load(&path).is_ok(), "{:?}", load(&path));
            }
            let airbyte_state = dir.join("airbyte-state.json");
            std::fs::write(
                &airbyte_state,
                serde_json::json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "audit_logs"}, "stream_state": envelope}}]).to_string(),
            )
            .unwrap();
            let airbyte = runtime.block_on(async {
                tokio::process::Command::new(env!("CARGO_BIN_EXE_source-slack-audit"))
                    .args([
                        "read",
                        "--config",
                        config.to_str().unwrap(),
                        "--catalog",
                        catalog.to_str().unwrap(),
                        "--state",
                        airbyte_state.to_str().unwrap(),
                    ])
                    .kill_on_drop(true)
                    .output()
                    .await
                    .unwrap()
            });
            no_panic("the Airbyte read", &airbyte);
            let stdout = String::from_utf8_lossy(&airbyte.stdout);
            prop_assert!(!stdout.contains("panicked"), "{}", stdout);
            Ok(())
        })
        .unwrap();
}

/// Found by `cargo xtask fuzz` (target `ocsf`, first minute): an entry with raw control
/// characters inside a string, which is not JSON, comes out of the OCSF writer with them, so not
/// as JSON. No page delivers such an entry (the page parser refuses the body), and the writer's
/// promise is for JSON entries: with the same characters escaped, as JSON has them, the event
/// is one JSON document. The fuzz target asserts exactly that now.
#[test]
fn fuzz_regression_an_entry_with_raw_control_characters() {
    let raw: &[u8] =
        include_bytes!("../../../../fuzz/regressions/ocsf-raw-control-characters.json");
    let body = [&br#"{"entries":["#[..], raw, b"]}"].concat();
    assert!(
        matches!(Page::parse(body), Err(PageError::Malformed(_))),
        "a page holding it must be refused"
    );
    for raw_data in [false, true] {
        let _ = slack_audit::ocsf::to_ocsf(raw, raw_data);
    }
    let mut escaped = String::new();
    for c in String::from_utf8_lossy(raw).chars() {
        if c.is_control() && c != '\n' {
            escaped.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            escaped.push(c);
        }
    }
    serde_json::from_str::<serde_json::Value>(&escaped).expect("the escaped entry is JSON");
    for raw_data in [false, true] {
        let (event, _) = slack_audit::ocsf::to_ocsf(escaped.as_bytes(), raw_data);
        let parsed = serde_json::from_slice::<serde_json::Value>(&event);
        assert!(parsed.is_ok(), "{}", String::from_utf8_lossy(&event));
    }
}

/// Found by `cargo xtask fuzz` (target `page`): an entry holding a lone surrogate escape
/// (`"\ude80"`). It is JSON by the grammar (Slack could send it; Python reads it) though
/// `serde_json::Value` refuses it; the page parser keeps it, byte for byte, as every entry.
#[test]
fn fuzz_regression_a_lone_surrogate_escape_passes_through() {
    let body = include_bytes!("../../../../fuzz/regressions/page-lone-surrogate-escape.json");
    let page = Page::parse(body.to_vec()).expect("a page");
    assert_eq!(page.entries().len(), 3);
    let raw = page.raw(&page.entries()[1]);
    assert!(
        raw.windows(6).any(|w| w == br"\ude80"),
        "{}",
        String::from_utf8_lossy(raw)
    );
    for entry in page.entries() {
        let raw = page.raw(entry);
        assert!(serde_json::from_slice::<serde::de::IgnoredAny>(raw).is_ok());
        assert!(
            body.windows(raw.len()).any(|w| w == raw),
            "not a range of the body"
        );
    }
}

/// Found by `cargo xtask fuzz` (target `ocsf`): an entry that is a number beyond `f64`
/// (`444444E4444…`). The OCSF event keeps it as sent, in `unmapped` and `raw_data`, and stays
/// one JSON document by the grammar.
#[test]
fn fuzz_regression_a_number_beyond_f64_stays_as_sent() {
    let raw: &[u8] =
        include_bytes!("../../../../fuzz/regressions/ocsf-number-out-of-f64-range.json");
    assert!(serde_json::from_slice::<serde::de::IgnoredAny>(raw).is_ok());
    let (event, _) = slack_audit::ocsf::to_ocsf(raw, true);
    assert!(
        serde_json::from_slice::<serde::de::IgnoredAny>(&event).is_ok(),
        "{}",
        String::from_utf8_lossy(&event)
    );
    let number = String::from_utf8_lossy(raw).trim().to_owned();
    assert!(String::from_utf8_lossy(&event).contains(&number));
}
