//! The action filters beyond Slack's own: exclusions and catalogue categories. Up to 30
//! included names Slack filters (the mock sees the `action` parameter); more, or exclusions,
//! and every event is read and filtered here, said once with the cost. The state remembers the
//! effective filter; widening it is refused as any other widening; unknown names are refused
//! with the closest listed one; synthetic mode honours every filter.

use std::process::Output;

use serde_json::{Value, json};
use slack_audit_model::ActionCatalog;
use slack_mock::{MockEntry, MockSlack};

use crate::support::*;

/// Entries of three categories: `user_login` (user), `file_downloaded` (file),
/// `user_channel_join` and `public_channel_created` (channel), one each per second over 40
/// seconds.
fn mixed() -> Vec<MockEntry> {
    let actions = [
        "user_login",
        "user_channel_join",
        "file_downloaded",
        "public_channel_created",
    ];
    (0..160)
        .map(|i| {
            MockEntry::synthetic(
                &format!("m-{i:04}"),
                T0 - 3600 + (i / 4) as i64,
                actions[i % 4],
                "W0123ABCD",
                "W0123ABCD",
            )
        })
        .collect()
}

async fn mock_of_mixed() -> (MockSlack, Vec<MockEntry>) {
    let mock = mock().await;
    let entries = mixed();
    mock.push_entries(entries.clone());
    (mock, entries)
}

fn ids_of<'a>(entries: impl Iterator<Item = &'a MockEntry>) -> Vec<String> {
    let mut ids: Vec<String> = entries.map(|e| e.id.clone()).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// The `action` parameters of the requests the mock saw.
fn action_params(mock: &MockSlack) -> Vec<Option<String>> {
    mock.requests()
        .iter()
        .map(|r| r.param("action").map(str::to_owned))
        .collect()
}

fn in_process(mock: &MockSlack, extra: Value) -> Value {
    settings(mock, merge(json!({"backfill_start_time": "2h"}), extra))
}

fn merge(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn an_exclude_filter_delivers_everything_but_the_excluded_actions() {
    let (mock, entries) = mock_of_mixed().await;
    let work = Workdir::new();
    let settings = in_process(&mock, json!({"exclude_actions": ["user_channel_join"]}));
    let run = read_at(settings.clone(), &work.state(), T0).await;
    run.result.as_ref().unwrap();
    let kept = entries
        .iter()
        .filter(|e| e.action.as_deref() != Some("user_channel_join"));
    assert_eq!(sorted(run.ids()), ids_of(kept));
    assert!(
        action_params(&mock).iter().all(Option::is_none),
        "an exclusion cannot be sent to Slack: {:?}",
        action_params(&mock)
    );
    assert_eq!(
        work.state_json()["state"]["query"]["exclude_actions"],
        json!(["user_channel_join"])
    );
    // The next run re-reads the late-arrival window: nothing is delivered twice, and the
    // excluded entries (handled, only not emitted) are not delivered either.
    let again = read_at(settings, &work.state(), T0 + 60).await;
    again.result.as_ref().unwrap();
    assert!(again.ids().is_empty(), "{:?}", again.ids());
}

#[tokio::test]
async fn a_category_filter_within_thirty_names_uses_slacks_filter() {
    let (mock, entries) = mock_of_mixed().await;
    let work = Workdir::new();
    let run = read_at(
        in_process(&mock, json!({"action_categories": ["file"]})),
        &work.state(),
        T0,
    )
    .await;
    run.result.as_ref().unwrap();
    let file_actions = ActionCatalog::bundled().category("file").unwrap();
    assert!(file_actions.len() <= 30);
    assert_eq!(
        sorted(run.ids()),
        ids_of(
            entries
                .iter()
                .filter(|e| e.action.as_deref() == Some("file_downloaded"))
        )
    );
    let sent = action_params(&mock);
    assert!(!sent.is_empty());
    for action in sent {
        let names: Vec<String> = action
            .expect("every request carries the action filter")
            .split(',')
            .map(str::to_owned)
            .collect();
        assert_eq!(names, file_actions, "the category's names, in its order");
    }
}

#[tokio::test]
async fn a_category_filter_larger_than_thirty_names_is_filtered_here_and_says_so() {
    let (mock, entries) = mock_of_mixed().await;
    let work = Workdir::new();
    let categories = ["file", "channel"];
    let named: usize = categories
        .iter()
        .map(|c| ActionCatalog::bundled().category(c).unwrap().len())
        .sum();
    assert!(named > 30, "{named}");
    let config = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31T00:00:00Z", "action_categories": categories}),
    )));
    let out = run_read(&config, &work.state(), &[], &[]).await;
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let kept = entries.iter().filter(|e| {
        matches!(
            e.action.as_deref(),
            Some("file_downloaded" | "user_channel_join" | "public_channel_created")
        )
    });
    assert_eq!(sorted(ids_in(&out.stdout)), ids_of(kept));
    assert!(action_params(&mock).iter().all(Option::is_none));
    let said = text
        .matches("The action filter is applied on this side")
        .count();
    assert_eq!(said, 1, "said once: {text}");
    for words in ["at most 30 names", "costs the requests", "filtered_entries"] {
        assert!(text.contains(words), "{words:?} not in: {text}");
    }
}

#[tokio::test]
async fn widening_an_exclusion_or_a_category_is_refused_and_narrowing_continues() {
    let (mock, _) = mock_of_mixed().await;
    let cases = [
        (
            json!({"exclude_actions": ["user_channel_join"]}),
            json!({}),
            "not excluded any more: events of \"user_channel_join\"",
        ),
        (
            json!({"exclude_action_categories": ["user"]}),
            json!({"exclude_actions": ["user_login"]}),
            "not excluded any more",
        ),
        (
            json!({"action_categories": ["file"]}),
            json!({"action_categories": ["file", "channel"]}),
            "actions added: events of",
        ),
        (
            json!({"action_categories": ["file", "channel"]}),
            json!({"exclude_actions": ["user_login"]}),
            "events of every other action",
        ),
    ];
    for (first, wider, words) in cases {
        let work = Workdir::new();
        let write = |extra: &Value| {
            work.write_config(&config(settings(
                &mock,
                merge(
                    json!({"backfill_start_time": "2025-12-31T00:00:00Z"}),
                    extra.clone(),
                ),
            )))
        };
        let out = run_read(&write(&first), &work.state(), &[], &[]).await;
        assert_eq!(out.status.code(), Some(0), "{first}: {}", stderr(&out));
        let saved = work.state_json();

        let refused = run_read(&write(&wider), &work.state(), &[], &[]).await;
        let text = stderr(&refused);
        assert_eq!(refused.status.code(), Some(2), "{first} -> {wider}: {text}");
        assert!(refused.stdout.is_empty(), "{text}");
        assert_eq!(work.state_json(), saved, "the state changed");
        for expected in [words, "were never fetched", "--accept-settings-change"] {
            assert!(text.contains(expected), "{expected:?} not in: {text}");
        }
        let accepted = run_read(
            &write(&wider),
            &work.state(),
            &["--accept-settings-change"],
            &[],
        )
        .await;
        let text = stderr(&accepted);
        assert_eq!(accepted.status.code(), Some(0), "{text}");
        assert!(text.contains("the gap is accepted"), "{text}");

        // Narrowing back from the wider query continues, and says so.
        let narrower = run_read(&write(&first), &work.state(), &[], &[]).await;
        let text = stderr(&narrower);
        assert_eq!(
            narrower.status.code(),
            Some(0),
            "{wider} -> {first}: {text}"
        );
        assert!(text.contains("narrow the state's query"), "{text}");
    }
}

#[tokio::test]
async fn unknown_action_and_category_names_are_refused_with_the_closest_one() {
    let work = Workdir::new();
    let config = work.write_config(&json!({"settings": {
        "use_synthetic_data": true,
        "exclude_actions": ["user_chanel_join"],
        "action_categories": ["files"],
        "exclude_action_categories": ["nothing_like_any_category_at_all"],
    }}));
    let out = run_read(&config, &work.state(), &[], &[]).await;
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    for words in [
        "/settings/exclude_actions/0",
        "did you mean \"user_channel_join\"?",
        "/settings/action_categories/0",
        "did you mean \"file\"?",
        "/settings/exclude_action_categories/0",
        "the categories are",
    ] {
        assert!(text.contains(words), "{words:?} not in: {text}");
    }
    assert!(!work.state().exists(), "nothing written");
}

/// Synthetic mode: each filter keeps exactly what it names, as against Slack.
#[tokio::test]
async fn synthetic_mode_honours_every_filter() {
    let catalog = ActionCatalog::bundled();
    let user: Vec<&str> = catalog
        .category("user")
        .unwrap()
        .iter()
        .map(String::as_str)
        .collect();
    let file: Vec<&str> = catalog
        .category("file")
        .unwrap()
        .iter()
        .map(String::as_str)
        .collect();
    type Keep = Box<dyn Fn(&str) -> bool>;
    let cases: Vec<(Value, Keep)> = vec![
        (
            json!({"actions": ["user_login"]}),
            Box::new(|a: &str| a == "user_login"),
        ),
        (
            json!({"exclude_actions": ["user_login"]}),
            Box::new(|a: &str| a != "user_login"),
        ),
        (
            json!({"action_categories": ["file"]}),
            Box::new(move |a: &str| file.contains(&a)),
        ),
        (
            json!({"exclude_action_categories": ["user"]}),
            Box::new(move |a: &str| !user.contains(&a)),
        ),
    ];
    // One start for every run: a later run covers every second an earlier one did.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let start = slack_audit::clock::format_time(now - 3 * 3600);
    let run = |extra: Value| {
        let start = start.clone();
        async move {
            let work = Workdir::new();
            let config = work.write_config(&json!({"settings": merge(json!({
                "use_synthetic_data": true,
                "backfill_start_time": start,
                "synthetic_events_per_hour": 3600.0,
            }), extra)}));
            let out = run_read(&config, &work.state(), &[], &[]).await;
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        }
    };
    let everything = run(json!({})).await;
    for (extra, keep) in cases {
        let got = run(extra.clone()).await;
        let ids: std::collections::HashSet<&str> =
            got.iter().filter_map(|e| e["id"].as_str()).collect();
        let missing: Vec<&Value> = everything
            .iter()
            .filter(|e| keep(e["action"].as_str().unwrap_or_default()))
            .filter(|e| !ids.contains(e["id"].as_str().unwrap_or_default()))
            .collect();
        assert!(missing.is_empty(), "{extra}: lost {missing:?}");
        assert!(!got.is_empty(), "{extra}: nothing");
        let actions: Vec<&str> = got.iter().filter_map(|e| e["action"].as_str()).collect();
        assert!(
            actions.iter().all(|a| keep(a)),
            "{extra}: {:?}",
            actions.iter().filter(|a| !keep(a)).collect::<Vec<_>>()
        );
        assert_eq!(actions.len(), got.len());
    }
}
