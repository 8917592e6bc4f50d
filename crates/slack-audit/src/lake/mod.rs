//! The audit events in a lake (`read --lake FILE`): what the SDK's lake destination needs to
//! know of this input's records, by the record format the settings chose.
//!
//! - OCSF ([`ocsf_tables`]): one table per OCSF class (one Security Lake custom source each),
//!   Parquet with a fixed schema per class derived from OCSF 1.3.0, or NDJSON.gz. Security
//!   Lake, and Parquet anywhere, need `settings.ocsf_version` 1.3.0.
//! - Slack's own entries ([`slack_table`]): one table, `audit_logs`, NDJSON.gz only (no fixed
//!   schema, and not OCSF, so neither Parquet nor Security Lake).
//!
//! Anything else is refused when the read starts, with the setting to change.

pub mod ocsf_tables;
pub mod slack_table;

use std::sync::Arc;

use connector_sdk::contract::error::{ConfigError, Violation};
use connector_sdk::runtime::lake::lake_config::{ObjectFormat, Target};
use connector_sdk::runtime::lake::layout::{LakeInput, LakeLayout};

use crate::input::SlackAuditInput;
use crate::query::Format;
use ocsf_tables::{LAKE_OCSF_VERSION, OcsfLayout};
use slack_table::SlackLayout;

impl LakeInput for SlackAuditInput {
    fn lake_layout(&self, target: &Target) -> Result<Arc<dyn LakeLayout>, ConfigError> {
        layout_for(self.format(), target)
    }
}

/// The layout of records of `format` delivered to `target`, or why they cannot go there.
pub fn layout_for(format: Format, target: &Target) -> Result<Arc<dyn LakeLayout>, ConfigError> {
    let refuse = |pointer: &str, message: &str| {
        Err(ConfigError::Invalid(vec![Violation::new(pointer, message)]))
    };
    let parquet = match target {
        Target::SecurityLake { .. } => true,
        Target::S3 { format, .. } => *format == ObjectFormat::Parquet,
    };
    let security_lake = matches!(target, Target::SecurityLake { .. });
    match format {
        Format::Slack if security_lake => refuse(
            "/settings/record_format",
            "Security Lake takes OCSF events only; set settings.record_format to \"ocsf\" \
             and settings.ocsf_version to \"1.3.0\"",
        ),
        Format::Slack if parquet => refuse(
            "/settings/record_format",
            "Slack's own entries have no fixed schema, so they cannot be Parquet; set the lake \
             target's format to \"ndjson_gz\", or settings.record_format to \"ocsf\" (with \
             settings.ocsf_version \"1.3.0\")",
        ),
        Format::Slack => Ok(Arc::new(SlackLayout::new())),
        Format::Ocsf(version) if security_lake && version != LAKE_OCSF_VERSION => refuse(
            "/settings/ocsf_version",
            "Security Lake accepts OCSF 1.3 and earlier for custom sources; set \
             settings.ocsf_version to 1.3.0",
        ),
        Format::Ocsf(version) if parquet && version != LAKE_OCSF_VERSION => refuse(
            "/settings/ocsf_version",
            "the lake's Parquet schemas are derived from OCSF 1.3.0; set settings.ocsf_version \
             to 1.3.0, or the lake target's format to \"ndjson_gz\"",
        ),
        Format::Ocsf(version) => match OcsfLayout::new(version) {
            Ok(layout) => Ok(Arc::new(layout)),
            Err(message) => refuse("/settings/record_format", &message),
        },
    }
}
