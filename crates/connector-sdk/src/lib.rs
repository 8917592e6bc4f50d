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
//! # The shape: three layers in one crate
//!
//! ```text
//! front     cli, airbyte                    command lines, framing, exit codes
//!   |
//! runtime   host, checkpoint, state_file,   the writer thread, the state file, the
//!           status, output, output_file,    Prometheus registry and endpoint, signals,
//!           metrics, launch, config_file,   the files an operator names, the secrets the
//!           secret_env, file, logging,      environment gives, logs
//!           redact, core_dumps
//!   |
//! contract  input, instruments, config,     what a connector implements and touches; opens
//!           state_rules, error              no file, reads no environment variable, names no
//!                                           runtime, metrics or HTTP type
//! ```
//!
//! Each layer imports only the layers below it ([`contract`] nothing but itself).
//!
//! **One path per item.** Every item has exactly one public path, the layered one
//! (`connector_sdk::contract::input::Input`, `connector_sdk::runtime::host::read`,
//! `connector_sdk::front::cli::run`): the path says which side of the contract an item is on, so
//! an author knows from the `use` lines alone what they implement and what the host does for
//! them. Nothing is re-exported at the crate root but [`secrecy`], the crate an input's secrets
//! are typed with.
//!
//! - [`Input`] is the one core trait: declare [`Settings`], [`Secrets`] and a versioned state
//!   type, build yourself from a validated [`Config`], [`Input::check`] the configuration against
//!   the source, and [`Input::read`] records in [`Batch`]es. Each batch carries the checkpoint
//!   that becomes durable only once the host has delivered the batch.
//! - [`ReadContext`] is what `read` touches of the host: emit a batch, borrow a record buffer,
//!   watch for the stop signal. The runtime builds it ([`runtime::host_side`]).
//! - [`instruments`] is how an input declares and records its own metrics in the SDK's terms;
//!   [`metrics`] (runtime) is the registry that exposes them beside the host's generic families,
//!   and the `/metrics` + `/healthz` endpoint. [`status`] describes a state file without
//!   touching it; what the state means is the input's [`StateDescription`].
//! - [`config`] generates the config JSON Schema and validates raw documents against it;
//!   [`config_file`] and [`secret_env`] are the host's loaders (the file, the environment).
//! - [`state_rules`] is what a saved state may be (envelope, version, migration, refusals),
//!   once; [`state_file`] is the state file: locked, versioned, replaced atomically.
//! - [`host`] is the in-process runtime (embed an input in a Rust pipeline without the CLI).
//!   Two front ends are built on it: [`cli`], the native command line ([`cli::run`]: NDJSON on
//!   stdout, a state file), and [`airbyte`], the Airbyte protocol ([`airbyte::run`]: JSON
//!   messages on stdout, state kept by the pipeline host). Both commit through
//!   [`Checkpoints`] only what was delivered, and both start through [`launch`].
//!
//! Nothing here knows about any particular source; the only HTTP here is the metrics endpoint.
//!
//! # Writing a connector on connector-sdk
//!
//! A connector is a library crate with one [`Input`] and two one-line binaries. The complete,
//! tested example is the SDK's fake connector, `crates/connector-sdk/tests/fake/mod.rs` (about
//! 200 lines), which `tests/sdk.rs` runs through both front ends.
//!
//! 1. **Settings and secrets.** Two serde + schemars structs with `deny_unknown_fields`; their
//!    doc comments become the config schema's descriptions (`NAME spec`). Secrets are
//!    [`secrecy`] types marked `#[schemars(extend("writeOnly" = true))]`: never serialised,
//!    redacted in `Debug`, masked in every message.
//! 2. **The state.** What you need to resume after the last delivered batch, and nothing more
//!    (`Serialize + Deserialize + Default + Clone + PartialEq`). Give it a
//!    [`Input::STATE_VERSION`]; bump it when its shape changes and upgrade older ones in
//!    [`Input::migrate_state`]. Refuse in [`Input::check_state`] what no run could have written.
//! 3. **The input.** [`Input::from_config`] runs the checks a schema cannot express, reporting
//!    every problem with its JSON pointer ([`Violation`]); [`Input::check`] proves the config with
//!    one cheap call; [`Input::read`] reads from the state it is given and hands the host
//!    [`Batch`]es through [`ReadContext::emit`], each with the state *after* its records:
//!
//!    ```ignore
//!    async fn read(&self, state: MyState, cx: &ReadContext<MyState>) -> Result<(), InputError> {
//!        let mut next = state;
//!        while let Some(page) = self.fetch(&next).await? {        // your source
//!            let mut records = cx.record_buf(page.len());
//!            for item in &page.items {
//!                records.push_json(item.raw_json());              // bytes as the source sent them
//!            }
//!            next = next.after(&page);
//!            if cx.emit(Batch { records, checkpoint: next.clone() }).await.is_err() {
//!                return Ok(());                                    // the host is stopping
//!            }
//!        }
//!        Ok(())
//!    }
//!    ```
//!
//!    Never write state yourself and never checkpoint ahead of the records: the host commits a
//!    batch's checkpoint only after delivering its records, so a kill at any instant resumes
//!    without loss. Classify errors ([`InputError::auth`], [`InputError::transient`], …): they
//!    become exit codes and Airbyte `failure_type`s.
//! 4. **Optional capabilities.** [`Input::record_stream`] (the stream's name, record schema,
//!    cursor and key for Airbyte's `discover`), [`Input::register_metrics`] (declare your own
//!    [`instruments`]: counters, labelled families, histograms, scrape-time gauges; the runtime
//!    exposes them beside its own on `--metrics-addr`), [`Input::describe_state`] (what `status`
//!    shows), [`Secrets::redact`] (credential shapes to scrub from everything printed).
//! 5. **The binaries.** `fn main() -> ExitCode { connector_sdk::front::cli::run::<MyInput>(VERSION) }`
//!    for the native command line (`spec`, `check`, `read`, `status`), and the same with
//!    [`airbyte::run`] for an Airbyte source (`spec`, `check`, `discover`, `read`).
//!
//! Test the input in process with [`host::read`] and an [`output::MemorySink`], and as a process
//! the way `tests/sdk.rs` does.
//!
//! The `use` lines of such a connector name the contract only:
//!
//! ```ignore
//! use connector_sdk::contract::error::{ConfigError, InputError, Violation};
//! use connector_sdk::contract::input::{Batch, Config, Input, ReadContext, RecordStream};
//! use connector_sdk::contract::instruments::Instruments; // if it declares metrics
//! ```
//!
//! [`Input`]: contract::input::Input
//! [`Input::check`]: contract::input::Input::check
//! [`Input::read`]: contract::input::Input::read
//! [`Input::STATE_VERSION`]: contract::input::Input::STATE_VERSION
//! [`Input::migrate_state`]: contract::input::Input::migrate_state
//! [`Input::check_state`]: contract::input::Input::check_state
//! [`Input::from_config`]: contract::input::Input::from_config
//! [`Input::record_stream`]: contract::input::Input::record_stream
//! [`Input::register_metrics`]: contract::input::Input::register_metrics
//! [`Input::describe_state`]: contract::input::Input::describe_state
//! [`Settings`]: contract::input::Settings
//! [`Secrets`]: contract::input::Secrets
//! [`Secrets::redact`]: contract::input::Secrets::redact
//! [`Config`]: contract::input::Config
//! [`Batch`]: contract::input::Batch
//! [`ReadContext`]: contract::input::ReadContext
//! [`ReadContext::emit`]: contract::input::ReadContext::emit
//! [`StateDescription`]: contract::input::StateDescription
//! [`Violation`]: contract::error::Violation
//! [`InputError::auth`]: contract::error::InputError::auth
//! [`InputError::transient`]: contract::error::InputError::transient
//! [`instruments`]: contract::instruments
//! [`config`]: contract::config
//! [`state_rules`]: contract::state_rules
//! [`metrics`]: runtime::metrics
//! [`status`]: runtime::status
//! [`config_file`]: runtime::config_file
//! [`secret_env`]: runtime::secret_env
//! [`state_file`]: runtime::state_file
//! [`host`]: runtime::host
//! [`host::read`]: runtime::host::read
//! [`output::MemorySink`]: runtime::output::MemorySink
//! [`launch`]: runtime::launch
//! [`Checkpoints`]: runtime::checkpoint::Checkpoints
//! [`cli`]: front::cli
//! [`cli::run`]: front::cli::run
//! [`airbyte`]: front::airbyte
//! [`airbyte::run`]: front::airbyte::run

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod contract;
pub mod front;
pub mod runtime;

pub use secrecy;
