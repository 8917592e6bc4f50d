//! Front-end layer: the command line every connector binary gets from one call in `main`:
//!
//! ```text
//! NAME spec
//! NAME check --config FILE
//! NAME read  --config FILE --state FILE [--follow] [--poll-interval SECONDS] [--metrics-addr HOST:PORT]
//! NAME status --state FILE [--json]
//! NAME …                       (the connector's own subcommands: [`ExtraCommand`], [`run_with`])
//! ```
//!
//! An input that can be delivered into a lake runs [`run_lake`] instead, which adds `--lake
//! LAKE` to `read`, `check` and `status`, and `lake-setup` (see `lake_cli`).
//!
//! Records go to stdout as NDJSON, logs to stderr. Exit codes: [`ErrorKind::exit_codes`], which
//! `--help` prints. SIGINT and SIGTERM stop a read promptly with exit `0` after
//! the batches already handed over are written and checkpointed; a second signal exits at once
//! (the state file is still consistent: commits are atomic and never ahead of the output).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::contract::config;
use crate::contract::error::ErrorKind;
use crate::contract::input::Input;
use crate::runtime::checkpoint::HostError;
use crate::runtime::config_file;
use crate::runtime::host::{self, ReadOptions};
use crate::runtime::launch;
use crate::runtime::logging::{self, LogFormat};
use crate::runtime::metrics::{Metrics, MetricsServer};
use crate::runtime::output::{RecordSink, StdoutSink};
use crate::runtime::output_file::{self, FileSink, OutputOptions};
use crate::runtime::status;

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
        /// Also prove that the lake LAKE describes takes objects (a probe at every location).
        #[cfg(feature = "lake")]
        #[arg(long, value_name = "LAKE")]
        lake: Option<PathBuf>,
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
        #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = parse_interval, requires = "follow")]
        poll_interval: f64,
        /// Append records to FILE instead of stdout, made durable (fsync) before each
        /// checkpoint; reopened on SIGHUP (rotate by renaming the file, then send SIGHUP).
        /// One collector per output: a second reader is refused before the file is touched.
        /// Created 0600; never written through a symlink.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Create the output file 0640 instead of 0600, for a shipper in the file's group.
        #[arg(long, requires = "output")]
        output_group_readable: bool,
        /// Continue although the settings differ from those the state was collected with in a
        /// way that skips or mixes records (a filter widened, another record format). What is
        /// skipped is logged.
        #[arg(long)]
        accept_settings_change: bool,
        /// Serve Prometheus metrics on http://HOST:PORT/metrics and health on /healthz while
        /// reading (port 0: any free port, logged). Off unless given.
        #[arg(long, value_name = "HOST:PORT")]
        metrics_addr: Option<String>,
        /// Deliver into the lake LAKE describes (Amazon Security Lake or S3) instead of
        /// stdout, exactly once, through its local spool. Without --follow, returns once
        /// everything read is in the lake.
        #[cfg(feature = "lake")]
        #[arg(long, value_name = "LAKE", conflicts_with_all = ["output", "output_group_readable"])]
        lake: Option<PathBuf>,
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
        /// Also show the spool of the lake LAKE describes.
        #[cfg(feature = "lake")]
        #[arg(long, value_name = "LAKE")]
        lake: Option<PathBuf>,
    },
    /// Print the Amazon Security Lake custom sources to create for the lake LAKE describes
    /// (one per table), the commands that create them, and the locations to paste.
    #[cfg(feature = "lake")]
    LakeSetup {
        /// The config document: {"settings": {…}, "secrets": {…}}.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The lake file.
        #[arg(long, value_name = "LAKE")]
        lake: PathBuf,
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

/// A subcommand a connector adds to its command line ([`run_with`], [`command_with`]): how clap
/// describes it (so `--help`, completions and man pages list it), and what runs it, on the
/// command line's runtime after logging is set up. It prints its own answer; an error is
/// reported (and exits) as every other command's.
pub struct ExtraCommand {
    /// The subcommand: its name, help and arguments.
    pub command: clap::Command,
    /// Runs it with its parsed arguments; `Ok` is the exit code.
    pub run: ExtraRun,
}

/// What runs an [`ExtraCommand`].
pub type ExtraRun = fn(
    clap::ArgMatches,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<ExitCode, crate::contract::error::InputError>>>,
>;

/// The subcommand a command line chose: one of the SDK's, or one of the connector's.
enum Chosen {
    Builtin(Command),
    Extra(ExtraRun, clap::ArgMatches),
}

/// The connector's command line, as clap describes it (for shell completions and the man page).
pub fn command<I: Input>(version: &'static str) -> clap::Command {
    command_with::<I>(version, &[])
}

/// [`command`] with the connector's `extras`.
pub fn command_with<I: Input>(version: &'static str, extras: &[ExtraCommand]) -> clap::Command {
    Cli::command()
        .subcommands(extras.iter().map(|extra| extra.command.clone()))
        .name(I::NAME)
        .bin_name(I::NAME)
        .display_name(I::NAME)
        .version(version)
        .about(format!(
            "{} connector: records as NDJSON on stdout",
            I::NAME
        ))
        .after_help(ErrorKind::exit_codes_help())
}

/// What the command line can do with a lake: nothing, for [`run`].
#[cfg(feature = "lake")]
type Lake<I> = Option<crate::front::lake_cli::LakeCommands<I>>;
#[cfg(not(feature = "lake"))]
type Lake<I> = Option<std::marker::PhantomData<I>>;

/// Runs the connector's command line. Call it from `main` and return its exit code.
pub fn run<I: Input>(version: &'static str) -> ExitCode {
    run_with::<I>(version, &[])
}

/// [`run`] with the connector's `extras`.
pub fn run_with<I: Input>(version: &'static str, extras: &[ExtraCommand]) -> ExitCode {
    run_inner::<I>(version, extras, None)
}

/// Runs the command line of an input that can be delivered into a lake (`read --lake`,
/// `check --lake`, `status --lake`, `lake-setup`), with the standard parts
/// ([`LakeParts::standard`](crate::runtime::lake::lake_parts::LakeParts::standard)) and the
/// connector's `extras`.
#[cfg(feature = "lake")]
pub fn run_lake<I: crate::runtime::lake::layout::LakeInput>(
    version: &'static str,
    extras: &[ExtraCommand],
) -> ExitCode {
    run_lake_with::<I>(
        version,
        crate::runtime::lake::lake_parts::LakeParts::standard(),
        extras,
    )
}

/// [`run_lake`] with the lake built from `parts` (another writer, encoder or backoff; tests).
#[cfg(feature = "lake")]
pub fn run_lake_with<I: crate::runtime::lake::layout::LakeInput>(
    version: &'static str,
    parts: crate::runtime::lake::lake_parts::LakeParts,
    extras: &[ExtraCommand],
) -> ExitCode {
    run_inner::<I>(
        version,
        extras,
        Some(crate::front::lake_cli::LakeCommands {
            parts,
            layout: <I as crate::runtime::lake::layout::LakeInput>::lake_layout,
        }),
    )
}

fn run_inner<I: Input>(version: &'static str, extras: &[ExtraCommand], lake: Lake<I>) -> ExitCode {
    let unprotected = launch::protect::<I::Secrets>(report_panic::<I>);
    let matches = match command_with::<I>(version, extras).try_get_matches() {
        Ok(matches) => matches,
        Err(e) => return usage_error::<I>(&e),
    };
    let extra = matches.subcommand().and_then(|(name, sub)| {
        let extra = extras.iter().find(|e| e.command.get_name() == name)?;
        Some(Chosen::Extra(extra.run, sub.clone()))
    });
    let (log_format, chosen) = match extra {
        Some(chosen) => {
            let format = matches.get_one::<LogFormat>("log_format").copied();
            (format.unwrap_or_default(), chosen)
        }
        None => match Cli::from_arg_matches(&matches) {
            Ok(cli) => (cli.log_format, Chosen::Builtin(cli.command)),
            Err(e) => return usage_error::<I>(&e),
        },
    };
    logging::init(log_format);
    crate::runtime::core_dumps::warn_about(&unprotected);
    let runtime = match launch::runtime() {
        Ok(rt) => rt,
        Err(message) => return fail::<I>(ErrorKind::Fatal, &message),
    };
    match chosen {
        Chosen::Builtin(command) => runtime.block_on(run_command::<I>(command, version, lake)),
        Chosen::Extra(run, sub) => runtime
            .block_on(run(sub))
            .unwrap_or_else(|e| fail::<I>(e.kind, &e.message)),
    }
}

/// Refuses `--lake` for a connector that does not deliver into a lake.
#[cfg(feature = "lake")]
fn no_lake<I: Input>() -> ExitCode {
    fail::<I>(
        ErrorKind::Config,
        &format!("--lake: {} does not deliver into a lake", I::NAME),
    )
}

async fn run_command<I: Input>(
    command: Command,
    version: &'static str,
    lake_commands: Lake<I>,
) -> ExitCode {
    #[cfg(not(feature = "lake"))]
    let _ = &lake_commands;
    match command {
        Command::Spec => {
            let schema = config::config_schema::<I>();
            match serde_json::to_string_pretty(&schema) {
                Ok(text) => print_out(&format!("{text}\n")),
                Err(e) => fail::<I>(ErrorKind::Fatal, &e.to_string()),
            }
        }
        Command::Check {
            config,
            #[cfg(feature = "lake")]
            lake,
        } => {
            let input = match config_file::load::<I>(&config) {
                Ok(input) => input,
                Err(e) => return report::<I>(&HostError::Config(e)),
            };
            #[allow(unused_mut)]
            let mut probed = String::new();
            #[cfg(feature = "lake")]
            if let Some(path) = &lake {
                let Some(commands) = &lake_commands else {
                    return no_lake::<I>();
                };
                match crate::front::lake_cli::check(commands, &input, path).await {
                    Ok(lines) => {
                        for line in lines {
                            probed.push_str(&format!("lake: {line}\n"));
                        }
                    }
                    Err(e) => return report::<I>(&e),
                }
            }
            match host::check(&input).await {
                Ok(message) => print_out(&format!(
                    "check succeeded: {}\n{probed}",
                    crate::runtime::redact::printable(&crate::runtime::redact::text(&message))
                )),
                Err(e) => report::<I>(&e),
            }
        }
        Command::Read {
            config,
            state,
            follow,
            poll_interval,
            metrics_addr,
            output,
            output_group_readable,
            accept_settings_change,
            #[cfg(feature = "lake")]
            lake,
        } => {
            let input = match config_file::load::<I>(&config) {
                Ok(input) => Arc::new(input),
                Err(e) => return report::<I>(&HostError::Config(e)),
            };
            if let Some(code) = missing_directory::<I>("--state", &state) {
                return code;
            }
            #[cfg(feature = "lake")]
            if let Some(path) = &lake {
                let Some(commands) = &lake_commands else {
                    return no_lake::<I>();
                };
                let (lake, setup) =
                    match crate::front::lake_cli::load_setup(commands, &*input, path) {
                        Ok(loaded) => loaded,
                        Err(e) => return report::<I>(&e),
                    };
                let read = ReadRun {
                    version,
                    metrics_addr,
                    follow,
                    poll_interval,
                    accept_settings_change,
                };
                return read
                    .run::<I, _>(Arc::clone(&input), |options, shutdown| {
                        crate::runtime::lake::lake_read::read(
                            input,
                            &state,
                            &lake,
                            setup,
                            &commands.parts,
                            options,
                            shutdown,
                        )
                    })
                    .await;
            }
            if let Some(path) = &output {
                if let Some(code) = missing_directory::<I>("--output", path) {
                    return code;
                }
                let state_lock = output_file::state_lock_path(&state);
                let others = [
                    ("state file", state.as_path()),
                    ("state file's lock", state_lock.as_path()),
                    ("config", config.as_path()),
                ];
                if let Err(e) = output_file::refuse_shared_paths(path, &others) {
                    return fail::<I>(e.kind(), &e.to_string());
                }
            }
            // The state's lock first: a second reader of this state is refused before the
            // output is opened (let alone its last line cut).
            let (store, initial) = match host::open_state::<I>(&state) {
                Ok(opened) => opened,
                Err(e) => return report::<I>(&HostError::State(e)),
            };
            let sink: Box<dyn RecordSink> = match &output {
                None => Box::new(StdoutSink::new()),
                Some(path) => {
                    let options = OutputOptions {
                        group_readable: output_group_readable,
                    };
                    match FileSink::open_with(path, options) {
                        Ok(sink) => {
                            launch::reopen_on_hangup(sink.reopen_flag());
                            Box::new(sink)
                        }
                        Err(e) => return fail::<I>(e.kind(), &e.to_string()),
                    }
                }
            };
            let read = ReadRun {
                version,
                metrics_addr,
                follow,
                poll_interval,
                accept_settings_change,
            };
            read.run::<I, _>(Arc::clone(&input), |options, shutdown| {
                host::read(input, store, initial, sink, options, shutdown)
            })
            .await
        }
        Command::Status {
            state,
            json,
            #[cfg(feature = "lake")]
            lake,
        } => match status::status::<I>(&state) {
            #[allow(unused_mut)]
            Ok(mut report) => {
                #[cfg(feature = "lake")]
                if let Some(path) = &lake {
                    if lake_commands.is_none() {
                        return no_lake::<I>();
                    }
                    match crate::front::lake_cli::spool_status(path, report.destination.as_ref()) {
                        Ok(spool) => report.spool = Some(spool),
                        Err(e) => return self::report::<I>(&e),
                    }
                }
                if json {
                    print_out(&format!(
                        "{}\n",
                        crate::runtime::redact::text(&report.to_json().to_string())
                    ))
                } else {
                    print_out(&crate::runtime::redact::text(&report.to_text()))
                }
            }
            Err(e) => report::<I>(&HostError::State(e)),
        },
        #[cfg(feature = "lake")]
        Command::LakeSetup { config, lake } => {
            let Some(commands) = &lake_commands else {
                return no_lake::<I>();
            };
            let input = match config_file::load::<I>(&config) {
                Ok(input) => input,
                Err(e) => return report::<I>(&HostError::Config(e)),
            };
            match crate::front::lake_cli::setup_text(commands, &input, &lake) {
                Ok(text) => print_out(&text),
                Err(e) => report::<I>(&e),
            }
        }
    }
}

/// What a `read` of either destination is run with, from its flags.
struct ReadRun {
    version: &'static str,
    metrics_addr: Option<String>,
    follow: bool,
    poll_interval: f64,
    accept_settings_change: bool,
}

impl ReadRun {
    /// Serves the metrics if asked, runs `read` with the read options and the signals'
    /// shutdown, stops the metrics server, and turns the outcome into the exit code.
    async fn run<I: Input, F>(
        self,
        input: Arc<I>,
        read: impl FnOnce(ReadOptions, tokio_util::sync::CancellationToken) -> F,
    ) -> ExitCode
    where
        F: std::future::Future<Output = Result<crate::runtime::host::ReadSummary, HostError>>,
    {
        let (metrics, server) = match self.metrics_addr {
            Some(addr) => match serve_metrics(&*input, self.version, &addr).await {
                Ok((metrics, server)) => (Some(metrics), Some(server)),
                Err(code) => return code,
            },
            None => (None, None),
        };
        let options = ReadOptions {
            follow: self.follow,
            poll_interval: Duration::from_secs_f64(self.poll_interval),
            metrics,
            accept_settings_change: self.accept_settings_change,
        };
        let result = read(options, launch::shutdown_on_signals()).await;
        if let Some(server) = server {
            server.shutdown().await;
        }
        match result {
            Ok(summary) => {
                launch::log_read_summary(&summary);
                ExitCode::SUCCESS
            }
            Err(e) => report::<I>(&e),
        }
    }
}

/// Starts the metrics endpoint on `addr`; a refused address is a usage error (exit 2), reported
/// before anything is read.
async fn serve_metrics<I: Input>(
    input: &I,
    version: &'static str,
    addr: &str,
) -> Result<(Metrics, MetricsServer), ExitCode> {
    if let Some(port) = addr.strip_prefix(':') {
        return Err(fail::<I>(
            ErrorKind::Config,
            &format!(
                "--metrics-addr {addr}: give a host as well as the port: 127.0.0.1:{port} (this machine only) or 0.0.0.0:{port} (every interface)"
            ),
        ));
    }
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

/// A usage error (exit 2) when the directory `path` should be in does not exist: a mistyped
/// path, or a state directory not created yet. Nothing can be saved there.
fn missing_directory<I: Input>(flag: &str, path: &std::path::Path) -> Option<ExitCode> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    if dir.is_dir() {
        return None;
    }
    Some(fail::<I>(
        ErrorKind::Config,
        &format!(
            "{flag} {}: the directory {} does not exist; create it (mkdir -p {}) or fix the path",
            path.display(),
            dir.display(),
            dir.display()
        ),
    ))
}

/// A command line clap refused (or `--help`, `--version`). With JSON logs asked for (the flag
/// or `LOG_FORMAT`), the refusal is one JSON line like every other log line; help and version
/// go to stdout as clap prints them.
fn usage_error<I: Input>(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind as Kind;
    if matches!(
        error.kind(),
        Kind::DisplayHelp | Kind::DisplayVersion | Kind::DisplayHelpOnMissingArgumentOrSubcommand
    ) || !json_logs_requested()
    {
        // As `error.print()` would, but redacted: the refused argument may be a token.
        let rendered = error.render();
        let to_stderr = error.use_stderr();
        let styled = if to_stderr {
            std::io::IsTerminal::is_terminal(&std::io::stderr())
        } else {
            std::io::IsTerminal::is_terminal(&std::io::stdout())
        };
        let text = if styled {
            rendered.ansi().to_string()
        } else {
            rendered.to_string()
        };
        let text = crate::runtime::redact::text(&text);
        let _ = if to_stderr {
            std::io::stderr().lock().write_all(text.as_bytes())
        } else {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        };
        return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
    }
    logging::init(LogFormat::Json);
    let text = error.render().to_string();
    let message = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    fail::<I>(ErrorKind::Config, message.trim_start_matches("error: "))
}

/// The panic hook's report ([`launch::protect`]): the redacted message as the run's last log
/// line, JSON when the logs are.
fn report_panic<I: Input>(message: &str) {
    if logging::is_json() {
        tracing::error!(message = %message, kind = "panic");
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "{}: error: {}",
            I::NAME,
            crate::runtime::redact::printable(message)
        );
    }
}

/// Whether the command line or the environment asks for JSON logs (read before clap could
/// parse the command line).
fn json_logs_requested() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let flag = args
        .windows(2)
        .any(|w| w[0] == "--log-format" && w[1] == "json")
        || args.iter().any(|a| a == "--log-format=json");
    flag || std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json")
}

/// Writes a command's answer to stdout. A reader that went away (`spec | head`) is not a panic:
/// the command ends quietly with exit `1` (output closed), as documented.
fn print_out(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(1),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "cannot write to stdout: {e}");
            ExitCode::from(1)
        }
    }
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
        ErrorKind::Certificate => "certificate error",
    };
    let code = kind.exit_code();
    let message = crate::runtime::redact::text(message);
    if logging::is_json() {
        // Every line of a JSON log is JSON, the last one too.
        tracing::error!(message = %message, kind = label, exit_code = code);
    } else {
        // Not `eprintln!`: a closed stderr must not turn an error into a panic. Control
        // characters (from a state file, an upstream's error code) are escaped.
        let _ = writeln!(
            std::io::stderr(),
            "{}: {label}: {}",
            I::NAME,
            crate::runtime::redact::printable(&message)
        );
    }
    ExitCode::from(code)
}
