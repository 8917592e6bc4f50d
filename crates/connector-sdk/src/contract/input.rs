//! Contract layer: the traits an input implements, and the values that cross between it and the
//! host.
//!
//! The core is deliberately small: an [`Input`] builds itself from a validated config, can
//! `check` that config against its source, and `read`s. Everything about durability lives on
//! the host's side of [`ReadContext::emit`]: an input never writes state itself, it hands the
//! host a [`Batch`] of records together with the checkpoint that covers them, and the host makes
//! that checkpoint durable only after the records are delivered. That is what makes a kill at any
//! instant safe for every input, not just the careful ones.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::contract::error::{ConfigError, InputError};
use crate::contract::instruments::Instruments;

/// A whole config document, as the host hands it to an input (its schema and validation:
/// [`crate::contract::config`]).
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config<S, K: Default> {
    /// Everything that is not secret.
    pub settings: S,
    /// Credentials. Never logged, never written back.
    #[serde(default)]
    pub secrets: K,
}

/// What an input says about one of its saved states, for `status`
/// ([`Input::describe_state`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StateDescription {
    /// For people: `(label, value)` lines, such as `("watermark", "2026-01-01T00:00:00Z, 2m ago")`.
    pub lines: Vec<(String, String)>,
    /// For programs (`--json`): the same facts as one JSON object.
    pub json: serde_json::Value,
}

impl StateDescription {
    /// The state as it is stored: the default for inputs that say nothing more.
    pub fn raw<S: Serialize>(state: &S) -> StateDescription {
        let json = serde_json::to_value(state).unwrap_or(serde_json::Value::Null);
        StateDescription {
            lines: vec![("state".to_owned(), json.to_string())],
            json,
        }
    }
}

/// The non-secret part of an input's config (`"settings"` in the document).
///
/// Derive `Deserialize` with `#[serde(deny_unknown_fields)]` and `JsonSchema` with doc comments:
/// the doc comments become the schema's titles and descriptions.
pub trait Settings: DeserializeOwned + JsonSchema + fmt::Debug + Send + Sync + 'static {
    /// What is wrong with the setting at `pointer` (a JSON pointer under `/settings`) that the
    /// schema refused, in the connector's words (the accepted forms rather than a regular
    /// expression), or `None` to keep the schema's message.
    fn explain(pointer: &str, value: &serde_json::Value) -> Option<String> {
        let _ = (pointer, value);
        None
    }
}

/// The secret part of an input's config (`"secrets"` in the document).
///
/// Fields are [`secrecy`] types: never `Serialize`, redacted in `Debug`, exposed only where
/// they are used. Mark each field `#[schemars(extend("writeOnly" = true))]`.
pub trait Secrets:
    DeserializeOwned + JsonSchema + fmt::Debug + Default + Send + Sync + 'static
{
    /// What is wrong with the secret at `pointer` (a JSON pointer under `/secrets`) that the
    /// schema refused, in the connector's words, or `None` to keep the schema's message.
    ///
    /// A schema error about a secret is masked so it never quotes the value, which leaves it
    /// generic (`does not match "^xoxp-"`); the connector can say what the user did wrong (a bot
    /// token where a user token belongs). The answer must not quote `value` either.
    fn explain(pointer: &str, value: &serde_json::Value) -> Option<String> {
        let _ = (pointer, value);
        None
    }

    /// `text` with every credential-shaped string the connector recognises replaced (a token
    /// pasted into a URL or a setting, which no exact-value scrub can know), or `None` when
    /// there is none. The host applies it to every message, log line and status it prints
    /// ([`crate::runtime::redact`]), after replacing the exact values found under `secrets`;
    /// records are never touched. Default: nothing is recognised.
    fn redact(text: &str) -> Option<String> {
        let _ = text;
        None
    }

    /// The secrets (keys under `secrets`, string-valued) the host may take from the
    /// environment when the document does not hold them: see [`crate::runtime::secret_env`] for the
    /// variables and files looked at. Empty by default: every secret comes from the document.
    const FROM_ENVIRONMENT: &'static [&'static str] = &[];
}

/// A source of records.
#[async_trait]
pub trait Input: Sized + Send + Sync + 'static {
    /// The connector's name, as used for the binary and the state file envelope.
    const NAME: &'static str;
    /// The version of [`Input::State`]'s shape. A state file written with a higher version is
    /// refused; one written with a lower version goes through [`Input::migrate_state`].
    const STATE_VERSION: u32;
    /// Where users read how to set the connector up (the Airbyte spec's `documentationUrl`).
    const DOCUMENTATION_URL: Option<&'static str> = None;

    /// The `"settings"` object of the config.
    type Settings: Settings;
    /// The `"secrets"` object of the config.
    type Secrets: Secrets;
    /// What the input needs to resume where the last delivered batch ended.
    type State: Serialize
        + DeserializeOwned
        + Default
        + Clone
        + PartialEq
        + fmt::Debug
        + Send
        + Sync
        + 'static;

    /// Builds the input from a config that already satisfies the schema, running the checks a
    /// schema cannot express (a time in the future, a field required only in some modes, …).
    /// Report every problem at once, each with its JSON pointer.
    fn from_config(config: Config<Self::Settings, Self::Secrets>) -> Result<Self, ConfigError>;

    /// Proves the configuration works against the source with one cheap call, and says what
    /// it proved in one line for the operator.
    async fn check(&self) -> Result<String, InputError>;

    /// Reads from `state` onwards, emitting batches through `cx`, and returns when there is
    /// nothing more to read right now (the host decides whether to poll again).
    ///
    /// Returning early is always safe: progress is only what was emitted.
    async fn read(
        &self,
        state: Self::State,
        cx: &ReadContext<Self::State>,
    ) -> Result<(), InputError>;

    /// The stream this input's records form, as configured: its name, the JSON Schema of one
    /// record (which may depend on the settings, e.g. an output format), its cursor and its
    /// key. Hosts that catalogue streams (the Airbyte front end's `discover`) show it.
    ///
    /// The default says nothing the input has not declared: a stream named after the input
    /// (`-` as `_`) of JSON objects with no declared properties, no cursor (so hosts offer full
    /// refresh only) and no key. An input that reads incrementally should say by what.
    fn record_stream(&self) -> RecordStream {
        RecordStream {
            name: Self::NAME.replace('-', "_"),
            schema: serde_json::json!({
                "type": "object",
                "properties": {},
                "additionalProperties": true,
            }),
            cursor_field: None,
            primary_key: Vec::new(),
        }
    }

    /// Checks a loaded state for what its type cannot express (bounds in the wrong order, a
    /// position outside its range): a state no run of this input could have written. `Err`
    /// says what is wrong; the host then refuses the state file, untouched, as unusable. The
    /// default accepts every state.
    fn check_state(state: &Self::State) -> Result<(), String> {
        let _ = state;
        Ok(())
    }

    /// Upgrades a state written by an older `STATE_VERSION`. The default refuses.
    fn migrate_state(version: u32, _state: serde_json::Value) -> Result<Self::State, String> {
        Err(format!(
            "state version {version} is not supported by this build (it reads version {})",
            Self::STATE_VERSION
        ))
    }

    /// Declares the input's own instruments, once, when the operator asked for metrics (an
    /// optional capability: the default declares none). The runtime exposes them under a prefix
    /// derived from [`Input::NAME`]; declare counters without `_total` (it is added) and with
    /// base units. Record once per page or batch, never per record. See
    /// [`crate::contract::instruments`].
    fn register_metrics(&self, instruments: &mut Instruments) {
        let _ = instruments;
    }

    /// Describes a saved state for `status`: where the input would resume, how far behind it
    /// is. An optional capability: the default shows the state as it is stored.
    fn describe_state(state: &Self::State) -> StateDescription {
        StateDescription::raw(state)
    }
}

/// What an input's records are, for hosts that describe streams before reading them.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordStream {
    /// The stream's name (such as `audit_logs`): letters, digits and `_`.
    pub name: String,
    /// The JSON Schema of one record. It must have top-level `properties`: hosts build tables
    /// from them.
    pub schema: serde_json::Value,
    /// The path of the field the input reads incrementally by (such as `["date_create"]`), if
    /// it reads incrementally at all.
    pub cursor_field: Option<Vec<String>>,
    /// The paths of the fields that identify a record (such as `[["id"]]`); empty if none do.
    pub primary_key: Vec<Vec<String>>,
}

/// Records as NDJSON bytes: one JSON value per line, ready for the output.
///
/// Inputs append raw JSON text as they received it; the buffer is reused by the host.
#[derive(Default, Clone)]
pub struct RecordBuf {
    bytes: Vec<u8>,
    count: usize,
}

impl RecordBuf {
    /// An empty buffer with room for `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        RecordBuf {
            bytes: Vec::with_capacity(bytes),
            count: 0,
        }
    }

    /// Appends one record given as the text of a single JSON value.
    ///
    /// A raw newline byte can only be insignificant whitespace in valid JSON (inside a string it
    /// must be escaped), so any is replaced by a space: the record stays byte-for-byte the same
    /// value, and stays on one line.
    pub fn push_json(&mut self, json: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(json);
        if memchr::memchr2(b'\n', b'\r', json).is_some() {
            for b in &mut self.bytes[start..] {
                if *b == b'\n' || *b == b'\r' {
                    *b = b' ';
                }
            }
        }
        self.bytes.push(b'\n');
        self.count += 1;
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The NDJSON bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A buffer built on `bytes` (emptied), to reuse its allocation.
    pub fn from_vec(mut bytes: Vec<u8>) -> Self {
        bytes.clear();
        RecordBuf { bytes, count: 0 }
    }

    /// The underlying allocation, for reuse.
    pub fn into_vec(self) -> Vec<u8> {
        self.bytes
    }

    /// Empties the buffer, keeping its allocation.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.count = 0;
    }
}

impl fmt::Debug for RecordBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordBuf")
            .field("records", &self.count)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Records and the checkpoint that covers them.
///
/// The checkpoint describes the input's position *after* these records: once the host has
/// delivered them it makes the checkpoint durable, and a restart resumes from it. A batch may
/// carry no records (to persist a position, such as the start of a first run).
#[derive(Debug, Clone)]
pub struct Batch<S> {
    /// The records, in the order they are to be written.
    pub records: RecordBuf,
    /// The state to resume from once `records` are delivered.
    pub checkpoint: S,
}

/// The host stopped accepting batches: shutdown, or the output failed. Return promptly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the host stopped accepting records")]
pub struct Stopped;

/// The host's side of a [`ReadContext`]: where each batch goes, the record buffers it lends,
/// and what it knows of delivery. Implemented by the runtime ([`crate::runtime::host_side`]),
/// which alone builds a [`ReadContext`]; an input never sees it.
pub(crate) trait HostSide<S>: fmt::Debug + Send + Sync {
    /// Takes `batch` over, waiting while the host is still writing earlier ones; `Err` once it
    /// accepts no more.
    fn send(
        &self,
        batch: Batch<S>,
    ) -> Pin<Box<dyn Future<Output = Result<(), Stopped>> + Send + '_>>;
    /// A record buffer for the input to fill, empty, with room for `capacity` bytes.
    fn record_buf(&self, capacity: usize) -> RecordBuf;
    /// The input handed over the batch that `checkpoint` covers.
    fn handed(&self, checkpoint: S);
    /// Completes once every batch handed over so far is delivered and committed (`true`), or
    /// when the host's writer is gone (`false`).
    fn all_written(&self) -> Pin<Box<dyn Future<Output = bool> + Send + '_>>;
}

/// What `read` gets from the host: the way out for batches, record buffers, and the stop
/// signal. The runtime builds it ([`crate::runtime::host_side`]).
#[derive(Debug)]
pub struct ReadContext<S> {
    host: Arc<dyn HostSide<S>>,
    shutdown: CancellationToken,
    accept_settings_change: bool,
}

impl<S: Clone> ReadContext<S> {
    /// A context that hands batches to `host` and observes `shutdown`; `accept_settings_change`
    /// is the operator's `--accept-settings-change`.
    pub(crate) fn new(
        host: Arc<dyn HostSide<S>>,
        shutdown: CancellationToken,
        accept_settings_change: bool,
    ) -> Self {
        ReadContext {
            host,
            shutdown,
            accept_settings_change,
        }
    }

    /// Whether the operator accepted running with settings the state was not collected with,
    /// knowing what the input said it would skip. An input that can tell refuses such a run
    /// otherwise (a config error: nothing read, nothing written).
    pub fn accepts_settings_change(&self) -> bool {
        self.accept_settings_change
    }

    /// Waits until every batch handed over so far has been delivered and committed by the
    /// host; `false` if the host stopped first (its output failed, or shutdown). An input
    /// calls it before saying it is done ("caught up"), so that the last line of the log is
    /// not a success the output then contradicts.
    pub async fn all_written(&self) -> bool {
        tokio::select! {
            written = self.host.all_written() => written,
            () = self.shutdown.cancelled() => false,
        }
    }

    /// An empty record buffer with room for `capacity` bytes (reused when possible).
    pub fn record_buf(&self, capacity: usize) -> RecordBuf {
        self.host.record_buf(capacity)
    }

    /// Hands a batch to the host. Waits while the host is still writing earlier batches (this is
    /// the back-pressure that keeps memory flat), so an input can fetch its next page meanwhile.
    pub async fn emit(&self, batch: Batch<S>) -> Result<(), Stopped> {
        if self.shutdown.is_cancelled() {
            return Err(Stopped);
        }
        let checkpoint = batch.checkpoint.clone();
        tokio::select! {
            sent = self.host.send(batch) => sent?,
            () = self.shutdown.cancelled() => return Err(Stopped),
        }
        self.host.handed(checkpoint);
        Ok(())
    }
}

impl<S> ReadContext<S> {
    /// Completes when the host asks the input to stop (SIGINT, SIGTERM, or an embedding
    /// pipeline shutting down). Await it beside long waits (`tokio::select!`).
    pub async fn stopped(&self) {
        self.shutdown.cancelled().await
    }

    /// Whether the host has asked the input to stop.
    pub fn is_stopping(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// The shutdown token itself, for inputs that pass it further down.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }
}
