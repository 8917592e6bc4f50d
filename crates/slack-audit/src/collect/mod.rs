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
//!
//! # The parts
//!
//! The arrows point one way: the engine uses the state and reports through the observer; the
//! metrics, the progress report and `slack-audit status` read the state and the observer's
//! values, never the engine.
//!
//! - [`state`]: the state (the window, its position, the watermark, the ids kept for late
//!   arrivals, the query it was collected for) and what a loaded one must pass (`check`,
//!   `repair`, `adopt_query`), and how far a window is read (`Window::progress_ratio`).
//! - [`engine`]: [`engine::SyncEngine`], one pass of windows and pages: dedupe, the position's
//!   moves, late events, cursor restarts, the catch-up.
//! - [`observe`]: [`observe::SyncObserver`], how the engine reports what it does (pages and their
//!   counts, cursor restarts, the position of every checkpoint handed over, a pass caught up),
//!   and the values it reports with ([`observe::PassStats`]).

pub mod engine;
pub mod observe;
pub mod state;
