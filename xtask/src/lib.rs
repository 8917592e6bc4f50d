//! The developer tasks behind `cargo xtask`, as a library so the test suite runs them too.

#![forbid(unsafe_code)]

pub mod bench;
pub mod fuzz;
pub mod hosts;
pub mod image;
pub mod mock_serve;
pub mod mutants;
pub mod network;
pub mod ocsf_schemas;
pub mod prometheus;
pub mod record;
pub mod replay;
pub mod schema;
pub mod soak;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Removes from `command`'s environment the variables `cargo run` set for the xtask package.
///
/// `cargo xtask` runs under `cargo run`; build scripts that track those variables (ring's does)
/// would rebuild the whole TLS stack for nothing in a cargo started from here.
pub fn without_xtask_package_env(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&&*name)
        {
            command.env_remove(&*name);
        }
    }
}

/// Builds binary `bin` of package `package` (with `--release` if asked) and returns the path of
/// the executable cargo reports.
pub fn build_binary(package: &str, bin: &str, release: bool) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let profile = if release {
        "--release"
    } else {
        "--profile=dev"
    };
    eprintln!("xtask: building {bin} (cargo build {profile} -p {package} --bin {bin})…");
    let mut command = Command::new(&cargo);
    without_xtask_package_env(&mut command);
    let output = command
        .current_dir(workspace_root())
        // `-p xtask` beside the package: cargo unifies dependency features over the packages it
        // is asked to build, so this reuses the dependencies `cargo xtask` itself was built
        // with instead of compiling the whole stack again with another feature set.
        .args([
            "build",
            profile,
            "-p",
            package,
            "-p",
            "xtask",
            "--bin",
            bin,
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!(
            "cargo build {profile} -p {package} --bin {bin} failed ({})",
            output.status
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut executable = None;
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact"
            && msg["target"]["name"] == bin
            && let Some(path) = msg["executable"].as_str()
        {
            executable = Some(PathBuf::from(path));
        }
    }
    executable.with_context(|| format!("cargo build did not report the {bin} executable"))
}
