//! Runtime layer: the [`ObjectWriter`] for `s3://bucket/key`: Amazon S3, or an S3-compatible
//! store at `aws.endpoint` (path-style addressing; `http://` only on loopback), through
//! object_store's S3 client with the credentials of [`super::aws_credentials`].
//!
//! Every failure is classified for the uploader ([`PutErrorKind`]): 5xx, timeouts and broken
//! connections are `Transient`; 503 (S3's `SlowDown`) and 429 `Throttled`; 401/403
//! (`AccessDenied`, `InvalidAccessKeyId`, `ExpiredToken`, `SignatureDoesNotMatch`) and a
//! refused assume-role `Auth`, naming where the credentials came from and what to fix;
//! `NoSuchBucket`, a bucket in another region or a malformed URL `Config`. The writer itself
//! does not retry (object_store's retries are off): the uploader retries, logging each, so no
//! retry is silent. Messages are built from the status, S3's error code and message, never from
//! the raw response (an S3 `SignatureDoesNotMatch` body echoes the signed headers, the session
//! token among them), and pass through the redaction.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::HttpErrorKind;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, PutPayload, RetryConfig};

use crate::runtime::lake::aws_credentials::{self, AwsEnv, CredentialSource, Credentials, Reach};
use crate::runtime::lake::credential_error::{
    CredentialError, find_credential_error, find_http_error, status_in,
};
use crate::runtime::lake::lake_config::AwsConfig;
use crate::runtime::lake::object::{ObjectUrl, ObjectWriter, PutError, PutErrorKind};
use crate::runtime::redact;

/// The longest one request may take (a whole object's PUT): a stall past it is `Transient`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The longest a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes objects to S3 or an S3-compatible store.
pub struct S3Writer {
    region: String,
    endpoint: Option<String>,
    allow_http: bool,
    credentials: Credentials,
    /// One client per bucket (object_store's S3 client is per bucket).
    stores: Mutex<HashMap<String, Arc<AmazonS3>>>,
}

impl fmt::Debug for S3Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Writer")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials.source.to_string())
            .finish_non_exhaustive()
    }
}

fn config_error(message: impl Into<String>) -> PutError {
    PutError {
        kind: PutErrorKind::Config,
        message: redact::text(&message.into()).into_owned(),
    }
}

/// Checks an endpoint URL: `https://`, or `http://` on a loopback address; no user or password,
/// no path. Returns it without a trailing `/`, and whether it is plain HTTP.
pub(crate) fn check_endpoint(endpoint: &str, setting: &str) -> Result<(String, bool), PutError> {
    let url = url::Url::parse(endpoint).map_err(|err| {
        config_error(format!(
            "{setting} is not a URL ({err}): give https://host[:port]"
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config_error(format!(
            "{setting} must not carry a user name or password"
        )));
    }
    if url.path() != "/" && !url.path().is_empty() || url.query().is_some() {
        return Err(config_error(format!(
            "{setting} must be only a scheme, host and port (the bucket is in the target's s3:// URL), not {endpoint}"
        )));
    }
    let http = match url.scheme() {
        "https" => false,
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if !loopback {
                return Err(config_error(format!(
                    "{setting} {endpoint} is plain http:// on a non-loopback address: use https:// (http:// is allowed only on 127.0.0.1, ::1 or localhost)"
                )));
            }
            true
        }
        other => {
            return Err(config_error(format!(
                "{setting} has scheme {other}: use https:// (or http:// on loopback)"
            )));
        }
    };
    Ok((endpoint.trim_end_matches('/').to_owned(), http))
}

/// The region: `aws.region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`; with a
/// custom endpoint and none of these, `us-east-1`.
fn region_of(aws: &AwsConfig, env: &AwsEnv) -> Result<String, PutError> {
    if let Some(region) = aws
        .region
        .as_deref()
        .or_else(|| env.get("AWS_REGION"))
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
    {
        return Ok(region.to_owned());
    }
    let profile = aws
        .profile
        .as_deref()
        .or_else(|| env.get("AWS_PROFILE"))
        .unwrap_or("default");
    if let Ok(files) = env.profile_files()
        && let Some(region) = files.get(profile, "region")
    {
        return Ok(region.to_owned());
    }
    if aws.endpoint.is_some() {
        return Ok("us-east-1".to_owned());
    }
    Err(config_error(
        "no AWS region: set aws.region in the lake document (or AWS_REGION)",
    ))
}

impl S3Writer {
    /// A writer with the process's environment and `aws`'s settings. Fails (`Config`) on a
    /// malformed endpoint, a missing region or a credential source that cannot work; no
    /// request is made yet.
    pub fn new(aws: &AwsConfig) -> Result<S3Writer, PutError> {
        S3Writer::with_env(aws, &AwsEnv::from_process())
    }

    pub(crate) fn with_env(aws: &AwsConfig, env: &AwsEnv) -> Result<S3Writer, PutError> {
        let region = region_of(aws, env)?;
        let (endpoint, allow_http) = match aws.endpoint.as_deref() {
            Some(endpoint) => {
                let (endpoint, http) = check_endpoint(endpoint, "aws.endpoint")?;
                (Some(endpoint), http)
            }
            None => (None, false),
        };
        let sts_endpoint = match env.get("AWS_ENDPOINT_URL_STS") {
            Some(sts) => check_endpoint(sts, "AWS_ENDPOINT_URL_STS")?.0,
            None => match &endpoint {
                Some(endpoint) => endpoint.clone(),
                None => format!("https://sts.{region}.amazonaws.com"),
            },
        };
        let reach = Reach {
            region: region.clone(),
            sts_endpoint,
        };
        let credentials = aws_credentials::choose(aws, env)
            .and_then(|chosen| aws_credentials::build(aws, chosen, &reach))
            .map_err(|err| PutError {
                kind: err.kind,
                message: err.message,
            })?;
        tracing::info!(
            region = %region,
            endpoint = endpoint.as_deref().unwrap_or("AWS"),
            credentials = %credentials.source,
            "S3 writer ready"
        );
        Ok(S3Writer {
            region,
            endpoint,
            allow_http,
            credentials,
            stores: Mutex::new(HashMap::new()),
        })
    }

    /// Where the credentials come from.
    pub fn credential_source(&self) -> &CredentialSource {
        &self.credentials.source
    }

    fn store(&self, bucket: &str) -> Result<Arc<AmazonS3>, PutError> {
        let mut stores = match self.stores.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(store) = stores.get(bucket) {
            return Ok(Arc::clone(store));
        }
        let options = ClientOptions::new()
            .with_timeout(REQUEST_TIMEOUT)
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_allow_http(self.allow_http);
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&self.region)
            .with_credentials(Arc::clone(&self.credentials.provider))
            .with_client_options(options)
            // The uploader retries (and logs each retry); object_store's own retries are off.
            .with_retry(RetryConfig {
                backoff: object_store::BackoffConfig::default(),
                max_retries: 0,
                retry_timeout: REQUEST_TIMEOUT,
            });
        builder = match &self.endpoint {
            // S3-compatible stores: path-style (`<endpoint>/<bucket>/<key>`).
            Some(endpoint) => builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false),
            // AWS: virtual-hosted style, except for bucket names with dots (TLS names).
            None => builder.with_virtual_hosted_style_request(!bucket.contains('.')),
        };
        let store = Arc::new(builder.build().map_err(|err| {
            config_error(format!(
                "cannot set up the S3 client for bucket {bucket}: {err}"
            ))
        })?);
        stores.insert(bucket.to_owned(), Arc::clone(&store));
        Ok(store)
    }

    fn locate<'a>(&self, url: &'a ObjectUrl) -> Result<(Arc<AmazonS3>, &'a str, Path), PutError> {
        let ObjectUrl::S3 { bucket, key } = url else {
            return Err(config_error(format!(
                "the S3 writer cannot write {url}: only s3:// URLs"
            )));
        };
        check_bucket(bucket)?;
        let path = Path::parse(key)
            .map_err(|err| config_error(format!("{url} is not a key S3 can take: {err}")))?;
        Ok((self.store(bucket)?, bucket, path))
    }

    fn failed(&self, err: &object_store::Error, action: &str, url: &ObjectUrl) -> PutError {
        let failure = Failure::of(err);
        let kind = failure.kind();
        let message = failure.message(kind, action, url, self);
        PutError {
            kind,
            message: redact::text(&message).into_owned(),
        }
    }
}

/// A bucket name S3 could have (3–63 lowercase letters, digits, `-`, `.`).
fn check_bucket(bucket: &str) -> Result<(), PutError> {
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !bucket.starts_with(['-', '.'])
        && !bucket.ends_with(['-', '.']);
    if valid {
        Ok(())
    } else {
        Err(config_error(format!(
            "{bucket:?} is not a valid S3 bucket name (3 to 63 lowercase letters, digits, '-' and '.')"
        )))
    }
}

#[async_trait::async_trait]
impl ObjectWriter for S3Writer {
    async fn put(&self, url: &ObjectUrl, body: bytes::Bytes) -> Result<(), PutError> {
        let (store, _, path) = self.locate(url)?;
        let size = body.len();
        store
            .put(&path, PutPayload::from(body))
            .await
            .map_err(|err| self.failed(&err, "write", url))?;
        tracing::debug!(object = %url, bytes = size, "object written");
        Ok(())
    }

    async fn probe(&self, prefix: &ObjectUrl) -> Result<(), PutError> {
        let ObjectUrl::S3 { bucket, key } = prefix else {
            return Err(config_error(format!(
                "the S3 writer cannot probe {prefix}: only s3:// URLs"
            )));
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        // `_`-prefixed names are skipped by Glue, Athena and Hive-style readers.
        let name = format!("_write-probe-{nanos}-{}", std::process::id());
        let key = match key.trim_end_matches('/') {
            "" => name,
            prefix => format!("{prefix}/{name}"),
        };
        let url = ObjectUrl::S3 {
            bucket: bucket.clone(),
            key,
        };
        self.put(&url, bytes::Bytes::from_static(b"write probe\n"))
            .await?;
        let (store, _, path) = self.locate(&url)?;
        if let Err(err) = store.delete(&path).await {
            let failed = self.failed(&err, "delete", &url);
            if failed.kind == PutErrorKind::Auth {
                // Writing is what matters; a role without s3:DeleteObject (as Security Lake's
                // provider role may be) leaves the probe behind.
                tracing::warn!(
                    object = %url,
                    error = %failed,
                    "the write probe succeeded but could not be deleted: remove it by hand"
                );
                return Ok(());
            }
            return Err(failed);
        }
        tracing::info!(prefix = %prefix, "the S3 location is writable");
        Ok(())
    }
}

/// What a failed request tells: its HTTP status, S3's error code and message, a transport
/// failure, or a credential failure.
#[derive(Debug, Default)]
pub(crate) struct Failure {
    pub(crate) status: Option<u16>,
    pub(crate) code: Option<String>,
    pub(crate) s3_message: Option<String>,
    pub(crate) network: Option<HttpErrorKind>,
    pub(crate) credential: Option<CredentialError>,
    pub(crate) redirect: bool,
    /// The error's text, when it carries no response body (transport failures).
    pub(crate) detail: String,
}

fn element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    Some(text[start..end].trim())
}

impl Failure {
    pub(crate) fn of(err: &object_store::Error) -> Failure {
        if let Some(credential) = find_credential_error(err) {
            return Failure {
                credential: Some(credential.clone()),
                ..Failure::default()
            };
        }
        let text = err.to_string();
        let code = element(&text, "Code").map(str::to_owned);
        let status = status_in(&text);
        Failure {
            status,
            s3_message: element(&text, "Message").map(str::to_owned),
            network: find_http_error(err).map(|e| e.kind()),
            redirect: text.contains("Received redirect without LOCATION"),
            // Without a response body the text is the request line and the transport error.
            detail: if code.is_none() && status.is_none() {
                text
            } else {
                String::new()
            },
            code,
            credential: None,
        }
    }

    /// The class the uploader acts on.
    pub(crate) fn kind(&self) -> PutErrorKind {
        if let Some(credential) = &self.credential {
            return credential.kind;
        }
        match self.code.as_deref() {
            Some("SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
                return PutErrorKind::Throttled;
            }
            Some(
                "AccessDenied"
                | "InvalidAccessKeyId"
                | "ExpiredToken"
                | "TokenRefreshRequired"
                | "SignatureDoesNotMatch"
                | "InvalidToken"
                | "InvalidClientTokenId"
                | "AccountProblem"
                | "AllAccessDisabled"
                | "RequestTimeTooSkewed",
            ) => return PutErrorKind::Auth,
            Some(
                "NoSuchBucket"
                | "InvalidBucketName"
                | "PermanentRedirect"
                | "AuthorizationHeaderMalformed"
                | "IllegalLocationConstraintException"
                | "InvalidURI"
                | "KeyTooLongError"
                | "EntityTooLarge",
            ) => return PutErrorKind::Config,
            Some("InternalError" | "ServiceUnavailable" | "RequestTimeout") => {
                return PutErrorKind::Transient;
            }
            _ => {}
        }
        if self.redirect {
            return PutErrorKind::Config;
        }
        match self.status {
            Some(429 | 503) => PutErrorKind::Throttled,
            Some(401 | 403) => PutErrorKind::Auth,
            Some(408) => PutErrorKind::Transient,
            Some(s) if s >= 500 => PutErrorKind::Transient,
            Some(301 | 307 | 400 | 404 | 405 | 411 | 413 | 414) => PutErrorKind::Config,
            // Other answers (a 409 from a busy bucket, anything unexpected): try again.
            Some(_) => PutErrorKind::Transient,
            // Timeouts, refused or broken connections, unreadable answers.
            None => PutErrorKind::Transient,
        }
    }

    fn said(&self) -> String {
        let mut said = String::new();
        if let Some(status) = self.status {
            said.push_str(&status.to_string());
        }
        if let Some(code) = &self.code {
            if !said.is_empty() {
                said.push(' ');
            }
            said.push_str(code);
        }
        if let Some(message) = &self.s3_message {
            said.push_str(": ");
            said.push_str(message);
        }
        if said.is_empty() {
            said = match self.network {
                Some(HttpErrorKind::Connect) => "cannot connect".to_owned(),
                Some(HttpErrorKind::Timeout) => "timed out".to_owned(),
                Some(HttpErrorKind::Interrupted) => "connection interrupted".to_owned(),
                Some(HttpErrorKind::Request) => "request failed".to_owned(),
                Some(HttpErrorKind::Decode) => "unreadable answer".to_owned(),
                _ => "failed".to_owned(),
            };
            if !self.detail.is_empty() {
                said.push_str(&format!(" ({})", self.detail));
            }
        }
        said
    }

    fn message(
        &self,
        kind: PutErrorKind,
        action: &str,
        url: &ObjectUrl,
        writer: &S3Writer,
    ) -> String {
        if let Some(credential) = &self.credential {
            return format!("cannot {action} {url}: {credential}");
        }
        let said = self.said();
        let bucket = match url {
            ObjectUrl::S3 { bucket, .. } => bucket.as_str(),
            ObjectUrl::File { .. } => "",
        };
        let at = match &writer.endpoint {
            Some(endpoint) => format!("at {endpoint}"),
            None => format!("in region {}", writer.region),
        };
        let source = &writer.credentials.source;
        match kind {
            PutErrorKind::Auth => match self.code.as_deref() {
                Some("AccessDenied") | None => format!(
                    "S3 denied the {action} of {url} ({said}) to the credentials from {source}: give that identity s3:PutObject on the location (and check the bucket policy and its KMS key); {}",
                    source.fix()
                ),
                Some("RequestTimeTooSkewed") => format!(
                    "S3 refused the {action} of {url} ({said}): this machine's clock is off; synchronise it (NTP)"
                ),
                Some(_) => format!(
                    "S3 refused the credentials from {source} for the {action} of {url} ({said}): {}",
                    source.fix()
                ),
            },
            PutErrorKind::Config => match self.code.as_deref() {
                Some("NoSuchBucket") => format!(
                    "the bucket {bucket} does not exist {at} ({said}): check the target's location"
                ),
                Some("PermanentRedirect" | "AuthorizationHeaderMalformed") => format!(
                    "the bucket {bucket} is not {at} ({said}): set aws.region to the bucket's region"
                ),
                _ if self.redirect || self.status == Some(301) => format!(
                    "the bucket {bucket} is not {at} (S3 redirected the request): set aws.region to the bucket's region"
                ),
                _ if self.status == Some(404) => format!(
                    "the {action} of {url} found nothing {at} ({said}): check that the bucket exists and the endpoint"
                ),
                _ => format!(
                    "S3 cannot take the {action} of {url} ({said}): check the target's location"
                ),
            },
            PutErrorKind::Throttled => {
                format!("S3 is throttling the {action} of {url} ({said})")
            }
            PutErrorKind::Transient => format!("the {action} of {url} failed {at} ({said})"),
        }
    }
}
