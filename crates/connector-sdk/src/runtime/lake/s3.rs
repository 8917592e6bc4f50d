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
    CredentialError, element, find_credential_error, find_http_error, status_in,
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

    /// A writer that reads its AWS settings from `env` instead of the process environment.
    pub fn with_env(aws: &AwsConfig, env: &AwsEnv) -> Result<S3Writer, PutError> {
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
            network: find_http_error(err),
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
                // The credentials are valid; the identity lacks the right.
                Some("AccessDenied") | None => format!(
                    "S3 denied the {action} of {url} ({said}) to the credentials from {source}: give that identity s3:PutObject on the location (and check the bucket policy and its KMS key)"
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::runtime::lake::loopback_http::{Loopback, Recorded, Reply};

    const KEY_ID: &str = "AKIAS3WRITERTEST";
    const SECRET: &str = "s3-writer-test-secret-key-value";
    const TOKEN: &str = "s3-writer-test-session-token-value";

    fn env_keys() -> AwsEnv {
        AwsEnv::of(&[
            ("HOME", "/nonexistent"),
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", TOKEN),
        ])
    }

    fn aws_at(server: &Loopback) -> AwsConfig {
        AwsConfig {
            region: Some("eu-west-1".into()),
            endpoint: Some(server.url()),
            ..AwsConfig::default()
        }
    }

    fn object(key: &str) -> ObjectUrl {
        ObjectUrl::S3 {
            bucket: "lake-bucket".into(),
            key: key.into(),
        }
    }

    fn s3_error(code: &str, message: &str, extra: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message>{extra}<RequestId>1</RequestId></Error>"
        )
    }

    #[tokio::test]
    async fn put_writes_the_body_path_style_signed_with_the_chains_keys() {
        let server = Loopback::start(|_| Reply::new(200, "").header("etag", "\"1\"")).await;
        let writer = S3Writer::with_env(&aws_at(&server), &env_keys()).unwrap();
        let url = object("ext/slack/region=eu-west-1/eventDay=20261207/0000000001-ab.parquet");
        writer
            .put(&url, bytes::Bytes::from_static(b"object body"))
            .await
            .unwrap();
        let requests = server.requests();
        assert_eq!(requests.len(), 1, "{requests:?}");
        let put = &requests[0];
        assert_eq!(put.method, "PUT");
        assert!(
            put.path.starts_with("/lake-bucket/ext/slack/region"),
            "path-style: {}",
            put.path
        );
        assert_eq!(put.body, b"object body");
        let authorization = put.header("authorization").unwrap();
        assert!(
            authorization.starts_with(&format!("AWS4-HMAC-SHA256 Credential={KEY_ID}/"))
                && authorization.contains("/eu-west-1/s3/aws4_request"),
            "{authorization}"
        );
        assert_eq!(put.header("x-amz-security-token"), Some(TOKEN));
    }

    /// Each answer S3 may give, and what the uploader is told to do about it.
    #[tokio::test]
    async fn failures_are_classified_for_the_uploader() {
        let leak = "CANONICAL-REQUEST-WITH-SIGNED-HEADERS";
        let cases: Vec<(Reply, PutErrorKind, &str)> = vec![
            (
                Reply::new(
                    500,
                    s3_error("InternalError", "We encountered an internal error.", ""),
                ),
                PutErrorKind::Transient,
                "500",
            ),
            (Reply::new(502, ""), PutErrorKind::Transient, "502"),
            (
                Reply::new(
                    503,
                    s3_error("SlowDown", "Please reduce your request rate.", ""),
                ),
                PutErrorKind::Throttled,
                "503",
            ),
            (Reply::new(429, ""), PutErrorKind::Throttled, "429"),
            (
                Reply::new(
                    403,
                    s3_error(
                        "InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.",
                        "",
                    ),
                ),
                PutErrorKind::Auth,
                "InvalidAccessKeyId",
            ),
            (
                Reply::new(
                    400,
                    s3_error("ExpiredToken", "The provided token has expired.", ""),
                ),
                PutErrorKind::Auth,
                "ExpiredToken",
            ),
            (
                Reply::new(
                    403,
                    s3_error(
                        "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided.",
                        &format!(
                            "<CanonicalRequest>{leak} x-amz-security-token:{TOKEN}</CanonicalRequest><StringToSign>{leak}</StringToSign>"
                        ),
                    ),
                ),
                PutErrorKind::Auth,
                "SignatureDoesNotMatch",
            ),
            (
                Reply::new(403, s3_error("AccessDenied", "Access Denied", "")),
                PutErrorKind::Auth,
                "s3:PutObject",
            ),
            (
                Reply::new(
                    404,
                    s3_error("NoSuchBucket", "The specified bucket does not exist", ""),
                ),
                PutErrorKind::Config,
                "does not exist",
            ),
            (
                Reply::new(
                    301,
                    s3_error(
                        "PermanentRedirect",
                        "The bucket you are attempting to access must be addressed using the specified endpoint.",
                        "",
                    ),
                ),
                PutErrorKind::Config,
                "aws.region",
            ),
            (Reply::new(0, ""), PutErrorKind::Transient, "failed"),
        ];
        for (reply, expected, says) in cases {
            let shown = format!("{} {}", reply.status, reply.body);
            let server = Loopback::start(move |_| reply.clone()).await;
            let writer = S3Writer::with_env(&aws_at(&server), &env_keys()).unwrap();
            let err = writer
                .put(&object("t/x.ndjson.gz"), bytes::Bytes::from_static(b"x"))
                .await
                .unwrap_err();
            assert_eq!(err.kind, expected, "{shown}: {err}");
            assert!(err.message.contains(says), "{shown}: {err}");
            assert!(!err.message.contains(leak), "{shown}: {err}");
            assert!(
                !err.message.contains(TOKEN) && !err.message.contains(SECRET),
                "{err}"
            );
            if expected == PutErrorKind::Auth && says != "s3:PutObject" {
                assert!(
                    err.message.contains("the environment (AWS_ACCESS_KEY_ID"),
                    "{err}"
                );
                assert!(err.message.contains("export valid keys"), "{err}");
            }
            // No retry inside the writer: the uploader retries, and logs each.
            assert_eq!(server.requests().len(), 1, "{shown}");
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_transient() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let aws = AwsConfig {
            region: Some("eu-west-1".into()),
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            ..AwsConfig::default()
        };
        let writer = S3Writer::with_env(&aws, &env_keys()).unwrap();
        let err = writer
            .put(&object("t/x"), bytes::Bytes::from_static(b"x"))
            .await
            .unwrap_err();
        assert_eq!(err.kind, PutErrorKind::Transient, "{err}");
        assert!(err.message.contains("cannot connect"), "{err}");
    }

    #[test]
    fn bad_destinations_are_config_errors() {
        let env = env_keys();
        for (endpoint, says) in [
            ("http://s3.example.com", "non-loopback"),
            ("ftp://127.0.0.1", "scheme ftp"),
            ("https://user:pw@s3.example.com", "user name or password"),
            (
                "https://s3.example.com/bucket",
                "only a scheme, host and port",
            ),
            ("not a url", "not a URL"),
        ] {
            let aws = AwsConfig {
                region: Some("eu-west-1".into()),
                endpoint: Some(endpoint.into()),
                ..AwsConfig::default()
            };
            let err = S3Writer::with_env(&aws, &env).unwrap_err();
            assert_eq!(err.kind, PutErrorKind::Config, "{endpoint}");
            assert!(err.message.contains(says), "{endpoint}: {err}");
            assert!(!err.message.contains("pw@"), "{err}");
        }
        for loopback in [
            "http://127.0.0.1:9000",
            "http://[::1]:9000/",
            "http://localhost:9000",
        ] {
            assert!(
                check_endpoint(loopback, "aws.endpoint").unwrap().1,
                "{loopback}"
            );
        }
        let err = S3Writer::with_env(&AwsConfig::default(), &env).unwrap_err();
        assert_eq!(err.kind, PutErrorKind::Config);
        assert!(err.message.contains("aws.region"), "{err}");
        let with_env_region = AwsEnv::of(&[
            ("HOME", "/nonexistent"),
            ("AWS_ACCESS_KEY_ID", KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_DEFAULT_REGION", "ap-south-1"),
        ]);
        let writer = S3Writer::with_env(&AwsConfig::default(), &with_env_region).unwrap();
        assert_eq!(writer.region, "ap-south-1");
        assert!(check_bucket("Bad_Bucket").is_err() && check_bucket("ok-bucket.1").is_ok());
    }

    #[tokio::test]
    async fn probe_puts_then_deletes_below_the_prefix() {
        let server = Loopback::start(|r: &Recorded| match r.method.as_str() {
            "DELETE" => Reply::new(204, ""),
            _ => Reply::new(200, ""),
        })
        .await;
        let writer = S3Writer::with_env(&aws_at(&server), &env_keys()).unwrap();
        writer.probe(&object("ext/slack-api/1.0/")).await.unwrap();
        let requests = server.requests();
        let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
        assert_eq!(methods, ["PUT", "DELETE"]);
        assert!(
            requests[0]
                .path
                .starts_with("/lake-bucket/ext/slack-api/1.0/_write-probe-"),
            "{}",
            requests[0].path
        );
        assert_eq!(requests[0].path, requests[1].path);
        // A role that may write but not delete still proves the location writable.
        let server = Loopback::start(|r: &Recorded| match r.method.as_str() {
            "DELETE" => Reply::new(403, s3_error("AccessDenied", "Access Denied", "")),
            _ => Reply::new(200, ""),
        })
        .await;
        let writer = S3Writer::with_env(&aws_at(&server), &env_keys()).unwrap();
        writer.probe(&object("ext/")).await.unwrap();
        // One that may not write is refused.
        let server =
            Loopback::start(|_| Reply::new(403, s3_error("AccessDenied", "Access Denied", "")))
                .await;
        let writer = S3Writer::with_env(&aws_at(&server), &env_keys()).unwrap();
        let err = writer.probe(&object("ext/")).await.unwrap_err();
        assert_eq!(err.kind, PutErrorKind::Auth);
        assert_eq!(server.requests().len(), 1);
    }

    fn sts_answer(
        key_id: &str,
        secret: &str,
        token: &str,
        expires: chrono::DateTime<chrono::Utc>,
    ) -> String {
        format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser><Credentials><AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken><Expiration>{}</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>",
            expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-slack-eu-west-1";
    const ASSUMED_SECRET: &str = "assumed-role-secret-key-value";
    const ASSUMED_TOKEN: &str = "assumed-role-session-token-value";
    /// The redaction is process-wide: each test that checks it has values of its own.
    const OTHER: (&str, &str) = ("other-assumed-secret-value", "other-assumed-token-value");

    /// S3 and STS on one loopback server (as moto serves them); STS answers `sts_status` (with
    /// credentials expiring in `lifetime`).
    async fn s3_and_sts(
        sts_status: u16,
        lifetime: chrono::TimeDelta,
        secrets: (&'static str, &'static str),
    ) -> (Loopback, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let server = Loopback::start(move |r: &Recorded| {
            if r.method == "POST" && r.body_text().contains("Action=AssumeRole") {
                counted.fetch_add(1, Ordering::SeqCst);
                match sts_status {
                    // AWS's shape of an STS error.
                    403 => return Reply::new(403, "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error></ErrorResponse>"),
                    // moto's.
                    1403 => return Reply::new(403, "<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error></Errors></ErrorResponse>"),
                    _ => {}
                }
                return Reply::new(
                    200,
                    sts_answer("ASIAASSUMED", secrets.0, secrets.1, chrono::Utc::now() + lifetime),
                );
            }
            Reply::new(200, "")
        })
        .await;
        (server, calls)
    }

    fn with_role(server: &Loopback) -> AwsConfig {
        AwsConfig {
            role_arn: Some(ROLE.into()),
            external_id: Some("ext-id-123".into()),
            ..aws_at(server)
        }
    }

    #[tokio::test]
    async fn writes_with_the_assumed_roles_credentials_and_reuses_them() {
        let (server, calls) = s3_and_sts(
            200,
            chrono::TimeDelta::hours(1),
            (ASSUMED_SECRET, ASSUMED_TOKEN),
        )
        .await;
        let writer = S3Writer::with_env(&with_role(&server), &env_keys()).unwrap();
        for n in 0..2 {
            writer
                .put(&object(&format!("t/{n}")), bytes::Bytes::from_static(b"x"))
                .await
                .unwrap();
        }
        // One AssumeRole for both writes (cached while valid).
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let requests = server.requests();
        let sts = &requests[0];
        let form = sts.body_text();
        assert!(form.contains("ExternalId=ext-id-123"), "{form}");
        assert!(
            form.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012"),
            "{form}"
        );
        let sts_auth = sts.header("authorization").unwrap();
        assert!(
            sts_auth.contains(&format!("Credential={KEY_ID}/"))
                && sts_auth.contains("/sts/aws4_request"),
            "{sts_auth}"
        );
        for put in &requests[1..] {
            assert_eq!(put.method, "PUT");
            assert!(
                put.header("authorization")
                    .unwrap()
                    .contains("Credential=ASIAASSUMED/")
            );
            assert_eq!(put.header("x-amz-security-token"), Some(ASSUMED_TOKEN));
        }
        // The assumed secrets are scrubbed from anything printed from now on.
        for secret in [ASSUMED_SECRET, ASSUMED_TOKEN] {
            assert_eq!(redact::text(&format!("x {secret} y")), "x [redacted] y");
        }
        assert!(matches!(
            writer.credential_source(),
            CredentialSource::AssumeRole { .. }
        ));
        let shown = format!("{writer:?}");
        assert!(
            !shown.contains(SECRET) && !shown.contains(ASSUMED_SECRET),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn credentials_about_to_expire_are_renewed_before_use() {
        // Two minutes left: inside the five-minute margin, so every use renews.
        let (server, calls) = s3_and_sts(200, chrono::TimeDelta::minutes(2), OTHER).await;
        let writer = S3Writer::with_env(&with_role(&server), &env_keys()).unwrap();
        for n in 0..2 {
            writer
                .put(&object(&format!("t/{n}")), bytes::Bytes::from_static(b"x"))
                .await
                .unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_refused_assume_role_is_auth_naming_role_source_and_fix() {
        // 1403: the same refusal in moto's shape (`<Errors><Error>`).
        for refusal in [403, 1403] {
            let (server, calls) = s3_and_sts(refusal, chrono::TimeDelta::hours(1), OTHER).await;
            let writer = S3Writer::with_env(&with_role(&server), &env_keys()).unwrap();
            let err = writer
                .put(&object("t/x"), bytes::Bytes::from_static(b"x"))
                .await
                .unwrap_err();
            assert_eq!(err.kind, PutErrorKind::Auth, "{err}");
            for says in [
                ROLE,
                "the environment (AWS_ACCESS_KEY_ID",
                "AccessDenied",
                "external ID",
            ] {
                assert!(err.message.contains(says), "{says}: {err}");
            }
            assert!(
                !err.message.contains(SECRET) && !err.message.contains("ext-id-123"),
                "{err}"
            );
            // Asked once, never a loop; and nothing was written.
            assert_eq!(calls.load(Ordering::SeqCst), 1);
            assert!(server.requests().iter().all(|r| r.method != "PUT"));
        }
    }

    #[tokio::test]
    async fn a_profiles_role_is_assumed_with_its_source_profiles_keys() {
        let (server, calls) = s3_and_sts(200, chrono::TimeDelta::hours(1), OTHER).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("credentials"),
            "[base]\naws_access_key_id = AKIAPROFILEBASE\naws_secret_access_key = profile-base-secret-value\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("config"),
            format!("[profile lake]\nrole_arn = {ROLE}\nsource_profile = base\nexternal_id = profile-ext-id\nregion = eu-west-1\n"),
        )
        .unwrap();
        let credentials = dir.path().join("credentials").display().to_string();
        let config = dir.path().join("config").display().to_string();
        let env = AwsEnv::of(&[
            ("HOME", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", &credentials),
            ("AWS_CONFIG_FILE", &config),
            ("AWS_PROFILE", "lake"),
        ]);
        let aws = AwsConfig {
            endpoint: Some(server.url()),
            ..AwsConfig::default()
        };
        let writer = S3Writer::with_env(&aws, &env).unwrap();
        // The region came from the profile.
        assert_eq!(writer.region, "eu-west-1");
        writer
            .put(&object("t/x"), bytes::Bytes::from_static(b"x"))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let requests = server.requests();
        assert!(
            requests[0]
                .body_text()
                .contains("ExternalId=profile-ext-id")
        );
        assert!(
            requests[0]
                .header("authorization")
                .unwrap()
                .contains("Credential=AKIAPROFILEBASE/")
        );
        assert_eq!(requests[1].header("x-amz-security-token"), Some(OTHER.1));
        assert_eq!(redact::text("profile-base-secret-value"), "[redacted]");
    }

    #[tokio::test]
    async fn instance_metadata_credentials_sign_the_writes() {
        let server = Loopback::start(|r: &Recorded| match (r.method.as_str(), r.path.as_str()) {
            ("PUT", "/latest/api/token") => Reply::new(200, "imds-session-token"),
            ("GET", "/latest/meta-data/iam/security-credentials/") => {
                Reply::new(200, "lake-instance-role")
            }
            ("GET", "/latest/meta-data/iam/security-credentials/lake-instance-role") => {
                Reply::new(
                    200,
                    format!(
                        "{{\"Code\":\"Success\",\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":\"imds-secret-key-value\",\"Token\":\"imds-credential-token-value\",\"Expiration\":\"{}\"}}",
                        (chrono::Utc::now() + chrono::TimeDelta::hours(6)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                )
            }
            _ => Reply::new(200, ""),
        })
        .await;
        let env = AwsEnv::of(&[
            ("HOME", "/nonexistent"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &server.url()),
        ]);
        let writer = S3Writer::with_env(&aws_at(&server), &env).unwrap();
        assert!(matches!(
            writer.credential_source(),
            CredentialSource::InstanceMetadata { .. }
        ));
        writer
            .put(&object("t/x"), bytes::Bytes::from_static(b"x"))
            .await
            .unwrap();
        let requests = server.requests();
        let put = requests
            .iter()
            .find(|r| r.path.starts_with("/lake-bucket/"))
            .unwrap();
        assert!(
            put.header("authorization")
                .unwrap()
                .contains("Credential=ASIAIMDS/")
        );
        assert_eq!(redact::text("imds-secret-key-value"), "[redacted]");
        assert!(
            requests[0]
                .header("x-aws-ec2-metadata-token-ttl-seconds")
                .is_some(),
            "IMDSv2 asks for a session token first"
        );
    }

    #[tokio::test]
    async fn no_instance_metadata_is_auth_saying_no_credentials() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let server = Loopback::start(|_| Reply::new(200, "")).await;
        let env = AwsEnv::of(&[
            ("HOME", "/nonexistent"),
            (
                "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                &format!("http://127.0.0.1:{port}"),
            ),
        ]);
        let writer = S3Writer::with_env(&aws_at(&server), &env).unwrap();
        let err = writer
            .put(&object("t/x"), bytes::Bytes::from_static(b"x"))
            .await
            .unwrap_err();
        assert_eq!(err.kind, PutErrorKind::Auth, "{err}");
        assert!(err.message.contains("no AWS credentials"), "{err}");
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn container_credentials_sign_the_writes() {
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "pod-identity-token-value").unwrap();
        let server = Loopback::start(|r: &Recorded| match r.path.as_str() {
            "/v1/credentials" if r.header("authorization") == Some("pod-identity-token-value") => {
                Reply::new(
                    200,
                    format!(
                        "{{\"AccessKeyId\":\"ASIACONTAINER\",\"SecretAccessKey\":\"container-secret-key-value\",\"Token\":\"container-token-value\",\"Expiration\":\"{}\"}}",
                        (chrono::Utc::now() + chrono::TimeDelta::hours(6))
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                )
            }
            "/v1/credentials" => Reply::new(401, "no token"),
            _ => Reply::new(200, ""),
        })
        .await;
        let url = format!("{}/v1/credentials", server.url());
        let token = token_file.display().to_string();
        let env = AwsEnv::of(&[
            ("HOME", "/nonexistent"),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token),
        ]);
        let writer = S3Writer::with_env(&aws_at(&server), &env).unwrap();
        assert!(matches!(
            writer.credential_source(),
            CredentialSource::Container { .. }
        ));
        writer
            .put(&object("t/x"), bytes::Bytes::from_static(b"x"))
            .await
            .unwrap();
        let put = server
            .requests()
            .into_iter()
            .find(|r| r.path.starts_with("/lake-bucket/"))
            .unwrap();
        assert!(
            put.header("authorization")
                .unwrap()
                .contains("Credential=ASIACONTAINER/")
        );
        assert_eq!(
            put.header("x-amz-security-token"),
            Some("container-token-value")
        );
        assert_eq!(redact::text("container-secret-key-value"), "[redacted]");
    }
}
