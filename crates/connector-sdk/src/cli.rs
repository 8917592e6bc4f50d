//! The command line every connector binary gets from one call in `main`:
//!
//! ```text
//! NAME spec
//! NAME check --config FILE
//! NAME read  --config FILE --state FILE [--follow] [--poll-interval SECONDS] [--metrics-addr HOST:PORT]
//! NAME status --state FILE [--json]
//! ```
//!
//! Records go to stdout as NDJSON, logs to stderr. Exit codes: `0` success, `2` config or usage
//! error (nothing read, nothing written), `3` the source refused the credentials or the
//! installation, `1` anything else. SIGINT and SIGTERM stop a read promptly with exit `0` after
//! the batches already handed over are written and checkpointed; a second signal exits at once
//! (the state file is still consistent: commits are atomic and never ahead of the output).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config;
use crate::error::{ErrorKind, HostError};
use crate::host::{self, ReadOptions};
use crate::input::Input;
use crate::logging::{self, LogFormat};
use crate::metrics::{Metrics, MetricsServer};
use crate::output::StdoutSink;
use crate::status;

#[derive(Debug, Parser)]
struct Cli {
    /// Log format on stderr (filter with RUST_LOG, default `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the JSON Schema of the config document.
    Spec,
    /// Validate the config, then prove it works against the source.
    Check {
        /// The config document: {"settings": {…}, "secrets": {…}}.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Read records as NDJSON on stdout, resuming from (and checkpointing to) the state file.
    Read {
        /// The config document: {"settings": {…}, "secrets": {…}}.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The state file; created when absent, replaced atomically after each delivered batch.
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        /// Keep polling for new records until SIGINT/SIGTERM.
        #[arg(long)]
        follow: bool,
        /// Seconds between polls in follow mode.
        #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = parse_interval)]
        poll_interval: f64,
        /// Serve Prometheus metrics on http://HOST:PORT/metrics and health on /healthz while
        /// reading (port 0: any free port, logged). Off unless given.
        #[arg(long, value_name = "HOST:PORT")]
        metrics_addr: Option<String>,
    },
    /// Say where a state file would resume and whether a reader is running on it, without
    /// locking or changing it.
    Status {
        /// The state file.
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn parse_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if v.is_finite() && (0.1..=86_400.0).contains(&v) {
        Ok(v)
    } else {
        Err("the poll interval must be between 0.1 and 86400 seconds".into())
    }
}

/// Runs the connector's command line. Call it from `main` and return its exit code.
pub fn run<I: Input>(version: &'static str) -> ExitCode {
    let command = Cli::command()
        .name(I::NAME)
        .bin_name(I::NAME)
        .version(version)
        .about(format!(
            "{} connector: records as NDJSON on stdout",
            I::NAME
        ));
    let matches = command.get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail::<I>(ErrorKind::Fatal, &format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(run_command::<I>(cli.command, version))
}

async fn run_command<I: Input>(command: Command, version: &'static str) -> ExitCode {
    match command {
        Command::Spec => {
            let schema = config::config_schema::<I>();
            match serde_json::to_string_pretty(&schema) {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail::<I>(ErrorKind::Fatal, &e.to_string()),
            }
        }
        Command::Check { config } => {
            let input = match config::load::<I>(&config) {
                Ok(input) => input,
                Err(e) => return report::<I>(&HostError::Config(e)),
            };
            match host::check(&input).await {
                Ok(message) => {
                    println!("check succeeded: {}", crate::error::printable(&message));
                    ExitCode::SUCCESS
                }
                Err(e) => report::<I>(&e),
            }
        }
        Command::Read {
            config,
            state,
            follow,
            poll_interval,
            metrics_addr,
        } => {
            let input = match config::load::<I>(&config) {
                Ok(input) => Arc::new(input),
                Err(e) => return report::<I>(&HostError::Config(e)),
            };
            let (store, initial) = match host::open_state::<I>(&state) {
                Ok(opened) => opened,
                Err(e) => return report::<I>(&HostError::State(e)),
            };
            let (metrics, server) = match metrics_addr {
                Some(addr) => match serve_metrics(&*input, version, &addr).await {
                    Ok((metrics, server)) => (Some(metrics), Some(server)),
                    Err(code) => return code,
                },
                None => (None, None),
            };
            let shutdown = CancellationToken::new();
            spawn_signal_handler(shutdown.clone());
            let options = ReadOptions {
                follow,
                poll_interval: Duration::from_secs_f64(poll_interval),
                metrics,
            };
            let result =
                host::read(input, store, initial, StdoutSink::new(), options, shutdown).await;
            if let Some(server) = server {
                server.shutdown().await;
            }
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
                Err(e) => report::<I>(&e),
            }
        }
        Command::Status { state, json } => match status::status::<I>(&state) {
            Ok(report) => {
                if json {
                    println!("{}", report.to_json());
                } else {
                    print!("{}", report.to_text());
                }
                ExitCode::SUCCESS
            }
            Err(e) => report::<I>(&HostError::State(e)),
        },
    }
}

/// Starts the metrics endpoint on `addr`; a refused address is a usage error (exit 2), reported
/// before anything is read.
async fn serve_metrics<I: Input>(
    input: &I,
    version: &'static str,
    addr: &str,
) -> Result<(Metrics, MetricsServer), ExitCode> {
    let metrics = Metrics::new(input, version);
    match MetricsServer::bind(addr, metrics.clone()).await {
        Ok(server) => {
            let at = server.local_addr();
            tracing::info!(
                message = "Serving metrics and health.",
                metrics = %format!("http://{at}/metrics"),
                health = %format!("http://{at}/healthz"),
                address = %at,
            );
            Ok((metrics, server))
        }
        Err(e) => Err(fail::<I>(
            ErrorKind::Config,
            &format!("--metrics-addr {addr}: cannot listen there: {e}"),
        )),
    }
}

pub(crate) fn spawn_signal_handler(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut signals = 0;
        loop {
            wait_for_signal().await;
            signals += 1;
            if signals == 1 {
                tracing::info!(
                    "Shutdown requested; finishing the batch in hand (signal again to exit at once)."
                );
                shutdown.cancel();
            } else {
                tracing::warn!("Second signal: exiting now. The state file is consistent.");
                std::process::exit(130);
            }
        }
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

fn report<I: Input>(error: &HostError) -> ExitCode {
    fail::<I>(error.kind(), &error.to_string())
}

fn fail<I: Input>(kind: ErrorKind, message: &str) -> ExitCode {
    let label = match kind {
        ErrorKind::Config => "config error",
        ErrorKind::Auth => "authentication error",
        ErrorKind::Transient => "error (transient)",
        ErrorKind::Fatal => "error",
    };
    tracing::debug!(message = "Exiting with an error.", kind = ?kind);
    eprintln!("{}: {label}: {}", I::NAME, crate::error::printable(message));
    ExitCode::from(kind.exit_code())
}
