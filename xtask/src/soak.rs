//! `cargo xtask soak [--minutes M] [--seed S]`: the long soak of the release binary.
//!
//! # Why
//!
//! The test suite runs a one-minute soak of the debug binary (`crates/slack-audit/tests/soak.rs`);
//! that proves the mechanisms hold under faults and kills, but a minute holds only a handful of
//! kills. This task builds the **release** binary and runs the same soak for as long as asked
//! (30 minutes is the documented proof), printing the ledger: events, faults by kind, kills,
//! lost (must be 0), duplicates (only the batch in flight at a kill) and the worst delivery
//! delay. It exits non-zero when any check failed and then keeps the work directory (config,
//! state file, the connector's log) for the post-mortem. The soak itself lives in
//! [`test_support::soak`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use test_support::soak::{SoakOptions, SoakProgress};

/// Arguments of `cargo xtask soak`.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// Minutes of producing events, injecting faults and killing the connector (the catch-up
    /// and the final SIGTERM come after).
    #[arg(long, default_value_t = 10.0)]
    pub minutes: f64,
    /// Seed of the events, faults and kill schedule.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Average events per second (plus bursts of ties and late arrivals).
    #[arg(long, default_value_t = 5.0)]
    pub events_per_second: f64,
    /// Probability that a request gets a random fault.
    #[arg(long, default_value_t = 0.1)]
    pub fault_probability: f64,
    /// Soak this binary instead of building the release one.
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Keep the work directory (config, state, connector log) even when the soak passes.
    #[arg(long)]
    pub keep: bool,
}

/// Runs the task.
pub fn run(args: &SoakArgs) -> anyhow::Result<()> {
    if !(args.minutes.is_finite() && args.minutes > 0.0) {
        bail!("--minutes must be a positive number");
    }
    let binary = match &args.binary {
        Some(path) => path.clone(),
        None => crate::build_binary("slack-audit", "slack-audit", true)?,
    };
    let options = SoakOptions {
        duration: Duration::from_secs_f64(args.minutes * 60.0),
        seed: args.seed,
        events_per_second: args.events_per_second,
        fault_probability: args.fault_probability,
        keep_work_dir: args.keep,
        progress_every: Duration::from_secs(30),
        ..SoakOptions::default()
    };
    eprintln!(
        "soak: {} for {:.1} min, seed {}",
        binary.display(),
        args.minutes,
        args.seed
    );
    let report = test_support::soak::run_with_progress(&binary, options, print_progress)
        .context("the soak could not run")?;
    println!("{report}");
    if !report.passed() {
        bail!(
            "soak failed: {} check(s) did not hold; evidence kept in {}",
            report.violations.len(),
            report.work_dir.display()
        );
    }
    if args.keep {
        eprintln!("soak: work directory kept: {}", report.work_dir.display());
    }
    Ok(())
}

fn print_progress(p: &SoakProgress) {
    eprintln!(
        "soak: {:>6.0} s  {} events pushed, {} delivered, {} kills, {} faults in {} requests",
        p.elapsed.as_secs_f64(),
        p.events,
        p.delivered,
        p.kills,
        p.faults,
        p.requests
    );
}
