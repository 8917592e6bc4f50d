//! The run's life through the real binary: stopped by SIGTERM or SIGINT mid-backfill, a second
//! signal, pacing at the configured rate, the limit on restarts after refused cursors, and the
//! start point (fixed once, clamped to when the audit log begins).

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use slack_mock::{Fault, MockConfig};
use tokio::io::AsyncReadExt;

use crate::support::*;

/// `slack-audit read` on `config` and `work`'s state, to completion.
async fn read_to_end(config: &std::path::Path, work: &Workdir) -> std::process::Output {
    run_read(config, &work.state(), &[], &[]).await
}

/// A graceful stop writes the batch in hand, checkpoints exactly what it wrote, and exits 0;
/// the next run goes on from there with nothing lost and, since nothing was cut short, nothing
/// repeated.
async fn stop_mid_backfill_with(signal: Signal) {
    let case = Backfill::new(
        entries("g", 2000, T0 - 20_000, T0 - 1),
        Duration::from_millis(60),
        json!({}),
    )
    .await;
    let (all, work, path) = (&case.all, &case.work, &case.config);
    let (mut child, mut lines) = case.spawn_read(&[], Stdio::piped());
    let mut written = Vec::new();
    while written.len() < 250 {
        written.push(id_of(&next_line(&mut lines).await));
    }
    kill(Pid::from_raw(child.id().unwrap() as i32), signal).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("stops within seconds")
        .unwrap();
    assert_eq!(status.code(), Some(0), "{signal}");
    while let Some(line) = lines.next_line().await.unwrap() {
        written.push(id_of(&line));
    }
    assert!(
        written.len() < all.len(),
        "{signal}: it was not mid-backfill"
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    assert!(stderr.contains("Stopped on signal"), "{signal}: {stderr}");

    written.extend(read_the_rest(path, &work.state()).await);
    assert_exactly_once(&written, all);
}

#[tokio::test]
async fn sigterm_mid_backfill_stops_cleanly_and_repeats_nothing() {
    stop_mid_backfill_with(Signal::SIGTERM).await;
}

#[tokio::test]
async fn sigint_mid_backfill_stops_cleanly_and_repeats_nothing() {
    stop_mid_backfill_with(Signal::SIGINT).await;
}

/// The first signal waits for the batch in hand; when that cannot finish (here: nobody reads
/// stdout), a second signal exits at once with 130, and the state file is still one that a
/// run wrote whole.
#[tokio::test]
async fn a_second_signal_exits_at_once_leaving_a_consistent_state() {
    let case = Backfill::of(entries("b", 3000, T0 - 20_000, T0 - 1)).await;
    let (mock, all, work, path) = (&case.mock, &case.all, &case.work, &case.config);
    let (mut child, lines) = case.spawn_read(&[], Stdio::null());
    // Nobody reads: the pipe fills and the writer blocks on it.
    let mut stdout = lines.into_inner().into_inner();
    let pid = Pid::from_raw(child.id().unwrap() as i32);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while mock.stats().requests < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill(pid, Signal::SIGTERM).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first signal must wait for the batch in hand"
    );
    kill(pid, Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(3), child.wait())
        .await
        .expect("the second signal exits at once")
        .unwrap();
    assert_eq!(status.code(), Some(130));

    let mut written = String::new();
    stdout.read_to_string(&mut written).await.unwrap();
    let mut ids: Vec<String> = written
        .lines()
        .filter(|l| l.ends_with('}'))
        .map(id_of)
        .collect();
    // Whatever the state says, it loads, and resuming from it loses nothing.
    ids.extend(read_the_rest(path, &work.state()).await);
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), all.len(), "lost events");
    assert!(
        ids.len() - unique.len() <= 200,
        "{} repeats: more than the batches in flight",
        ids.len() - unique.len()
    );
}

/// Request starts are spaced `60 / requests_per_minute` seconds apart.
#[tokio::test]
async fn requests_are_paced_at_the_configured_rate() {
    let case = Backfill::new(
        entries("r", 550, T0 - 5000, T0 - 1),
        Duration::ZERO,
        json!({"requests_per_minute": 120}),
    )
    .await;
    let out = read_to_end(&case.config, &case.work).await;
    assert_eq!(out.status.code(), Some(0));
    let requests = case.mock.requests();
    assert_eq!(requests.len(), 6, "six pages of 100");
    for pair in requests.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(
            gap >= Duration::from_millis(450),
            "requests {gap:?} apart at 120 a minute (0.5 s)"
        );
    }
}

/// A refused cursor resumes the window from its checkpoint; when that makes no progress, five
/// times, the run fails with exit 1 and the checkpoint where it was.
#[tokio::test]
async fn refused_cursors_resume_at_most_five_times_without_progress() {
    let mock = mock_with(MockConfig {
        split_ties: true,
        ..MockConfig::default()
    })
    .await;
    // Two pages of events in one second: a restart resumes at that second, and the first
    // page is all the run can get before its cursor is refused again.
    mock.push_entries((0..200).map(|i| entry(&format!("t-{i:03}"), T0 - 10)));
    for _ in 0..10 {
        mock.enqueue_fault(Fault::InvalidCursor);
    }
    let work = Workdir::new();
    let path = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31"}),
    )));
    let out = read_to_end(&path, &work).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("5 times made no progress"), "{stderr}");
    let stats = mock.stats();
    assert_eq!(
        stats.faults.invalid_cursor, 6,
        "the first refusal and five more"
    );
    assert_eq!(stats.requests, 12, "{stats:?}");
    let window = work.state_json()["state"]["window"].clone();
    assert_eq!(window["upper"], json!(T0 - 10));
    assert_eq!(window["upper_ids"].as_array().unwrap().len(), 100);
}

/// The start point is fixed by the first run that reads a page; a later change of
/// `backfill_start_time` does not move it (history is not read again, nor read late).
#[tokio::test]
async fn the_start_point_stays_fixed_when_backfill_start_time_changes() {
    let mock = mock().await;
    let recent = entries("n", 30, T0 - 3600, T0 - 1);
    mock.push_entries(recent.clone());
    let work = Workdir::new();
    let first = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31"}),
    )));
    let out = read_to_end(&first, &work).await;
    assert_eq!(out.status.code(), Some(0));
    let floor = work.state_json()["state"]["floor"].clone();
    assert_eq!(floor, json!(T0 - 86_400));

    mock.push_entries(entries("old", 10, T0 - 20 * 86_400, T0 - 19 * 86_400));
    work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-01"}),
    )));
    let again = read_to_end(&first, &work).await;
    assert_eq!(again.status.code(), Some(0));
    assert!(
        again.stdout.is_empty(),
        "history before the start point was read"
    );
    assert_eq!(work.state_json()["state"]["floor"], floor);
    let oldest: Vec<i64> = mock
        .requests()
        .iter()
        .filter_map(|r| r.param("oldest")?.parse().ok())
        .collect();
    assert!(
        oldest.iter().all(|o| *o >= T0 - 86_400),
        "asked below the start point: {oldest:?}"
    );
}

/// A start point before Slack's audit log began (March 2018) is clamped to it.
#[tokio::test]
async fn a_backfill_before_march_2018_is_clamped() {
    let mock = mock().await;
    let work = Workdir::new();
    let path = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2010-01-01"}),
    )));
    let out = read_to_end(&path, &work).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(mock.requests()[0].param("oldest"), Some("1521072000"));
    assert_eq!(work.state_json()["state"]["floor"], json!(1_521_072_000));
}
