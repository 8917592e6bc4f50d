//! The Airbyte protocol: a second front end over the same host runtime, so that pipeline hosts
//! that speak it (PyAirbyte, Airbyte's platform) can load any [`Input`] as a source.
//!
//! ```text
//! NAME spec
//! NAME check    --config FILE
//! NAME discover --config FILE
//! NAME read     --config FILE --catalog FILE [--state FILE]
//! ```
//!
//! Every line on stdout is one Airbyte message (JSON). What differs from the native CLI
//! ([`crate::cli`]) is only the framing; the runtime is the same [`host::read`]:
//!
//! - `spec`: one `SPEC`; `connectionSpecification` is the config schema of `NAME spec`, made
//!   self-contained (no `$ref`) and with `"airbyte_secret": true` on every write-only field
//!   ([`schema`]).
//! - `check`: one `CONNECTION_STATUS`, `FAILED` with the native `check`'s message when the config
//!   or the source refuses (exit 0, as the protocol wants: the check ran).
//! - `discover`: one `CATALOG` with the input's [`RecordStream`](crate::RecordStream).
//! - `read`: `RECORD`s whose `data` is each record's bytes as the input emitted them (the envelope
//!   is written around them, never a re-serialisation), and a per-stream `STATE` after the records
//!   it covers, with `sourceStats.recordCount` ([`output`]). The host's writer delivers then
//!   commits, exactly as for the native CLI; here "commit" is writing the `STATE` message
//!   ([`crate::Checkpoints`]), and the pipeline host persists it. State comes back in the forms
//!   hosts send ([`state`]); a full refresh ignores it and reads from the start point.
//! - Logs are `LOG` messages ([`logging`]), written under the same stdout lock as records, so
//!   lines never interleave. A failure is one `TRACE` error message with a `failure_type`
//!   (`config_error` for config and credential refusals, `transient_error` when the source is
//!   unavailable, `system_error` otherwise) and the native exit code (2, 3 or 1).
//!
//! No message carries a secret: messages come from the same scrubbed errors as the native CLI's.

pub mod catalog;
pub mod logging;
pub mod output;
pub mod schema;
pub mod state;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::config;
use crate::error::{ErrorKind, HostError};
use crate::host::{self, ReadOptions};
use crate::input::Input;

pub use self::catalog::SyncMode;
use self::output::{RecordWriter, StateWriter};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the connector's specification (a SPEC message).
    Spec,
    /// Validate the config and prove it works against the source (a CONNECTION_STATUS message).
    Check {
        /// The config document: {"settings": {…}, "secrets": {…}}.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Describe the stream (a CATALOG message).
    Discover {
        /// The config document: {"settings": {…}, "secrets": {…}}.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Read the selected stream as RECORD messages, with a STATE message after each batch.
    Read {
        /// The config document: {"settings": {…}, "secrets": {…}}.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The configured catalog: which stream, in which sync mode.
        #[arg(long, value_name = "FILE")]
        catalog: PathBuf,
        /// The last state the pipeline host kept (a list of state messages).
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
    },
}

/// Runs the connector as an Airbyte source. Call it from `main` and return its exit code.
pub fn run<I: Input>(version: &'static str) -> ExitCode {
    let command = Cli::command()
        .name(I::NAME)
        .bin_name(format!("source-{}", I::NAME))
        .display_name(format!("source-{}", I::NAME))
        .version(version)
        .about(format!(
            "{} connector as an Airbyte source: Airbyte messages on stdout",
            I::NAME
        ));
    let matches = match command.try_get_matches() {
        Ok(matches) => matches,
        Err(e) => return usage_error(e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(ErrorKind::Fatal, &format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(run_command::<I>(cli.command, version))
}

fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind as Clap;
    if matches!(error.kind(), Clap::DisplayHelp | Clap::DisplayVersion) {
        error.exit();
    }
    fail(
        ErrorKind::Config,
        &format!("usage error: {}", error.render().to_string().trim()),
    )
}

async fn run_command<I: Input>(command: Command, version: &'static str) -> ExitCode {
    match command {
        Command::Spec => spec::<I>(),
        Command::Check { config } => check::<I>(&config).await,
        Command::Discover { config } => discover::<I>(&config),
        Command::Read {
            config,
            catalog,
            state,
        } => read::<I>(&config, &catalog, state.as_deref(), version).await,
    }
}

fn spec<I: Input>() -> ExitCode {
    let specification = schema::for_airbyte(config::config_schema::<I>());
    emit_or_fail(
        "SPEC",
        "spec",
        &json!({
            "connectionSpecification": specification,
            "supportsIncremental": true,
        }),
    )
}

async fn check<I: Input>(config: &Path) -> ExitCode {
    let outcome = match config::load::<I>(config) {
        Ok(input) => host::check(&input).await,
        Err(e) => Err(HostError::Config(e)),
    };
    let status = match outcome {
        Ok(message) => json!({"status": "SUCCEEDED", "message": message}),
        Err(e) => {
            tracing::warn!(message = "Check failed.", kind = ?e.kind());
            json!({"status": "FAILED", "message": e.to_string()})
        }
    };
    emit_or_fail("CONNECTION_STATUS", "connectionStatus", &status)
}

fn discover<I: Input>(config: &Path) -> ExitCode {
    let input = match config::load::<I>(config) {
        Ok(input) => input,
        Err(e) => return fail_with(&HostError::Config(e)),
    };
    let stream = catalog::describe(&input.record_stream());
    emit_or_fail("CATALOG", "catalog", &json!({"streams": [stream]}))
}

async fn read<I: Input>(
    config: &Path,
    catalog: &Path,
    state: Option<&Path>,
    version: &'static str,
) -> ExitCode {
    let input = match config::load::<I>(config) {
        Ok(input) => input,
        Err(e) => return fail_with(&HostError::Config(e)),
    };
    let stream = input.record_stream();
    let mode = match catalog::selected(catalog, &stream.name) {
        Ok(Some(mode)) => mode,
        Ok(None) => {
            tracing::info!(
                message = "The configured catalog does not select this connector's stream; nothing to read.",
                stream = %stream.name,
            );
            return ExitCode::SUCCESS;
        }
        Err(message) => return fail(ErrorKind::Config, &message),
    };
    let initial = match (mode, state) {
        (SyncMode::FullRefresh, state) => {
            if state.is_some() {
                tracing::info!(
                    message = "Full refresh: the state passed in is ignored; reading from the start point.",
                    stream = %stream.name,
                );
            }
            I::State::default()
        }
        (SyncMode::Incremental, None) => I::State::default(),
        (SyncMode::Incremental, Some(path)) => match state::load::<I>(path, &stream.name) {
            Ok(state) => state,
            Err(e) => return fail_with(&HostError::State(e)),
        },
    };
    tracing::info!(
        message = "Reading.",
        stream = %stream.name,
        sync_mode = mode.as_str(),
        connector_version = version,
    );
    let records = RecordWriter::new(&stream.name);
    let checkpoints = StateWriter::<I>::new(&stream.name, records.counter());
    let shutdown = CancellationToken::new();
    crate::cli::spawn_signal_handler(shutdown.clone());
    let result = host::read(
        Arc::new(input),
        checkpoints,
        initial,
        records,
        ReadOptions::default(),
        shutdown,
    )
    .await;
    match result {
        Ok(summary) => {
            tracing::info!(
                message = if summary.interrupted {
                    "Stopped on signal."
                } else {
                    "Read finished."
                },
                records = summary.records,
                checkpoints = summary.commits,
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail_with(&e),
    }
}

fn emit_or_fail(kind: &str, field: &str, payload: &serde_json::Value) -> ExitCode {
    match output::emit_message(kind, field, payload) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Stdout is gone: nothing can be reported there; stderr is all that is left.
            eprintln!("cannot write to stdout: {e}");
            ExitCode::from(ErrorKind::Fatal.exit_code())
        }
    }
}

fn fail_with(error: &HostError) -> ExitCode {
    fail(error.kind(), &error.to_string())
}

/// Reports a failure as one `TRACE` error message and returns the exit code of its kind.
fn fail(kind: ErrorKind, message: &str) -> ExitCode {
    let failure_type = failure_type(kind);
    tracing::debug!(message = "Exiting with an error.", kind = ?kind, failure_type);
    let trace = json!({
        "type": "ERROR",
        "emitted_at": output::now_ms() as f64,
        "error": {"message": message, "failure_type": failure_type},
    });
    if let Err(e) = output::emit_message("TRACE", "trace", &trace) {
        eprintln!("{message} (and stdout failed: {e})");
    }
    ExitCode::from(kind.exit_code())
}

/// The Airbyte `failure_type` of an error class.
pub fn failure_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Config | ErrorKind::Auth => "config_error",
        ErrorKind::Transient => "transient_error",
        ErrorKind::Fatal => "system_error",
    }
}
