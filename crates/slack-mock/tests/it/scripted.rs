//! Scripted mode: byte-exact replays with mismatch reporting.

use slack_mock::{MockConfig, MockSlack, ScriptedExchange, ScriptedResponse};

use crate::client::{Conn, get};

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const PAGE1: &str =
    r#"{"entries":[{"id":"a","date_create":5}],"response_metadata":{"next_cursor":"Yw=="}}"#;
const PAGE2: &str = r#"{"entries":[],"response_metadata":{"next_cursor":""}}"#;

fn script() -> Vec<ScriptedExchange> {
    vec![
        ScriptedExchange {
            expect_query: q(&[("limit", "2"), ("oldest", "1"), ("latest", "*")]),
            response: ScriptedResponse::json(200, PAGE1),
        },
        ScriptedExchange {
            expect_query: q(&[
                ("limit", "2"),
                ("oldest", "1"),
                ("latest", "*"),
                ("cursor", "Yw=="),
            ]),
            response: ScriptedResponse {
                status: 200,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("X-Slack-Req-Id".into(), "abc".into()),
                    ("Content-Length".into(), "999".into()),
                ],
                body: PAGE2.as_bytes().to_vec(),
                truncate: false,
                drop: false,
            },
        },
    ]
}

#[tokio::test]
async fn matching_requests_get_the_scripted_bytes() {
    let mock = MockSlack::start(MockConfig::scripted(script()))
        .await
        .unwrap();
    assert_eq!(mock.remaining_script(), 2);
    let mut conn = Conn::connect(mock.addr()).await.unwrap();
    let r = conn
        .get("/audit/v1/logs?oldest=1&latest=1700000000&limit=2", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, PAGE1));
    let r = conn
        .get(
            "/audit/v1/logs?cursor=Yw%3D%3D&limit=2&latest=42&oldest=1",
            &[],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, PAGE2));
    assert_eq!(r.header("x-slack-req-id"), Some("abc"));
    assert_eq!(
        r.declared_len,
        PAGE2.len(),
        "Content-Length is the mock's own"
    );
    assert_eq!(mock.remaining_script(), 0);
    assert!(mock.mismatches().is_empty());
    assert_eq!(mock.stats().scripted_served, 2);
}

#[tokio::test]
async fn mismatches_are_answered_599_and_reported() {
    let mock = MockSlack::start(MockConfig::scripted(script()))
        .await
        .unwrap();
    // Missing `latest`, then an extra parameter: both mismatch and consume nothing.
    for target in [
        "/audit/v1/logs?oldest=1&limit=2",
        "/audit/v1/logs?oldest=1&limit=2&latest=5&action=x",
        "/audit/v1/other?oldest=1&limit=2&latest=5",
    ] {
        let r = get(mock.addr(), target).await;
        assert_eq!(r.status, 599, "{target}");
        assert!(r.text().contains("expected"), "{}", r.text());
    }
    assert_eq!(mock.remaining_script(), 2);
    assert_eq!(
        get(mock.addr(), "/audit/v1/logs?oldest=1&limit=2&latest=5")
            .await
            .text(),
        PAGE1
    );
    // The cursor page without `oldest`: the bug a replay must catch.
    let r = get(
        mock.addr(),
        "/audit/v1/logs?limit=2&latest=5&cursor=Yw%3D%3D",
    )
    .await;
    assert_eq!(r.status, 599);
    get(
        mock.addr(),
        "/audit/v1/logs?oldest=1&limit=2&latest=5&cursor=Yw%3D%3D",
    )
    .await;
    let r = get(mock.addr(), "/audit/v1/logs?oldest=1").await;
    assert_eq!(r.status, 599);
    assert!(
        r.text().contains("after the end of the script"),
        "{}",
        r.text()
    );
    let mismatches = mock.mismatches();
    assert_eq!(mismatches.len(), 5, "{mismatches:#?}");
    assert!(
        mismatches[0].contains("expecting query"),
        "{}",
        mismatches[0]
    );
    assert_eq!(mock.stats().mismatches, 5);
    assert_eq!(mock.remaining_script(), 0);
    let statuses: Vec<u16> = mock.requests().iter().map(|r| r.response_status).collect();
    assert_eq!(statuses, [599, 599, 599, 200, 599, 200, 599]);
}

#[tokio::test]
async fn scripted_truncation_and_drop() {
    let body = br#"{"entries":[{"id":"a"}],"response_metadata":{"next_cursor":""}}"#.to_vec();
    let mock = MockSlack::start(MockConfig::scripted(vec![
        ScriptedExchange {
            expect_query: vec![],
            response: ScriptedResponse {
                truncate: true,
                ..ScriptedResponse::json(200, body.clone())
            },
        },
        ScriptedExchange {
            expect_query: vec![],
            response: ScriptedResponse {
                truncate: true,
                headers: vec![("Content-Length".into(), "500".into())],
                ..ScriptedResponse::json(200, body.clone())
            },
        },
        ScriptedExchange {
            expect_query: vec![],
            response: ScriptedResponse {
                drop: true,
                ..ScriptedResponse::json(200, body.clone())
            },
        },
    ]))
    .await
    .unwrap();
    let mut conn = Conn::connect(mock.addr()).await.unwrap();
    let r = conn.get("/audit/v1/logs", &[]).await.unwrap().unwrap();
    assert_eq!(
        (r.complete, r.declared_len, r.body.len()),
        (false, body.len(), body.len() / 2)
    );
    assert!(conn.is_closed().await);
    let mut conn = Conn::connect(mock.addr()).await.unwrap();
    let r = conn.get("/audit/v1/logs", &[]).await.unwrap().unwrap();
    assert_eq!(
        (r.complete, r.declared_len, r.body),
        (false, 500, body.clone())
    );
    let mut conn = Conn::connect(mock.addr()).await.unwrap();
    assert!(matches!(
        conn.get("/audit/v1/logs", &[]).await,
        Ok(None) | Err(_)
    ));
    assert_eq!(mock.remaining_script(), 0);
    assert!(mock.mismatches().is_empty());
}
