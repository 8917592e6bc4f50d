//! Runs of the connector for `cargo xtask lake scenarios`: `slack-audit read` with a config, a state file
//! and (for the lake) a `--lake` document, as a user would run it, with AWS credentials only in
//! its environment (static test keys moto accepts) and a `HOME` of its own, so nothing of the
//! machine's AWS setup is read.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use tokio::process::Command;

/// The secret access key the connector is given: checked absent from everything it prints.
pub const SECRET_KEY: &str = "lake-e2e-secret-9f3b1c7d2e8a4f60";
/// The access key id.
pub const ACCESS_KEY: &str = "AKIALAKEE2ETEST0001";

/// What one run did.
#[derive(Debug)]
pub struct Run {
    /// The exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Its stdout.
    pub stdout: Vec<u8>,
    /// Its stderr (the log).
    pub stderr: String,
}

/// The connector binary and the folder its runs keep their files in.
pub struct Connector {
    binary: PathBuf,
    home: PathBuf,
}

impl Connector {
    /// `binary`, with its runs' `HOME` at `home` (created).
    pub fn new(binary: &Path, home: &Path) -> anyhow::Result<Connector> {
        std::fs::create_dir_all(home)?;
        Ok(Connector {
            binary: binary.to_path_buf(),
            home: home.to_path_buf(),
        })
    }

    fn command(&self, config: &Path, state: &Path, lake: Option<&Path>) -> Command {
        let mut command = Command::new(&self.binary);
        command.args(["read", "--config"]).arg(config);
        command.arg("--state").arg(state);
        if let Some(lake) = lake {
            command.arg("--lake").arg(lake);
        }
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("AWS_") || name.ends_with("_PROXY") || name.ends_with("_proxy") {
                command.env_remove(&*name);
            }
        }
        command
            .env("HOME", &self.home)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info")
            .env_remove("LOG_FORMAT")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs `read` to its end (at most `timeout`).
    pub async fn read(
        &self,
        config: &Path,
        state: &Path,
        lake: Option<&Path>,
        timeout: Duration,
    ) -> anyhow::Result<Run> {
        let output = tokio::time::timeout(timeout, self.command(config, state, lake).output())
            .await
            .with_context(|| format!("slack-audit read did not end within {timeout:?}"))?
            .context("cannot run slack-audit")?;
        checked(Run {
            code: output.status.code(),
            signal: output.status.signal(),
            stdout: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Starts `read --lake` and sends it SIGKILL after `delay`, unless it ended before.
    pub async fn read_killed_after(
        &self,
        config: &Path,
        state: &Path,
        lake: &Path,
        delay: Duration,
        timeout: Duration,
    ) -> anyhow::Result<Run> {
        let mut child = self
            .command(config, state, Some(lake))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run slack-audit")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let out = tokio::spawn(read_all(stdout));
        let err = tokio::spawn(read_all(stderr));
        let status = match tokio::time::timeout(delay, child.wait()).await {
            Ok(status) => status?,
            Err(_) => {
                child.start_kill().context("cannot send SIGKILL")?;
                tokio::time::timeout(timeout, child.wait())
                    .await
                    .context("slack-audit did not die after SIGKILL")??
            }
        };
        checked(Run {
            code: status.code(),
            signal: status.signal(),
            stdout: out.await??,
            stderr: String::from_utf8_lossy(&err.await??).into_owned(),
        })
    }
}

async fn read_all(mut from: impl tokio::io::AsyncRead + Unpin) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    from.read_to_end(&mut buf).await?;
    Ok(buf)
}

/// The run, once it is known that the secret key appears nowhere in what it printed.
fn checked(run: Run) -> anyhow::Result<Run> {
    ensure!(
        !run.stderr.contains(SECRET_KEY)
            && !String::from_utf8_lossy(&run.stdout).contains(SECRET_KEY),
        "the AWS secret access key appears in the connector's output or log:\n{}",
        run.stderr
    );
    Ok(run)
}

/// Writes the config document `{"settings": settings, "secrets": secrets}` to `path`.
pub fn write_config(path: &Path, settings: &Value, secrets: &Value) -> anyhow::Result<()> {
    std::fs::write(
        path,
        serde_json::to_vec_pretty(&json!({"settings": settings, "secrets": secrets}))?,
    )
    .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a `--lake` document for `target`, reached at `endpoint`, spooling in `spool` with
/// segments of `segment_max_bytes`, to `path`.
pub fn write_lake(
    path: &Path,
    target: &Value,
    endpoint: &str,
    spool: &Path,
    segment_max_bytes: u64,
) -> anyhow::Result<()> {
    let doc = json!({
        "target": target,
        "aws": {"region": super::moto::REGION, "endpoint": endpoint},
        "spool": {"dir": spool, "segment_max_bytes": segment_max_bytes},
    });
    std::fs::write(path, serde_json::to_vec_pretty(&doc)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// A run that must have exited 0.
pub fn expect_ok(what: &str, run: &Run) -> anyhow::Result<()> {
    ensure!(
        run.code == Some(0),
        "{what}: slack-audit read ended with {:?} (signal {:?}); its log:\n{}",
        run.code,
        run.signal,
        tail(&run.stderr)
    );
    Ok(())
}

/// The last lines of a log.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
