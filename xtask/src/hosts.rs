//! `cargo xtask hosts`: the connector loaded by a real pipeline host.
//!
//! Builds `source-slack-audit` (the Airbyte front end) and runs `hosts/pyairbyte/run.sh`, which
//! installs the pinned PyAirbyte into a venv under the target directory (once; reused while the
//! pins are unchanged) and runs the Python tests in `hosts/pyairbyte/tests/`. They load the
//! binary as a local executable and point it at the loopback mock of Slack, started through
//! `cargo xtask mock-serve` (this executable). Nothing leaves the machine but the one-time
//! `pip install` from PyPI.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// Arguments of `cargo xtask hosts`.
#[derive(Debug, Clone, clap::Args)]
pub struct HostsArgs {
    /// The Python interpreter the venv is made with (default: python3.11, else python3).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Extra arguments for pytest (e.g. `-- -k synthetic -x`).
    #[arg(last = true)]
    pub pytest_args: Vec<String>,
}

/// Runs the task.
pub fn run(args: &HostsArgs) -> anyhow::Result<()> {
    let source = crate::build_binary("slack-audit", "source-slack-audit", false)?;
    let xtask = std::env::current_exe().context("cannot find this executable")?;
    let script = crate::workspace_root().join("hosts/pyairbyte/run.sh");
    let mut command = Command::new("bash");
    command
        .arg(&script)
        .args(&args.pytest_args)
        .current_dir(crate::workspace_root())
        .env("SOURCE_SLACK_AUDIT", &source)
        .env("XTASK_BIN", &xtask);
    if let Some(python) = &args.python {
        command.env("PYTHON", python);
    }
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", script.display()))?;
    if !status.success() {
        bail!("the PyAirbyte host tests failed ({status})");
    }
    Ok(())
}
