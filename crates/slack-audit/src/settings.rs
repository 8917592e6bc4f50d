//! The `settings` and `secrets` of the Slack Audit Logs input, their schema, and the semantic
//! checks a schema cannot express (a backfill time in the future, a token required only outside
//! synthetic mode, an `api_base_url` that is Slack's API or loopback, a CA bundle that holds
//! certificates and that the operator allows, a proxy address).
//!
//! **Who may add trust.** Settings are not secret: in a pipeline host, whoever may edit them
//! need not be able to read the token. A CA from the settings (`ca_bundle_file`,
//! `ca_bundle_pem`) would let such an editor put a TLS-inspecting proxy of theirs between the
//! connector and Slack (`proxy_url` is a setting too) and read the token; so it is honoured only
//! when the operator, who controls the environment, sets [`ALLOW_SETTINGS_CA`] to `1`, and is
//! refused otherwise, with a message saying so.
//!
//! The setting names are part of the contract with the host: renaming one breaks every saved
//! config, so add, never rename.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use connector_sdk::contract::error::{ConfigError, Violation};
use connector_sdk::secrecy::{ExposeSecret, SecretString};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The earliest time Slack's audit log can be asked about: the feature began in March 2018 and
/// Slack refuses an `oldest` before it with `invalid_range`. Earlier backfill times are clamped.
pub const AUDIT_LOG_EPOCH: i64 = 1_521_072_000; // 2018-03-15T00:00:00Z

/// Slack's documented maximum for `limit`.
pub const MAX_PAGE_SIZE: u32 = 9999;

/// Non-secret settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackSettings {
    /// Generate realistic synthetic audit events instead of calling Slack. No token is needed and
    /// nothing touches the network; the events go through the same incremental sync as real ones.
    #[serde(default)]
    pub use_synthetic_data: bool,

    /// Where the first run starts. An RFC 3339 time (`2024-01-01T00:00:00Z`), a date (`2024-01-01`,
    /// midnight UTC) or a duration before the first run (`30m`, `24h`, `7d`, `2w`). Unset: no past
    /// events are fetched; the first run starts from now. Only the first run reads it: later runs
    /// continue from the state file. Times before March 2018 are clamped to when Slack's audit
    /// log begins.
    #[serde(default)]
    #[schemars(example = &"2024-01-01T00:00:00Z", example = &"2024-01-01", example = &"7d")]
    #[schemars(regex(
        pattern = r"^(\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2}))?|\d+[smhdw])$"
    ))]
    pub backfill_start_time: Option<String>,

    /// Base URL of Slack's API: `https://api.slack.com`, or `https://api.slack-gov.com` for
    /// GovSlack, with nothing after the host. The token is sent only there, or to a loopback
    /// address (`127.0.0.0/8`, `::1`, `localhost`, which is never looked up in DNS), for tests and
    /// local tunnels; `http` is allowed only on loopback, and never goes through a proxy. No
    /// credentials, path, query or fragment. To reach Slack through a proxy, keep this and set
    /// `proxy_url` (or `HTTPS_PROXY`).
    #[serde(default = "default_api_base_url")]
    #[schemars(example = &"https://api.slack.com")]
    pub api_base_url: String,

    /// Path of a PEM file of CA certificates to trust, in addition to the system's trust store
    /// and the bundled web roots: the CA of a TLS-inspecting proxy, typically. A regular file of
    /// at most 1 MiB. For the command line; pipeline hosts that pass no files use
    /// `ca_bundle_pem`. Honoured only when the environment sets `SLACK_AUDIT_ALLOW_SETTINGS_CA=1`
    /// (the operator's consent: a CA lets whoever holds its key read the token), else refused;
    /// every run logs each CA's subject and SHA-256 fingerprint.
    #[serde(default)]
    #[schemars(length(min = 1), example = &"/etc/pki/corp-proxy-ca.pem")]
    pub ca_bundle_file: Option<String>,

    /// PEM text of CA certificates to trust (`-----BEGIN CERTIFICATE-----` …), in addition to
    /// the system's trust store, the bundled web roots and `ca_bundle_file`. For pipeline hosts
    /// that pass no files. Like `ca_bundle_file`, honoured only with
    /// `SLACK_AUDIT_ALLOW_SETTINGS_CA=1` in the environment.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub ca_bundle_pem: Option<String>,

    /// Proxy for requests to Slack (`http://proxy.example:3128`; `http` or `https`): an HTTPS
    /// request is tunnelled through it with CONNECT, so the token stays inside TLS. Overrides
    /// `HTTPS_PROXY`/`ALL_PROXY`; `NO_PROXY` still applies. Unset: those environment variables
    /// decide. A loopback `http` base URL never goes through a proxy. Every run logs the proxy
    /// it goes through (host and port).
    #[serde(default)]
    #[schemars(length(min = 1), example = &"http://proxy.example:3128")]
    pub proxy_url: Option<String>,

    /// Entries asked for per request (`limit`, 1 to 9999). Slack may return a few more (events of
    /// one second are never split) or fewer. The largest page spends the fewest calls of the
    /// organization's shared budget of about 50 a minute.
    #[serde(default = "default_page_size")]
    #[schemars(range(min = 1, max = 9999))]
    pub page_size: u32,

    /// Most requests this connector makes per minute. Slack allows about 50 a minute for the
    /// whole organization, shared with every other app reading its audit logs; the default
    /// leaves room for them.
    #[serde(default = "default_requests_per_minute")]
    #[schemars(range(min = 1, max = 600))]
    pub requests_per_minute: u32,

    /// Only these actions (such as `user_login`), with those of `action_categories`. Empty (and
    /// no categories): every action. Up to 30 names in all, Slack filters them (its `action`
    /// filter), so nothing else is read; more, and every event is read and the others dropped
    /// on this side (said once in the log, with the cost). Names Slack does not list (as of the
    /// bundled catalogue; `slack-audit actions` compares it with Slack's) are refused.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^[A-Za-z0-9_.]+$")))]
    pub actions: Vec<String>,

    /// Every action but these (such as `user_channel_join`), with those of
    /// `exclude_action_categories`; taken out of what `actions` and `action_categories` include.
    /// Filtered on this side: every event of what is included is read, and the excluded ones are
    /// dropped (they still count as read: nothing is fetched again).
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^[A-Za-z0-9_.]+$")))]
    pub exclude_actions: Vec<String>,

    /// Only the actions of these categories, as Slack's `GET /audit/v1/actions` groups them
    /// (such as `file`, `channel`, `app`), with those of `actions`. The categories are those of
    /// the bundled catalogue.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^[A-Za-z0-9_.]+$")))]
    pub action_categories: Vec<String>,

    /// Every action but those of these categories (such as `user`), with `exclude_actions`.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^[A-Za-z0-9_.]+$")))]
    pub exclude_action_categories: Vec<String>,

    /// Only events by this user id (Slack's `actor` filter, such as `W0123ABCD`).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub actor: Option<String>,

    /// Only events on this object id (Slack's `entity` filter: a channel, file, workspace, … id).
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub entity: Option<String>,

    /// How far behind the newest delivered event each run looks again, in seconds, to catch
    /// events Slack indexes late. Re-read events are recognised by id and not delivered twice.
    #[serde(default = "default_late_arrival_window_seconds")]
    #[schemars(range(min = 0, max = 86400))]
    pub late_arrival_window_seconds: u32,

    /// Seconds before a request to Slack is abandoned and retried.
    #[serde(default = "default_request_timeout_seconds")]
    #[schemars(range(min = 1, max = 300))]
    pub request_timeout_seconds: u32,

    /// Retries of a failing request (timeouts, 5xx, broken bodies) before the run fails without
    /// moving its checkpoint.
    #[serde(default = "default_max_retries")]
    #[schemars(range(min = 0, max = 20))]
    pub max_retries: u32,

    /// First backoff between retries in milliseconds; it doubles each retry (with jitter), up
    /// to a minute.
    #[serde(default = "default_retry_base_delay_ms")]
    #[schemars(range(min = 1, max = 60000))]
    pub retry_base_delay_ms: u32,

    /// Synthetic mode: seed of the generated organization and events. The same seed gives the
    /// same events.
    #[serde(default = "default_synthetic_seed")]
    pub synthetic_seed: u64,

    /// Synthetic mode: average events per hour before the working-hours rhythm.
    #[serde(default = "default_synthetic_events_per_hour")]
    #[schemars(range(min = 0.0, max = 36000000.0))]
    pub synthetic_events_per_hour: f64,

    /// What each record is: `slack`, the audit entry exactly as Slack sent it, or `ocsf`, the
    /// entry as one OCSF event of `ocsf_version` (class and activity from the bundled mapping
    /// of every Slack action; every value of the entry kept, mapped or under `unmapped`).
    #[serde(default)]
    pub record_format: RecordFormat,

    /// With `record_format` `ocsf`: also put the entry, as Slack sent it, in each event's
    /// `raw_data`.
    #[serde(default)]
    pub ocsf_raw_data: bool,

    /// With `record_format` `ocsf`: the OCSF version of the events, `1.8.0` or `1.3.0` (what
    /// Amazon Security Lake takes from custom sources). The same mapping; where 1.3.0 lacks a
    /// status or attribute, docs/ocsf.md says what changes.
    #[serde(default)]
    pub ocsf_version: OcsfVersion,
}

/// The OCSF version of the events (`settings.ocsf_version`); `crate::ocsf::version` says what
/// each has.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[schemars(inline)]
pub enum OcsfVersion {
    // OCSF 1.3.0, for Amazon Security Lake. (Plain comments: doc comments here would turn the
    // schema's `enum` into a `oneOf` without a `type`.)
    #[serde(rename = "1.3.0")]
    V1_3_0,
    // OCSF 1.8.0.
    #[default]
    #[serde(rename = "1.8.0")]
    V1_8_0,
}

/// The format of the records written (`settings.record_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(inline)]
pub enum RecordFormat {
    // Audit entries exactly as Slack sent them. (Plain comments: doc comments here would turn
    // the schema's `enum` into a `oneOf` without a `type`.)
    #[default]
    Slack,
    // One OCSF event per entry.
    Ocsf,
}

/// Secrets.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackSecrets {
    /// User OAuth token (`xoxp-…`) of a Slack app with the `auditlogs:read` user scope, installed
    /// on the Enterprise Grid organization by an Org Owner. Required unless
    /// `settings.use_synthetic_data` is true. When absent here, taken from the environment
    /// variable `SLACK_AUDIT_USER_OAUTH_TOKEN`, else the file named by
    /// `SLACK_AUDIT_USER_OAUTH_TOKEN_FILE`, else `$CREDENTIALS_DIRECTORY/user_oauth_token`
    /// (systemd `LoadCredential=`).
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^xoxp-"), extend("writeOnly" = true))]
    pub user_oauth_token: Option<SecretString>,
}

impl connector_sdk::contract::input::Settings for SlackSettings {
    /// A start time the schema's pattern refused is explained with the accepted forms, not the
    /// pattern.
    fn explain(pointer: &str, value: &serde_json::Value) -> Option<String> {
        match (pointer, value) {
            ("/settings/backfill_start_time", serde_json::Value::String(text)) => {
                parse_start_time(text).err()
            }
            _ => None,
        }
    }
}
impl connector_sdk::contract::input::Secrets for SlackSecrets {
    /// The schema's `^xoxp-` pattern refuses a bot, app or empty token before the config is
    /// built; say which it is, as the config's own checks would.
    fn explain(pointer: &str, value: &serde_json::Value) -> Option<String> {
        match (pointer, value) {
            ("/secrets/user_oauth_token", serde_json::Value::String(token)) => {
                token_problem(token).map(str::to_owned)
            }
            _ => None,
        }
    }

    /// `SLACK_AUDIT_USER_OAUTH_TOKEN`, `SLACK_AUDIT_USER_OAUTH_TOKEN_FILE` or
    /// `$CREDENTIALS_DIRECTORY/user_oauth_token` when the config holds no token.
    const FROM_ENVIRONMENT: &'static [&'static str] = &["user_oauth_token"];

    fn redact(text: &str) -> Option<String> {
        crate::redact::slack_tokens(text)
    }
}

/// The environment variable by which the operator allows CAs from the settings
/// (`ca_bundle_file`, `ca_bundle_pem`): `1` allows them; unset or anything else refuses them.
pub const ALLOW_SETTINGS_CA: &str = "SLACK_AUDIT_ALLOW_SETTINGS_CA";

/// The largest `ca_bundle_file` read (a bundle of every public root is about 200 KiB).
pub const MAX_CA_BUNDLE_BYTES: u64 = 1 << 20;

/// Slack's API hosts: the only hosts, besides loopback, the token is sent to.
pub const SLACK_API_HOSTS: [&str; 2] = ["api.slack.com", "api.slack-gov.com"];

/// What the operator, who controls the environment, allows beyond the settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Operator {
    /// [`ALLOW_SETTINGS_CA`] is `1`: CAs from the settings are trusted.
    pub allows_settings_ca: bool,
}

impl Operator {
    /// This process's environment.
    pub fn from_env() -> Operator {
        Operator {
            allows_settings_ca: std::env::var(ALLOW_SETTINGS_CA).is_ok_and(|v| v.trim() == "1"),
        }
    }
}

fn default_api_base_url() -> String {
    "https://api.slack.com".into()
}
fn default_page_size() -> u32 {
    MAX_PAGE_SIZE
}
fn default_requests_per_minute() -> u32 {
    20
}
fn default_late_arrival_window_seconds() -> u32 {
    600
}
fn default_request_timeout_seconds() -> u32 {
    30
}
fn default_max_retries() -> u32 {
    5
}
fn default_retry_base_delay_ms() -> u32 {
    1000
}
fn default_synthetic_seed() -> u64 {
    1
}
fn default_synthetic_events_per_hour() -> f64 {
    3600.0
}

/// Where the first run starts, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPoint {
    /// Unix seconds.
    At(i64),
    /// This long before the first run.
    Ago(i64),
    /// The first run's now.
    Now,
}

impl StartPoint {
    /// The start point in unix seconds, given the first run's `now`, clamped to the epoch.
    pub fn resolve(self, now: i64) -> i64 {
        let t = match self {
            StartPoint::At(t) => t,
            StartPoint::Ago(d) => now.saturating_sub(d),
            StartPoint::Now => now,
        };
        t.max(AUDIT_LOG_EPOCH)
    }
}

/// The checked, parsed form of the config that the rest of the crate uses.
#[derive(Debug)]
pub struct SlackConfig {
    /// The settings as given.
    pub settings: SlackSettings,
    /// The token (absent in synthetic mode).
    pub token: Option<SecretString>,
    /// Parsed `backfill_start_time`.
    pub start: StartPoint,
    /// `api_base_url` as parsed (scheme and host lowercased, surrounding spaces and tabs gone,
    /// path `/`): what requests go to and what their route is decided from.
    pub base_url: url::Url,
    /// Where requests go and whom they trust.
    pub network: Network,
}

/// The CA certificates added to the trust store and the proxy, from the settings.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// From `ca_bundle_file`, then `ca_bundle_pem`.
    pub extra_roots: Vec<ExtraCa>,
    /// `proxy_url`, parsed.
    pub proxy: Option<reqwest::Url>,
}

/// A CA certificate added to the trust store, and the setting it came from.
#[derive(Debug, Clone)]
pub struct ExtraCa {
    /// The certificate (DER).
    pub der: CertificateDer<'static>,
    /// `settings.ca_bundle_file` or `settings.ca_bundle_pem`.
    pub from: &'static str,
}

impl SlackConfig {
    /// Runs the semantic checks, reporting every problem at once. `now` is unix seconds. What
    /// the operator allows is read from this process's environment ([`Operator::from_env`]).
    pub fn new(
        settings: SlackSettings,
        secrets: SlackSecrets,
        now: i64,
    ) -> Result<SlackConfig, ConfigError> {
        Self::with_operator(settings, secrets, now, Operator::from_env())
    }

    /// [`new`](Self::new), with what the operator allows given.
    pub fn with_operator(
        settings: SlackSettings,
        secrets: SlackSecrets,
        now: i64,
        operator: Operator,
    ) -> Result<SlackConfig, ConfigError> {
        Self::checked(settings, secrets, now, operator, true)
    }

    /// The settings' checks without the token's, for the requests that send none (`slack-audit
    /// actions`: Slack's catalogue is public).
    pub fn without_token(settings: SlackSettings, now: i64) -> Result<SlackConfig, ConfigError> {
        Self::checked(
            settings,
            SlackSecrets::default(),
            now,
            Operator::from_env(),
            false,
        )
    }

    fn checked(
        settings: SlackSettings,
        secrets: SlackSecrets,
        now: i64,
        operator: Operator,
        needs_token: bool,
    ) -> Result<SlackConfig, ConfigError> {
        let mut problems = Vec::new();

        let start = match settings.backfill_start_time.as_deref() {
            None => StartPoint::Now,
            Some(text) => match parse_start_time(text) {
                Ok(StartPoint::At(t)) if t > now => {
                    problems.push(Violation::new(
                        "/settings/backfill_start_time",
                        format!("{text:?} is in the future; use a past time, or leave it unset to start from now"),
                    ));
                    StartPoint::Now
                }
                Ok(StartPoint::At(t)) if t < AUDIT_LOG_EPOCH => {
                    tracing::warn!(
                        message = "backfill_start_time is before Slack's audit log begins; starting from the earliest time instead.",
                        backfill_start_time = text,
                        earliest = AUDIT_LOG_EPOCH,
                    );
                    StartPoint::At(AUDIT_LOG_EPOCH)
                }
                Ok(point) => point,
                Err(reason) => {
                    problems.push(Violation::new("/settings/backfill_start_time", reason));
                    StartPoint::Now
                }
            },
        };

        let base_url = match check_base_url(&settings.api_base_url) {
            Ok(url) => Some(url),
            Err(reason) => {
                problems.push(Violation::new("/settings/api_base_url", reason));
                None
            }
        };

        let mut network = Network::default();
        let bundles = [
            (
                "ca_bundle_file",
                settings.ca_bundle_file.as_deref().map(CaSource::File),
            ),
            (
                "ca_bundle_pem",
                settings.ca_bundle_pem.as_deref().map(CaSource::Pem),
            ),
        ];
        for (name, bundle) in bundles {
            let Some(bundle) = bundle else { continue };
            let pointer = format!("/settings/{name}");
            if !operator.allows_settings_ca {
                problems.push(Violation::new(pointer, settings_ca_refused(name)));
                continue;
            }
            match bundle.certificates() {
                Ok(certs) => network
                    .extra_roots
                    .extend(certs.into_iter().map(|der| ExtraCa {
                        der,
                        from: bundle.setting(),
                    })),
                Err(reason) => problems.push(Violation::new(pointer, reason)),
            }
        }
        if let Some(proxy) = settings.proxy_url.as_deref() {
            match check_proxy_url(proxy) {
                Ok(url) => network.proxy = Some(url),
                Err(reason) => problems.push(Violation::new("/settings/proxy_url", reason)),
            }
        }

        if !(settings.synthetic_events_per_hour.is_finite()
            && settings.synthetic_events_per_hour >= 0.0)
        {
            problems.push(Violation::new(
                "/settings/synthetic_events_per_hour",
                "must be a non-negative number",
            ));
        }
        if settings.ocsf_raw_data && settings.record_format != RecordFormat::Ocsf {
            tracing::warn!(
                message =
                    "ocsf_raw_data is set but record_format is not \"ocsf\"; it has no effect.",
            );
        }
        if settings.ocsf_version != OcsfVersion::default()
            && settings.record_format != RecordFormat::Ocsf
        {
            tracing::warn!(
                message =
                    "ocsf_version is set but record_format is not \"ocsf\"; it has no effect.",
            );
        }
        problems.extend(check_action_filters(&settings));

        // A filter is sent to Slack and remembered in the state: a token pasted there would be
        // kept in a file and sent as a filter. Ids never look like tokens.
        for (pointer, value) in [
            ("/settings/actor", &settings.actor),
            ("/settings/entity", &settings.entity),
        ] {
            if value
                .as_deref()
                .is_some_and(|v| crate::redact::slack_tokens(v).is_some())
            {
                problems.push(Violation::new(
                    pointer,
                    "looks like a Slack token (xox…-, xapp-…): this filter takes an id such as W0123ABCD; the token goes only in secrets.user_oauth_token",
                ));
            }
        }

        let token = secrets.user_oauth_token;
        if needs_token && !settings.use_synthetic_data {
            match &token {
                None => problems.push(Violation::new(
                    "/secrets/user_oauth_token",
                    "is required unless settings.use_synthetic_data is true: a user OAuth token (xoxp-…) with the auditlogs:read scope, in the config, in the environment variable SLACK_AUDIT_USER_OAUTH_TOKEN, or in the file named by SLACK_AUDIT_USER_OAUTH_TOKEN_FILE",
                )),
                Some(t) => {
                    let t = t.expose_secret();
                    if let Some(reason) = token_problem(t) {
                        problems.push(Violation::new("/secrets/user_oauth_token", reason));
                    }
                }
            }
        }

        match base_url {
            Some(base_url) if problems.is_empty() => Ok(SlackConfig {
                settings,
                token,
                start,
                base_url,
                network,
            }),
            _ => Err(ConfigError::Invalid(problems)),
        }
    }

    /// The per-request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.settings.request_timeout_seconds))
    }

    /// The late-arrival window in seconds.
    pub fn lookback(&self) -> i64 {
        i64::from(self.settings.late_arrival_window_seconds)
    }
}

/// What is wrong with a token, without ever quoting it.
fn token_problem(token: &str) -> Option<&'static str> {
    if token.trim().is_empty() {
        return Some("is empty; give a user OAuth token (xoxp-…)");
    }
    if token.starts_with("xoxb-") {
        return Some(
            "is a bot token (xoxb-…); the Audit Logs API needs a user token (xoxp-…) with the auditlogs:read user scope",
        );
    }
    if token.starts_with("xapp-") {
        return Some(
            "is an app-level token (xapp-…); the Audit Logs API needs a user token (xoxp-…)",
        );
    }
    let Some(body) = token.strip_prefix("xoxp-") else {
        return Some("must be a user OAuth token starting with xoxp-");
    };
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(
            "is not a well-formed token: it contains whitespace or a control character (a line break copied with it?)",
        );
    }
    if !well_formed_user_token(body) {
        return Some(
            "is not a well-formed user token: after xoxp- Slack's user tokens are groups of digits and hexadecimal letters (0-9, a-f) separated by single dashes, as in xoxp-<digits>-<digits>-<digits>-<32 hex digits>; check that the whole token, and nothing else, was copied",
        );
    }
    None
}

/// Whether `body` (a user token after `xoxp-`) has the shape Slack issues: at least two and at
/// most eight groups of 1 to 64 hexadecimal digits, separated by single `-`, 20 to 255
/// characters with the prefix.
fn well_formed_user_token(body: &str) -> bool {
    let groups: Vec<&str> = body.split('-').collect();
    (15..=250).contains(&body.len())
        && (2..=8).contains(&groups.len())
        && groups
            .iter()
            .all(|g| (1..=64).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Parses `backfill_start_time`: RFC 3339, a plain date (UTC midnight), or `<n>[smhdw]`.
pub fn parse_start_time(text: &str) -> Result<StartPoint, String> {
    let text = text.trim();
    if let Some(unit) = text.chars().last().filter(|c| "smhdw".contains(*c)) {
        let digits = &text[..text.len() - 1];
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = digits
                .parse()
                .map_err(|_| format!("{text:?}: the duration is too large"))?;
            let scale = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => 7 * 86_400,
            };
            return n
                .checked_mul(scale)
                .filter(|d| *d <= 20 * 365 * 86_400)
                .map(StartPoint::Ago)
                .ok_or_else(|| format!("{text:?}: the duration is too large"));
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(StartPoint::At(t.with_timezone(&Utc).timestamp()));
    }
    if let Some(t) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        return Ok(StartPoint::At(t.and_utc().timestamp()));
    }
    Err(format!(
        "{text:?} is not a time: use RFC 3339 (2024-01-01T00:00:00Z), a date (2024-01-01) or a duration before the first run: a whole number and a unit without a space, s, m, h, d or w (90m, 24h, 7d, 2w)"
    ))
}

/// The action filters' names, each checked against the bundled catalogue (an unknown one
/// refused with the closest listed name), and a filter that would keep nothing.
fn check_action_filters(settings: &SlackSettings) -> Vec<Violation> {
    let mut problems = Vec::new();
    let actions = [
        ("actions", &settings.actions),
        ("exclude_actions", &settings.exclude_actions),
    ];
    for (key, names) in actions {
        for (i, name) in names.iter().enumerate() {
            if crate::actions::is_known(name) {
                continue;
            }
            let hint = crate::actions::closest_action(name)
                .map(|close| format!(" (did you mean {close:?}?)"))
                .unwrap_or_default();
            problems.push(Violation::new(
                format!("/settings/{key}/{i}"),
                format!(
                    "{name:?} is not an action Slack lists{hint}; the bundled catalogue knows {} actions, and `slack-audit actions` compares it with what Slack lists today",
                    slack_audit_model::ActionCatalog::bundled().len()
                ),
            ));
        }
    }
    let categories = [
        ("action_categories", &settings.action_categories),
        (
            "exclude_action_categories",
            &settings.exclude_action_categories,
        ),
    ];
    for (key, names) in categories {
        for (i, name) in names.iter().enumerate() {
            if crate::actions::is_category(name) {
                continue;
            }
            let hint = crate::actions::closest_category(name)
                .map(|close| format!(" (did you mean {close:?}?)"))
                .unwrap_or_default();
            let known: Vec<&str> = slack_audit_model::ActionCatalog::bundled()
                .categories()
                .map(|(category, _)| category)
                .collect();
            problems.push(Violation::new(
                format!("/settings/{key}/{i}"),
                format!(
                    "{name:?} is not a category of Slack's actions{hint}; the categories are {}",
                    known.join(", ")
                ),
            ));
        }
    }
    if problems.is_empty() {
        let includes = !settings.actions.is_empty() || !settings.action_categories.is_empty();
        let (kept, _) = crate::actions::effective_filter(
            slack_audit_model::ActionCatalog::bundled(),
            [&settings.actions, &settings.action_categories],
            [
                &settings.exclude_actions,
                &settings.exclude_action_categories,
            ],
        );
        if includes && kept.is_empty() {
            problems.push(Violation::new(
                "/settings/exclude_actions",
                "with exclude_action_categories, excludes every action that actions and action_categories include: nothing would be collected",
            ));
        }
    }
    problems
}

/// Where to reach Slack through a proxy, said in every refusal of `api_base_url`.
const PROXY_HINT: &str = "to reach Slack through a proxy, keep the default https://api.slack.com and set settings.proxy_url or HTTPS_PROXY (and trust a TLS-inspecting proxy's CA in the system trust store, or, where the operator allows it, in settings.ca_bundle_file or ca_bundle_pem)";

/// A CA bundle of the settings: a file to read, or the PEM text itself.
#[derive(Debug, Clone, Copy)]
enum CaSource<'a> {
    File(&'a str),
    Pem(&'a str),
}

impl CaSource<'_> {
    fn setting(self) -> &'static str {
        match self {
            CaSource::File(_) => "settings.ca_bundle_file",
            CaSource::Pem(_) => "settings.ca_bundle_pem",
        }
    }

    /// The certificates; a file is read as a regular file of at most [`MAX_CA_BUNDLE_BYTES`]
    /// (a FIFO does not block the open, `/dev/zero` is refused).
    fn certificates(self) -> Result<Vec<CertificateDer<'static>>, String> {
        match self {
            CaSource::File(path) => {
                let pem = connector_sdk::runtime::file::read_regular(
                    std::path::Path::new(path),
                    MAX_CA_BUNDLE_BYTES,
                    "CA bundle",
                )
                .map_err(|e| format!("cannot read {path:?}: {e}"))?;
                certificates(&pem)
            }
            CaSource::Pem(pem) => certificates(pem.as_bytes()),
        }
    }
}

/// The refusal of a CA from the settings the operator has not allowed.
fn settings_ca_refused(name: &str) -> String {
    format!(
        "adds a CA to trust, and the operator has not allowed CAs from the settings, so it is not trusted and nothing was sent: whoever holds that CA's key could read every request, the token included. The operator allows it by setting the environment variable {ALLOW_SETTINGS_CA}=1 where the connector runs; or leave {name} out and install the CA in the system trust store (or name it with SSL_CERT_FILE)"
    )
}

/// The rule for `api_base_url`: the token goes only to Slack's API (`https://api.slack.com`,
/// `https://api.slack-gov.com`) or to this machine (loopback, where `http` is allowed too), at
/// the root. The URL is parsed as a browser would (a scheme in capitals, spaces around it, a tab
/// inside it are all normalised), and what is checked is what is returned, for requests to use.
/// Messages never quote the URL (a token may have been pasted into it), only its host.
fn check_base_url(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| {
        format!("is not a URL ({e}); it must be Slack's API address, such as https://api.slack.com")
    })?;
    if parsed.username() != "" || parsed.password().is_some() {
        return Err(
            "must not carry credentials (user:password@): the token goes in secrets, and nothing else is sent to Slack".into(),
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(
            "must not have a query or fragment (`?…`, `#…`): the token goes in secrets.user_oauth_token, never in the URL".into(),
        );
    }
    let scheme = parsed.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(format!("scheme {scheme:?} is not supported; use https"));
    }
    if parsed.path() != "/" {
        return Err(
            "must have no path (nothing after the host, such as https://api.slack.com): the connector adds Slack's API path itself, and the token goes in secrets.user_oauth_token, never in the URL".into(),
        );
    }
    if is_loopback(&parsed) {
        return Ok(parsed);
    }
    let host = parsed.host_str().unwrap_or_default();
    if !SLACK_API_HOSTS.contains(&host) {
        return Err(format!(
            "host `{host}` is not Slack's API: the token is sent only to https://api.slack.com or https://api.slack-gov.com, or to a loopback address (127.0.0.1, ::1, localhost) for tests and local tunnels; {PROXY_HINT}"
        ));
    }
    if scheme == "http" {
        return Err(format!(
            "uses http to `{host}`; use https (the token would travel in clear, to Slack or to any proxy on the way)"
        ));
    }
    if let Some(port) = parsed.port() {
        return Err(format!(
            "names port {port} of `{host}`: Slack's API listens on 443 only; leave the port out"
        ));
    }
    Ok(parsed)
}

/// Whether `url` names this machine: a loopback IP (`127.0.0.0/8`, `::1`) or `localhost`.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The certificates of a PEM bundle; an error when there is none or one is broken.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("is not a readable PEM bundle ({e})"))?;
    if certs.is_empty() {
        return Err("holds no certificate (-----BEGIN CERTIFICATE----- …); export the proxy's CA certificate in PEM".into());
    }
    Ok(certs)
}

/// `proxy_url`: `http` or `https`, a host, nothing else. Credentials are refused: settings are
/// not secret (an authenticating proxy can be given in `HTTPS_PROXY`).
fn check_proxy_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| format!("is not a URL ({e}); use http://HOST:PORT"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "scheme {:?} is not supported; use http://HOST:PORT (HTTPS requests are tunnelled with CONNECT) or https://HOST:PORT",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host; use http://HOST:PORT".into());
    }
    if url.username() != "" || url.password().is_some() {
        return Err("must not carry credentials: settings are not secret; give an authenticating proxy in the HTTPS_PROXY environment variable".into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("must be only a scheme, host and port (http://HOST:PORT)".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_the_token_shape_slack_issues_is_accepted_and_a_refusal_never_quotes_it() {
        for good in [
            "xoxp-1234567890-1234567890123-1234567890123-0123456789abcdef0123456789abcdef",
            "xoxp-4242424242-4242424242-424242424242-5EC7E75EC7E7",
            "xoxp-0000000000-ffffffffff",
        ] {
            assert_eq!(token_problem(good), None, "{good}");
        }
        for bad in [
            "xoxp-fixture-token-not-real",
            "xoxp-1234567890-1234567890_123-0123456789abcdef",
            "xoxp-1234567890-1234567890.123-0123456789abcdef",
            "xoxp-1234567890--1234567890123-0123456789abcdef",
            "xoxp-1234567890-1234567890123-0123456789abcdef-",
            "xoxp-12345678901234567890",
            "xoxp-1-2",
            "xoxp-1234567890-1234567890123-\"0123456789abcdef\"",
            "xoxp-1234567890-1234567890123-0123456789abcdef\n",
            "xoxb-1234567890-1234567890123-0123456789abcdef",
            "xoxe.xoxp-1-1234567890-1234567890123-0123456789abcdef",
        ] {
            let problem = token_problem(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(!problem.contains(&bad[5..]), "{bad:?}: {problem}");
        }
        let too_long = format!("xoxp-{}", ["0123456789abcdef"; 16].join("-"));
        assert!(token_problem(&too_long).is_some());
    }

    #[test]
    fn the_token_goes_only_to_slack_or_to_this_machine() {
        for (ok, parsed) in [
            ("https://api.slack.com", "https://api.slack.com/"),
            ("https://API.Slack.com:443/", "https://api.slack.com/"),
            (" HTTPS://api.slack.com ", "https://api.slack.com/"),
            ("https://api.slack-gov.com", "https://api.slack-gov.com/"),
            ("https://127.0.0.1:8443", "https://127.0.0.1:8443/"),
            ("http://127.0.0.1:9000", "http://127.0.0.1:9000/"),
            ("http://127.0.0.2:9000/", "http://127.0.0.2:9000/"),
            ("HTTP://127.0.0.1:1", "http://127.0.0.1:1/"),
            ("ht\ttp://127.0.0.1:1", "http://127.0.0.1:1/"),
            (" http://localhost:1", "http://localhost:1/"),
            ("http://[::1]:9000", "http://[::1]:9000/"),
            ("http://LocalHost:9000", "http://localhost:9000/"),
        ] {
            assert_eq!(
                check_base_url(ok).map(|u| u.to_string()).as_deref(),
                Ok(parsed),
                "{ok:?}"
            );
        }
        for (refused, why) in [
            ("https://slack.com", "is not Slack's API"),
            ("https://acme.slack.com", "is not Slack's API"),
            ("https://slack-gov.com", "is not Slack's API"),
            ("https://evilslack.com", "is not Slack's API"),
            ("https://slack.com.evil.example", "is not Slack's API"),
            ("https://api.slack.com.", "is not Slack's API"),
            ("https://api.slack.co", "is not Slack's API"),
            ("https://10.0.0.1", "is not Slack's API"),
            ("http://localhost.:1", "is not Slack's API"),
            ("http://[::ffff:127.0.0.1]:1", "is not Slack's API"),
            ("http://api.slack.com", "uses http"),
            ("HTTP://API.SLACK.COM", "uses http"),
            ("http://10.0.0.1", "is not Slack's API"),
            ("https://api.slack.com:8443", "port 8443"),
            ("https://u:p@api.slack.com", "credentials"),
            ("https://api.slack.com/?token=xoxp-1", "query"),
            ("https://api.slack.com/#xoxp-1", "fragment"),
            ("https://api.slack.com/xoxp-1", "no path"),
            ("https://api.slack.com/api/", "no path"),
            ("https://api.slack.com//", "no path"),
            ("http://127.0.0.1:1/prefix", "no path"),
            ("ftp://api.slack.com", "scheme"),
        ] {
            let message = check_base_url(refused).unwrap_err();
            assert!(message.contains(why), "{refused}: {message}");
            assert!(!message.contains("xoxp-1"), "{refused}: {message}");
        }
    }

    fn settings_with(extra: serde_json::Value) -> SlackSettings {
        serde_json::from_value(extra).unwrap()
    }

    fn secrets() -> SlackSecrets {
        serde_json::from_value(serde_json::json!({"user_oauth_token": "xoxp-1234567890-abcdef"}))
            .unwrap()
    }

    fn refusal(result: Result<SlackConfig, ConfigError>) -> String {
        match result {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    const ALLOWED: Operator = Operator {
        allows_settings_ca: true,
    };

    #[test]
    fn a_ca_from_the_settings_is_trusted_only_when_the_operator_allows_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, slack_mock::tls::TEST_CA_PEM).unwrap();
        for settings in [
            serde_json::json!({"ca_bundle_pem": slack_mock::tls::TEST_CA_PEM}),
            serde_json::json!({"ca_bundle_file": file.to_str().unwrap()}),
        ] {
            let message = refusal(SlackConfig::with_operator(
                settings_with(settings.clone()),
                secrets(),
                0,
                Operator::default(),
            ));
            assert!(
                message.contains("SLACK_AUDIT_ALLOW_SETTINGS_CA=1"),
                "{message}"
            );
            assert!(message.contains("not trusted"), "{message}");
            let config =
                SlackConfig::with_operator(settings_with(settings), secrets(), 0, ALLOWED).unwrap();
            assert_eq!(config.network.extra_roots.len(), 1);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_ca_bundle_file_is_a_regular_file_of_at_most_one_mebibyte() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let big = dir.path().join("big.pem");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_CA_BUNDLE_BYTES + 1)
            .unwrap();
        for (path, why) in [
            (fifo.as_path(), "not a regular file (it is a FIFO)"),
            (std::path::Path::new("/dev/zero"), "not a regular file"),
            (big.as_path(), "cap of 1 MiB for a CA bundle file"),
            (dir.path(), "is a directory"),
        ] {
            let settings = settings_with(serde_json::json!({"ca_bundle_file": path}));
            let message = refusal(SlackConfig::with_operator(settings, secrets(), 0, ALLOWED));
            assert!(
                message.contains("/settings/ca_bundle_file") && message.contains(why),
                "{}: {message}",
                path.display()
            );
        }
    }

    #[test]
    fn a_proxy_is_an_http_or_https_host_without_credentials() {
        assert!(check_proxy_url("http://proxy.example:3128").is_ok());
        assert!(check_proxy_url("https://proxy.example").is_ok());
        for refused in [
            "socks5://proxy:1080",
            "http://u:p@proxy:3128",
            "http://proxy:3128/path",
            "proxy:3128",
        ] {
            assert!(check_proxy_url(refused).is_err(), "{refused}");
        }
    }
}
