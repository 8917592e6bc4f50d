//! Dataset mode: Slack's paging semantics.

use std::collections::HashSet;

use slack_mock::{MockConfig, MockEntry, MockSlack};

use crate::client::{Conn, get, get_with};
use crate::{T, seq, strs};

fn logs(query: &str) -> String {
    format!("/audit/v1/logs?{query}")
}

#[tokio::test]
async fn newest_first_with_inclusive_bounds() {
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    mock.push_entries(seq(10));
    let r = get(
        mock.addr(),
        &logs(&format!("oldest={}&latest={}", T + 2, T + 5)),
    )
    .await;
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let (ids, cursor) = r.page();
    assert_eq!(ids, strs(&["e05", "e04", "e03", "e02"]));
    assert_eq!(cursor, "");
    mock.shutdown().await;
}

#[tokio::test]
async fn ties_are_ordered_by_id_descending() {
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    for id in ["b", "a", "c"] {
        mock.push_entry(MockEntry::synthetic(id, T, "user_login", "W1", "W2"));
    }
    mock.push_entry(MockEntry::synthetic("old", T - 1, "user_login", "W1", "W2"));
    let (ids, _) = get(mock.addr(), "/audit/v1/logs").await.page();
    assert_eq!(ids, strs(&["c", "b", "a", "old"]));
}

#[tokio::test]
async fn cursor_is_only_a_position_and_forgets_oldest() {
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    mock.push_entries(seq(10));
    let (ids, c1) = get(mock.addr(), &logs(&format!("oldest={}&limit=2", T + 5)))
        .await
        .page();
    assert_eq!(ids, strs(&["e09", "e08"]));
    assert!(!c1.is_empty());

    // The buggy client: only the cursor on page 2 pages back through everything.
    let (ids, c) = get(mock.addr(), &logs(&format!("cursor={c1}")))
        .await
        .page();
    assert_eq!(
        ids,
        strs(&["e07", "e06", "e05", "e04", "e03", "e02", "e01", "e00"])
    );
    assert_eq!(c, "");

    // The correct client resends oldest (and limit).
    let (ids, c2) = get(
        mock.addr(),
        &logs(&format!("oldest={}&limit=2&cursor={c1}", T + 5)),
    )
    .await
    .page();
    assert_eq!(ids, strs(&["e07", "e06"]));
    let (ids, c3) = get(
        mock.addr(),
        &logs(&format!("oldest={}&limit=2&cursor={c2}", T + 5)),
    )
    .await
    .page();
    assert_eq!(ids, strs(&["e05"]));
    assert_eq!(c3, "");
}

#[tokio::test]
async fn a_page_never_splits_a_second_unless_configured() {
    let data = || {
        let mut v = vec![MockEntry::synthetic("x", T + 3, "user_login", "W1", "W2")];
        for id in ["a", "b", "c", "d"] {
            v.push(MockEntry::synthetic(id, T + 2, "user_login", "W1", "W2"));
        }
        v.push(MockEntry::synthetic("z", T + 1, "user_login", "W1", "W2"));
        v
    };
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    mock.push_entries(data());
    let (ids, c) = get(mock.addr(), &logs("limit=2")).await.page();
    assert_eq!(ids, strs(&["x", "d", "c", "b", "a"]), "optimistic limit");
    let (ids, c) = get(mock.addr(), &logs(&format!("limit=2&cursor={c}")))
        .await
        .page();
    assert_eq!((ids, c), (strs(&["z"]), String::new()));

    let mock = MockSlack::start(MockConfig {
        split_ties: true,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    mock.push_entries(data());
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let (ids, c) = get(mock.addr(), &logs(&format!("limit=2&cursor={cursor}")))
            .await
            .page();
        assert!(ids.len() <= 2);
        all.extend(ids);
        if c.is_empty() {
            break;
        }
        cursor = c;
    }
    assert_eq!(all, strs(&["x", "d", "c", "b", "a", "z"]));
}

#[tokio::test]
async fn limit_default_and_cap_and_argument_validation() {
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    mock.push_entries(seq(150));
    let (ids, c) = get(mock.addr(), "/audit/v1/logs").await.page();
    assert_eq!(ids.len(), 100, "default limit");
    assert!(!c.is_empty());
    let (ids, _) = get(mock.addr(), &logs("limit=9999")).await.page();
    assert_eq!(ids.len(), 150);
    for bad in [
        "limit=10000",
        "limit=0",
        "limit=abc",
        "oldest=1.5e9",
        "latest=x",
        "oldest=",
    ] {
        let r = get(mock.addr(), &logs(bad)).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(
            r.text(),
            r#"{"ok":false,"error":"invalid_arguments"}"#,
            "{bad}"
        );
    }
    let r = get(mock.addr(), &logs("cursor=garbage!")).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_cursor"))
    );
    assert_eq!(mock.stats().bad_requests, 7);
}

#[tokio::test]
async fn latest_in_the_future_is_refused_and_inverted_ranges_are_empty() {
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    mock.push_entries(seq(5));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let r = get(mock.addr(), &logs(&format!("latest={}", now + 3600))).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "invalid_range");
    let (ids, _) = get(mock.addr(), &logs(&format!("latest={now}")))
        .await
        .page();
    assert_eq!(ids.len(), 5);
    let (ids, c) = get(
        mock.addr(),
        &logs(&format!("oldest={}&latest={}", T + 3, T + 1)),
    )
    .await
    .page();
    assert!(ids.is_empty());
    assert_eq!(c, "");
}

#[tokio::test]
async fn filters_match_action_actor_and_entity() {
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    mock.push_entries([
        MockEntry::synthetic("1", T + 1, "user_login", "W1", "W9"),
        MockEntry::synthetic("2", T + 2, "user_logout", "W2", "W9"),
        MockEntry::synthetic("3", T + 3, "file_downloaded", "W1", "F1"),
        MockEntry::synthetic("4", T + 4, "user_login", "W2", "F1"),
    ]);
    let ids = |q: &str| {
        let addr = mock.addr();
        let q = q.to_owned();
        async move { get(addr, &logs(&q)).await.page().0 }
    };
    assert_eq!(ids("action=user_login").await, strs(&["4", "1"]));
    assert_eq!(
        ids("action=user_login%2Cuser_logout").await,
        strs(&["4", "2", "1"])
    );
    assert_eq!(
        ids("action=user_login,file_downloaded").await,
        strs(&["4", "3", "1"])
    );
    assert_eq!(ids("actor=W1").await, strs(&["3", "1"]));
    assert_eq!(ids("entity=F1").await, strs(&["4", "3"]));
    assert_eq!(ids("entity=F1&actor=W2").await, strs(&["4"]));
    // Filters apply to the request carrying the cursor, not the one that produced it.
    let (first, c) = get(mock.addr(), &logs("limit=1")).await.page();
    assert_eq!(first, strs(&["4"]));
    let (rest, _) = get(mock.addr(), &logs(&format!("limit=5&actor=W1&cursor={c}")))
        .await
        .page();
    assert_eq!(rest, strs(&["3", "1"]));
}

#[tokio::test]
async fn known_actions_reject_unknown_names() {
    let mock = MockSlack::start(MockConfig {
        known_actions: Some(HashSet::from(["user_login".to_owned()])),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(
        get(mock.addr(), &logs("action=user_login")).await.status,
        200
    );
    let r = get(mock.addr(), &logs("action=user_login,retired_thing")).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, r#"{"ok":false,"error":"invalid_action"}"#)
    );
}

#[tokio::test]
async fn entries_added_while_paging_do_not_shift_the_cursor() {
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    mock.push_entries(seq(10));
    let (mut all, mut c) = get(mock.addr(), &logs("limit=3")).await.page();
    assert_eq!(all, strs(&["e09", "e08", "e07"]));
    // A new event (belongs to the next sequence), one above the cursor in the same second,
    // and a late event below the cursor.
    mock.push_entry(MockEntry::synthetic(
        "new",
        T + 100,
        "user_login",
        "W1",
        "W2",
    ));
    mock.push_entry(MockEntry::synthetic("e8b", T + 8, "user_login", "W1", "W2"));
    mock.push_entry(MockEntry::synthetic(
        "late",
        T + 4,
        "user_login",
        "W1",
        "W2",
    ));
    while !c.is_empty() {
        let (ids, next) = get(mock.addr(), &logs(&format!("limit=3&cursor={c}")))
            .await
            .page();
        all.extend(ids);
        c = next;
    }
    assert_eq!(
        all,
        strs(&[
            "e09", "e08", "e07", "e06", "e05", "late", "e04", "e03", "e02", "e01", "e00"
        ])
    );
    assert_eq!(mock.entry_count(), 13);
}

#[tokio::test]
async fn token_is_required_and_refused_with_an_empty_401() {
    let mock = MockSlack::start(MockConfig {
        token: Some("xoxp-good".into()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    mock.push_entries(seq(2));
    for headers in [vec![], vec![("Authorization", "Bearer xoxp-bad")]] {
        let r = get_with(mock.addr(), "/audit/v1/logs", &headers).await;
        assert_eq!(r.status, 401);
        assert!(r.body.is_empty());
        assert_eq!(r.header("content-length"), Some("0"));
    }
    let r = get_with(
        mock.addr(),
        "/audit/v1/logs",
        &[("authorization", "Bearer xoxp-good")],
    )
    .await;
    assert_eq!(r.page().0.len(), 2);
    assert_eq!(mock.stats().unauthorized, 2);
    assert_eq!(mock.stats().pages_ok, 1);
}

#[tokio::test]
async fn keep_alive_serves_many_requests_on_one_connection() {
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    mock.push_entries(seq(3));
    let mut conn = Conn::connect(mock.addr()).await.unwrap();
    let (a, c) = conn
        .get(&logs("limit=1"), &[])
        .await
        .unwrap()
        .unwrap()
        .page();
    let (b, _) = conn
        .get(&logs(&format!("limit=1&cursor={c}")), &[])
        .await
        .unwrap()
        .unwrap()
        .page();
    let r404 = conn.get("/api/other", &[]).await.unwrap().unwrap();
    assert_eq!(
        (r404.status, r404.json()["error"].as_str()),
        (404, Some("unknown_method"))
    );
    let (d, _) = conn
        .get(&logs("limit=1"), &[])
        .await
        .unwrap()
        .unwrap()
        .page();
    assert_eq!((a, b, d), (strs(&["e02"]), strs(&["e01"]), strs(&["e02"])));
    // `Connection: close` is honoured.
    let r = conn
        .get(&logs("limit=1"), &[("Connection", "close")])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(conn.is_closed().await);
    assert_eq!(mock.stats().requests, 5);
}

#[tokio::test]
async fn requests_served_ids_and_stats_are_recorded() {
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    mock.push_entries(seq(3));
    let url = mock.base_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    get_with(
        mock.addr(),
        &logs("limit=2&oldest=5&action=a%20b"),
        &[("X-Test", "1")],
    )
    .await;
    let (_, c) = get(mock.addr(), &logs("limit=2")).await.page();
    get(mock.addr(), &logs(&format!("limit=2&cursor={c}"))).await;
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].path, "/audit/v1/logs");
    assert_eq!(
        reqs[0].query,
        vec![
            ("limit".to_owned(), "2".to_owned()),
            ("oldest".to_owned(), "5".to_owned()),
            ("action".to_owned(), "a b".to_owned())
        ]
    );
    assert_eq!(reqs[0].header("x-test"), Some("1"));
    assert_eq!(reqs[2].param("cursor"), Some(c.as_str()));
    assert!(reqs.iter().all(|r| r.response_status == 200));
    assert!(reqs[0].at <= reqs[1].at);
    assert_eq!(mock.served_ids(), strs(&["e02", "e01", "e00"]));
    let s = mock.stats();
    assert_eq!((s.requests, s.pages_ok, s.entries_served), (3, 3, 3));
    assert_eq!(s.faults.total(), 0);
}

#[tokio::test]
async fn entries_are_served_verbatim_and_read_from_json() {
    let text = r#"{ "id":"u1", "date_create":1700000000, "action":"file_shared",
        "actor":{"type":"user","user":{"id":"W7"}},
        "entity":{"type":"file","file":{"id":"F7","name":"x"}}, "details":{"new_value":["a"]} }"#;
    let entry = MockEntry::from_json(text).unwrap();
    assert_eq!(entry.id, "u1");
    assert_eq!(entry.date_create, T);
    assert_eq!(entry.action.as_deref(), Some("file_shared"));
    assert_eq!(entry.actor.as_deref(), Some("W7"));
    assert_eq!(entry.entity.as_deref(), Some("F7"));
    assert!(MockEntry::from_json(r#"{"id":"x","date_create":1.5}"#).is_err());
    assert!(MockEntry::from_json(r#"[1]"#).is_err());

    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    mock.push_entry(entry);
    let r = get(mock.addr(), "/audit/v1/logs?entity=F7").await;
    let expected = format!(
        r#"{{"entries":[{}],"response_metadata":{{"next_cursor":""}}}}"#,
        text.trim()
    );
    assert_eq!(r.text(), expected);
}

#[tokio::test]
async fn serves_big_pages_fast_enough() {
    let mock = MockSlack::start(MockConfig::default()).await.unwrap();
    let n = 30_000;
    mock.push_entries(
        (0..n).map(|i| {
            MockEntry::synthetic(&format!("id-{i:06}"), T + i / 3, "user_login", "W1", "W2")
        }),
    );
    let started = std::time::Instant::now();
    let mut conn = Conn::connect(mock.addr()).await.unwrap();
    let mut seen = HashSet::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let r = conn
            .get(
                &logs(&format!("limit=9999&oldest={T}&cursor={cursor}")),
                &[],
            )
            .await
            .unwrap()
            .unwrap();
        let (ids, c) = r.page();
        pages += 1;
        for id in ids {
            assert!(seen.insert(id), "repeat");
        }
        if c.is_empty() {
            break;
        }
        cursor = c;
    }
    assert_eq!(seen.len(), n as usize);
    assert_eq!(
        pages, 4,
        "9999 = 3333 whole seconds: pages of 9999, 9999, 9999, 3"
    );
    assert!(started.elapsed().as_secs() < 30);
}
