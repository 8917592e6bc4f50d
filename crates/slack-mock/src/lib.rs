//! A loopback mock of Slack's Audit Logs API (`GET /audit/v1/logs`).
//!
//! # Why it exists
//!
//! The real API can only be reached with an Enterprise Grid Org Owner's token, is rate
//! limited to about 50 calls a minute for a whole organization, and its hard cases (a 500 on
//! page 2, a truncated body, a stale cursor, events sharing one second across a page
//! boundary, late events, a 429 storm) cannot be produced on demand. The connector's
//! integration tests, snapshot replays, benchmarks and soak test therefore run against this
//! mock, which imitates the real API's behaviour as Slack documents it
//! (<https://api.slack.com/admin/audit-logs>) and as the recorded exchanges under
//! `fixtures/slack-audit/` show it (each behaviour is listed under *Modes* below), and adds
//! byte-level fault injection and full introspection (every request, every id served,
//! counters).
//!
//! # Modes
//!
//! * **Dataset mode** (default): entries pushed with [`MockSlack::push_entry`] /
//!   [`MockSlack::push_entries`] are served like Slack does: newest first (`date_create`
//!   descending, ties by `id` descending), `oldest`/`latest` inclusive, `limit` default 100
//!   and at most [`MockConfig::max_limit`], "optimistic" pages that never split a second
//!   (unless [`MockConfig::split_ties`]), filters `action` (comma-separated, any),
//!   `actor` (`actor.user.id`) and `entity` (`entity.<type>.id`), and a `cursor` that is
//!   **only a position** (standard base64 of `"<date_create>:<id>"` of the last entry
//!   served): it forgets `oldest`, `latest` and the filters, which each request must resend.
//!   Success bodies are `{"entries":[…],"response_metadata":{"next_cursor":"…"}}` with no
//!   `ok` field and `next_cursor` `""` on the last page.
//! * **Scripted mode** ([`MockConfig::script`]): byte-exact replays of recorded exchanges,
//!   with mismatch reporting. See [`ScriptedExchange`].
//!
//! # Request pipeline
//!
//! Every request is recorded, then answered by the first of: not `GET` → 405; path other
//! than `/audit/v1/logs` → 404 `unknown_method` (a mismatch in scripted mode); token check
//! → 401 with an empty body; rate limiter → 429; the next queued [`Fault`]; a random fault
//! ([`RandomFaults`]); then, after [`MockConfig::page_delay`], the scripted exchange or the
//! dataset page (whose validation may answer 400 `invalid_arguments`, `invalid_range`,
//! `invalid_action` or `invalid_cursor`).
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use slack_mock::{Fault, MockConfig, MockEntry, MockSlack};
//! let mock = MockSlack::start(MockConfig {
//!     token: Some("xoxp-test".into()),
//!     ..MockConfig::default()
//! })
//! .await?;
//! mock.push_entry(MockEntry::synthetic("id-1", 1_700_000_000, "user_login", "W1", "W1"));
//! mock.enqueue_fault(Fault::RateLimited { retry_after_secs: 1 });
//! let url = format!("{}/audit/v1/logs", mock.base_url());
//! # let _ = url;
//! // ... point the client at `url`, then inspect:
//! let _stats = mock.stats();
//! mock.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod base64;
mod clock;
mod config;
mod dataset;
mod entry;
mod hostile;
mod http;
mod rng;
mod server;
pub mod tls;

pub use clock::unix_now;
pub use config::{
    ACTIONS_PATH, DEFAULT_LIMIT, DEFAULT_MAX_LIMIT, Fault, FaultKind, LOGS_PATH, MockConfig,
    RandomFaults, SCHEMAS_PATH, ScriptedExchange, ScriptedResponse,
};
pub use entry::{EntryError, MockEntry};
pub use http::reason_phrase;
pub use rng::SplitMix64;
pub use server::{FaultCounts, MockSlack, MockStats, RecordedRequest};
