//! Front-end layer: the Airbyte protocol, a second front end over the same host runtime, so that pipeline hosts
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
//! ([`crate::front::cli`]) is only the framing; the runtime is the same [`host::read`]:
//!
//! - `spec`: one `SPEC` with `documentationUrl` (from [`Input::DOCUMENTATION_URL`]),
//!   `protocol_version` and the config schema of `NAME spec`, made self-contained (no `$ref`),
//!   with `"airbyte_secret": true` on every write-only field and `additionalProperties: true`
//!   everywhere ([`schema`]). Keys the schema does not know are ignored with one warning naming
//!   them ([`lenient_config`]); the native CLI refuses them.
//! - `check`, as the Python CDK does it: a config the schema or the input refuses, or
//!   credentials the source refuses, is one `CONNECTION_STATUS` `FAILED` with the native
//!   `check`'s message and exit 0 (the check ran and has an answer for the user); anything
//!   else (the source unavailable, a bug) is an error `TRACE` and a non-zero exit, so that the
//!   platform sees a failure to check, not a failed check.
//! - `discover`: one `CATALOG` with the input's [`RecordStream`](crate::contract::input::RecordStream), its
//!   schema in the shape Airbyte's acceptance rules accept ([`schema::for_records`]).
//! - `read`: `RECORD`s whose `data` is each record's bytes as the input emitted them (the envelope
//!   is written around them, never a re-serialisation), and a per-stream `STATE` after the records
//!   it covers, with `sourceStats.recordCount` ([`record_output`]). The host's writer delivers then
//!   commits, exactly as for the native CLI; here "commit" is writing the `STATE` message
//!   ([`crate::runtime::checkpoint::Checkpoints`]), and the pipeline host persists it. State comes back in the forms
//!   hosts send ([`state_message`]), in both sync modes: a full refresh starts from the start point
//!   when the host passes no state, and resumes an interrupted attempt from the state it
//!   passes (the stream is `is_resumable`). Stream status `TRACE`s frame the read:
//!   `STARTED`, `RUNNING` with the first record, `COMPLETE` after the last `STATE`, or
//!   `INCOMPLETE` before the error `TRACE` of a failure.
//! - Logs are `LOG` messages ([`log_message`]), written under the same stdout lock as records, so
//!   lines never interleave. A failure is one error `TRACE` with a `failure_type`
//!   (`config_error` for config and credential refusals, a source certificate that could not be
//!   verified, and a state the connector refuses,
//!   which no retry can fix; `transient_error` when the source is unavailable; `system_error`
//!   otherwise), the stream's `stream_descriptor` when it happened while reading it, and the
//!   native exit code (2, 3, 4 or 1).
//!
//! No message carries a secret: messages come from the same scrubbed errors as the native CLI's,
//! and every `LOG`, `TRACE` and `CONNECTION_STATUS` message is redacted ([`crate::runtime::redact`]),
//! from before the command line is parsed (a usage error quoting a stray token is too). A panic
//! is one `system_error` `TRACE` with the redacted message ([`launch::protect`]).

pub mod catalog;
pub mod lenient_config;
pub mod log_message;
pub mod record_output;
pub mod schema;
pub mod state_message;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::contract::error::ErrorKind;
use crate::contract::input::Input;
use crate::runtime::checkpoint::HostError;
use crate::runtime::host::{self, ReadOptions};
use crate::runtime::launch;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::json;

use self::record_output::{RecordWriter, StateWriter, StreamStatus};

/// The version of the Airbyte protocol this front end speaks (the platform's default; messages
/// are those of the protocol's v0 models).
pub const PROTOCOL_VERSION: &str = "0.2.0";

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
    let unprotected = launch::protect::<I::Secrets>(report_panic);
    let command = Cli::command()
        .name(I::NAME)
        .bin_name(format!("source-{}", I::NAME))
        .display_name(format!("source-{}", I::NAME))
        .version(version)
        .about(format!(
            "{} connector as an Airbyte source: Airbyte messages on stdout",
            I::NAME
        ))
        .after_help(ErrorKind::exit_codes_help());
    let matches = match command.try_get_matches() {
        Ok(matches) => matches,
        Err(e) => return usage_error(e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    log_message::init();
    crate::runtime::core_dumps::warn_about(&unprotected);
    let runtime = match launch::runtime() {
        Ok(rt) => rt,
        Err(message) => return fail(ErrorKind::Fatal, &message, None),
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
        None,
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
    emit_or_fail("SPEC", "spec", &specification::<I>())
}

/// The `ConnectorSpecification` of input `I`.
pub fn specification<I: Input>() -> serde_json::Value {
    let connection = schema::open(schema::for_airbyte(
        crate::contract::config::config_schema::<I>(),
    ));
    let mut spec = json!({
        "connectionSpecification": connection,
        "supportsIncremental": true,
        "protocol_version": PROTOCOL_VERSION,
    });
    if let Some(url) = I::DOCUMENTATION_URL {
        spec["documentationUrl"] = json!(url);
    }
    spec
}

async fn check<I: Input>(config: &Path) -> ExitCode {
    let outcome = match lenient_config::load::<I>(config) {
        Ok(input) => host::check(&input).await,
        Err(e) => Err(HostError::Config(e)),
    };
    let status = match outcome {
        Ok(message) => {
            json!({"status": "SUCCEEDED", "message": crate::runtime::redact::text(&message)})
        }
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::Config | ErrorKind::Auth | ErrorKind::Certificate
            ) =>
        {
            tracing::warn!(message = "Check failed.", kind = ?e.kind());
            json!({"status": "FAILED", "message": crate::runtime::redact::text(&e.to_string())})
        }
        // Not an answer about the config: the check could not be made.
        Err(e) => return fail_with(&e, None),
    };
    emit_or_fail("CONNECTION_STATUS", "connectionStatus", &status)
}

fn discover<I: Input>(config: &Path) -> ExitCode {
    let input = match lenient_config::load::<I>(config) {
        Ok(input) => input,
        Err(e) => return fail_with(&HostError::Config(e), None),
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
    let input = match lenient_config::load::<I>(config) {
        Ok(input) => input,
        Err(e) => return fail_with(&HostError::Config(e), None),
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
        Err(message) => return fail(ErrorKind::Config, &message, None),
    };
    let initial = match state {
        None => I::State::default(),
        Some(path) => match state_message::load::<I>(path, &stream.name) {
            Ok(state) => state,
            // No retry can make a refused state usable: the platform must not retry the sync
            // as if the failure were passing (the native exit code, 1, is kept).
            Err(e) => {
                return fail_as(
                    "config_error",
                    ErrorKind::Fatal.exit_code(),
                    &e.to_string(),
                    Some(&stream.name),
                );
            }
        },
    };
    tracing::info!(
        message = "Reading.",
        stream = %stream.name,
        sync_mode = mode.as_str(),
        resuming = state.is_some() && initial != I::State::default(),
        connector_version = version,
    );
    let records = RecordWriter::new(&stream.name);
    let checkpoints = StateWriter::<I>::new(&stream.name, records.counter());
    let shutdown = launch::shutdown_on_signals();
    if let Err(e) = record_output::stream_status(&stream.name, StreamStatus::Started) {
        return fail_with(&HostError::Output(e), Some(&stream.name));
    }
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
            launch::log_read_summary(&summary);
            let status = if summary.interrupted {
                StreamStatus::Incomplete
            } else {
                StreamStatus::Complete
            };
            match record_output::stream_status(&stream.name, status) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail_with(&HostError::Output(e), Some(&stream.name)),
            }
        }
        Err(e) => {
            // The stream status first, then the error that ended it (as the Python CDK does).
            let _ = record_output::stream_status(&stream.name, StreamStatus::Incomplete);
            fail_with(&e, Some(&stream.name))
        }
    }
}

fn emit_or_fail(kind: &str, field: &str, payload: &serde_json::Value) -> ExitCode {
    match record_output::emit_message(kind, field, payload) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Stdout is gone: nothing can be reported there; stderr is all that is left.
            eprintln!("cannot write to stdout: {e}");
            ExitCode::from(ErrorKind::Fatal.exit_code())
        }
    }
}

fn fail_with(error: &HostError, stream: Option<&str>) -> ExitCode {
    fail(error.kind(), &error.to_string(), stream)
}

/// Reports a failure as one error `TRACE` and returns the exit code of its kind.
fn fail(kind: ErrorKind, message: &str, stream: Option<&str>) -> ExitCode {
    fail_as(failure_type(kind), kind.exit_code(), message, stream)
}

/// Writes the error `TRACE` (with the stream's descriptor when the failure is the stream's) and
/// returns exit code `code`.
fn fail_as(failure_type: &str, code: u8, message: &str, stream: Option<&str>) -> ExitCode {
    tracing::debug!(message = "Exiting with an error.", failure_type, code);
    let message = crate::runtime::redact::text(message);
    let mut error = json!({"message": message, "failure_type": failure_type});
    if let Some(stream) = stream {
        error["stream_descriptor"] = json!({"name": stream});
    }
    let trace = json!({
        "type": "ERROR",
        "emitted_at": record_output::now_ms() as f64,
        "error": error,
    });
    if let Err(e) = record_output::emit_message("TRACE", "trace", &trace) {
        eprintln!("{message} (and stdout failed: {e})");
    }
    ExitCode::from(code)
}

/// The panic hook's report ([`launch::protect`]): one error `TRACE`, `system_error`, with the
/// redacted message, on stdout like every other message (stderr if stdout is gone).
fn report_panic(message: &str) {
    let trace = json!({
        "type": "ERROR",
        "emitted_at": record_output::now_ms() as f64,
        "error": {"message": message, "failure_type": "system_error"},
    });
    if record_output::emit_message("TRACE", "trace", &trace).is_err() {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{message}");
    }
}

/// The Airbyte `failure_type` of an error class.
pub fn failure_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Config | ErrorKind::Auth | ErrorKind::Certificate => "config_error",
        ErrorKind::Transient => "transient_error",
        ErrorKind::Fatal => "system_error",
    }
}
