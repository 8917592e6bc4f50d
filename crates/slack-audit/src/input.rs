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
use crate::encode::{Encoder, RecordShape, SlackEntries};
use crate::metrics::SlackMetrics;
use crate::ocsf::OcsfEncoder;
use crate::progress::Progress;
use crate::query::{Format, Query};
use crate::settings::{SlackConfig, SlackSecrets, SlackSettings};
use crate::source::PageSource;
use crate::source::http::HttpSource;
use crate::source::metered::Metered;
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
    /// How accepted entries become records, chosen once from the query's format; lent to one
    /// pass at a time, and keeping what it learns from one to the next.
    encoder: tokio::sync::Mutex<Box<dyn Encoder>>,
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
            })?;
            Arc::new(
                Resilient::new(
                    Metered::new(http, metrics.clone()),
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
        let query = Query::of(&config.settings);
        if let Some(filter) = query.local_filter() {
            tracing::warn!(
                message = "The action filter is applied on this side: Slack's own filter takes at most 30 names and no exclusions, so every event the other filters match is read and those not kept are dropped here. That costs the requests (and time) of reading every action; the dropped entries are counted in slack_audit_filtered_entries_total.",
                keeps = %filter.describe(),
                slack_limit = crate::query::MAX_SLACK_ACTIONS,
            );
        }
        let encoder = encoder_of(query.format, config.settings.ocsf_raw_data, &metrics);
        let plan = SyncPlan {
            start: config.start,
            lookback: config.lookback(),
            limit: config.settings.page_size,
            query: Arc::new(query),
        };
        Ok(SlackAuditInput {
            source,
            clock,
            plan,
            encoder: tokio::sync::Mutex::new(encoder),
            metrics,
        })
    }
}

impl SlackAuditInput {
    /// The format of the records this input writes (the lake layout follows it).
    pub(crate) fn format(&self) -> Format {
        self.plan.query.format
    }
}

/// The encoder of `format` (with the entry in each event's `raw_data` if `ocsf_raw_data`, for
/// OCSF, and its unknown actions counted in `metrics`): the one place the format picks how
/// records are written.
fn encoder_of(
    format: Format,
    ocsf_raw_data: bool,
    metrics: &Arc<SlackMetrics>,
) -> Box<dyn Encoder> {
    match format {
        Format::Slack => Box::new(SlackEntries),
        Format::Ocsf(version) => {
            Box::new(OcsfEncoder::new(version, ocsf_raw_data).observed_by(Arc::clone(metrics) as _))
        }
    }
}

/// What the records of `format` are, as the encoder [`encoder_of`] picks says.
fn shape_of(format: Format) -> RecordShape {
    match format {
        Format::Slack => SlackEntries::shape(),
        Format::Ocsf(version) => OcsfEncoder::shape(version),
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

    /// The stream follows the query's format: its encoder says what the records are.
    fn record_stream(&self) -> RecordStream {
        let shape = shape_of(self.plan.query.format);
        RecordStream {
            name: STREAM.to_owned(),
            schema: shape.schema,
            cursor_field: Some(shape.cursor_field),
            primary_key: shape.primary_key,
        }
    }

    fn check_state(state: &SyncState) -> Result<(), String> {
        state.check()
    }

    async fn check(&self) -> Result<String, InputError> {
        Ok(self.source.probe(None).await?)
    }

    async fn read(&self, state: SyncState, cx: &ReadContext<SyncState>) -> Result<(), InputError> {
        let engine = SyncEngine {
            source: Arc::clone(&self.source),
            clock: self.clock.as_ref(),
            plan: &self.plan,
        };
        // The pass reports to the metrics (shared by every pass) and to its own progress report.
        let mut observer = (&*self.metrics, Progress::new());
        let mut encoder = self.encoder.lock().await;
        engine
            .run(state, cx, encoder.as_mut(), &mut observer)
            .await
            .map(|_| ())
    }

    fn register_metrics(&self, instruments: &mut Instruments) {
        self.metrics.register(instruments);
    }

    fn describe_state(state: &SyncState) -> StateDescription {
        crate::state_report::describe(state, SystemClock.now())
    }
}
