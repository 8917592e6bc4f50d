//! Contract layer: the config document `{"settings": …, "secrets": …}`: its generated JSON Schema, and the one
//! path from a document to a built input ([`build`]; [`parse`] from raw bytes).
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

use schemars::generate::SchemaSettings;
use serde_json::Value;

use crate::contract::error::{ConfigError, Violation};
use crate::contract::input::{Config, Input, Secrets, Settings};

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

/// Validates a raw config document and builds the input from it. Secrets come from the
/// document only: the host's loaders (`runtime::config_file`, the Airbyte front end) also take
/// them from the environment first ([`crate::runtime::secret_env`]).
pub fn parse<I: Input>(bytes: &[u8]) -> Result<I, ConfigError> {
    build::<I>(document(bytes)?)
}

/// Every non-empty string under `secrets` in `document` (from the document or, once the host
/// filled them, the environment): the host redacts their exact values, in each of their
/// [`secret_forms`], from everything it prints once they are known.
pub fn secrets_of(document: &Value) -> Vec<secrecy::SecretString> {
    let mut strings = Vec::new();
    if let Some(s) = document.get("secrets") {
        collect_strings(s, &mut strings);
    }
    strings
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(secrecy::SecretString::from)
        .collect()
}

/// The raw bytes of a config document as JSON, or the error saying where they are not.
pub fn document(bytes: &[u8]) -> Result<Value, ConfigError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        ConfigError::NotJson(format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    serde_json::from_str(text).map_err(|e| {
        ConfigError::NotJson(format!(
            "{} at line {}, column {}",
            describe_json_error(&e),
            e.line(),
            e.column()
        ))
    })
}

/// Validates a config document (its secrets already filled from wherever the host takes
/// them) and builds the input from it.
pub fn build<I: Input>(document: Value) -> Result<I, ConfigError> {
    let scrub = Scrubber::from_document(&document, <I::Secrets as Secrets>::redact);

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

/// The shortest secret value scrubbed by its exact value: a shorter one would blank out
/// ordinary words in every message, and no real credential is that short.
pub const MIN_SCRUBBED_SECRET_LEN: usize = 4;

/// The forms a secret `value` takes in a message: as it is, JSON-escaped (inside a JSON log
/// line, once or twice), and URL-encoded (in a query string: percent-encoded with upper- or
/// lower-case hex, or form-encoded with `+` for a space). Longest first, without repeats, so
/// that replacing them in order never leaves part of a longer form behind.
pub fn secret_forms(value: &str) -> Vec<String> {
    let json = json_escaped(value);
    let mut forms = vec![
        value.to_owned(),
        json_escaped(&json),
        json,
        percent_encoded(value, false, true),
        percent_encoded(value, false, false),
        percent_encoded(value, true, true),
    ];
    forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    forms.dedup();
    forms
}

/// `value` as it appears between the quotes of a JSON string.
fn json_escaped(value: &str) -> String {
    let quoted = Value::String(value.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// `value` with every byte but the URL's unreserved characters percent-encoded (`form`: a
/// space becomes `+`, as in `application/x-www-form-urlencoded`).
fn percent_encoded(value: &str, form: bool, upper: bool) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' if form => out.push('+'),
            _ if upper => {
                let _ = write!(out, "%{byte:02X}");
            }
            _ => {
                let _ = write!(out, "%{byte:02x}");
            }
        }
    }
    out
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
            let mut message = if path.starts_with("/secrets") {
                <I::Secrets as Secrets>::explain(&path, error.instance())
                    .unwrap_or_else(|| error.masked_with("the secret value").to_string())
            } else if path.starts_with("/settings") {
                <I::Settings as Settings>::explain(&path, error.instance())
                    .unwrap_or_else(|| error.to_string())
            } else {
                error.to_string()
            };
            if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } =
                error.kind()
            {
                for key in unexpected {
                    if let Some(hint) = unknown_key_hint::<I>(&path, key) {
                        message.push_str("; ");
                        message.push_str(&hint);
                    }
                }
            }
            Violation::new(path, message)
        })
        .collect()
}

/// The keys a section of the document accepts: `""` (the document), `"/settings"`, `"/secrets"`.
fn known_keys<I: Input>(section: &str) -> Vec<String> {
    let schema = match section {
        "" => return vec!["settings".into(), "secrets".into()],
        "/settings" => schemars::schema_for!(I::Settings).to_value(),
        "/secrets" => schemars::schema_for!(I::Secrets).to_value(),
        _ => return Vec::new(),
    };
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// What an unknown `key` at `section` probably meant: the other section's key of that name
/// (a secret put under settings, or the reverse), else the closest key by edit distance.
fn unknown_key_hint<I: Input>(section: &str, key: &str) -> Option<String> {
    let other = match section {
        "/settings" => Some("/secrets"),
        "/secrets" => Some("/settings"),
        _ => None,
    };
    if let Some(other) = other
        && known_keys::<I>(other).iter().any(|k| k == key)
    {
        let name = other.trim_start_matches('/');
        return Some(if name == "secrets" {
            format!(
                "{key:?} is a secret: it belongs under \"secrets\" (secrets are never logged or written back)"
            )
        } else {
            format!("{key:?} belongs under \"settings\"")
        });
    }
    let lowered = key.to_ascii_lowercase();
    known_keys::<I>(section)
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(&lowered, &k), k))
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(2))
        .min()
        .map(|(_, k)| format!("did you mean {k:?}?"))
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

/// Replaces every secret string of the document with `[redacted]` in messages, then whatever
/// else the input recognises as a credential ([`Secrets::redact`](crate::contract::input::Secrets::redact):
/// a token pasted into a setting is not under `secrets`).
struct Scrubber {
    secrets: Vec<String>,
    redact: fn(&str) -> Option<String>,
}

impl Scrubber {
    fn from_document(document: &Value, redact: fn(&str) -> Option<String>) -> Self {
        let mut secrets = Vec::new();
        if let Some(s) = document.get("secrets") {
            collect_strings(s, &mut secrets);
        }
        secrets.retain(|s| s.len() >= MIN_SCRUBBED_SECRET_LEN);
        let mut forms: Vec<String> = secrets.iter().flat_map(|s| secret_forms(s)).collect();
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        Scrubber {
            secrets: forms,
            redact,
        }
    }

    fn text(&self, message: &str) -> String {
        let mut out = message.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "[redacted]");
            }
        }
        (self.redact)(&out).unwrap_or(out)
    }

    fn violations(&self, violations: Vec<Violation>) -> Vec<Violation> {
        violations
            .into_iter()
            .map(|v| Violation::new(v.path, self.text(&v.message)))
            .collect()
    }
}

pub(crate) fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}
