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
        !text.contains("5ec7e75ec7e7d0a07"),
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

/// Runs `binary` at `RUST_LOG=trace`, in text logs unless `envs` or `args` say otherwise.
async fn run_with(
    binary: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    run_traced(binary, args, &["LOG_FORMAT"], envs).await
}

/// A token typed where the command line does not take it (a stray argument, a subcommand, an
/// option's value) is in no byte of either binary's output: redaction is installed before the
/// command line is parsed, so clap's usage error is scrubbed in text and JSON logs and in the
/// Airbyte `TRACE`.
#[tokio::test]
async fn a_token_given_as_a_stray_argument_is_in_no_usage_error() {
    let work = Workdir::new();
    let config = work.write_config(&json!({"settings": {"use_synthetic_data": true}}));
    let config = config.to_str().unwrap();
    let state = work.state();
    let state = state.to_str().unwrap();
    let native: Vec<Vec<&str>> = vec![
        vec!["check", "--config", config, TOKEN],
        vec![TOKEN],
        vec!["check", TOKEN],
        vec![
            "read",
            "--config",
            config,
            "--state",
            state,
            "--follow",
            "--poll-interval",
            TOKEN,
        ],
        vec!["status", "--state", state, "--json", TOKEN],
        vec!["check", "--config", TOKEN],
    ];
    for args in &native {
        for (how, args, envs) in [
            ("text", args.clone(), vec![]),
            (
                "--log-format json",
                [&["--log-format", "json"][..], args].concat(),
                vec![],
            ),
            (
                "LOG_FORMAT=json",
                args.clone(),
                vec![("LOG_FORMAT", "json")],
            ),
        ] {
            let (code, stdout, stderr) = run_with(binary(), &args, &envs).await;
            assert_eq!(code, Some(2), "{how} {args:?}: {stderr}");
            assert_clean(&format!("stdout of {how} {args:?}"), &stdout);
            assert_clean(&format!("stderr of {how} {args:?}"), &stderr);
            assert!(
                stderr.contains("xoxp-[redacted]"),
                "{how} {args:?}: {stderr}"
            );
            if how != "text" {
                for line in stderr.lines() {
                    serde_json::from_str::<serde_json::Value>(line)
                        .unwrap_or_else(|_| panic!("{how} {args:?}: not JSON: {line}"));
                }
            }
        }
    }
    // Usage errors exit 2; a config that cannot be read is a failed check (exit 0).
    let airbyte: Vec<(Vec<&str>, i32)> = vec![
        (vec!["check", "--config", config, TOKEN], 2),
        (vec![TOKEN], 2),
        (vec!["discover", TOKEN], 2),
        (
            vec!["read", "--config", config, "--catalog", config, TOKEN],
            2,
        ),
        (vec!["check", "--config", TOKEN], 0),
    ];
    for (args, expected) in &airbyte {
        let (code, stdout, stderr) = run_with(source_binary(), args, &[]).await;
        assert_eq!(code, Some(*expected), "{args:?}: {stdout}");
        assert_clean(&format!("stdout of Airbyte {args:?}"), &stdout);
        assert_clean(&format!("stderr of Airbyte {args:?}"), &stderr);
        assert!(stdout.contains("xoxp-[redacted]"), "{args:?}: {stdout}");
    }
}

/// Both binaries, while they run, may write no core file: the soft and hard `RLIMIT_CORE` of
/// a running read are 0 (seen in `/proc/<pid>/limits`), whatever limit they were started with,
/// and the process is not dumpable (the kernel then gives its `/proc/<pid>` entries to root
/// instead of the user it runs as; run as `nobody` when the test runs as root, so that the two
/// differ).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_running_read_of_either_binary_may_write_no_core_file() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use tokio::io::AsyncBufReadExt;
    let work = Workdir::new();
    let as_root = std::fs::metadata(work.dir.path()).unwrap().uid() == 0;
    // `nobody` reads the config and keeps its state here.
    std::fs::set_permissions(work.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let config = work.write_config(&json!({"settings": {
        "use_synthetic_data": true,
        "backfill_start_time": "24h",
        "synthetic_events_per_hour": 20000,
    }}));
    let catalog = work.write_catalog();
    let config = config.to_str().unwrap();
    let state = work.state();
    let runs: [(&str, Vec<&str>); 2] = [
        (
            binary(),
            vec![
                "read",
                "--config",
                config,
                "--state",
                state.to_str().unwrap(),
            ],
        ),
        (
            source_binary(),
            vec![
                "read",
                "--config",
                config,
                "--catalog",
                catalog.to_str().unwrap(),
            ],
        ),
    ];
    for (binary, args) in runs {
        // Started with core dumps allowed as far as the parent may allow them.
        let mut command = tokio::process::Command::new("sh");
        command
            .arg("-c")
            .arg("ulimit -c \"$(ulimit -H -c)\" && exec \"$0\" \"$@\"")
            .arg(binary)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        if as_root {
            command.uid(65534).gid(65534);
        }
        let runs_as = if as_root {
            65534
        } else {
            std::fs::metadata(work.dir.path()).unwrap().uid()
        };
        let mut child = command.spawn().unwrap();
        let pid = child.id().unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        // Its first line: it is running (and stays so, blocked on the full pipe, until killed).
        let first = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{binary}: no output"))
            .unwrap();
        assert!(first.is_some(), "{binary} wrote nothing");
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap();
        let fields: Vec<&str> = core.split_whitespace().collect();
        assert_eq!(
            fields[4..6],
            ["0", "0"],
            "{binary}: soft and hard core limits: {core}"
        );
        let owner = std::fs::metadata(format!("/proc/{pid}/status"))
            .unwrap()
            .uid();
        assert_ne!(runs_as, 0, "the test needs a process not run as root");
        assert_eq!(
            owner, 0,
            "{binary} runs as {runs_as} and its /proc entries are its own: it is dumpable"
        );
        child.kill().await.unwrap();
    }
}
