//! The dataset mode: entries kept sorted newest-first, request validation, page selection
//! with Slack's semantics (inclusive bounds, optimistic limit, position-only cursor), and
//! rendering a page from pre-rendered entry bytes.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::base64::{b64_decode, b64_encode};
use crate::config::{DEFAULT_LIMIT, MockConfig};
use crate::entry::MockEntry;
use crate::http::Request;

/// Most names the `action` filter takes.
const MAX_ACTIONS: usize = 30;

/// An entry as stored: cheap to clone (`Arc`), ids shared with the served-ids ledger.
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) date_create: i64,
    pub(crate) id: Arc<str>,
    pub(crate) json: Arc<str>,
    action: Option<Box<str>>,
    actor: Option<Box<str>>,
    entity: Option<Box<str>>,
}

impl From<MockEntry> for Stored {
    fn from(e: MockEntry) -> Self {
        Self {
            date_create: e.date_create,
            id: Arc::from(e.id),
            json: e.json,
            action: e.action.map(Into::into),
            actor: e.actor.map(Into::into),
            entity: e.entity.map(Into::into),
        }
    }
}

/// Newest-first order: `date_create` descending, then `id` descending (byte order).
fn newest_first(a: &Stored, b: &Stored) -> Ordering {
    (b.date_create, &*b.id).cmp(&(a.date_create, &*a.id))
}

/// All entries, newest first, unique by `(date_create, id)`.
#[derive(Debug, Default)]
pub(crate) struct Dataset {
    entries: Vec<Arc<Stored>>,
}

impl Dataset {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Inserts one entry in place; an entry with the same `(date_create, id)` is replaced.
    pub(crate) fn insert(&mut self, entry: MockEntry) {
        let stored = Arc::new(Stored::from(entry));
        match self
            .entries
            .binary_search_by(|probe| newest_first(probe, &stored))
        {
            Ok(i) => self.entries[i] = stored,
            Err(i) => self.entries.insert(i, stored),
        }
    }

    /// Merges many entries (sort + linear merge); later ones replace earlier ones with the
    /// same `(date_create, id)`.
    pub(crate) fn extend(&mut self, entries: impl IntoIterator<Item = MockEntry>) {
        let mut new: Vec<Arc<Stored>> = entries
            .into_iter()
            .map(|e| Arc::new(Stored::from(e)))
            .collect();
        if new.is_empty() {
            return;
        }
        if new.len() == 1 && self.entries.len() > 64 {
            // Cheap path for a single late event into a big dataset.
            let stored = new.remove(0);
            match self
                .entries
                .binary_search_by(|probe| newest_first(probe, &stored))
            {
                Ok(i) => self.entries[i] = stored,
                Err(i) => self.entries.insert(i, stored),
            }
            return;
        }
        new.sort_by(|a, b| newest_first(a, b));
        // Keep the last pushed of equal keys (dedup_by removes `later`, so move it first).
        new.dedup_by(|later, earlier| {
            if newest_first(later, earlier) == Ordering::Equal {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        let old = std::mem::take(&mut self.entries);
        let mut merged = Vec::with_capacity(old.len() + new.len());
        let mut old = old.into_iter().peekable();
        let mut new = new.into_iter().peekable();
        loop {
            let ord = match (old.peek(), new.peek()) {
                (Some(o), Some(n)) => newest_first(o, n),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => break,
            };
            match ord {
                Ordering::Less => merged.extend(old.next()),
                Ordering::Greater => merged.extend(new.next()),
                Ordering::Equal => {
                    old.next();
                    merged.extend(new.next());
                }
            }
        }
        self.entries = merged;
    }

    /// Selects one page.
    pub(crate) fn page(&self, q: &PageQuery, split_ties: bool) -> Page {
        let mut start = 0;
        if let Some((date, id)) = &q.after {
            start = self
                .entries
                .partition_point(|e| (e.date_create, &*e.id) >= (*date, id.as_str()));
        }
        if let Some(latest) = q.latest {
            start = start.max(self.entries.partition_point(|e| e.date_create > latest));
        }
        let mut selected: Vec<Arc<Stored>> = Vec::with_capacity(q.limit.min(16_384));
        let mut more = false;
        for e in self.entries.iter().skip(start) {
            if q.oldest.is_some_and(|oldest| e.date_create < oldest) {
                break;
            }
            if !q.matches(e) {
                continue;
            }
            if selected.len() >= q.limit {
                let same_second = selected
                    .last()
                    .is_some_and(|last| last.date_create == e.date_create);
                if split_ties || !same_second {
                    more = true;
                    break;
                }
            }
            selected.push(Arc::clone(e));
        }
        let next_cursor = match selected.last() {
            Some(last) if more => encode_cursor(last.date_create, &last.id),
            _ => String::new(),
        };
        Page {
            entries: selected,
            next_cursor,
        }
    }
}

/// The cursor is only a position: standard base64 of `"<date_create>:<id>"` of the last entry
/// served; the next page starts strictly after it in newest-first order. It is stable when
/// entries are added anywhere.
pub(crate) fn encode_cursor(date_create: i64, id: &str) -> String {
    b64_encode(format!("{date_create}:{id}").as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<(i64, String)> {
    let bytes = b64_decode(cursor)?;
    let text = String::from_utf8(bytes).ok()?;
    let (date, id) = text.split_once(':')?;
    Some((date.parse().ok()?, id.to_owned()))
}

/// A validated `GET /audit/v1/logs` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageQuery {
    oldest: Option<i64>,
    latest: Option<i64>,
    limit: usize,
    actions: Option<Vec<String>>,
    actor: Option<String>,
    entity: Option<String>,
    /// Position from the cursor: start strictly after this key.
    after: Option<(i64, String)>,
}

impl PageQuery {
    /// Validates the parameters like Slack: returns `(status, error)` on refusal.
    pub(crate) fn parse(
        req: &Request,
        cfg: &MockConfig,
        now_unix: i64,
    ) -> Result<Self, (u16, &'static str)> {
        const BAD: (u16, &str) = (400, "invalid_arguments");
        let int = |name: &str| -> Result<Option<i64>, (u16, &'static str)> {
            req.param(name)
                .map(|v| v.parse::<i64>().map_err(|_| BAD))
                .transpose()
        };
        let oldest = int("oldest")?;
        let latest = int("latest")?;
        if latest.is_some_and(|l| l > now_unix + 1) {
            return Err((400, "invalid_range"));
        }
        let limit = match req.param("limit") {
            None => DEFAULT_LIMIT,
            Some(v) => v.parse::<u32>().map_err(|_| BAD)?,
        };
        if limit == 0 || limit > cfg.max_limit {
            return Err(BAD);
        }
        let actions = match req.param("action").filter(|a| !a.is_empty()) {
            None => None,
            Some(list) => {
                let names: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect();
                if names.len() > MAX_ACTIONS {
                    return Err(BAD);
                }
                if let Some(known) = &cfg.known_actions
                    && names.iter().any(|n| !known.contains(n))
                {
                    return Err((400, "invalid_action"));
                }
                Some(names)
            }
        };
        let nonempty = |name: &str| req.param(name).filter(|v| !v.is_empty()).map(str::to_owned);
        let after = match req.cursor() {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or((400, "invalid_cursor"))?),
        };
        Ok(Self {
            oldest,
            latest,
            limit: limit as usize,
            actions,
            actor: nonempty("actor"),
            entity: nonempty("entity"),
            after,
        })
    }

    fn matches(&self, e: &Stored) -> bool {
        fn eq(want: Option<&String>, have: Option<&str>) -> bool {
            want.is_none_or(|w| have == Some(w.as_str()))
        }
        eq(self.actor.as_ref(), e.actor.as_deref())
            && eq(self.entity.as_ref(), e.entity.as_deref())
            && self.actions.as_ref().is_none_or(|names| {
                e.action
                    .as_deref()
                    .is_some_and(|a| names.iter().any(|n| n == a))
            })
    }
}

/// A selected page.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) entries: Vec<Arc<Stored>>,
    pub(crate) next_cursor: String,
}

const BODY_OPEN: &[u8] = b"{\"entries\":[";
const BODY_MID: &[u8] = b"],\"response_metadata\":{\"next_cursor\":\"";
const BODY_CLOSE: &[u8] = b"\"}}";

impl Page {
    /// Exact length of [`Page::write_body`]'s output.
    pub(crate) fn body_len(&self) -> usize {
        let jsons: usize = self.entries.iter().map(|e| e.json.len()).sum();
        BODY_OPEN.len()
            + jsons
            + self.entries.len().saturating_sub(1)
            + BODY_MID.len()
            + self.next_cursor.len()
            + BODY_CLOSE.len()
    }

    /// Appends `{"entries":[…],"response_metadata":{"next_cursor":"…"}}` (base64 cursors
    /// need no JSON escaping).
    pub(crate) fn write_body(&self, out: &mut Vec<u8>) {
        out.reserve(self.body_len());
        out.extend_from_slice(BODY_OPEN);
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(e.json.as_bytes());
        }
        out.extend_from_slice(BODY_MID);
        out.extend_from_slice(self.next_cursor.as_bytes());
        out.extend_from_slice(BODY_CLOSE);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn e(id: &str, t: i64) -> MockEntry {
        MockEntry::synthetic(id, t, "user_login", "W1", "W2")
    }

    fn ids(d: &Dataset) -> Vec<String> {
        d.entries.iter().map(|e| e.id.to_string()).collect()
    }

    #[test]
    fn keeps_order_and_replaces_equal_keys() {
        let mut d = Dataset::default();
        d.extend([e("a", 1), e("c", 3), e("b", 3), e("d", 2)]);
        assert_eq!(ids(&d), ["c", "b", "d", "a"]);
        d.insert(e("z", 2));
        d.extend([e("y", 0), e("c", 3), e("x", 9)]);
        assert_eq!(ids(&d), ["x", "c", "b", "z", "d", "a", "y"]);
        assert_eq!(d.len(), 7);
    }

    #[test]
    fn cursor_round_trips() {
        let c = encode_cursor(1_767_225_600, "0d7b:aa");
        assert_eq!(
            decode_cursor(&c),
            Some((1_767_225_600, "0d7b:aa".to_owned()))
        );
        assert_eq!(decode_cursor("bm9wZQ=="), None);
    }
}
