//! The fault-injecting proxy of `cargo xtask lake scenarios` (`xtask/lake/fault_proxy.py`, run
//! with the lake venv's Python): between the connector (`aws.endpoint`) and moto, it answers
//! object writes with 500, 503 SlowDown, 403, a stall or a dropped connection as its control
//! file says, forwards everything else, and logs each write with the fault it got.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::ChildGuard;

/// The fault-injecting proxy in front of moto, steered by its control file.
pub struct FaultProxy {
    _child: ChildGuard,
    port: u16,
    control: PathBuf,
    log: PathBuf,
}

impl FaultProxy {
    /// Starts `fault_proxy.py` in front of moto on `upstream_port`; its log of writes goes to
    /// `log`.
    pub async fn start(
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
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Replaces the control document (read again at each write).
    pub fn steer(&self, control: &serde_json::Value) -> anyhow::Result<()> {
        std::fs::write(&self.control, serde_json::to_vec(control)?)
            .with_context(|| format!("cannot write {}", self.control.display()))
    }

    /// The faults injected so far, one word per write, in order.
    pub fn faults(&self) -> anyhow::Result<Vec<String>> {
        let text = std::fs::read_to_string(&self.log)
            .with_context(|| format!("cannot read {}", self.log.display()))?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["fault"].as_str().map(str::to_owned))
            .collect())
    }
}
