//! `cargo xtask lake`: the lake destination against real components on loopback: moto's S3, STS
//! and IAM server, and (for the read-back checks) pyarrow and DuckDB, all from a venv under the
//! target directory ([`venv`]). Steps:
//!
//! - `s3` ([`s3_check`]): the SDK's S3 writer: put, overwrite, probe, AssumeRole with an external
//!   ID, and refusals classified `Auth` / `Config`.

pub mod moto;
pub mod s3_check;
pub mod venv;

/// Arguments of `cargo xtask lake`.
#[derive(Debug, clap::Args)]
pub struct LakeArgs {
    /// One step only (default: all).
    #[command(subcommand)]
    pub step: Option<LakeStep>,
}

/// A step of `cargo xtask lake`.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum LakeStep {
    /// The S3 writer against moto (put, overwrite, probe, AssumeRole, refusals).
    S3,
}

/// Runs the task.
pub fn run(args: &LakeArgs) -> anyhow::Result<()> {
    match args.step {
        Some(LakeStep::S3) | None => s3_check::run(),
    }
}
