//! How the sync engine reports what it does, without knowing who listens.
//!
//! # Why
//!
//! Two things watch a pass: the metrics (pages, skips, cursor restarts, the position of every
//! checkpoint handed over) and the progress report on stderr (how far back a long backfill has
//! come, and how long it has left). When the engine called them by name, each imported the
//! engine's types back to read a page's counts or a position: two circles. Now the engine
//! reports through [`SyncObserver`], defined here with the values it passes ([`PassStats`],
//! [`CursorRestart`]); the listeners implement it and depend on this module and on the state,
//! never on the engine. The input picks a pass's listeners (the metrics and a progress report,
//! as a pair); the engine's own tests listen with `()`.

use crate::collect::state::{SyncState, Window};

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
    /// Entries read and handled (the checkpoint moved past them) but not emitted: the action
    /// filter applied on our side left them out.
    pub filtered: u64,
}

/// Why a window resumes from its checkpoint without a cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorRestart {
    /// Slack refused the page cursor (`invalid_cursor`).
    Refused,
    /// Slack answered with a cursor already used in the window: paging on would loop.
    Loop,
}

/// What a pass of the engine reports, as it happens. Every method does nothing by default: a
/// listener implements what it needs. Called on the pass's task, between pages: a listener
/// does its work in place and quickly (atomics, a progress bar), never waits.
pub trait SyncObserver: Send {
    /// The position `state` describes: the state loaded, when a pass starts (after its repairs
    /// and its start point), then every checkpoint as it is handed over.
    fn position(&mut self, state: &SyncState) {
        let _ = state;
    }

    /// A page was handled in `window` (its position is where the page left it): the pass's
    /// counts went from `before` to `after`.
    fn page(&mut self, before: &PassStats, after: &PassStats, window: &Window) {
        let _ = (before, after, window);
    }

    /// The window resumes from its checkpoint without a cursor, because of `reason` (counted
    /// before the restart is tried: also when the restarts are exhausted and the pass fails).
    fn cursor_restart(&mut self, reason: CursorRestart) {
        let _ = reason;
    }

    /// The pass caught up with now and the output has everything it emitted; `stats` are its
    /// counts. Not called for a pass that failed or was stopped.
    fn caught_up(&mut self, stats: &PassStats) {
        let _ = stats;
    }
}

/// Nobody listens.
impl SyncObserver for () {}

/// Both listen, `A` first.
impl<A: SyncObserver, B: SyncObserver> SyncObserver for (A, B) {
    fn position(&mut self, state: &SyncState) {
        self.0.position(state);
        self.1.position(state);
    }

    fn page(&mut self, before: &PassStats, after: &PassStats, window: &Window) {
        self.0.page(before, after, window);
        self.1.page(before, after, window);
    }

    fn cursor_restart(&mut self, reason: CursorRestart) {
        self.0.cursor_restart(reason);
        self.1.cursor_restart(reason);
    }

    fn caught_up(&mut self, stats: &PassStats) {
        self.0.caught_up(stats);
        self.1.caught_up(stats);
    }
}
