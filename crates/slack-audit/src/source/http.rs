//! One request to Slack's `GET /audit/v1/logs`, classified.
//!
//! Classification goes by HTTP status first, because Slack's error bodies may be empty (401s
//! observed with no body at all) or not JSON (proxies, 5xx pages). Only then is the body read
//! for an `error` code to make the message precise. The token is sent as a bearer header and
//! appears in no message: errors are built from status codes and Slack's error codes only.

use std::time::Duration;

use async_trait::async_trait;
use connector_sdk::secrecy::{ExposeSecret, SecretString};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};

use super::{CursorHint, FetchError, LogsQuery, PageSource};
use crate::page::{Page, PageError, peek_next_cursor};

/// The User-Agent every request carries.
pub const USER_AGENT: &str = concat!("slack-audit-connector/", env!("CARGO_PKG_VERSION"));

/// How long to wait after a 429 that carries no usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Talks to Slack; one attempt per call (see [`super::resilient`] for retries).
pub struct HttpSource {
    http: reqwest::Client,
    /// Bodies of handled pages, reused for the next ones (page-sized buffers are costly to
    /// fault in again for every page).
    spare_bodies: std::sync::Mutex<Vec<Vec<u8>>>,
    logs_url: String,
    authorization: HeaderValue,
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
    /// A client for `base_url` (such as `https://api.slack.com`) with `token`.
    pub fn new(
        base_url: &str,
        token: &SecretString,
        timeout: Duration,
    ) -> Result<HttpSource, FetchError> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .map_err(|e| FetchError::Fatal(format!("cannot build the HTTP client: {e}")))?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| {
                FetchError::Config(
                    "secrets.user_oauth_token contains characters that cannot be sent in a header"
                        .into(),
                )
            })?;
        authorization.set_sensitive(true);
        Ok(HttpSource {
            http,
            spare_bodies: std::sync::Mutex::default(),
            logs_url: format!("{base_url}/audit/v1/logs"),
            authorization,
        })
    }

    async fn get(
        &self,
        params: &[(&str, String)],
        hint: Option<&CursorHint>,
    ) -> Result<Page, FetchError> {
        let started = std::time::Instant::now();
        let response = self
            .http
            .get(&self.logs_url)
            .header(AUTHORIZATION, self.authorization.clone())
            .query(params)
            .send()
            .await
            .map_err(|e| FetchError::Transient(describe_transport_error(&e)))?;
        let headers_at = started.elapsed();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(FetchError::RateLimited(
                retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            ));
        }
        // Read the body straight into one buffer sized from Content-Length (one copy, no
        // regrowth), reusing the buffer of a page already handled.
        let expected = response.content_length().unwrap_or(0).min(MAX_PRESIZE) as usize;
        let mut body = self.spare_body();
        body.reserve(expected);
        let mut response = response;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) if status.is_success() => {
                    return Err(FetchError::Transient(format!(
                        "the connection broke while reading a page ({})",
                        describe_transport_error(&e)
                    )));
                }
                Err(_) => break,
            }
        }
        let body_at = started.elapsed();
        if status.is_success() {
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
            return page;
        }
        let code = error_code(&body);
        Err(classify_status(status, code.as_deref()))
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

/// Largest Content-Length trusted to presize a body buffer.
const MAX_PRESIZE: u64 = 64 * 1024 * 1024;

#[async_trait]
impl PageSource for HttpSource {
    async fn fetch(&self, query: &LogsQuery, cursor: Option<&str>) -> Result<Page, FetchError> {
        self.get(&query.params(cursor), None).await
    }

    async fn fetch_announcing(
        &self,
        query: &LogsQuery,
        cursor: Option<&str>,
        hint: &CursorHint,
    ) -> Result<Page, FetchError> {
        self.get(&query.params(cursor), Some(hint)).await
    }

    fn recycle(&self, page: Page) {
        if let Ok(mut spare) = self.spare_bodies.lock()
            && spare.len() < 2
        {
            spare.push(page.into_body());
        }
    }

    async fn probe(&self) -> Result<String, FetchError> {
        let page = self.get(&[("limit", "1".to_owned())], None).await?;
        Ok(format!(
            "Slack accepted the token and returned the audit log ({} entr{} on a one-entry probe)",
            page.entries().len(),
            if page.entries().len() == 1 {
                "y"
            } else {
                "ies"
            }
        ))
    }
}

fn describe_transport_error(e: &reqwest::Error) -> String {
    // reqwest's Display names the URL (no token: it is in a header) and the cause chain helps.
    let kind = if e.is_timeout() {
        "request timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "broken response body"
    } else {
        "request failed"
    };
    let mut message = format!("{kind}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

fn error_code(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: Option<String>,
    }
    serde_json::from_slice::<ErrorBody>(body).ok()?.error
}

fn classify_body_error(status: StatusCode, error: PageError) -> FetchError {
    match error {
        PageError::Malformed(m) => FetchError::Transient(m),
        PageError::NoEntries => FetchError::Transient(
            "Slack answered without an `entries` list; treating it as a failed request, not as no events"
                .into(),
        ),
        PageError::Slack { code } => match classify_code(code.as_deref()) {
            Some(e) => e,
            None => FetchError::Transient(format!(
                "Slack answered HTTP {} with \"ok\": false (error {:?}); not treated as \"no events\"",
                status.as_u16(),
                code.as_deref().unwrap_or("unknown")
            )),
        },
    }
}

const TOKEN_ADVICE: &str = "Use the user OAuth token (xoxp-…) of a Slack app that has the auditlogs:read user scope and was installed on the Enterprise Grid organization (not a workspace) by an Org Owner.";

/// Errors whose meaning does not depend on the status they came with.
fn classify_code(code: Option<&str>) -> Option<FetchError> {
    let code = code?;
    let auth = |what: &str| Some(FetchError::Auth(format!("{what} (Slack error `{code}`).")));
    match code {
        "invalid_authentication" | "invalid_auth" | "not_authed" | "missing_authentication"
        | "account_inactive" | "token_revoked" | "token_expired" => auth(&format!(
            "Slack refused the token: it is invalid, revoked, or not an Org Owner's user token. {TOKEN_ADVICE}"
        )),
        "not_allowed_token_type" => auth(&format!(
            "Slack refused the token type: the Audit Logs API takes only user tokens (xoxp-…), not bot or app tokens. {TOKEN_ADVICE}"
        )),
        "missing_scope" => auth(
            "The token lacks the auditlogs:read user scope: add it under OAuth & Permissions → User Token Scopes, then reinstall the app on the organization",
        ),
        "feature_not_enabled" | "invalid_workspace" => auth(
            "The organization is not on Enterprise Grid: the Audit Logs API exists only for Enterprise Grid organizations",
        ),
        "team_not_authorized" => auth(
            "The app is installed on a workspace, not on the organization: an Org Owner must install it at the organization level (Manage organization → Integrations)",
        ),
        "user_not_authorized" => auth(
            "The user who installed the app is not an Org Owner: an Org Owner must install it (Org Admins cannot read audit logs)",
        ),
        "method_not_allowed" => auth(
            "Slack does not allow this method with this token or on this organization",
        ),
        "invalid_cursor" => Some(FetchError::InvalidCursor),
        "ratelimited" | "rate_limited" => Some(FetchError::RateLimited(DEFAULT_RETRY_AFTER)),
        "invalid_range" => Some(FetchError::Config(
            "Slack refused the time range (invalid_range): settings.backfill_start_time may be before Slack's audit log begins (March 2018), or this machine's clock is ahead of Slack's".into(),
        )),
        "invalid_action" => Some(FetchError::Config(
            "Slack refused an action filter (invalid_action): a name in settings.actions is unknown or retired; see GET https://api.slack.com/audit/v1/actions".into(),
        )),
        "invalid_arguments" => Some(FetchError::Config(
            "Slack refused the request's arguments (invalid_arguments): check settings.page_size, settings.actions (at most 30), settings.actor and settings.entity".into(),
        )),
        _ => None,
    }
}

fn classify_status(status: StatusCode, code: Option<&str>) -> FetchError {
    if let Some(classified) = classify_code(code) {
        return classified;
    }
    let code_note = code.map(|c| format!(", error `{c}`")).unwrap_or_default();
    match status.as_u16() {
        401 => FetchError::Auth(format!(
            "Slack refused the token (HTTP 401{code_note}): it is wrong, revoked, or not a user token. {TOKEN_ADVICE}"
        )),
        403 => FetchError::Auth(format!(
            "Slack refused access (HTTP 403{code_note}). {TOKEN_ADVICE}"
        )),
        404 => FetchError::Config(format!(
            "no Audit Logs API at this address (HTTP 404{code_note}): check settings.api_base_url"
        )),
        408 | 425 | 500..=599 => FetchError::Transient(format!(
            "Slack answered HTTP {}{code_note}",
            status.as_u16()
        )),
        s => FetchError::Fatal(format!("Slack answered HTTP {s}{code_note}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_codes_say_what_to_fix() {
        let cases = [
            (401, None, "wrong, revoked, or not a user token"),
            (200, Some("feature_not_enabled"), "not on Enterprise Grid"),
            (200, Some("team_not_authorized"), "installed on a workspace"),
            (403, Some("user_not_authorized"), "not an Org Owner"),
            (401, Some("not_allowed_token_type"), "only user tokens"),
        ];
        for (status, code, expected) in cases {
            let e = match classify_code(code) {
                Some(e) => e,
                None => {
                    classify_status(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), code)
                }
            };
            assert!(
                matches!(&e, FetchError::Auth(m) if m.contains(expected)),
                "{e:?}"
            );
        }
    }

    #[test]
    fn statuses_are_classified_before_bodies() {
        assert!(matches!(
            classify_status(StatusCode::SERVICE_UNAVAILABLE, None),
            FetchError::Transient(_)
        ));
        assert!(matches!(
            classify_status(StatusCode::BAD_REQUEST, Some("invalid_cursor")),
            FetchError::InvalidCursor
        ));
        assert!(matches!(
            classify_status(StatusCode::BAD_REQUEST, Some("invalid_action")),
            FetchError::Config(_)
        ));
        assert!(matches!(
            classify_status(StatusCode::NOT_FOUND, None),
            FetchError::Config(_)
        ));
        assert!(matches!(
            classify_status(StatusCode::IM_A_TEAPOT, None),
            FetchError::Fatal(_)
        ));
    }
}
