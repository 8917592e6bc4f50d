//! Runtime layer: the `--lake FILE` document: where objects go and in which layout, how AWS is
//! reached, and the spool's limits. Credentials are never in it: they come from AWS's default
//! chain (environment, shared profile, web identity, container and instance metadata), then an
//! optional assume-role with an external ID.
//!
//! ```json
//! {
//!   "target": {
//!     "kind": "security_lake",
//!     "account_id": "external_E0123ABCD",
//!     "location_template": "s3://aws-security-data-lake-us-east-1-abc/ext/{source_name}/1.0/"
//!   },
//!   "aws": {"region": "us-east-1", "role_arn": "arn:aws:iam::123456789012:role/…", "external_id": "…"},
//!   "spool": {"dir": "/var/lib/slack-audit/spool"}
//! }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The lake destination's document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LakeConfig {
    /// Where objects go, and in which layout.
    pub target: Target,
    /// How AWS (or an S3-compatible store) is reached.
    #[serde(default)]
    pub aws: AwsConfig,
    /// The local spool the checkpoint follows.
    pub spool: SpoolConfig,
}

/// Where objects go, and in which layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// Amazon Security Lake: Parquet, one custom source per table, objects under
    /// `<location>/region=<region>/accountId=<account_id>/eventDay=<YYYYMMDD>/`.
    SecurityLake {
        /// The `accountId=` partition: AWS recommends `external` or `external_<id>` for
        /// records from outside AWS.
        #[serde(default = "default_account_id")]
        account_id: String,
        /// Each table's custom-source location (`s3://…/` or `file:///…/`), as
        /// `create-custom-log-source` returned it.
        #[serde(default)]
        locations: BTreeMap<String, String>,
        /// The location of a table not in `locations`: `{source_name}` and `{table}` are
        /// replaced.
        #[serde(default)]
        location_template: Option<String>,
    },
    /// Any S3 bucket (or S3-compatible store): objects under
    /// `<url>/<table>/year=YYYY/month=MM/day=DD/`.
    S3 {
        /// The bucket and prefix (`s3://bucket/prefix/` or `file:///…/`).
        url: String,
        /// The objects' format.
        #[serde(default)]
        format: ObjectFormat,
    },
}

fn default_account_id() -> String {
    "external".to_owned()
}

/// The objects' format on a plain S3 target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectFormat {
    /// Gzip-compressed NDJSON: the records as the input emits them, line by line.
    #[default]
    NdjsonGz,
    /// Parquet with each table's fixed schema.
    Parquet,
}

/// How AWS is reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// The region (also the `region=` partition); else `AWS_REGION`, `AWS_DEFAULT_REGION`.
    #[serde(default)]
    pub region: Option<String>,
    /// An S3-compatible endpoint instead of AWS's (`https://…`, or `http://` on loopback).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The shared-config profile to take credentials from (else `AWS_PROFILE`, `default`).
    #[serde(default)]
    pub profile: Option<String>,
    /// A role to assume with the chain's credentials (Security Lake's provider role
    /// `AmazonSecurityLake-Provider-<source>-<region>`).
    #[serde(default)]
    pub role_arn: Option<String>,
    /// The external ID the role's trust policy requires.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// The spool's place and limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpoolConfig {
    /// The spool's folder (created `0700`); one state file per spool.
    pub dir: PathBuf,
    /// The most the spool may hold; past it, collection waits for uploads (the checkpoint does
    /// not move) and says so.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// A segment is sealed (and uploaded) once it holds this much.
    #[serde(default = "default_segment_bytes")]
    pub segment_max_bytes: u64,
    /// A segment is sealed once its first record is this old (Security Lake asks for objects
    /// between 5 minutes and one day apart).
    #[serde(default = "default_roll_seconds")]
    pub roll_seconds: u64,
    /// How long a `read` without `--follow`, its records spooled, waits for the lake to take
    /// them; past it, the read stops with exit 1 and leaves them in the spool (checkpointed:
    /// the next run uploads them), so a lake that stays down never holds a scheduled run.
    #[serde(default = "default_drain_seconds")]
    pub drain_seconds: u64,
}

fn default_max_bytes() -> u64 {
    1 << 30
}

fn default_segment_bytes() -> u64 {
    128 << 20
}

fn default_roll_seconds() -> u64 {
    300
}

fn default_drain_seconds() -> u64 {
    900
}
