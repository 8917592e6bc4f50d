//! Front-end layer: the config document as the Airbyte front end reads it: like the native CLI, except that keys
//! the schema does not know are ignored, with one warning naming them, instead of refused.
//!
//! The Airbyte spec says `additionalProperties: true` (a host must be able to keep a config
//! written for another version of the connector, and the platform's acceptance rules require
//! it), so the front end must accept what its spec accepts. The native CLI keeps refusing
//! unknown keys: there a typo must not silently fall back to a default. Only the keys are named
//! in the warning, never a value (a value under `secrets` is a secret).

use std::path::Path;

use serde_json::Value;

use crate::contract::config;
use crate::contract::error::ConfigError;
use crate::contract::input::Input;

/// Reads the config file at `path` (a regular file under the config cap, as
/// [`crate::runtime::file`] reads every file), drops the keys the config schema does not know (with one
/// warning naming them) and builds the input from the rest, with the native rules.
pub fn load<I: Input>(path: &Path) -> Result<I, ConfigError> {
    let bytes =
        crate::runtime::file::read_regular(path, crate::runtime::file::MAX_CONFIG_BYTES, "config")
            .map_err(|e| ConfigError::Unreadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
    let mut document = config::document(&bytes)?;
    // Every secret string, also those under keys about to be dropped.
    crate::runtime::redact::register_secrets(&config::secrets_of(&document));
    let schema = super::schema::for_airbyte(config::config_schema::<I>());
    let unknown = drop_unknown_keys(&mut document, &schema);
    if !unknown.is_empty() {
        tracing::warn!(
            message = "Ignoring config keys this connector does not know (a config written for another version?). The native CLI refuses them.",
            keys = %unknown.join(", "),
        );
    }
    crate::runtime::secret_env::fill::<I>(&mut document)?;
    // And those the environment gave.
    crate::runtime::redact::register_secrets(&config::secrets_of(&document));
    config::build::<I>(document)
}

/// Removes from `document` every key of an object whose schema lists its `properties` and
/// refuses others (`additionalProperties: false`), and returns their JSON pointers.
pub fn drop_unknown_keys(document: &mut Value, schema: &Value) -> Vec<String> {
    let mut dropped = Vec::new();
    walk(document, schema, "", &mut dropped);
    dropped.sort();
    dropped
}

fn walk(document: &mut Value, schema: &Value, at: &str, dropped: &mut Vec<String>) {
    let (Value::Object(object), Some(properties)) = (
        document,
        schema.get("properties").and_then(Value::as_object),
    ) else {
        return;
    };
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    let keys: Vec<String> = object.keys().cloned().collect();
    for key in keys {
        let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
        match properties.get(&key) {
            Some(child) => {
                if let Some(value) = object.get_mut(&key) {
                    walk(value, child, &here, dropped);
                }
            }
            None if closed => {
                object.remove(&key);
                dropped.push(here);
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_keys_are_dropped_and_named_known_ones_kept() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "settings": {"type": "object", "additionalProperties": false, "properties": {
                    "n": {"type": "integer"},
                    "free": {"type": "object", "properties": {"a": {"type": "string"}}},
                }},
                "secrets": {"type": "object", "additionalProperties": false, "properties": {
                    "token": {"type": "string"},
                }},
            }
        });
        let mut document = json!({
            "settings": {"n": 1, "page_sise": 10, "free": {"a": "x", "extra": 1}},
            "secrets": {"token": "xoxp-1", "old/token": "xoxp-2"},
            "_airbyte_extra": true,
        });
        let dropped = drop_unknown_keys(&mut document, &schema);
        assert_eq!(
            dropped,
            vec![
                "/_airbyte_extra",
                "/secrets/old~1token",
                "/settings/page_sise"
            ]
        );
        assert_eq!(
            document,
            json!({
                "settings": {"n": 1, "free": {"a": "x", "extra": 1}},
                "secrets": {"token": "xoxp-1"},
            })
        );
        // Nothing unknown: nothing changes.
        let before = document.clone();
        assert!(drop_unknown_keys(&mut document, &schema).is_empty());
        assert_eq!(document, before);
    }
}
