//! The contract between a connector and the data-pipeline host that loads it, and the host
//! runtime every connector binary gets.
//!
//! # Why this crate exists
//!
//! A connector is judged by the events it does not lose. Most of what makes that true is not
//! specific to any source: a config that is validated *before* anything runs, a state file that
//! only moves after the records it covers have been written, a shutdown that never commits ahead
//! of the output. This crate owns those pieces once, so an input (such as `slack-audit`) only
//! has to know its source.
//!
//! # The shape
//!
//! - [`Input`] is the one core trait: declare [`Settings`], [`Secrets`] and a versioned state
//!   type, build yourself from a validated [`Config`], [`Input::check`] the configuration against
//!   the source, and [`Input::read`] records in [`Batch`]es. Each batch carries the checkpoint
//!   that becomes durable only once the host has delivered the batch.
//! - [`ReadContext`] carries the output channel and the shutdown signal into `read`.
//! - [`metrics`] is the registry of metric families (generic ones recorded by the host, the
//!   input's own) and the `/metrics` + `/healthz` endpoint; [`status`] describes a state file
//!   without touching it.
//! - [`config`] generates the config JSON Schema and validates raw documents against it.
//! - [`state`] is the state file: locked, versioned, replaced atomically.
//! - [`host`] is the in-process runtime (embed an input in a Rust pipeline without the CLI).
//!   Two front ends are built on it: [`cli`], the native command line ([`cli::run`]: NDJSON on
//!   stdout, a state file), and [`airbyte`], the Airbyte protocol ([`airbyte::run`]: JSON
//!   messages on stdout, state kept by the pipeline host). Both commit through
//!   [`Checkpoints`] only what was delivered.
//!
//! Nothing here knows about any particular source; the only HTTP here is the metrics endpoint.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod airbyte;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod error;
pub mod file;
pub mod host;
pub mod input;
pub mod logging;
pub mod metrics;
pub mod output;
pub mod redact;
pub mod state;
pub mod status;

pub use checkpoint::Checkpoints;
pub use config::Config;
pub use error::{ConfigError, ErrorKind, HostError, InputError, Violation};
pub use input::{
    Batch, BufferPool, Input, ReadContext, RecordBuf, RecordStream, Secrets, Settings, Stopped,
};
pub use secrecy;
