//! Runtime layer (cargo feature `lake`): delivery into an object store (Amazon Security Lake, or
//! any S3), exactly once.
//!
//! The promise the host keeps for a pipe (no checkpoint ahead of the output) is kept here for a
//! lake: a batch is appended to a local, `fsync`ed **spool**, and the checkpoint the host commits
//! records how far into the spool it reaches, so a kill at any instant leaves the spool and the
//! state in step (a tail past the committed position is cut on restart and fetched again). Sealed
//! spool segments are turned into objects (Parquet or NDJSON.gz) whose keys are derived from the
//! segment, so a retried upload overwrites, never adds; a segment's file is removed only once
//! every object made from it is durable in the store.
//!
//! The pieces, and who supplies them:
//! - [`lake_config`]: the `--lake FILE` document (where objects go, AWS access, the spool's limits).
//! - [`layout`]: what the **input** supplies: which table (e.g. one OCSF class) and which time a
//!   record has, each table's fixed Arrow schema, and a record's row shape.
//! - [`object`]: where an object is written ([`object::ObjectWriter`]: S3, or a local folder).
//! - [`encode`]: what an object's bytes are ([`encode::ObjectEncoder`]): [`parquet`]
//!   ([`parquet::ParquetEncoder`], a table's fixed schema) or [`ndjson_gz`]
//!   ([`ndjson_gz::NdjsonGzEncoder`], the records as they are); [`parquet_read`] reads a
//!   Parquet object back into its records.
//! - [`column_list`]: a fixed schema written as its leaf columns (how an input commits its
//!   tables' schemas), and [`row_shape`]: a JSON record into a row of such a schema and back,
//!   free-form values as JSON text (what a layout's `to_row` can use).

pub mod column_list;
pub mod encode;
pub mod lake_config;
pub mod layout;
pub mod ndjson_gz;
pub mod object;
pub mod parquet;
pub mod parquet_read;
pub mod row_shape;
