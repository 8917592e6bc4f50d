//! `cargo xtask ocsf-schemas`: the JSON Schemas of the OCSF classes the Slack mapping uses, for
//! each supported OCSF version, generated into `schemas/ocsf/<version>/` (with `--check`: fail
//! if they are stale).
//!
//! Why Python: the official compiled OCSF schemas (1.3.0 and 1.8.0 among them), and a
//! generator of self-contained JSON Schemas from them, ship in the PyPI package
//! `ocsf-json-schema` (pinned in [`PACKAGE`]). This task makes a venv under the target
//! directory, installs the package there with pip, and runs `xtask/ocsf/generate_schemas.py`
//! once per version for the classes the mapping table names, each with every set of OCSF
//! profiles its events may declare in `metadata.profiles` (read from
//! `slack_audit::ocsf::schema_sets`, so a new class in the table needs a new run): one schema
//! per class and profile set, admitting exactly those profiles' attributes, as OCSF's
//! validator does. The generated files are committed, so `cargo test` validates events against them with Rust alone; `cargo xtask
//! ocsf-schemas --check` runs in `.ci/run`, and `cargo test` checks and rewrites them too where
//! this task's venv is already installed (`xtask/tests/schemas.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};

use slack_audit::ocsf::OcsfVersion;

/// The generator, pinned.
pub const PACKAGE: &str = "ocsf-json-schema==1.2.0";

/// Arguments of `cargo xtask ocsf-schemas`.
#[derive(Debug, clap::Args)]
pub struct OcsfSchemasArgs {
    /// Do not write; fail if the committed schemas differ from freshly generated ones.
    #[arg(long)]
    pub check: bool,
}

/// `schemas/ocsf/<version>/`.
pub fn schema_dir(version: OcsfVersion) -> PathBuf {
    crate::workspace_root()
        .join("schemas")
        .join("ocsf")
        .join(version.as_str())
}

/// The generator's `CLASS=PROFILES` arguments for `version`: each class the mapping uses with
/// each profile set its events may declare (`-` for none).
pub fn class_specs(version: OcsfVersion) -> Vec<String> {
    slack_audit::ocsf::schema_sets(version)
        .into_iter()
        .map(|(class, profiles)| match profiles {
            [] => format!("{}=-", class.name),
            profiles => format!("{}={}", class.name, profiles.join(",")),
        })
        .collect()
}

fn venv_dir() -> PathBuf {
    crate::target_dir().join("ocsf-venv")
}

/// Whether the venv [`venv`] makes is there with [`PACKAGE`] installed.
fn venv_installed() -> bool {
    let dir = venv_dir();
    dir.join("bin").join("python").exists()
        && std::fs::read_to_string(dir.join("installed.txt"))
            .ok()
            .as_deref()
            == Some(PACKAGE)
}

/// A venv with [`PACKAGE`] installed; returns its Python.
fn venv() -> anyhow::Result<PathBuf> {
    let dir = venv_dir();
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

/// Generates the schemas of `version` into `out`.
fn generate(out: &Path, version: OcsfVersion) -> anyhow::Result<()> {
    let python = venv()?;
    let script = crate::workspace_root()
        .join("xtask")
        .join("ocsf")
        .join("generate_schemas.py");
    let status = Command::new(python)
        .arg(script)
        .arg(out)
        .arg(version.as_str())
        .args(class_specs(version))
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

/// The files of `committed` that differ from those generated into `fresh` (`generated` being
/// their names), and those no longer generated.
fn stale(fresh: &Path, generated: &[String], committed: &Path) -> anyhow::Result<Vec<String>> {
    let mut stale = Vec::new();
    for name in generated {
        let want = std::fs::read(fresh.join(name))?;
        if std::fs::read(committed.join(name)).ok() != Some(want) {
            stale.push(name.clone());
        }
    }
    for name in files(committed)? {
        if !generated.contains(&name) {
            stale.push(format!("{name} (no longer generated)"));
        }
    }
    Ok(stale)
}

/// Makes `committed` hold exactly the files generated into `fresh`, saying what it does when
/// `verbose`.
fn write(
    fresh: &Path,
    generated: &[String],
    committed: &Path,
    verbose: bool,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(committed)?;
    for name in files(committed)? {
        if !generated.contains(&name) {
            std::fs::remove_file(committed.join(&name))?;
            if verbose {
                println!("removed {name}");
            }
        }
    }
    for name in generated {
        std::fs::copy(fresh.join(name), committed.join(name))?;
        if verbose {
            println!("wrote {}", committed.join(name).display());
        }
    }
    Ok(())
}

/// For the test suite: when the venv is installed (`None` when not, since installing it needs
/// Python and PyPI), regenerates the schemas, rewrites the committed ones if they are stale, and
/// returns what was stale (empty when all were up to date).
pub fn update_stale_if_installed() -> anyhow::Result<Option<Vec<String>>> {
    if !venv_installed() {
        return Ok(None);
    }
    let mut all = Vec::new();
    for version in OcsfVersion::ALL {
        let committed = schema_dir(version);
        let fresh = tempfile::tempdir()?;
        generate(fresh.path(), version)?;
        let generated = files(fresh.path())?;
        let stale = stale(fresh.path(), &generated, &committed)?;
        if !stale.is_empty() {
            write(fresh.path(), &generated, &committed, false)?;
        }
        all.extend(stale.into_iter().map(|name| format!("{version}/{name}")));
    }
    Ok(Some(all))
}

/// Runs the task.
pub fn run(args: &OcsfSchemasArgs) -> anyhow::Result<()> {
    let mut stale_all = Vec::new();
    let mut count = 0;
    for version in OcsfVersion::ALL {
        let committed = schema_dir(version);
        let fresh = tempfile::tempdir()?;
        generate(fresh.path(), version)?;
        let generated = files(fresh.path())?;
        count += generated.len();
        if args.check {
            let stale = stale(fresh.path(), &generated, &committed)?;
            stale_all.extend(
                stale
                    .into_iter()
                    .map(|name| format!("{}", committed.join(name).display())),
            );
        } else {
            write(fresh.path(), &generated, &committed, true)?;
        }
    }
    if args.check {
        if !stale_all.is_empty() {
            bail!(
                "stale OCSF schemas: {}; run `cargo xtask ocsf-schemas` and commit the result",
                stale_all.join(", ")
            );
        }
        println!("OCSF schemas are up to date ({count} files)");
    }
    Ok(())
}
