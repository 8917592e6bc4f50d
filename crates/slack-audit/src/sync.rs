//! The incremental sync: exactly once on the normal path, at most the in-flight batch again
//! after a kill, late events caught, never a persisted cursor.
//!
//! # The problem
//!
//! Slack returns a window `[oldest, latest]` (inclusive, whole seconds) **newest first**, paged
//! by a cursor that remembers only a position, expires, and does not remember `oldest`.
//!
//! # The design
//!
//! A run opens a *window*: `oldest = max(floor, watermark - lookback)` (the first window starts
//! at `floor`), `latest = now`, both frozen and saved before any page is read. It pages
//! backwards, sending `oldest`, `latest` and every filter again on every page. After each page
//! the checkpoint records `upper`, the oldest `date_create` handled so far, and `upper_ids`, the
//! ids handled at exactly that second. Because pages go strictly backwards, everything newer
//! than `upper` in the window is delivered once `upper` is saved, so a restart (after a kill, or
//! a refused cursor) re-queries `[oldest, upper]` without a cursor and skips `upper_ids`: the
//! split second is neither lost nor repeated. When the cursor ends, the watermark moves to the
//! newest event of the window and the window is closed.
//!
//! `recent` keeps the ids delivered within `lookback` seconds of the newest delivered event, by
//! `date_create` (never by wall-clock time), so the next window can look `lookback` seconds
//! behind the watermark for late-indexed events without repeating any. A year-long backfill
//! does not grow it: only ids inside the lookback of the window's newest event are kept.
//!
//! Invariants:
//! - `oldest` never goes below `floor` (a first run without backfill emits no history).
//! - The watermark moves only when a window's last page is handled.
//! - No checkpoint describes records that were not emitted in the same batch or before it.
//! - A 200 `{"ok": false}` is an error, never an empty page (see [`crate::page`]).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use connector_sdk::{Batch, InputError, ReadContext, RecordBuf};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::metrics::SlackMetrics;
use crate::page::Page;
use crate::progress::{Progress, format_time};
use crate::query::{QueryChange, SavedQuery};
use crate::settings::{AUDIT_LOG_EPOCH, StartPoint};
use crate::source::ahead::PageFetch;
use crate::source::{FetchError, LogsQuery, PageSource};

/// A window whose last `latest` is further behind now than this is followed by another window
/// in the same pass (a long backfill catches up on what arrived meanwhile).
const CATCH_UP_SECONDS: i64 = 60;
/// Restarts from the checkpoint (after a refused or looping cursor) tolerated without the
/// position moving before the run fails.
const MAX_CURSOR_RESTARTS: u32 = 5;

/// The input's state (version 1), saved after every delivered page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncState {
    /// The start point in unix seconds, fixed by the first run; nothing older is ever read.
    #[serde(default)]
    pub floor: Option<i64>,
    /// The newest `date_create` delivered by a completed window.
    #[serde(default)]
    pub watermark: Option<i64>,
    /// Ids delivered, by `date_create`, within the late-arrival window of the newest delivered.
    /// Shared copy-on-write: a checkpoint travels with every batch, and during a long backfill
    /// this set rarely changes, so cloning the state must not copy it.
    #[serde(default)]
    pub recent: Arc<BTreeMap<i64, Vec<String>>>,
    /// The window being read, while one is open.
    #[serde(default)]
    pub window: Option<Window>,
    /// The end (`latest`) of the last window read completely: every event dated up to it that
    /// Slack had indexed when that window was read has been delivered. How far behind
    /// collection is, whether or not anything happened since (the watermark is the newest
    /// *event*, which stands still on a quiet night). Absent in states of older builds until
    /// their next window completes.
    #[serde(default)]
    pub checked_through: Option<i64>,
    /// The filters and record format the state was collected with (see [`crate::query`]).
    /// Absent in states of older builds: the first run adopts its own settings, with a notice.
    #[serde(default)]
    pub query: Option<SavedQuery>,
}

/// A window in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Unix seconds, inclusive.
    pub oldest: i64,
    /// Unix seconds, inclusive; the window's `now` when it opened.
    pub latest: i64,
    /// The oldest `date_create` handled so far (pages go backwards).
    #[serde(default)]
    pub upper: Option<i64>,
    /// Ids handled at exactly `upper`.
    #[serde(default)]
    pub upper_ids: Vec<String>,
    /// The newest `date_create` delivered in this window.
    #[serde(default)]
    pub newest: Option<i64>,
}

impl SyncState {
    /// What every build of the engine guarantees of the states it writes, checked on a loaded
    /// one: a window's bounds in order, ids at a position only with a position. (Dates in the
    /// future, or a position outside its window, are what an older build let stray entries
    /// write: [`SyncState::repair`] mends those, they are not refused.)
    ///
    /// Every time it holds is at or after [`AUDIT_LOG_EPOCH`] (nothing older can be asked of
    /// Slack, so no run wrote one; a hand-edited `-9223372036854775808` would overflow the
    /// arithmetic where stored values meet the clock), and a window starts at or after the start
    /// point. Times in the future are mended by [`SyncState::repair`] when a run starts.
    pub fn check(&self) -> Result<(), String> {
        let before_epoch = |what: &str, t: i64| {
            format!(
                "its {what} {t} is before {} ({AUDIT_LOG_EPOCH}), when Slack's audit log begins",
                format_time(AUDIT_LOG_EPOCH)
            )
        };
        let mut times: Vec<(&str, i64)> = Vec::new();
        times.extend(self.floor.map(|t| ("start point", t)));
        times.extend(self.watermark.map(|t| ("watermark", t)));
        times.extend(self.checked_through.map(|t| ("checked-through time", t)));
        times.extend(
            self.recent
                .keys()
                .next()
                .map(|t| ("oldest remembered id's date", *t)),
        );
        if let Some(w) = &self.window {
            times.push(("window start", w.oldest));
            times.push(("window end", w.latest));
            times.extend(w.upper.map(|t| ("window position", t)));
            times.extend(w.newest.map(|t| ("window's newest event", t)));
        }
        if let Some((what, t)) = times.into_iter().find(|(_, t)| *t < AUDIT_LOG_EPOCH) {
            return Err(before_epoch(what, t));
        }
        let Some(w) = &self.window else {
            return Ok(());
        };
        if let Some(floor) = self.floor
            && w.oldest < floor
        {
            return Err(format!(
                "the open window's start {} is before the start point {}",
                w.oldest, floor
            ));
        }
        if w.oldest > w.latest {
            return Err(format!(
                "the open window's start {} is after its end {}",
                w.oldest, w.latest
            ));
        }
        if w.upper.is_none() && !w.upper_ids.is_empty() {
            return Err(format!(
                "the open window holds {} ids at its position but no position",
                w.upper_ids.len()
            ));
        }
        Ok(())
    }

    /// Brings back to `now` whatever of the state lies in the future, and into its window a
    /// position that left it, and says what it did.
    ///
    /// Only an older build (which let an entry dated outside the window move the checkpoint)
    /// or a hand-edited file writes such a state. Trusting a future watermark would open empty
    /// windows until that future came: collection stopped, silently; trusting a position below
    /// its window would skip the rest of it. Each repair is described for the log.
    pub fn repair(&mut self, now: i64) -> Vec<String> {
        let mut repairs = Vec::new();
        if let Some(floor) = self.floor.filter(|f| *f > now) {
            self.floor = Some(now);
            repairs.push(format!(
                "the start point {} was in the future; it is now {}",
                format_time(floor),
                format_time(now)
            ));
        }
        if let Some(watermark) = self.watermark.filter(|w| *w > now) {
            self.watermark = Some(now);
            repairs.push(format!(
                "the watermark {} was in the future (an entry dated in the future moved it, in an older build); it is now {}. Events older than the late-arrival window before now that arrived since the state stopped moving may not have been collected: to collect them, run once with a new state file and settings.backfill_start_time set to when collection stopped",
                format_time(watermark),
                format_time(now)
            ));
        }
        if let Some(checked) = self.checked_through.filter(|c| *c > now) {
            self.checked_through = Some(now);
            repairs.push(format!(
                "the end of the last complete window {} was in the future; it is now {}",
                format_time(checked),
                format_time(now)
            ));
        }
        if let Some(window) = self.window.as_mut() {
            if window.oldest > now {
                repairs.push(format!(
                    "the open window starting {} was in the future; it was dropped",
                    format_time(window.oldest)
                ));
                self.window = None;
                return repairs;
            }
            if window.latest > now {
                repairs.push(format!(
                    "the open window's end {} was in the future; it is now {}",
                    format_time(window.latest),
                    format_time(now)
                ));
                window.latest = now;
            }
            let (oldest, latest) = (window.oldest, window.latest);
            if let Some(upper) = window.upper.filter(|u| !(oldest..=latest).contains(u)) {
                // The position came from an entry outside the window, so nothing tells how far
                // the window's real entries were read: read it again from its end. Ids kept in
                // `recent` are not repeated; older ones of this window may be.
                repairs.push(format!(
                    "the window's position {} was outside the window [{}, {}]; the window is read again from its end (some of its events may be delivered again)",
                    format_time(upper),
                    format_time(oldest),
                    format_time(latest)
                ));
                window.upper = None;
                window.upper_ids.clear();
            }
            if let Some(newest) = window.newest.filter(|n| !(oldest..=latest).contains(n)) {
                // Past the window's end (an entry from the future): its end. Before its start:
                // unset. (A match, not `newest > latest`: outside the window `>` and `>=` agree,
                // and a mutation test could not tell them apart.)
                let mended = match newest.cmp(&latest) {
                    Ordering::Greater => Some(latest),
                    Ordering::Less | Ordering::Equal => None,
                };
                repairs.push(format!(
                    "the window's newest event {} was outside the window; it is now {}",
                    format_time(newest),
                    mended.map_or_else(|| "unset".to_owned(), format_time)
                ));
                window.newest = mended;
            }
        }
        repairs
    }

    fn remember(&mut self, date: i64, id: &str) {
        let ids = Arc::make_mut(&mut self.recent).entry(date).or_default();
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
}

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
    /// Comma-separated actions, if filtered.
    pub action: Option<String>,
    /// Actor filter.
    pub actor: Option<String>,
    /// Entity filter.
    pub entity: Option<String>,
    /// How entries become records (Slack's bytes, or OCSF events); never read by the sync.
    pub format: crate::ocsf::Formatter,
}

impl SyncPlan {
    /// The query this plan reads, as the state remembers it.
    pub fn saved_query(&self) -> SavedQuery {
        let actions: Vec<String> = self
            .action
            .as_deref()
            .map(|a| a.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        let format = match self.format {
            crate::ocsf::Formatter::Slack => crate::settings::RecordFormat::Slack,
            crate::ocsf::Formatter::Ocsf { .. } => crate::settings::RecordFormat::Ocsf,
        };
        SavedQuery::new(
            &actions,
            self.actor.as_deref(),
            self.entity.as_deref(),
            format,
        )
    }

    /// Checks the state's query against this plan's before anything is read, and makes the
    /// state's query this plan's: the same or a narrower query continues (a narrower one says
    /// so); a wider one or another record format is refused, unless `accept_change`, which
    /// logs the gap it accepts. A state without a query (an older build's) adopts this one
    /// with a notice.
    pub fn adopt_query(
        &self,
        state: &mut SyncState,
        accept_change: bool,
    ) -> Result<(), InputError> {
        let current = self.saved_query();
        let Some(saved) = state.query.as_ref() else {
            if state.floor.is_some() || state.watermark.is_some() || state.window.is_some() {
                tracing::info!(
                    message = "The state file does not say which filters and record format it was collected with (an older version wrote it); assuming the current settings and remembering them from now on.",
                );
            }
            state.query = Some(current);
            return Ok(());
        };
        let change = crate::query::compare(saved, &current);
        // What the old query has read: from the start point to the newest point a window with it
        // reached (the end of an open window, else the end of the last complete one).
        let from = state
            .floor
            .map_or_else(|| "the start point".to_owned(), format_time);
        let read_to = state
            .window
            .as_ref()
            .map(|w| w.latest)
            .or(state.checked_through)
            .or(state.watermark);
        let through = read_to.map_or_else(|| "now".to_owned(), format_time);
        match &change {
            QueryChange::Same => {}
            QueryChange::Narrower(narrowed) => {
                tracing::info!(
                    message = "The settings narrow the state's query: continuing, nothing is skipped (everything the narrower query matches was collected).",
                    changes = %narrowed.join("; "),
                );
            }
            QueryChange::Wider { .. } => {
                let explanation = change
                    .refusal(&from, &through)
                    .unwrap_or_else(|| "the settings changed".to_owned());
                if read_to.is_none() {
                    // Nothing was read with the old query yet: nothing is skipped.
                    tracing::info!(
                        message = "The settings changed before anything was read; using them."
                    );
                } else if accept_change {
                    tracing::warn!(
                        message = "Continuing with settings the state was not collected with (--accept-settings-change): the gap is accepted.",
                        gap = %explanation,
                    );
                } else {
                    return Err(InputError::config(explanation));
                }
            }
        }
        state.query = Some(current);
        Ok(())
    }
}

/// Counts of one pass, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassStats {
    /// Records emitted.
    pub delivered: u64,
    /// Entries skipped because they were already delivered.
    pub duplicates: u64,
    /// Entries without an `id` or `date_create`, delivered as they were.
    pub unkeyed: u64,
    /// Entries dated outside their window, delivered as they were.
    pub out_of_window: u64,
    /// Pages fetched.
    pub pages: u64,
}

/// Runs passes of the sync against a source.
pub struct SyncEngine<'a> {
    /// Where pages come from (shared with the tasks that fetch pages ahead).
    pub source: Arc<dyn PageSource>,
    /// What time it is.
    pub clock: &'a dyn Clock,
    /// What to read.
    pub plan: &'a SyncPlan,
    /// Where pages, skips and the position are counted.
    pub metrics: &'a SlackMetrics,
}

enum Flow {
    Continue,
    Stopped,
}

impl SyncEngine<'_> {
    /// One pass: read until caught up with now, emitting a batch per page.
    pub async fn run(
        &self,
        mut state: SyncState,
        cx: &ReadContext<SyncState>,
    ) -> Result<PassStats, InputError> {
        let mut stats = PassStats::default();
        let mut progress = Progress::new();
        for repair in state.repair(self.clock.now()) {
            tracing::warn!(message = "Repaired the state: it lay in the future.", %repair);
        }
        self.plan
            .adopt_query(&mut state, cx.accepts_settings_change())?;
        let floor = *state
            .floor
            .get_or_insert_with(|| self.plan.start.resolve(self.clock.now()));
        self.metrics.position(&state);
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
                .run_window(&mut state, cx, &mut stats, &mut progress)
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
            progress.finish(&stats);
        }
        Ok(stats)
    }

    fn query(&self, oldest: i64, latest: i64) -> LogsQuery {
        LogsQuery {
            oldest,
            latest,
            limit: self.plan.limit,
            action: self.plan.action.clone(),
            actor: self.plan.actor.clone(),
            entity: self.plan.entity.clone(),
        }
    }

    async fn emit(
        &self,
        cx: &ReadContext<SyncState>,
        records: RecordBuf,
        state: &SyncState,
    ) -> Flow {
        self.metrics.position(state);
        let batch = Batch {
            records,
            checkpoint: state.clone(),
        };
        match cx.emit(batch).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stopped,
        }
    }

    /// De-duplicates one page into records and moves the window position past it.
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
        progress: &mut Progress,
        cx: &ReadContext<SyncState>,
    ) -> RecordBuf {
        // The body's size is room enough for its entries one per line (a page's framing and
        // the commas between entries are longer than the newlines that replace them).
        let mut records = cx.record_buf(page.body_len());
        let mut out = self.plan.format.page();
        let Some(window) = state.window.as_mut() else {
            return records;
        };
        let mut page_min: Option<i64> = None;
        let mut stray = Stray::default();
        let mut delivered: Vec<(i64, &str)> = Vec::with_capacity(page.entries().len());
        for entry in page.entries() {
            let (Some(id), Some(date)) = (page.id(entry), entry.date_create) else {
                stats.unkeyed += 1;
                tracing::warn!(
                    message = "Entry without a string `id` or an integer `date_create`: delivered as it is, but it cannot be de-duplicated.",
                    bytes = page.raw(entry).len(),
                );
                out.push(&mut records, page.raw(entry));
                continue;
            };
            if date < window.oldest || date > window.latest {
                stray.add(date);
                out.push(&mut records, page.raw(entry));
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
            out.push(&mut records, page.raw(entry));
            delivered.push((date, id));
        }
        stats.delivered += delivered.len() as u64;
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
        let page_max = delivered.iter().map(|(d, _)| *d).max();
        if let Some(max) = page_max {
            window.newest = Some(window.newest.map_or(max, |n| n.max(max)));
        }
        let keep_from = window
            .newest
            .map_or(i64::MAX, |n| n.saturating_sub(self.plan.lookback));
        let (oldest, latest, upper) = (window.oldest, window.latest, window.upper);
        for (date, id) in delivered {
            if date >= keep_from {
                state.remember(date, id);
            }
        }
        progress.page(stats, oldest, latest, upper);
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
        progress: &mut Progress,
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
                    self.metrics.cursor_restart("invalid_cursor");
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
            let records = self.absorb(&page, state, stats, progress, cx);
            self.metrics.page(&before, stats);
            self.source.recycle(page);
            if let Flow::Stopped = self.emit(cx, records, state).await {
                return Ok(Flow::Stopped);
            }
            paging.handled(state.window.as_ref().and_then(|w| w.upper));
            let Some(next) = next else { break };
            if !paging.first_use(&next) {
                let reason = format!(
                    "Slack answered with a cursor already used in this window ({}): paging on would loop",
                    short(&next)
                );
                self.metrics.cursor_restart("loop");
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
        Ok(self.emit(cx, RecordBuf::default(), state).await)
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
    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::clock::FixedClock;
    use crate::source::CursorHint;

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
        async fn fetch(&self, query: &LogsQuery, cursor: Option<&str>) -> Result<Page, FetchError> {
            let (hint, _rx) = CursorHint::channel();
            self.fetch_announcing(query, cursor, &hint).await
        }

        async fn fetch_announcing(
            &self,
            _query: &LogsQuery,
            cursor: Option<&str>,
            hint: &CursorHint,
        ) -> Result<Page, FetchError> {
            let key = cursor.map(str::to_owned);
            self.requests.lock().unwrap().push(key.clone());
            let Some((entries, next)) = self.pages.get(&key) else {
                return Err(FetchError::InvalidCursor);
            };
            if let Some(early) = self.announce.get(&key) {
                hint.offer(early);
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

        async fn probe(&self) -> Result<String, FetchError> {
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

    #[test]
    fn a_state_in_the_future_is_brought_back_to_now() {
        let mut state = SyncState {
            floor: Some(NOW - 100),
            watermark: Some(NOW + 1000),
            recent: Arc::default(),
            window: Some(Window {
                oldest: NOW - 700,
                latest: NOW + 2000,
                upper: Some(NOW + 1500),
                upper_ids: vec!["f".into()],
                newest: Some(NOW + 1900),
            }),
            ..SyncState::default()
        };
        let repairs = state.repair(NOW);
        assert_eq!(repairs.len(), 4, "{repairs:?}");
        assert_eq!(state.watermark, Some(NOW));
        assert_eq!(
            state.window,
            Some(Window {
                oldest: NOW - 700,
                latest: NOW,
                upper: None,
                upper_ids: Vec::new(),
                newest: Some(NOW),
            })
        );
        assert!(
            state.repair(NOW).is_empty(),
            "a repaired state is left alone"
        );

        let mut opened_in_the_future = SyncState {
            window: Some(Window {
                oldest: NOW + 10,
                latest: NOW + 20,
                upper: None,
                upper_ids: Vec::new(),
                newest: None,
            }),
            ..SyncState::default()
        };
        assert_eq!(opened_in_the_future.repair(NOW).len(), 1);
        assert_eq!(opened_in_the_future.window, None);

        // A position below its window (a stray from the past, in an older build).
        let mut below = SyncState {
            window: Some(Window {
                oldest: NOW - 700,
                latest: NOW - 10,
                upper: Some(1_000),
                upper_ids: vec!["ancient".into()],
                newest: Some(1_000),
            }),
            ..SyncState::default()
        };
        assert_eq!(below.repair(NOW).len(), 2);
        let w = below.window.unwrap();
        assert_eq!((w.upper, w.upper_ids.len(), w.newest), (None, 0, None));
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
        async fn fetch(&self, query: &LogsQuery, cursor: Option<&str>) -> Result<Page, FetchError> {
            self.clock.set(self.to);
            self.inner.fetch(query, cursor).await
        }

        async fn fetch_announcing(
            &self,
            query: &LogsQuery,
            cursor: Option<&str>,
            hint: &CursorHint,
        ) -> Result<Page, FetchError> {
            self.clock.set(self.to);
            self.inner.fetch_announcing(query, cursor, hint).await
        }

        async fn probe(&self) -> Result<String, FetchError> {
            self.inner.probe().await
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
        let plan = SyncPlan {
            start: StartPoint::Ago(3600),
            lookback: 600,
            limit: 10,
            action: None,
            actor: None,
            entity: None,
            format: crate::ocsf::Formatter::Slack,
        };
        let engine = SyncEngine {
            source,
            clock,
            plan: &plan,
            metrics: &SlackMetrics::default(),
        };
        let (tx, mut rx) = mpsc::channel(1024);
        let cx = ReadContext::new(tx, CancellationToken::new());
        let outcome = engine.run(state, &cx).await;
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
    fn a_state_at_now_is_not_in_the_future() {
        // Everything dated exactly now: a state the previous second wrote, nothing to repair.
        let at_now = SyncState {
            floor: Some(NOW),
            watermark: Some(NOW),
            recent: Arc::default(),
            window: Some(Window {
                oldest: NOW,
                latest: NOW,
                upper: Some(NOW),
                upper_ids: vec!["a".into()],
                newest: Some(NOW),
            }),
            ..SyncState::default()
        };
        let mut repaired = at_now.clone();
        assert_eq!(repaired.repair(NOW), Vec::<String>::new());
        assert_eq!(repaired, at_now);

        let mut floor_ahead = SyncState {
            floor: Some(NOW + 60),
            ..SyncState::default()
        };
        let repairs = floor_ahead.repair(NOW);
        assert_eq!(floor_ahead.floor, Some(NOW), "{repairs:?}");
        assert_eq!(repairs.len(), 1);
        assert!(repairs[0].contains("start point"), "{repairs:?}");
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

    #[test]
    fn impossible_states_are_refused() {
        let window = |oldest, latest, upper: Option<i64>, ids: &[&str]| SyncState {
            window: Some(Window {
                oldest,
                latest,
                upper,
                upper_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
                newest: None,
            }),
            ..SyncState::default()
        };
        assert!(window(NOW - 10, NOW, Some(NOW - 5), &["a"]).check().is_ok());
        assert!(window(NOW - 10, NOW, None, &[]).check().is_ok());
        // A window of one second: opened in the second the last one closed.
        assert!(window(NOW, NOW, Some(NOW), &["a"]).check().is_ok());
        let reversed = window(NOW, NOW - 10, None, &[]).check().unwrap_err();
        assert!(reversed.contains("after its end"), "{reversed}");
        let orphans = window(NOW - 10, NOW, None, &["a"]).check().unwrap_err();
        assert!(orphans.contains("no position"), "{orphans}");
    }

    /// No run writes a time before the audit log's first day (the start point is clamped to it)
    /// or a window starting before the start point; a hand-edited one (down to `i64::MIN`,
    /// which overflows wherever it meets the clock) is refused, naming the field.
    #[test]
    fn times_before_the_audit_log_or_a_window_before_the_start_point_are_refused() {
        use crate::settings::AUDIT_LOG_EPOCH;
        let at_epoch = SyncState {
            floor: Some(AUDIT_LOG_EPOCH),
            watermark: Some(AUDIT_LOG_EPOCH),
            ..SyncState::default()
        };
        assert!(at_epoch.check().is_ok());
        let window = |oldest: i64, latest: i64, upper, newest| Window {
            oldest,
            latest,
            upper,
            upper_ids: Vec::new(),
            newest,
        };
        for (state, field) in [
            (
                SyncState {
                    floor: Some(i64::MIN),
                    ..SyncState::default()
                },
                "start point",
            ),
            (
                SyncState {
                    watermark: Some(AUDIT_LOG_EPOCH - 1),
                    ..SyncState::default()
                },
                "watermark",
            ),
            (
                SyncState {
                    recent: Arc::new(BTreeMap::from([(i64::MIN, vec!["a".to_owned()])])),
                    ..SyncState::default()
                },
                "remembered",
            ),
            (
                SyncState {
                    window: Some(window(i64::MIN, NOW, None, None)),
                    ..SyncState::default()
                },
                "window start",
            ),
            (
                SyncState {
                    window: Some(window(NOW - 10, NOW, Some(0), None)),
                    ..SyncState::default()
                },
                "window position",
            ),
            (
                SyncState {
                    window: Some(window(NOW - 10, NOW, None, Some(-1))),
                    ..SyncState::default()
                },
                "newest event",
            ),
            (
                SyncState {
                    floor: Some(NOW - 5),
                    window: Some(window(NOW - 10, NOW, None, None)),
                    ..SyncState::default()
                },
                "before the start point",
            ),
        ] {
            let error = state.check().unwrap_err();
            assert!(error.contains(field), "{field:?} not in {error}");
        }
    }
}
