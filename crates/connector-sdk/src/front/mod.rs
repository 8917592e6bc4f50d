//! The front-end layer: how a pipeline host talks to a connector binary, on top of
//! [`crate::runtime`]. Each front end parses its command line, frames its output and maps
//! errors to exit codes; the runtime does the rest, the same for both.
//!
//! - [`cli`]: the native command line (NDJSON on stdout, a state file).
//! - [`airbyte`]: the Airbyte protocol (JSON messages on stdout, state kept by the host).
//! - `lake_cli` (feature `lake`): the command line's lake part (`read --lake`, `lake-setup`).

pub mod airbyte;
pub mod cli;
#[cfg(feature = "lake")]
mod lake_cli;
