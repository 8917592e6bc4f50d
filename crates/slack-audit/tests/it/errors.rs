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

/// Each transient fault, once, then success: everything is delivered exactly once, exit 0.
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
        let mock = mock().await;
        let all = entries("t", 250, T0 - 1000, T0 - 1);
        mock.push_entries(all.clone());
        // First page fine, then the fault on page 2.
        mock.enqueue_fault(Fault::InvalidCursor);
        mock.enqueue_fault(fault);
        let work = Workdir::new();
        let out = read_once(&mock, &work, json!({"backfill_start_time": "2025-12-31"})).await;
        assert_eq!(out.code, 0, "{what}: {}", out.stderr);
        let ids: Vec<String> = out.stdout.lines().map(id_of).collect();
        assert_exactly_once(&ids, &all);
        assert!(
            out.stderr.contains("retrying") || out.stderr.contains("refused the cursor"),
            "{what}: {}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn persistent_failures_exit_1_without_moving_the_checkpoint() {
    let mock = mock().await;
    let all = entries("p", 300, T0 - 1000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let extra = json!({"backfill_start_time": "2025-12-31", "max_retries": 2});
    // A first complete run establishes a watermark.
    let first = read_once(&mock, &work, extra.clone()).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    let before = work.state_json();

    for _ in 0..3 {
        mock.enqueue_fault(Fault::service_unavailable_html());
    }
    let out = read_once(&mock, &work, extra).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("gave up") && out.stderr.contains("503"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    let after = work.state_json();
    assert_eq!(
        after["state"]["watermark"], before["state"]["watermark"],
        "the watermark must not move"
    );
}

#[tokio::test]
async fn a_200_with_ok_false_is_never_taken_for_no_events() {
    let mock = mock().await;
    mock.push_entries(entries("o", 20, T0 - 100, T0 - 1));
    for _ in 0..3 {
        mock.enqueue_fault(Fault::OkFalse("fatal_error".into()));
    }
    let work = Workdir::new();
    let out = read_once(
        &mock,
        &work,
        json!({"backfill_start_time": "2025-12-31", "max_retries": 2}),
    )
    .await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("\"ok\": false"), "{}", out.stderr);
    assert_eq!(mock.stats().requests, 3, "one attempt and two retries");
    assert_eq!(mock.stats().faults.ok_false, 3);
    // No valid page was ever read: no state, so nothing can have been marked as read.
    assert!(
        !work.state().exists(),
        "a run that read nothing wrote state"
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
