//! A complete connector on connector-sdk, with no source behind it: the example the crate doc's
//! "Writing a connector on connector-sdk" points to, and the input the SDK's own tests
//! (`tests/sdk.rs`) drive through both front ends.
//!
//! It "reads" records `{"n": 0} … {"n": records-1}` in batches of `batch`, and its state is the
//! next `n` to read. Settings make it misbehave on purpose: refuse its token (`auth_fail`), fail
//! after some batches (`fail_after`, with `fail_kind`), or stop and wait after some batches
//! (`pause_after`) so that a test can kill it at a known point. At `check` it can fail with any
//! message (`check_fails_with`), panic (`check_panics_with`: the one way to make a connector
//! panic on purpose, for the front ends' panic hook; no shipped binary has such a trigger, since
//! the fake exists only in this test binary), or say whether it may dump core
//! (`check_reports_core_dumps`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use connector_sdk::contract::error::{ConfigError, InputError, Violation};
use connector_sdk::contract::input::{
    Batch, Config, Input, ReadContext, RecordStream, StateDescription,
};
use connector_sdk::contract::instruments::{Counter, Instruments};
use connector_sdk::runtime::lake::lake_config::Target;
use connector_sdk::runtime::lake::layout::{
    LakeInput, LakeLayout, LayoutError, Placement, TableInfo,
};
use connector_sdk::secrecy::{ExposeSecret, SecretString};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the fake reads, and how it misbehaves.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FakeSettings {
    /// How many records the source holds.
    pub records: u64,
    /// Records per batch (at least 1).
    #[serde(default = "default_batch")]
    pub batch: u64,
    /// Refuse the token at `check` and `read` (an auth error, exit 3).
    #[serde(default)]
    pub auth_fail: bool,
    /// Fail after emitting this many batches in one run.
    #[serde(default)]
    pub fail_after: Option<u64>,
    /// How it fails: `transient` (default) or `fatal`.
    #[serde(default)]
    pub fail_kind: Option<String>,
    /// After emitting this many batches in one run, wait until stopped (to be killed there).
    #[serde(default)]
    pub pause_after: Option<u64>,
    /// `check` fails (fatal) with this message, as a source's error might quote anything.
    #[serde(default)]
    pub check_fails_with: Option<String>,
    /// `check` panics with this message: the only way to make a connector panic on purpose, for
    /// the front ends' panic hook; the fake exists only in the SDK's tests.
    #[serde(default)]
    pub check_panics_with: Option<String>,
    /// `check`'s answer also says, from inside the process, whether it may dump core.
    #[serde(default)]
    pub check_reports_core_dumps: bool,
}

fn default_batch() -> u64 {
    4
}

impl connector_sdk::contract::input::Settings for FakeSettings {}

/// The fake's credentials.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FakeSecrets {
    /// A token; the fake only checks that it is not empty.
    #[schemars(with = "Option<String>", extend("writeOnly" = true))]
    pub token: Option<SecretString>,
}

impl connector_sdk::contract::input::Secrets for FakeSecrets {}

/// Where the fake resumes: the next record to read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FakeState {
    /// The `n` of the next record.
    pub next: u64,
}

/// The fake input.
#[derive(Debug)]
pub struct Fake {
    settings: FakeSettings,
    batches: Counter,
}

/// No source holds more records than this: a state beyond it was written by no run.
pub const MAX_RECORDS: u64 = 1_000_000;

#[async_trait]
impl Input for Fake {
    const NAME: &'static str = "fake";
    const STATE_VERSION: u32 = 1;
    type Settings = FakeSettings;
    type Secrets = FakeSecrets;
    type State = FakeState;

    fn from_config(config: Config<FakeSettings, FakeSecrets>) -> Result<Self, ConfigError> {
        let mut violations = Vec::new();
        if config.settings.batch == 0 {
            violations.push(Violation::new("/settings/batch", "must be at least 1"));
        }
        if config.settings.records > MAX_RECORDS {
            violations.push(Violation::new(
                "/settings/records",
                format!("at most {MAX_RECORDS}"),
            ));
        }
        if config
            .secrets
            .token
            .as_ref()
            .is_none_or(|t| t.expose_secret().is_empty())
        {
            violations.push(Violation::new("/secrets/token", "a token is required"));
        }
        if !violations.is_empty() {
            return Err(ConfigError::Invalid(violations));
        }
        Ok(Fake {
            settings: config.settings,
            batches: Counter::default(),
        })
    }

    async fn check(&self) -> Result<String, InputError> {
        if self.settings.auth_fail {
            return Err(InputError::auth("the fake source refused the token"));
        }
        if let Some(message) = &self.settings.check_fails_with {
            return Err(InputError::fatal(message.clone()));
        }
        if let Some(message) = &self.settings.check_panics_with {
            panic!("{message}");
        }
        let mut answer = format!("the fake source holds {} records", self.settings.records);
        if self.settings.check_reports_core_dumps {
            answer.push_str(&core_dumps());
        }
        Ok(answer)
    }

    async fn read(&self, state: FakeState, cx: &ReadContext<FakeState>) -> Result<(), InputError> {
        if self.settings.auth_fail {
            return Err(InputError::auth("the fake source refused the token"));
        }
        let mut next = state.next;
        let mut emitted = 0u64;
        while next < self.settings.records {
            if self.settings.fail_after == Some(emitted) {
                let message = format!("the fake source failed after {emitted} batches");
                return Err(match self.settings.fail_kind.as_deref() {
                    Some("fatal") => InputError::fatal(message),
                    _ => InputError::transient(message),
                });
            }
            if self.settings.pause_after == Some(emitted) {
                // Until the host stops it (or a test kills the process).
                tokio::select! {
                    () = cx.stopped() => return Ok(()),
                    () = tokio::time::sleep(Duration::from_secs(3600)) => {}
                }
            }
            let end = (next + self.settings.batch).min(self.settings.records);
            let mut records = cx.record_buf(64);
            for n in next..end {
                records.push_json(format!("{{\"n\":{n}}}").as_bytes());
            }
            if cx
                .emit(Batch {
                    records,
                    checkpoint: FakeState { next: end },
                })
                .await
                .is_err()
            {
                return Ok(());
            }
            self.batches.inc();
            emitted += 1;
            next = end;
        }
        Ok(())
    }

    fn record_stream(&self) -> RecordStream {
        RecordStream {
            name: "numbers".into(),
            schema: serde_json::json!({
                "type": "object",
                "properties": {"n": {"type": "integer"}},
            }),
            cursor_field: Some(vec!["n".into()]),
            primary_key: vec![vec!["n".into()]],
        }
    }

    fn check_state(state: &FakeState) -> Result<(), String> {
        if state.next > MAX_RECORDS {
            return Err(format!(
                "next record {} is beyond any source ({MAX_RECORDS})",
                state.next
            ));
        }
        Ok(())
    }

    fn register_metrics(&self, instruments: &mut Instruments) {
        instruments.counter("batches", "Batches the fake emitted", &self.batches);
    }

    fn describe_state(state: &FakeState) -> StateDescription {
        StateDescription {
            lines: vec![("next record".into(), state.next.to_string())],
            json: serde_json::json!({"next": state.next}),
        }
    }
}

/// `; dumpable: …; core limit: soft/hard` as this process sees itself.
#[cfg(target_os = "linux")]
fn core_dumps() -> String {
    let dumpable = rustix::process::dumpable_behavior()
        .map_or_else(|e| format!("unknown ({e})"), |d| format!("{d:?}"));
    let limit = rustix::process::getrlimit(rustix::process::Resource::Core);
    format!(
        "; dumpable: {dumpable}; core limit: {:?}/{:?}",
        limit.current, limit.maximum
    )
}

#[cfg(not(target_os = "linux"))]
fn core_dumps() -> String {
    String::new()
}

/// The fake's records in a lake: `{"n": N}` goes to table `even` or `odd`, at `N` × 6 hours
/// after the epoch (four records a UTC day, so a segment spans partitions), except that every
/// third record is an hour *earlier* than its predecessor would suggest (so objects must be
/// sorted by time, not spool order).
pub struct FakeLayout {
    tables: Vec<TableInfo>,
}

/// Milliseconds in six hours.
pub const SIX_HOURS_MS: i64 = 6 * 3_600_000;

/// The fake record `n`'s table and time.
pub fn fake_placement(n: u64) -> (&'static str, i64) {
    let table = if n.is_multiple_of(2) { "even" } else { "odd" };
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let skew = if n % 3 == 2 { -3_600_000 } else { 0 };
    (table, n * SIX_HOURS_MS + skew)
}

impl LakeLayout for FakeLayout {
    fn place(&self, record: &[u8]) -> Result<Placement, LayoutError> {
        let v: serde_json::Value =
            serde_json::from_slice(record).map_err(|e| LayoutError(e.to_string()))?;
        let n = v["n"]
            .as_u64()
            .ok_or_else(|| LayoutError("a fake record without n".into()))?;
        let (table, time_ms) = fake_placement(n);
        Ok(Placement {
            table: Arc::from(table),
            time_ms,
        })
    }

    fn tables(&self) -> &[TableInfo] {
        &self.tables
    }
}

impl LakeInput for Fake {
    fn lake_layout(&self, _target: &Target) -> Result<Arc<dyn LakeLayout>, ConfigError> {
        let table = |name: &str| TableInfo {
            table: Arc::from(name),
            source_name: format!("fake-{name}"),
            event_class: "API_ACTIVITY".into(),
            schema: None,
        };
        Ok(Arc::new(FakeLayout {
            tables: vec![table("even"), table("odd")],
        }))
    }
}
