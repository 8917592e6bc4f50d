//! `read --output FILE`: records appended to a file, made durable before each checkpoint, and
//! reopened on SIGHUP. A SIGKILL between writes loses nothing and repeats at most the batch in
//! flight; a rotation (rename, then SIGHUP) loses no record and splits none across the files.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use slack_mock::MockConfig;

use crate::support::*;

/// The complete records of the file at `path` (none if it does not exist). While a reader
/// writes, the file may end inside the batch being written: only complete lines count.
fn records_so_far(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
}

/// Every line of a file no one writes to any more; it must end with a complete record.
fn lines_of(path: &Path) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "{} ends inside a record",
                path.display()
            );
            text.lines().map(str::to_owned).collect()
        }
        Err(_) => Vec::new(),
    }
}

fn read_args<'a>(config: &'a Path, state: &'a Path, output: &'a Path) -> Vec<&'a str> {
    vec![
        "read",
        "--config",
        config.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]
}

#[tokio::test]
async fn a_kill_between_writes_loses_nothing_and_repeats_at_most_the_batch_in_flight() {
    let mock = mock_with(MockConfig {
        page_delay: Duration::from_millis(30),
        ..MockConfig::default()
    })
    .await;
    let all = entries("f", 2000, T0 - 20_000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let page_size = 50;
    let config = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "page_size": page_size}),
    )));
    let output = work.dir.path().join("audit.ndjson");
    let state = work.state();
    let args = read_args(&config, &state, &output);

    let mut kills = 0;
    for after in [120usize, 600, 610, 1400] {
        let mut child = tokio::process::Command::new(binary())
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // Wait until the file holds `after` records, then SIGKILL, whatever is in flight.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while records_so_far(&output) < after {
            assert!(tokio::time::Instant::now() < deadline, "no progress");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        kills += 1;
    }
    let out = run_binary(&args, &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "records went to stdout too");

    let ids: Vec<String> = lines_of(&output).iter().map(|l| id_of(l)).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let missing = all
        .iter()
        .filter(|e| !counts.contains_key(e.id.as_str()))
        .count();
    assert_eq!(missing, 0, "lost {missing} records");
    let repeated = ids.len() - counts.len();
    assert!(
        repeated <= kills * page_size,
        "{repeated} records repeated over {kills} kills: more than the batch in flight each time"
    );
    assert_eq!(counts.len(), all.len());
}

#[tokio::test]
async fn a_rotation_by_rename_and_sighup_loses_and_splits_nothing() {
    let mock = mock_with(MockConfig {
        page_delay: Duration::from_millis(20),
        ..MockConfig::default()
    })
    .await;
    let all = entries("r", 3000, T0 - 20_000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let config = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "page_size": 40}),
    )));
    let output = work.dir.path().join("audit.ndjson");
    let state = work.state();
    let mut args = read_args(&config, &state, &output);
    args.extend(["--follow", "--poll-interval", "0.2"]);
    let child = tokio::process::Command::new(binary())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(child.id().unwrap() as i32);

    // Rotate four times during the backfill, as logrotate's postrotate would.
    let mut rotated = Vec::new();
    for i in 0..4 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while records_so_far(&output) < 200 {
            assert!(tokio::time::Instant::now() < deadline, "no progress");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let to = work.dir.path().join(format!("audit.ndjson.{i}"));
        std::fs::rename(&output, &to).unwrap();
        kill(pid, Signal::SIGHUP).unwrap();
        rotated.push(to);
    }
    // Then everything arrives.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let total: usize =
            rotated.iter().map(|p| lines_of(p).len()).sum::<usize>() + lines_of(&output).len();
        if total >= all.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {total} records"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill(pid, Signal::SIGTERM).unwrap();
    let status = child.wait_with_output().await.unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("Reopened the output file"), "{stderr}");

    let mut ids = Vec::new();
    for file in rotated.iter().chain([&output]) {
        let lines = lines_of(file);
        assert!(
            !lines.is_empty() || file == &output,
            "{} is empty",
            file.display()
        );
        // `id_of` parses each line: a record split across two files would not parse.
        ids.extend(lines.iter().map(|l| id_of(l)));
    }
    assert_exactly_once(&ids, &all);
}
