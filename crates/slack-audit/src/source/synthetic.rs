//! Synthetic mode as a [`PageSource`]: the generator answers the same queries Slack would, so
//! synthetic events go through exactly the incremental path real ones do (windows, checkpoints,
//! dedupe, follow mode).
//!
//! The events of a second are a pure function of (seed, second, rate), so re-reading a window
//! yields the same events and ids, and a second run repeats nothing. Like Slack, pages are
//! newest first, a second is never split across pages, and the cursor is only a position.

use async_trait::async_trait;
use slack_audit_synthetic::{SyntheticEvent, SyntheticOrg};

use super::{FetchError, LogsQuery, PageRequest, PageSource, Wire};
use crate::page::Page;

/// Seconds scanned for one page before answering with what was found (possibly an empty page
/// with a cursor, as Slack does).
const MAX_SECONDS_PER_PAGE: i64 = 7 * 86_400;

/// Generated audit events, paged like Slack.
pub struct SyntheticSource {
    org: SyntheticOrg,
    events_per_hour: f64,
}

impl SyntheticSource {
    /// A source for the organization of `seed` at `events_per_hour`.
    pub fn new(seed: u64, events_per_hour: f64) -> Self {
        SyntheticSource {
            org: SyntheticOrg::new(seed),
            events_per_hour,
        }
    }
}

#[async_trait]
impl PageSource for SyntheticSource {
    async fn fetch(&self, request: PageRequest<'_>) -> Result<Page, FetchError> {
        let PageRequest { query, cursor, .. } = request;
        let start = match cursor {
            None => query.latest,
            Some(c) => c
                .strip_prefix("s:")
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or(FetchError::InvalidCursor)?
                .min(query.latest),
        };
        // What Slack is sent: the engine applies the rest of the action filter on its side.
        let filters = Filters::of(query);
        let mut body = Vec::with_capacity(64 * 1024);
        body.extend_from_slice(b"{\"entries\":[");
        let mut count = 0usize;
        let mut events = Vec::new();
        let mut second = start;
        let stop = query.oldest.max(start - MAX_SECONDS_PER_PAGE);
        while second >= stop && count < query.limit as usize {
            events.clear();
            self.org
                .events_in_second(second, self.events_per_hour, &mut events);
            // Newest first; within a second, a stable order.
            events.sort_by(|a, b| b.id.cmp(&a.id));
            for event in events.iter().filter(|e| filters.matches(e)) {
                if count > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(event.json.as_bytes());
                count += 1;
            }
            second -= 1;
        }
        let next = if second >= query.oldest {
            format!("s:{second}")
        } else {
            String::new()
        };
        body.extend_from_slice(b"],\"response_metadata\":{\"next_cursor\":\"");
        body.extend_from_slice(next.as_bytes());
        body.extend_from_slice(b"\"}}");
        Page::parse(body).map_err(|e| FetchError::Fatal(format!("synthetic page is broken: {e:?}")))
    }

    async fn probe(&self, _wire: Option<&Wire>) -> Result<String, FetchError> {
        Ok("synthetic mode: no token needed, nothing touches the network".into())
    }
}

/// The filters of a request, as Slack reads them from its parameters ([`LogsQuery::params`]):
/// what the engine asks Slack to filter, and nothing else, so synthetic events go through the
/// same split between Slack's filter and the engine's as real ones.
struct Filters {
    actions: Option<Vec<String>>,
    actor: Option<String>,
    entity: Option<String>,
}

impl Filters {
    fn of(query: &LogsQuery) -> Filters {
        let mut filters = Filters {
            actions: None,
            actor: None,
            entity: None,
        };
        for (key, value) in query.query.params() {
            match key {
                "action" => filters.actions = Some(value.split(',').map(str::to_owned).collect()),
                "actor" => filters.actor = Some(value),
                "entity" => filters.entity = Some(value),
                _ => {}
            }
        }
        filters
    }

    /// Whether `event` passes the filters as Slack applies them: `action` is one of the listed
    /// names, `actor` is the acting user's id, `entity` is the id of the entry's entity.
    fn matches(&self, event: &SyntheticEvent) -> bool {
        if self.actions.is_none() && self.actor.is_none() && self.entity.is_none() {
            return true;
        }
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(&event.json) else {
            return false;
        };
        let action_ok = self.actions.as_ref().is_none_or(|names| {
            entry["action"]
                .as_str()
                .is_some_and(|action| names.iter().any(|x| x == action))
        });
        let actor_ok = self
            .actor
            .as_deref()
            .is_none_or(|id| entry["actor"]["user"]["id"].as_str() == Some(id));
        let entity_ok = self.entity.as_deref().is_none_or(|id| {
            let kind = entry["entity"]["type"].as_str().unwrap_or_default();
            entry["entity"][kind]["id"].as_str() == Some(id)
        });
        action_ok && actor_ok && entity_ok
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;
    use crate::query::Query;

    const NOON: i64 = 1_795_780_800; // a Wednesday, 12:00 UTC

    /// The id of an entry's entity; message entities have none (channel and timestamp instead),
    /// as in Slack.
    fn entity_id(e: &serde_json::Value) -> Option<&str> {
        let kind = e["entity"]["type"].as_str()?;
        e["entity"][kind]["id"].as_str()
    }

    async fn entries(source: &SyntheticSource, query: &LogsQuery) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = source
                .fetch(PageRequest::new(query, cursor.as_deref()))
                .await
                .unwrap();
            for e in page.entries() {
                out.push(serde_json::from_slice(page.raw(e)).unwrap());
            }
            match page.next_cursor() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    #[tokio::test]
    async fn filters_match_exactly_like_slack() {
        let source = SyntheticSource::new(7, 3600.0);
        let all = LogsQuery {
            oldest: NOON - 4 * 3600,
            latest: NOON,
            limit: 9999,
            query: Arc::default(),
        };
        let everything = entries(&source, &all).await;
        let actor = everything[0]["actor"]["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let entity = everything.iter().find_map(entity_id).unwrap().to_owned();
        let action = everything[0]["action"].as_str().unwrap().to_owned();

        for (query, keep) in [
            (
                LogsQuery {
                    query: Arc::new(Query {
                        actor: Some(actor.clone()),
                        ..Query::default()
                    }),
                    ..all.clone()
                },
                Box::new(|e: &serde_json::Value| e["actor"]["user"]["id"] == actor.as_str())
                    as Box<dyn Fn(&serde_json::Value) -> bool>,
            ),
            (
                LogsQuery {
                    query: Arc::new(Query {
                        entity: Some(entity.clone()),
                        ..Query::default()
                    }),
                    ..all.clone()
                },
                Box::new(|e: &serde_json::Value| entity_id(e) == Some(entity.as_str())),
            ),
            (
                LogsQuery {
                    query: Arc::new(Query {
                        actions: vec![action.clone(), "no_such_action".to_owned()],
                        ..Query::default()
                    }),
                    ..all.clone()
                },
                Box::new(|e: &serde_json::Value| e["action"] == action.as_str()),
            ),
        ] {
            let id = |e: &serde_json::Value| e["id"].as_str().unwrap().to_owned();
            let expected: Vec<String> = everything.iter().filter(|e| keep(e)).map(id).collect();
            let got: Vec<String> = entries(&source, &query).await.iter().map(id).collect();
            assert!(!got.is_empty(), "{query:?} matched nothing");
            assert_eq!(got, expected, "{query:?}: the ids returned, newest first");
        }
    }
}
