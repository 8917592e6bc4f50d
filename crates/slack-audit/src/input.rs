//! The Slack Audit Logs input: settings to source, source to sync engine, engine to host.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use connector_sdk::contract::error::{ConfigError, InputError, Violation};
use connector_sdk::contract::input::StateDescription;
use connector_sdk::contract::input::{Config, Input, ReadContext, RecordStream};
use connector_sdk::contract::instruments::Instruments;

use crate::clock::{Clock, SystemClock};
use crate::collect::engine::{SyncEngine, SyncPlan};
use crate::collect::state::SyncState;
use crate::metrics::SlackMetrics;
use crate::ocsf::Formatter;
use crate::progress::Progress;
use crate::settings::{RecordFormat, SlackConfig, SlackSecrets, SlackSettings};
use crate::source::PageSource;
use crate::source::http::HttpSource;
use crate::source::resilient::{Pacer, Resilient, RetryPolicy};
use crate::source::synthetic::SyntheticSource;

/// The connector's name: binary, state envelope, logs.
pub const NAME: &str = "slack-audit";

/// Where the Airbyte spec and `metadata.yaml` send users for documentation: Slack's guide to
/// the Audit Logs API (the app, the token, the Org Owner install) that the README follows.
pub const DOCUMENTATION_URL: &str = "https://api.slack.com/admin/audit-logs";
/// The connector's version, as both binaries report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The name of the stream of audit events (the Airbyte front end's only stream).
pub const STREAM: &str = "audit_logs";

/// The Slack Enterprise Audit Logs input.
pub struct SlackAuditInput {
    source: Arc<dyn PageSource>,
    clock: Arc<dyn Clock>,
    plan: SyncPlan,
    metrics: Arc<SlackMetrics>,
}

impl std::fmt::Debug for SlackAuditInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackAuditInput")
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

impl SlackAuditInput {
    /// Builds the input with an explicit clock (replays and tests pin time with it).
    pub fn with_clock(
        settings: SlackSettings,
        secrets: SlackSecrets,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let config = SlackConfig::new(settings, secrets, clock.now())?;
        let metrics = Arc::new(SlackMetrics::default());
        let source: Arc<dyn PageSource> = if config.settings.use_synthetic_data {
            Arc::new(SyntheticSource::new(
                config.settings.synthetic_seed,
                config.settings.synthetic_events_per_hour,
            ))
        } else {
            let Some(token) = config.token.as_ref() else {
                return Err(ConfigError::Invalid(vec![Violation::new(
                    "/secrets/user_oauth_token",
                    "is required unless settings.use_synthetic_data is true",
                )]));
            };
            let http = HttpSource::new(
                &config.base_url,
                token,
                config.request_timeout(),
                &config.network,
            )
            .map_err(|e| {
                // The token that cannot be a header, or the TLS or proxy settings: the message
                // names which.
                let message = e.to_string();
                let pointer = if message.contains("secrets.user_oauth_token") {
                    "/secrets/user_oauth_token"
                } else {
                    "/settings"
                };
                ConfigError::Invalid(vec![Violation::new(pointer, message)])
            })?
            .with_metrics(metrics.clone());
            Arc::new(
                Resilient::new(
                    http,
                    Pacer::per_minute(config.settings.requests_per_minute),
                    RetryPolicy {
                        max_retries: config.settings.max_retries,
                        base_delay: Duration::from_millis(u64::from(
                            config.settings.retry_base_delay_ms,
                        )),
                    },
                )
                .with_metrics(metrics.clone()),
            )
        };
        let s = &config.settings;
        let plan = SyncPlan {
            start: config.start,
            lookback: config.lookback(),
            limit: s.page_size,
            action: (!s.actions.is_empty()).then(|| s.actions.join(",")),
            actor: s.actor.clone(),
            entity: s.entity.clone(),
            format: crate::ocsf::Formatter::new(s.record_format, s.ocsf_version, s.ocsf_raw_data),
        };
        Ok(SlackAuditInput {
            source,
            clock,
            plan,
            metrics,
        })
    }
}

#[async_trait]
impl Input for SlackAuditInput {
    const NAME: &'static str = NAME;
    const STATE_VERSION: u32 = 1;
    const DOCUMENTATION_URL: Option<&'static str> = Some(DOCUMENTATION_URL);
    type Settings = SlackSettings;
    type Secrets = SlackSecrets;
    type State = SyncState;

    fn from_config(config: Config<SlackSettings, SlackSecrets>) -> Result<Self, ConfigError> {
        Self::with_clock(config.settings, config.secrets, Arc::new(SystemClock))
    }

    /// The stream follows `settings.record_format`: Slack's entries (cursor `date_create`, key
    /// `id`), or OCSF events (cursor `time`, the same instant in milliseconds).
    ///
    /// An OCSF event's identity is `metadata.uid` (the entry's id), a nested field, and OCSF
    /// has no top-level one. Hosts' caches refuse a nested key (PyAirbyte's DuckDB cache:
    /// "Nested primary keys are not supported"), so the OCSF stream declares no key: hosts
    /// append its records, which the sync delivers exactly once, and a user who wants their
    /// destination to de-duplicate picks `metadata.uid` where it allows a nested key (the
    /// schema describes it).
    fn record_stream(&self) -> RecordStream {
        let path = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let (format, version, cursor, key) = match self.plan.format {
            Formatter::Slack => (
                RecordFormat::Slack,
                crate::ocsf::OcsfVersion::default(),
                path(&["date_create"]),
                vec![path(&["id"])],
            ),
            Formatter::Ocsf { version, .. } => {
                (RecordFormat::Ocsf, version, path(&["time"]), Vec::new())
            }
        };
        RecordStream {
            name: STREAM.to_owned(),
            schema: crate::ocsf::record_schema(format, version),
            cursor_field: Some(cursor),
            primary_key: key,
        }
    }

    fn check_state(state: &SyncState) -> Result<(), String> {
        state.check()
    }

    async fn check(&self) -> Result<String, InputError> {
        Ok(self.source.probe().await?)
    }

    async fn read(&self, state: SyncState, cx: &ReadContext<SyncState>) -> Result<(), InputError> {
        let engine = SyncEngine {
            source: Arc::clone(&self.source),
            clock: self.clock.as_ref(),
            plan: &self.plan,
        };
        // The pass reports to the metrics (shared by every pass) and to its own progress report.
        let mut observer = (&*self.metrics, Progress::new());
        engine.run(state, cx, &mut observer).await.map(|_| ())
    }

    fn register_metrics(&self, instruments: &mut Instruments) {
        self.metrics.register(instruments);
    }

    fn describe_state(state: &SyncState) -> StateDescription {
        crate::state_report::describe(state, SystemClock.now())
    }
}
