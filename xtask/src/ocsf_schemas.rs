//! `cargo xtask ocsf-schemas`: the JSON Schemas of the OCSF 1.8.0 classes the Slack mapping
//! uses, generated into `schemas/ocsf/1.8.0/` (with `--check`: fail if they are stale).
//!
//! Why Python: the official compiled OCSF schema, and a generator of self-contained JSON
//! Schemas from it, ship in the PyPI package `ocsf-json-schema` (pinned in [`PACKAGE`]). This
//! task makes a venv under the target directory, installs the package there with pip, and runs
//! `xtask/ocsf/generate_schemas.py` for the classes the mapping table names (read from
//! `slack_audit::ocsf::Table`, so a new class in the table needs a new run), with the OCSF
//! profiles the events use (`slack_audit::ocsf::OCSF_PROFILES`: `cloud`, `host`). The generated
//! files are committed, so `cargo test` validates events against them with Rust alone; this
//! check runs in `.ci/run`, not in `cargo test`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};

/// The generator, pinned.
pub const PACKAGE: &str = "ocsf-json-schema==1.2.0";
/// The OCSF version the events follow.
pub const OCSF_VERSION: &str = slack_audit::ocsf::OCSF_VERSION;

/// Arguments of `cargo xtask ocsf-schemas`.
#[derive(Debug, clap::Args)]
pub struct OcsfSchemasArgs {
    /// Do not write; fail if the committed schemas differ from freshly generated ones.
    #[arg(long)]
    pub check: bool,
}

/// `schemas/ocsf/<version>/`.
pub fn schema_dir() -> PathBuf {
    crate::workspace_root()
        .join("schemas")
        .join("ocsf")
        .join(OCSF_VERSION)
}

/// The schema names of the classes the mapping uses.
pub fn class_names() -> Vec<&'static str> {
    slack_audit::ocsf::Table::bundled()
        .classes()
        .iter()
        .map(|class| class.name)
        .collect()
}

/// The profiles the events use, as the generator takes them (`-` for none).
pub fn profiles() -> String {
    match slack_audit::ocsf::OCSF_PROFILES {
        [] => "-".to_owned(),
        profiles => profiles.join(","),
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("target"))
}

/// A venv with [`PACKAGE`] installed; returns its Python.
fn venv() -> anyhow::Result<PathBuf> {
    let dir = target_dir().join("ocsf-venv");
    let python = dir.join("bin").join("python");
    if !python.exists() {
        eprintln!("ocsf-schemas: creating a venv in {}…", dir.display());
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .context("cannot run python3 (the generator needs Python 3.10 or later with venv)")?;
        ensure!(status.success(), "python3 -m venv failed ({status})");
    }
    let marker = dir.join("installed.txt");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(PACKAGE) {
        eprintln!("ocsf-schemas: pip install {PACKAGE}…");
        let status = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                PACKAGE,
            ])
            .status()
            .context("cannot run pip")?;
        ensure!(status.success(), "pip install {PACKAGE} failed ({status})");
        std::fs::write(&marker, PACKAGE)?;
    }
    Ok(python)
}

/// Generates the schemas into `out`.
fn generate(out: &Path) -> anyhow::Result<()> {
    let python = venv()?;
    let script = crate::workspace_root()
        .join("xtask")
        .join("ocsf")
        .join("generate_schemas.py");
    let status = Command::new(python)
        .arg(script)
        .arg(out)
        .arg(OCSF_VERSION)
        .arg(profiles())
        .args(class_names())
        .status()
        .context("cannot run the generator")?;
    ensure!(status.success(), "the generator failed ({status})");
    Ok(())
}

fn files(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    if dir.exists() {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Runs the task.
pub fn run(args: &OcsfSchemasArgs) -> anyhow::Result<()> {
    let committed = schema_dir();
    let fresh = tempfile::tempdir()?;
    generate(fresh.path())?;
    let generated = files(fresh.path())?;
    if args.check {
        let mut stale = Vec::new();
        for name in &generated {
            let want = std::fs::read(fresh.path().join(name))?;
            if std::fs::read(committed.join(name)).ok() != Some(want) {
                stale.push(name.clone());
            }
        }
        for name in files(&committed)? {
            if !generated.contains(&name) {
                stale.push(format!("{name} (no longer generated)"));
            }
        }
        if !stale.is_empty() {
            bail!(
                "stale OCSF schemas in {}: {}; run `cargo xtask ocsf-schemas` and commit the result",
                committed.display(),
                stale.join(", ")
            );
        }
        println!("OCSF schemas are up to date ({} files)", generated.len());
        return Ok(());
    }
    std::fs::create_dir_all(&committed)?;
    for name in files(&committed)? {
        if !generated.contains(&name) {
            std::fs::remove_file(committed.join(&name))?;
            println!("removed {name}");
        }
    }
    for name in &generated {
        std::fs::copy(fresh.path().join(name), committed.join(name))?;
        println!("wrote {}", committed.join(name).display());
    }
    Ok(())
}
