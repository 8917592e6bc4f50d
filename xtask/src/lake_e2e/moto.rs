//! The S3 server of `cargo xtask lake`: moto's server mode from the venv `xtask/lake/install.sh`
//! makes, on a free port of 127.0.0.1, and the fault-injecting proxy (`xtask/lake/fault_proxy.py`)
//! that sits between the connector and it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::ChildGuard;

/// Installs (or reuses) the venv and returns its `python`.
pub(super) fn install(no_install: bool) -> anyhow::Result<PathBuf> {
    if no_install {
        return Ok(PathBuf::from("python3"));
    }
    let script = crate::workspace_root().join("xtask/lake/install.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", script.display()))?;
    ensure!(
        output.status.success(),
        "{} failed ({})",
        script.display(),
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(PathBuf::from(
        stdout
            .lines()
            .last()
            .context("install.sh printed no python path")?,
    ))
}

/// A running `moto_server` on 127.0.0.1.
pub(super) struct Moto {
    _child: ChildGuard,
    port: u16,
}

impl Moto {
    /// Starts moto on a free loopback port and waits until it answers.
    pub(super) async fn start(python: &Path, log: &Path) -> anyhow::Result<Moto> {
        let port = free_port()?;
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start moto's server (python -m moto.server)")?;
        let moto = Moto {
            _child: ChildGuard(child),
            port,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = client.get(moto.endpoint()).send().await
                && response.status().is_success()
            {
                return Ok(moto);
            }
            if Instant::now() > deadline {
                bail!(
                    "moto did not answer on {} within 60 s (its log: {})",
                    moto.endpoint(),
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub(super) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub(super) fn port(&self) -> u16 {
        self.port
    }

    /// Creates bucket `name` (moto takes an unsigned `PUT /name` in us-east-1).
    pub(super) async fn create_bucket(&self, name: &str) -> anyhow::Result<()> {
        let response = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint()))
            .send()
            .await
            .with_context(|| format!("cannot create bucket {name}"))?;
        ensure!(
            response.status().is_success(),
            "creating bucket {name}: moto answered {}",
            response.status()
        );
        Ok(())
    }
}

/// The fault-injecting proxy in front of moto, steered by its control file.
pub(super) struct FaultProxy {
    _child: ChildGuard,
    port: u16,
    control: PathBuf,
    log: PathBuf,
}

impl FaultProxy {
    /// Starts `fault_proxy.py` in front of moto on `upstream_port`; its log of writes goes to
    /// `log`.
    pub(super) async fn start(
        python: &Path,
        upstream_port: u16,
        control: &Path,
        log: &Path,
    ) -> anyhow::Result<FaultProxy> {
        std::fs::write(control, "{}")?;
        let script = crate::workspace_root().join("xtask/lake/fault_proxy.py");
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut child = Command::new(python)
            .arg(&script)
            .arg(upstream_port.to_string())
            .arg(control)
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", script.display()))?;
        let stdout = child.stdout.take().context("the proxy has no stdout")?;
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .context("the fault proxy did not start within 30 s")??;
        let port = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .and_then(|p| u16::try_from(p).ok())
            .with_context(|| format!("the fault proxy printed {line:?}, not its port"))?;
        Ok(FaultProxy {
            _child: ChildGuard(child),
            port,
            control: control.to_path_buf(),
            log: log.to_path_buf(),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub(super) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Replaces the control document (read again at each write).
    pub(super) fn steer(&self, control: &serde_json::Value) -> anyhow::Result<()> {
        std::fs::write(&self.control, serde_json::to_vec(control)?)
            .with_context(|| format!("cannot write {}", self.control.display()))
    }

    /// The faults injected so far, one word per write, in order.
    pub(super) fn faults(&self) -> anyhow::Result<Vec<String>> {
        let text = std::fs::read_to_string(&self.log)
            .with_context(|| format!("cannot read {}", self.log.display()))?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["fault"].as_str().map(str::to_owned))
            .collect())
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("no free port")?;
    Ok(listener.local_addr()?.port())
}
