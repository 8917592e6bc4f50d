//! Runtime layer: what an input tells the lake about its records. The runtime knows nothing of
//! OCSF or Slack; the input says which table a record belongs to, its time (rows are sorted by it
//! and it picks the UTC day of the partition), and each table's fixed Arrow schema (so the lake's
//! catalogue sees the same table every day, whatever the data). How a record becomes a row of
//! that schema without losing anything is the runtime's ([`crate::runtime::lake::row_shape`]:
//! the schema marks the columns that hold JSON text).

use std::sync::Arc;

use arrow_schema::SchemaRef;

use crate::contract::error::ConfigError;
use crate::contract::input::Input;
use crate::runtime::lake::lake_config::Target;

/// Where one record goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Its table, one of [`LakeLayout::tables`] (for Security Lake: one custom source).
    pub table: Arc<str>,
    /// Its event time, milliseconds since the Unix epoch (UTC).
    pub time_ms: i64,
}

/// One table the input can produce.
#[derive(Debug, Clone)]
pub struct TableInfo {
    /// Its name: lowercase ASCII letters, digits and `_` (a path segment, a metric label).
    pub table: Arc<str>,
    /// The Security Lake custom source it is delivered as (at most 20 characters).
    pub source_name: String,
    /// The event class Security Lake is told the source carries (e.g. `API_ACTIVITY`).
    pub event_class: String,
    /// Its fixed schema, for Parquet; `None` when the table has no columnar form.
    pub schema: Option<SchemaRef>,
}

/// Why a record could not be placed or shaped. The record is never dropped for it: the read
/// stops with this message (the input produced a record its own layout does not describe).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LayoutError(pub String);

/// What the input supplies to deliver its records into a lake.
pub trait LakeLayout: Send + Sync + 'static {
    /// The table and time of one record (one NDJSON line, without its newline).
    fn place(&self, record: &[u8]) -> Result<Placement, LayoutError>;

    /// Every table this input can produce with its current settings.
    fn tables(&self) -> &[TableInfo];
}

/// An input that can be delivered into a lake: it builds its layout from its own settings and
/// the target (e.g. refuses Parquet for records that have no fixed schema).
pub trait LakeInput: Input {
    /// The layout of this input's records for `target`.
    fn lake_layout(&self, target: &Target) -> Result<Arc<dyn LakeLayout>, ConfigError>;
}
