//! Runtime layer: STS `AssumeRole` (with an `ExternalId`) as a credential provider: the role
//! Security Lake's custom sources are written with (`AmazonSecurityLake-Provider-…`), or a
//! profile's `role_arn`. The request is signed with object_store's [`AwsAuthorizer`] using the
//! base credentials; the temporary credentials are cached and renewed five minutes before they
//! expire (or when they are gone). A refusal is an `Auth` [`CredentialError`] naming the role,
//! the base credentials' source and what to check; it is never retried in a loop here.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::CredentialProvider;
use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::{HttpClient, HttpRequest, HttpRequestBody};
use serde::Deserialize;

use crate::runtime::lake::credential_error::{
    AwsProvider, CredentialError, element, find_credential_error, register,
};
use crate::runtime::lake::object::PutErrorKind;

/// Renew this long before the credentials expire.
const RENEW_BEFORE: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// How long the assumed credentials are asked to last.
const DURATION_SECONDS: u32 = 3600;

/// What to assume, with what.
pub(crate) struct AssumeRoleSpec {
    /// The credentials that call STS.
    pub(crate) base: AwsProvider,
    /// Where they come from (for messages).
    pub(crate) base_source: String,
    /// The role.
    pub(crate) role_arn: String,
    /// The external ID its trust policy requires.
    pub(crate) external_id: Option<String>,
    /// The session name (default `lake-writer-<unix seconds>`).
    pub(crate) session_name: Option<String>,
    /// The STS endpoint (`https://sts.<region>.amazonaws.com`, or an S3-compatible store's).
    pub(crate) sts_endpoint: String,
    /// The region the request is signed for.
    pub(crate) region: String,
}

struct Cached {
    credential: Arc<AwsCredential>,
    expires: DateTime<Utc>,
}

/// Credentials of an assumed role, cached until shortly before they expire.
pub(crate) struct AssumeRoleProvider {
    spec: AssumeRoleSpec,
    client: HttpClient,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

impl fmt::Debug for AssumeRoleProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumeRoleProvider")
            .field("role_arn", &self.spec.role_arn)
            .field("base_source", &self.spec.base_source)
            .field("sts_endpoint", &self.spec.sts_endpoint)
            .finish_non_exhaustive()
    }
}

impl AssumeRoleProvider {
    pub(crate) fn new(spec: AssumeRoleSpec) -> Result<AssumeRoleProvider, CredentialError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| {
                CredentialError::new(
                    PutErrorKind::Config,
                    format!("cannot set up the HTTP client for STS: {err}"),
                )
            })?;
        Ok(AssumeRoleProvider {
            spec,
            client: HttpClient::new(client),
            cache: tokio::sync::Mutex::new(None),
        })
    }

    fn refused(&self, what: &str, fix: &str) -> CredentialError {
        CredentialError::new(
            PutErrorKind::Auth,
            format!(
                "STS refused to assume role {} with credentials from {}: {what}; {fix}",
                self.spec.role_arn, self.spec.base_source
            ),
        )
    }

    /// One `AssumeRole` call.
    async fn assume(&self) -> Result<Cached, CredentialError> {
        let base =
            self.spec.base.get_credential().await.map_err(|err| {
                match find_credential_error(&err) {
                    Some(found) => found.clone(),
                    None => CredentialError::new(
                        PutErrorKind::Auth,
                        format!(
                            "cannot get the credentials from {} that assume role {}: {err}",
                            self.spec.base_source, self.spec.role_arn
                        ),
                    ),
                }
            })?;
        let session_name = self
            .spec
            .session_name
            .clone()
            .unwrap_or_else(|| format!("lake-writer-{}", Utc::now().timestamp()));
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", "AssumeRole")
                .append_pair("Version", "2011-06-15")
                .append_pair("RoleArn", &self.spec.role_arn)
                .append_pair("RoleSessionName", &session_name)
                .append_pair("DurationSeconds", &DURATION_SECONDS.to_string());
            if let Some(external_id) = &self.spec.external_id {
                form.append_pair("ExternalId", external_id);
            }
            form.finish()
        };
        let endpoint = format!("{}/", self.spec.sts_endpoint.trim_end_matches('/'));
        let mut request: HttpRequest = http::Request::builder()
            .method(http::Method::POST)
            .uri(&endpoint)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(HttpRequestBody::from(body))
            .map_err(|err| {
                CredentialError::new(
                    PutErrorKind::Config,
                    format!("the STS endpoint {endpoint} is not a valid URL: {err}"),
                )
            })?;
        AwsAuthorizer::new(&base, "sts", &self.spec.region).authorize(&mut request, None);
        let unreachable = |err: &dyn fmt::Display| {
            CredentialError::new(
                PutErrorKind::Transient,
                format!(
                    "STS at {endpoint} could not be reached to assume role {}: {err}",
                    self.spec.role_arn
                ),
            )
        };
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|err| unreachable(&err))?;
        let status = response.status();
        let text = response
            .into_body()
            .bytes()
            .await
            .map_err(|err| unreachable(&err))?;
        let text = String::from_utf8_lossy(&text);
        if !status.is_success() {
            let code = element(&text, "Code").unwrap_or_default().to_owned();
            let what = match element(&text, "Message") {
                Some(message) => format!("{} {code}: {message}", status.as_u16()),
                None => format!("{} {code}", status.as_u16()),
            };
            if status.as_u16() == 429 || status.as_u16() == 503 || code == "Throttling" {
                return Err(CredentialError::new(
                    PutErrorKind::Throttled,
                    format!(
                        "STS throttled the AssumeRole of {}: {what}",
                        self.spec.role_arn
                    ),
                ));
            }
            if status.is_server_error() {
                return Err(unreachable(&what));
            }
            let fix = match code.as_str() {
                "AccessDenied" => {
                    "check that the role's trust policy lets these credentials assume it and that the external ID (aws.external_id, or the profile's external_id) is the one it requires"
                }
                "InvalidClientTokenId" | "ExpiredToken" | "SignatureDoesNotMatch" => {
                    "the credentials that call STS are invalid or expired: renew them"
                }
                "RegionDisabledException" => {
                    "activate STS in this region, or set another aws.region"
                }
                _ => "check aws.role_arn and aws.external_id",
            };
            return Err(self.refused(&what, fix));
        }
        let parsed: AssumeRoleResponse = quick_xml::de::from_str(&text).map_err(|err| {
            unreachable(&format!("its answer is not an AssumeRole response ({err})"))
        })?;
        let credentials = parsed.result.credentials;
        let expires = DateTime::parse_from_rfc3339(&credentials.expiration)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|err| {
                unreachable(&format!(
                    "its answer has an unreadable Expiration {:?} ({err})",
                    credentials.expiration
                ))
            })?;
        let credential = Arc::new(AwsCredential {
            key_id: credentials.access_key_id,
            secret_key: credentials.secret_access_key,
            token: Some(credentials.session_token),
        });
        register("aws assumed role", &credential);
        tracing::info!(
            role_arn = %self.spec.role_arn,
            expires = %expires.to_rfc3339(),
            "assumed the role for the lake's writes"
        );
        Ok(Cached {
            credential,
            expires,
        })
    }
}

#[async_trait::async_trait]
impl CredentialProvider for AssumeRoleProvider {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cache = self.cache.lock().await;
        let now = Utc::now();
        if let Some(cached) = cache.as_ref()
            && cached.expires - RENEW_BEFORE > now
        {
            return Ok(Arc::clone(&cached.credential));
        }
        match self.assume().await {
            Ok(fresh) => {
                let credential = Arc::clone(&fresh.credential);
                *cache = Some(fresh);
                Ok(credential)
            }
            Err(err) => match cache.as_ref() {
                // Renewal failed but the old credentials still hold: use them, and say so.
                Some(cached) if cached.expires > now && err.kind != PutErrorKind::Auth => {
                    tracing::warn!(
                        role_arn = %self.spec.role_arn,
                        error = %err,
                        "could not renew the assumed role's credentials yet; the current ones are still valid"
                    );
                    Ok(Arc::clone(&cached.credential))
                }
                _ => Err(err.into_store_error()),
            },
        }
    }
}

#[derive(Deserialize)]
struct AssumeRoleResponse {
    #[serde(rename = "AssumeRoleResult")]
    result: AssumeRoleResult,
}

#[derive(Deserialize)]
struct AssumeRoleResult {
    #[serde(rename = "Credentials")]
    credentials: StsCredentials,
}

/// No `Debug`: it holds the secret key and the session token.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: String,
}
