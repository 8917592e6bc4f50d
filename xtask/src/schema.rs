//! `cargo xtask schema`: the generated schemas in `schemas/`, written or checked.
//!
//! Generated files are committed (so the host and users can read them without building) and
//! checked for staleness by `cargo xtask schema --check` and by the test suite.

use std::path::PathBuf;

use anyhow::{Context, bail};
use slack_audit::SlackAuditInput;

/// Arguments of `cargo xtask schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Do not write; fail if a committed schema differs from the generated one.
    #[arg(long)]
    pub check: bool,
}

/// Every generated schema: file name under `schemas/`, and its content.
pub fn generated() -> anyhow::Result<Vec<(&'static str, String)>> {
    let render = |v: serde_json::Value| -> anyhow::Result<String> {
        Ok(serde_json::to_string_pretty(&v)? + "\n")
    };
    Ok(vec![
        (
            "slack-audit.config.schema.json",
            render(connector_sdk::config::config_schema::<SlackAuditInput>())?,
        ),
        (
            "slack-audit.record.schema.json",
            render(slack_audit::entry::record_schema())?,
        ),
    ])
}

/// The `schemas/` folder.
pub fn schema_dir() -> PathBuf {
    crate::workspace_root().join("schemas")
}

/// The names of the committed schemas that differ from the generated ones.
pub fn stale() -> anyhow::Result<Vec<&'static str>> {
    let mut stale = Vec::new();
    for (name, content) in generated()? {
        let committed = std::fs::read_to_string(schema_dir().join(name)).unwrap_or_default();
        if committed != content {
            stale.push(name);
        }
    }
    Ok(stale)
}

/// Runs the task.
pub fn run(args: &SchemaArgs) -> anyhow::Result<()> {
    if args.check {
        let stale = stale()?;
        if !stale.is_empty() {
            bail!(
                "stale generated schemas: {}; run `cargo xtask schema` and commit the result",
                stale.join(", ")
            );
        }
        println!("schemas are up to date");
        return Ok(());
    }
    std::fs::create_dir_all(schema_dir())?;
    for (name, content) in generated()? {
        let path = schema_dir().join(name);
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
