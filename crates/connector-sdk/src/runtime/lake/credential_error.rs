//! Runtime layer: what the lake's AWS credential providers share: the error that says which
//! source of the chain failed and what to fix ([`CredentialError`], carried inside object_store's
//! errors and found again by the S3 writer), the registration of every credential's secret parts
//! with the SDK's redaction, and the lookups into object_store's error chains.

use std::sync::Arc;

use object_store::CredentialProvider;
use object_store::aws::AwsCredential;
use secrecy::SecretString;

use crate::runtime::lake::object::PutErrorKind;
use crate::runtime::redact;

/// A shared credential provider, as object_store's S3 client takes it.
pub(crate) type AwsProvider = Arc<dyn CredentialProvider<Credential = AwsCredential>>;

/// The store name object_store errors carry.
const STORE: &str = "S3";

/// Why credentials could not be had. The message names the source and what to fix; it never
/// holds a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct CredentialError {
    /// `Auth` (refused, expired, missing), `Config` (a profile or setting that cannot work),
    /// `Transient`/`Throttled` (the credentials service was unreachable or busy).
    pub kind: PutErrorKind,
    /// What happened and what to fix.
    pub message: String,
}

impl CredentialError {
    pub(crate) fn new(kind: PutErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        CredentialError {
            kind,
            message: redact::text(&message).into_owned(),
        }
    }

    /// As the error object_store's S3 client passes on (the S3 writer finds it again in the
    /// error's sources).
    pub(crate) fn into_store_error(self) -> object_store::Error {
        object_store::Error::Generic {
            store: STORE,
            source: Box::new(self),
        }
    }
}

/// Registers `credential`'s secret parts with the redaction, as the newest generation of the
/// rotating credential `kind` (one kind per source that renews: renewed ones replace the
/// oldest kept).
pub(crate) fn register(kind: &'static str, credential: &AwsCredential) {
    let mut secrets = vec![SecretString::from(credential.secret_key.clone())];
    secrets.extend(
        credential
            .token
            .as_ref()
            .map(|t| SecretString::from(t.clone())),
    );
    redact::register_rotating(kind, &secrets);
}

/// The [`CredentialError`] among `err`'s sources.
pub(crate) fn find_credential_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a CredentialError> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<CredentialError>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// The transport failure among `err`'s sources (object_store's `HttpError`, or the reqwest
/// error beneath it: object_store's request error is transparent, so the chain may skip it).
pub(crate) fn find_http_error(
    err: &(dyn std::error::Error + 'static),
) -> Option<object_store::client::HttpErrorKind> {
    use object_store::client::{HttpError, HttpErrorKind};
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<HttpError>() {
            return Some(found.kind());
        }
        if let Some(found) = e.downcast_ref::<reqwest::Error>() {
            return Some(if found.is_timeout() {
                HttpErrorKind::Timeout
            } else if found.is_connect() {
                HttpErrorKind::Connect
            } else if found.is_decode() || found.is_body() {
                HttpErrorKind::Decode
            } else {
                HttpErrorKind::Request
            });
        }
        current = e.source();
    }
    None
}

/// The status code in an object_store error's text (`… status code: 403 Forbidden …`).
pub(crate) fn status_in(text: &str) -> Option<u16> {
    let at = text.find("status code: ")? + "status code: ".len();
    text.get(at..at + 3)?.parse().ok()
}

/// The text of the first `<name>` element of an AWS XML answer (S3's `<Error>`, STS's
/// `<ErrorResponse><Error>` or moto's `<ErrorResponse><Errors><Error>`).
pub(crate) fn element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    Some(text[start..end].trim())
}
