//! The developer tasks behind `cargo xtask` (each listed in `main.rs`), as a library so the test
//! suite runs them too, and the plumbing they share: the workspace root and target directory,
//! the one way to build the connector, the async runtime and a kill-on-drop child.

#![forbid(unsafe_code)]

pub mod bench;
pub mod catalogue;
pub mod fuzz;
pub mod hosts;
pub mod image;
pub mod lake;
pub mod lake_schemas;
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

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace root) or `target`.
pub fn target_dir() -> PathBuf {
    let root = workspace_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Builds binary `bin` of package `package` (with the release profile if asked, else dev) and
/// returns the path of the executable cargo reports.
pub fn build_binary(package: &str, bin: &str, release: bool) -> anyhow::Result<PathBuf> {
    let profile = if release { "release" } else { "dev" };
    let mut built = build_binaries(package, &[bin], profile)?;
    built
        .pop()
        .with_context(|| format!("cargo build did not report the {bin} executable"))
}

/// Builds binaries `bins` of package `package` with cargo profile `profile` (`release`, `dev`,
/// …) and returns the executables cargo reports, in the order of `bins`. The one way xtask
/// builds the connector.
pub fn build_binaries(package: &str, bins: &[&str], profile: &str) -> anyhow::Result<Vec<PathBuf>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let bin_args: Vec<String> = bins.iter().map(|bin| format!("--bin={bin}")).collect();
    let shown = format!(
        "cargo build --locked --profile={profile} -p {package} {}",
        bin_args.join(" ")
    );
    eprintln!("xtask: building {} ({shown})…", bins.join(", "));
    let mut command = Command::new(&cargo);
    without_xtask_package_env(&mut command);
    let output = command
        .current_dir(workspace_root())
        // `-p xtask` beside the package: cargo unifies dependency features over the packages it
        // is asked to build, so this reuses the dependencies `cargo xtask` itself was built
        // with instead of compiling the whole stack again with another feature set.
        .args(["build", "--locked", &format!("--profile={profile}")])
        .args(["-p", package, "-p", "xtask"])
        .args(&bin_args)
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!("{shown} failed ({})", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut found: Vec<Option<PathBuf>> = vec![None; bins.len()];
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact"
            && let Some(name) = msg["target"]["name"].as_str()
            && let Some(i) = bins.iter().position(|bin| *bin == name)
            && let Some(path) = msg["executable"].as_str()
        {
            found[i] = Some(PathBuf::from(path));
        }
    }
    bins.iter()
        .zip(found)
        .map(|(bin, path)| {
            path.with_context(|| format!("cargo build did not report the {bin} executable"))
        })
        .collect()
}

/// The tasks' async runtime: `workers` worker threads named `name` (the one builder, shared
/// with the soak).
pub fn runtime(name: &str, workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    test_support::runtime(name, workers).with_context(|| format!("cannot start the {name} runtime"))
}

/// A child process killed when dropped (a failed check leaves nothing running).
pub struct ChildGuard(pub tokio::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}
