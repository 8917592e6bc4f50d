//! moto's server (`moto_server -H 127.0.0.1 -p PORT`, from the lake venv) as a child of xtask:
//! S3, STS and IAM on one loopback port, killed when dropped. With `enforce_after`, moto checks
//! signatures and IAM policies (identity policies, role trust policies with their
//! `sts:ExternalId` condition) from that request on (`INITIAL_NO_AUTH_ACTION_COUNT`).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::ChildGuard;

/// The region of every run against the server (and the `region=` partition of its objects).
pub const REGION: &str = "us-east-1";

/// A running moto server.
pub struct MotoServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its log (stdout and stderr).
    pub log: std::path::PathBuf,
    _child: ChildGuard,
}

impl MotoServer {
    /// Starts the server of the lake venv, logging to `log`, and waits until it answers. With
    /// `enforce_after = Some(n)`, requests after the first `n` are authenticated and authorised.
    pub async fn start(log: &Path, enforce_after: Option<u32>) -> anyhow::Result<MotoServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .context("cannot find a free loopback port")?
            .port();
        let out = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = tokio::process::Command::new(super::venv::bin("moto_server"));
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .kill_on_drop(true);
        if let Some(n) = enforce_after {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
        }
        let mut child = command.spawn().context("cannot start moto_server")?;
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "moto_server exited ({status}) before answering; its log: {}",
                    log.display()
                );
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "moto_server did not listen on 127.0.0.1:{port} within a minute; its log: {}",
                    log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(MotoServer {
            port,
            log: log.to_path_buf(),
            _child: ChildGuard(child),
        })
    }

    /// Its endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
