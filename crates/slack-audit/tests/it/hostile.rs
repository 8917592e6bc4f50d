//! Hostile input: arbitrary response bodies and state files never panic or hang; they become
//! classified errors (or, for a valid page, records).

use std::path::Path;

use proptest::prelude::*;
use slack_audit::SlackAuditInput;
use slack_audit::page::{Page, PageError};
use slack_audit::sync::SyncState;

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
                for e in page.entries() {
                    // Every entry's raw bytes are a slice of the body and valid JSON. (Syntax
                    // only: a mutation can make a valid number that `serde_json::Value` cannot
                    // hold, such as `1e67225599`, and such an entry is passed through as sent.)
                    let raw = page.raw(e);
                    prop_assert!(serde_json::from_slice::<serde::de::IgnoredAny>(raw).is_ok());
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
    fn arbitrary_state_files_are_loaded_or_refused_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), json in json_value()) {
        let dir = tempfile::tempdir().unwrap();
        for content in [bytes.clone(), serde_json::to_vec(&serde_json::json!({"connector": "slack-audit", "version": 1, "state": json})).unwrap()] {
            let path = dir.path().join("state.json");
            std::fs::write(&path, &content).unwrap();
            match load(&path) {
                Ok(_) => {}
                Err(message) => {
                    prop_assert!(message.contains("state.json"), "{}", message);
                    prop_assert_eq!(std::fs::read(&path).unwrap(), content, "a refused state file must be left as it was");
                }
            }
        }
    }
}

fn load(path: &Path) -> Result<SyncState, String> {
    connector_sdk::host::open_state::<SlackAuditInput>(path)
        .map(|(_, s)| s)
        .map_err(|e| e.to_string())
}
