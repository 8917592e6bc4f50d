//! The query: the filters and record format of the settings, built once ([`Query::of`]), held
//! by the sync plan, rendered to Slack's request parameters in one place ([`Query::params`]),
//! saved in the state as it is; and what changing it would do.
//!
//! The watermark says "everything up to here is collected", but only for the query that
//! collected it: with `"actions": ["user_login"]`, a watermark two hours old means every login
//! of those two hours is in, not every event. A later run without the filter would open its
//! next window at the watermark less the late-arrival window and never fetch the other events
//! of those two hours. So the state remembers its query ([`Query`]: the filters and the
//! record format), and a run compares it with its settings before reading anything
//! ([`compare`]):
//!
//! - the same query: nothing to say;
//! - a **narrower** one (a filter added, actions removed from the list, actions excluded):
//!   everything it matches up to the watermark was collected by the wider one, so the run
//!   continues and says so;
//! - a **wider** or different one (a filter removed, actions added or no longer excluded,
//!   another actor or entity):
//!   the events only the new query matches, dated before the position, were never fetched and
//!   would not be; the run is refused (exit 2) with what would be skipped and what to do,
//!   unless the operator accepts the gap explicitly (`--accept-settings-change`), which is
//!   logged;
//! - another **record format**, or another OCSF version: the output would mix Slack entries and
//!   OCSF events, or events of two versions; refused the same way.
//!
//! # The action filter: Slack's side or ours
//!
//! The settings name actions (`actions`), categories of the catalogue (`action_categories`) and
//! what to leave out (`exclude_actions`, `exclude_action_categories`). [`Query::of`] resolves
//! them once, against the bundled catalogue, into the **effective filter** the state remembers:
//! the included names (the explicit ones, then each category's, without repeats) minus the
//! excluded ones, or, when nothing is included, every action but the excluded ones. When the
//! included names fit Slack's `action` filter (at most [`MAX_SLACK_ACTIONS`]), Slack filters
//! ([`Query::params`]) and no request is spent on what would be dropped; otherwise every entry
//! is read and [`Query::local_filter`] drops the others on our side, after de-duplication and
//! before the encoder: a dropped entry moves the checkpoint exactly as a delivered one does, it
//! is only not emitted.
//!
//! Fetching the gap instead (a second window over the past with the new query, skipping what
//! the old one matched) would need the engine to read each entry's action, actor and entity
//! and to keep two positions at once; refusing keeps the single-window invariants intact and
//! leaves the operator a clear, exact choice.

use std::collections::BTreeSet;
use std::fmt;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use slack_audit_model::ActionCatalog;

use crate::settings::{OcsfVersion, RecordFormat, SlackSettings};

/// Most names Slack's `action` filter takes; more are filtered on our side.
pub const MAX_SLACK_ACTIONS: usize = 30;

/// What is asked of Slack and what the records are: the filters and the format.
///
/// Saved in the state in the shape older builds wrote (`actions` sorted and without repeats,
/// `actor`, `entity`, `record_format`), with `exclude_actions` only when some are excluded and
/// `ocsf_version` only when it is not 1.8.0: a state without it was written by a build that made
/// only 1.8.0 events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SavedQuery", into = "SavedQuery")]
pub struct Query {
    /// Only these actions (the effective filter's included names, in the order of the settings,
    /// without repeats); empty: every action. Sent to Slack when at most
    /// [`MAX_SLACK_ACTIONS`], else applied on our side.
    pub actions: Vec<String>,
    /// Every action but these, applied on our side (empty in a query of [`Query::of`] whenever
    /// `actions` is not: the excluded names are taken out of it then).
    pub exclude_actions: Vec<String>,
    /// Slack's `actor` filter.
    pub actor: Option<String>,
    /// Slack's `entity` filter.
    pub entity: Option<String>,
    /// What the records are.
    pub format: Format,
}

/// What the records are: Slack's entries, or OCSF events of one version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// Entries as Slack sent them.
    #[default]
    Slack,
    /// One OCSF event of this version per entry.
    Ocsf(OcsfVersion),
}

impl Format {
    /// The format of the settings (`ocsf_version` counts only with `record_format` `ocsf`).
    pub fn of(record_format: RecordFormat, ocsf_version: OcsfVersion) -> Format {
        match record_format {
            RecordFormat::Slack => Format::Slack,
            RecordFormat::Ocsf => Format::Ocsf(ocsf_version),
        }
    }

    /// `settings.record_format` of this format.
    pub fn record_format(self) -> RecordFormat {
        match self {
            Format::Slack => RecordFormat::Slack,
            Format::Ocsf(_) => RecordFormat::Ocsf,
        }
    }

    /// The OCSF version, for OCSF events.
    pub fn ocsf_version(self) -> Option<OcsfVersion> {
        match self {
            Format::Slack => None,
            Format::Ocsf(version) => Some(version),
        }
    }
}

/// A name as serde spells it (the settings' and the state's spelling), for messages.
pub(crate) fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_owned(),
    }
}

impl fmt::Display for RecordFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_name(self))
    }
}

impl Query {
    /// The query of these settings, its action filter resolved against the bundled catalogue
    /// (names the catalogue does not know are refused by the settings' checks before).
    pub fn of(settings: &SlackSettings) -> Query {
        let (actions, exclude_actions) = crate::actions::effective_filter(
            ActionCatalog::bundled(),
            [&settings.actions, &settings.action_categories],
            [
                &settings.exclude_actions,
                &settings.exclude_action_categories,
            ],
        );
        Query {
            actions,
            exclude_actions,
            actor: settings.actor.clone(),
            entity: settings.entity.clone(),
            format: Format::of(settings.record_format, settings.ocsf_version),
        }
    }

    /// Slack's filter parameters of this query (`action`, comma-separated, when the included
    /// actions fit Slack's filter; `actor`; `entity`), the ones set, in that order.
    pub fn params(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        let action = self
            .slack_filters_actions()
            .then(|| ("action", self.actions.join(",")));
        let actor = self.actor.clone().map(|a| ("actor", a));
        let entity = self.entity.clone().map(|e| ("entity", e));
        action.into_iter().chain(actor).chain(entity)
    }
}

impl Query {
    /// Whether Slack applies the action filter (1 to [`MAX_SLACK_ACTIONS`] included names,
    /// nothing excluded besides).
    pub fn slack_filters_actions(&self) -> bool {
        (1..=MAX_SLACK_ACTIONS).contains(&self.actions.len()) && self.exclude_actions.is_empty()
    }

    /// The action filter applied on our side, when Slack cannot apply it: more included names
    /// than its filter takes, or names excluded. `None`: Slack sends only what is kept.
    pub fn local_filter(&self) -> Option<LocalFilter<'_>> {
        if (self.actions.is_empty() && self.exclude_actions.is_empty())
            || self.slack_filters_actions()
        {
            return None;
        }
        Some(LocalFilter {
            only: (!self.actions.is_empty())
                .then(|| self.actions.iter().map(String::as_str).collect()),
            except: self.exclude_actions.iter().map(String::as_str).collect(),
        })
    }
}

/// The action filter, applied on our side to entries Slack sent unfiltered.
#[derive(Debug, Clone)]
pub struct LocalFilter<'a> {
    only: Option<HashSet<&'a str>>,
    except: HashSet<&'a str>,
}

impl LocalFilter<'_> {
    /// Whether an entry of `action` is emitted. An entry whose action cannot be read (`None`)
    /// is: a filter never drops what it cannot tell.
    pub fn keeps(&self, action: Option<&str>) -> bool {
        let Some(action) = action else { return true };
        self.only.as_ref().is_none_or(|only| only.contains(action)) && !self.except.contains(action)
    }

    /// What is kept, for the operator: "N actions" or "every action but N".
    pub fn describe(&self) -> String {
        match &self.only {
            Some(only) => format!("{} actions", only.len()),
            None => format!("every action but {}", self.except.len()),
        }
    }
}

/// A [`Query`] as the state file holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedQuery {
    /// Slack's `action` filter, sorted; empty: every action.
    #[serde(default)]
    actions: Vec<String>,
    /// Every action but these, sorted; absent: nothing excluded (all older builds wrote).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    exclude_actions: Vec<String>,
    /// Slack's `actor` filter.
    #[serde(default)]
    actor: Option<String>,
    /// Slack's `entity` filter.
    #[serde(default)]
    entity: Option<String>,
    /// What the records are.
    #[serde(default)]
    record_format: RecordFormat,
    /// The OCSF version of the events; absent: 1.8.0 (the only version older builds wrote).
    #[serde(default, skip_serializing_if = "is_default_version")]
    ocsf_version: OcsfVersion,
}

fn is_default_version(version: &OcsfVersion) -> bool {
    *version == OcsfVersion::default()
}

impl From<Query> for SavedQuery {
    /// Actions sorted and without repeats: the order of the list does not change what Slack
    /// answers.
    fn from(query: Query) -> Self {
        let actions: BTreeSet<String> = query.actions.into_iter().collect();
        let exclude_actions: BTreeSet<String> = query.exclude_actions.into_iter().collect();
        SavedQuery {
            actions: actions.into_iter().collect(),
            exclude_actions: exclude_actions.into_iter().collect(),
            actor: query.actor,
            entity: query.entity,
            record_format: query.format.record_format(),
            ocsf_version: query.format.ocsf_version().unwrap_or_default(),
        }
    }
}

impl From<SavedQuery> for Query {
    fn from(saved: SavedQuery) -> Self {
        Query {
            actions: saved.actions,
            exclude_actions: saved.exclude_actions,
            actor: saved.actor,
            entity: saved.entity,
            format: Format::of(saved.record_format, saved.ocsf_version),
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
    /// format or its OCSF version changed: continuing would skip or mix.
    Wider {
        /// What the new query matches that the old did not.
        widened: Vec<String>,
        /// What narrowed at the same time (said too, for a complete picture).
        narrowed: Vec<String>,
        /// The format change (another record format, or another OCSF version), `(old, new)`,
        /// if any.
        format: Option<(Format, Format)>,
    },
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

/// Which actions a query matches: all, only some, or all but some.
enum Matched<'a> {
    All,
    Only(BTreeSet<&'a String>),
    Except(BTreeSet<&'a String>),
}

impl Query {
    fn matched(&self) -> Matched<'_> {
        let except: BTreeSet<&String> = self.exclude_actions.iter().collect();
        if !self.actions.is_empty() {
            Matched::Only(
                self.actions
                    .iter()
                    .filter(|name| !except.contains(name))
                    .collect(),
            )
        } else if !except.is_empty() {
            Matched::Except(except)
        } else {
            Matched::All
        }
    }
}

/// Compares the action filters.
fn compare_actions(
    saved: &Query,
    current: &Query,
    widened: &mut Vec<String>,
    narrowed: &mut Vec<String>,
) {
    let listed = |names: &BTreeSet<&String>| list(names.iter().copied());
    match (saved.matched(), current.matched()) {
        (Matched::All, Matched::All) => {}
        (Matched::All, Matched::Only(new)) => {
            narrowed.push(format!("actions is now limited to {}", listed(&new)));
        }
        (Matched::All, Matched::Except(new)) => {
            narrowed.push(format!("actions now excluded: {}", listed(&new)));
        }
        (Matched::Only(old), Matched::All | Matched::Except(_)) => widened.push(format!(
            "actions was limited to {} and is not any more: events of every other action",
            listed(&old)
        )),
        (Matched::Only(old), Matched::Only(new)) => {
            let added: BTreeSet<&String> = new.difference(&old).copied().collect();
            let removed: BTreeSet<&String> = old.difference(&new).copied().collect();
            if !added.is_empty() {
                widened.push(format!("actions added: events of {}", listed(&added)));
            }
            if !removed.is_empty() {
                narrowed.push(format!("actions removed: {}", listed(&removed)));
            }
        }
        (Matched::Except(old), Matched::All) => widened.push(format!(
            "actions are not excluded any more: events of {}",
            listed(&old)
        )),
        (Matched::Except(old), Matched::Except(new)) => {
            let readmitted: BTreeSet<&String> = old.difference(&new).copied().collect();
            let excluded: BTreeSet<&String> = new.difference(&old).copied().collect();
            if !readmitted.is_empty() {
                widened.push(format!(
                    "actions are not excluded any more: events of {}",
                    listed(&readmitted)
                ));
            }
            if !excluded.is_empty() {
                narrowed.push(format!("actions now excluded: {}", listed(&excluded)));
            }
        }
        (Matched::Except(old), Matched::Only(new)) => {
            let readmitted: BTreeSet<&String> = new.intersection(&old).copied().collect();
            if readmitted.is_empty() {
                narrowed.push(format!("actions is now limited to {}", listed(&new)));
            } else {
                widened.push(format!(
                    "actions that were excluded are included now: events of {}",
                    listed(&readmitted)
                ));
            }
        }
    }
}

/// What running `current` over a state collected with `saved` means.
pub fn compare(saved: &Query, current: &Query) -> QueryChange {
    let mut widened = Vec::new();
    let mut narrowed = Vec::new();
    compare_actions(saved, current, &mut widened, &mut narrowed);
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
    let format = (saved.format != current.format).then_some((saved.format, current.format));
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
            let (old_format, new_format) = (old.record_format(), new.record_format());
            if old_format != new_format {
                parts.push(format!(
                    "settings.record_format changed from {:?} to {:?}: the output would mix both kinds of records",
                    old_format.to_string(),
                    new_format.to_string()
                ));
            } else {
                parts.push(format!(
                    "settings.ocsf_version changed from {:?} to {:?}: the output would mix events of both versions",
                    serde_name(&old.ocsf_version().unwrap_or_default()),
                    serde_name(&new.ocsf_version().unwrap_or_default())
                ));
            }
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

    fn q(actions: &[&str], actor: Option<&str>, entity: Option<&str>) -> Query {
        Query {
            actions: actions.iter().map(|s| (*s).to_owned()).collect(),
            exclude_actions: Vec::new(),
            actor: actor.map(str::to_owned),
            entity: entity.map(str::to_owned),
            format: Format::Slack,
        }
    }

    /// Each case: saved query, current query, expected kind (same, narrower, wider).
    #[test]
    fn changes_are_classified() {
        let cases: &[(Query, Query, &str)] = &[
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

    fn except(names: &[&str]) -> Query {
        Query {
            exclude_actions: names.iter().map(|s| (*s).to_owned()).collect(),
            ..Query::default()
        }
    }

    /// Exclusions against everything, against other exclusions and against an include list.
    #[test]
    fn exclusions_are_classified() {
        let cases: &[(Query, Query, &str)] = &[
            (except(&["a"]), except(&["a"]), "same"),
            (q(&[], None, None), except(&["a"]), "narrower"),
            (except(&["a"]), except(&["a", "b"]), "narrower"),
            (except(&["a"]), q(&["b"], None, None), "narrower"),
            (except(&["a"]), q(&[], None, None), "wider"),
            (except(&["a", "b"]), except(&["a"]), "wider"),
            (except(&["a"]), except(&["b"]), "wider"),
            (except(&["a"]), q(&["a", "b"], None, None), "wider"),
            (q(&["a"], None, None), except(&["b"]), "wider"),
        ];
        for (saved, current, expected) in cases {
            let kind = match compare(saved, current) {
                QueryChange::Same => "same",
                QueryChange::Narrower(_) => "narrower",
                QueryChange::Wider { .. } => "wider",
            };
            assert_eq!(kind, *expected, "{saved:?} -> {current:?}");
        }
        let message = compare(&except(&["a", "b"]), &except(&["a"]))
            .refusal("A", "B")
            .unwrap();
        assert!(
            message.contains("not excluded any more: events of \"b\""),
            "{message}"
        );
    }

    fn settings(value: serde_json::Value) -> SlackSettings {
        serde_json::from_value(value).unwrap()
    }

    /// Categories expand to the catalogue's names, explicit names first, without repeats; the
    /// excluded are taken out, or kept as exclusions when nothing is included.
    #[test]
    fn the_effective_filter_is_included_minus_excluded() {
        let catalog = ActionCatalog::parse(
            r#"{"actions":{"file":["file_a","file_b","shared"],"channel":["chan_a","shared"]}}"#,
        )
        .unwrap();
        let of = |value| {
            let s = settings(value);
            crate::actions::effective_filter(
                &catalog,
                [&s.actions, &s.action_categories],
                [&s.exclude_actions, &s.exclude_action_categories],
            )
        };
        assert_eq!(
            of(
                serde_json::json!({"actions": ["chan_a"], "action_categories": ["file", "channel"], "exclude_actions": ["file_b"]})
            ),
            (
                vec![
                    "chan_a".to_owned(),
                    "file_a".to_owned(),
                    "shared".to_owned()
                ],
                Vec::new()
            )
        );
        assert_eq!(
            of(
                serde_json::json!({"exclude_actions": ["z"], "exclude_action_categories": ["channel"]})
            ),
            (
                Vec::new(),
                vec!["chan_a".to_owned(), "shared".to_owned(), "z".to_owned()]
            )
        );
        assert_eq!(
            of(
                serde_json::json!({"action_categories": ["file"], "exclude_action_categories": ["channel"]})
            ),
            (vec!["file_a".to_owned(), "file_b".to_owned()], Vec::new())
        );
        assert_eq!(of(serde_json::json!({})), (Vec::new(), Vec::new()));
    }

    /// Up to 30 included names and nothing excluded: Slack filters. More, or exclusions: the
    /// `action` parameter is not sent and the filter is applied here.
    #[test]
    fn slack_filters_up_to_thirty_names_and_this_side_the_rest() {
        let names: Vec<String> = (0..31).map(|i| format!("a{i}")).collect();
        let only = |n: usize| Query {
            actions: names[..n].to_vec(),
            ..Query::default()
        };
        assert!(only(30).local_filter().is_none());
        assert!(only(30).params().any(|(key, _)| key == "action"));
        let many = only(31);
        assert!(!many.params().any(|(key, _)| key == "action"));
        let filter = many.local_filter().unwrap();
        assert!(filter.keeps(Some("a30")) && !filter.keeps(Some("b")));
        assert!(filter.keeps(None), "an unreadable action is kept");
        let excluding = except(&["a0"]);
        assert_eq!(excluding.params().count(), 0);
        let filter = excluding.local_filter().unwrap();
        assert!(!filter.keeps(Some("a0")) && filter.keeps(Some("a1")));
        assert!(Query::default().local_filter().is_none());
    }

    /// The operator is told what the filter applied here keeps (the log line that says the
    /// filter costs every action's requests).
    #[test]
    fn a_filter_applied_here_says_what_it_keeps() {
        let names: Vec<String> = (0..31).map(|i| format!("a{i}")).collect();
        let many = Query {
            actions: names,
            ..Query::default()
        };
        assert_eq!(many.local_filter().unwrap().describe(), "31 actions");
        let excluding = except(&["a0", "a1"]);
        assert_eq!(
            excluding.local_filter().unwrap().describe(),
            "every action but 2"
        );
    }

    #[test]
    fn a_format_change_is_refused_and_explained() {
        let saved = q(&[], None, None);
        let current = Query {
            format: Format::Ocsf(OcsfVersion::V1_8_0),
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

    #[test]
    fn an_ocsf_version_change_is_refused_and_explained() {
        let ocsf = |version| Query {
            format: Format::Ocsf(version),
            ..q(&[], None, None)
        };
        let change = compare(&ocsf(OcsfVersion::V1_8_0), &ocsf(OcsfVersion::V1_3_0));
        let message = change.refusal("A", "B").unwrap();
        assert!(
            message.contains("ocsf_version changed from \"1.8.0\" to \"1.3.0\""),
            "{message}"
        );
        assert!(message.contains("--accept-settings-change"), "{message}");
        assert_eq!(
            compare(&ocsf(OcsfVersion::V1_3_0), &ocsf(OcsfVersion::V1_3_0)),
            QueryChange::Same
        );
    }

    /// The state's shape is the one older builds wrote: actions sorted without repeats, no
    /// `ocsf_version` for 1.8.0 (what a state without it means) or for Slack's entries.
    #[test]
    fn the_saved_shape_is_the_older_builds_one() {
        let query = Query {
            format: Format::Ocsf(OcsfVersion::V1_8_0),
            ..q(&["b", "a", "b"], Some("W1"), None)
        };
        let saved = serde_json::to_string(&query).unwrap();
        assert_eq!(
            saved,
            r#"{"actions":["a","b"],"actor":"W1","entity":null,"record_format":"ocsf"}"#
        );
        let loaded: Query = serde_json::from_str(&saved).unwrap();
        assert_eq!(loaded.format, Format::Ocsf(OcsfVersion::V1_8_0));
        assert_eq!(loaded.actions, ["a", "b"]);

        let old: Query = serde_json::from_str(r#"{"actions":[],"record_format":"slack"}"#).unwrap();
        assert_eq!(old, Query::default());

        let v13 = Query {
            format: Format::Ocsf(OcsfVersion::V1_3_0),
            ..Query::default()
        };
        let saved = serde_json::to_string(&v13).unwrap();
        assert!(
            saved.ends_with(r#""record_format":"ocsf","ocsf_version":"1.3.0"}"#),
            "{saved}"
        );
        assert_eq!(serde_json::from_str::<Query>(&saved).unwrap(), v13);

        let excluding = except(&["b", "a"]);
        let saved = serde_json::to_string(&excluding).unwrap();
        assert_eq!(
            saved,
            r#"{"actions":[],"exclude_actions":["a","b"],"actor":null,"entity":null,"record_format":"slack"}"#
        );
        assert_eq!(
            serde_json::from_str::<Query>(&saved)
                .unwrap()
                .exclude_actions,
            ["a", "b"]
        );
        assert!(serde_json::from_str::<Query>(r#"{"filters":[]}"#).is_err());
    }

    #[test]
    fn filters_render_in_the_settings_order() {
        let query = q(&["user_logout", "user_login"], Some("W1"), Some("C1"));
        let params: Vec<_> = query.params().collect();
        assert_eq!(
            params,
            [
                ("action", "user_logout,user_login".to_owned()),
                ("actor", "W1".to_owned()),
                ("entity", "C1".to_owned())
            ]
        );
        assert_eq!(Query::default().params().count(), 0);
    }
}
