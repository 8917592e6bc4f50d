//! Slack's error codes and HTTP statuses in words an operator can act on.
//!
//! Slack names a failure by an `error` code in its JSON body (`invalid_auth`, `missing_scope`,
//! …), whether the HTTP status was 200, 4xx or 5xx. [`CODES`] is the table of the codes this
//! connector knows: for each, the class of failure (which decides the exit code and whether the
//! retry layer tries again) and the message that says what to fix. A code's meaning does not
//! depend on the status it came with; a status without a known code is classified by
//! [`classify_status`]; a body that is not a page by [`classify_body_error`].
//!
//! Messages name settings and Slack's codes, never the token or the URL.

use std::time::Duration;

use reqwest::StatusCode;

use super::FetchError;
use crate::page::PageError;

/// How long to wait after a 429, or a rate-limit code, that carries no usable `Retry-After`.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The advice that ends every message about the token (a macro, so the table can `concat!` it).
macro_rules! token_advice {
    () => {
        "Use the user OAuth token (xoxp-…) of a Slack app that has the auditlogs:read user scope and was installed on the Enterprise Grid organization (not a workspace) by an Org Owner."
    };
}

const TOKEN_ADVICE: &str = token_advice!();

/// What an error code means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// The token or the installation: [`FetchError::Auth`], this message followed by the code.
    Auth(&'static str),
    /// A setting Slack refused: [`FetchError::Config`], this message.
    Config(&'static str),
    /// The cursor expired or was refused: [`FetchError::InvalidCursor`].
    InvalidCursor,
    /// Slow down: [`FetchError::RateLimited`] for [`DEFAULT_RETRY_AFTER`].
    RateLimited,
}

/// The codes that mean one thing, and what.
#[derive(Debug)]
pub struct Row {
    /// Slack's codes.
    pub codes: &'static [&'static str],
    /// What they mean.
    pub meaning: Meaning,
}

/// Every error code with a meaning of its own; any other code is classified by its status.
pub const CODES: &[Row] = &[
    Row {
        codes: &[
            "invalid_authentication",
            "invalid_auth",
            "not_authed",
            "missing_authentication",
            "account_inactive",
            "token_revoked",
            "token_expired",
        ],
        meaning: Meaning::Auth(concat!(
            "Slack refused the token: it is invalid, revoked, or not an Org Owner's user token. ",
            token_advice!()
        )),
    },
    Row {
        codes: &["not_allowed_token_type"],
        meaning: Meaning::Auth(concat!(
            "Slack refused the token type: the Audit Logs API takes only user tokens (xoxp-…), not bot or app tokens. ",
            token_advice!()
        )),
    },
    Row {
        codes: &["missing_scope"],
        meaning: Meaning::Auth(
            "The token lacks the auditlogs:read user scope: add it under OAuth & Permissions → User Token Scopes, then reinstall the app on the organization",
        ),
    },
    Row {
        codes: &["feature_not_enabled", "invalid_workspace"],
        meaning: Meaning::Auth(
            "The organization is not on Enterprise Grid: the Audit Logs API exists only for Enterprise Grid organizations",
        ),
    },
    Row {
        codes: &["team_not_authorized"],
        meaning: Meaning::Auth(
            "The app is installed on a workspace, not on the organization: an Org Owner must install it at the organization level (Manage organization → Integrations)",
        ),
    },
    Row {
        codes: &["user_not_authorized"],
        meaning: Meaning::Auth(
            "The user who installed the app is not an Org Owner: an Org Owner must install it (Org Admins cannot read audit logs)",
        ),
    },
    Row {
        codes: &["method_not_allowed"],
        meaning: Meaning::Auth(
            "Slack does not allow this method with this token or on this organization",
        ),
    },
    Row {
        codes: &["invalid_cursor"],
        meaning: Meaning::InvalidCursor,
    },
    Row {
        codes: &["ratelimited", "rate_limited"],
        meaning: Meaning::RateLimited,
    },
    Row {
        codes: &["invalid_range"],
        meaning: Meaning::Config(
            "Slack refused the time range (invalid_range): settings.backfill_start_time may be before Slack's audit log begins (March 2018), or this machine's clock is ahead of Slack's",
        ),
    },
    Row {
        codes: &["invalid_action"],
        meaning: Meaning::Config(
            "Slack refused an action filter (invalid_action): a name in settings.actions is unknown or retired; see GET https://api.slack.com/audit/v1/actions",
        ),
    },
    Row {
        codes: &["invalid_arguments"],
        meaning: Meaning::Config(
            "Slack refused the request's arguments (invalid_arguments): check settings.page_size, settings.actions (names Slack knows), settings.actor and settings.entity",
        ),
    },
];

/// The failure a known error code means, whatever status it came with; `None` for no code or
/// one not in [`CODES`].
pub fn classify_code(code: Option<&str>) -> Option<FetchError> {
    let code = code?;
    let row = CODES.iter().find(|row| row.codes.contains(&code))?;
    Some(match row.meaning {
        Meaning::Auth(what) => FetchError::Auth(format!("{what} (Slack error `{code}`).")),
        Meaning::Config(what) => FetchError::Config(what.to_owned()),
        Meaning::InvalidCursor => FetchError::InvalidCursor,
        Meaning::RateLimited => FetchError::RateLimited(DEFAULT_RETRY_AFTER),
    })
}

/// The failure an error status means: by its code if known, else by the status, naming the code.
pub fn classify_status(status: StatusCode, code: Option<&str>) -> FetchError {
    if let Some(classified) = classify_code(code) {
        return classified;
    }
    let code_note = code
        .map(|c| format!(", error `{}`", c.escape_debug()))
        .unwrap_or_default();
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

/// The failure a successful status's body means when it is not a page.
pub fn classify_body_error(status: StatusCode, error: PageError) -> FetchError {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
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

    /// Each code of the table, written out again here: its class (the exit code, whether it is
    /// retried) and the words that tell the operator what to fix.
    const EXPECTED: &[(&str, &str, &str)] = &[
        (
            "invalid_authentication",
            "auth",
            "invalid, revoked, or not an Org Owner's user token",
        ),
        (
            "invalid_auth",
            "auth",
            "invalid, revoked, or not an Org Owner's user token",
        ),
        (
            "not_authed",
            "auth",
            "invalid, revoked, or not an Org Owner's user token",
        ),
        (
            "missing_authentication",
            "auth",
            "invalid, revoked, or not an Org Owner's user token",
        ),
        (
            "account_inactive",
            "auth",
            "invalid, revoked, or not an Org Owner's user token",
        ),
        (
            "token_revoked",
            "auth",
            "invalid, revoked, or not an Org Owner's user token",
        ),
        (
            "token_expired",
            "auth",
            "invalid, revoked, or not an Org Owner's user token",
        ),
        (
            "not_allowed_token_type",
            "auth",
            "only user tokens (xoxp-…), not bot or app tokens",
        ),
        (
            "missing_scope",
            "auth",
            "lacks the auditlogs:read user scope",
        ),
        ("feature_not_enabled", "auth", "not on Enterprise Grid"),
        ("invalid_workspace", "auth", "not on Enterprise Grid"),
        (
            "team_not_authorized",
            "auth",
            "installed on a workspace, not on the organization",
        ),
        ("user_not_authorized", "auth", "is not an Org Owner"),
        ("method_not_allowed", "auth", "does not allow this method"),
        (
            "invalid_cursor",
            "invalid_cursor",
            "refused the page cursor",
        ),
        ("ratelimited", "rate_limited", "retry after 30s"),
        ("rate_limited", "rate_limited", "retry after 30s"),
        ("invalid_range", "config", "settings.backfill_start_time"),
        (
            "invalid_action",
            "config",
            "a name in settings.actions is unknown or retired",
        ),
        (
            "invalid_arguments",
            "config",
            "settings.page_size, settings.actions (names Slack knows)",
        ),
    ];

    #[test]
    fn every_code_of_the_table_has_its_class_and_says_what_to_fix() {
        let tabled: Vec<&str> = CODES.iter().flat_map(|row| row.codes).copied().collect();
        let expected: Vec<&str> = EXPECTED.iter().map(|(code, _, _)| *code).collect();
        assert_eq!(tabled, expected, "each code of the table is tested here");
        for &(code, kind, says) in EXPECTED {
            for status in [200, 400, 401, 403, 429, 500] {
                let status = StatusCode::from_u16(status).unwrap();
                let e = classify_status(status, Some(code));
                assert_eq!(e.kind(), kind, "{code} with {status}: {e:?}");
                let message = e.to_string();
                assert!(message.contains(says), "{code}: {message}");
                if kind == "auth" {
                    assert!(
                        message.ends_with(&format!(" (Slack error `{code}`).")),
                        "an auth message names the code: {message}"
                    );
                }
                assert_eq!(
                    classify_body_error(
                        status,
                        PageError::Slack {
                            code: Some(code.into())
                        }
                    ),
                    e,
                    "{code} means the same in a page body"
                );
            }
        }
    }

    #[test]
    fn a_code_not_in_the_table_is_classified_by_its_status_and_named() {
        assert_eq!(classify_code(Some("no_such_code")), None);
        assert_eq!(classify_code(None), None);
        assert_eq!(
            classify_status(StatusCode::BAD_GATEWAY, Some("no_such_code")).to_string(),
            "Slack answered HTTP 502, error `no_such_code`"
        );
        assert!(matches!(
            classify_body_error(StatusCode::OK, PageError::Slack { code: Some("no_such_code".into()) }),
            FetchError::Transient(m) if m.contains("(error \"no_such_code\")")
        ));
    }
}
