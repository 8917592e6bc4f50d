//! SIGKILL at arbitrary moments of a backfill loses nothing; a restart repeats at most the batch
//! that was in flight.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use slack_mock::MockConfig;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::*;

#[tokio::test]
async fn killing_the_binary_mid_backfill_loses_nothing() {
    let mock = mock_with(MockConfig {
        page_delay: Duration::from_millis(40),
        ..MockConfig::default()
    })
    .await;
    let all = entries("k", 3000, T0 - 20_000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let page_size = 50;
    let path = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "page_size": page_size}),
    )));

    let mut delivered: Vec<String> = Vec::new();
    let kills = [180usize, 420, 433, 1200, 2100];
    for (i, after) in kills.iter().enumerate() {
        let mut child = tokio::process::Command::new(binary())
            .args([
                "read",
                "--config",
                path.to_str().unwrap(),
                "--state",
                work.state().to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let target = delivered.len() + after.saturating_sub(delivered.len()).max(10);
        while delivered.len() < target {
            match tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await {
                Ok(Ok(Some(line))) => delivered.push(id_of(&line)),
                other => panic!("run {i} ended early: {other:?}"),
            }
        }
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
        // Whatever was already written to the pipe counts as delivered, as for a real consumer.
        while let Ok(Some(line)) = lines.next_line().await {
            delivered.push(id_of(&line));
        }
    }
    // A last run to completion.
    let out = run_binary(
        &[
            "read",
            "--config",
            path.to_str().unwrap(),
            "--state",
            work.state().to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    delivered.extend(String::from_utf8(out.stdout).unwrap().lines().map(id_of));

    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &delivered {
        *counts.entry(id).or_default() += 1;
    }
    let lost: Vec<_> = all
        .iter()
        .filter(|e| !counts.contains_key(e.id.as_str()))
        .collect();
    assert!(lost.is_empty(), "lost {} events", lost.len());
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    assert!(
        duplicates <= kills.len() * page_size * 2,
        "{duplicates} duplicates for {} kills: more than the batches in flight",
        kills.len()
    );
    assert_eq!(counts.len(), all.len());
}
