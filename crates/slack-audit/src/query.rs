//! The query a state was collected for, and what changing it would do.
//!
//! The watermark says "everything up to here is collected", but only for the query that
//! collected it: with `"actions": ["user_login"]`, a watermark two hours old means every login
//! of those two hours is in, not every event. A later run without the filter would open its
//! next window at the watermark less the late-arrival window and never fetch the other events
//! of those two hours. So the state remembers its query ([`SavedQuery`]: the filters and the
//! record format), and a run compares it with its settings before reading anything
//! ([`compare`]):
//!
//! - the same query: nothing to say;
//! - a **narrower** one (a filter added, actions removed from the list): everything it matches
//!   up to the watermark was collected by the wider one, so the run continues and says so;
//! - a **wider** or different one (a filter removed, actions added, another actor or entity):
//!   the events only the new query matches, dated before the position, were never fetched and
//!   would not be; the run is refused (exit 2) with what would be skipped and what to do,
//!   unless the operator accepts the gap explicitly (`--accept-settings-change`), which is
//!   logged;
//! - another **record format**: the output would mix Slack entries and OCSF events; refused
//!   the same way.
//!
//! Fetching the gap instead (a second window over the past with the new query, skipping what
//! the old one matched) would need the engine to read each entry's action, actor and entity
//! and to keep two positions at once; refusing keeps the single-window invariants intact and
//! leaves the operator a clear, exact choice.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::settings::RecordFormat;

/// The query a state was collected with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedQuery {
    /// Slack's `action` filter, sorted; empty: every action.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Slack's `actor` filter.
    #[serde(default)]
    pub actor: Option<String>,
    /// Slack's `entity` filter.
    #[serde(default)]
    pub entity: Option<String>,
    /// What the records are.
    #[serde(default)]
    pub record_format: RecordFormat,
}

impl SavedQuery {
    /// The query of these settings (actions sorted and without repeats: the order of the list
    /// does not change what Slack answers).
    pub fn new(
        actions: &[String],
        actor: Option<&str>,
        entity: Option<&str>,
        record_format: RecordFormat,
    ) -> Self {
        let actions: BTreeSet<&String> = actions.iter().collect();
        SavedQuery {
            actions: actions.into_iter().cloned().collect(),
            actor: actor.map(str::to_owned),
            entity: entity.map(str::to_owned),
            record_format,
        }
    }
}

/// What running `current` over a state collected with `saved` means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryChange {
    /// Nothing changed.
    Same,
    /// The new query matches a subset of what the old one matched: nothing is skipped. Each
    /// string says what narrowed.
    Narrower(Vec<String>),
    /// The new query matches events the old one did not (each string says which), or the record
    /// format changed: continuing would skip or mix.
    Wider {
        /// What the new query matches that the old did not.
        widened: Vec<String>,
        /// What narrowed at the same time (said too, for a complete picture).
        narrowed: Vec<String>,
        /// The format change, `(old, new)`, if any.
        format: Option<(RecordFormat, RecordFormat)>,
    },
}

fn format_name(format: RecordFormat) -> &'static str {
    match format {
        RecordFormat::Slack => "slack",
        RecordFormat::Ocsf => "ocsf",
    }
}

/// Compares one single-valued filter (`actor`, `entity`): unset matches everything.
fn compare_one(
    key: &str,
    saved: Option<&str>,
    current: Option<&str>,
    widened: &mut Vec<String>,
    narrowed: &mut Vec<String>,
) {
    match (saved, current) {
        (None, None) => {}
        (Some(a), Some(b)) if a == b => {}
        (None, Some(b)) => narrowed.push(format!("{key} is now limited to {b:?}")),
        (Some(a), None) => widened.push(format!(
            "{key} was limited to {a:?} and is not any more: events by every other {key}"
        )),
        (Some(a), Some(b)) => widened.push(format!(
            "{key} changed from {a:?} to {b:?}: events of {key} {b:?}"
        )),
    }
}

/// What running `current` over a state collected with `saved` means.
pub fn compare(saved: &SavedQuery, current: &SavedQuery) -> QueryChange {
    let mut widened = Vec::new();
    let mut narrowed = Vec::new();
    let old: BTreeSet<&String> = saved.actions.iter().collect();
    let new: BTreeSet<&String> = current.actions.iter().collect();
    match (old.is_empty(), new.is_empty()) {
        (true, true) => {}
        (true, false) => narrowed.push(format!(
            "actions is now limited to {}",
            list(new.iter().copied())
        )),
        (false, true) => widened.push(format!(
            "actions was limited to {} and is not any more: events of every other action",
            list(old.iter().copied())
        )),
        (false, false) => {
            let added: Vec<&String> = new.difference(&old).copied().collect();
            let removed: Vec<&String> = old.difference(&new).copied().collect();
            if !added.is_empty() {
                widened.push(format!(
                    "actions added: events of {}",
                    list(added.iter().copied())
                ));
            }
            if !removed.is_empty() {
                narrowed.push(format!(
                    "actions removed: {}",
                    list(removed.iter().copied())
                ));
            }
        }
    }
    compare_one(
        "actor",
        saved.actor.as_deref(),
        current.actor.as_deref(),
        &mut widened,
        &mut narrowed,
    );
    compare_one(
        "entity",
        saved.entity.as_deref(),
        current.entity.as_deref(),
        &mut widened,
        &mut narrowed,
    );
    let format = (saved.record_format != current.record_format)
        .then_some((saved.record_format, current.record_format));
    if widened.is_empty() && format.is_none() {
        if narrowed.is_empty() {
            QueryChange::Same
        } else {
            QueryChange::Narrower(narrowed)
        }
    } else {
        QueryChange::Wider {
            widened,
            narrowed,
            format,
        }
    }
}

impl QueryChange {
    /// The operator's explanation of a [`QueryChange::Wider`]: what would be skipped (events
    /// dated from `from` to `through`, as RFC 3339 text) or mixed, and what to do. `None` for
    /// the other changes.
    pub fn refusal(&self, from: &str, through: &str) -> Option<String> {
        let QueryChange::Wider {
            widened, format, ..
        } = self
        else {
            return None;
        };
        let mut parts = Vec::new();
        if !widened.is_empty() {
            parts.push(format!(
                "the settings match events the state's query did not ({}); those dated from {from} to {through} were never fetched, and continuing from this state would never fetch them",
                widened.join("; ")
            ));
        }
        if let Some((old, new)) = format {
            parts.push(format!(
                "settings.record_format changed from {:?} to {:?}: the output would mix both kinds of records",
                format_name(*old),
                format_name(*new)
            ));
        }
        Some(format!(
            "the state was collected with other settings: {}. To collect them, use a new state file (and a new output) with settings.backfill_start_time set to {from} (events the old settings matched are delivered again); or put the old settings back; or run once with --accept-settings-change to continue from this state and accept the gap (it is logged)",
            parts.join("; ")
        ))
    }
}

fn list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    items
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn q(actions: &[&str], actor: Option<&str>, entity: Option<&str>) -> SavedQuery {
        let actions: Vec<String> = actions.iter().map(|s| (*s).to_owned()).collect();
        SavedQuery::new(&actions, actor, entity, RecordFormat::Slack)
    }

    /// Each case: saved query, current query, expected kind (same, narrower, wider).
    #[test]
    fn changes_are_classified() {
        let cases: &[(SavedQuery, SavedQuery, &str)] = &[
            (q(&[], None, None), q(&[], None, None), "same"),
            (
                q(&["b", "a"], None, None),
                q(&["a", "b", "a"], None, None),
                "same",
            ),
            (
                q(&[], None, None),
                q(&["user_login"], None, None),
                "narrower",
            ),
            (
                q(&["a", "b"], None, None),
                q(&["a"], None, None),
                "narrower",
            ),
            (q(&["user_login"], None, None), q(&[], None, None), "wider"),
            (q(&["a"], None, None), q(&["a", "b"], None, None), "wider"),
            (q(&["a"], None, None), q(&["b"], None, None), "wider"),
            (q(&[], None, None), q(&[], Some("W1"), None), "narrower"),
            (q(&[], Some("W1"), None), q(&[], None, None), "wider"),
            (q(&[], Some("W1"), None), q(&[], Some("W2"), None), "wider"),
            (q(&[], None, None), q(&[], None, Some("C1")), "narrower"),
            (q(&[], None, Some("C1")), q(&[], None, None), "wider"),
            (q(&[], None, Some("C1")), q(&[], None, Some("C2")), "wider"),
        ];
        for (saved, current, expected) in cases {
            let kind = match compare(saved, current) {
                QueryChange::Same => "same",
                QueryChange::Narrower(_) => "narrower",
                QueryChange::Wider { .. } => "wider",
            };
            assert_eq!(kind, *expected, "{saved:?} -> {current:?}");
        }
    }

    #[test]
    fn a_format_change_is_refused_and_explained() {
        let saved = q(&[], None, None);
        let current = SavedQuery {
            record_format: RecordFormat::Ocsf,
            ..saved.clone()
        };
        let change = compare(&saved, &current);
        let message = change.refusal("A", "B").unwrap();
        assert!(
            message.contains("record_format changed from \"slack\" to \"ocsf\""),
            "{message}"
        );
        assert!(message.contains("--accept-settings-change"), "{message}");
    }

    #[test]
    fn a_removed_filter_names_what_would_be_skipped() {
        let change = compare(&q(&["user_login"], None, None), &q(&[], None, None));
        let message = change
            .refusal("2026-01-01T00:00:00Z", "2026-01-01T02:00:00Z")
            .unwrap();
        assert!(message.contains("\"user_login\""), "{message}");
        assert!(message.contains("every other action"), "{message}");
        assert!(
            message.contains("dated from 2026-01-01T00:00:00Z to 2026-01-01T02:00:00Z"),
            "{message}"
        );
        assert!(
            message.contains("backfill_start_time set to 2026-01-01T00:00:00Z"),
            "{message}"
        );
    }
}
