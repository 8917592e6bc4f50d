//! The encoder stage: how accepted entries become records.
//!
//! The sync engine ([`crate::collect::engine`]) does windows and de-duplication and hands each
//! entry it accepts, as the raw bytes Slack sent, to one [`Encoder`], chosen once from the
//! query's format by [`crate::input`]: [`SlackEntries`] appends the entry untouched (the
//! default: one copy of the bytes), [`crate::ocsf::OcsfEncoder`] appends its OCSF event. The
//! engine looks at the format only to hold the saved state to it, and this module knows no
//! encoder but Slack's own.
//!
//! Each encoder says what its records are ([`RecordShape`]: the schema, the cursor field, the
//! key), and keeps what it learns from the entries (OCSF: the organization) in itself: the
//! input holds the one encoder of its runs and lends it to each pass.

use connector_sdk::contract::input::RecordBuf;

/// Turns accepted entries into records.
pub trait Encoder: Send + std::fmt::Debug {
    /// Appends the entry `raw` (its bytes as Slack sent them) to `records` as one record.
    fn push(&mut self, records: &mut RecordBuf, raw: &[u8]);

    /// Every entry of one page has been pushed (an encoder may have something to say about
    /// the page). The default does nothing.
    fn end_page(&mut self) {}
}

/// What an encoder's records are, as the stream declares them.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordShape {
    /// The JSON Schema of one record.
    pub schema: serde_json::Value,
    /// The path of the field that orders the records.
    pub cursor_field: Vec<String>,
    /// The paths of the record's key (none: the stream declares no key).
    pub primary_key: Vec<Vec<String>>,
}

/// Slack's entries, exactly as Slack sent them.
#[derive(Debug, Clone, Copy, Default)]
pub struct SlackEntries;

impl SlackEntries {
    /// Slack's audit entry (`slack_audit_model`'s schema), ordered by `date_create`, keyed by
    /// `id`.
    pub fn shape() -> RecordShape {
        RecordShape {
            schema: slack_audit_model::entry::record_schema(),
            cursor_field: vec!["date_create".to_owned()],
            primary_key: vec![vec!["id".to_owned()]],
        }
    }
}

impl Encoder for SlackEntries {
    #[inline]
    fn push(&mut self, records: &mut RecordBuf, raw: &[u8]) {
        records.push_json(raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slack_format_appends_the_entry_untouched() {
        let raw = br#"{"id":"x","date_create":1,"action":"user_login"}"#;
        let mut records = RecordBuf::default();
        SlackEntries.push(&mut records, raw);
        assert_eq!(records.as_bytes(), [&raw[..], b"\n"].concat());
    }
}
