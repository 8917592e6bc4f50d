//! Synthetic mode as a [`PageSource`]: the generator answers the same queries Slack would, so
//! synthetic events go through exactly the incremental path real ones do (windows, checkpoints,
//! dedupe, follow mode).
//!
//! The events of a second are a pure function of (seed, second, rate), so re-reading a window
//! yields the same events and ids, and a second run repeats nothing. Like Slack, pages are
//! newest first, a second is never split across pages, and the cursor is only a position.

use async_trait::async_trait;

use super::{FetchError, LogsQuery, PageSource};
use crate::page::Page;
use crate::synthetic::{SyntheticEvent, SyntheticOrg};

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
    async fn fetch(&self, query: &LogsQuery, cursor: Option<&str>) -> Result<Page, FetchError> {
        let start = match cursor {
            None => query.latest,
            Some(c) => c
                .strip_prefix("s:")
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or(FetchError::InvalidCursor)?
                .min(query.latest),
        };
        let filter = |e: &SyntheticEvent| {
            query.action.as_deref().is_none_or(|a| {
                a.split(',')
                    .any(|x| e.json.contains(&format!("\"action\":\"{x}\"")))
            }) && query
                .actor
                .as_deref()
                .is_none_or(|a| e.json.contains(&format!("\"id\":\"{a}\"")))
                && query
                    .entity
                    .as_deref()
                    .is_none_or(|a| e.json.contains(&format!("\"id\":\"{a}\"")))
        };
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
            for event in events.iter().filter(|e| filter(e)) {
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

    async fn probe(&self) -> Result<String, FetchError> {
        Ok("synthetic mode: no token needed, nothing touches the network".into())
    }
}
