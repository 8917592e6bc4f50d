//! Runtime layer: the config file an operator names (`--config FILE`), read with the same care
//! as every other file the host opens ([`crate::runtime::file`]: a regular file, under a cap),
//! its missing secrets taken from the environment ([`crate::runtime::secret_env`]), then handed
//! to the contract's one path to a built input ([`crate::contract::config::build`]). The secrets it holds are
//! registered for redaction ([`crate::runtime::redact::register_secrets`]) before the input is
//! built, so whatever is logged from then on is scrubbed of them.

use std::path::Path;

use serde_json::Value;

use crate::contract::config;
use crate::contract::error::ConfigError;
use crate::contract::input::Input;
use crate::runtime::file;

/// Reads the config file at `path` and builds the input from it.
pub fn load<I: Input>(path: &Path) -> Result<I, ConfigError> {
    let unreadable = |reason: String| ConfigError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = file::read_regular(path, file::MAX_CONFIG_BYTES, "config")
        .map_err(|e| unreadable(e.to_string()))?;
    let mut document = config::document(&bytes)?;
    crate::runtime::secret_env::fill::<I>(&mut document)?;
    crate::runtime::redact::register_secrets(&config::secrets_of(&document));
    warn_if_secrets_are_exposed(path, &bytes);
    config::build::<I>(document)
}

/// Warns when the config file at `path` holds a secret and its group or others may read it.
fn warn_if_secrets_are_exposed(path: &Path, bytes: &[u8]) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let holds_secret = serde_json::from_slice::<Value>(bytes).is_ok_and(|doc| {
            let mut strings = Vec::new();
            if let Some(s) = doc.get("secrets") {
                config::collect_strings(s, &mut strings);
            }
            strings.iter().any(|s| !s.is_empty())
        });
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let mode = meta.permissions().mode() & 0o777;
        if holds_secret && mode & 0o077 != 0 {
            tracing::warn!(
                message = "The config file holds a secret and other users may read it: restrict it (chmod 600), or take the secret from the environment or a credentials file instead.",
                path = %path.display(),
                mode = %format!("{mode:04o}"),
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, bytes);
}
