//! Runtime layer: AWS's shared profile files (`~/.aws/credentials` and `~/.aws/config`, or
//! `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`), read the way the AWS CLI reads them, and
//! one profile resolved into where its credentials come from: static keys, or a role to assume
//! (`role_arn` + `source_profile`, with an optional `external_id`) on top of another profile.
//!
//! Only what a long-running collector can use unattended is supported; a profile that needs a
//! browser (SSO) or runs a program (`credential_process`) is refused with a message saying how
//! to hand the connector credentials instead.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

/// The settings of every profile, the credentials file's over the config file's.
#[derive(Default, Clone)]
pub(crate) struct ProfileFiles {
    profiles: BTreeMap<String, BTreeMap<String, String>>,
    /// The files that were read, for messages.
    pub(crate) read: Vec<PathBuf>,
}

impl fmt::Debug for ProfileFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The settings hold secret keys: only the names.
        f.debug_struct("ProfileFiles")
            .field("profiles", &self.profiles.keys().collect::<Vec<_>>())
            .field("read", &self.read)
            .finish()
    }
}

/// Where one profile's credentials come from.
pub(crate) enum ProfileCredentials {
    /// `aws_access_key_id` / `aws_secret_access_key` (and `aws_session_token`).
    Static {
        /// The profile that holds them.
        profile: String,
        /// The access key id (not a secret: it names the key).
        key_id: String,
        /// The secret access key.
        secret_key: SecretString,
        /// The session token of temporary keys.
        token: Option<SecretString>,
    },
    /// `role_arn` assumed with the credentials of `source`.
    AssumeRole {
        /// The profile that names the role.
        profile: String,
        /// The role.
        role_arn: String,
        /// The external ID the role's trust policy requires.
        external_id: Option<String>,
        /// `role_session_name`, if set.
        session_name: Option<String>,
        /// The source profile's credentials.
        source: Box<ProfileCredentials>,
    },
}

impl fmt::Debug for ProfileCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileCredentials::Static {
                profile,
                key_id,
                token,
                ..
            } => f
                .debug_struct("Static")
                .field("profile", profile)
                .field("key_id", key_id)
                .field("secret_key", &"[redacted]")
                .field("token", &token.as_ref().map(|_| "[redacted]"))
                .finish(),
            ProfileCredentials::AssumeRole {
                profile,
                role_arn,
                external_id,
                session_name,
                source,
            } => f
                .debug_struct("AssumeRole")
                .field("profile", profile)
                .field("role_arn", role_arn)
                .field("external_id", &external_id.as_ref().map(|_| "[set]"))
                .field("session_name", session_name)
                .field("source", source)
                .finish(),
        }
    }
}

impl ProfileCredentials {
    /// A short description for messages: `profile "p"` or `role R assumed from profile "p"`.
    pub(crate) fn describe(&self) -> String {
        match self {
            ProfileCredentials::Static { profile, .. } => {
                format!("the keys of profile {profile:?}")
            }
            ProfileCredentials::AssumeRole {
                role_arn, source, ..
            } => format!("role {role_arn} assumed with {}", source.describe()),
        }
    }
}

/// Why a profile cannot be used. The message names the profile and the files.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ProfileError(pub(crate) String);

impl ProfileFiles {
    /// Reads `credentials` and `config` (either may be missing; one that exists but cannot be
    /// read is an error).
    pub(crate) fn load(credentials: &Path, config: &Path) -> Result<ProfileFiles, ProfileError> {
        let mut files = ProfileFiles::default();
        // The config file first: the credentials file's settings win.
        for (path, is_config) in [(config, true), (credentials, false)] {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    files.merge(&text, is_config);
                    files.read.push(path.to_path_buf());
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    return Err(ProfileError(format!(
                        "cannot read the AWS profile file {}: {err}",
                        path.display()
                    )));
                }
            }
        }
        Ok(files)
    }

    /// Adds the sections of one file. In the config file a section is `[profile NAME]` (or
    /// `[default]`); in the credentials file it is `[NAME]`. Lines starting with `#` or `;` are
    /// comments; indented lines continue a nested setting (e.g. `s3 =`) and are skipped.
    pub(crate) fn merge(&mut self, text: &str, is_config: bool) {
        let mut current: Option<String> = None;
        for line in text.lines() {
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let line = line.trim();
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let header = header.trim();
                current = if is_config {
                    match header.strip_prefix("profile") {
                        Some(rest) if rest.starts_with([' ', '\t']) => Some(rest.trim().to_owned()),
                        _ if header == "default" => Some("default".to_owned()),
                        // `[sso-session …]`, `[services …]`: not profiles.
                        _ => None,
                    }
                } else {
                    Some(header.to_owned())
                };
                continue;
            }
            let (Some(profile), Some((key, value))) = (&current, line.split_once('=')) else {
                continue;
            };
            self.profiles
                .entry(profile.clone())
                .or_default()
                .insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }

    /// Whether profile `name` is in the files.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.profiles.contains_key(name)
    }

    /// Setting `key` of profile `name`.
    pub(crate) fn get(&self, name: &str, key: &str) -> Option<&str> {
        self.profiles
            .get(name)
            .and_then(|settings| settings.get(key))
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    fn files_shown(&self) -> String {
        if self.read.is_empty() {
            "no AWS profile file exists".to_owned()
        } else {
            let names: Vec<String> = self.read.iter().map(|p| p.display().to_string()).collect();
            format!("read {}", names.join(" and "))
        }
    }

    /// Where profile `name`'s credentials come from.
    pub(crate) fn resolve(&self, name: &str) -> Result<ProfileCredentials, ProfileError> {
        self.resolve_from(name, &mut Vec::new())
    }

    fn resolve_from(
        &self,
        name: &str,
        visited: &mut Vec<String>,
    ) -> Result<ProfileCredentials, ProfileError> {
        if !self.has(name) {
            return Err(ProfileError(format!(
                "AWS profile {name:?} is not in the shared profile files ({})",
                self.files_shown()
            )));
        }
        let chained = !visited.is_empty();
        if visited.iter().any(|seen| seen == name) {
            visited.push(name.to_owned());
            return Err(ProfileError(format!(
                "AWS profiles refer to each other in a loop through source_profile: {}",
                visited.join(" -> ")
            )));
        }
        visited.push(name.to_owned());
        let key_id = self.get(name, "aws_access_key_id");
        let secret = self.get(name, "aws_secret_access_key");
        let static_keys = match (key_id, secret) {
            (Some(key_id), Some(secret)) => Some(ProfileCredentials::Static {
                profile: name.to_owned(),
                key_id: key_id.to_owned(),
                secret_key: SecretString::from(secret.to_owned()),
                token: self
                    .get(name, "aws_session_token")
                    .map(|token| SecretString::from(token.to_owned())),
            }),
            (Some(_), None) | (None, Some(_)) => {
                return Err(ProfileError(format!(
                    "AWS profile {name:?} has only one of aws_access_key_id and aws_secret_access_key: set both"
                )));
            }
            (None, None) => None,
        };
        // A source profile's own keys win over its role (what the AWS CLI does), so a profile
        // can name itself as its source.
        if chained && let Some(keys) = static_keys {
            return Ok(keys);
        }
        if let Some(role_arn) = self.get(name, "role_arn") {
            if self.get(name, "credential_source").is_some() {
                return Err(ProfileError(format!(
                    "AWS profile {name:?} uses credential_source, which this connector does not support: use source_profile, or leave the profile out (the connector already tries the environment, web identity, the container and instance metadata) and set aws.role_arn"
                )));
            }
            let Some(source_name) = self.get(name, "source_profile") else {
                return Err(ProfileError(format!(
                    "AWS profile {name:?} has role_arn but no source_profile: name the profile whose credentials assume the role"
                )));
            };
            let source = if source_name == name {
                match static_keys {
                    Some(keys) => keys,
                    None => {
                        return Err(ProfileError(format!(
                            "AWS profile {name:?} is its own source_profile but has no keys"
                        )));
                    }
                }
            } else {
                self.resolve_from(source_name, visited)?
            };
            return Ok(ProfileCredentials::AssumeRole {
                profile: name.to_owned(),
                role_arn: role_arn.to_owned(),
                external_id: self.get(name, "external_id").map(str::to_owned),
                session_name: self.get(name, "role_session_name").map(str::to_owned),
                source: Box::new(source),
            });
        }
        if let Some(keys) = static_keys {
            return Ok(keys);
        }
        for (setting, what) in [
            ("credential_process", "runs a credential_process"),
            ("sso_session", "signs in with AWS IAM Identity Center (SSO)"),
            (
                "sso_start_url",
                "signs in with AWS IAM Identity Center (SSO)",
            ),
            ("web_identity_token_file", "names a web_identity_token_file"),
        ] {
            if self.get(name, setting).is_some() {
                return Err(ProfileError(format!(
                    "AWS profile {name:?} {what}, which this connector does not support: give it keys (e.g. `aws configure export-credentials --profile {name} --format env` into its environment), or for web identity set AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN"
                )));
            }
        }
        Err(ProfileError(format!(
            "AWS profile {name:?} has no credentials: it needs aws_access_key_id and aws_secret_access_key, or role_arn and source_profile ({})",
            self.files_shown()
        )))
    }
}

#[cfg(test)]
impl ProfileCredentials {
    /// The static keys at the bottom of the chain.
    pub(crate) fn base_keys(&self) -> (&str, &SecretString, Option<&SecretString>) {
        match self {
            ProfileCredentials::Static {
                key_id,
                secret_key,
                token,
                ..
            } => (key_id, secret_key, token.as_ref()),
            ProfileCredentials::AssumeRole { source, .. } => source.base_keys(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use secrecy::ExposeSecret;

    use super::*;

    fn same(secret: &SecretString, expected: &str) -> bool {
        secret.expose_secret() == expected
    }

    const CONFIG: &str = "\
# a comment
[default]
region = eu-west-1

[profile lake]
role_arn = arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-slack-eu-west-1
source_profile = base
external_id = ext-123
role_session_name = collector
s3 =
  max_concurrent_requests = 20

[profile sso]
sso_session = corp

[sso-session corp]
sso_start_url = https://example.awsapps.com/start

[profile loop-a]
role_arn = arn:aws:iam::1:role/a
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::1:role/b
source_profile = loop-a

[profile self]
role_arn = arn:aws:iam::1:role/self
source_profile = self
aws_access_key_id = AKIASELF
aws_secret_access_key = self-secret-key-value
";

    const CREDENTIALS: &str = "\
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret-key-value
; another comment
[base]
aws_access_key_id=AKIABASE
aws_secret_access_key=base-secret-key-value
aws_session_token=base-session-token-value
[half]
aws_access_key_id = AKIAHALF
";

    fn files() -> ProfileFiles {
        let mut files = ProfileFiles::default();
        files.merge(CONFIG, true);
        files.merge(CREDENTIALS, false);
        files
    }

    #[test]
    fn static_keys_come_from_the_credentials_file() {
        let resolved = files().resolve("default").unwrap();
        let ProfileCredentials::Static {
            key_id,
            secret_key,
            token,
            ..
        } = resolved
        else {
            panic!("default should be static keys");
        };
        assert_eq!(key_id, "AKIADEFAULT");
        assert!(same(&secret_key, "default-secret-key-value"));
        assert!(token.is_none());
        assert_eq!(files().get("default", "region"), Some("eu-west-1"));
    }

    #[test]
    fn role_arn_with_source_profile_and_external_id() {
        let resolved = files().resolve("lake").unwrap();
        let ProfileCredentials::AssumeRole {
            role_arn,
            external_id,
            session_name,
            source,
            ..
        } = resolved
        else {
            panic!("lake should assume a role");
        };
        assert_eq!(
            role_arn,
            "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-slack-eu-west-1"
        );
        assert_eq!(external_id.as_deref(), Some("ext-123"));
        assert_eq!(session_name.as_deref(), Some("collector"));
        let (key_id, secret, token) = source.base_keys();
        assert_eq!(key_id, "AKIABASE");
        assert!(same(secret, "base-secret-key-value"));
        assert!(token.is_some_and(|t| same(t, "base-session-token-value")));
        // The nested `s3 =` block is not read as settings of the profile.
        assert_eq!(files().get("lake", "max_concurrent_requests"), None);
    }

    #[test]
    fn a_profile_that_is_its_own_source_uses_its_keys() {
        let ProfileCredentials::AssumeRole { source, .. } = files().resolve("self").unwrap() else {
            panic!("self should assume a role");
        };
        assert_eq!(source.base_keys().0, "AKIASELF");
    }

    #[test]
    fn unusable_profiles_are_refused_by_name() {
        let files = files();
        let missing = files.resolve("nope").unwrap_err().0;
        assert!(
            missing.contains("\"nope\" is not in the shared profile files"),
            "{missing}"
        );
        let sso = files.resolve("sso").unwrap_err().0;
        assert!(
            sso.contains("SSO") && sso.contains("export-credentials"),
            "{sso}"
        );
        let looped = files.resolve("loop-a").unwrap_err().0;
        assert!(looped.contains("loop-a -> loop-b -> loop-a"), "{looped}");
        let half = files.resolve("half").unwrap_err().0;
        assert!(half.contains("only one of"), "{half}");
        // `[sso-session corp]` is not a profile.
        assert!(!files.has("sso-session corp") && !files.has("corp"));
    }

    #[test]
    fn debug_shows_no_secret() {
        let files = files();
        for name in ["default", "lake", "self"] {
            let resolved = files.resolve(name).unwrap();
            let shown = format!("{resolved:?} {files:?}");
            for secret in [
                "default-secret-key-value",
                "base-secret-key-value",
                "base-session-token-value",
                "self-secret-key-value",
                "ext-123",
            ] {
                assert!(!shown.contains(secret), "{name}: {shown}");
            }
        }
    }
}
