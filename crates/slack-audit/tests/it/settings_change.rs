//! The state remembers the query it was collected for: a run whose filters, record format or
//! OCSF version differ is never silent. Narrowing continues with a notice; widening a filter or
//! changing the format or its version is refused (exit 2, nothing read or written) with what would be skipped and what to
//! do, unless `--accept-settings-change`, which logs the gap; a state of an older build (no
//! query) loads with one notice.

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::support::*;

async fn read(config: &Path, state: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "read",
        "--config",
        config.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_binary(&args, &[]).await
}

fn synthetic(work: &Workdir, extra: Value) -> std::path::PathBuf {
    let mut settings = json!({
        "use_synthetic_data": true,
        "backfill_start_time": "2h",
        "synthetic_events_per_hour": 600.0,
    });
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    work.write_config(&json!({ "settings": settings }))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn removing_a_filter_is_refused_with_what_would_be_skipped() {
    let work = Workdir::new();
    let logins = synthetic(&work, json!({"actions": ["user_login"]}));
    let first = read(&logins, &work.state(), &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let saved = work.state_json();
    assert_eq!(
        saved["state"]["query"]["actions"],
        json!(["user_login"]),
        "{saved}"
    );

    let everything = synthetic(&work, json!({}));
    let refused = read(&everything, &work.state(), &[]).await;
    let text = stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{text}");
    assert!(refused.stdout.is_empty(), "records were written: {text}");
    assert_eq!(work.state_json(), saved, "the state changed");
    for words in [
        "actions was limited to \"user_login\"",
        "events of every other action",
        "were never fetched",
        "backfill_start_time set to",
        "--accept-settings-change",
    ] {
        assert!(text.contains(words), "{words:?} not in: {text}");
    }

    // Accepting the gap is explicit and logged; the state then remembers the new query.
    let accepted = read(&everything, &work.state(), &["--accept-settings-change"]).await;
    let text = stderr(&accepted);
    assert_eq!(accepted.status.code(), Some(0), "{text}");
    assert!(text.contains("the gap is accepted"), "{text}");
    assert!(text.contains("every other action"), "{text}");
    assert_eq!(work.state_json()["state"]["query"]["actions"], json!([]));
    // And the next run with the same settings says nothing about it.
    let again = read(&everything, &work.state(), &[]).await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let text = stderr(&again);
    assert!(
        !text.contains("query") && !text.contains("accepted"),
        "{text}"
    );
}

#[tokio::test]
async fn another_actor_entity_or_record_format_is_refused_and_narrowing_continues() {
    let work = Workdir::new();
    let first = read(&synthetic(&work, json!({})), &work.state(), &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));

    // Narrowing: a filter added. Everything it matches was collected by the wider query.
    let narrower = read(
        &synthetic(&work, json!({"actor": "W0123ABCD"})),
        &work.state(),
        &[],
    )
    .await;
    let text = stderr(&narrower);
    assert_eq!(narrower.status.code(), Some(0), "{text}");
    assert!(text.contains("narrow the state's query"), "{text}");
    assert!(
        text.contains("actor is now limited to \"W0123ABCD\""),
        "{text}"
    );
    assert_eq!(
        work.state_json()["state"]["query"]["actor"],
        json!("W0123ABCD")
    );

    let cases = [
        (
            json!({"actor": "W0999ZZZZ"}),
            "actor changed from \"W0123ABCD\" to \"W0999ZZZZ\"",
        ),
        (json!({}), "actor was limited to \"W0123ABCD\""),
        (
            json!({"actor": "W0123ABCD", "entity": "C0123"}),
            "entity is now limited",
        ),
        (
            json!({"actor": "W0123ABCD", "record_format": "ocsf"}),
            "record_format changed from \"slack\" to \"ocsf\"",
        ),
    ];
    for (settings, words) in cases {
        let out = read(&synthetic(&work, settings.clone()), &work.state(), &[]).await;
        let text = stderr(&out);
        if words.contains("now limited") {
            assert_eq!(out.status.code(), Some(0), "{settings}: {text}");
            assert!(text.contains(words), "{settings}: {text}");
            // Back to the actor alone: that widens (the entity filter goes).
            let back = read(
                &synthetic(&work, json!({"actor": "W0123ABCD"})),
                &work.state(),
                &[],
            )
            .await;
            assert_eq!(back.status.code(), Some(2), "{}", stderr(&back));
            assert!(stderr(&back).contains("entity was limited to \"C0123\""));
            let accept = read(
                &synthetic(&work, json!({"actor": "W0123ABCD"})),
                &work.state(),
                &["--accept-settings-change"],
            )
            .await;
            assert_eq!(accept.status.code(), Some(0), "{}", stderr(&accept));
        } else {
            assert_eq!(out.status.code(), Some(2), "{settings}: {text}");
            assert!(text.contains(words), "{settings}: {words:?} not in {text}");
            assert!(out.stdout.is_empty(), "{settings}: records written");
        }
    }
}

#[tokio::test]
async fn a_state_without_a_query_loads_with_one_notice() {
    let work = Workdir::new();
    let config = synthetic(&work, json!({"actions": ["user_login"]}));
    let first = read(&config, &work.state(), &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    // What an older build wrote: no query, no checked-through.
    let mut old = work.state_json();
    let state = old["state"].as_object_mut().unwrap();
    state.remove("query");
    state.remove("checked_through");
    std::fs::write(work.state(), serde_json::to_vec(&old).unwrap()).unwrap();

    let out = read(&config, &work.state(), &[]).await;
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        text.matches("does not say which filters").count(),
        1,
        "{text}"
    );
    assert_eq!(
        work.state_json()["state"]["query"]["actions"],
        json!(["user_login"])
    );
    let later = read(&config, &work.state(), &[]).await;
    assert!(!stderr(&later).contains("does not say which filters"));
}

/// Any trace of collection (only a start point: a first backfill an older build stopped
/// before its first window; or only a watermark) without a query says the query is assumed; a
/// first run says nothing.
#[tokio::test]
async fn a_start_point_or_a_watermark_alone_without_a_query_gets_the_notice() {
    let work = Workdir::new();
    let config = synthetic(&work, json!({"actions": ["user_login"]}));
    let first = read(&config, &work.state(), &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        !stderr(&first).contains("does not say which filters"),
        "{}",
        stderr(&first)
    );
    let written = work.state_json();
    let floor = written["state"]["floor"].clone();
    assert!(floor.is_i64(), "{written}");
    // Only a start point; then only a watermark (each alone is a trace of collection).
    for only in [json!({ "floor": floor }), json!({ "watermark": floor })] {
        let mut old = written.clone();
        old["state"] = only.clone();
        std::fs::write(work.state(), serde_json::to_vec(&old).unwrap()).unwrap();
        let out = read(&config, &work.state(), &[]).await;
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{only}: {text}");
        assert_eq!(
            text.matches("does not say which filters").count(),
            1,
            "{only}: {text}"
        );
    }
}

/// Another OCSF version would mix events of two versions in the output: refused like another
/// record format, in both directions. A 1.8.0 state keeps the shape older builds wrote (no
/// `ocsf_version`: what a state without it means).
#[tokio::test]
async fn another_ocsf_version_is_refused() {
    let work = Workdir::new();
    let v1_8 = synthetic(&work, json!({"record_format": "ocsf"}));
    let first = read(&v1_8, &work.state(), &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let saved = work.state_json();
    assert_eq!(saved["state"]["query"]["record_format"], json!("ocsf"));
    assert!(
        saved["state"]["query"].get("ocsf_version").is_none(),
        "{saved}"
    );

    let v1_3 = synthetic(
        &work,
        json!({"record_format": "ocsf", "ocsf_version": "1.3.0"}),
    );
    let refused = read(&v1_3, &work.state(), &[]).await;
    let text = stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{text}");
    assert!(refused.stdout.is_empty(), "records were written: {text}");
    assert_eq!(work.state_json(), saved, "the state changed");
    for words in [
        "ocsf_version changed from \"1.8.0\" to \"1.3.0\"",
        "mix events of both versions",
        "--accept-settings-change",
    ] {
        assert!(text.contains(words), "{words:?} not in: {text}");
    }

    let accepted = read(&v1_3, &work.state(), &["--accept-settings-change"]).await;
    assert_eq!(accepted.status.code(), Some(0), "{}", stderr(&accepted));
    assert_eq!(
        work.state_json()["state"]["query"]["ocsf_version"],
        json!("1.3.0")
    );
    // (The config file is one file, rewritten.)
    let v1_8 = synthetic(&work, json!({"record_format": "ocsf"}));
    let back = read(&v1_8, &work.state(), &[]).await;
    let text = stderr(&back);
    assert_eq!(back.status.code(), Some(2), "{text}");
    assert!(
        text.contains("ocsf_version changed from \"1.3.0\" to \"1.8.0\""),
        "{text}"
    );
}
