//! Runtime layer: the secrets a config document lacks, taken from the environment
//! (`<NAME>_<KEY>`, the file named by `<NAME>_<KEY>_FILE`, `$CREDENTIALS_DIRECTORY/<key>`). The files are read through [`crate::runtime::file`]: a
//! regular file only, opened without blocking (a FIFO is refused, not waited on), at most
//! [`file::MAX_SECRET_FILE_BYTES`].
//!
//! # Secrets from the environment
//!
//! A secret named in [`Secrets::FROM_ENVIRONMENT`] and
//! absent from the document is taken by the host's loaders (this module,
//! before [`crate::contract::config::build`]), in this order, from the environment variable
//! `<NAME>_<KEY>` (the connector's name and the key in upper case, `-` as `_`: for a
//! connector `acme-events` with a secret `api_token`, `ACME_EVENTS_API_TOKEN`); from the file named by
//! `<NAME>_<KEY>_FILE` (Kubernetes secrets mounted as files, Docker secrets); or from
//! `$CREDENTIALS_DIRECTORY/<key>` (systemd's `LoadCredential=<key>:…`); files are read as every
//! file the host reads (regular files only, at most 1 MiB). A trailing newline is
//! dropped. The value then goes through the same validation as one in the document; where it
//! came from is logged, never the value. A config file that holds secrets and is readable by
//! its group or others is warned about.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::contract::error::{ConfigError, Violation};
use crate::contract::input::{Input, Secrets};
use crate::runtime::file;

/// The environment variable a secret `key` of connector `name` is read from.
pub fn secret_variable(name: &str, key: &str) -> String {
    format!("{name}_{key}")
        .to_ascii_uppercase()
        .replace('-', "_")
}

/// Fills the secrets of [`Secrets::FROM_ENVIRONMENT`] that `document` lacks from the
/// environment. A file that is named (by `…_FILE`) but cannot be read, or a credentials file
/// that exists but is not a readable regular file under the cap, is a config error naming the
/// variable or the file and what is wrong; the value is logged nowhere, only where it came from.
pub fn fill<I: Input>(document: &mut Value) -> Result<(), ConfigError> {
    let keys = <I::Secrets as Secrets>::FROM_ENVIRONMENT;
    if keys.is_empty() {
        return Ok(());
    }
    let Value::Object(root) = document else {
        return Ok(());
    };
    let secrets = root
        .entry("secrets")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    let Value::Object(secrets) = secrets else {
        return Ok(());
    };
    for key in keys {
        if secrets.contains_key(*key) {
            continue;
        }
        let variable = secret_variable(I::NAME, key);
        let refused = |reason: String| {
            ConfigError::Invalid(vec![Violation::new(format!("/secrets/{key}"), reason)])
        };
        let (value, from) = if let Some(v) = std::env::var_os(&variable) {
            (trim(v.to_string_lossy().into_owned()), variable.clone())
        } else if let Some(named) = std::env::var_os(format!("{variable}_FILE")) {
            let path = PathBuf::from(named);
            let text = read(&path).map_err(|reason| {
                refused(format!(
                    "{variable}_FILE names {}, which cannot be read: {reason}",
                    path.display()
                ))
            })?;
            (text, path.display().to_string())
        } else if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
            let path = Path::new(&dir).join(key);
            match read(&path) {
                Ok(text) => (text, path.display().to_string()),
                // No such credential: the secret is simply not given this way.
                Err(file::ReadError::NotFound) => continue,
                Err(reason) => {
                    return Err(refused(format!(
                        "the credentials file {} (from $CREDENTIALS_DIRECTORY) cannot be read: {reason}",
                        path.display()
                    )));
                }
            }
        } else {
            continue;
        };
        tracing::info!(message = "Secret taken from the environment.", secret = %key, from = %from);
        secrets.insert((*key).to_owned(), Value::String(value));
    }
    Ok(())
}

/// The secret file at `path`, as text without its trailing newline.
fn read(path: &Path) -> Result<String, file::ReadError> {
    let bytes = file::read_regular(path, file::MAX_SECRET_FILE_BYTES, "secret")?;
    let text = String::from_utf8(bytes).map_err(|e| {
        file::ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })?;
    Ok(trim(text))
}

fn trim(text: String) -> String {
    text.trim_end_matches(['\n', '\r']).to_owned()
}
