//! `slack-audit status`: on a state file left by a killed backfill it says where the backfill
//! stopped and how far behind collection is; while a reader runs it says so, and it never
//! changes anything.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::support::*;

async fn status(state: &Path, json: bool) -> (i32, String, String) {
    let mut args = vec!["status", "--state", state.to_str().unwrap()];
    if json {
        args.push("--json");
    }
    let out = run_binary(&args, &[]).await;
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every file of `dir`: name, bytes, modification time.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
                meta.modified().unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn date_of(line: &str) -> i64 {
    let v: Value = serde_json::from_str(line).unwrap();
    v["date_create"].as_i64().unwrap()
}

#[tokio::test]
async fn status_of_a_killed_backfill_says_where_it_stopped_and_how_far_behind() {
    let case = Backfill::new(
        entries("k", 2000, T0 - 20_000, T0 - 1),
        Duration::from_millis(40),
        json!({"page_size": 50}),
    )
    .await;
    let (work, path) = (&case.work, &case.config);
    let (child, mut lines) = case.spawn_read(&[], Stdio::null());
    let mut dates = Vec::new();
    while dates.len() < 700 {
        dates.push(date_of(&next_line(&mut lines).await));
    }
    let rest = kill_and_drain(child, &mut lines).await;
    dates.extend(rest.iter().map(|l| date_of(l)));
    let oldest_written = *dates.iter().min().unwrap();
    let before = snapshot(work.dir.path());

    let (code, out, err) = status(&work.state(), true).await;
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let now = chrono::Utc::now().timestamp();
    let floor = chrono::DateTime::parse_from_rfc3339("2025-12-31T00:00:00Z")
        .unwrap()
        .timestamp();
    assert_eq!(report["reader_running"], json!(false));
    let state = &report["state"];
    assert_eq!(state["start_point"], json!("2025-12-31T00:00:00Z"));
    assert_eq!(state["watermark"], Value::Null, "{report}");
    // Nothing is complete past the start point: that is how far behind it is.
    let behind = state["behind_seconds"].as_i64().unwrap();
    assert!(
        (behind - (now - floor)).abs() <= 5,
        "{behind} vs {}",
        now - floor
    );
    // Where it stopped: the window's position is at or above the oldest record written (the
    // last batch may not have been checkpointed before the kill), and inside what was written.
    let window = &state["window"];
    let position = chrono::DateTime::parse_from_rfc3339(window["position"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!(
        position >= oldest_written && position <= *dates.iter().max().unwrap(),
        "position {position}, written {oldest_written}..: {report}"
    );
    assert!(window["ids_at_position"].as_u64().unwrap() >= 1);
    let ratio = window["progress_ratio"].as_f64().unwrap();
    assert!(ratio > 0.0 && ratio < 1.0, "{ratio}");
    assert_eq!(state["window"]["oldest"], json!("2025-12-31T00:00:00Z"));

    let (code, text, err) = status(&work.state(), false).await;
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("none running (the lock is free)"), "{text}");
    assert!(
        text.contains(&format!(
            "in progress: read back to {}",
            window["position"].as_str().unwrap()
        )),
        "{text}"
    );
    assert!(
        text.contains("nothing is complete past the start point 2025-12-31T00:00:00Z"),
        "{text}"
    );
    assert_eq!(
        snapshot(work.dir.path()),
        before,
        "status changed a file, or created one"
    );

    // The backfill resumes from there and completes: status then gives the lag.
    let done = run_read(path, &work.state(), &[], &[]).await;
    assert_eq!(done.status.code(), Some(0));
    let (_, out, _) = status(&work.state(), true).await;
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["state"]["window"], Value::Null, "{report}");
    // Caught up: not behind, however old the newest event (nothing happened since T0).
    let lag = report["state"]["lag_seconds"].as_i64().unwrap();
    assert!((0..=30).contains(&lag), "{report}");
    let age = report["state"]["newest_event_age_seconds"]
        .as_i64()
        .unwrap();
    assert!((age - (now - (T0 - 1))).abs() <= 30, "{report}");
}

#[tokio::test]
async fn status_while_a_reader_runs_says_so_and_changes_nothing() {
    let mock = mock().await;
    mock.push_entries(entries("r", 50, T0 - 100, T0 - 1));
    let work = Workdir::new();
    let path = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31"}),
    )));

    // No state yet.
    let (code, text, _) = status(&work.state(), false).await;
    assert_eq!(code, 0);
    assert!(text.contains("none yet"), "{text}");
    assert_eq!(
        snapshot(work.dir.path()).len(),
        1,
        "only the config: nothing created"
    );

    let mut reader = Reader::start(
        &path,
        &work.state(),
        &["--follow", "--poll-interval", "0.2"],
    )
    .await;
    reader.take(50).await;
    // Wait for the closed window's checkpoint.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(work.state().exists() && work.state_json()["state"]["watermark"].is_i64()) {
        assert!(tokio::time::Instant::now() < deadline, "no watermark saved");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let before = std::fs::read(work.state()).unwrap();
    for _ in 0..5 {
        let (code, text, err) = status(&work.state(), false).await;
        assert_eq!(code, 0, "{err}");
        assert!(
            text.lines().any(|l| l.starts_with("reader ")
                && l.ends_with(
                    "running: another process holds the lock (a `read` is in progress)"
                )),
            "{text}"
        );
        assert!(text.contains("watermark"), "{text}");
        let (_, json_out, _) = status(&work.state(), true).await;
        let report: Value = serde_json::from_str(&json_out).unwrap();
        assert_eq!(report["reader_running"], json!(true));
    }
    // The reader went on undisturbed: new events still arrive, and it still holds the lock.
    let now = chrono::Utc::now().timestamp();
    mock.push_entries(vec![entry("late-1", now), entry("late-2", now)]);
    let fresh = reader.take(2).await;
    assert_eq!(fresh.len(), 2);
    let second = run_read(&path, &work.state(), &[], &[]).await;
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use"));
    assert_eq!(reader.stop().await, Some(0));
    assert_ne!(
        std::fs::read(work.state()).unwrap(),
        before,
        "the reader kept committing"
    );
    let (_, text, _) = status(&work.state(), false).await;
    assert!(text.contains("none running"), "{text}");
}
