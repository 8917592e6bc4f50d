//! Exactly once on the normal path: windows, pages, ties, runs, late events, cursors.

use serde_json::{Value, json};
use slack_mock::{Fault, MockConfig, MockEntry, MockSlack};

use crate::support::*;

/// `per_second` entries in each of `seconds` seconds from `first` on, the `k`th of second `s`
/// named `id(s, k)`.
fn ties(
    seconds: i64,
    per_second: i64,
    first: i64,
    id: impl Fn(i64, i64) -> String,
) -> Vec<MockEntry> {
    (0..seconds)
        .flat_map(|s| (0..per_second).map(move |k| (s, k)))
        .map(|(s, k)| entry(&id(s, k), first + s))
        .collect()
}

/// A run at `now` from `state` succeeds and delivers nothing: everything was delivered before.
async fn assert_nothing_repeated(settings: Value, state: &std::path::Path, now: i64) {
    let run = read_at(settings, state, now).await;
    run.result.as_ref().unwrap();
    assert!(run.lines.is_empty(), "repeated: {:?}", run.lines);
}

/// A mock holding `all` that splits a second's entries across pages, and settings reading it
/// from an hour before T0 in pages of `page_size`.
async fn splitting_ties(all: &[MockEntry], page_size: u64) -> (MockSlack, Value) {
    let mock = mock_with(MockConfig {
        split_ties: true,
        ..MockConfig::default()
    })
    .await;
    mock.push_entries(all.to_vec());
    let settings = settings(
        &mock,
        json!({"page_size": page_size, "backfill_start_time": "2025-12-31T23:00:00Z"}),
    );
    (mock, settings)
}

#[tokio::test]
async fn first_run_without_backfill_fetches_no_history_and_later_runs_continue() {
    let mock = mock().await;
    let history = entries("old", 50, T0 - 500, T0 - 1);
    mock.push_entries(history);
    let work = Workdir::new();
    let s = settings(&mock, json!({}));

    let first = read_at(s.clone(), &work.state(), T0).await;
    first.result.as_ref().unwrap();
    assert!(first.lines.is_empty(), "history leaked: {:?}", first.lines);
    let req = &mock.requests()[0];
    assert_eq!(req.param("oldest"), Some(T0.to_string().as_str()));
    assert_eq!(req.param("latest"), Some(T0.to_string().as_str()));
    assert_eq!(work.state_json()["state"]["floor"], json!(T0));

    let fresh = entries("new", 30, T0 + 1, T0 + 50);
    mock.push_entries(fresh.clone());
    let second = read_at(s.clone(), &work.state(), T0 + 60).await;
    second.result.as_ref().unwrap();
    assert_exactly_once(&second.ids(), &fresh);

    assert_nothing_repeated(s, &work.state(), T0 + 120).await;
}

#[tokio::test]
async fn multi_page_backfill_resends_the_whole_query_on_every_page() {
    let mock = mock().await;
    let all = entries("e", 1000, T0 - 5000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let s = settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31T22:00:00Z", "actions": ["user_login", "user_logout"]}),
    );
    let run = read_at(s.clone(), &work.state(), T0).await;
    run.result.as_ref().unwrap();
    assert_exactly_once(&run.ids(), &all);

    let requests = mock.requests();
    assert!(
        requests.len() >= 10,
        "expected many pages, got {}",
        requests.len()
    );
    let oldest = (T0 - 7200).to_string();
    let latest = T0.to_string();
    for (i, r) in requests.iter().enumerate() {
        assert_eq!(
            r.param("oldest"),
            Some(oldest.as_str()),
            "request {i} lost `oldest`"
        );
        assert_eq!(
            r.param("latest"),
            Some(latest.as_str()),
            "request {i} changed `latest`"
        );
        assert_eq!(r.param("limit"), Some("100"), "request {i}");
        assert_eq!(
            r.param("action"),
            Some("user_login,user_logout"),
            "request {i} lost the filter"
        );
        assert_eq!(r.param("cursor").is_some(), i > 0, "request {i}");
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert!(
            r.header("user-agent")
                .unwrap_or("")
                .starts_with("slack-audit-connector/")
        );
    }
    // Newest first on stdout, as Slack sent them.
    let dates: Vec<i64> = run
        .lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["date_create"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]));

    let again = read_at(s, &work.state(), T0 + 30).await;
    again.result.as_ref().unwrap();
    assert!(again.lines.is_empty());
}

#[tokio::test]
async fn ties_split_across_page_boundaries_are_delivered_once() {
    // 23 events in each of 12 seconds, pages of 10: every page boundary splits a second.
    let all = ties(12, 23, T0 - 100, |s, k| format!("tie-{s:02}-{k:02}"));
    let (_mock, s) = splitting_ties(&all, 10).await;
    let work = Workdir::new();
    let run = read_at(s, &work.state(), T0).await;
    run.result.as_ref().unwrap();
    assert_exactly_once(&run.ids(), &all);
}

#[tokio::test]
async fn a_checkpoint_inside_a_split_second_resumes_without_loss_or_repeat() {
    let all = ties(5, 9, T0 - 50, |s, k| format!("cut-{s}-{k}"));
    let (mock, s) = splitting_ties(&all, 4).await;
    let work = Workdir::new();
    // Page 2's cursor is refused; the resumed request (no cursor, `latest` = the checkpoint's
    // `upper`, in the middle of a split second) then fails for good.
    mock.enqueue_fault(Fault::InvalidCursor);
    mock.enqueue_fault(Fault::Status {
        status: 503,
        body: "<html>down</html>".into(),
        headers: vec![],
    });
    let s_fail = {
        let mut v = s.clone();
        v["max_retries"] = json!(0);
        v
    };
    let first = read_at(s_fail, &work.state(), T0).await;
    assert!(first.result.is_err());
    assert_eq!(
        first.lines.len(),
        4,
        "one page delivered before the failure"
    );
    let state = work.state_json();
    let window = &state["state"]["window"];
    assert_eq!(window["upper"], json!(T0 - 46), "{state}");
    assert_eq!(window["upper_ids"].as_array().unwrap().len(), 4, "{state}");
    let second = read_at(s, &work.state(), T0).await;
    second.result.as_ref().unwrap();
    let mut ids = first.ids();
    ids.extend(second.ids());
    assert_exactly_once(&ids, &all);
}

#[tokio::test]
async fn same_second_events_across_runs_are_neither_lost_nor_repeated() {
    let mock = mock().await;
    let first_batch: Vec<_> = (0..5).map(|k| entry(&format!("a-{k}"), T0)).collect();
    mock.push_entries(first_batch.clone());
    let work = Workdir::new();
    let s = settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31T23:59:00Z"}),
    );
    let run1 = read_at(s.clone(), &work.state(), T0).await;
    run1.result.as_ref().unwrap();
    assert_exactly_once(&run1.ids(), &first_batch);

    // More events in the very same second show up after the first run, plus newer ones.
    let more: Vec<_> = (0..4)
        .map(|k| entry(&format!("b-{k}"), T0))
        .chain((0..3).map(|k| entry(&format!("c-{k}"), T0 + 1)))
        .collect();
    mock.push_entries(more.clone());
    let run2 = read_at(s, &work.state(), T0 + 5).await;
    run2.result.as_ref().unwrap();
    assert_exactly_once(&run2.ids(), &more);
}

#[tokio::test]
async fn late_events_inside_the_window_are_delivered_once_by_a_later_run() {
    let mock = mock().await;
    let on_time = entries("on-time", 40, T0 - 900, T0 - 10);
    mock.push_entries(on_time.clone());
    let work = Workdir::new();
    let s = settings(&mock, json!({"backfill_start_time": "1h"}));
    let run1 = read_at(s.clone(), &work.state(), T0).await;
    run1.result.as_ref().unwrap();
    assert_exactly_once(&run1.ids(), &on_time);

    // Indexed late: created 5 minutes before the newest delivered event.
    let late = vec![entry("late-1", T0 - 330), entry("late-2", T0 - 19)];
    mock.push_entries(late.clone());
    let run2 = read_at(s.clone(), &work.state(), T0 + 60).await;
    run2.result.as_ref().unwrap();
    assert_exactly_once(&run2.ids(), &late);
    let oldest = mock
        .requests()
        .last()
        .unwrap()
        .param("oldest")
        .unwrap()
        .parse::<i64>()
        .unwrap();
    let newest = on_time.iter().map(|e| e.date_create).max().unwrap();
    assert_eq!(
        oldest,
        newest - 600,
        "lookback is 600 s behind the watermark"
    );

    assert_nothing_repeated(s, &work.state(), T0 + 120).await;
}

#[tokio::test]
async fn the_lookback_never_reaches_before_the_start_point() {
    let mock = mock().await;
    mock.push_entries(entries("before", 10, T0 - 300, T0 - 100));
    let work = Workdir::new();
    let s = settings(&mock, json!({}));
    read_at(s.clone(), &work.state(), T0)
        .await
        .result
        .as_ref()
        .unwrap();
    let fresh = vec![entry("x", T0 + 5)];
    mock.push_entries(fresh.clone());
    let run = read_at(s, &work.state(), T0 + 10).await;
    run.result.as_ref().unwrap();
    assert_exactly_once(&run.ids(), &fresh);
    for r in mock.requests() {
        assert!(r.param("oldest").unwrap().parse::<i64>().unwrap() >= T0);
    }
}

#[tokio::test]
async fn a_refused_cursor_resumes_from_the_checkpoint() {
    let mock = mock().await;
    let all = entries("c", 450, T0 - 3000, T0 - 1);
    mock.push_entries(all.clone());
    mock.enqueue_fault(Fault::InvalidCursor);
    let work = Workdir::new();
    let s = settings(&mock, json!({"backfill_start_time": "2h"}));
    let run = read_at(s, &work.state(), T0).await;
    run.result.as_ref().unwrap();
    assert_exactly_once(&run.ids(), &all);
    assert_eq!(mock.stats().faults.invalid_cursor, 1);
    // The request after the refusal has no cursor and resumes at the checkpoint's `upper`.
    let reqs = mock.requests();
    let refused = reqs.iter().position(|r| r.response_status == 400).unwrap();
    let resumed = &reqs[refused + 1];
    assert_eq!(resumed.param("cursor"), None);
    assert!(resumed.param("latest").unwrap().parse::<i64>().unwrap() < T0);
    assert_eq!(resumed.param("oldest"), reqs[0].param("oldest"));
}

#[tokio::test]
async fn records_pass_through_byte_for_byte_with_unknown_and_polymorphic_fields() {
    let mock = mock().await;
    let odd = [
        r#"{"id":"p-1","date_create":1767225500,"action":"pref.sso_setting_changed","actor":{"type":"user","user":{"id":"W1","name":"a","email":"a@x.io","team":"E1","account_type":"owner"}},"entity":{"type":"workspace","workspace":{"id":"T1","name":"W","domain":"w"}},"context":{"location":{"type":"enterprise","id":"E1","name":"E","domain":"e"},"ua":"","ip_address":"","session_id":null},"details":{"new_value":{"a":["x","y"]},"previous_value":["z"],"brand_new_field":{"nested":[1,2.50,true,null]}},"future_top_level":"kept"}"#,
        r#"{"id":"p-2","date_create":1767225499,"action":"anomaly","actor":{"type":"user","user":{"id":"USLACKSECURITY","name":"Slack"}},"entity":{"type":"user","user":{"id":"W2"}},"context":{"location":{"type":"workspace","id":"T1"},"ua":"Mozilla/5.0","ip_address":"2001:db8::1","session_id":8472881900921},"details":{"reason":["asn","ip_address"],"action_timestamp":1767225499123456,"succeeded_users":"[\"W1\"]","new_value":"plain"}}"#,
        "{\"id\":\"p-3\",\n  \"date_create\": 1767225498,\r\n  \"action\":\"user_login\", \"text\":\"caf\\u00e9 \u{1F600}\"}",
    ];
    for text in odd {
        mock.push_entry(slack_mock::MockEntry::from_json(text).unwrap());
    }
    let work = Workdir::new();
    let run = read_at(
        settings(&mock, json!({"backfill_start_time": "1h"})),
        &work.state(),
        T0,
    )
    .await;
    run.result.as_ref().unwrap();
    assert_eq!(run.lines.len(), 3);
    assert_eq!(run.lines[0], odd[0]);
    assert_eq!(run.lines[1], odd[1]);
    // Raw newlines are JSON whitespace: replaced by spaces, the value is unchanged.
    assert_eq!(run.lines[2], odd[2].replace(['\n', '\r'], " "));
    let a: serde_json::Value = serde_json::from_str(&run.lines[2]).unwrap();
    let b: serde_json::Value = serde_json::from_str(odd[2]).unwrap();
    assert_eq!(a, b);
}

#[tokio::test]
async fn entries_without_id_or_date_are_delivered_not_dropped() {
    let body = format!(
        r#"{{"entries":[{{"id":"k-1","date_create":{}}},{{"action":"no_id","date_create":{}}},{{"id":"no-date"}}],"response_metadata":{{"next_cursor":""}}}}"#,
        T0 - 5,
        T0 - 6
    );
    let mock = mock_with(MockConfig::scripted(vec![slack_mock::ScriptedExchange {
        expect_query: vec![
            ("oldest".into(), "*".into()),
            ("latest".into(), "*".into()),
            ("limit".into(), "100".into()),
        ],
        response: slack_mock::ScriptedResponse::json(200, body.into_bytes()),
    }]))
    .await;
    let work = Workdir::new();
    let run = read_at(
        settings(&mock, json!({"backfill_start_time": "1h"})),
        &work.state(),
        T0,
    )
    .await;
    run.result.as_ref().unwrap();
    assert_eq!(run.lines.len(), 3, "{:?}", run.lines);
    assert!(run.lines[1].contains("no_id"));
    assert!(run.lines[2].contains("no-date"));
}
