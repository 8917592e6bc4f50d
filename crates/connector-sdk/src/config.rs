//! The config document `{"settings": …, "secrets": …}`: its generated JSON Schema, and the one
//! path from raw bytes to a built input.
//!
//! Order matters and is the contract with the host: the raw document is validated against the
//! schema **before** it is deserialised (so every violation is reported at once, each with its
//! JSON pointer, rather than the first serde error), and only then does the input run its own
//! semantic checks in [`Input::from_config`]. Unknown keys are refused everywhere: a typo in a
//! setting must not silently fall back to a default.
//!
//! No message produced here contains a secret: schema errors under `/secrets` are masked, and
//! every message is scrubbed of the string values found under `secrets` as a second line of
//! defence.

use std::path::Path;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ConfigError, Violation};
use crate::input::Input;

/// A whole config document, as the host hands it to an input.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config<S, K: Default> {
    /// Everything that is not secret.
    pub settings: S,
    /// Credentials. Never logged, never written back.
    #[serde(default)]
    pub secrets: K,
}

/// The JSON Schema (draft 2020-12) of input `I`'s config document.
pub fn config_schema<I: Input>() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<Config<I::Settings, I::Secrets>>();
    let mut value = schema.to_value();
    if let Value::Object(map) = &mut value {
        map.insert("title".into(), Value::String(format!("{} config", I::NAME)));
        map.insert(
            "description".into(),
            Value::String(format!(
                "Configuration of the {} connector: non-secret `settings` and write-only `secrets`.",
                I::NAME
            )),
        );
    }
    value
}

/// Reads the config file at `path` and builds the input from it.
pub fn load<I: Input>(path: &Path) -> Result<I, ConfigError> {
    let unreadable = |reason: String| ConfigError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = crate::file::read_regular(path, crate::file::MAX_CONFIG_BYTES, "config")
        .map_err(|e| unreadable(e.to_string()))?;
    parse::<I>(&bytes)
}

/// Validates a raw config document and builds the input from it.
pub fn parse<I: Input>(bytes: &[u8]) -> Result<I, ConfigError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ConfigError::NotJson(format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let document: Value = serde_json::from_str(text).map_err(|e| {
        ConfigError::NotJson(format!(
            "{} at line {}, column {}",
            describe_json_error(&e),
            e.line(),
            e.column()
        ))
    })?;
    let scrub = Scrubber::from_document(&document);

    let violations = validate_against_schema::<I>(&document);
    if !violations.is_empty() {
        return Err(ConfigError::Invalid(scrub.violations(violations)));
    }
    let config: Config<I::Settings, I::Secrets> = serde_json::from_value(document)
        .map_err(|e| ConfigError::Invalid(vec![Violation::new("", scrub.text(&e.to_string()))]))?;
    I::from_config(config).map_err(|error| match error {
        ConfigError::Invalid(v) => ConfigError::Invalid(scrub.violations(v)),
        other => other,
    })
}

/// Every schema violation of `document`, each located by JSON pointer.
pub fn validate_against_schema<I: Input>(document: &Value) -> Vec<Violation> {
    let schema = config_schema::<I>();
    let validator = match jsonschema::validator_for(&schema) {
        Ok(v) => v,
        Err(e) => {
            return vec![Violation::new(
                "",
                format!("internal error: the generated schema does not compile: {e}"),
            )];
        }
    };
    validator
        .iter_errors(document)
        .map(|error| {
            let path = error.instance_path().as_str().to_owned();
            let message = if path.starts_with("/secrets") {
                <I::Secrets as crate::input::Secrets>::explain(&path, error.instance())
                    .unwrap_or_else(|| error.masked_with("the secret value").to_string())
            } else {
                error.to_string()
            };
            Violation::new(path, message)
        })
        .collect()
}

fn describe_json_error(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "the document ends too early",
        Category::Syntax => "syntax error",
        Category::Data => "unexpected data",
        Category::Io => "read error",
    }
}

/// Replaces every secret string of the document with `[redacted]` in messages.
struct Scrubber {
    secrets: Vec<String>,
}

impl Scrubber {
    fn from_document(document: &Value) -> Self {
        let mut secrets = Vec::new();
        if let Some(s) = document.get("secrets") {
            collect_strings(s, &mut secrets);
        }
        secrets.retain(|s| s.len() >= 4);
        Scrubber { secrets }
    }

    fn text(&self, message: &str) -> String {
        let mut out = message.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        out
    }

    fn violations(&self, violations: Vec<Violation>) -> Vec<Violation> {
        violations
            .into_iter()
            .map(|v| Violation::new(v.path, self.text(&v.message)))
            .collect()
    }
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}
