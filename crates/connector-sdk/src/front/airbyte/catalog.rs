//! Front-end layer: the stream as `discover` describes it, and the configured catalog `read` is given.
//!
//! Only what the source acts on is read from a configured catalog: which streams are selected
//! and in which sync mode. Everything else a host writes there (destination sync mode, cursor
//! and key overrides, generation ids) is the destination's business or, for a source-defined
//! cursor and key, ignored.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::contract::input::RecordStream;

/// How the host wants a stream read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Everything from the start point, or, when the host passes the state of an interrupted
    /// attempt, on from there (the stream is resumable).
    FullRefresh,
    /// From the state passed in.
    Incremental,
}

impl SyncMode {
    /// The protocol's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::FullRefresh => "full_refresh",
            SyncMode::Incremental => "incremental",
        }
    }
}

#[derive(Debug, Deserialize)]
struct ConfiguredCatalog {
    streams: Vec<ConfiguredStream>,
}

#[derive(Debug, Deserialize)]
struct ConfiguredStream {
    stream: StreamName,
    sync_mode: SyncMode,
}

#[derive(Debug, Deserialize)]
struct StreamName {
    name: String,
}

/// The `AirbyteStream` of `discover`.
pub(crate) fn describe(stream: &RecordStream) -> Value {
    let mut modes = vec!["full_refresh"];
    if stream.cursor_field.is_some() {
        modes.push("incremental");
    }
    let mut described = json!({
        "name": stream.name,
        "json_schema": super::schema::for_records(stream.schema.clone()),
        "supported_sync_modes": modes,
        "source_defined_cursor": stream.cursor_field.is_some(),
        // A full refresh resumes from the state the host passes (an interrupted attempt's).
        "is_resumable": stream.cursor_field.is_some(),
    });
    if let Some(cursor) = &stream.cursor_field {
        described["default_cursor_field"] = json!(cursor);
    }
    if !stream.primary_key.is_empty() {
        described["source_defined_primary_key"] = json!(stream.primary_key);
    }
    described
}

/// The sync mode the configured catalog at `path` selects `stream` in, or `None` when it does
/// not select it. The error is a message naming the file and what is wrong with it.
pub(crate) fn selected(path: &Path, stream: &str) -> Result<Option<SyncMode>, String> {
    let bytes = crate::runtime::file::read_regular(
        path,
        crate::runtime::file::MAX_CATALOG_BYTES,
        "catalog",
    )
    .map_err(|e| format!("cannot read the configured catalog {}: {e}", path.display()))?;
    parse_selected(&bytes, stream)
        .map_err(|e| format!("configured catalog {} is invalid: {e}", path.display()))
}

/// The sync mode a configured catalog's bytes select `stream` in (public for the fuzz targets).
pub fn parse_selected(bytes: &[u8], stream: &str) -> Result<Option<SyncMode>, String> {
    let catalog: ConfiguredCatalog = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut found = None;
    for configured in catalog.streams {
        if configured.stream.name == stream {
            if found.is_some() {
                return Err(format!("it selects stream {stream:?} more than once"));
            }
            found = Some(configured.sync_mode);
        } else {
            tracing::warn!(
                message = "The configured catalog names a stream this connector does not have; ignored.",
                stream = %configured.stream.name,
            );
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn selection_and_sync_mode_are_read_and_the_rest_is_ignored() {
        let cases: &[(&str, Result<Option<SyncMode>, &str>)] = &[
            (
                r#"{"streams":[{"stream":{"name":"s","json_schema":{},"supported_sync_modes":["incremental"]},"sync_mode":"incremental","destination_sync_mode":"append_dedup","cursor_field":["x"],"primary_key":[["id"]],"generation_id":1}]}"#,
                Ok(Some(SyncMode::Incremental)),
            ),
            (
                r#"{"streams":[{"stream":{"name":"s","namespace":null},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}"#,
                Ok(Some(SyncMode::FullRefresh)),
            ),
            (r#"{"streams":[]}"#, Ok(None)),
            (
                r#"{"streams":[{"stream":{"name":"other"},"sync_mode":"incremental"}]}"#,
                Ok(None),
            ),
            (
                r#"{"streams":[{"stream":{"name":"s"},"sync_mode":"sometimes"}]}"#,
                Err("unknown variant `sometimes`"),
            ),
            (
                r#"{"streams":[{"stream":{"name":"s"},"sync_mode":"incremental"},{"stream":{"name":"s"},"sync_mode":"full_refresh"}]}"#,
                Err("more than once"),
            ),
            (r#"[]"#, Err("expected struct ConfiguredCatalog")),
            (r#"{"streams":[{"stream":{"name":"s"}"#, Err("EOF")),
        ];
        for (text, expected) in cases {
            let got = parse_selected(text.as_bytes(), "s");
            match (expected, &got) {
                (Ok(want), Ok(got)) => assert_eq!(want, got, "{text}"),
                (Err(want), Err(got)) => assert!(got.contains(want), "{want:?} not in {got:?}"),
                _ => panic!("{text}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn a_stream_with_a_cursor_is_incremental_and_resumable() {
        let stream = RecordStream {
            name: "s".into(),
            schema: json!({"type": "object", "properties": {"id": {"type": "string"}}}),
            cursor_field: Some(vec!["at".into()]),
            primary_key: vec![vec!["id".into()]],
        };
        let described = describe(&stream);
        assert_eq!(
            described["supported_sync_modes"],
            json!(["full_refresh", "incremental"])
        );
        assert_eq!(described["default_cursor_field"], json!(["at"]));
        assert_eq!(described["source_defined_primary_key"], json!([["id"]]));
        assert_eq!(described["source_defined_cursor"], json!(true));
        assert_eq!(described["is_resumable"], json!(true));

        let plain = describe(&RecordStream {
            cursor_field: None,
            primary_key: vec![],
            ..stream
        });
        assert_eq!(plain["supported_sync_modes"], json!(["full_refresh"]));
        assert!(plain.get("default_cursor_field").is_none());
        assert!(plain.get("source_defined_primary_key").is_none());
    }
}
