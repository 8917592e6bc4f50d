//! Slack's own entries in a lake: one table, `audit_logs`, with no fixed schema (Slack's
//! entries have none: their `details` change with every action), so NDJSON.gz only. An entry's
//! time is its `date_create` (seconds) in milliseconds; an entry without a usable one (the
//! sync delivers those too) is placed at the epoch, so a retried upload puts it where the first
//! did.

use std::sync::Arc;

use connector_sdk::runtime::lake::layout::{LakeLayout, LayoutError, Placement, TableInfo};

/// The table of Slack's entries (and its Security Lake source name, though Security Lake takes
/// only OCSF).
pub const AUDIT_LOGS: &str = "audit_logs";

/// The layout of Slack's own entries.
#[derive(Debug)]
pub struct SlackLayout {
    tables: [TableInfo; 1],
}

impl Default for SlackLayout {
    fn default() -> Self {
        SlackLayout::new()
    }
}

impl SlackLayout {
    /// The one table, without a schema.
    pub fn new() -> SlackLayout {
        SlackLayout {
            tables: [TableInfo {
                table: AUDIT_LOGS.into(),
                source_name: "slack-audit-logs".to_owned(),
                // Not an OCSF class: Security Lake is refused for this format.
                event_class: String::new(),
                schema: None,
            }],
        }
    }
}

/// What placing an entry reads of it.
#[derive(serde::Deserialize)]
struct Dated {
    #[serde(default)]
    date_create: Option<serde_json::Value>,
}

/// `date_create` (seconds: an integer, a float, or either as a string) in milliseconds.
fn millis(date: &serde_json::Value) -> Option<i64> {
    let from_float = |seconds: f64| {
        let ms = (seconds * 1000.0).round();
        (ms.is_finite() && ms.abs() < 9.0e15).then_some(ms as i64)
    };
    match date {
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(seconds) => seconds.checked_mul(1000),
            None => n.as_f64().and_then(from_float),
        },
        serde_json::Value::String(s) => match s.parse::<i64>() {
            Ok(seconds) => seconds.checked_mul(1000),
            Err(_) => s.parse::<f64>().ok().and_then(from_float),
        },
        _ => None,
    }
}

impl LakeLayout for SlackLayout {
    fn place(&self, record: &[u8]) -> Result<Placement, LayoutError> {
        let time_ms = serde_json::from_slice::<Dated>(record)
            .ok()
            .and_then(|d| d.date_create)
            .as_ref()
            .and_then(millis)
            .unwrap_or(0);
        Ok(Placement {
            table: Arc::clone(&self.tables[0].table),
            time_ms,
        })
    }

    fn tables(&self) -> &[TableInfo] {
        &self.tables
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entries_are_placed_at_date_create() {
        let layout = SlackLayout::new();
        for (entry, ms) in [
            (
                &br#"{"id":"a","date_create":1767225600}"#[..],
                1_767_225_600_000,
            ),
            (br#"{"date_create":1767225600.5}"#, 1_767_225_600_500),
            (br#"{"date_create":"1767225600"}"#, 1_767_225_600_000),
            (br#"{"id":"no date"}"#, 0),
            (br#"{"date_create":null}"#, 0),
            (br#"{"date_create":"soon"}"#, 0),
            (br#"{"date_create":1e300}"#, 0),
            (br#"[1,2]"#, 0),
        ] {
            let placement = layout.place(entry).unwrap();
            assert_eq!(&*placement.table, AUDIT_LOGS);
            assert_eq!(placement.time_ms, ms, "{}", String::from_utf8_lossy(entry));
        }
        assert!(layout.tables()[0].schema.is_none());
    }
}
