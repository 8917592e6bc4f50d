//! Secret hygiene: the token appears in no output, log line (at `trace`), error, panic message,
//! state file or `Debug` rendering, whatever path the run takes.

use std::sync::Arc;

use serde_json::json;
use slack_audit::SlackAuditInput;
use slack_audit::clock::FixedClock;
use slack_audit::settings::{SlackConfig, SlackSecrets, SlackSettings};
use slack_mock::Fault;

use crate::support::*;

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(TOKEN), "{what} contains the token:\n{text}");
    // Not even a recognisable part of it.
    assert!(
        !text.contains("sekrit-test-token"),
        "{what} contains part of the token:\n{text}"
    );
}

#[tokio::test]
async fn every_command_at_trace_level_through_error_paths_keeps_the_token_secret() {
    // Each fault with the exit code `check` and `read` must end with (max_retries 0): every
    // run below takes the error path it names, in both log formats.
    let faults: Vec<(Option<Fault>, i32)> = vec![
        (None, 0),
        (Some(Fault::unauthorized_empty()), 3),
        (Some(Fault::json_error(403, "team_not_authorized")), 3),
        (Some(Fault::json_error(400, "invalid_action")), 2),
        (Some(Fault::OkFalse("fatal_error".into())), 1),
        (Some(Fault::Truncated), 1),
        (Some(Fault::Drop), 1),
        (
            Some(Fault::RateLimited {
                retry_after_secs: 1,
            }),
            0,
        ),
        (Some(Fault::service_unavailable_html()), 1),
        (
            Some(Fault::Redirect {
                status: 302,
                location: "http://127.0.0.1:9/audit/v1/logs".into(),
            }),
            2,
        ),
    ];
    for (fault, expected_code) in faults {
        let mock = mock().await;
        mock.push_entries(entries("s", 30, T0 - 100, T0 - 1));
        let work = Workdir::new();
        let path = work.write_config(&config(settings(
            &mock,
            json!({"backfill_start_time": "2025-12-31", "max_retries": 0}),
        )));
        for args in [
            vec!["check", "--config", path.to_str().unwrap()],
            vec![
                "read",
                "--config",
                path.to_str().unwrap(),
                "--state",
                work.state().to_str().unwrap(),
            ],
        ] {
            for format in ["human", "json"] {
                let fired_before = mock.stats().faults.total();
                if let Some(f) = &fault {
                    mock.enqueue_fault(f.clone());
                }
                let out = run_binary(
                    &args,
                    &[
                        ("RUST_LOG", "trace"),
                        ("LOG_FORMAT", format),
                        ("RUST_BACKTRACE", "1"),
                    ],
                )
                .await;
                let what = format!("{} with {fault:?} ({format})", args[0]);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(expected_code), "{what}: {stderr}");
                if fault.is_some() {
                    assert_eq!(
                        mock.stats().faults.total(),
                        fired_before + 1,
                        "{what}: the fault did not fire"
                    );
                    assert_eq!(mock.pending_faults(), 0, "{what}");
                }
                assert_clean(
                    &format!("stdout of {what}"),
                    &String::from_utf8_lossy(&out.stdout),
                );
                assert_clean(&format!("stderr of {what}"), &stderr);
            }
        }
        if work.state().exists() {
            assert_clean(
                "the state file",
                &std::fs::read_to_string(work.state()).unwrap(),
            );
        }
        for entry in std::fs::read_dir(work.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap() != "config.json" {
                assert_clean(
                    &path.display().to_string(),
                    &String::from_utf8_lossy(&std::fs::read(&path).unwrap()),
                );
            }
        }
    }
}

#[test]
fn debug_renderings_are_redacted() {
    let secrets: SlackSecrets = serde_json::from_value(json!({"user_oauth_token": TOKEN})).unwrap();
    assert_clean("Debug of SlackSecrets", &format!("{secrets:?}"));
    let settings: SlackSettings = serde_json::from_value(json!({})).unwrap();
    let config = SlackConfig::new(settings.clone(), secrets, T0).unwrap();
    assert_clean("Debug of SlackConfig", &format!("{config:?} {config:#?}"));
    let secrets: SlackSecrets = serde_json::from_value(json!({"user_oauth_token": TOKEN})).unwrap();
    let input =
        SlackAuditInput::with_clock(settings, secrets, Arc::new(FixedClock::new(T0))).unwrap();
    assert_clean("Debug of the input", &format!("{input:?} {input:#?}"));
}

#[test]
fn a_panic_while_holding_the_config_does_not_print_the_token() {
    let secrets: SlackSecrets = serde_json::from_value(json!({"user_oauth_token": TOKEN})).unwrap();
    let result = std::panic::catch_unwind(|| {
        panic!("simulated failure with {secrets:?}");
    });
    let payload = result.unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("simulated failure"));
    assert_clean("a panic message", &message);
}

/// The metrics endpoint, the health endpoint and `status` show no token, whatever the run
/// went through (answers, retries, a refused token that ends the run).
#[tokio::test]
async fn metrics_health_and_status_never_show_the_token() {
    let mock = mock().await;
    mock.push_entries(entries("s", 30, T0 - 100, T0 - 1));
    let work = Workdir::new();
    let path = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "max_retries": 1}),
    )));
    mock.enqueue_fault(Fault::service_unavailable_html());
    mock.enqueue_fault(Fault::RateLimited {
        retry_after_secs: 1,
    });
    let mut reader = Reader::start(
        &path,
        &work.state(),
        &["--follow", "--poll-interval", "0.2"],
    )
    .await;
    reader.take(30).await;
    for _ in 0..20 {
        mock.enqueue_fault(Fault::service_unavailable_html());
    }
    let mut bodies = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, health) = get(reader.addr, "/healthz").await;
        bodies.push(health);
        bodies.push(get(reader.addr, "/metrics").await.1);
        if status == 503 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never unhealthy");
    }
    mock.clear_faults();
    mock.enqueue_fault(Fault::unauthorized_empty());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let code = loop {
        if let Some(status) = reader.child.try_wait().unwrap() {
            break status.code();
        }
        if let Ok(response) = reqwest::get(format!("http://{}/healthz", reader.addr)).await {
            bodies.push(response.text().await.unwrap_or_default());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a refused token ends the run"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(code, Some(3));
    let state = work.state();
    for json in [false, true] {
        let mut args = vec!["status", "--state", state.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let out = run_binary(&args, &[("RUST_LOG", "trace")]).await;
        bodies.push(String::from_utf8_lossy(&out.stdout).into_owned());
        bodies.push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    bodies.push(reader.stderr.lock().unwrap().clone());
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("slack_audit_requests_total"))
    );
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("the source is unavailable"))
    );
    for body in &bodies {
        assert_clean("a metrics, health or status answer", body);
    }
}
