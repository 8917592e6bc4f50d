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
//!   record has, and each table's fixed Arrow schema.
//! - [`object`]: where an object is written ([`object::ObjectWriter`]: S3, or a local folder).
//! - [`encode`]: what an object's bytes are ([`encode::ObjectEncoder`], fed a record at a
//!   time): [`parquet`]
//!   ([`parquet::ParquetEncoder`], a table's fixed schema) or [`ndjson_gz`]
//!   ([`ndjson_gz::NdjsonGzEncoder`], the records as they are); `parquet_read` (feature
//!   `read-back`, for tests and tools) reads a Parquet object back into its records.
//! - [`column_list`]: a fixed schema written as its leaf columns (how an input commits its
//!   tables' schemas), and [`row_shape`]: a JSON record into a row of such a schema (one scan
//!   straight into its Arrow columns) and back, free-form values as JSON text.
//! - [`spool`]: the local spool (segments, `spool.json`, the cut to the committed offset).
//! - [`object_keys`]: each table's location, the partitions, and the key derived from a segment.
//! - [`file_objects`]: the `file://` [`object::ObjectWriter`] (a local folder as a bucket).
//! - [`lake_sink`]: the host's sink and checkpoints for a lake (deliver = append to the spool,
//!   commit = the checkpoint with the spool position, sealing when due; the full-spool wait).
//! - [`uploader`]: sealed segments to objects, oldest first, with backoff; [`record_reader`]
//!   reads an object's records back from its segment.
//! - [`lake_parts`]: what a build plugs in (writer, encoder, backoff, a step observer).
//! - [`custom_sources`]: `lake-setup`'s text (the Security Lake custom sources to create).
//! - [`lake_read`]: a `read` into a lake (the host with the lake's sink and checkpoints, the
//!   uploader beside it) and `check`'s probe of every location.
//! - [`s3`]: the writer for `s3://` (AWS or an S3-compatible endpoint), with the credentials of
//!   [`aws_credentials`] (the AWS default chain; shared profiles in `aws_profile`, STS
//!   AssumeRole in `aws_sts`, failures in [`credential_error`]); [`writer_for`] picks the
//!   writer a lake document needs.

pub mod aws_credentials;
mod aws_profile;
mod aws_sts;
pub mod column_list;
pub mod credential_error;
pub mod custom_sources;
pub mod encode;
pub mod file_objects;
pub mod lake_config;
pub mod lake_parts;
pub mod lake_read;
pub mod lake_sink;
pub mod layout;
pub mod ndjson_gz;
pub mod object;
pub mod object_keys;
pub mod parquet;
#[cfg(feature = "read-back")]
pub mod parquet_read;
pub mod record_reader;
pub mod row_shape;
pub mod s3;
pub mod spool;
pub mod uploader;
pub mod writer_for;

#[cfg(test)]
mod loopback_http;
