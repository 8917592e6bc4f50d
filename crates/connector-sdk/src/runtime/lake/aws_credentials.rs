//! Runtime layer: AWS credentials the way the AWS SDKs find them, for the S3 writer.
//!
//! The default chain, first configured source wins:
//! 1. `aws.profile` from the lake document, if set (the profile must exist);
//! 2. the environment: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`);
//! 3. the shared profile files (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, else
//!    `~/.aws/credentials` and `~/.aws/config`), profile `AWS_PROFILE` (which must exist) or
//!    `default` (skipped when absent): static keys, or `role_arn` + `source_profile` (+
//!    `external_id`) assumed through STS (`aws_sts`);
//! 4. web identity (Kubernetes service accounts): `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`;
//! 5. the container: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS), or
//!    `AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (EKS Pod
//!    Identity);
//! 6. the instance metadata service (IMDSv2), unless `AWS_EC2_METADATA_DISABLED=true`.
//!
//! Then, if `aws.role_arn` is set, that role is assumed with the chain's credentials (with
//! `aws.external_id`). object_store's providers serve web identity, the container and instance
//! metadata; the profile files and AssumeRole are ours. Every credential obtained has its secret
//! parts registered with the SDK's redaction ([`crate::runtime::redact`]) before use, and no type
//! here prints a secret in `Debug`. A refused or unusable credential becomes a
//! [`CredentialError`] naming the source it came from and what to fix; the S3 writer turns it
//! into an `Auth` failure (never a silent retry).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, AwsCredential};
use object_store::{CredentialProvider, StaticCredentialProvider};
use secrecy::{ExposeSecret, SecretString};

use crate::runtime::lake::aws_profile::{ProfileCredentials, ProfileError, ProfileFiles};
use crate::runtime::lake::aws_sts::{AssumeRoleProvider, AssumeRoleSpec};
use crate::runtime::lake::credential_error::{
    AwsProvider, CredentialError, find_credential_error, find_http_error, register, status_in,
};
use crate::runtime::lake::lake_config::AwsConfig;
use crate::runtime::lake::object::PutErrorKind;
use crate::runtime::redact;

/// Where the chain found the credentials, for messages ("… with credentials from {source}").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`).
    Environment,
    /// A shared-config profile.
    Profile {
        /// The profile.
        name: String,
        /// What it resolved to (its keys, or a role assumed with another profile's keys).
        resolved: String,
        /// The files it was read from.
        files: Vec<PathBuf>,
    },
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`.
    WebIdentity {
        /// The role.
        role_arn: String,
    },
    /// The container credentials endpoint.
    Container {
        /// Its URL.
        url: String,
    },
    /// The EC2 instance metadata service.
    InstanceMetadata {
        /// Its endpoint.
        endpoint: String,
    },
    /// `aws.role_arn`, assumed with the credentials of `base`.
    AssumeRole {
        /// The role.
        role_arn: String,
        /// Where the credentials that assume it come from.
        base: Box<CredentialSource>,
    },
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Environment => f.write_str(
                "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)",
            ),
            CredentialSource::Profile {
                name,
                resolved,
                files,
            } => {
                let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
                write!(f, "AWS profile {name:?} ({resolved}; {})", files.join(", "))
            }
            CredentialSource::WebIdentity { role_arn } => write!(
                f,
                "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role {role_arn} from AWS_ROLE_ARN)"
            ),
            CredentialSource::Container { url } => {
                write!(f, "the container credentials endpoint {url}")
            }
            CredentialSource::InstanceMetadata { endpoint } => {
                write!(f, "the EC2 instance metadata service ({endpoint})")
            }
            CredentialSource::AssumeRole { role_arn, base } => {
                write!(
                    f,
                    "role {role_arn} (aws.role_arn) assumed with credentials from {base}"
                )
            }
        }
    }
}

impl CredentialSource {
    /// What to fix when the store refuses these credentials as invalid or expired.
    pub fn fix(&self) -> String {
        match self {
            CredentialSource::Environment => "export valid keys (temporary keys from AWS_SESSION_TOKEN expire: fetch fresh ones), or unset them to use another source".to_owned(),
            CredentialSource::Profile { name, .. } => format!("renew the keys of profile {name:?} (or of its source_profile), or pick another profile with aws.profile / AWS_PROFILE"),
            CredentialSource::WebIdentity { .. } => "check that the service account's token file is current and that AWS_ROLE_ARN trusts it".to_owned(),
            CredentialSource::Container { .. } => "check the task's or pod's IAM role".to_owned(),
            CredentialSource::InstanceMetadata { .. } => "check the instance profile's IAM role (not on EC2? give credentials through the environment or a profile)".to_owned(),
            CredentialSource::AssumeRole { role_arn, .. } => format!("check that role {role_arn} may write to the location and that aws.external_id matches its trust policy"),
        }
    }
}

impl From<ProfileError> for CredentialError {
    fn from(err: ProfileError) -> Self {
        CredentialError::new(PutErrorKind::Config, err.0)
    }
}

/// The environment the chain reads: the process's, or one given whole (tests, and embedders
/// that keep several destinations apart). object_store's web-identity provider reads
/// `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` from the process environment itself.
#[derive(Clone, Default)]
pub struct AwsEnv {
    vars: BTreeMap<String, String>,
}

impl fmt::Debug for AwsEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values hold secrets: only the names.
        f.debug_struct("AwsEnv")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AwsEnv {
    /// The process environment's AWS settings (and `HOME`).
    pub fn from_process() -> AwsEnv {
        AwsEnv {
            vars: std::env::vars()
                .filter(|(name, _)| name.starts_with("AWS_") || name == "HOME")
                .collect(),
        }
    }

    /// An environment of exactly `vars`.
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> AwsEnv {
        AwsEnv {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// An environment of exactly `vars` (tests).
    #[cfg(test)]
    pub(crate) fn of(vars: &[(&str, &str)]) -> AwsEnv {
        AwsEnv::from_vars(vars.iter().copied())
    }

    /// A non-empty variable.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn home_file(&self, name: &str) -> PathBuf {
        match self.get("HOME") {
            Some(home) => PathBuf::from(home).join(".aws").join(name),
            None => PathBuf::from(".aws").join(name),
        }
    }

    /// The shared profile files.
    pub(crate) fn profile_files(&self) -> Result<ProfileFiles, CredentialError> {
        let credentials = self
            .get("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.home_file("credentials"));
        let config = self
            .get("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.home_file("config"));
        Ok(ProfileFiles::load(&credentials, &config)?)
    }
}

/// The source the chain picked, before any provider is built.
#[derive(Debug)]
pub(crate) enum ChosenSource {
    Environment {
        key_id: String,
        secret_key: SecretString,
        token: Option<SecretString>,
    },
    Profile {
        name: String,
        credentials: ProfileCredentials,
        files: Vec<PathBuf>,
    },
    WebIdentity {
        role_arn: String,
    },
    ContainerRelative {
        uri: String,
    },
    ContainerFull {
        url: String,
        token_file: String,
    },
    InstanceMetadata {
        endpoint: String,
    },
}

impl ChosenSource {
    /// Its name in the chain (tests, logs).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ChosenSource::Environment { .. } => "environment",
            ChosenSource::Profile { .. } => "profile",
            ChosenSource::WebIdentity { .. } => "web_identity",
            ChosenSource::ContainerRelative { .. } | ChosenSource::ContainerFull { .. } => {
                "container"
            }
            ChosenSource::InstanceMetadata { .. } => "instance_metadata",
        }
    }
}

/// The default instance metadata endpoint.
const IMDS_ENDPOINT: &str = "http://169.254.169.254";

/// Walks the chain: the first source that is configured.
pub(crate) fn choose(aws: &AwsConfig, env: &AwsEnv) -> Result<ChosenSource, CredentialError> {
    let profile_source =
        |name: &str, files: ProfileFiles| -> Result<ChosenSource, CredentialError> {
            Ok(ChosenSource::Profile {
                name: name.to_owned(),
                credentials: files.resolve(name)?,
                files: files.read.clone(),
            })
        };
    if let Some(name) = aws.profile.as_deref() {
        return profile_source(name, env.profile_files()?);
    }
    match (
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(key_id), Some(secret)) => {
            return Ok(ChosenSource::Environment {
                key_id: key_id.to_owned(),
                secret_key: SecretString::from(secret.to_owned()),
                token: env
                    .get("AWS_SESSION_TOKEN")
                    .map(|t| SecretString::from(t.to_owned())),
            });
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(CredentialError::new(
                PutErrorKind::Config,
                "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set: set both, or neither to use another source of credentials",
            ));
        }
        (None, None) => {}
    }
    if let Some(name) = env.get("AWS_PROFILE") {
        return profile_source(name, env.profile_files()?);
    }
    let files = env.profile_files()?;
    if files.has("default")
        && (files.get("default", "aws_access_key_id").is_some()
            || files.get("default", "aws_secret_access_key").is_some()
            || files.get("default", "role_arn").is_some())
    {
        return profile_source("default", files);
    }
    if let (Some(_), Some(role_arn)) = (
        env.get("AWS_WEB_IDENTITY_TOKEN_FILE"),
        env.get("AWS_ROLE_ARN"),
    ) {
        return Ok(ChosenSource::WebIdentity {
            role_arn: role_arn.to_owned(),
        });
    }
    if let Some(uri) = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        return Ok(ChosenSource::ContainerRelative {
            uri: uri.to_owned(),
        });
    }
    if let Some(url) = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        let Some(token_file) = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") else {
            return Err(CredentialError::new(
                PutErrorKind::Config,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI is set without AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: this connector reads the container endpoint the way EKS Pod Identity sets it up (a token file), not with a plain AWS_CONTAINER_AUTHORIZATION_TOKEN",
            ));
        };
        return Ok(ChosenSource::ContainerFull {
            url: url.to_owned(),
            token_file: token_file.to_owned(),
        });
    }
    if env
        .get("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(CredentialError::new(
            PutErrorKind::Auth,
            "no AWS credentials found: none in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), no profile (AWS_PROFILE, aws.profile, a [default] with keys), no web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), no container endpoint, and AWS_EC2_METADATA_DISABLED turns off the instance metadata service",
        ));
    }
    Ok(ChosenSource::InstanceMetadata {
        endpoint: env
            .get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .unwrap_or(IMDS_ENDPOINT)
            .trim_end_matches('/')
            .to_owned(),
    })
}

/// How the providers reach AWS.
#[derive(Debug, Clone)]
pub(crate) struct Reach {
    /// The region requests are signed for.
    pub(crate) region: String,
    /// The STS endpoint (`AWS_ENDPOINT_URL_STS`, else `aws.endpoint`, else AWS's regional one).
    pub(crate) sts_endpoint: String,
}

/// The credentials the S3 writer signs with, and where they come from.
pub(crate) struct Credentials {
    pub(crate) provider: AwsProvider,
    pub(crate) source: CredentialSource,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("source", &self.source.to_string())
            .finish_non_exhaustive()
    }
}

/// Builds the provider for `chosen`, and the assume-role of `aws.role_arn` on top of it.
pub(crate) fn build(
    aws: &AwsConfig,
    chosen: ChosenSource,
    reach: &Reach,
) -> Result<Credentials, CredentialError> {
    tracing::debug!(
        source = chosen.name(),
        "the AWS credential chain picked its source"
    );
    let (inner, source): (AwsProvider, CredentialSource) = match chosen {
        ChosenSource::Environment {
            key_id,
            secret_key,
            token,
        } => (
            static_provider(key_id, &secret_key, token.as_ref()),
            CredentialSource::Environment,
        ),
        ChosenSource::Profile {
            name,
            credentials,
            files,
        } => {
            let source = CredentialSource::Profile {
                name,
                resolved: credentials.describe(),
                files,
            };
            (profile_provider(&credentials, reach)?, source)
        }
        ChosenSource::WebIdentity { role_arn } => {
            let mut builder = credentials_only_builder(reach);
            builder = builder.with_config(AmazonS3ConfigKey::StsEndpoint, &reach.sts_endpoint);
            (
                store_provider(builder)?,
                CredentialSource::WebIdentity { role_arn },
            )
        }
        ChosenSource::ContainerRelative { uri } => {
            let builder = credentials_only_builder(reach)
                .with_config(AmazonS3ConfigKey::ContainerCredentialsRelativeUri, &uri);
            (
                store_provider(builder)?,
                CredentialSource::Container {
                    url: format!("http://169.254.170.2{uri}"),
                },
            )
        }
        ChosenSource::ContainerFull { url, token_file } => {
            let builder = credentials_only_builder(reach)
                .with_config(AmazonS3ConfigKey::ContainerCredentialsFullUri, &url)
                .with_config(
                    AmazonS3ConfigKey::ContainerAuthorizationTokenFile,
                    &token_file,
                );
            (
                store_provider(builder)?,
                CredentialSource::Container { url },
            )
        }
        ChosenSource::InstanceMetadata { endpoint } => {
            let builder = credentials_only_builder(reach).with_metadata_endpoint(&endpoint);
            (
                store_provider(builder)?,
                CredentialSource::InstanceMetadata { endpoint },
            )
        }
    };
    let sourced: AwsProvider = Arc::new(Sourced::new(inner, source.clone()));
    match aws.role_arn.as_deref() {
        None => {
            if aws.external_id.is_some() {
                return Err(CredentialError::new(
                    PutErrorKind::Config,
                    "aws.external_id is set without aws.role_arn: the external ID is given when assuming a role",
                ));
            }
            Ok(Credentials {
                provider: sourced,
                source,
            })
        }
        Some(role_arn) => {
            let assumed = AssumeRoleProvider::new(AssumeRoleSpec {
                base: sourced,
                base_source: source.to_string(),
                role_arn: role_arn.to_owned(),
                external_id: aws.external_id.clone(),
                session_name: None,
                sts_endpoint: reach.sts_endpoint.clone(),
                region: reach.region.clone(),
            })?;
            Ok(Credentials {
                provider: Arc::new(assumed),
                source: CredentialSource::AssumeRole {
                    role_arn: role_arn.to_owned(),
                    base: Box::new(source),
                },
            })
        }
    }
}

fn static_provider(
    key_id: String,
    secret_key: &SecretString,
    token: Option<&SecretString>,
) -> AwsProvider {
    let mut secrets = vec![secret_key.clone()];
    secrets.extend(token.cloned());
    redact::register_secrets(&secrets);
    Arc::new(StaticCredentialProvider::new(AwsCredential {
        key_id,
        secret_key: secret_key.expose_secret().to_owned(),
        token: token.map(|t| t.expose_secret().to_owned()),
    }))
}

fn profile_provider(
    credentials: &ProfileCredentials,
    reach: &Reach,
) -> Result<AwsProvider, CredentialError> {
    match credentials {
        ProfileCredentials::Static {
            key_id,
            secret_key,
            token,
            ..
        } => Ok(static_provider(key_id.clone(), secret_key, token.as_ref())),
        ProfileCredentials::AssumeRole {
            role_arn,
            external_id,
            session_name,
            source,
            ..
        } => {
            let base = profile_provider(source, reach)?;
            Ok(Arc::new(AssumeRoleProvider::new(AssumeRoleSpec {
                base,
                base_source: source.describe(),
                role_arn: role_arn.clone(),
                external_id: external_id.clone(),
                session_name: session_name.clone(),
                sts_endpoint: reach.sts_endpoint.clone(),
                region: reach.region.clone(),
            })?))
        }
    }
}

/// An S3 builder that is only used to get one of object_store's credential providers (its
/// bucket is never contacted).
fn credentials_only_builder(reach: &Reach) -> AmazonS3Builder {
    AmazonS3Builder::new()
        .with_bucket_name("credentials-only")
        .with_region(&reach.region)
        .with_retry(object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: Duration::from_secs(20),
        })
}

fn store_provider(builder: AmazonS3Builder) -> Result<AwsProvider, CredentialError> {
    let store = builder.build().map_err(|err| {
        CredentialError::new(
            PutErrorKind::Config,
            format!("cannot set up the AWS credential provider: {err}"),
        )
    })?;
    Ok(Arc::clone(store.credentials()))
}

/// A provider that says where its credentials come from when it fails, and registers every
/// credential it hands out with the redaction.
struct Sourced {
    inner: AwsProvider,
    source: CredentialSource,
    /// The credential last registered (providers hand out the same `Arc` until they refresh).
    registered: Mutex<Option<Arc<AwsCredential>>>,
}

impl Sourced {
    fn new(inner: AwsProvider, source: CredentialSource) -> Sourced {
        Sourced {
            inner,
            source,
            registered: Mutex::new(None),
        }
    }
}

impl fmt::Debug for Sourced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sourced")
            .field("source", &self.source.to_string())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl CredentialProvider for Sourced {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        match self.inner.get_credential().await {
            Ok(credential) => {
                let mut last = match self.registered.lock() {
                    Ok(guard) => guard,
                    Err(poisoned) => poisoned.into_inner(),
                };
                if !last.as_ref().is_some_and(|l| Arc::ptr_eq(l, &credential)) {
                    register("aws default chain", &credential);
                    *last = Some(Arc::clone(&credential));
                }
                Ok(credential)
            }
            Err(err) => {
                // Our own providers already say where and what.
                if find_credential_error(&err).is_some() {
                    return Err(err);
                }
                Err(self.describe_failure(&err).into_store_error())
            }
        }
    }
}

impl Sourced {
    /// One of object_store's providers failed: which source, why, what to fix.
    fn describe_failure(&self, err: &object_store::Error) -> CredentialError {
        let network = find_http_error(err);
        let shown = redact::text(&err.to_string()).into_owned();
        let status = status_in(&shown);
        let unreachable = network.is_some() && status.is_none();
        let kind = match (&self.source, status) {
            // Not on EC2 (or IMDS blocked): there are no credentials to wait for.
            (CredentialSource::InstanceMetadata { .. }, _) => PutErrorKind::Auth,
            (_, Some(429)) | (_, Some(503)) => PutErrorKind::Throttled,
            (_, Some(s)) if s >= 500 => PutErrorKind::Transient,
            (_, Some(_)) => PutErrorKind::Auth,
            _ if unreachable => PutErrorKind::Transient,
            _ => PutErrorKind::Auth,
        };
        let what = match (kind, &self.source) {
            (PutErrorKind::Auth, CredentialSource::InstanceMetadata { .. }) => format!(
                "no AWS credentials: nothing in the environment or the profile files, no web identity or container endpoint, and {} gave none",
                self.source
            ),
            (PutErrorKind::Auth, _) => format!("{} refused to give credentials", self.source),
            _ => format!("{} could not be reached", self.source),
        };
        CredentialError::new(kind, format!("{what} ({shown}); {}", self.source.fix()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn files_env(dir: &std::path::Path, extra: &[(&str, &str)]) -> AwsEnv {
        let credentials = dir.join("credentials");
        let config = dir.join("config");
        let mut vars: Vec<(String, String)> = vec![
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                credentials.display().to_string(),
            ),
            ("AWS_CONFIG_FILE".into(), config.display().to_string()),
        ];
        vars.extend(extra.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        AwsEnv {
            vars: vars.into_iter().collect(),
        }
    }

    fn write_profiles(dir: &std::path::Path) {
        std::fs::write(
            dir.join("credentials"),
            "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret-value\n[ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = ops-secret-value\n",
        )
        .unwrap();
        std::fs::write(dir.join("config"), "[default]\nregion = eu-west-1\n").unwrap();
    }

    const ENV_KEYS: [(&str, &str); 2] = [
        ("AWS_ACCESS_KEY_ID", "AKIAENV"),
        ("AWS_SECRET_ACCESS_KEY", "env-secret-value"),
    ];
    const WEB: [(&str, &str); 2] = [
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
        ("AWS_ROLE_ARN", "arn:aws:iam::1:role/web"),
    ];
    const CONTAINER: [(&str, &str); 1] = [("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds")];

    fn chosen(aws: &AwsConfig, env: &AwsEnv) -> &'static str {
        choose(aws, env).unwrap().name()
    }

    #[test]
    fn the_chain_takes_the_first_configured_source() {
        let dir = tempfile::tempdir().unwrap();
        let none = AwsConfig::default();
        // Nothing configured: the instance metadata service.
        let empty = files_env(dir.path(), &[]);
        assert_eq!(chosen(&none, &empty), "instance_metadata");
        // Container over instance metadata.
        assert_eq!(
            chosen(&none, &files_env(dir.path(), &CONTAINER)),
            "container"
        );
        // Web identity over the container.
        let web_and_container: Vec<_> = WEB.iter().chain(&CONTAINER).copied().collect();
        assert_eq!(
            chosen(&none, &files_env(dir.path(), &web_and_container)),
            "web_identity"
        );
        // A [default] profile with keys over web identity.
        write_profiles(dir.path());
        assert_eq!(
            chosen(&none, &files_env(dir.path(), &web_and_container)),
            "profile"
        );
        // The environment's keys over the profile files.
        let env_and_all: Vec<_> = ENV_KEYS.iter().chain(&web_and_container).copied().collect();
        assert_eq!(
            chosen(&none, &files_env(dir.path(), &env_and_all)),
            "environment"
        );
        // AWS_PROFILE does not beat the environment's keys (as in the AWS SDKs)…
        let with_profile: Vec<_> = env_and_all
            .iter()
            .copied()
            .chain([("AWS_PROFILE", "ops")])
            .collect();
        assert_eq!(
            chosen(&none, &files_env(dir.path(), &with_profile)),
            "environment"
        );
        // …but aws.profile in the lake document does.
        let explicit = AwsConfig {
            profile: Some("ops".into()),
            ..AwsConfig::default()
        };
        let ChosenSource::Profile { name, .. } =
            choose(&explicit, &files_env(dir.path(), &with_profile)).unwrap()
        else {
            panic!("aws.profile should win");
        };
        assert_eq!(name, "ops");
        // AWS_PROFILE picks the profile when no keys are in the environment.
        let ChosenSource::Profile { name, .. } =
            choose(&none, &files_env(dir.path(), &[("AWS_PROFILE", "ops")])).unwrap()
        else {
            panic!("AWS_PROFILE should pick the profile");
        };
        assert_eq!(name, "ops");
    }

    #[test]
    fn misconfigured_sources_are_refused_not_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write_profiles(dir.path());
        let none = AwsConfig::default();
        let err = choose(&none, &files_env(dir.path(), &[("AWS_PROFILE", "missing")])).unwrap_err();
        assert_eq!(err.kind, PutErrorKind::Config);
        assert!(err.message.contains("\"missing\""), "{}", err.message);
        let err = choose(
            &none,
            &files_env(dir.path(), &[("AWS_ACCESS_KEY_ID", "AKIA")]),
        )
        .unwrap_err();
        assert_eq!(err.kind, PutErrorKind::Config);
        let err = choose(
            &none,
            &AwsEnv::of(&[
                ("HOME", "/nonexistent"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.kind, PutErrorKind::Auth);
        assert!(
            err.message.contains("no AWS credentials found"),
            "{}",
            err.message
        );
        let err = choose(
            &none,
            &AwsEnv::of(&[
                ("HOME", "/nonexistent"),
                (
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://127.0.0.1:1/creds",
                ),
            ]),
        )
        .unwrap_err();
        assert_eq!(err.kind, PutErrorKind::Config);
    }

    #[test]
    fn environment_keys_are_registered_and_never_shown() {
        let env = AwsEnv::of(&[
            ("AWS_ACCESS_KEY_ID", "AKIAREGISTERED"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret-registered-value"),
            ("AWS_SESSION_TOKEN", "env-session-token-registered-value"),
        ]);
        let chosen = choose(&AwsConfig::default(), &env).unwrap();
        let reach = Reach {
            region: "us-east-1".into(),
            sts_endpoint: "http://127.0.0.1:1".into(),
        };
        let credentials = build(&AwsConfig::default(), chosen, &reach).unwrap();
        let shown = format!("{credentials:?} {env:?} {}", credentials.source);
        for secret in [
            "env-secret-registered-value",
            "env-session-token-registered-value",
        ] {
            assert!(!shown.contains(secret), "{shown}");
            let message = format!("S3 said: {secret}");
            assert_eq!(redact::text(&message), "S3 said: [redacted]");
        }
    }
}
