//! Every error class, through the real binary: exit codes, messages that say what to fix, and
//! retries that recover or fail without moving the checkpoint.

use serde_json::json;
use slack_mock::{Fault, MockSlack};

use crate::support::*;

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn read_once(mock: &MockSlack, work: &Workdir, extra: serde_json::Value) -> Outcome {
    let config = work.write_config(&config(settings(mock, extra)));
    let out = run_binary(
        &[
            "read",
            "--config",
            config.to_str().unwrap(),
            "--state",
            work.state().to_str().unwrap(),
        ],
        &[("RUST_LOG", "debug")],
    )
    .await;
    let outcome = Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !outcome.stderr.contains(TOKEN) && !outcome.stdout.contains(TOKEN),
        "token leaked"
    );
    outcome
}

async fn auth_failure(fault: Fault, expected: &str) {
    let mock = mock().await;
    mock.push_entries(entries("a", 5, T0 - 100, T0 - 1));
    mock.enqueue_fault(fault);
    let work = Workdir::new();
    let out = read_once(&mock, &work, json!({"backfill_start_time": "2025-12-31"})).await;
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(expected),
        "{expected:?} not in {}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    assert_eq!(mock.stats().requests, 1, "auth errors are not retried");
}

#[tokio::test]
async fn unauthorized_with_an_empty_body_says_the_token_is_wrong() {
    auth_failure(Fault::unauthorized_empty(), "not a user token").await;
}

#[tokio::test]
async fn feature_not_enabled_says_enterprise_grid() {
    auth_failure(
        Fault::json_error(200, "feature_not_enabled"),
        "not on Enterprise Grid",
    )
    .await;
}

#[tokio::test]
async fn team_not_authorized_says_install_on_the_organization() {
    auth_failure(
        Fault::json_error(403, "team_not_authorized"),
        "installed on a workspace, not on the organization",
    )
    .await;
}

#[tokio::test]
async fn user_not_authorized_says_org_owner() {
    auth_failure(
        Fault::json_error(403, "user_not_authorized"),
        "not an Org Owner",
    )
    .await;
}

#[tokio::test]
async fn invalid_authentication_and_bot_tokens_are_auth_errors() {
    auth_failure(
        Fault::json_error(401, "invalid_authentication"),
        "auditlogs:read",
    )
    .await;
    auth_failure(
        Fault::json_error(200, "not_allowed_token_type"),
        "only user tokens",
    )
    .await;
}

#[tokio::test]
async fn refused_filters_and_ranges_are_config_errors() {
    for (code, expected) in [
        ("invalid_action", "settings.actions"),
        ("invalid_range", "backfill_start_time"),
    ] {
        let mock = mock().await;
        mock.enqueue_fault(Fault::json_error(400, code));
        let work = Workdir::new();
        let out = read_once(&mock, &work, json!({"backfill_start_time": "2025-12-31"})).await;
        assert_eq!(out.code, 2, "{code}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{code}: {}", out.stderr);
    }
}

/// Each transient fault, once, on the request after a refused cursor (so mid-window), then
/// success: the fault fired, was retried, and everything is delivered exactly once, exit 0.
#[tokio::test]
async fn transient_faults_are_retried_and_nothing_is_lost() {
    let faults = [
        Fault::service_unavailable_html(),
        Fault::Status {
            status: 500,
            body: String::new(),
            headers: vec![],
        },
        Fault::Truncated,
        Fault::Drop,
        Fault::OkFalse("fatal_error".into()),
        Fault::Stall(std::time::Duration::from_secs(3)),
        Fault::Status {
            status: 200,
            body: "<html>proxy</html>".into(),
            headers: vec![],
        },
    ];
    for fault in faults {
        let what = format!("{fault:?}");
        let kind = fault.kind();
        let mock = mock().await;
        let all = entries("t", 250, T0 - 1000, T0 - 1);
        mock.push_entries(all.clone());
        // Page 2's cursor is refused; the fault then hits the request that resumes the window.
        mock.enqueue_fault(Fault::InvalidCursor);
        mock.enqueue_fault(fault);
        let work = Workdir::new();
        let out = read_once(&mock, &work, json!({"backfill_start_time": "2025-12-31"})).await;
        assert_eq!(out.code, 0, "{what}: {}", out.stderr);
        let stats = mock.stats();
        assert_eq!(stats.faults.get(kind), 1, "{what}: the fault did not fire");
        assert_eq!(stats.faults.invalid_cursor, 1, "{what}");
        assert_eq!(mock.pending_faults(), 0, "{what}");
        let ids: Vec<String> = out.stdout.lines().map(id_of).collect();
        assert_exactly_once(&ids, &all);
        assert_eq!(
            out.stderr.matches("Request failed; retrying.").count(),
            1,
            "{what}: one retry, for the fault: {}",
            out.stderr
        );
    }
}

/// A failure in the middle of a window, past every retry: exit 1, and the state is exactly the
/// checkpoint of the last page written (its window, its position, its ids), nothing further.
#[tokio::test]
async fn persistent_failures_exit_1_without_moving_the_checkpoint() {
    let mock = mock().await;
    let all = entries("p", 300, T0 - 1000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let extra = json!({"backfill_start_time": "2025-12-31", "max_retries": 2});
    // Page 1 is served; page 2 fails three times in a row (one attempt, two retries).
    mock.enqueue_fault(Fault::InvalidCursor);
    for _ in 0..3 {
        mock.enqueue_fault(Fault::service_unavailable_html());
    }
    let out = read_once(&mock, &work, extra.clone()).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("gave up") && out.stderr.contains("503"),
        "{}",
        out.stderr
    );
    let stats = mock.stats();
    assert_eq!(stats.faults.status, 3, "{stats:?}");
    assert_eq!(
        stats.requests, 5,
        "page 1, the refused cursor, three attempts"
    );
    let written: Vec<String> = out.stdout.lines().map(id_of).collect();
    assert_eq!(written.len(), 100, "page 1 only");
    let dates: std::collections::HashMap<&str, i64> =
        all.iter().map(|e| (e.id.as_str(), e.date_create)).collect();
    let oldest_written = written.iter().map(|id| dates[id.as_str()]).min().unwrap();
    let mut at_oldest: Vec<&str> = written
        .iter()
        .map(String::as_str)
        .filter(|id| dates[id] == oldest_written)
        .collect();
    at_oldest.sort_unstable();

    let state = work.state_json();
    let window = &state["state"]["window"];
    assert!(state["state"]["watermark"].is_null(), "{state}");
    assert_eq!(window["oldest"], json!(T0 - 86_400), "{state}");
    assert_eq!(window["upper"], json!(oldest_written), "{state}");
    let mut upper_ids: Vec<&str> = window["upper_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    upper_ids.sort_unstable();
    assert_eq!(upper_ids, at_oldest, "{state}");

    // Slack recovers: the next run resumes there, and nothing is lost or repeated.
    let rest = read_once(&mock, &work, extra).await;
    assert_eq!(rest.code, 0, "{}", rest.stderr);
    let mut ids = written;
    ids.extend(rest.stdout.lines().map(id_of));
    assert_exactly_once(&ids, &all);
}

#[tokio::test]
async fn a_200_with_ok_false_is_never_taken_for_no_events() {
    // On the first page: nothing was ever read, so no state at all.
    let mock = mock().await;
    mock.push_entries(entries("o", 20, T0 - 100, T0 - 1));
    for _ in 0..3 {
        mock.enqueue_fault(Fault::OkFalse("fatal_error".into()));
    }
    let work = Workdir::new();
    let extra = json!({"backfill_start_time": "2025-12-31", "max_retries": 2});
    let out = read_once(&mock, &work, extra.clone()).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("\"ok\": false"), "{}", out.stderr);
    assert_eq!(mock.stats().requests, 3, "one attempt and two retries");
    assert_eq!(mock.stats().faults.ok_false, 3);
    assert!(
        !work.state().exists(),
        "a run that read nothing wrote state"
    );

    // Mid-window: the window stays open where page 1 left it; it is not closed as if the
    // `ok: false` page had been an empty last page.
    let mid = crate::support::mock().await;
    mid.push_entries(entries("m", 250, T0 - 1000, T0 - 1));
    mid.enqueue_fault(Fault::InvalidCursor);
    for _ in 0..3 {
        mid.enqueue_fault(Fault::OkFalse("fatal_error".into()));
    }
    let work = Workdir::new();
    let out = read_once(&mid, &work, extra).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(mid.stats().faults.ok_false, 3);
    assert_eq!(out.stdout.lines().count(), 100, "page 1 only");
    let state = work.state_json();
    assert!(state["state"]["watermark"].is_null(), "{state}");
    let window = &state["state"]["window"];
    assert_eq!(window["oldest"], json!(T0 - 86_400), "{state}");
    assert!(window["upper"].as_i64().unwrap() > T0 - 1000, "{state}");
    assert!(
        !window["upper_ids"].as_array().unwrap().is_empty(),
        "{state}"
    );
}

#[tokio::test]
async fn rate_limits_are_waited_out_never_retried_early() {
    let mock = mock().await;
    let all = entries("r", 150, T0 - 500, T0 - 1);
    mock.push_entries(all.clone());
    mock.enqueue_fault(Fault::InvalidCursor);
    mock.enqueue_fault(Fault::RateLimited {
        retry_after_secs: 1,
    });
    let work = Workdir::new();
    let out = read_once(&mock, &work, json!({"backfill_start_time": "2025-12-31"})).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_exactly_once(&out.stdout.lines().map(id_of).collect::<Vec<_>>(), &all);
    let stats = mock.stats();
    assert_eq!(stats.rate_limited, 1);
    assert_eq!(stats.early_retries, 0, "retried before Retry-After");
    let reqs = mock.requests();
    let limited = reqs.iter().position(|r| r.response_status == 429).unwrap();
    let waited = reqs[limited + 1].at.duration_since(reqs[limited].at);
    assert!(
        waited >= std::time::Duration::from_secs(1),
        "waited only {waited:?}"
    );
}

#[tokio::test]
async fn check_reports_the_same_classified_errors() {
    let mock = mock().await;
    let work = Workdir::new();
    let config = work.write_config(&config(settings(&mock, json!({}))));
    let ok = run_binary(&["check", "--config", config.to_str().unwrap()], &[]).await;
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("check succeeded"));
    assert_eq!(mock.requests()[0].param("limit"), Some("1"));

    mock.enqueue_fault(Fault::json_error(200, "team_not_authorized"));
    let refused = run_binary(&["check", "--config", config.to_str().unwrap()], &[]).await;
    assert_eq!(refused.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("installed on a workspace"));
    assert!(!work.state().exists(), "check writes no state");
}

/// A proxy's HTML block page (403) is not Slack refusing the token: the message says a proxy
/// or firewall blocked the request, the exit is a config error (2), not an auth error (3).
#[tokio::test]
async fn a_proxys_html_403_is_not_called_a_bad_token() {
    let mock = mock().await;
    mock.push_entries(entries("p", 5, T0 - 100, T0 - 1));
    mock.enqueue_fault(Fault::Status {
        status: 403,
        body:
            "<html><head><title>Access Denied</title></head><body>Blocked by policy</body></html>"
                .into(),
        headers: vec![("Content-Type".into(), "text/html".into())],
    });
    let work = Workdir::new();
    let out = read_once(&mock, &work, json!({"backfill_start_time": "2025-12-31"})).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("a proxy or firewall"), "{}", out.stderr);
    assert!(
        !out.stderr.contains("xoxp-…"),
        "token advice given: {}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

/// An error code with control characters (a hostile or broken upstream) reaches the terminal
/// escaped, never as raw escape sequences.
#[tokio::test]
async fn control_characters_in_an_error_code_are_escaped() {
    let mock = mock().await;
    mock.push_entries(entries("c", 5, T0 - 100, T0 - 1));
    mock.enqueue_fault(Fault::json_error(418, "evil\u{1b}[2J\u{7}code"));
    let work = Workdir::new();
    let out = read_once(&mock, &work, json!({"backfill_start_time": "2025-12-31"})).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("evil"), "{}", out.stderr);
    assert!(
        !out.stderr.contains('\u{1b}') && !out.stderr.contains('\u{7}'),
        "raw control characters on stderr: {:?}",
        out.stderr
    );
}
