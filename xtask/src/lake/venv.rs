//! The lake checks' Python: a venv under the target directory (`target/lake-venv`) with moto's
//! S3/STS/IAM server, boto3, pyarrow, DuckDB and jsonschema from PyPI, pinned in [`PACKAGES`]; made once and
//! reused while the pins and the interpreter are unchanged (as the OCSF and PyAirbyte venvs are).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, ensure};

/// What the venv holds, pinned.
pub const PACKAGES: &[&str] = &[
    "moto[server]==5.2.6",
    "boto3==1.44.18",
    "pyarrow==26.0.1",
    "duckdb==2.0.1",
    // The scenarios validate every event against its OCSF 1.3.0 class schema.
    "jsonschema==4.26.0",
];

/// The venv's folder.
pub fn dir() -> PathBuf {
    crate::target_dir().join("lake-venv")
}

/// A program of the venv (`python`, `moto_server`).
pub fn bin(name: &str) -> PathBuf {
    dir().join("bin").join(name)
}

/// What the venv was made from: the pins and the interpreter's version.
fn wanted(python: &str) -> anyhow::Result<String> {
    let version = Command::new(python)
        .args(["-c", "import sys; print(sys.version)"])
        .output()
        .with_context(|| {
            format!("cannot run {python} (the lake checks need Python 3 with venv)")
        })?;
    ensure!(version.status.success(), "{python} does not run");
    Ok(format!(
        "{}\n{}",
        PACKAGES.join("\n"),
        String::from_utf8_lossy(&version.stdout).trim()
    ))
}

/// The venv, made or brought up to date; returns its Python.
pub fn ensure() -> anyhow::Result<PathBuf> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let wanted = wanted(&python)?;
    let dir = dir();
    let stamp = dir.join(".installed-from");
    if bin("python").exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        eprintln!("lake: reusing {}", dir.display());
        return Ok(bin("python"));
    }
    eprintln!(
        "lake: installing {} into {} (first time: a few minutes)…",
        PACKAGES.join(", "),
        dir.display()
    );
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    let status = Command::new(&python)
        .args(["-m", "venv"])
        .arg(&dir)
        .status()
        .with_context(|| format!("cannot run {python} -m venv"))?;
    ensure!(status.success(), "{python} -m venv failed ({status})");
    let status = Command::new(bin("python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PACKAGES)
        .status()
        .context("cannot run pip")?;
    ensure!(
        status.success(),
        "pip install {} failed ({status})",
        PACKAGES.join(" ")
    );
    // Written last: an interrupted install is never reused.
    std::fs::write(&stamp, &wanted)?;
    Ok(bin("python"))
}
