//! One request to Slack's `GET /audit/v1/logs`, classified.
//!
//! Classification goes by HTTP status first, because Slack's error bodies may be empty (401s
//! observed with no body at all) or not JSON (proxies, 5xx pages). Only then is the body read
//! for an `error` code to make the message precise; what each code and status means, in words,
//! is [`super::slack_errors`]'s table. The token is sent as a bearer header and
//! appears in no message: errors are built from status codes and Slack's error codes only.
//!
//! # Caps
//!
//! Whatever the other end sends (a proxy, a TLS-inspecting middlebox, a wrong `api_base_url`),
//! one request holds bounded memory for a bounded time:
//!
//! - **Body**: at most [`MAX_PAGE_BYTES`] (128 MiB), counted *after* decompression (gzip,
//!   deflate and brotli bodies are accepted), so a decompression bomb stops at the cap like an
//!   endless body does; a `Content-Length` above the cap is refused before any of it is read.
//!   Error bodies are read only up to [`MAX_ERROR_BODY_BYTES`].
//! - **Headers**: hyper's limits for HTTP/1.1 (about 400 KiB of head, 100 headers) and
//!   [`MAX_HEADER_LIST_BYTES`] for HTTP/2.
//! - **Time**: one deadline, `request_timeout_seconds`, for the whole exchange, from connecting
//!   to the body's last byte (a body that trickles in forever is cut there).
//!
//! Past a cap the request is a transient error that names the cap and how far the response got;
//! the retry layer tries again, and the checkpoint does not move.
//!
//! **Trust and proxies** are settled when the client is built: whom to trust by [`super::tls`]
//! (a certificate that cannot be verified is `FetchError::Certificate`, never retried), the
//! route (a proxy or none) by [`super::network`]; `check`'s answer says what was trusted beyond
//! the defaults and which proxy was used.
//!
//! Messages name the host, never the whole URL.
//!
//! **Redirects are never followed**: Slack's API does not redirect, so a 3xx means the address
//! is wrong, and following it would send the token to another origin. It is a config error
//! naming the host the redirect pointed to.

use std::time::Duration;

use async_trait::async_trait;
use connector_sdk::secrecy::{ExposeSecret, SecretString};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
use tokio::time::Instant;

use super::network::{ProxyEnv, Said};
use super::slack_errors::{DEFAULT_RETRY_AFTER, classify_body_error, classify_status};
use super::{CursorHint, FetchError, PageRequest, PageSource, Wire};
use crate::page::{Page, peek_next_cursor};
use crate::settings::Network;

/// The User-Agent every request carries.
pub const USER_AGENT: &str = concat!("slack-audit-connector/", env!("CARGO_PKG_VERSION"));

/// Largest page body accepted, after decompression. Slack's largest pages (9,999 entries of a
/// few KiB) stay far below it; past it the request fails as transient.
pub const MAX_PAGE_BYTES: usize = 128 * 1024 * 1024;

/// Largest error body read (for Slack's `error` code); the rest is not read.
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Largest HTTP/2 header list accepted.
pub const MAX_HEADER_LIST_BYTES: u32 = 256 * 1024;

/// Added to the request deadline for reqwest's own timeout, a backstop that should never fire
/// first (ours says how far the response got).
const BACKSTOP: Duration = Duration::from_secs(5);

/// Talks to Slack; one attempt per call (see [`super::resilient`] for retries), noting what came
/// back in the request's [`Wire`] (see [`super::metered`] for the metrics).
pub struct HttpSource {
    http: reqwest::Client,
    /// Bodies of handled pages, reused for the next ones (page-sized buffers are costly to
    /// fault in again for every page).
    spare_bodies: std::sync::Mutex<Vec<Vec<u8>>>,
    logs_url: String,
    /// `api_base_url`, for the documents that need no token ([`HttpSource::public_document`]).
    base_url: url::Url,
    /// `Bearer` and the token; `None` for a client of the public documents only.
    authorization: Option<HeaderValue>,
    timeout: Duration,
    /// The extra CAs and the proxy, for `check`'s answer.
    said: Said,
}

impl std::fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSource")
            .field("logs_url", &self.logs_url)
            .field("authorization", &"[redacted]")
            .finish()
    }
}

impl HttpSource {
    /// A client for `base_url` (the checked, parsed `api_base_url`, such as
    /// `https://api.slack.com/`) with `token`, trusting and going through what `network` and
    /// the proxy variables of this process's environment say.
    pub fn new(
        base_url: &url::Url,
        token: &SecretString,
        timeout: Duration,
        network: &Network,
    ) -> Result<HttpSource, FetchError> {
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| {
                FetchError::Config(
                    "secrets.user_oauth_token contains characters that cannot be sent in a header"
                        .into(),
                )
            })?;
        authorization.set_sensitive(true);
        Self::build(base_url, Some(authorization), timeout, network)
    }

    /// A client of `base_url` that holds no token, for the documents Slack serves without one
    /// (`GET /audit/v1/actions`, `/schemas`): the same trust, proxy and limits as [`new`](Self::new).
    pub fn without_token(
        base_url: &url::Url,
        timeout: Duration,
        network: &Network,
    ) -> Result<HttpSource, FetchError> {
        Self::build(base_url, None, timeout, network)
    }

    fn build(
        base_url: &url::Url,
        authorization: Option<HeaderValue>,
        timeout: Duration,
        network: &Network,
    ) -> Result<HttpSource, FetchError> {
        let extra_roots: Vec<_> = network
            .extra_roots
            .iter()
            .map(|ca| ca.der.clone())
            .collect();
        let tls = super::tls::client_config(&extra_roots).map_err(FetchError::Config)?;
        let builder = reqwest::Client::builder().use_preconfigured_tls(tls);
        let (builder, said) =
            super::network::configure(builder, base_url, network, &ProxyEnv::from_process())?;
        let logs_url = base_url
            .join("audit/v1/logs")
            .map_err(|e| FetchError::Config(format!("settings.api_base_url: {e}")))?;
        let http = builder
            .user_agent(USER_AGENT)
            .timeout(timeout + BACKSTOP)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(50))
            .redirect(reqwest::redirect::Policy::none())
            .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
            .build()
            .map_err(|e| FetchError::Fatal(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpSource {
            http,
            spare_bodies: std::sync::Mutex::default(),
            logs_url: logs_url.into(),
            base_url: base_url.clone(),
            authorization,
            timeout,
            said,
        })
    }

    /// One request and its classification; notes in `wire` what came back.
    async fn exchange(
        &self,
        params: &[(&str, String)],
        hint: Option<&CursorHint>,
        wire: Option<&Wire>,
    ) -> Result<Page, FetchError> {
        let unheard = Wire::default();
        let wire = wire.unwrap_or(&unheard);
        let started = Instant::now();
        let deadline = started + self.timeout;
        let mut request = self.http.get(&self.logs_url);
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let request = request.query(params).send();
        let response = match tokio::time::timeout_at(deadline, request).await {
            Ok(sent) => sent.map_err(|e| self.transport_error(&e))?,
            Err(_) => {
                return Err(FetchError::Transient(format!(
                    "no response from {} within request_timeout_seconds ({} s)",
                    self.host(),
                    self.timeout.as_secs()
                )));
            }
        };
        let headers_at = started.elapsed();
        let status = response.status();
        wire.status_came(status.as_u16());
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(response.headers(), chrono::Utc::now());
            return Err(FetchError::RateLimited(wait.unwrap_or(DEFAULT_RETRY_AFTER)));
        }
        if status.is_redirection() {
            return Err(redirect_error(status, response.headers()));
        }
        if !status.is_success() {
            let body = self
                .read_body(response, MAX_ERROR_BODY_BYTES, deadline, Vec::new())
                .await
                .unwrap_or_else(|partial| partial);
            wire.body_read(body.len());
            let code = error_code(&body);
            if code.is_none() && is_a_block_page(status, &body) {
                return Err(block_page_error(status));
            }
            return Err(classify_status(status, code.as_deref()));
        }
        if let Some(declared) = response.content_length()
            && declared > MAX_PAGE_BYTES as u64
        {
            return Err(FetchError::Transient(format!(
                "the response declared a body of {declared} bytes, over the cap of {} MiB for one page; not reading it",
                MAX_PAGE_BYTES >> 20
            )));
        }
        // Read the body straight into one buffer sized from Content-Length (one copy, no
        // regrowth), reusing the buffer of a page already handled.
        let mut body = self.spare_body();
        body.reserve(response.content_length().unwrap_or(0) as usize);
        let body = match self
            .read_body(response, MAX_PAGE_BYTES, deadline, body)
            .await
        {
            Ok(body) => body,
            Err(partial) => {
                wire.body_read(partial.len());
                return Err(self.body_error(partial.len(), started));
            }
        };
        wire.body_read(body.len());
        let body_at = started.elapsed();
        if let (Some(hint), Some(next)) = (hint, peek_next_cursor(&body)) {
            hint.offer(next);
        }
        let bytes = body.len();
        let page = Page::parse(body).map_err(|e| classify_body_error(status, e));
        tracing::debug!(
            message = "Fetched a page.",
            status = status.as_u16(),
            bytes,
            entries = page.as_ref().map_or(0, |p| p.entries().len()),
            headers_ms = headers_at.as_millis() as u64,
            body_ms = (body_at - headers_at).as_millis() as u64,
            parse_ms = (started.elapsed() - body_at).as_millis() as u64,
        );
        page
    }

    /// The JSON document at `path` under the base URL (`audit/v1/actions`), fetched once
    /// without a token: its body, or the failure classified as a page's would be.
    pub async fn public_document(&self, path: &str) -> Result<serde_json::Value, FetchError> {
        let url = self
            .base_url
            .join(path)
            .map_err(|e| FetchError::Config(format!("settings.api_base_url: {e}")))?;
        let deadline = Instant::now() + self.timeout;
        let request = self.http.get(url).send();
        let response = match tokio::time::timeout_at(deadline, request).await {
            Ok(sent) => sent.map_err(|e| self.transport_error(&e))?,
            Err(_) => {
                return Err(FetchError::Transient(format!(
                    "no response from {} within request_timeout_seconds ({} s)",
                    self.host(),
                    self.timeout.as_secs()
                )));
            }
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(response.headers(), chrono::Utc::now());
            return Err(FetchError::RateLimited(wait.unwrap_or(DEFAULT_RETRY_AFTER)));
        }
        if status.is_redirection() {
            return Err(redirect_error(status, response.headers()));
        }
        let limit = if status.is_success() {
            MAX_PAGE_BYTES
        } else {
            MAX_ERROR_BODY_BYTES
        };
        let body = match self.read_body(response, limit, deadline, Vec::new()).await {
            Ok(body) => body,
            Err(partial) if status.is_success() => {
                return Err(FetchError::Transient(format!(
                    "the answer to GET /{path} broke off after {} bytes",
                    partial.len()
                )));
            }
            Err(partial) => partial,
        };
        if !status.is_success() {
            return Err(classify_status(status, error_code(&body).as_deref()));
        }
        serde_json::from_slice(&body).map_err(|e| {
            FetchError::Transient(format!("the answer to GET /{path} is not JSON ({e})"))
        })
    }

    /// Reads the (decompressed) body into `body` until it ends. `Err` holds what was read
    /// when the body broke, passed `limit` bytes, or the deadline came: the caller says which.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        limit: usize,
        deadline: Instant,
        mut body: Vec<u8>,
    ) -> Result<Vec<u8>, Vec<u8>> {
        loop {
            match tokio::time::timeout_at(deadline, response.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    if body.len() + chunk.len() > limit {
                        let room = limit - body.len();
                        body.extend_from_slice(&chunk[..room]);
                        return Err(body);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(Ok(None)) => return Ok(body),
                Ok(Err(e)) => {
                    tracing::debug!(message = "The response body broke.", error = %describe_transport_error(&e));
                    return Err(body);
                }
                Err(_) => return Err(body),
            }
        }
    }

    /// Why a page body was not read to its end, having got `received` bytes of it.
    fn body_error(&self, received: usize, started: Instant) -> FetchError {
        if received >= MAX_PAGE_BYTES {
            FetchError::Transient(format!(
                "the page body passed the cap of {} MiB (counted after decompression) and was abandoned: a proxy or server is sending more than any audit-log page holds",
                MAX_PAGE_BYTES >> 20
            ))
        } else if started.elapsed() >= self.timeout {
            FetchError::Transient(format!(
                "the page took longer than request_timeout_seconds ({} s) from request to last byte and was abandoned after {received} bytes of body",
                self.timeout.as_secs()
            ))
        } else {
            FetchError::Transient(format!(
                "the connection broke while reading a page, after {received} bytes of body"
            ))
        }
    }

    /// A request that got no response: a refused certificate, or something transient.
    fn transport_error(&self, e: &reqwest::Error) -> FetchError {
        match super::tls::refused_certificate(e, &self.host()) {
            Some(message) => FetchError::Certificate(message),
            None => FetchError::Transient(format!(
                "{} (`{}`)",
                describe_transport_error(e),
                self.host()
            )),
        }
    }

    /// The host requests go to, for messages.
    fn host(&self) -> String {
        url::Url::parse(&self.logs_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

impl HttpSource {
    fn spare_body(&self) -> Vec<u8> {
        let mut body = self
            .spare_bodies
            .lock()
            .ok()
            .and_then(|mut spare| spare.pop())
            .unwrap_or_default();
        body.clear();
        body
    }
}

#[async_trait]
impl PageSource for HttpSource {
    async fn fetch(&self, request: PageRequest<'_>) -> Result<Page, FetchError> {
        let params = request.query.params(request.cursor);
        self.exchange(&params, request.hint, request.wire).await
    }

    fn recycle(&self, page: Page) {
        if let Ok(mut spare) = self.spare_bodies.lock()
            && spare.len() < 2
        {
            spare.push(page.into_body());
        }
    }

    async fn probe(&self, wire: Option<&Wire>) -> Result<String, FetchError> {
        let page = self
            .exchange(&[("limit", "1".to_owned())], None, wire)
            .await?;
        let mut answer = format!(
            "Slack accepted the token and returned the audit log ({} entr{} on a one-entry probe)",
            page.entries().len(),
            if page.entries().len() == 1 {
                "y"
            } else {
                "ies"
            }
        );
        if let Some(said) = self.said.sentence() {
            answer.push_str("; ");
            answer.push_str(&said);
        }
        Ok(answer)
    }
}

/// Whether `e` is hyper refusing a response head over its caps (HTTP/1.1: about 400 KiB, or
/// more than 100 headers).
fn head_too_large(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        // `is_parse_too_large` exists only with hyper's server feature.
        if s.downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_parse() && h.to_string().contains("too large"))
        {
            return true;
        }
        source = s.source();
    }
    false
}

fn describe_transport_error(e: &reqwest::Error) -> String {
    if head_too_large(e) {
        return "the response's headers passed the cap (about 400 KiB, or 100 headers) and were abandoned: a proxy or server is sending more than Slack ever does".to_owned();
    }
    // reqwest's own Display quotes the whole URL; the caller names the host, and the cause
    // chain says what happened.
    let kind = if e.is_timeout() {
        "request timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "broken response body"
    } else {
        "request failed"
    };
    let mut message = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// The wait a 429 asks for: `Retry-After` in seconds or as an HTTP date (relative to `now`).
/// `None` when absent or unreadable. Not capped here: the retry layer caps every wait.
fn retry_after(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, now)
}

/// A `Retry-After` value (seconds, or an HTTP date relative to `now`) as a wait; `None` when
/// unreadable.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = (at.with_timezone(&chrono::Utc) - now).num_milliseconds();
    Some(Duration::from_millis(wait.max(0) as u64))
}

/// A 3xx: never followed (the token must not go to another origin); names where it pointed.
fn redirect_error(status: StatusCode, headers: &HeaderMap) -> FetchError {
    let target = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|location| match url::Url::parse(location) {
            Ok(url) => match url.host_str() {
                Some(host) => format!("to host `{host}`"),
                None => "to a URL without a host".to_owned(),
            },
            // A relative Location stays on the same host.
            Err(_) => "to another path on the same host".to_owned(),
        })
        .unwrap_or_else(|| "without a Location".to_owned());
    FetchError::Config(format!(
        "the server at settings.api_base_url answered HTTP {} (a redirect {target}); Slack's Audit Logs API never redirects, so the redirect was not followed and the token was not sent there: check settings.api_base_url",
        status.as_u16()
    ))
}

/// A 403 whose body is an HTML page (or any non-JSON text): what a proxy or firewall sends
/// when it blocks a request. Slack's own refusals are JSON (or, for a bad token, empty).
fn is_a_block_page(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::FORBIDDEN
        && !body.iter().all(u8::is_ascii_whitespace)
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err()
}

fn block_page_error(status: StatusCode) -> FetchError {
    FetchError::Config(format!(
        "the request was refused with HTTP {} and a web page instead of Slack's JSON answer: a proxy or firewall between this machine and Slack blocked it (the token was not judged); check the proxy settings, or ask whoever runs the proxy to allow api.slack.com",
        status.as_u16()
    ))
}

fn error_code(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: Option<String>,
    }
    serde_json::from_slice::<ErrorBody>(body).ok()?.error
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
            h
        };
        assert_eq!(
            retry_after(&headers("120"), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(&headers("Wed, 02 Dec 2026 10:01:30 GMT"), now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            retry_after(&headers("Wed, 02 Dec 2026 09:00:00 GMT"), now),
            Some(Duration::ZERO),
            "a date in the past: no wait"
        );
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn a_redirect_names_only_the_host_it_points_to() {
        let mut h = HeaderMap::new();
        h.insert(
            LOCATION,
            HeaderValue::from_static("https://evil.example:8443/path?cursor=abc"),
        );
        let e = redirect_error(StatusCode::MOVED_PERMANENTLY, &h);
        let FetchError::Config(message) = e else {
            panic!("{e:?}")
        };
        assert!(message.contains("HTTP 301") && message.contains("`evil.example`"));
        assert!(!message.contains("cursor=abc") && !message.contains("/path"));
    }
}
