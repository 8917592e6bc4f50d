//! Front-end layer: the state a pipeline host passes back to `read --state FILE`, in the forms hosts send.
//!
//! - A list of state messages (the protocol's current form; PyAirbyte and the platform send it):
//!   per-stream (`{"type": "STREAM", "stream": {"stream_descriptor": {"name": …},
//!   "stream_state": …}}`), global (`{"type": "GLOBAL", "global": {"stream_states": […]}}`) or
//!   legacy (`{"type": "LEGACY", "data": {…}}`). Entries for other streams are ignored; an empty
//!   list means "no state yet".
//! - One state message on its own, or a legacy `{"<stream>": <stream_state>}` object (older
//!   hosts).
//! - No file, `null`, or `{}`: no state yet.
//!
//! The `stream_state` is the envelope this front end writes (`{"connector", "version",
//! "state"}`, the native state file's content), decoded with the same rules: another
//! connector's, a newer version's, a malformed state or one that fails [`Input::check_state`]
//! is refused, never silently replaced by a fresh start; an older version is migrated by
//! [`Input::migrate_state`].

use std::path::Path;

use serde_json::Value;

use crate::contract::error::StateError;
use crate::contract::input::Input;
use crate::contract::state_rules::decode_envelope_for;

/// Loads the state of `stream` from the file at `path`.
pub fn load<I: Input>(path: &Path, stream: &str) -> Result<I::State, StateError> {
    let unusable = |reason: String| StateError::Unusable {
        path: path.to_path_buf(),
        reason,
    };
    let bytes =
        crate::runtime::file::read_regular(path, crate::runtime::file::MAX_STATE_BYTES, "state")
            .map_err(|e| unusable(e.to_string()))?;
    decode::<I>(&bytes, path, stream)
}

/// Decodes a state document's bytes (read from `path`) into the state of `stream`, with the
/// same refusals as [`load`] (public for the fuzz targets).
pub fn decode<I: Input>(bytes: &[u8], path: &Path, stream: &str) -> Result<I::State, StateError> {
    let unusable = |reason: String| StateError::Unusable {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(unusable("it is empty (truncated?)".into()));
    }
    let document: Value = serde_json::from_slice(bytes).map_err(|e| {
        let what = if e.is_eof() {
            "it is truncated"
        } else {
            "it is not JSON"
        };
        unusable(format!("{what} ({e})"))
    })?;
    match stream_state(document, stream).map_err(unusable)? {
        None | Some(Value::Null) => Ok(I::State::default()),
        // The contract's state rules, as for a state file.
        Some(envelope) => decode_envelope_for::<I>(envelope, path),
    }
}

/// The `stream_state` of `stream` in a state document, `None` when it holds none.
fn stream_state(document: Value, stream: &str) -> Result<Option<Value>, String> {
    match document {
        Value::Null => Ok(None),
        Value::Array(messages) => {
            let mut found = None;
            for (i, message) in messages.into_iter().enumerate() {
                if let Some(state) =
                    from_message(message, stream).map_err(|e| format!("state message {i}: {e}"))?
                {
                    // The last one a host lists for the stream is the newest.
                    found = Some(state);
                }
            }
            Ok(found)
        }
        Value::Object(map)
            if map.contains_key("type")
                || map.contains_key("stream")
                || map.contains_key("data") =>
        {
            from_message(Value::Object(map), stream)
        }
        Value::Object(map) if map.is_empty() => Ok(None),
        Value::Object(mut map) => match map.remove(stream) {
            Some(state) => Ok(Some(state)),
            None => Err(format!(
                "it holds no state for stream {stream:?} (it has {})",
                describe_keys(&map)
            )),
        },
        other => Err(format!(
            "it is {}, not a list of state messages",
            kind_of(&other)
        )),
    }
}

/// The `stream_state` of `stream` in one state message, `None` when it is about other streams.
fn from_message(message: Value, stream: &str) -> Result<Option<Value>, String> {
    let Value::Object(mut message) = message else {
        return Err(format!("it is {}, not an object", kind_of(&message)));
    };
    let kind = match message.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        None | Some(Value::Null) if message.contains_key("stream") => "STREAM".to_owned(),
        None | Some(Value::Null) if message.contains_key("data") => "LEGACY".to_owned(),
        other => return Err(format!("it has no known `type` ({other:?})")),
    };
    match kind.as_str() {
        "STREAM" => match message.remove("stream") {
            Some(state) => from_stream_state(state, stream),
            None => Err("a STREAM state message without `stream`".into()),
        },
        "GLOBAL" => {
            let states = message
                .remove("global")
                .and_then(|mut g| g.get_mut("stream_states").map(Value::take));
            let Some(Value::Array(states)) = states else {
                return Err("a GLOBAL state message without `global.stream_states`".into());
            };
            let mut found = None;
            for state in states {
                if let Some(s) = from_stream_state(state, stream)? {
                    found = Some(s);
                }
            }
            Ok(found)
        }
        "LEGACY" => match message.remove("data") {
            Some(Value::Object(mut data)) => Ok(data.remove(stream)),
            Some(Value::Null) | None => Ok(None),
            Some(other) => Err(format!("legacy `data` is {}", kind_of(&other))),
        },
        other => Err(format!("unknown state type {other:?}")),
    }
}

/// `{"stream_descriptor": {"name", "namespace"}, "stream_state": …}`.
fn from_stream_state(state: Value, stream: &str) -> Result<Option<Value>, String> {
    let Value::Object(mut state) = state else {
        return Err(format!("a stream state is {}", kind_of(&state)));
    };
    let name = state
        .get("stream_descriptor")
        .and_then(|d| d.get("name"))
        .and_then(Value::as_str)
        .ok_or("a stream state without `stream_descriptor.name`")?;
    if name != stream {
        return Ok(None);
    }
    Ok(Some(state.remove("stream_state").unwrap_or(Value::Null)))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn describe_keys(map: &serde_json::Map<String, Value>) -> String {
    let keys: Vec<String> = map.keys().take(5).map(|k| format!("{k:?}")).collect();
    format!("keys {}", keys.join(", "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn env(n: u32) -> Value {
        json!({"connector": "c", "version": 1, "state": n})
    }

    #[test]
    fn every_form_hosts_send_is_understood() {
        let cases: Vec<(Value, Option<Value>)> = vec![
            (json!([]), None),
            (Value::Null, None),
            (json!({}), None),
            (
                json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "s"}, "stream_state": env(1)}}]),
                Some(env(1)),
            ),
            // As PyAirbyte writes it back: every optional field present and null.
            (
                json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "s", "namespace": null}, "stream_state": env(2)}, "global": null, "data": null, "sourceStats": {"recordCount": 3.0, "rejectedRecordCount": null}, "destinationStats": null}]),
                Some(env(2)),
            ),
            // Other streams are ignored; the last one for this stream wins.
            (
                json!([
                    {"type": "STREAM", "stream": {"stream_descriptor": {"name": "other"}, "stream_state": env(9)}},
                    {"type": "STREAM", "stream": {"stream_descriptor": {"name": "s"}, "stream_state": env(3)}},
                    {"type": "STREAM", "stream": {"stream_descriptor": {"name": "s"}, "stream_state": env(4)}},
                ]),
                Some(env(4)),
            ),
            (
                json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "other"}, "stream_state": env(9)}}]),
                None,
            ),
            (
                json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "s"}}}]),
                Some(Value::Null),
            ),
            (
                json!([{"type": "GLOBAL", "global": {"shared_state": {}, "stream_states": [{"stream_descriptor": {"name": "s"}, "stream_state": env(5)}]}}]),
                Some(env(5)),
            ),
            (
                json!([{"type": "LEGACY", "data": {"s": env(6)}}]),
                Some(env(6)),
            ),
            (json!({"data": {"s": env(7)}}), Some(env(7))),
            (
                json!({"type": "STREAM", "stream": {"stream_descriptor": {"name": "s"}, "stream_state": env(8)}}),
                Some(env(8)),
            ),
            (json!({"s": env(10)}), Some(env(10))),
        ];
        for (document, expected) in cases {
            let text = document.to_string();
            assert_eq!(stream_state(document, "s").unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn malformed_documents_are_refused_with_a_reason() {
        let cases: Vec<(Value, &str)> = vec![
            (json!(42), "a number, not a list"),
            (json!([7]), "state message 0: it is a number"),
            (json!([{"type": "SOMETIMES"}]), "unknown state type"),
            (json!([{"type": "STREAM"}]), "without `stream`"),
            (
                json!([{"type": "STREAM", "stream": {"stream_state": {}}}]),
                "without `stream_descriptor.name`",
            ),
            (
                json!([{"type": "GLOBAL", "global": {}}]),
                "global.stream_states",
            ),
            (json!({"other": env(1)}), "no state for stream \"s\""),
        ];
        for (document, expected) in cases {
            let text = document.to_string();
            let error = stream_state(document, "s").unwrap_err();
            assert!(
                error.contains(expected),
                "{text}: {expected:?} not in {error:?}"
            );
        }
    }
}
