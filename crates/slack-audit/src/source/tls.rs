//! Whom requests to Slack trust, and what a refused certificate is called.
//!
//! **Trust**: the bundled web roots (so a container without a CA bundle works), the system's
//! trust store (`/etc/ssl/certs`, or `SSL_CERT_FILE`/`SSL_CERT_DIR`: where a company installs
//! its proxy's CA), and the certificates of `settings.ca_bundle_file` / `ca_bundle_pem` (where
//! the operator allows them; [`ca_identity`] names each for the log).
//!
//! **Refusal**: the usual verifier (webpki) decides; `NamingVerifier` only wraps its refusal
//! with the issuer of the certificate it refused, so that [`refused_certificate`] can say
//! "issued by CN=mitmproxy" rather than `UnknownIssuer`. A certificate that cannot be verified
//! is its own error class (`FetchError::Certificate`): the TLS handshake failed, nothing was
//! sent, and retrying cannot help until the trust or the address changes.

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};

/// The TLS configuration of the HTTP client: the roots above, `extra_roots` added.
pub fn client_config(
    extra_roots: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!(message = "Part of the system trust store could not be read.", error = %error);
    }
    let (system, unusable) = roots.add_parsable_certificates(native.certs);
    for cert in extra_roots {
        roots.add(cert.clone()).map_err(|e| {
            format!("a certificate of settings.ca_bundle_file / ca_bundle_pem cannot be used as a CA: {e}")
        })?;
    }
    tracing::debug!(
        message =
            "Trusting the bundled web roots, the system trust store and the configured CA bundle.",
        system,
        unusable,
        configured = extra_roots.len(),
    );
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("cannot build the certificate verifier: {e}"))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .dangerous() // only to wrap webpki's verifier, which still decides everything
        .with_custom_certificate_verifier(Arc::new(NamingVerifier(verifier)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// webpki's verifier, whose refusals also carry the issuer of the refused certificate.
#[derive(Debug)]
struct NamingVerifier(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for NamingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|error| match error {
                rustls::Error::InvalidCertificate(reason) => rustls::Error::InvalidCertificate(
                    CertificateError::Other(OtherError(Arc::new(Refused {
                        reason,
                        issuer: issuer_of(end_entity),
                    }))),
                ),
                other => other,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.0.root_hint_subjects()
    }
}

/// A certificate webpki refused, and who issued it.
#[derive(Debug)]
struct Refused {
    reason: CertificateError,
    issuer: Option<String>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid peer certificate: {:?}", self.reason)?;
        if let Some(issuer) = &self.issuer {
            write!(f, " (issued by {issuer})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// Who a CA certificate says it is, for the log and `check`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaIdentity {
    /// The subject's distinguished name (RFC 4514), at most 200 characters; `(unreadable)`
    /// when the certificate cannot be decoded.
    pub subject: String,
    /// The SHA-256 of the certificate's DER as `openssl x509 -noout -fingerprint -sha256`
    /// prints it (`97:AA:…`), to compare with the CA the operator meant.
    pub sha256: String,
}

/// The subject and SHA-256 fingerprint of `cert`.
pub fn ca_identity(cert: &CertificateDer<'_>) -> CaIdentity {
    use x509_cert::der::Decode;
    let subject = x509_cert::Certificate::from_der(cert.as_ref())
        .map(|c| {
            c.tbs_certificate
                .subject
                .to_string()
                .chars()
                .take(200)
                .collect()
        })
        .unwrap_or_else(|_| "(unreadable)".to_owned());
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
    let sha256 = digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    CaIdentity { subject, sha256 }
}

/// The issuer's distinguished name (RFC 4514), at most 200 characters.
fn issuer_of(cert: &CertificateDer<'_>) -> Option<String> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(cert.as_ref()).ok()?;
    let issuer = cert.tbs_certificate.issuer.to_string();
    Some(issuer.chars().take(200).collect())
}

/// If `error` is a certificate the connector could not verify, the message for the operator:
/// what was refused and why, who issued it, the usual cause and which setting fixes it.
pub fn refused_certificate(
    error: &(dyn std::error::Error + 'static),
    host: &str,
) -> Option<String> {
    let (reason, issuer) = find_refusal(error)?;
    let issued_by = issuer
        .map(|i| format!(", issued by `{i}`"))
        .unwrap_or_default();
    let fix = "Behind a corporate network, a TLS-inspecting proxy that re-signs traffic with its own CA is the usual cause: install that CA's certificate (PEM) in the system trust store, or, where the operator allows CAs from the settings (SLACK_AUDIT_ALLOW_SETTINGS_CA=1), give it in settings.ca_bundle_file (a path) or settings.ca_bundle_pem (the PEM text, for pipeline hosts)";
    let message = match &reason {
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!(
                "the TLS certificate presented for `{host}` is not valid for that name{issued_by}; the connection was refused and the token was not sent. Check settings.api_base_url; if a proxy answers for Slack, it is re-signing traffic: {fix}"
            )
        }
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => format!(
            "the TLS certificate presented for `{host}` is outside its validity period{issued_by} (or this machine's clock is wrong); the connection was refused and the token was not sent"
        ),
        _ => format!(
            "the TLS certificate presented for `{host}` could not be verified ({}{issued_by}); the connection was refused and the token was not sent. {fix}",
            describe(&reason)
        ),
    };
    Some(message)
}

fn describe(reason: &CertificateError) -> String {
    match reason {
        CertificateError::UnknownIssuer => "its issuer is not a trusted CA".into(),
        CertificateError::BadSignature => "its signature does not verify".into(),
        CertificateError::Revoked => "it is revoked".into(),
        other => format!("{other:?}"),
    }
}

/// The certificate refusal in `error`'s chain: rustls's reason and, when our verifier refused
/// it, the issuer. `io::Error` hides its inner error from `source()`, so it is opened too.
fn find_refusal(
    error: &(dyn std::error::Error + 'static),
) -> Option<(CertificateError, Option<String>)> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(rustls::Error::InvalidCertificate(reason)) = e.downcast_ref::<rustls::Error>() {
            return Some(match reason {
                CertificateError::Other(OtherError(inner)) => {
                    match inner.downcast_ref::<Refused>() {
                        Some(refused) => (refused.reason.clone(), refused.issuer.clone()),
                        None => (reason.clone(), None),
                    }
                }
                other => (other.clone(), None),
            });
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && let Some(found) = find_refusal(inner)
        {
            return Some(found);
        }
        next = e.source();
    }
    None
}
