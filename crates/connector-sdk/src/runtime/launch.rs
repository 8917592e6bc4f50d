//! Runtime layer: what both front ends do around a run, written once: the protection of the
//! secret that comes before anything else ([`protect`]), the async runtime, the
//! signals (the first SIGINT/SIGTERM stops gracefully, a second exits at once, SIGHUP reopens
//! the output file), and the summary a `read` logs when it ends.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::contract::input::Secrets;
use crate::runtime::host::ReadSummary;
use crate::runtime::{core_dumps, redact};

/// The first thing a front end does, before it parses its command line: installs `K`'s
/// redaction (so even a usage error quoting a stray argument is scrubbed), a panic hook that
/// reports the redacted panic message through `report_panic` (the front end's framing), and
/// turns core dumps off ([`core_dumps::disable`]). Returns what could not be turned off, for
/// [`core_dumps::warn_about`] once logging is up.
pub fn protect<K: Secrets>(report_panic: fn(&str)) -> Vec<String> {
    redact::install::<K>();
    redact::install_panic_hook(report_panic);
    core_dumps::disable()
}

/// The async runtime a front end runs a command on (two worker threads), or the message of the
/// fatal error to report when it cannot start.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Logs what a `read` did, as its last line (`Stopped on signal.` or `Read finished.`, with the
/// records delivered and checkpoints committed).
pub fn log_read_summary(summary: &ReadSummary) {
    tracing::info!(
        message = if summary.interrupted {
            "Stopped on signal."
        } else {
            "Read finished."
        },
        records = summary.records,
        checkpoints = summary.commits,
    );
}

/// Asks the file sink to reopen its file after each SIGHUP (log rotation): sets `flag`, which
/// the sink looks at between two batches.
pub fn reopen_on_hangup(flag: Arc<std::sync::atomic::AtomicBool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(mut hangups) => {
                tokio::spawn(async move {
                    while hangups.recv().await.is_some() {
                        tracing::info!(
                            "SIGHUP: the output file is reopened before the next batch."
                        );
                        flag.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
            Err(e) => tracing::warn!(
                message = "Cannot handle SIGHUP: the output file will not be reopened on rotation.",
                error = %e
            ),
        }
    }
    #[cfg(not(unix))]
    let _ = flag;
}

/// A token cancelled by the first SIGINT or SIGTERM (the read stops after the batch in hand is
/// written and checkpointed); a second signal exits at once with 130 (the state is consistent:
/// commits are atomic and never ahead of the output).
pub fn shutdown_on_signals() -> CancellationToken {
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
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
    token
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
