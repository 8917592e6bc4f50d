//! `cargo xtask lake`: the lake destination against real components on loopback: moto's S3, STS
//! and IAM server, and (for the read-back checks) boto3, pyarrow, DuckDB and jsonschema, all from
//! a venv under the target directory ([`venv`]). Steps (all of them without a step):
//!
//! - `s3` ([`s3_check`]): the SDK's S3 writer: put, overwrite, probe, AssumeRole with an external
//!   ID, and refusals classified `Auth` / `Config`.
//! - `scenarios` ([`scenarios`]): `slack-audit read --lake` end to end: a synthetic backfill and
//!   the fixtures' entries into Security Lake's layout, plain S3 (NDJSON.gz of both record
//!   formats, Parquet), SIGKILLs at random instants, and S3 faults from a proxy
//!   ([`fault_proxy`]); each bucket read back and judged ([`read_back`]) against the NDJSON run
//!   of the same settings ([`connector_runs`]).

pub mod connector_runs;
pub mod fault_proxy;
pub mod moto;
pub mod read_back;
pub mod s3_check;
pub mod scenarios;
pub mod venv;

/// Arguments of `cargo xtask lake`.
#[derive(Debug, clap::Args)]
pub struct LakeArgs {
    /// One step only (default: all).
    #[command(subcommand)]
    pub step: Option<LakeStep>,
    /// The scenarios' settings.
    #[command(flatten)]
    pub scenarios: scenarios::ScenarioArgs,
}

/// A step of `cargo xtask lake`.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum LakeStep {
    /// The S3 writer against moto (put, overwrite, probe, AssumeRole, refusals).
    S3,
    /// `read --lake` end to end against moto, with kills and S3 faults.
    Scenarios,
}

/// Runs the task.
pub fn run(args: &LakeArgs) -> anyhow::Result<()> {
    match args.step {
        Some(LakeStep::S3) => s3_check::run(),
        Some(LakeStep::Scenarios) => scenarios::run(&args.scenarios),
        None => {
            s3_check::run()?;
            scenarios::run(&args.scenarios)
        }
    }
}
