//! `read --metrics-addr`: `/metrics` counts what was written, pages, requests by outcome,
//! retries and waits, during and after a read; `/healthz` turns 503 when Slack fails and back to
//! 200 when it answers again.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use connector_sdk::runtime::host::{self, ReadOptions};
use connector_sdk::runtime::metrics::Metrics;
use connector_sdk::runtime::output::MemorySink;
use serde_json::json;
use slack_audit::SlackAuditInput;
use slack_audit::clock::SystemClock;
use slack_mock::{Fault, MockConfig};
use tokio_util::sync::CancellationToken;

use crate::support::*;

/// One scrape: `name{labels}` (labels as exposed) → value.
pub struct Scrape {
    pub text: String,
    series: HashMap<String, f64>,
}

impl Scrape {
    pub fn parse(text: String) -> Scrape {
        let series = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect();
        Scrape { text, series }
    }

    /// The value of `series`; panics naming it when it is absent.
    pub fn value(&self, series: &str) -> f64 {
        *self
            .series
            .get(series)
            .unwrap_or_else(|| panic!("{series} not in the scrape:\n{}", self.text))
    }

    pub fn has(&self, series: &str) -> bool {
        self.series.contains_key(series)
    }
}

pub async fn scrape(addr: SocketAddr) -> Scrape {
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    Scrape::parse(body)
}

/// Polls `/healthz` until it answers `want`, for at most `within`; returns its body.
pub async fn health_becomes(addr: SocketAddr, want: u16, within: Duration) -> String {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (status, body) = get(addr, "/healthz").await;
        if status == want {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz still answers {status} ({body:?}), not {want}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn metrics_during_and_after_a_backfill_count_what_was_written() {
    let mock = mock_with(MockConfig {
        page_delay: Duration::from_millis(30),
        ..MockConfig::default()
    })
    .await;
    let all = entries("m", 2000, T0 - 20_000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let path = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "page_size": 50}),
    )));
    let mut reader = Reader::start(
        &path,
        &work.state(),
        &["--follow", "--poll-interval", "3600"],
    )
    .await;

    // During the backfill: part of it counted, never more than was written.
    let mut lines = reader.take(500).await;
    let during = scrape(reader.addr).await;
    let counted = during.value("slack_audit_records_delivered_total");
    assert!(counted >= 1.0, "{}", during.text);
    lines.extend(reader.take(2000 - lines.len()).await);
    assert!(counted <= 2000.0, "{counted}");
    assert!(
        during.has("slack_audit_window_position_timestamp_seconds"),
        "a backfill shows its position:\n{}",
        during.text
    );
    let ratio = during.value("slack_audit_window_progress_ratio");
    assert!((0.0..1.0).contains(&ratio), "{ratio}");
    assert!(!during.has("slack_audit_watermark_timestamp_seconds"));
    assert_eq!(
        during.value("slack_audit_build_info{version=\"0.1.0\"}"),
        1.0
    );

    // After it (caught up, waiting for the next poll): the counters are the output.
    let ids: Vec<String> = lines.iter().map(|l| id_of(l)).collect();
    assert_exactly_once(&ids, &all);
    let after = loop {
        // The last checkpoint (the closed window) lands right after the last records.
        let s = scrape(reader.addr).await;
        if s.value("slack_audit_polls_total{outcome=\"ok\"}") >= 1.0 {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(after.value("slack_audit_records_delivered_total"), 2000.0);
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    assert_eq!(
        after.value("slack_audit_delivered_bytes_total"),
        bytes as f64
    );
    let stats = mock.stats();
    assert_eq!(
        after.value("slack_audit_pages_total"),
        stats.pages_ok as f64,
        "every page served was handled"
    );
    assert_eq!(
        after.value("slack_audit_requests_total{status=\"2xx\",kind=\"ok\"}"),
        stats.pages_ok as f64
    );
    assert_eq!(after.value("slack_audit_duplicates_skipped_total"), 0.0);
    let newest = all.iter().map(|e| e.date_create).max().unwrap();
    assert_eq!(
        after.value("slack_audit_watermark_timestamp_seconds"),
        newest as f64
    );
    // Caught up: the lag is how long ago the last window ended (moments), however old the
    // newest event is (the organization has been quiet since T0).
    let now = chrono::Utc::now().timestamp() as f64;
    let checked = after.value("slack_audit_checked_through_timestamp_seconds");
    assert!(
        (now - checked).abs() < 30.0,
        "checked through {checked}, now {now}"
    );
    let lag = after.value("slack_audit_lag_seconds");
    assert!(
        (0.0..30.0).contains(&lag),
        "lag {lag}: caught up is not behind"
    );
    let age = after.value("slack_audit_newest_event_age_seconds");
    let expected = now - newest as f64;
    assert!(
        (age - expected).abs() < 5.0,
        "newest event's age {age}, expected {expected}"
    );
    assert!(!after.has("slack_audit_window_position_timestamp_seconds"));
    assert!(after.value("slack_audit_state_commits_total") >= 2.0);
    assert_eq!(
        after.value("slack_audit_state_commit_duration_seconds_count"),
        after.value("slack_audit_state_commits_total")
    );
    assert!(after.value("slack_audit_received_bytes_total") > bytes as f64);
    assert!(after.value("slack_audit_last_successful_poll_timestamp_seconds") > T0 as f64);
    assert_eq!(get(reader.addr, "/healthz").await.0, 200);
    assert_eq!(get(reader.addr, "/nope").await.0, 404);
    assert_eq!(reader.stop().await, Some(0));
}

#[tokio::test]
async fn retries_rate_limits_and_failed_requests_are_counted_by_outcome() {
    let mock = mock().await;
    mock.push_entries(entries("r", 300, T0 - 3000, T0 - 1));
    mock.enqueue_fault(Fault::service_unavailable_html());
    mock.enqueue_fault(Fault::RateLimited {
        retry_after_secs: 1,
    });
    mock.enqueue_fault(Fault::Truncated);
    let work = Workdir::new();
    let (run, metrics) = read_with_metrics(
        settings(&mock, json!({"backfill_start_time": "2025-12-31"})),
        &work,
        false,
    )
    .await;
    assert_eq!(run.len(), 300);
    let s = Scrape::parse(metrics.encode());
    assert_eq!(
        s.value("slack_audit_requests_total{status=\"5xx\",kind=\"transient\"}"),
        1.0
    );
    assert_eq!(
        s.value("slack_audit_requests_total{status=\"4xx\",kind=\"rate_limited\"}"),
        1.0
    );
    // A body cut short: the status was 200, the request failed.
    assert_eq!(
        s.value("slack_audit_requests_total{status=\"2xx\",kind=\"transient\"}"),
        1.0
    );
    assert_eq!(
        s.value("slack_audit_retries_total{reason=\"transient\"}"),
        2.0
    );
    assert_eq!(
        s.value("slack_audit_retries_total{reason=\"rate_limited\"}"),
        1.0
    );
    assert_eq!(s.value("slack_audit_rate_limited_total"), 1.0);
    assert_eq!(s.value("slack_audit_rate_limit_wait_seconds_total"), 1.0);
    assert!(s.value("slack_audit_backoff_wait_seconds_total") > 0.0);
    assert_eq!(s.value("slack_audit_records_delivered_total"), 300.0);
    assert_eq!(
        s.value("slack_audit_request_duration_seconds_count"),
        mock.stats().requests as f64
    );
}

/// Reads once in-process with metrics on (the system clock: the host's health is about real
/// time), returning the lines and the metrics.
async fn read_with_metrics(
    settings: serde_json::Value,
    work: &Workdir,
    follow: bool,
) -> (Vec<String>, Metrics) {
    let input = input(settings);
    let metrics = Metrics::new(&input, "test");
    let (store, initial) = host::open_state::<SlackAuditInput>(&work.state()).unwrap();
    let sink = MemorySink::new();
    host::read(
        Arc::new(input),
        store,
        initial,
        sink.clone(),
        ReadOptions {
            follow,
            metrics: Some(metrics.clone()),
            ..ReadOptions::default()
        },
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let lines = String::from_utf8(sink.contents())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (lines, metrics)
}

fn input(settings: serde_json::Value) -> SlackAuditInput {
    SlackAuditInput::with_clock(
        serde_json::from_value(settings).unwrap(),
        serde_json::from_value(json!({"user_oauth_token": TOKEN})).unwrap(),
        Arc::new(SystemClock),
    )
    .unwrap()
}

#[tokio::test]
async fn healthz_turns_503_while_slack_fails_and_back_to_200_when_it_answers() {
    let mock = mock().await;
    mock.push_entries(entries("h", 20, T0 - 100, T0 - 1));
    let work = Workdir::new();
    let input = input(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "max_retries": 0}),
    ));
    let shutdown = CancellationToken::new();
    let ServedRead {
        addr,
        metrics,
        server,
        reading,
        ..
    } = ServedRead::start(
        input,
        &work.state(),
        ReadOptions {
            follow: true,
            poll_interval: Duration::from_millis(100),
            ..ReadOptions::default()
        },
        shutdown.clone(),
    )
    .await;
    let within = Duration::from_secs(10);
    let ok = health_becomes(addr, 200, within).await;
    assert!(ok.starts_with("ok"), "{ok}");

    // Slack goes down: every request answers 503, and the next poll fails.
    for _ in 0..10_000 {
        mock.enqueue_fault(Fault::service_unavailable_html());
    }
    let reason = health_becomes(addr, 503, within).await;
    assert_eq!(
        reason, "the source is unavailable (transient error; details in the connector's log)\n",
        "only the class and a fixed phrase, never Slack's words"
    );
    let s = scrape(addr).await;
    assert!(s.value("slack_audit_polls_total{outcome=\"transient_error\"}") >= 1.0);

    // Slack answers again: the next poll succeeds.
    mock.clear_faults();
    let ok = health_becomes(addr, 200, within).await;
    assert!(ok.starts_with("ok"), "{ok}");

    // A refused token ends a follow run (exit 3 from the CLI); until the process exits, the
    // endpoint says why.
    for _ in 0..100 {
        mock.enqueue_fault(Fault::unauthorized_empty());
    }
    let reason = health_becomes(addr, 503, within).await;
    assert_eq!(
        reason,
        "the source refused the credentials (auth error; details in the connector's log)\n"
    );
    let ended = tokio::time::timeout(within, reading)
        .await
        .expect("a refused token ends the run")
        .unwrap();
    assert_eq!(
        ended.unwrap_err().kind(),
        connector_sdk::contract::error::ErrorKind::Auth,
        "auth errors end a follow run"
    );
    assert_eq!(
        Scrape::parse(metrics.encode()).value("slack_audit_polls_total{outcome=\"auth_error\"}"),
        1.0
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_busy_address_is_a_usage_error_before_anything_is_read() {
    let mock = mock().await;
    mock.push_entries(entries("b", 5, T0 - 100, T0 - 1));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let work = Workdir::new();
    let path = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31"}),
    )));
    let out = run_read(&path, &work.state(), &["--metrics-addr", &addr], &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("--metrics-addr {addr}: cannot listen")),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(mock.stats().requests, 0);
    assert!(!work.state().exists());
}

/// Clients that hold every connection (trickling a request head byte by byte, or pipelining
/// requests and never reading the answers) do not starve the liveness probe: with more such
/// connections open than the endpoint has slots, a new `/healthz` is answered at once, and the
/// read goes on undisturbed.
#[tokio::test]
async fn no_client_can_starve_healthz() {
    use connector_sdk::runtime::metrics::{HEADER_TIMEOUT, MAX_CONNECTIONS};
    use tokio::io::AsyncWriteExt;
    // 30 pages, paced 100 ms apart: the read goes on for seconds while clients hold the
    // endpoint.
    let mock = mock().await;
    mock.push_entries(entries("s", 3000, T0 - 4000, T0 - 1));
    let work = Workdir::new();
    let input = input(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31"}),
    ));
    let ServedRead {
        addr,
        server,
        sink,
        reading,
        ..
    } = ServedRead::start(
        input,
        &work.state(),
        ReadOptions {
            follow: false,
            poll_interval: Duration::from_secs(3600),
            ..ReadOptions::default()
        },
        CancellationToken::new(),
    )
    .await;

    // Twice as many hostile connections as slots: half trickle a head, half pipeline.
    let stop = CancellationToken::new();
    let mut hostile = Vec::new();
    for i in 0..2 * MAX_CONNECTIONS {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let stop = stop.clone();
        hostile.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let _ = stream
                    .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .await;
                while !stop.is_cancelled() {
                    if stream.write_all(b"a").await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            } else {
                let requests = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000);
                let _ = tokio::select! {
                    written = stream.write_all(&requests) => written,
                    () = stop.cancelled() => Ok(()),
                };
                stop.cancelled().await;
            }
        }));
    }
    // A probe gets its answer well before any hostile connection timed out on its own.
    let bound = HEADER_TIMEOUT / 2;
    for _ in 0..5 {
        let probe = tokio::time::timeout(bound, async {
            let response = reqwest::Client::new()
                .get(format!("http://{addr}/healthz"))
                .send()
                .await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        })
        .await;
        let (status, body) = probe
            .unwrap_or_else(|_| panic!("/healthz did not answer within {bound:?}"))
            .unwrap_or_else(|e| panic!("/healthz failed: {e}"));
        assert_eq!(status, 200, "{body}");
        assert!(body.starts_with("ok"), "{body}");
    }
    stop.cancel();
    for task in hostile {
        let _ = task.await;
    }
    let summary = tokio::time::timeout(Duration::from_secs(60), reading)
        .await
        .expect("the read finished")
        .unwrap()
        .unwrap();
    assert_eq!(
        sink.contents().iter().filter(|b| **b == b'\n').count(),
        3000
    );
    assert!(summary.commits > 0);
    server.shutdown().await;
}

/// Entries of actions the OCSF mapping does not know are counted by name, for the first 20
/// distinct plain names, then under `other`; known actions are not counted.
#[tokio::test]
async fn unknown_actions_are_counted_by_name_up_to_a_bound_then_other() {
    let mock = mock().await;
    let mut all = Vec::new();
    for i in 0..25 {
        for copy in 0..2 {
            all.push(slack_mock::MockEntry::synthetic(
                &format!("u-{i:02}-{copy}"),
                T0 - 3000 + i,
                &format!("brand_new_action_{i:02}"),
                "W0123ABCD",
                "W0123ABCD",
            ));
        }
    }
    all.push(slack_mock::MockEntry::synthetic(
        "odd",
        T0 - 100,
        "has a space",
        "W0123ABCD",
        "W0123ABCD",
    ));
    all.extend(entries("k", 10, T0 - 2000, T0 - 1));
    mock.push_entries(all);
    let work = Workdir::new();
    let (run, metrics) = read_with_metrics(
        settings(
            &mock,
            json!({"backfill_start_time": "2025-12-31", "record_format": "ocsf"}),
        ),
        &work,
        false,
    )
    .await;
    assert_eq!(run.len(), 61);
    let s = Scrape::parse(metrics.encode());
    let named: Vec<&str> = s
        .text
        .lines()
        .filter(|l| l.starts_with("slack_audit_unknown_actions_total{action=\"brand_new_action_"))
        .collect();
    assert_eq!(named.len(), 20, "{}", s.text);
    assert!(named.iter().all(|l| l.ends_with(" 2")), "{named:?}");
    assert_eq!(
        s.value("slack_audit_unknown_actions_total{action=\"other\"}"),
        11.0,
        "5 names beyond the bound, twice each, and one that is not a plain name"
    );
    assert!(!s.text.contains("user_login"), "{}", s.text);
}

/// What the action filter drops on this side is counted, and not delivered.
#[tokio::test]
async fn entries_dropped_by_the_filter_are_counted() {
    let mock = mock().await;
    mock.push_entries(entries("f", 30, T0 - 3000, T0 - 1));
    let work = Workdir::new();
    let (run, metrics) = read_with_metrics(
        settings(
            &mock,
            json!({"backfill_start_time": "2025-12-31", "exclude_actions": ["user_login"]}),
        ),
        &work,
        false,
    )
    .await;
    assert!(run.is_empty());
    let s = Scrape::parse(metrics.encode());
    assert_eq!(s.value("slack_audit_filtered_entries_total"), 30.0);
    assert_eq!(s.value("slack_audit_records_delivered_total"), 0.0);
}
