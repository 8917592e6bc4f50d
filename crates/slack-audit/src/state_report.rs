//! What a saved [`SyncState`] says, for `slack-audit status`: where collection starts, what is
//! complete, how far behind it is, the window in progress and how far it got, and the ids kept
//! for late arrivals.
//!
//! "Checked through" is the end of the last window read completely: every event dated up to it
//! that Slack had indexed then has been delivered (events indexed late within the look-back are
//! still caught). That is how far behind collection is; the watermark (the newest event
//! collected) only says how old the newest event is, which grows on a quiet night while
//! collection is up to date. Before a window completes, during a first backfill, nothing is complete past the start point: the window in
//! progress is read newest first, so what it holds between its position and its end is
//! delivered, and the rest is not yet.

use connector_sdk::contract::input::StateDescription;
use serde_json::{Value, json};

use crate::clock::format_time;
use crate::collect::state::SyncState;
use crate::query::Query;

/// Describes `state` as of `now` (unix seconds).
///
/// A state the next read would repair (times in the future, a position outside its window:
/// [`SyncState::repair`]) says so first, with each repair the read will make, and its future
/// times read "in the future", never as a negative age.
pub fn describe(state: &SyncState, now: i64) -> StateDescription {
    let facts = Facts::of(state, now);
    StateDescription {
        lines: facts.lines(),
        json: facts.json(),
    }
}

/// What a state says, gathered once and rendered both ways: as labelled lines for people
/// ([`Facts::lines`]) and as JSON for scripts ([`Facts::json`]).
struct Facts<'a> {
    now: i64,
    /// The repairs the next read makes ([`SyncState::repair`]).
    repairs: Vec<String>,
    /// The start point.
    floor: Option<i64>,
    /// The end of the last window read completely.
    checked_through: Option<i64>,
    /// The newest event collected.
    watermark: Option<i64>,
    /// How far collection is complete: the end of the last complete window; for a state of an
    /// older build, the newest event (an upper bound); before any window completed, the start
    /// point.
    through: Option<i64>,
    query: Option<&'a Query>,
    window: Option<WindowFacts>,
    late_ids: LateIds,
}

/// The window in progress.
struct WindowFacts {
    oldest: i64,
    latest: i64,
    /// How far back it has been read.
    position: Option<i64>,
    progress_ratio: f64,
    /// Ids delivered at the second of `position`.
    ids_at_position: usize,
    newest_delivered: Option<i64>,
}

/// The ids kept to recognise late arrivals re-read.
struct LateIds {
    count: usize,
    oldest: Option<i64>,
    newest: Option<i64>,
}

impl<'a> Facts<'a> {
    fn of(state: &'a SyncState, now: i64) -> Self {
        Self {
            now,
            repairs: state.clone().repair(now),
            floor: state.floor,
            checked_through: state.checked_through,
            watermark: state.watermark,
            through: state.checked_through.or(state.watermark).or(state.floor),
            query: state.query.as_ref(),
            window: state.window.as_ref().map(|w| WindowFacts {
                oldest: w.oldest,
                latest: w.latest,
                position: w.upper,
                progress_ratio: w.progress_ratio(),
                ids_at_position: w.upper_ids.len(),
                newest_delivered: w.newest,
            }),
            late_ids: LateIds {
                count: state.recent.values().map(Vec::len).sum(),
                oldest: state.recent.keys().next().copied(),
                newest: state.recent.keys().next_back().copied(),
            },
        }
    }

    /// The labelled lines of `slack-audit status`.
    fn lines(&self) -> Vec<(String, String)> {
        let now = self.now;
        let mut lines: Vec<(String, String)> = Vec::new();
        let mut line = |label: &str, value: String| lines.push((label.to_owned(), value));

        if !self.repairs.is_empty() {
            line(
                "needs repair",
                format!("the next read repairs it: {}", self.repairs.join("; ")),
            );
        }

        match self.floor {
            Some(floor) => line(
                "start point",
                format!(
                    "{} ({}); nothing older is read",
                    format_time(floor),
                    ago(now, floor)
                ),
            ),
            None => line(
                "start point",
                "not fixed yet: the first run that reads a page fixes it from the config".into(),
            ),
        }
        match self.checked_through {
            Some(c) => line(
                "checked through",
                format!(
                    "{} ({}): the end of the last window read completely",
                    format_time(c),
                    ago(now, c)
                ),
            ),
            None => line(
                "checked through",
                if self.watermark.is_some() {
                    "not recorded (an older version wrote this state; the next complete window records it)".into()
                } else {
                    "none yet: no window has completed (a first backfill is in progress or was stopped)"
                        .into()
                },
            ),
        }
        match self.watermark {
            Some(w) => line(
                "newest event",
                format!(
                    "{} ({}): the newest event collected (the watermark); on a quiet organization it ages while collection is up to date",
                    format_time(w),
                    if w > now {
                        ago(now, w)
                    } else {
                        format!("{} old", span(now.saturating_sub(w)))
                    }
                ),
            ),
            None => line(
                "newest event",
                "none yet: no window with events has completed".into(),
            ),
        }
        if let Some(t) = self.through {
            line("behind", self.behind(t));
        }
        if let Some(q) = self.query {
            line("collected for", collected_for(q));
        }
        match &self.window {
            Some(w) => {
                let reached = match w.position {
                    Some(u) => format!(
                        "read back to {} ({:.1}% of it, {} id{} at that second)",
                        format_time(u),
                        w.progress_ratio * 100.0,
                        w.ids_at_position,
                        if w.ids_at_position == 1 { "" } else { "s" }
                    ),
                    None => "nothing of it read yet".to_owned(),
                };
                line(
                    "window",
                    format!(
                        "{} to {} in progress: {reached}; the next read resumes there",
                        format_time(w.oldest),
                        format_time(w.latest)
                    ),
                );
            }
            None => line(
                "window",
                "none open: the next read opens one from the watermark (less the late-arrival window) to now".into(),
            ),
        }
        let ids = &self.late_ids;
        line(
            "late-arrival ids",
            match (ids.oldest, ids.newest) {
                (Some(a), Some(b)) => format!(
                    "{} kept to recognise re-read events, dated {} to {}",
                    ids.count,
                    format_time(a),
                    format_time(b)
                ),
                _ => "none kept".into(),
            },
        );
        lines
    }

    /// The "behind" line: how far behind collection is, complete through `t`.
    fn behind(&self, t: i64) -> String {
        let now = self.now;
        if t > now {
            format!(
                "unknown: {} is in the future (the next read repairs it)",
                format_time(t)
            )
        } else if self.checked_through.is_some() {
            format!(
                "{}: everything dated up to {} is collected",
                span(now.saturating_sub(t)),
                format_time(t)
            )
        } else if self.watermark.is_some() {
            format!(
                "at most {}: everything dated up to {} is collected (an older version wrote this state; exact after the next complete window)",
                span(now.saturating_sub(t)),
                format_time(t)
            )
        } else {
            format!(
                "{}: nothing is complete past the start point {} yet",
                span(now.saturating_sub(t)),
                format_time(t)
            )
        }
    }

    /// The JSON of `slack-audit status --json`.
    fn json(&self) -> Value {
        let now = self.now;
        let window = match &self.window {
            Some(w) => json!({
                "oldest": format_time(w.oldest),
                "latest": format_time(w.latest),
                "position": w.position.map(format_time),
                "progress_ratio": w.progress_ratio,
                "ids_at_position": w.ids_at_position,
                "newest_delivered": w.newest_delivered.map(format_time),
            }),
            None => Value::Null,
        };
        json!({
            "now": format_time(now),
            "start_point": self.floor.map(format_time),
            "watermark": self.watermark.map(format_time),
            "newest_event_age_seconds": self.watermark.map(|w| now.saturating_sub(w)),
            "checked_through": self.checked_through.map(format_time),
            "lag_seconds": self.checked_through.or(self.watermark).map(|c| now.saturating_sub(c)),
            "query": self.query,
            "collected_through": self.through.map(format_time),
            "behind_seconds": self.through.map(|t| now.saturating_sub(t)),
            "window": window,
            "repairs_on_next_read": self.repairs,
            "late_arrival_ids": {
                "count": self.late_ids.count,
                "oldest": self.late_ids.oldest.map(format_time),
                "newest": self.late_ids.newest.map(format_time),
            },
        })
    }
}

/// The "collected for" line: the saved query's filters and record format.
fn collected_for(q: &Query) -> String {
    let mut parts = Vec::new();
    if !q.actions.is_empty() {
        parts.push(format!("actions {}", q.actions.join(",")));
    }
    if !q.exclude_actions.is_empty() {
        parts.push(format!("every action but {}", q.exclude_actions.join(",")));
    }
    if let Some(a) = &q.actor {
        parts.push(format!("actor {a}"));
    }
    if let Some(e) = &q.entity {
        parts.push(format!("entity {e}"));
    }
    let format = match q.format.ocsf_version() {
        // 1.8.0 is what a state without a version means: said as older builds said it.
        Some(version) if version != crate::settings::OcsfVersion::default() => {
            format!("{} {version}", q.format.record_format())
        }
        _ => q.format.record_format().to_string(),
    };
    format!(
        "{}; record format {format}",
        if parts.is_empty() {
            "every event".to_owned()
        } else {
            parts.join(", ")
        }
    )
}

/// How long before `now` `t` was (`3m 10s ago`), or how far after (`2d 00h in the future`).
fn ago(now: i64, t: i64) -> String {
    if t > now {
        format!("{} in the future", span(t.saturating_sub(now)))
    } else {
        format!("{} ago", span(now.saturating_sub(t)))
    }
}

/// `seconds` for people: `2d 03h`, `1h 05m`, `4m 10s`, `12s`.
fn span(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let s = seconds.unsigned_abs();
    let text = if s >= 86_400 {
        format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600)
    } else if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::collect::state::Window;

    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    #[test]
    fn a_stopped_first_backfill_says_where_it_stopped_and_how_far_behind() {
        let state = SyncState {
            floor: Some(NOW - 86_400),
            watermark: None,
            recent: Arc::new(BTreeMap::from([(NOW - 3600, vec!["a".into(), "b".into()])])),
            window: Some(Window {
                oldest: NOW - 86_400,
                latest: NOW - 600,
                upper: Some(NOW - 43_500),
                upper_ids: vec!["a".into()],
                newest: Some(NOW - 700),
            }),
            ..SyncState::default()
        };
        let d = describe(&state, NOW);
        let text: Vec<String> = d.lines.iter().map(|(l, v)| format!("{l}: {v}")).collect();
        let text = text.join("\n");
        assert!(
            text.contains("start point: 2025-12-31T00:00:00Z (1d 00h ago)"),
            "{text}"
        );
        assert!(text.contains("checked through: none yet"), "{text}");
        assert!(
            text.contains("behind: 1d 00h: nothing is complete past the start point"),
            "{text}"
        );
        assert!(
            text.contains(
                "window: 2025-12-31T00:00:00Z to 2025-12-31T23:50:00Z in progress: read back to 2025-12-31T11:55:00Z (50.0% of it, 1 id at that second)"
            ),
            "{text}"
        );
        assert!(text.contains("late-arrival ids: 2 kept"), "{text}");
        assert_eq!(d.json["behind_seconds"], json!(86_400));
        assert_eq!(d.json["lag_seconds"], Value::Null);
        assert_eq!(d.json["window"]["position"], json!("2025-12-31T11:55:00Z"));
        assert_eq!(d.json["window"]["progress_ratio"], json!(0.5));
    }

    #[test]
    fn a_caught_up_state_on_a_quiet_night_is_not_behind() {
        // The last window ended 30 s ago; the newest event is an hour old (nothing happened).
        let state = SyncState {
            floor: Some(NOW - 86_400),
            watermark: Some(NOW - 3600),
            checked_through: Some(NOW - 30),
            ..SyncState::default()
        };
        let d = describe(&state, NOW);
        assert_eq!(d.json["lag_seconds"], json!(30));
        assert_eq!(d.json["behind_seconds"], json!(30));
        assert_eq!(d.json["newest_event_age_seconds"], json!(3600));
        assert_eq!(d.json["collected_through"], json!("2025-12-31T23:59:30Z"));
        let text = format!("{:?}", d.lines);
        assert!(text.contains("\"behind\", \"30s: everything"), "{text}");
        assert!(text.contains("1h 00m old"), "{text}");
        assert!(text.contains("none open"), "{text}");
    }

    #[test]
    fn a_state_in_the_future_says_what_the_next_read_repairs_and_no_negative_age() {
        let state = SyncState {
            floor: Some(NOW - 86_400),
            watermark: Some(i64::MAX),
            checked_through: Some(NOW + 365 * 86_400),
            ..SyncState::default()
        };
        let d = describe(&state, NOW);
        let text = format!("{:?}", d.lines);
        assert_eq!(d.lines[0].0, "needs repair", "{text}");
        assert!(
            d.lines[0].1.contains("the watermark")
                && d.lines[0].1.contains("the end of the last complete window"),
            "{text}"
        );
        assert!(text.contains("365d 00h in the future"), "{text}");
        assert!(
            text.contains("unknown: 2027-01-01T00:00:00Z is in the future"),
            "{text}"
        );
        assert!(!text.contains("(-"), "no negative age: {text}");
        assert_eq!(
            d.json["repairs_on_next_read"].as_array().map(Vec::len),
            Some(2)
        );
        // A sound state needs none.
        let sound = describe(
            &SyncState {
                floor: Some(NOW - 60),
                ..SyncState::default()
            },
            NOW,
        );
        assert_ne!(sound.lines[0].0, "needs repair");
        assert_eq!(sound.json["repairs_on_next_read"], json!([]));
    }

    #[test]
    fn a_state_of_an_older_version_gives_its_lag_from_the_newest_event() {
        let state = SyncState {
            floor: Some(NOW - 86_400),
            watermark: Some(NOW - 125),
            ..SyncState::default()
        };
        let d = describe(&state, NOW);
        assert_eq!(d.json["lag_seconds"], json!(125));
        assert_eq!(d.json["checked_through"], Value::Null);
        let text = format!("{:?}", d.lines);
        assert!(text.contains("at most 2m 05s"), "{text}");
        assert!(text.contains("not recorded"), "{text}");
    }
}
