//! A hostile or broken upstream, through the real binary: entries dated outside the window, a
//! body that never ends, a decompression bomb, a terabyte `Content-Length`, a megabyte of
//! headers, a body that trickles, an absurd `Retry-After`, a cursor that loops, a redirect, and
//! runs that never read a valid page. Each case is a mode of the loopback mock.
//!
//! Memory is measured, not assumed: the binary is reaped with `wait4(2)` and its peak RSS
//! printed (run with `--nocapture` to see it) and held under 256 MiB.
//!
//! These tests are a test binary of their own, apart from `tests/it`, because of how Linux
//! counts: a process spawned with `vfork` + `exec` (as `std::process::Command` does) inherits
//! its parent's high-water RSS into its own `ru_maxrss`. In the big `it` binary, whose other
//! tests hold large datasets, that floor alone passed 1 GiB; here the test process stays
//! small, and its own peak is printed beside each figure as the floor it is.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

#[path = "../it/support.rs"]
#[allow(dead_code)]
mod support;

use std::fs::File;
use std::time::Duration;

use serde_json::{Value, json};
use slack_mock::{Fault, MockConfig, MockSlack};
use wait4::Wait4;

use crate::support::*;

/// What a run of the binary did, with its peak resident memory.
struct Measured {
    code: i32,
    stdout: String,
    stderr: String,
    peak_rss: u64,
}

impl Measured {
    fn ids(&self) -> Vec<String> {
        self.stdout.lines().map(id_of).collect()
    }
}

const PEAK_RSS_LIMIT: u64 = 256 << 20;

/// Runs `slack-audit read` on `config` and `work`'s state file; reaps it with `wait4`.
async fn read_measured(work: &Workdir, config: &Value) -> Measured {
    let config = work.write_config(config);
    let state = work.state();
    let dir = work.dir.path().to_path_buf();
    let measured = tokio::task::spawn_blocking(move || {
        let out_path = dir.join("stdout");
        let err_path = dir.join("stderr");
        let child = std::process::Command::new(binary())
            .args(["read", "--config"])
            .arg(&config)
            .arg("--state")
            .arg(&state)
            .stdout(File::create(&out_path).unwrap())
            .stderr(File::create(&err_path).unwrap())
            .spawn()
            .unwrap();
        let usage = child.wait4().unwrap();
        Measured {
            code: usage.status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(&out_path).unwrap(),
            stderr: std::fs::read_to_string(&err_path).unwrap(),
            peak_rss: usage.rusage.maxrss,
        }
    })
    .await
    .unwrap();
    assert!(
        !measured.stdout.contains(TOKEN) && !measured.stderr.contains(TOKEN),
        "token leaked"
    );
    measured
}

/// This process's own high-water RSS (`VmHWM`), in bytes.
fn own_peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

fn backfill(mock: &MockSlack, extra: Value) -> Value {
    let mut extra = extra;
    extra["backfill_start_time"] = json!("2025-12-31");
    config(settings(mock, extra))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

const YEAR: i64 = 365 * 86_400;

/// Defect 1: one entry dated a year ahead moved the watermark there, and every later run read
/// nothing. It is delivered as sent, but the checkpoint stays in the window.
#[tokio::test]
async fn an_entry_dated_in_the_future_does_not_stop_collection() {
    let mock = mock().await;
    let first = entries("f", 120, T0 - 1000, T0 - 1);
    mock.push_entries(first.clone());
    let future = entry("from-the-future", now() + YEAR);
    mock.enqueue_fault(Fault::StrayEntry(future.clone()));
    let work = Workdir::new();
    let cfg = backfill(&mock, json!({}));

    let run1 = read_measured(&work, &cfg).await;
    assert_eq!(run1.code, 0, "{}", run1.stderr);
    assert_eq!(mock.stats().faults.stray_entry, 1, "the stray was served");
    let mut expected = first.clone();
    expected.push(future);
    assert_exactly_once(&run1.ids(), &expected);
    assert!(
        run1.stderr.contains("outside the window") && run1.stderr.contains("count=1"),
        "one warning with the count: {}",
        run1.stderr
    );
    let state = work.state_json();
    let watermark = state["state"]["watermark"].as_i64().unwrap();
    let newest = first.iter().map(|e| e.date_create).max().unwrap();
    assert_eq!(
        watermark, newest,
        "the watermark is the newest in-window entry"
    );

    // Later events are still collected.
    let later = entries("l", 30, now() - 60, now() - 2);
    mock.push_entries(later.clone());
    let run2 = read_measured(&work, &cfg).await;
    assert_eq!(run2.code, 0, "{}", run2.stderr);
    assert_exactly_once(&run2.ids(), &later);
}

/// An entry dated years before the window (or at a date no audit log has) must not become the
/// position either: a restart would then re-query a window that ends before the events not yet
/// read, and lose them.
#[tokio::test]
async fn an_entry_dated_before_the_window_does_not_move_the_position() {
    let mock = mock().await;
    let all = entries("p", 400, T0 - 2000, T0 - 1);
    mock.push_entries(all.clone());
    let ancient = entry("from-the-past", 1_000_000_000);
    mock.enqueue_fault(Fault::StrayEntry(ancient.clone()));
    // Page 2's cursor is refused: the sync resumes from its checkpoint.
    mock.enqueue_fault(Fault::InvalidCursor);
    let work = Workdir::new();
    let run = read_measured(&work, &backfill(&mock, json!({}))).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(mock.stats().faults.invalid_cursor, 1);
    let mut expected = all.clone();
    expected.push(ancient);
    assert_exactly_once(&run.ids(), &expected);
}

/// A state file from an older build, whose watermark an entry from the future moved a year
/// ahead, is repaired to now with a warning, and collection resumes.
#[tokio::test]
async fn a_state_in_the_future_is_repaired_with_a_warning() {
    let mock = mock().await;
    let work = Workdir::new();
    let future = now() + YEAR;
    let broken = json!({"connector": "slack-audit", "version": 1, "state": {
        "floor": T0 - 86_400,
        "watermark": future,
        "recent": {future.to_string(): ["from-the-future"]},
        "window": null
    }});
    std::fs::write(work.state(), serde_json::to_vec(&broken).unwrap()).unwrap();
    let fresh = entries("r", 20, now() - 120, now() - 2);
    mock.push_entries(fresh.clone());
    let run = read_measured(&work, &backfill(&mock, json!({}))).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("Repaired the state") && run.stderr.contains("in the future"),
        "{}",
        run.stderr
    );
    assert_exactly_once(&run.ids(), &fresh);
    let watermark = work.state_json()["state"]["watermark"].as_i64().unwrap();
    assert!(
        watermark <= now(),
        "watermark {watermark} still in the future"
    );
}

/// Defect 2, and the other caps: each hostile body ends as a transient failure naming its cap,
/// with bounded memory, no record, no state.
#[tokio::test]
async fn hostile_bodies_are_cut_at_their_caps_with_bounded_memory() {
    let cases = [
        (Fault::EndlessBody, "cap of 128 MiB"),
        (Fault::GzipBomb { inflated: 2 << 30 }, "cap of 128 MiB"),
        (Fault::HugeContentLength, "1099511627776 bytes"),
        (
            Fault::HugeHeaders { bytes: 4 << 20 },
            "headers passed the cap",
        ),
        (
            Fault::Trickle(Duration::from_millis(20)),
            "longer than request_timeout_seconds (2 s)",
        ),
    ];
    for (fault, expected) in cases {
        let what = format!("{:?}", fault.kind());
        let mock = mock().await;
        mock.push_entries(entries("h", 20, T0 - 100, T0 - 1));
        mock.enqueue_fault(fault);
        let work = Workdir::new();
        // A generous timeout, so the caps (not the clock) stop the big bodies; the trickle
        // is cut by it.
        let timeout = if what == "Trickle" { 2 } else { 20 };
        let cfg = backfill(
            &mock,
            json!({"max_retries": 0, "request_timeout_seconds": timeout}),
        );
        let run = read_measured(&work, &cfg).await;
        println!(
            "{what}: exit {}, peak RSS {:.1} MiB (floor: this test process's own peak, {:.1} MiB): {}",
            run.code,
            run.peak_rss as f64 / f64::from(1 << 20),
            own_peak_rss() as f64 / f64::from(1 << 20),
            run.stderr.lines().last().unwrap_or_default()
        );
        assert_eq!(run.code, 1, "{what}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{what}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{what}");
        assert!(!work.state().exists(), "{what}: state written");
        assert!(
            run.peak_rss < PEAK_RSS_LIMIT,
            "{what}: peak RSS {} MiB",
            run.peak_rss >> 20
        );
        assert_eq!(mock.stats().requests, 1, "{what}: max_retries 0");
    }
}

/// After a hostile body, a retry that gets a good page loses nothing.
#[tokio::test]
async fn a_capped_body_is_retried_and_nothing_is_lost() {
    let mock = mock().await;
    let all = entries("c", 250, T0 - 1000, T0 - 1);
    mock.push_entries(all.clone());
    mock.enqueue_fault(Fault::InvalidCursor);
    mock.enqueue_fault(Fault::GzipBomb { inflated: 1 << 30 });
    let work = Workdir::new();
    let run = read_measured(
        &work,
        &backfill(&mock, json!({"request_timeout_seconds": 20})),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(mock.stats().faults.gzip_bomb, 1);
    assert!(run.stderr.contains("cap of 128 MiB"), "{}", run.stderr);
    assert_exactly_once(&run.ids(), &all);
}

/// Defect 3: `Retry-After: 999999999` parked the connector for 31 years. The wait is capped,
/// and the cap said aloud.
#[tokio::test]
async fn an_absurd_retry_after_is_capped_and_said() {
    let mock = mock().await;
    mock.push_entries(entries("w", 5, T0 - 100, T0 - 1));
    mock.enqueue_fault(Fault::RateLimited {
        retry_after_secs: 999_999_999,
    });
    let work = Workdir::new();
    let path = work.write_config(&backfill(&mock, json!({})));
    let mut child = tokio::process::Command::new(binary())
        .args(["read", "--config", path.to_str().unwrap(), "--state"])
        .arg(work.state())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let line = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match lines.next_line().await.unwrap() {
                Some(line) if line.contains("Rate limited") => return line,
                Some(_) => {}
                None => panic!("exited without waiting"),
            }
        }
    })
    .await
    .unwrap();
    child.start_kill().unwrap();
    assert!(
        line.contains("longer than the cap") && line.contains("waiting_s=300"),
        "{line}"
    );
}

/// `Retry-After` as an HTTP date is honoured (and never retried early).
#[tokio::test]
async fn a_retry_after_date_is_honoured() {
    let mock = mock().await;
    let all = entries("d", 5, T0 - 100, T0 - 1);
    mock.push_entries(all.clone());
    let at = chrono::Utc::now() + chrono::Duration::seconds(3);
    mock.enqueue_fault(Fault::Status {
        status: 429,
        body: String::new(),
        headers: vec![(
            "Retry-After".into(),
            at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        )],
    });
    let work = Workdir::new();
    let run = read_measured(&work, &backfill(&mock, json!({}))).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_exactly_once(&run.ids(), &all);
    let requests = mock.requests();
    let waited = requests[1].at.duration_since(requests[0].at);
    assert!(waited >= Duration::from_millis(1500), "waited {waited:?}");
    assert!(
        waited < Duration::from_secs(15),
        "waited {waited:?}: the date was not read (the default wait is 30 s)"
    );
}

/// Defect 4, recoverable: every cursor answers with itself. Each loop is caught on its first
/// repeat and the window resumes from its checkpoint; everything arrives once, in a bounded
/// number of requests.
#[tokio::test]
async fn a_cursor_that_never_changes_is_caught_and_resumed() {
    let mock = mock().await;
    let all = entries("c", 500, T0 - 1000, T0 - 1);
    mock.push_entries(all.clone());
    for _ in 0..200 {
        mock.enqueue_fault(Fault::RepeatCursor);
    }
    let work = Workdir::new();
    let run = read_measured(&work, &backfill(&mock, json!({}))).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_exactly_once(&run.ids(), &all);
    assert!(run.stderr.contains("already used"), "{}", run.stderr);
    let stats = mock.stats();
    assert!(stats.faults.repeat_cursor >= 2, "{stats:?}");
    // Five pages of 100: a looping answer and a restart for each, at most.
    assert!(stats.requests <= 12, "{} requests", stats.requests);
}

/// Defect 4, unrecoverable: the loop returns after every restart and the position does not
/// move. After a bounded number of restarts the run fails, exit 1, checkpoint as it was.
#[tokio::test]
async fn a_loop_that_makes_no_progress_fails_with_the_checkpoint_unmoved() {
    let mock = mock_with(MockConfig {
        split_ties: true,
        ..MockConfig::default()
    })
    .await;
    // Three pages' worth of events in one second: a restart can only resume at that second.
    let tie: Vec<_> = (0..300)
        .map(|i| entry(&format!("tie-{i:03}"), T0 - 10))
        .collect();
    mock.push_entries(tie.clone());
    for _ in 0..100 {
        mock.enqueue_fault(Fault::RepeatCursor);
    }
    let work = Workdir::new();
    let cfg = backfill(&mock, json!({}));
    let run = read_measured(&work, &cfg).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("already used") && run.stderr.contains("made no progress"),
        "{}",
        run.stderr
    );
    let requests = mock.stats().requests;
    assert!(requests <= 14, "{requests} requests");
    let window = work.state_json()["state"]["window"].clone();
    assert_eq!(window["upper"], json!(T0 - 10), "{window}");
    let held = window["upper_ids"].as_array().unwrap().len();
    assert_eq!(
        held,
        run.ids().len(),
        "the checkpoint covers what was written"
    );

    // The upstream recovers: the next run resumes there, and nothing is lost or repeated.
    mock.clear_faults();
    let rest = read_measured(&work, &cfg).await;
    assert_eq!(rest.code, 0, "{}", rest.stderr);
    let mut ids = run.ids();
    ids.extend(rest.ids());
    assert_exactly_once(&ids, &tie);
}

/// Defect 5: a first run that never got a valid page (a wrong token) wrote a state file that
/// pinned the start point. Now it writes nothing, and the corrected config is honoured.
#[tokio::test]
async fn a_run_that_read_nothing_leaves_no_state() {
    let mock = mock().await;
    let old = entries("o", 40, T0 - 10 * 86_400, T0 - 5 * 86_400);
    let recent = entries("n", 40, T0 - 3600, T0 - 1);
    mock.push_entries(old.clone());
    mock.push_entries(recent.clone());
    let work = Workdir::new();

    let mut wrong = config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31"}),
    ));
    wrong["secrets"]["user_oauth_token"] =
        json!("xoxp-1111111111-1111111111-111111111111-0bad0bad0bad0bad0bad0bad0bad0bad");
    let refused = read_measured(&work, &wrong).await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(!work.state().exists(), "an auth failure wrote state");

    let unreachable = config(json!({
        "api_base_url": "http://127.0.0.1:9",
        "backfill_start_time": "2025-12-31",
        "max_retries": 0,
        "request_timeout_seconds": 2,
    }));
    let down = read_measured(&work, &unreachable).await;
    assert_eq!(down.code, 1, "{}", down.stderr);
    assert!(!work.state().exists(), "an unreachable host wrote state");

    // The user fixes the token and reaches further back.
    let fixed = config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-15"}),
    ));
    let run = read_measured(&work, &fixed).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut all = old.clone();
    all.extend(recent.clone());
    assert_exactly_once(&run.ids(), &all);
}

/// A redirect is not followed: the token never goes to another origin, and the message names
/// where the redirect pointed.
#[tokio::test]
async fn redirects_are_refused_and_the_token_stays_home() {
    let elsewhere = MockSlack::start(MockConfig::default()).await.unwrap();
    let mock = mock().await;
    mock.push_entries(entries("x", 5, T0 - 100, T0 - 1));
    mock.enqueue_fault(Fault::Redirect {
        status: 302,
        location: format!("http://localhost:{}/audit/v1/logs", elsewhere.addr().port()),
    });
    let work = Workdir::new();
    let run = read_measured(&work, &backfill(&mock, json!({}))).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("HTTP 302") && run.stderr.contains("`localhost`"),
        "{}",
        run.stderr
    );
    assert_eq!(elsewhere.stats().requests, 0, "the redirect was followed");
    assert!(!work.state().exists());
}
