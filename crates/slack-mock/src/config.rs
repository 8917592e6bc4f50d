//! Configuration of a [`MockSlack`](crate::MockSlack): dataset behaviour, rate limiting,
//! one-shot and random faults, and the scripted (byte-exact replay) mode.

use std::collections::HashSet;
use std::time::Duration;

use crate::entry::MockEntry;

/// The path of the audit log method, the one that needs the token.
pub const LOGS_PATH: &str = "/audit/v1/logs";

/// The path of the action catalogue (no token needed), served from
/// [`MockConfig::actions_document`].
pub const ACTIONS_PATH: &str = "/audit/v1/actions";

/// The path of the entity schemas (no token needed), served from
/// [`MockConfig::schemas_document`].
pub const SCHEMAS_PATH: &str = "/audit/v1/schemas";

/// Largest `limit` the real API accepts.
pub const DEFAULT_MAX_LIMIT: u32 = 9999;

/// `limit` used when a request carries none (as Slack does).
pub const DEFAULT_LIMIT: u32 = 100;

/// How a [`MockSlack`](crate::MockSlack) behaves. Build it with struct-update syntax from
/// [`MockConfig::default()`], e.g. `MockConfig { split_ties: true, ..Default::default() }`.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// If `Some`, every request must carry `Authorization: Bearer <token>` exactly; any other
    /// request gets HTTP 401 with an **empty** body (as Slack was observed to answer).
    pub token: Option<String>,
    /// `false` (default, like Slack's "optimistic" limit): a page never splits the events of
    /// one second, so it may hold more than `limit` entries. `true`: pages are cut exactly at
    /// `limit`, even in the middle of a second.
    pub split_ties: bool,
    /// Server-side delay before every normal response (dataset page or scripted exchange): the
    /// time from request to response, the mock's rendering included. Faults, 401, 429 and
    /// validation errors are not delayed.
    pub page_delay: Duration,
    /// If `Some(r)`: a sliding 60-second window admits `r` requests; a request beyond it gets
    /// HTTP 429, `Retry-After: <seconds until a slot frees, rounded up, at least 1>` and
    /// `{"ok":false,"error":"ratelimited"}`. Requests answered 401 (bad token) or 404
    /// (unknown path) do not use a slot; requests answered 429 do not either.
    pub rate_limit_per_minute: Option<u32>,
    /// Seeded random fault injection (for soak tests), drawn once per request that got past
    /// authentication, rate limiting and the queue of one-shot faults.
    pub random_faults: Option<RandomFaults>,
    /// Largest accepted `limit`; a larger one gets 400 `invalid_arguments`. Default 9999.
    pub max_limit: u32,
    /// If `Some`, the `action` filter is validated against this set: a name not in it gets
    /// HTTP 400 `{"ok":false,"error":"invalid_action"}` (as Slack does for unknown or retired
    /// actions). `None` (default): any action name is accepted.
    pub known_actions: Option<HashSet<String>>,
    /// If `Some`, the mock runs in **scripted mode**: the dataset is ignored and requests to
    /// `/audit/v1/logs` are answered by these exchanges, in order. See [`ScriptedExchange`].
    pub script: Option<Vec<ScriptedExchange>>,
    /// If `Some`, `GET /audit/v1/actions` answers 200 with this body, to any request (Slack
    /// serves it without a token): `{"actions": {category: [name, …]}}`. `None`: 404.
    pub actions_document: Option<String>,
    /// If `Some`, `GET /audit/v1/schemas` answers 200 with this body, to any request:
    /// `{"schemas": [{"type": T, T: {field: type, …}}, …]}`. `None`: 404.
    pub schemas_document: Option<String>,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            token: None,
            split_ties: false,
            page_delay: Duration::ZERO,
            rate_limit_per_minute: None,
            random_faults: None,
            max_limit: DEFAULT_MAX_LIMIT,
            known_actions: None,
            script: None,
            actions_document: None,
            schemas_document: None,
        }
    }
}

impl MockConfig {
    /// A configuration for scripted mode with everything else at its default.
    pub fn scripted(script: Vec<ScriptedExchange>) -> Self {
        Self {
            script: Some(script),
            ..Self::default()
        }
    }
}

/// A one-shot fault, queued with [`MockSlack::enqueue_fault`](crate::MockSlack::enqueue_fault)
/// and applied to the next request(s) in FIFO order (after the token check and the rate
/// limiter, which answer first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status, these headers (sent verbatim; the mock adds only
    /// `Content-Length`) and this body. E.g. a 503 with an HTML body, a 401 with an empty
    /// body, a 400 `invalid_action`. See the helper constructors.
    Status {
        /// HTTP status code.
        status: u16,
        /// Body, sent verbatim (may be empty or not JSON).
        body: String,
        /// Extra headers, e.g. `("Content-Type", "text/html")`.
        headers: Vec<(String, String)>,
    },
    /// HTTP 429 with `Retry-After: <retry_after_secs>` and `{"ok":false,"error":"ratelimited"}`.
    RateLimited {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// A 200 whose body is cut in the middle: the full `Content-Length` is declared, half of
    /// the body is sent, then the connection is closed. The body is the page the request
    /// would have got (or a small synthetic page when it would have got an error).
    Truncated,
    /// Close the connection without sending anything.
    Drop,
    /// Read the request, send nothing for this long, then close the connection.
    Stall(Duration),
    /// HTTP 200 with `{"ok":false,"error":<the string>}` (e.g. `fatal_error`).
    OkFalse(String),
    /// Applies to the next request that carries a non-empty `cursor`: HTTP 400
    /// `{"ok":false,"error":"invalid_cursor"}`. While it is at the head of the queue, requests
    /// without a cursor pass untouched (and do not consume later faults).
    InvalidCursor,
    /// The next dataset page also carries this entry, whatever its `date_create` and the
    /// query's bounds (a broken upstream, or a proxy mixing answers). It is served after the
    /// page's own entries and is not counted in [`MockSlack::served_ids`](crate::MockSlack::served_ids);
    /// its id is in [`MockSlack::stray_ids`](crate::MockSlack::stray_ids).
    StrayEntry(MockEntry),
    /// Applies to the next request that carries a non-empty `cursor` (like
    /// [`Fault::InvalidCursor`]): the page it asked for, with `next_cursor` set to that same
    /// cursor, so a client that trusts cursors pages forever.
    RepeatCursor,
    /// HTTP 200 whose body never ends: chunked, the start of a page then entries forever, as
    /// fast as the client reads, until it hangs up.
    EndlessBody,
    /// HTTP 200 with `Content-Encoding: gzip`: a small body (about a thousandth of
    /// `inflated`) that inflates to `inflated` bytes, the start of a page then whitespace.
    GzipBomb {
        /// Size of the body once decompressed.
        inflated: u64,
    },
    /// HTTP 200 declaring `Content-Length: 1099511627776` (1 TiB), then sending the start of a
    /// page and whitespace forever, until the client hangs up.
    HugeContentLength,
    /// HTTP 200 whose head carries `bytes` bytes of extra headers (in lines of 1 KiB).
    HugeHeaders {
        /// Total size of the extra header lines.
        bytes: usize,
    },
    /// The page the request would have got: its head at once, then its body one byte every
    /// `interval` (a body that arrives, but too slowly to ever finish in time).
    Trickle(Duration),
    /// A redirect: `status` (301, 302, 307, 308) with `Location: <location>` and an empty body.
    Redirect {
        /// The 3xx status.
        status: u16,
        /// The `Location` header.
        location: String,
    },
}

impl Fault {
    /// `status` with `{"ok":false,"error":<error>}` and `Content-Type: application/json`.
    pub fn json_error(status: u16, error: &str) -> Self {
        Self::Status {
            status,
            body: crate::http::error_body(error),
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
        }
    }

    /// HTTP 503 with an HTML body (what a load balancer in front of an API sends).
    pub fn service_unavailable_html() -> Self {
        Self::Status {
            status: 503,
            body: crate::http::HTML_503.to_owned(),
            headers: vec![("Content-Type".into(), "text/html".into())],
        }
    }

    /// HTTP 401 with an empty body (observed from Slack for a bad token).
    pub fn unauthorized_empty() -> Self {
        Self::Status {
            status: 401,
            body: String::new(),
            headers: Vec::new(),
        }
    }

    /// The kind of this fault, as counted in [`FaultCounts`](crate::FaultCounts).
    pub fn kind(&self) -> FaultKind {
        match self {
            Self::Status { .. } => FaultKind::Status,
            Self::RateLimited { .. } => FaultKind::RateLimited,
            Self::Truncated => FaultKind::Truncated,
            Self::Drop => FaultKind::Drop,
            Self::Stall(_) => FaultKind::Stall,
            Self::OkFalse(_) => FaultKind::OkFalse,
            Self::InvalidCursor => FaultKind::InvalidCursor,
            Self::StrayEntry(_) => FaultKind::StrayEntry,
            Self::RepeatCursor => FaultKind::RepeatCursor,
            Self::EndlessBody => FaultKind::EndlessBody,
            Self::GzipBomb { .. } => FaultKind::GzipBomb,
            Self::HugeContentLength => FaultKind::HugeContentLength,
            Self::HugeHeaders { .. } => FaultKind::HugeHeaders,
            Self::Trickle(_) => FaultKind::Trickle,
            Self::Redirect { .. } => FaultKind::Redirect,
        }
    }
}

/// The kinds of [`Fault`], used for random faults and for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// [`Fault::Status`]; as a random fault: HTTP 503 with an HTML body.
    Status,
    /// [`Fault::RateLimited`]; as a random fault: `Retry-After` from
    /// [`RandomFaults::retry_after_secs`].
    RateLimited,
    /// [`Fault::Truncated`].
    Truncated,
    /// [`Fault::Drop`].
    Drop,
    /// [`Fault::Stall`]; as a random fault: for [`RandomFaults::stall`].
    Stall,
    /// [`Fault::OkFalse`]; as a random fault: `{"ok":false,"error":"fatal_error"}`.
    OkFalse,
    /// [`Fault::InvalidCursor`]; as a random fault it applies only to a request carrying a
    /// cursor (a request without one that draws it passes untouched and counts nothing).
    InvalidCursor,
    /// [`Fault::StrayEntry`]; as a random fault: an entry `stray-<n>` dated a year before or
    /// after now, alternately (never one of the dataset's).
    StrayEntry,
    /// [`Fault::RepeatCursor`]; as a random fault it applies only to a request carrying a
    /// cursor, like [`FaultKind::InvalidCursor`].
    RepeatCursor,
    /// [`Fault::EndlessBody`] (queued only, never drawn at random).
    EndlessBody,
    /// [`Fault::GzipBomb`] (queued only).
    GzipBomb,
    /// [`Fault::HugeContentLength`] (queued only).
    HugeContentLength,
    /// [`Fault::HugeHeaders`] (queued only).
    HugeHeaders,
    /// [`Fault::Trickle`] (queued only).
    Trickle,
    /// [`Fault::Redirect`] (queued only).
    Redirect,
}

impl FaultKind {
    /// Every kind, in declaration order.
    pub const ALL: [FaultKind; 15] = [
        FaultKind::Status,
        FaultKind::RateLimited,
        FaultKind::Truncated,
        FaultKind::Drop,
        FaultKind::Stall,
        FaultKind::OkFalse,
        FaultKind::InvalidCursor,
        FaultKind::StrayEntry,
        FaultKind::RepeatCursor,
        FaultKind::EndlessBody,
        FaultKind::GzipBomb,
        FaultKind::HugeContentLength,
        FaultKind::HugeHeaders,
        FaultKind::Trickle,
        FaultKind::Redirect,
    ];

    /// The kinds [`RandomFaults`] can draw: those a long run survives at any moment (the
    /// others are for one test each, queued).
    pub const RANDOM: [FaultKind; 9] = [
        FaultKind::Status,
        FaultKind::RateLimited,
        FaultKind::Truncated,
        FaultKind::Drop,
        FaultKind::Stall,
        FaultKind::OkFalse,
        FaultKind::InvalidCursor,
        FaultKind::StrayEntry,
        FaultKind::RepeatCursor,
    ];
}

/// Seeded random fault injection. Each request that reaches this stage draws from a
/// deterministic RNG (SplitMix64 seeded with `seed`): with `probability` it gets a fault whose
/// kind is drawn with the given weights. With concurrent requests the assignment of draws to
/// requests follows arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomFaults {
    /// RNG seed.
    pub seed: u64,
    /// Probability in `[0, 1]` that a request gets a fault.
    pub probability: f64,
    /// Fault kinds with their relative weights (weight 0 = never).
    pub kinds: Vec<(FaultKind, u32)>,
    /// How long a random [`FaultKind::Stall`] stalls before closing.
    pub stall: Duration,
    /// `Retry-After` of a random [`FaultKind::RateLimited`].
    pub retry_after_secs: u64,
}

impl RandomFaults {
    /// Every kind of [`FaultKind::RANDOM`] with weight 1, a 30 s stall and `Retry-After: 1`.
    pub fn uniform(seed: u64, probability: f64) -> Self {
        Self {
            seed,
            probability,
            kinds: FaultKind::RANDOM.iter().map(|k| (*k, 1)).collect(),
            stall: Duration::from_secs(30),
            retry_after_secs: 1,
        }
    }
}

/// One request/response pair of a script (scripted mode, see [`MockConfig::script`]).
///
/// The request must be `GET /audit/v1/logs` and carry exactly the parameters of
/// `expect_query`, compared **as a multiset**: order does not matter, no parameter may be
/// missing or extra. An expected value of the literal `"*"` matches any value of that
/// parameter (useful for `latest`, which depends on the clock). Values are compared after
/// percent-decoding.
///
/// A request that does not match the next exchange (or arrives after the script is used up)
/// gets HTTP 599 with a `text/plain` body explaining the mismatch, is recorded in
/// [`MockSlack::mismatches`](crate::MockSlack::mismatches), and does **not** consume the
/// exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedExchange {
    /// Query parameters the request must carry (as a multiset; `"*"` = any value).
    pub expect_query: Vec<(String, String)>,
    /// What to answer.
    pub response: ScriptedResponse,
}

/// The answer of a [`ScriptedExchange`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedResponse {
    /// HTTP status code.
    pub status: u16,
    /// Headers, sent verbatim in this order, except `Content-Length`, `Transfer-Encoding`
    /// and `Connection`, which the mock manages (see `truncate`). The mock adds no
    /// `Content-Type` of its own.
    pub headers: Vec<(String, String)>,
    /// Body bytes, sent verbatim.
    pub body: Vec<u8>,
    /// Send a truncated body, then close the connection. The declared `Content-Length` is
    /// the one in `headers` if there is one (then all of `body` is sent: `body` holds the
    /// bytes that were received), else `body.len()` (then only the first half is sent).
    pub truncate: bool,
    /// Close the connection without sending anything (takes precedence over the rest).
    pub drop: bool,
}

impl ScriptedResponse {
    /// A complete JSON response: `status`, `Content-Type: application/json` and `body`.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: body.into(),
            truncate: false,
            drop: false,
        }
    }
}
