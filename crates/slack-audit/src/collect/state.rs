//! What a run leaves behind: the [`SyncState`] saved with every page delivered (the start
//! point, the watermark, the ids kept for late arrivals, the open [`Window`] and its position,
//! how far collection is checked, the query it was collected for), and what is asked of one
//! loaded before anything is read.
//!
//! # Why apart from the engine
//!
//! The state outlives every run: [`crate::collect::engine`] writes it, but the host stores it,
//! `slack-audit status` describes it ([`crate::state_report`]), the metrics and the progress
//! report read its position, and the fuzzer feeds it arbitrary files. None of them needs the
//! engine, so none of them imports it. This module needs nothing of the engine's machinery
//! (sources, pages, the output) either: only the query it remembers and how times are written.
//!
//! # A loaded state, before the first page
//!
//! - [`SyncState::check`] refuses what no build ever wrote (a window's bounds reversed, ids at
//!   no position, times before the audit log began): the host refuses the file and says why.
//! - [`SyncState::repair`] mends what older builds did write (times in the future, a position
//!   outside its window) and says what it did: refusing those would stop collection for a state
//!   nobody edited.
//! - [`SyncState::adopt_query`] holds the settings' filters and format against the ones the
//!   state was collected with (see [`crate::query`]): a wider query would silently skip what the
//!   old one did not match.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use connector_sdk::contract::error::InputError;
use serde::{Deserialize, Serialize};

use crate::clock::format_time;
use crate::query::{Query, QueryChange};
use crate::settings::AUDIT_LOG_EPOCH;

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
    /// The filters and record format (with its OCSF version) the state was collected with (see
    /// [`crate::query`]).
    /// Absent in states of older builds: the first run adopts its own settings, with a notice.
    #[serde(default)]
    pub query: Option<Query>,
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

impl Window {
    /// How far back the window has been read: `upper`, or the window's end while nothing of it
    /// is (pages go newest first).
    pub fn position(&self) -> i64 {
        self.upper.unwrap_or(self.latest)
    }

    /// The share of the window read, from 0 to 1: how far [`Window::position`] has come down
    /// from `latest` towards `oldest`. The one computation behind the progress report, `status`
    /// and the `window_progress_ratio` gauge.
    pub fn progress_ratio(&self) -> f64 {
        progress_ratio(self.oldest, self.latest, self.position())
    }
}

/// [`Window::progress_ratio`] of the window `[oldest, latest]` read back to `position`, for
/// whoever keeps only those three numbers (the metrics, until a scrape asks). A position
/// outside the window counts as its nearest end; a window of one second is not started (no
/// page tells how far into its one second it got).
pub fn progress_ratio(oldest: i64, latest: i64, position: i64) -> f64 {
    if latest > oldest {
        ((latest as f64 - position as f64) / (latest as f64 - oldest as f64)).clamp(0.0, 1.0)
    } else {
        0.0
    }
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

    /// Checks the query the state was collected for against `current` (the settings') before
    /// anything is read, and makes `current` the state's query: the same or a narrower query
    /// continues (a narrower one says so); a wider one, another record format or another OCSF
    /// version is refused, unless `accept_change`, which logs the gap it accepts. A state
    /// without a query (an older build's) adopts `current` with a notice.
    pub fn adopt_query(&mut self, current: Query, accept_change: bool) -> Result<(), InputError> {
        let Some(saved) = self.query.as_ref() else {
            if self.floor.is_some() || self.watermark.is_some() || self.window.is_some() {
                tracing::info!(
                    message = "The state file does not say which filters and record format it was collected with (an older version wrote it); assuming the current settings and remembering them from now on.",
                );
            }
            self.query = Some(current);
            return Ok(());
        };
        let change = crate::query::compare(saved, &current);
        // What the old query has read: from the start point to the newest point a window with it
        // reached (the end of an open window, else the end of the last complete one).
        let from = self
            .floor
            .map_or_else(|| "the start point".to_owned(), format_time);
        let read_to = self
            .window
            .as_ref()
            .map(|w| w.latest)
            .or(self.checked_through)
            .or(self.watermark);
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
        self.query = Some(current);
        Ok(())
    }

    /// Remembers `id`, delivered, at `date` (the engine keeps only the late-arrival window).
    pub(super) fn remember(&mut self, date: i64, id: &str) {
        let ids = Arc::make_mut(&mut self.recent).entry(date).or_default();
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    //! Checks and repairs of loaded states, and the window's progress.

    use super::*;

    const NOW: i64 = 1_700_000_000;

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

    #[test]
    fn a_state_at_now_is_not_in_the_future() {
        // Everything dated exactly now: a state the previous second wrote, nothing to repair.
        let at_now = SyncState {
            floor: Some(NOW),
            watermark: Some(NOW),
            checked_through: Some(NOW),
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

    /// The ratio the progress report, `status` and the gauge show: a one-second window (opened
    /// in the second the last one closed) is not started, whatever its position; a position
    /// outside the window counts as its nearest end.
    #[test]
    fn the_progress_of_a_window_is_how_far_its_position_came_down() {
        let window = |oldest, latest, upper| Window {
            oldest,
            latest,
            upper,
            upper_ids: Vec::new(),
            newest: None,
        };
        assert_eq!(window(NOW - 100, NOW, None).progress_ratio(), 0.0);
        assert_eq!(
            window(NOW - 100, NOW, Some(NOW - 25)).progress_ratio(),
            0.25
        );
        assert_eq!(
            window(NOW - 100, NOW, Some(NOW - 100)).progress_ratio(),
            1.0
        );
        assert_eq!(
            window(NOW - 100, NOW, Some(NOW - 500)).progress_ratio(),
            1.0
        );
        assert_eq!(window(NOW - 100, NOW, Some(NOW + 50)).progress_ratio(), 0.0);
        assert_eq!(window(NOW, NOW, None).progress_ratio(), 0.0);
        assert_eq!(window(NOW, NOW, Some(NOW)).progress_ratio(), 0.0);
        assert_eq!(window(NOW - 100, NOW, Some(NOW - 40)).position(), NOW - 40);
        assert_eq!(window(NOW - 100, NOW, None).position(), NOW);
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
