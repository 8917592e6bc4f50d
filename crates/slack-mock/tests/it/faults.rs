//! One-shot faults, random faults, rate limiting and early-retry accounting.

use std::time::{Duration, Instant};

use slack_mock::{Fault, FaultKind, MockConfig, MockSlack, RandomFaults};

use crate::client::{Conn, get};
use crate::seq;

const LOGS: &str = "/audit/v1/logs";

async fn mock_with_data() -> MockSlack {
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    mock.push_entries(seq(5));
    mock
}

#[tokio::test]
async fn status_faults_apply_in_fifo_order_then_normal_service_resumes() {
    let mock = mock_with_data().await;
    mock.enqueue_fault(Fault::service_unavailable_html());
    mock.enqueue_fault(Fault::unauthorized_empty());
    mock.enqueue_fault(Fault::OkFalse("fatal_error".into()));
    mock.enqueue_fault(Fault::json_error(400, "invalid_action"));
    mock.enqueue_fault(Fault::Status {
        status: 500,
        body: "oops".into(),
        headers: vec![("X-Custom".into(), "1".into())],
    });
    assert_eq!(mock.pending_faults(), 5);

    let r = get(mock.addr(), LOGS).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert!(r.text().contains("<html>"));
    let r = get(mock.addr(), LOGS).await;
    assert_eq!((r.status, r.body.len()), (401, 0));
    let r = get(mock.addr(), LOGS).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, r#"{"ok":false,"error":"fatal_error"}"#)
    );
    let r = get(mock.addr(), LOGS).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_action"))
    );
    let r = get(mock.addr(), LOGS).await;
    assert_eq!(
        (r.status, r.text().as_str(), r.header("x-custom")),
        (500, "oops", Some("1"))
    );
    assert_eq!(get(mock.addr(), LOGS).await.page().0.len(), 5);

    let s = mock.stats();
    assert_eq!(
        (s.faults.status, s.faults.ok_false, s.faults.total()),
        (4, 1, 5)
    );
    assert_eq!(s.pages_ok, 1);
    assert_eq!(
        s.unauthorized, 0,
        "a Status 401 fault is not a token refusal"
    );
    let statuses: Vec<u16> = mock.requests().iter().map(|r| r.response_status).collect();
    assert_eq!(statuses, [503, 401, 200, 400, 500, 200]);
}

#[tokio::test]
async fn rate_limited_fault_sends_retry_after_and_counts_early_retries() {
    let mock = mock_with_data().await;
    mock.enqueue_fault(Fault::RateLimited {
        retry_after_secs: 1,
    });
    let r = get(mock.addr(), LOGS).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.text(), r#"{"ok":false,"error":"ratelimited"}"#);
    // Too early: served (the fault was one-shot) but counted.
    assert_eq!(get(mock.addr(), LOGS).await.status, 200);
    assert_eq!(mock.stats().early_retries, 1);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(get(mock.addr(), LOGS).await.status, 200);
    let s = mock.stats();
    assert_eq!(
        (s.early_retries, s.rate_limited, s.faults.rate_limited),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn truncated_declares_the_full_length_sends_half_and_closes() {
    let mock = mock_with_data().await;
    mock.enqueue_fault(Fault::Truncated);
    let mut conn = Conn::connect(mock.addr()).await.unwrap();
    let r = conn.get(LOGS, &[]).await.unwrap().unwrap();
    assert_eq!(r.status, 200);
    assert!(!r.complete);
    assert_eq!(r.body.len(), r.declared_len / 2);
    assert!(r.declared_len > 1000, "the real page was cut");
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
    assert!(conn.is_closed().await);
    assert!(mock.served_ids().is_empty());
    let s = mock.stats();
    assert_eq!((s.faults.truncated, s.pages_ok), (1, 0));
    assert_eq!(mock.requests()[0].response_status, 200);
}

#[tokio::test]
async fn drop_closes_without_a_response() {
    let mock = mock_with_data().await;
    mock.enqueue_fault(Fault::Drop);
    let mut conn = Conn::connect(mock.addr()).await.unwrap();
    let r = conn.get(LOGS, &[]).await;
    assert!(matches!(r, Ok(None) | Err(_)), "{r:?}");
    assert_eq!(mock.requests()[0].response_status, 0);
    assert_eq!(mock.stats().faults.drop, 1);
    assert_eq!(get(mock.addr(), LOGS).await.status, 200);
}

#[tokio::test]
async fn stall_sends_nothing_for_a_while_then_closes() {
    let mock = mock_with_data().await;
    mock.enqueue_fault(Fault::Stall(Duration::from_millis(300)));
    let started = Instant::now();
    let mut conn = Conn::connect(mock.addr()).await.unwrap();
    let r = conn.get(LOGS, &[]).await;
    assert!(matches!(r, Ok(None) | Err(_)), "{r:?}");
    assert!(started.elapsed() >= Duration::from_millis(290));
    assert_eq!(mock.stats().faults.stall, 1);
}

#[tokio::test]
async fn stalls_are_aborted_by_shutdown() {
    let mock = mock_with_data().await;
    mock.enqueue_fault(Fault::Stall(Duration::from_secs(600)));
    let mut conn = Conn::connect(mock.addr()).await.unwrap();
    let pending = tokio::spawn(async move { conn.get(LOGS, &[]).await.map(|r| r.is_none()) });
    while mock.stats().requests == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::timeout(Duration::from_secs(5), mock.shutdown())
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .unwrap()
        .unwrap();
    assert!(!matches!(closed, Ok(false)));
}

#[tokio::test]
async fn invalid_cursor_waits_for_a_request_with_a_cursor() {
    let mock = mock_with_data().await;
    mock.enqueue_fault(Fault::InvalidCursor);
    mock.enqueue_fault(Fault::OkFalse("after".into()));
    let (_, c) = get(mock.addr(), &format!("{LOGS}?limit=2")).await.page();
    assert_eq!(mock.pending_faults(), 2, "requests without a cursor pass");
    let r = get(mock.addr(), &format!("{LOGS}?limit=2&cursor={c}")).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, r#"{"ok":false,"error":"invalid_cursor"}"#)
    );
    let r = get(mock.addr(), LOGS).await;
    assert_eq!(r.json()["error"], "after");
    let s = mock.stats();
    assert_eq!(
        (s.faults.invalid_cursor, s.faults.ok_false, s.bad_requests),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn rate_limiter_uses_a_sliding_minute() {
    let mock = MockSlack::start(MockConfig {
        rate_limit_per_minute: Some(2),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(get(mock.addr(), LOGS).await.status, 200);
    assert_eq!(get(mock.addr(), LOGS).await.status, 200);
    let r = get(mock.addr(), LOGS).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"], "ratelimited");
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((59..=60).contains(&secs), "{secs}");
    // Ignoring Retry-After: still limited, and counted as an early retry.
    assert_eq!(get(mock.addr(), LOGS).await.status, 429);
    let s = mock.stats();
    assert_eq!(
        (s.rate_limited, s.early_retries, s.faults.total()),
        (2, 1, 0)
    );
}

#[tokio::test]
async fn random_faults_are_seeded_and_counted() {
    let config = || MockConfig {
        random_faults: Some(RandomFaults {
            seed: 42,
            probability: 0.5,
            kinds: vec![(FaultKind::Status, 1), (FaultKind::InvalidCursor, 1)],
            stall: Duration::from_millis(1),
            retry_after_secs: 1,
        }),
        ..MockConfig::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let mock = MockSlack::start(config()).await.unwrap();
        mock.push_entries(seq(3));
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(get(mock.addr(), LOGS).await.status);
        }
        let s = mock.stats();
        let n503 = statuses.iter().filter(|s| **s == 503).count() as u64;
        assert_eq!(s.faults.status, n503);
        assert_eq!(s.faults.invalid_cursor, 0, "no cursor, no invalid_cursor");
        assert_eq!(s.faults.total(), n503);
        assert!(n503 > 2 && n503 < 25, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 503));
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1], "same seed, same faults");

    let mock = MockSlack::start(MockConfig {
        random_faults: Some(RandomFaults {
            kinds: vec![(FaultKind::OkFalse, 1)],
            ..RandomFaults::uniform(1, 1.0)
        }),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    for _ in 0..3 {
        assert_eq!(get(mock.addr(), LOGS).await.json()["error"], "fatal_error");
    }
    assert_eq!(mock.stats().faults.ok_false, 3);
}

#[tokio::test]
async fn page_delay_delays_pages_only() {
    let mock = MockSlack::start(MockConfig {
        page_delay: Duration::from_millis(200),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    mock.enqueue_fault(Fault::OkFalse("x".into()));
    let started = Instant::now();
    get(mock.addr(), LOGS).await;
    let fault_took = started.elapsed();
    get(mock.addr(), LOGS).await.page();
    assert!(started.elapsed() - fault_took >= Duration::from_millis(190));
    assert!(fault_took < Duration::from_millis(150));
}
