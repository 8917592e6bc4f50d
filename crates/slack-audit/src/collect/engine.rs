//! One pass of the sync: windows opened and read page by page, backwards, each page
//! de-duplicated and handed over with the checkpoint that covers it; late events caught;
//! refused or looping cursors resumed from the checkpoint; a pass that fell behind reads on.
//!
//! # Why it is built so
//!
//! - **Positions, never cursors.** A restart, whatever caused it, re-queries the window up to
//!   its position (`upper`) without a cursor and skips the ids handled at that second
//!   (`upper_ids`): Slack's cursors expire and forget `oldest`, positions in time do not. A
//!   cursor Slack refuses, or one it hands back twice (paging on would loop), is a restart too,
//!   bounded by `MAX_CURSOR_RESTARTS` without the position moving, so a broken upstream fails
//!   the run (checkpoint intact) instead of spinning.
//! - **Only the window's own entries move the checkpoint.** An entry dated outside the window
//!   it answers is delivered as sent and counted, never trusted: its date would move the
//!   watermark into the future (collection stopped) or the position below unread events (lost
//!   on a restart).
//! - **One page on the wire while one is handled** ([`crate::source::ahead`]): the next request
//!   leaves as soon as a page announces its cursor, and a wrong announcement is thrown away.
//! - **It reports; it does not know who listens.** Counts, restarts and positions go to a
//!   [`SyncObserver`] (the metrics and the progress report implement it), so neither imports
//!   the engine back.
//!
//! The state it reads and writes, and the checks a loaded one passes first, are in
//! [`crate::collect::state`]; why the whole is exact, in [`crate::collect`].

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use connector_sdk::contract::error::InputError;
use connector_sdk::contract::input::{Batch, ReadContext, RecordBuf};

use crate::clock::{Clock, format_time};
use crate::collect::observe::{CursorRestart, PassStats, SyncObserver};
use crate::collect::state::{SyncState, Window};
use crate::encode::Encoder;
use crate::page::{EntryRef, Page};
use crate::query::Query;
use crate::settings::StartPoint;
use crate::source::ahead::PageFetch;
use crate::source::{FetchError, LogsQuery, PageSource};

/// A window whose last `latest` is further behind now than this is followed by another window
/// in the same pass (a long backfill catches up on what arrived meanwhile).
const CATCH_UP_SECONDS: i64 = 60;
/// Restarts from the checkpoint (after a refused or looping cursor) tolerated without the
/// position moving before the run fails.
const MAX_CURSOR_RESTARTS: u32 = 5;

/// Entries of one page dated outside the window: how many, and the range of their dates.
#[derive(Debug, Default)]
struct Stray {
    count: u64,
    min: Option<i64>,
    max: Option<i64>,
}

impl Stray {
    fn add(&mut self, date: i64) {
        self.count += 1;
        self.min = Some(self.min.map_or(date, |m| m.min(date)));
        self.max = Some(self.max.map_or(date, |m| m.max(date)));
    }
}

/// Paging within one window: the cursors used since the last restart (a cursor seen twice is a
/// loop), and the restarts made without the position moving.
#[derive(Debug, Default)]
struct Paging {
    cursors: HashSet<String>,
    restarts: u32,
    /// The position when the last restart happened.
    restarted_at: Option<Option<i64>>,
}

impl Paging {
    /// Whether `cursor` has not been used in this sequence.
    fn is_new(&self, cursor: &str) -> bool {
        !self.cursors.contains(cursor)
    }

    /// Whether `cursor` is new in this sequence; remembers it.
    fn first_use(&mut self, cursor: &str) -> bool {
        self.cursors.insert(cursor.to_owned())
    }

    /// A page was handled and the position is now `upper`: progress since the last restart
    /// forgives the restarts.
    fn handled(&mut self, upper: Option<i64>) {
        if let Some(at) = self.restarted_at {
            let moved = match (at, upper) {
                (Some(at), Some(upper)) => upper < at,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            if moved {
                self.restarts = 0;
                self.restarted_at = None;
            }
        }
    }

    fn restart(&mut self, upper: Option<i64>) {
        self.restarts += 1;
        self.restarted_at = Some(upper);
        self.cursors.clear();
    }
}

/// The start of a cursor, for messages (cursors are opaque and can be long).
fn short(cursor: &str) -> String {
    let head: String = cursor.chars().take(24).collect();
    if head.len() < cursor.len() {
        format!("{head}…")
    } else {
        head
    }
}

/// What to read, independent of where from.
#[derive(Debug, Clone)]
pub struct SyncPlan {
    /// Where the first run starts.
    pub start: StartPoint,
    /// Late-arrival window in seconds.
    pub lookback: i64,
    /// Page size.
    pub limit: u32,
    /// The filters and the format. The filters go with every page ([`LogsQuery::params`]); the
    /// whole query is remembered by the state, which a run holds against it before reading:
    /// that is the one place the engine looks at the format (the records are the encoder's).
    pub query: Arc<Query>,
}

/// Runs passes of the sync against a source.
pub struct SyncEngine<'a> {
    /// Where pages come from (shared with the tasks that fetch pages ahead).
    pub source: Arc<dyn PageSource>,
    /// What time it is.
    pub clock: &'a dyn Clock,
    /// What to read.
    pub plan: &'a SyncPlan,
}

enum Flow {
    Continue,
    Stopped,
}

impl SyncEngine<'_> {
    /// One pass: read until caught up with now, emitting a batch per page of the entries
    /// accepted, as `encoder` writes them, reporting to `observer` as it goes.
    pub async fn run(
        &self,
        mut state: SyncState,
        cx: &ReadContext<SyncState>,
        encoder: &mut dyn Encoder,
        observer: &mut dyn SyncObserver,
    ) -> Result<PassStats, InputError> {
        let mut stats = PassStats::default();
        for repair in state.repair(self.clock.now()) {
            tracing::warn!(message = "Repaired the state: it lay in the future.", %repair);
        }
        state.adopt_query((*self.plan.query).clone(), cx.accepts_settings_change())?;
        let floor = *state
            .floor
            .get_or_insert_with(|| self.plan.start.resolve(self.clock.now()));
        observer.position(&state);
        loop {
            if state.window.is_none() {
                let latest = self.clock.now();
                let oldest = state
                    .watermark
                    .map_or(floor, |w| w.saturating_sub(self.plan.lookback).max(floor));
                if oldest > latest {
                    // Only with a clock that went backwards; nothing to ask for yet.
                    return Ok(stats);
                }
                // Not checkpointed on its own: the window is saved with its first page, so a run
                // that never gets a valid page (a wrong token, no network) leaves no state.
                state.window = Some(Window {
                    oldest,
                    latest,
                    upper: None,
                    upper_ids: Vec::new(),
                    newest: None,
                });
                tracing::debug!(message = "Opened a window.", oldest, latest);
            }
            let latest = state.window.as_ref().map_or(0, |w| w.latest);
            if let Flow::Stopped = self
                .run_window(&mut state, cx, &mut stats, encoder, observer)
                .await?
            {
                return Ok(stats);
            }
            if latest >= self.clock.now().saturating_sub(CATCH_UP_SECONDS) {
                break;
            }
        }
        // Said only once the output has everything: a closed output fails the run instead.
        if cx.all_written().await {
            observer.caught_up(&stats);
        }
        Ok(stats)
    }

    fn query(&self, oldest: i64, latest: i64) -> LogsQuery {
        LogsQuery {
            oldest,
            latest,
            limit: self.plan.limit,
            query: Arc::clone(&self.plan.query),
        }
    }

    async fn emit(
        &self,
        cx: &ReadContext<SyncState>,
        records: RecordBuf,
        state: &SyncState,
        observer: &mut dyn SyncObserver,
    ) -> Flow {
        observer.position(state);
        let batch = Batch {
            records,
            checkpoint: state.clone(),
        };
        match cx.emit(batch).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stopped,
        }
    }

    /// De-duplicates one page into records (each accepted entry as `out` writes it) and moves
    /// the window position past it.
    ///
    /// Only entries inside the window move the checkpoint. An entry dated outside
    /// `[oldest, latest]` (a year ahead, before 2018, garbage) cannot be an answer to the query:
    /// it is delivered as sent, never dropped, but trusting its date would move the watermark
    /// into the future (every later window empty: collection stopped for good) or the position
    /// below events not yet read (lost on a restart).
    fn absorb(
        &self,
        page: &Page,
        state: &mut SyncState,
        stats: &mut PassStats,
        cx: &ReadContext<SyncState>,
        out: &mut dyn Encoder,
    ) -> RecordBuf {
        // The body's size is room enough for its entries one per line (a page's framing and
        // the commas between entries are longer than the newlines that replace them).
        let mut records = cx.record_buf(page.body_len());
        let Some(window) = state.window.as_mut() else {
            return records;
        };
        let mut page_min: Option<i64> = None;
        let mut stray = Stray::default();
        // The entries that move the checkpoint, emitted or not: a dropped entry is handled
        // exactly like a delivered one, only not emitted.
        let mut accepted: Vec<(i64, &str)> = Vec::with_capacity(page.entries().len());
        let mut emitted = 0u64;
        // The action filter Slack could not apply; `None`: Slack sent only what is kept.
        let local = self.plan.query.local_filter();
        let mut emit = |entry: &EntryRef, records: &mut RecordBuf, stats: &mut PassStats| {
            let keep = local
                .as_ref()
                .is_none_or(|filter| filter.keeps(page.action(entry).as_deref()));
            if keep {
                out.push(records, page.raw(entry));
            } else {
                stats.filtered += 1;
            }
            keep
        };
        for entry in page.entries() {
            let (Some(id), Some(date)) = (page.id(entry), entry.date_create) else {
                stats.unkeyed += 1;
                tracing::warn!(
                    message = "Entry without a string `id` or an integer `date_create`: delivered as it is, but it cannot be de-duplicated.",
                    bytes = page.raw(entry).len(),
                );
                emit(entry, &mut records, stats);
                continue;
            };
            if date < window.oldest || date > window.latest {
                stray.add(date);
                emit(entry, &mut records, stats);
                continue;
            }
            page_min = Some(page_min.map_or(date, |m: i64| m.min(date)));
            let seen_at_upper =
                window.upper == Some(date) && window.upper_ids.iter().any(|u| u == id);
            let seen_recently = state
                .recent
                .get(&date)
                .is_some_and(|ids| ids.iter().any(|k| k == id));
            if seen_at_upper || seen_recently {
                stats.duplicates += 1;
                continue;
            }
            if emit(entry, &mut records, stats) {
                emitted += 1;
            }
            accepted.push((date, id));
        }
        stats.delivered += emitted;
        stats.out_of_window += stray.count;
        if let (Some(seen_oldest), Some(seen_newest)) = (stray.min, stray.max) {
            tracing::warn!(
                message = "Entries dated outside the window asked for: delivered as sent, but they do not move the checkpoint. A proxy or Slack itself sent them; if it keeps happening, report it.",
                count = stray.count,
                seen_oldest = %format_time(seen_oldest),
                seen_newest = %format_time(seen_newest),
                window_oldest = %format_time(window.oldest),
                window_latest = %format_time(window.latest),
            );
        }

        if let Some(min) = page_min {
            let ids_at_min = page
                .entries()
                .iter()
                .filter(|e| e.date_create == Some(min))
                .filter_map(|e| page.id(e));
            // Pages go newest first: the position only moves further back.
            match window.upper.map(|upper| upper.cmp(&min)) {
                Some(Ordering::Equal) => {
                    for id in ids_at_min {
                        if !window.upper_ids.iter().any(|u| u == id) {
                            window.upper_ids.push(id.to_owned());
                        }
                    }
                }
                Some(Ordering::Less) => {
                    tracing::warn!(
                        message = "A page went forward in time; keeping the older position.",
                        page_oldest = min,
                        position = window.upper,
                    );
                }
                Some(Ordering::Greater) | None => {
                    window.upper = Some(min);
                    window.upper_ids = ids_at_min.map(str::to_owned).collect();
                }
            }
        }
        let page_max = accepted.iter().map(|(d, _)| *d).max();
        if let Some(max) = page_max {
            window.newest = Some(window.newest.map_or(max, |n| n.max(max)));
        }
        let keep_from = window
            .newest
            .map_or(i64::MAX, |n| n.saturating_sub(self.plan.lookback));
        for (date, id) in accepted {
            if date >= keep_from {
                state.remember(date, id);
            }
        }
        out.end_page();
        records
    }

    /// Resumes the window from its checkpoint without a cursor, after a refused or looping
    /// one; fails (checkpoint intact) once that happened [`MAX_CURSOR_RESTARTS`] times without
    /// the position moving in between.
    fn restart(
        &self,
        state: &SyncState,
        query: &mut LogsQuery,
        paging: &mut Paging,
        reason: &str,
    ) -> Result<PageFetch, InputError> {
        let upper = state.window.as_ref().and_then(|w| w.upper);
        if paging.restarts >= MAX_CURSOR_RESTARTS {
            return Err(InputError::transient(format!(
                "{reason}, and resuming from the checkpoint {MAX_CURSOR_RESTARTS} times made no progress; the checkpoint is intact (position {}), the next run resumes from it",
                upper.map_or_else(|| "the window's end".to_owned(), format_time)
            )));
        }
        paging.restart(upper);
        if let Some(upper) = upper {
            query.latest = upper;
        }
        tracing::warn!(
            message = "Resuming the window from the checkpoint without a cursor.",
            %reason,
            resume_latest = %format_time(query.latest),
            restarts = paging.restarts,
            of = MAX_CURSOR_RESTARTS,
        );
        Ok(PageFetch::start(&self.source, query, None))
    }

    async fn run_window(
        &self,
        state: &mut SyncState,
        cx: &ReadContext<SyncState>,
        stats: &mut PassStats,
        encoder: &mut dyn Encoder,
        observer: &mut dyn SyncObserver,
    ) -> Result<Flow, InputError> {
        let Some(window) = state.window.as_ref() else {
            return Ok(Flow::Continue);
        };
        let mut query = self.query(window.oldest, window.upper.unwrap_or(window.latest));
        let mut paging = Paging::default();
        // The page to handle next, already requested: the sync handles one page while the next
        // is on the wire (see `crate::source::ahead`).
        let mut pending = PageFetch::start(&self.source, &query, None);
        loop {
            let asked_with = pending.cursor().map(str::to_owned);
            let (fetched, announced_next) = pending
                .finish(&self.source, &query, |c| paging.is_new(c))
                .await;
            let page = match fetched {
                Ok(page) => page,
                Err(FetchError::InvalidCursor) if asked_with.is_some() => {
                    observer.cursor_restart(CursorRestart::Refused);
                    pending = self.restart(
                        state,
                        &mut query,
                        &mut paging,
                        "Slack refused the page cursor (invalid_cursor)",
                    )?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let before = *stats;
            stats.pages += 1;
            let next = page.next_cursor().map(str::to_owned);
            let records = self.absorb(&page, state, stats, cx, encoder);
            if let Some(window) = state.window.as_ref() {
                observer.page(&before, stats, window);
            }
            self.source.recycle(page);
            if let Flow::Stopped = self.emit(cx, records, state, observer).await {
                return Ok(Flow::Stopped);
            }
            paging.handled(state.window.as_ref().and_then(|w| w.upper));
            let Some(next) = next else { break };
            if !paging.first_use(&next) {
                let reason = format!(
                    "Slack answered with a cursor already used in this window ({}): paging on would loop",
                    short(&next)
                );
                observer.cursor_restart(CursorRestart::Loop);
                pending = self.restart(state, &mut query, &mut paging, &reason)?;
                continue;
            }
            // Keep the request started from the announced cursor only if the parsed page agrees.
            pending = match announced_next {
                Some(ahead) if ahead.cursor() == Some(next.as_str()) => ahead,
                announced => {
                    if announced.is_some() {
                        tracing::debug!(
                            message = "The cursor read early from a page was not its real one; asking again."
                        );
                    }
                    PageFetch::start(&self.source, &query, Some(next))
                }
            };
        }
        if let Some(window) = state.window.take() {
            state.checked_through = Some(
                state
                    .checked_through
                    .map_or(window.latest, |c| c.max(window.latest)),
            );
            if let Some(newest) = window.newest {
                state.watermark = Some(state.watermark.map_or(newest, |w| w.max(newest)));
            }
            if let Some(w) = state.watermark {
                let keep_from = w.saturating_sub(self.plan.lookback);
                if state.recent.range(..keep_from).next().is_some() {
                    let kept = Arc::make_mut(&mut state.recent).split_off(&keep_from);
                    state.recent = Arc::new(kept);
                }
            }
            tracing::debug!(
                message = "Closed a window.",
                oldest = window.oldest,
                latest = window.latest,
                watermark = state.watermark,
            );
        }
        Ok(self.emit(cx, RecordBuf::default(), state, observer).await)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    //! The engine against a scripted in-memory source: the next request leaves before a page
    //! is parsed, and a wrong early cursor is thrown away without losing or repeating anything.

    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;
    use connector_sdk::runtime::host_side::channel_context;
    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::clock::FixedClock;
    use crate::source::{PageRequest, Wire};

    const NOW: i64 = 1_700_000_000;

    /// A page's entries (`id`, `date_create`) and its next cursor.
    type ScriptedPage = (Vec<(String, i64)>, Option<String>);

    /// Pages by the cursor that asks for them; `announce` is what the source announces early
    /// for a page (the right next cursor, or a wrong one).
    struct Scripted {
        pages: HashMap<Option<String>, ScriptedPage>,
        announce: HashMap<Option<String>, String>,
        requests: Mutex<Vec<Option<String>>>,
    }

    impl Scripted {
        fn requested(&self, cursor: &str) -> bool {
            let requests = self.requests.lock().unwrap();
            requests.iter().any(|r| r.as_deref() == Some(cursor))
        }
    }

    #[async_trait]
    impl PageSource for Scripted {
        async fn fetch(&self, request: PageRequest<'_>) -> Result<Page, FetchError> {
            let key = request.cursor.map(str::to_owned);
            self.requests.lock().unwrap().push(key.clone());
            let Some((entries, next)) = self.pages.get(&key) else {
                return Err(FetchError::InvalidCursor);
            };
            if let Some(early) = self.announce.get(&key) {
                if let Some(hint) = request.hint {
                    hint.offer(early);
                }
                // "Parsing" ends only once the announced page has been asked for: this page is
                // not returned before the next request left.
                let mut waited = 0;
                while !self.requested(early) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    waited += 1;
                    if waited > 1000 {
                        return Err(FetchError::Fatal(format!(
                            "the page at {early:?} was not requested while this one was parsed"
                        )));
                    }
                }
            }
            let entries: Vec<String> = entries
                .iter()
                .map(|(id, date)| format!(r#"{{"id":"{id}","date_create":{date}}}"#))
                .collect();
            let body = format!(
                r#"{{"ok":true,"entries":[{}],"response_metadata":{{"next_cursor":"{}"}}}}"#,
                entries.join(","),
                next.as_deref().unwrap_or("")
            );
            Page::parse(body.into_bytes()).map_err(|e| FetchError::Fatal(format!("{e:?}")))
        }

        async fn probe(&self, _: Option<&Wire>) -> Result<String, FetchError> {
            Ok("scripted".into())
        }
    }

    fn page(ids: &[(&str, i64)], next: Option<&str>) -> ScriptedPage {
        (
            ids.iter().map(|(id, d)| ((*id).to_owned(), *d)).collect(),
            next.map(str::to_owned),
        )
    }

    /// Runs one pass over three pages, with the early cursor of the first page being `early`.
    async fn run_three_pages(early: &str) -> (Vec<String>, Vec<Option<String>>) {
        let source = Arc::new(Scripted {
            pages: HashMap::from([
                (None, page(&[("e5", NOW - 5), ("e4", NOW - 4)], Some("c2"))),
                (
                    Some("c2".into()),
                    page(&[("e3", NOW - 30), ("e2", NOW - 40)], Some("c3")),
                ),
                (Some("c3".into()), page(&[("e1", NOW - 50)], None)),
            ]),
            announce: HashMap::from([(None, early.to_owned()), (Some("c2".into()), "c3".into())]),
            requests: Mutex::default(),
        });
        let clock = FixedClock::new(NOW);
        let (outcome, batches) = run_pass(source.clone(), &clock, SyncState::default()).await;
        assert_eq!(outcome.unwrap().pages, 3);
        let ids = batches
            .iter()
            .flat_map(|batch| {
                let text = String::from_utf8(batch.records.as_bytes().to_vec()).unwrap();
                text.lines()
                    .map(|l| {
                        let v: serde_json::Value = serde_json::from_str(l).unwrap();
                        v["id"].as_str().unwrap().to_owned()
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let requests = source.requests.lock().unwrap().clone();
        (ids, requests)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_next_request_leaves_before_the_page_is_parsed() {
        let (ids, requests) = run_three_pages("c2").await;
        assert_eq!(ids, ["e5", "e4", "e3", "e2", "e1"]);
        assert_eq!(
            requests,
            [None, Some("c2".to_owned()), Some("c3".to_owned())],
            "each page asked for once, in order"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wrong_early_cursor_is_thrown_away() {
        let (ids, requests) = run_three_pages("bogus").await;
        assert_eq!(
            ids,
            ["e5", "e4", "e3", "e2", "e1"],
            "nothing lost or repeated"
        );
        assert_eq!(
            requests,
            [
                None,
                Some("bogus".to_owned()),
                Some("c2".to_owned()),
                Some("c3".to_owned())
            ],
            "the guess was asked for, then the real cursor"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn entries_outside_the_window_are_delivered_but_never_move_the_checkpoint() {
        let future = NOW + 365 * 86_400;
        let source = Arc::new(Scripted {
            pages: HashMap::from([
                (
                    None,
                    page(
                        &[("future", future), ("e2", NOW - 5), ("ancient", 1_000)],
                        Some("c2"),
                    ),
                ),
                (Some("c2".into()), page(&[("e1", NOW - 50)], None)),
            ]),
            announce: HashMap::new(),
            requests: Mutex::default(),
        });
        let clock = FixedClock::new(NOW);
        let (outcome, batches) = run_pass(source, &clock, SyncState::default()).await;
        let stats = outcome.unwrap();
        let records: usize = batches.iter().map(|b| b.records.len()).sum();
        let checkpoints: Vec<_> = batches.into_iter().map(|b| b.checkpoint).collect();
        assert_eq!(records, 4, "every entry delivered, strays too");
        assert_eq!(stats.out_of_window, 2);
        let after_page_1 = checkpoints[0].window.as_ref().unwrap();
        assert_eq!(
            after_page_1.upper,
            Some(NOW - 5),
            "position from in-window entries"
        );
        assert_eq!(after_page_1.newest, Some(NOW - 5));
        let last = checkpoints.last().unwrap();
        assert_eq!(last.watermark, Some(NOW - 5));
        assert!(
            last.recent.keys().all(|d| *d <= NOW && *d >= NOW - 600),
            "{:?}",
            last.recent
        );
    }

    /// Pages of whole entries by the cursor that asks for them.
    struct Raw(HashMap<Option<String>, String>);

    #[async_trait]
    impl PageSource for Raw {
        async fn fetch(&self, request: PageRequest<'_>) -> Result<Page, FetchError> {
            let body = self
                .0
                .get(&request.cursor.map(str::to_owned))
                .ok_or(FetchError::InvalidCursor)?;
            Page::parse(body.clone().into_bytes()).map_err(|e| FetchError::Fatal(format!("{e:?}")))
        }

        async fn probe(&self, _: Option<&Wire>) -> Result<String, FetchError> {
            Ok("raw".into())
        }
    }

    /// Two pages whose entries carry actions (`x` or `keep`), with an entry repeated across
    /// them and one dated outside the window.
    fn acted_pages() -> Arc<Raw> {
        let page = |entries: &[(&str, i64, &str)], next: &str| {
            let entries: Vec<String> = entries
                .iter()
                .map(|(id, date, action)| {
                    format!(r#"{{"id":"{id}","date_create":{date},"action":"{action}"}}"#)
                })
                .collect();
            format!(
                r#"{{"entries":[{}],"response_metadata":{{"next_cursor":"{next}"}}}}"#,
                entries.join(",")
            )
        };
        Arc::new(Raw(HashMap::from([
            (
                None,
                page(
                    &[
                        ("e6", NOW - 5, "x"),
                        ("e5", NOW - 9, "keep"),
                        ("e4", NOW - 20, "x"),
                    ],
                    "c2",
                ),
            ),
            (
                Some("c2".to_owned()),
                page(
                    &[
                        ("e4", NOW - 20, "x"),
                        ("e3", NOW - 30, "keep"),
                        ("e2", NOW - 40, "x"),
                        ("far", 1_000, "x"),
                    ],
                    "",
                ),
            ),
        ])))
    }

    /// The action filter applied here drops entries after de-duplication, before the encoder:
    /// every checkpoint is the one the unfiltered pass hands over, only the records differ.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn entries_dropped_by_the_filter_move_the_checkpoint_as_delivered_ones_do() {
        let clock = FixedClock::new(NOW);
        let (all, all_batches) = run_query(
            acted_pages(),
            &clock,
            SyncState::default(),
            Query::default(),
        )
        .await;
        let excluding = Query {
            exclude_actions: vec!["x".to_owned()],
            ..Query::default()
        };
        let (some, some_batches) =
            run_query(acted_pages(), &clock, SyncState::default(), excluding).await;
        let (all, some) = (all.unwrap(), some.unwrap());
        let checkpoints = |batches: &[Batch<SyncState>]| -> Vec<SyncState> {
            batches.iter().map(|b| b.checkpoint.clone()).collect()
        };
        let ids = |batches: &[Batch<SyncState>]| -> Vec<String> {
            batches
                .iter()
                .flat_map(|b| {
                    String::from_utf8(b.records.as_bytes().to_vec())
                        .unwrap()
                        .lines()
                        .map(|l| {
                            let v: serde_json::Value = serde_json::from_str(l).unwrap();
                            v["id"].as_str().unwrap().to_owned()
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        assert_eq!(ids(&all_batches), ["e6", "e5", "e4", "e3", "e2", "far"]);
        assert_eq!(ids(&some_batches), ["e5", "e3"]);
        let mut expected = checkpoints(&all_batches);
        for state in &mut expected {
            state.query = Some(Query {
                exclude_actions: vec!["x".to_owned()],
                ..Query::default()
            });
        }
        assert_eq!(checkpoints(&some_batches), expected);
        assert_eq!((all.duplicates, some.duplicates), (1, 1));
        assert_eq!((some.delivered, some.filtered), (2, 4));
        assert_eq!(all.filtered, 0);
    }

    /// A source whose pages take `to - now` seconds to read: the clock is at `to` once a page
    /// has been asked for.
    struct Slow {
        inner: Scripted,
        clock: Arc<FixedClock>,
        to: i64,
    }

    #[async_trait]
    impl PageSource for Slow {
        async fn fetch(&self, request: PageRequest<'_>) -> Result<Page, FetchError> {
            self.clock.set(self.to);
            self.inner.fetch(request).await
        }

        async fn probe(&self, wire: Option<&Wire>) -> Result<String, FetchError> {
            self.inner.probe(wire).await
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pass_that_fell_behind_reads_on_to_the_new_now() {
        // The first window ends at NOW but reading it took ten minutes: the pass opens a second
        // window up to the new now (where the same page comes back: one duplicate), and stops
        // there. The counts are what the read summary and the metrics report.
        let clock = Arc::new(FixedClock::new(NOW));
        let source = Arc::new(Slow {
            inner: Scripted {
                pages: HashMap::from([(None, page(&[("e1", NOW - 100), ("", NOW - 50)], None))]),
                announce: HashMap::new(),
                requests: Mutex::default(),
            },
            clock: Arc::clone(&clock),
            to: NOW + 600,
        });
        let (outcome, batches) = run_pass(source, &*clock, SyncState::default()).await;
        let stats = outcome.unwrap();
        let records: usize = batches.iter().map(|b| b.records.len()).sum();
        let mut windows: Vec<_> = batches
            .iter()
            .filter_map(|b| b.checkpoint.window.as_ref())
            .map(|w| (w.oldest, w.latest))
            .collect();
        windows.dedup();
        assert_eq!(
            windows,
            [(NOW - 3600, NOW), (NOW - 700, NOW + 600)],
            "a second window, from the lookback before the watermark to the new now"
        );
        assert_eq!(
            (
                stats.pages,
                stats.delivered,
                stats.duplicates,
                stats.unkeyed
            ),
            (2, 1, 1, 2)
        );
        assert_eq!(records, 3, "e1 once, the unkeyed entry each time");
    }

    /// Scripted pages by the cursor that asks for them, none announced early.
    fn scripted(pages: Vec<(Option<&str>, ScriptedPage)>) -> Arc<Scripted> {
        Arc::new(Scripted {
            pages: pages
                .into_iter()
                .map(|(cursor, page)| (cursor.map(str::to_owned), page))
                .collect(),
            announce: HashMap::new(),
            requests: Mutex::default(),
        })
    }

    /// One pass from `state` at `clock`'s time, reading the last hour with a late-arrival
    /// window of 600 s: its outcome and every batch it emitted, in order.
    async fn run_pass(
        source: Arc<dyn PageSource>,
        clock: &dyn Clock,
        state: SyncState,
    ) -> (Result<PassStats, InputError>, Vec<Batch<SyncState>>) {
        run_query(source, clock, state, Query::default()).await
    }

    /// [`run_pass`] with `query`.
    async fn run_query(
        source: Arc<dyn PageSource>,
        clock: &dyn Clock,
        state: SyncState,
        query: Query,
    ) -> (Result<PassStats, InputError>, Vec<Batch<SyncState>>) {
        let plan = SyncPlan {
            start: StartPoint::Ago(3600),
            lookback: 600,
            limit: 10,
            query: Arc::new(query),
        };
        let engine = SyncEngine {
            source,
            clock,
            plan: &plan,
        };
        let (tx, mut rx) = mpsc::channel(1024);
        let cx = channel_context(tx, CancellationToken::new());
        let outcome = engine
            .run(state, &cx, &mut crate::encode::SlackEntries, &mut ())
            .await;
        drop(cx);
        let mut batches = Vec::new();
        while let Some(batch) = rx.recv().await {
            batches.push(batch);
        }
        (outcome, batches)
    }

    /// [`run_pass`] at `now`, keeping only the checkpoints.
    async fn pass(
        source: Arc<dyn PageSource>,
        now: i64,
        state: SyncState,
    ) -> (Result<PassStats, InputError>, Vec<SyncState>) {
        let (outcome, batches) = run_pass(source, &FixedClock::new(now), state).await;
        (outcome, batches.into_iter().map(|b| b.checkpoint).collect())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_that_goes_forward_in_time_never_moves_the_position_back_up() {
        let source = scripted(vec![
            (None, page(&[("e2", NOW - 50)], Some("c2"))),
            (Some("c2"), page(&[("e3", NOW - 10)], None)),
        ]);
        let (outcome, checkpoints) = pass(source, NOW, SyncState::default()).await;
        assert_eq!(outcome.unwrap().delivered, 2);
        let after_page_2 = checkpoints[1].window.as_ref().unwrap();
        assert_eq!(
            (after_page_2.upper, after_page_2.upper_ids.as_slice()),
            (Some(NOW - 50), ["e2".to_owned()].as_slice()),
            "the position stays where page 1 left it"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_state_remembers_ids_only_for_the_late_arrival_window() {
        // Within a window: only ids within 600 s of its newest event are kept.
        let source = scripted(vec![(
            None,
            page(&[("a", NOW - 5), ("b", NOW - 2000)], None),
        )]);
        let (outcome, checkpoints) = pass(source, NOW, SyncState::default()).await;
        outcome.unwrap();
        let remembered = |s: &SyncState| s.recent.keys().copied().collect::<Vec<_>>();
        assert_eq!(remembered(&checkpoints[0]), [NOW - 5], "mid-window");
        let first = checkpoints.last().unwrap().clone();
        assert_eq!(first.watermark, Some(NOW - 5));

        // The next pass, an hour later, moves the watermark: the older ids are let go.
        let later = NOW + 3600;
        let source = scripted(vec![(None, page(&[("c", later - 30)], None))]);
        let (outcome, checkpoints) = pass(source, later, first).await;
        outcome.unwrap();
        let last = checkpoints.last().unwrap();
        assert_eq!(last.watermark, Some(later - 30));
        assert_eq!(
            remembered(last),
            [later - 30],
            "pruned when the window closed"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_first_page_is_an_error_not_a_restart() {
        // `invalid_cursor` on a request that sent no cursor: nothing to resume without, so no
        // restarts (they would ask the same question again).
        let source = scripted(Vec::new());
        let (outcome, checkpoints) = pass(
            Arc::clone(&source) as Arc<dyn PageSource>,
            NOW,
            SyncState::default(),
        )
        .await;
        let error = outcome.unwrap_err();
        assert!(!error.to_string().contains("resuming"), "{error}");
        assert_eq!(source.requests.lock().unwrap().as_slice(), [None]);
        assert!(checkpoints.is_empty());
    }

    #[test]
    fn only_a_position_further_back_forgives_cursor_restarts() {
        let mut paging = Paging::default();
        paging.restart(Some(NOW - 10));
        paging.restart(Some(NOW - 10));
        paging.handled(Some(NOW - 10));
        assert_eq!(paging.restarts, 2, "the position did not move");
        paging.handled(Some(NOW - 5));
        assert_eq!(
            paging.restarts, 2,
            "newer is not further: pages go newest first"
        );
        paging.handled(None);
        assert_eq!(paging.restarts, 2, "no position is no progress");
        paging.handled(Some(NOW - 11));
        assert_eq!(paging.restarts, 0, "read further back");
        assert_eq!(paging.restarted_at, None);

        paging.restart(None);
        paging.handled(None);
        assert_eq!(paging.restarts, 1);
        paging.handled(Some(NOW));
        assert_eq!(
            paging.restarts, 0,
            "a first position after a restart from the end"
        );
    }

    #[test]
    fn a_restart_forgets_the_cursors_used() {
        let mut paging = Paging::default();
        assert!(paging.is_new("c1"));
        assert!(paging.first_use("c1"));
        assert!(!paging.is_new("c1"));
        assert!(!paging.first_use("c1"));
        paging.restart(None);
        assert!(paging.is_new("c1"), "a fresh sequence after a restart");
    }

    #[test]
    fn messages_show_the_start_of_a_long_cursor() {
        assert_eq!(short("dXNlcjpVMEc5V0ZYTlo="), "dXNlcjpVMEc5V0ZYTlo=");
        let long = "a".repeat(24);
        assert_eq!(short(&long), long, "24 characters are shown whole");
        assert_eq!(short(&"b".repeat(25)), format!("{}…", "b".repeat(24)));
        assert_eq!(
            short("ééééééééééééééééééééééééé"),
            format!("{}…", "é".repeat(24))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cursor_already_used_is_not_fetched_ahead() {
        // Page c3 points back to c2, and says so early: the fetch-ahead must not ask for it
        // (the loop is caught once the page is parsed, and the window restarts without it).
        let source = Arc::new(Scripted {
            pages: HashMap::from([
                (None, page(&[("e5", NOW - 5)], Some("c2"))),
                (Some("c2".into()), page(&[("e4", NOW - 10)], Some("c3"))),
                (Some("c3".into()), page(&[("e3", NOW - 20)], Some("c2"))),
            ]),
            announce: HashMap::from([
                (None, "c2".to_owned()),
                (Some("c2".into()), "c3".to_owned()),
                (Some("c3".into()), "c2".to_owned()),
            ]),
            requests: Mutex::default(),
        });
        let (outcome, _) = pass(source.clone(), NOW, SyncState::default()).await;
        let error = outcome.unwrap_err();
        assert!(error.to_string().contains("made no progress"), "{error}");
        let requests = source.requests.lock().unwrap().clone();
        let one_sequence = [None, Some("c2".to_owned()), Some("c3".to_owned())];
        let expected: Vec<_> = one_sequence
            .iter()
            .cycle()
            .take(3 * (MAX_CURSOR_RESTARTS as usize + 1))
            .cloned()
            .collect();
        assert_eq!(
            requests, expected,
            "c2 asked for only when paging reached it"
        );
    }
}
