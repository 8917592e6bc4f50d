//! OCSF output: each audit entry as one OCSF event (1.8.0, or 1.3.0 for Amazon Security Lake),
//! on the way out.
//!
//! # Why
//!
//! Security lakes and SIEMs normalise to OCSF (AWS Security Lake takes custom sources as OCSF,
//! one class per source), and no open collector emits Slack's audit log as OCSF. With `settings.record_format = "ocsf"` the
//! connector does the mapping once, for every one of Slack's actions, losslessly.
//!
//! # How
//!
//! The sync engine, its de-duplication and its checkpoints never see the format: the engine
//! hands each accepted entry, raw, to the encoder chosen from the settings
//! ([`crate::encode`]); with `ocsf` that is an [`OcsfEncoder`], which appends the entry's OCSF
//! event and learns the organization from the entries it has seen.
//!
//! - [`table`]: the mapping as data, one row per action (`data/ocsf-mapping.csv`): class,
//!   activity, status, severity and the reason for each non-obvious choice, with the 1.3.0
//!   choice where the 1.8.0 one does not exist there.
//! - [`version`]: the versions (`settings.ocsf_version`) and the attributes 1.3.0 lacks.
//! - [`event`]: one entry to one event (the common attributes, the entity in the class's own
//!   object, everything else under `unmapped` byte for byte, optionally the entry in
//!   `raw_data`).
//! - `reader` / `writer`: the entry scanned once into spans of its raw bytes, the event written
//!   straight from them.
//!
//! An action the table does not know (Slack adds some every month) becomes an API Activity
//! event with `activity_id` 99 and is counted in one warning per page, never dropped. The
//! event schemas are generated from the official compiled OCSF schemas into
//! `schemas/ocsf/<version>/` by `cargo xtask ocsf-schemas`, one per class and profile set an
//! event can declare (`metadata.profiles`), and the tests validate each event against the
//! schema of its class with exactly the profiles it declares.

pub mod event;
mod reader;
pub mod table;
pub mod version;
mod writer;
pub use writer::WRITTEN_KEYS;

use std::collections::BTreeMap;
use std::sync::Arc;

use connector_sdk::contract::input::RecordBuf;

use crate::encode::{Encoder, RecordShape};
pub use event::{Mapped, PROFILES, profile_sets};
pub use table::Table;
pub use version::OcsfVersion;

/// The union of the top-level attributes of the OCSF classes the mapping uses, generated
/// with the class schemas (`schemas/ocsf/<version>/events.schema.json`).
pub fn events_schema_json(version: OcsfVersion) -> &'static str {
    match version {
        OcsfVersion::V1_3_0 => include_str!("../../../../schemas/ocsf/1.3.0/events.schema.json"),
        OcsfVersion::V1_8_0 => include_str!("../../../../schemas/ocsf/1.8.0/events.schema.json"),
    }
}

/// The name of the generated schema of the class named `class_name` with `profiles`, in
/// `schemas/ocsf/<version>/`: `<class>.<profiles joined by +>.schema.json`.
pub fn schema_file(class_name: &str, profiles: &[&str]) -> String {
    if profiles.is_empty() {
        format!("{class_name}.schema.json")
    } else {
        format!("{class_name}.{}.schema.json", profiles.join("+"))
    }
}

/// Every class the table (and its fallback) uses with every profile set its events may
/// declare in `version`: the schemas `cargo xtask ocsf-schemas` generates.
pub fn schema_sets(version: OcsfVersion) -> Vec<(&'static table::Class, &'static [&'static str])> {
    Table::bundled()
        .classes()
        .into_iter()
        .flat_map(|class| {
            profile_sets(class, version)
                .into_iter()
                .map(move |profiles| (class, profiles))
        })
        .collect()
}

/// The OCSF encoder: each accepted entry as one OCSF event of one version.
#[derive(Debug)]
pub struct OcsfEncoder {
    version: OcsfVersion,
    /// Whether each event carries the entry as `raw_data`.
    raw_data: bool,
    /// The organization the connector reads: the id of the enterprise of the entries located
    /// in it (the audit API only returns the installing organization's entries), kept for the
    /// entries located in one of its workspaces, which do not name it. Learned from the entries
    /// of every page the encoder has written.
    org: Option<String>,
    scratch: Vec<u8>,
    tape: reader::Tape,
    /// Actions not in the table, with how many entries of the current page had them.
    unknown: BTreeMap<String, u64>,
    /// Who counts each entry of an unknown action (the metrics), if anybody.
    observer: Option<Arc<dyn UnknownActionObserver>>,
}

/// Told of every entry whose action the mapping does not know, as it is encoded (the metrics
/// count them by name, so an alert can say the mapping is behind).
pub trait UnknownActionObserver: Send + Sync + std::fmt::Debug {
    /// One entry of `action` (`None`: the entry has no string `action`) was emitted as API
    /// Activity "Other".
    fn unknown_action(&self, action: Option<&str>);
}

/// Most distinct unknown actions named in one warning.
const NAMED_UNKNOWN: usize = 10;

impl OcsfEncoder {
    /// An encoder of `version` events, with the entry as `raw_data` if `raw_data`; it knows no
    /// organization yet.
    pub fn new(version: OcsfVersion, raw_data: bool) -> OcsfEncoder {
        OcsfEncoder {
            version,
            raw_data,
            org: None,
            scratch: Vec::new(),
            tape: reader::Tape::default(),
            unknown: BTreeMap::new(),
            observer: None,
        }
    }

    /// This encoder, telling `observer` of every entry of an unknown action.
    pub fn observed_by(mut self, observer: Arc<dyn UnknownActionObserver>) -> OcsfEncoder {
        self.observer = Some(observer);
        self
    }

    /// What the records of `version` are: OCSF events (the union of the top-level attributes
    /// of the classes used; every record also validates against its own class's schema, with
    /// the profiles it declares, in `schemas/ocsf/<version>/`), ordered by `time` (the entry's
    /// instant in milliseconds).
    ///
    /// An OCSF event's identity is `metadata.uid` (the entry's id), a nested field, and OCSF
    /// has no top-level one. Hosts' caches refuse a nested key (PyAirbyte's DuckDB cache:
    /// "Nested primary keys are not supported"), so the OCSF stream declares no key: hosts
    /// append its records, which the sync delivers exactly once, and a user who wants their
    /// destination to de-duplicate picks `metadata.uid` where it allows a nested key (the
    /// schema describes it).
    pub fn shape(version: OcsfVersion) -> RecordShape {
        RecordShape {
            schema: events_schema(version),
            cursor_field: vec!["time".to_owned()],
            primary_key: Vec::new(),
        }
    }

    /// The unknown actions of the current page so far, with their counts.
    pub fn unknown_actions(&self) -> &BTreeMap<String, u64> {
        &self.unknown
    }
}

impl Encoder for OcsfEncoder {
    fn push(&mut self, records: &mut RecordBuf, raw: &[u8]) {
        self.scratch.clear();
        let mapped = event::write_event(
            Table::bundled(),
            self.version,
            &mut self.tape,
            raw,
            self.raw_data,
            &mut self.org,
            &mut self.scratch,
        );
        records.push_json(&self.scratch);
        if mapped == Mapped::Unknown {
            let action = std::str::from_utf8(raw)
                .ok()
                .and_then(|json| reader::Doc::scan(json, &mut self.tape))
                .and_then(|(doc, root)| doc.str(root, "action").map(|a| a.into_owned()));
            if let Some(observer) = &self.observer {
                observer.unknown_action(action.as_deref());
            }
            let action = action.unwrap_or_else(|| "(none)".to_owned());
            if self.unknown.len() < NAMED_UNKNOWN || self.unknown.contains_key(&action) {
                *self.unknown.entry(action).or_default() += 1;
            } else {
                *self.unknown.entry("(others)".to_owned()).or_default() += 1;
            }
        }
    }

    /// Reports the page's unknown actions, in one warning, and forgets them.
    fn end_page(&mut self) {
        if self.unknown.is_empty() {
            return;
        }
        let entries: u64 = self.unknown.values().sum();
        let actions = self
            .unknown
            .iter()
            .map(|(action, n)| format!("{action} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        self.unknown.clear();
        tracing::warn!(
            message = "Entries with actions the OCSF mapping does not know were emitted as API Activity with activity_id 99 (Other); add them to data/ocsf-mapping.csv.",
            entries,
            actions = %actions,
        );
    }
}

/// The JSON Schema of the OCSF events of `version`: the union of the top-level attributes of
/// the classes used.
pub fn events_schema(version: OcsfVersion) -> serde_json::Value {
    serde_json::from_str(events_schema_json(version))
        .unwrap_or_else(|_| serde_json::json!({"type": "object", "properties": {}}))
}

/// The OCSF 1.8.0 event of one entry, as a complete JSON document (for tests and tools), as
/// the first entry of a run makes it (no organization learned from earlier entries).
pub fn to_ocsf(raw: &[u8], raw_data: bool) -> (Vec<u8>, Mapped) {
    to_ocsf_in(OcsfVersion::V1_8_0, raw, raw_data)
}

/// [`to_ocsf`] in `version`.
pub fn to_ocsf_in(version: OcsfVersion, raw: &[u8], raw_data: bool) -> (Vec<u8>, Mapped) {
    let mut out = Vec::with_capacity(raw.len() * 2);
    let mapped = event::write_event(
        Table::bundled(),
        version,
        &mut reader::Tape::default(),
        raw,
        raw_data,
        &mut None,
        &mut out,
    );
    (out, mapped)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_events_schema_parses_and_has_properties() {
        for version in OcsfVersion::ALL {
            let schema = events_schema(version);
            let properties = schema["properties"].as_object().unwrap();
            assert!(schema["title"].as_str().unwrap().contains(version.as_str()));
            for key in [
                "class_uid",
                "metadata",
                "actor",
                "user",
                "file",
                "entity",
                "unmapped",
            ] {
                assert!(properties.contains_key(key), "{key}");
            }
        }
    }

    #[test]
    fn unknown_actions_are_counted_per_page() {
        let mut records = RecordBuf::default();
        let mut page = OcsfEncoder::new(OcsfVersion::default(), false);
        for action in ["user_login", "brand_new", "brand_new", "other_new"] {
            let raw = format!(r#"{{"id":"x","date_create":1,"action":"{action}"}}"#);
            page.push(&mut records, raw.as_bytes());
        }
        assert_eq!(records.len(), 4, "never dropped");
        let counted: Vec<(&str, u64)> = page
            .unknown_actions()
            .iter()
            .map(|(a, n)| (a.as_str(), *n))
            .collect();
        assert_eq!(counted, [("brand_new", 2), ("other_new", 1)]);
    }
}
