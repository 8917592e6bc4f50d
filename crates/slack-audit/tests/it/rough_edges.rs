//! What an operator meets around the edges: a closed stdout is not a panic, JSON logs are JSON
//! to the last line, usage mistakes get exit 2 and words that say what to do, both binaries
//! name themselves.

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use crate::support::*;

/// Runs the binary with stdout a pipe whose reader reads `keep` bytes and closes it.
async fn with_closed_stdout(args: &[&str], keep: usize) -> (Option<i32>, String) {
    let mut child = tokio::process::Command::new(binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut head = vec![0u8; keep];
    stdout.read_exact(&mut head).await.unwrap();
    drop(stdout);
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_closed_stdout_is_not_a_panic() {
    // `spec | head -c 10`, the reader gone before the schema is written (the binary starts
    // after a pause): quietly, exit 1 (output closed), nothing on stderr.
    let (reader, writer) = std::io::pipe().unwrap();
    let child = tokio::process::Command::new("sh")
        .args(["-c", "sleep 0.3; exec \"$0\" spec", binary()])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(reader);
    let out = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    // Any other failure to write is said, not a panic.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = tokio::process::Command::new(binary())
        .args(["status", "--state", "/nonexistent.json"])
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
        .wait_with_output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write to stdout"), "{stderr}");

    // `read | head -1`: exit 1 (output closed), and no "Caught up" said before it.
    let work = Workdir::new();
    let config = work.write_config(&json!({"settings": {
        "use_synthetic_data": true, "backfill_start_time": "2d", "synthetic_events_per_hour": 20000.0
    }}));
    let (code, stderr) = with_closed_stdout(
        &[
            "read",
            "--config",
            config.to_str().unwrap(),
            "--state",
            work.state().to_str().unwrap(),
        ],
        100,
    )
    .await;
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("Broken pipe") || stderr.contains("broken pipe"),
        "{stderr}"
    );
    assert!(!stderr.contains("Caught up"), "{stderr}");
}

#[tokio::test]
async fn json_logs_are_json_to_the_last_line() {
    let work = Workdir::new();
    let config = work.write_config(&json!({"settings": {"page_sise": 1}}));
    let out = run_binary(
        &[
            "--log-format",
            "json",
            "read",
            "--config",
            config.to_str().unwrap(),
            "--state",
            work.state().to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v.get("level").is_some(), "{line}");
    }
    let last: Value = serde_json::from_str(lines[lines.len() - 1]).unwrap();
    assert_eq!(last["level"], json!("ERROR"), "{last}");
    assert_eq!(last["exit_code"], json!(2), "{last}");
    assert!(
        last["message"].as_str().unwrap().contains("page_sise"),
        "{last}"
    );
}

#[tokio::test]
async fn usage_mistakes_exit_2_with_what_to_do() {
    let work = Workdir::new();
    let config = work.write_config(&json!({"settings": {"use_synthetic_data": true}}));
    let config = config.to_str().unwrap();
    let missing_dir = work.dir.path().join("no/such/dir/state.json");
    let state = work.state();
    let state = state.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "read",
                "--config",
                config,
                "--state",
                missing_dir.to_str().unwrap(),
            ],
            "does not exist; create it (mkdir -p",
        ),
        (
            vec![
                "read",
                "--config",
                config,
                "--state",
                state,
                "--poll-interval",
                "5",
            ],
            "--follow",
        ),
        (
            vec![
                "read",
                "--config",
                config,
                "--state",
                state,
                "--follow",
                "--metrics-addr",
                ":9464",
            ],
            "127.0.0.1:9464",
        ),
    ];
    for (args, words) in cases {
        let out = run_binary(&args, &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(words),
            "{args:?}: {words:?} not in {stderr}"
        );
        assert!(!work.state().exists(), "{args:?} wrote a state");
        assert!(!missing_dir.parent().unwrap().exists());
    }
}

#[tokio::test]
async fn both_binaries_name_themselves_in_their_version() {
    let out = run_binary(&["-V"], &[]).await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "slack-audit 0.1.0"
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_source-slack-audit"))
        .arg("-V")
        .output()
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "source-slack-audit 0.1.0"
    );
}
