//! `cargo xtask network`: the connector behind a corporate network, against real components.
//!
//! 1. Installs what it needs (`xtask/network/install.sh`): the pinned mitmproxy in a venv under
//!    the target directory, Debian's squid.
//! 2. **Private CA**: the loopback mock behind TLS with a certificate from a private CA
//!    (`slack_mock::tls::TlsFront`). Without the CA, `read` fails with exit 4 and the plain
//!    message (issuer, the usual cause, the setting); no request reaches the mock and no state
//!    is written. With `settings.ca_bundle_file`, every event is read exactly once, and a second
//!    run reads nothing. With the CA only in the system trust store (`SSL_CERT_FILE`), too.
//! 3. **mitmproxy** (a real TLS-inspecting proxy) in front of that upstream, through
//!    `settings.proxy_url`: without mitmproxy's CA the run fails with exit 4 naming mitmproxy as
//!    the issuer; with its CA in `settings.ca_bundle_pem`, every event is read exactly once
//!    through it (mitmproxy's flow log shows the requests), and the token appears nowhere in the
//!    connector's output or logs (at `debug`, both log formats).
//! 4. **squid** (a real forward proxy) through `HTTPS_PROXY`: every event is read exactly once,
//!    and squid's access log shows the `CONNECT` to the upstream; no proxy CA is needed.
//!
//! A CA from the settings is honoured only with the operator's consent
//! (`SLACK_AUDIT_ALLOW_SETTINGS_CA=1`), which the runs that name one are given; one run without
//! it shows the refusal (exit 2, nothing sent). The runs through mitmproxy check that the log
//! names its CA (subject, SHA-256) and the proxy.
//!
//! Everything listens on 127.0.0.1; nothing leaves the machine but the one-time installs. Every
//! child is killed when the task ends, failed or not. Not part of `cargo test`; `.ci/run` runs it.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use slack_mock::tls::{TEST_CA_PEM, TlsFront};
use slack_mock::{MockConfig, MockEntry, MockSlack};
use tokio::process::Command;

use crate::ChildGuard;

/// The token the mock expects (a fake: nothing leaves loopback). Checked absent from output.
const TOKEN: &str = "xoxp-4242424242-4242424242-424242424242-0e7e0e7e0e7e0e7e0e7e0e7e0e7e0e7e";
/// Events in the upstream.
const EVENTS: usize = 450;

/// Arguments of `cargo xtask network`.
#[derive(Debug, Clone, clap::Args)]
pub struct NetworkArgs {
    /// Do not run the install script: use `mitmdump` and `squid` from the PATH.
    #[arg(long)]
    pub no_install: bool,
    /// Longest wait for any one step, in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
}

/// Runs the task.
pub fn run(args: &NetworkArgs) -> anyhow::Result<()> {
    let mitmdump = if args.no_install {
        PathBuf::from("mitmdump")
    } else {
        let script = crate::workspace_root().join("xtask/network/install.sh");
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
        PathBuf::from(
            stdout
                .lines()
                .last()
                .context("install.sh printed no mitmdump path")?,
        )
    };
    let squid = ["/usr/sbin/squid", "squid"]
        .into_iter()
        .find(|s| {
            std::process::Command::new(s)
                .arg("-v")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .context("squid is not installed (run xtask/network/install.sh)")?;
    let binary = crate::build_binary("slack-audit", "slack-audit", false)?;
    let rt = crate::runtime("network", 2)?;
    let timeout = Duration::from_secs(args.timeout_secs);
    rt.block_on(checks(&binary, &mitmdump, Path::new(squid), timeout))
}

/// What one run of the connector did.
struct Run {
    code: Option<i32>,
    ids: Vec<String>,
    stdout: String,
    stderr: String,
}

struct Setup {
    binary: PathBuf,
    work: tempfile::TempDir,
    mock: MockSlack,
    front: TlsFront,
    expected: BTreeSet<String>,
}

impl Setup {
    /// Runs `slack-audit read` with `settings` (over the upstream's defaults) and `envs`, on the
    /// state file `state`.
    async fn read(
        &self,
        state: &str,
        settings: Value,
        envs: &[(&str, &str)],
    ) -> anyhow::Result<Run> {
        let mut all = json!({
            "api_base_url": self.front.base_url(),
            "backfill_start_time": "7d",
            "page_size": 100,
            "requests_per_minute": 600,
            "max_retries": 1,
            "retry_base_delay_ms": 10,
            "request_timeout_seconds": 10,
        });
        for (k, v) in settings.as_object().into_iter().flatten() {
            all[k] = v.clone();
        }
        let config = self.work.path().join(format!("{state}.config.json"));
        std::fs::write(
            &config,
            serde_json::to_vec_pretty(
                &json!({"settings": all, "secrets": {"user_oauth_token": TOKEN}}),
            )?,
        )?;
        let mut command = Command::new(&self.binary);
        command
            .args(["read", "--config"])
            .arg(&config)
            .arg("--state")
            .arg(self.work.path().join(format!("{state}.json")))
            .env("RUST_LOG", "debug")
            .env_remove("LOG_FORMAT")
            .kill_on_drop(true);
        for name in [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            command.env_remove(name);
        }
        // The operator allows the CAs these runs name in their settings.
        if all.get("ca_bundle_file").is_some() || all.get("ca_bundle_pem").is_some() {
            command.env("SLACK_AUDIT_ALLOW_SETTINGS_CA", "1");
        } else {
            command.env_remove("SLACK_AUDIT_ALLOW_SETTINGS_CA");
        }
        for (k, v) in envs {
            command.env(k, v);
        }
        let out = command.output().await.context("cannot run slack-audit")?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let ids = stdout
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        let run = Run {
            code: out.status.code(),
            ids,
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        ensure!(
            !run.stdout.contains(TOKEN)
                && !run.stderr.contains(TOKEN)
                && !run.stderr.contains("0e7e0e7e0e7e0e7e"),
            "the token appears in the connector's output or logs:\n{}",
            run.stderr
        );
        Ok(run)
    }

    fn state_exists(&self, state: &str) -> bool {
        self.work.path().join(format!("{state}.json")).exists()
    }

    /// Every event exactly once, nothing else.
    fn exactly_once(&self, what: &str, run: &Run) -> anyhow::Result<()> {
        ensure!(
            run.code == Some(0),
            "{what}: exit {:?}:\n{}",
            run.code,
            run.stderr
        );
        let got: BTreeSet<String> = run.ids.iter().cloned().collect();
        ensure!(
            run.ids.len() == EVENTS && got == self.expected,
            "{what}: {} records, {} distinct, {} expected",
            run.ids.len(),
            got.len(),
            EVENTS
        );
        Ok(())
    }
}

/// A refused certificate: exit 4, the plain message naming `issuer`, nothing read or saved.
fn refused(what: &str, run: &Run, issuer: &str) -> anyhow::Result<()> {
    ensure!(
        run.code == Some(4),
        "{what}: exit {:?}, not 4:\n{}",
        run.code,
        run.stderr
    );
    for words in [
        "could not be verified",
        issuer,
        "TLS-inspecting proxy",
        "settings.ca_bundle_file",
        "the token was not sent",
    ] {
        ensure!(
            run.stderr.contains(words),
            "{what}: {words:?} not in:\n{}",
            run.stderr
        );
    }
    ensure!(run.ids.is_empty(), "{what}: records were written");
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

async fn wait_for(
    timeout: Duration,
    what: &str,
    mut ready: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    while !ready() {
        if tokio::time::Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

async fn listening(addr: SocketAddr, timeout: Duration, what: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("{what} is not listening on {addr}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The checks, in order: the private-CA upstream, then mitmproxy, then squid in front of it.
async fn checks(
    binary: &Path,
    mitmdump: &Path,
    squid: &Path,
    timeout: Duration,
) -> anyhow::Result<()> {
    let setup = start_upstream(binary).await?;
    let ca = setup.work.path().join("private-ca.pem");
    std::fs::write(&ca, TEST_CA_PEM)?;
    let ca = ca
        .to_str()
        .context("temporary path is not UTF-8")?
        .to_owned();

    // 1. The private-CA upstream.
    check_private_ca_refused(&setup).await?;
    check_settings_ca_needs_consent(&setup, &ca).await?;
    check_private_ca_from_settings(&setup, &ca).await?;
    check_private_ca_from_system_store(&setup, &ca).await?;
    // 2. mitmproxy in front of it.
    check_mitmproxy(&setup, &ca, mitmdump, timeout).await?;
    // 3. squid, from HTTPS_PROXY.
    check_squid(&setup, &ca, squid, timeout).await?;
    eprintln!("network: all checks passed");
    Ok(())
}

/// The mock with [`EVENTS`] events of the last hours, behind TLS from the private CA, and a
/// temporary directory for the runs' files.
async fn start_upstream(binary: &Path) -> anyhow::Result<Setup> {
    let mock = MockSlack::start(MockConfig {
        token: Some(TOKEN.into()),
        ..MockConfig::default()
    })
    .await
    .context("cannot start the mock")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let entries: Vec<MockEntry> = (0..EVENTS)
        .map(|i| {
            MockEntry::synthetic(
                &format!("net-{i:05}"),
                now - 3600 - (i as i64 * 7) % 3000,
                "user_login",
                "W0123ABCD",
                "W0123ABCD",
            )
        })
        .collect();
    mock.push_entries(entries);
    let front = TlsFront::start(mock.addr())
        .await
        .context("cannot start the TLS front")?;
    Ok(Setup {
        binary: binary.to_path_buf(),
        work: tempfile::tempdir().context("cannot create a temporary directory")?,
        expected: (0..EVENTS).map(|i| format!("net-{i:05}")).collect(),
        mock,
        front,
    })
}

/// Without the private CA: exit 4, nothing sent, no state written.
async fn check_private_ca_refused(setup: &Setup) -> anyhow::Result<()> {
    let run = setup.read("private", json!({}), &[]).await?;
    refused("private CA, without it", &run, "slack-audit test CA")?;
    ensure!(
        setup.mock.requests().is_empty(),
        "a request reached the upstream through a refused certificate"
    );
    ensure!(
        !setup.state_exists("private"),
        "a refused certificate wrote a state file"
    );
    eprintln!(
        "network: ok: private-CA upstream without its CA: exit 4, {}",
        first_line_of_error(&run.stderr)
    );
    Ok(())
}

/// A CA from the settings without the operator's consent: refused before anything is sent.
async fn check_settings_ca_needs_consent(setup: &Setup, ca: &str) -> anyhow::Result<()> {
    let before = setup.mock.requests().len();
    let run = setup
        .read(
            "unallowed",
            json!({"ca_bundle_file": ca}),
            &[("SLACK_AUDIT_ALLOW_SETTINGS_CA", "")],
        )
        .await?;
    ensure!(
        run.code == Some(2)
            && run.stderr.contains("SLACK_AUDIT_ALLOW_SETTINGS_CA=1")
            && setup.mock.requests().len() == before
            && !setup.state_exists("unallowed"),
        "a CA from the settings without the operator's consent: exit {:?}:\n{}",
        run.code,
        run.stderr
    );
    eprintln!(
        "network: ok: settings.ca_bundle_file without SLACK_AUDIT_ALLOW_SETTINGS_CA: exit 2, nothing sent"
    );
    Ok(())
}

/// With `settings.ca_bundle_file`: every event once, and a second run reads nothing.
async fn check_private_ca_from_settings(setup: &Setup, ca: &str) -> anyhow::Result<()> {
    let run = setup
        .read("private", json!({"ca_bundle_file": ca}), &[])
        .await?;
    setup.exactly_once("private CA, with ca_bundle_file", &run)?;
    let again = setup
        .read("private", json!({"ca_bundle_file": ca}), &[])
        .await?;
    ensure!(
        again.code == Some(0) && again.ids.is_empty(),
        "a second run read {} records",
        again.ids.len()
    );
    eprintln!(
        "network: ok: private-CA upstream with settings.ca_bundle_file: {} records, each once; a second run: 0",
        run.ids.len()
    );
    Ok(())
}

/// The system trust store: the same CA given only as the machine's (`SSL_CERT_FILE`).
async fn check_private_ca_from_system_store(setup: &Setup, ca: &str) -> anyhow::Result<()> {
    let run = setup
        .read("system", json!({}), &[("SSL_CERT_FILE", ca)])
        .await?;
    setup.exactly_once("private CA in the system trust store (SSL_CERT_FILE)", &run)?;
    eprintln!(
        "network: ok: private-CA upstream trusted through the system store (SSL_CERT_FILE): {} records, each once",
        run.ids.len()
    );
    Ok(())
}

/// A running mitmdump and where to find it, its CA and its flow log.
struct Mitmproxy {
    /// Killed when the mitmproxy checks end.
    _child: ChildGuard,
    port: u16,
    ca: PathBuf,
    flow_log: PathBuf,
}

/// mitmproxy in front of the upstream: refused without its CA, every event once with it (both
/// log formats), and its flow log lists the requests.
async fn check_mitmproxy(
    setup: &Setup,
    ca: &str,
    mitmdump: &Path,
    timeout: Duration,
) -> anyhow::Result<()> {
    let mitm = start_mitmproxy(setup, mitmdump, timeout).await?;
    let proxy = json!(format!("http://127.0.0.1:{}", mitm.port));
    check_mitmproxy_refused(setup, ca, &proxy).await?;
    let pem = std::fs::read_to_string(&mitm.ca)?;
    for format in ["human", "json"] {
        check_through_mitmproxy(setup, &proxy, &pem, mitm.port, format).await?;
    }
    check_mitmproxy_flow_log(&mitm.flow_log)
}

/// Starts mitmdump on a free port and waits until it listens and has written its CA.
async fn start_mitmproxy(
    setup: &Setup,
    mitmdump: &Path,
    timeout: Duration,
) -> anyhow::Result<Mitmproxy> {
    let mitm_dir = setup.work.path().join("mitmproxy");
    std::fs::create_dir_all(&mitm_dir)?;
    let port = free_port()?;
    let flow_log = setup.work.path().join("mitmdump.log");
    let child = ChildGuard(
        Command::new(mitmdump)
            .args(["--listen-host", "127.0.0.1", "-p", &port.to_string()])
            .args(["--set", "ssl_insecure=true", "--set"])
            .arg(format!("confdir={}", mitm_dir.display()))
            .stdout(std::fs::File::create(&flow_log)?)
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", mitmdump.display()))?,
    );
    listening((Ipv4Addr::LOCALHOST, port).into(), timeout, "mitmdump").await?;
    let ca = mitm_dir.join("mitmproxy-ca-cert.pem");
    wait_for(timeout, "mitmproxy's CA", || ca.exists()).await?;
    Ok(Mitmproxy {
        _child: child,
        port,
        ca,
        flow_log,
    })
}

/// Through mitmproxy without its CA: exit 4 naming mitmproxy, nothing sent, no state written.
async fn check_mitmproxy_refused(setup: &Setup, ca: &str, proxy: &Value) -> anyhow::Result<()> {
    let before = setup.mock.requests().len();
    let run = setup
        .read(
            "mitm",
            json!({"proxy_url": proxy, "ca_bundle_file": ca}),
            &[],
        )
        .await?;
    refused("mitmproxy, without its CA", &run, "mitmproxy")?;
    ensure!(
        setup.mock.requests().len() == before,
        "a request got through mitmproxy with its certificate refused"
    );
    ensure!(
        !setup.state_exists("mitm"),
        "a refused certificate wrote a state file"
    );
    eprintln!(
        "network: ok: through mitmproxy without its CA: exit 4, {}",
        first_line_of_error(&run.stderr)
    );
    Ok(())
}

/// Through mitmproxy with its CA in `settings.ca_bundle_pem`, logging in `format`: every event
/// once, and the log names the extra CA and the proxy.
async fn check_through_mitmproxy(
    setup: &Setup,
    proxy: &Value,
    pem: &str,
    port: u16,
    format: &str,
) -> anyhow::Result<()> {
    let state = format!("mitm-{format}");
    let run = setup
        .read(
            &state,
            json!({"proxy_url": proxy, "ca_bundle_pem": pem}),
            &[("LOG_FORMAT", format)],
        )
        .await?;
    setup.exactly_once("through mitmproxy with its CA", &run)?;
    for words in [
        "Trusting an extra CA",
        "mitmproxy",
        "settings.ca_bundle_pem",
        "Requests to Slack go through a proxy",
        &format!("127.0.0.1:{port}"),
    ] {
        ensure!(
            run.stderr.contains(words),
            "through mitmproxy ({format} logs): {words:?} is not in the log:\n{}",
            run.stderr
        );
    }
    eprintln!(
        "network: ok: through mitmproxy with its CA in settings.ca_bundle_pem ({format} logs at debug): {} records, each once; the token in none of {} bytes of output and logs",
        run.ids.len(),
        run.stdout.len() + run.stderr.len()
    );
    Ok(())
}

/// mitmproxy's flow log lists the requests, and not the token.
fn check_mitmproxy_flow_log(flow_log: &Path) -> anyhow::Result<()> {
    let flows = std::fs::read_to_string(flow_log)?;
    let through = flows.matches("/audit/v1/logs").count();
    ensure!(
        through >= 10,
        "mitmproxy's flow log shows {through} requests:\n{flows}"
    );
    ensure!(
        !flows.contains(TOKEN),
        "mitmproxy's flow log shows the token (it should only list requests)"
    );
    eprintln!("network: ok: mitmproxy's flow log lists {through} requests to /audit/v1/logs");
    Ok(())
}

/// squid from `HTTPS_PROXY`: every event once, the connector says it uses the variable, and
/// squid's access log shows the `CONNECT` to the upstream.
async fn check_squid(
    setup: &Setup,
    ca: &str,
    squid: &Path,
    timeout: Duration,
) -> anyhow::Result<()> {
    let squid_dir = setup.work.path().join("squid");
    let (_squid, squid_port) = start_squid(setup, &squid_dir, squid, timeout).await?;
    let access_log = squid_dir.join("access.log");
    let proxy = format!("http://127.0.0.1:{squid_port}");
    let run = setup
        .read(
            "squid",
            json!({"ca_bundle_file": ca}),
            &[("HTTPS_PROXY", &proxy)],
        )
        .await?;
    setup.exactly_once("through squid", &run)?;
    ensure!(
        run.stderr.contains("HTTPS_PROXY"),
        "the connector did not say it uses HTTPS_PROXY:\n{}",
        run.stderr
    );
    let connect = format!("CONNECT 127.0.0.1:{}", setup.front.addr().port());
    let mut log = String::new();
    wait_for(timeout, "squid's access log", || {
        log = std::fs::read_to_string(&access_log).unwrap_or_default();
        log.contains(&connect)
    })
    .await?;
    eprintln!(
        "network: ok: through squid from HTTPS_PROXY: {} records, each once; squid's access log: {} `{connect}` line(s)",
        run.ids.len(),
        log.matches(&connect).count()
    );
    Ok(())
}

/// Starts squid on a free port with its files (its access log `access.log`) in `squid_dir`,
/// and waits until it listens; returns it and its port.
async fn start_squid(
    setup: &Setup,
    squid_dir: &Path,
    squid: &Path,
    timeout: Duration,
) -> anyhow::Result<(ChildGuard, u16)> {
    std::fs::create_dir_all(squid_dir)?;
    // squid started as root runs as an unprivileged user: its files must be writable to it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(squid_dir, std::fs::Permissions::from_mode(0o777))?;
        std::fs::set_permissions(setup.work.path(), std::fs::Permissions::from_mode(0o755))?;
    }
    let squid_port = free_port()?;
    let conf = squid_dir.join("squid.conf");
    std::fs::write(
        &conf,
        format!(
            "http_port 127.0.0.1:{squid_port}\n\
             acl CONNECT method CONNECT\n\
             http_access allow localhost\n\
             http_access deny all\n\
             cache deny all\n\
             cache_mem 8 MB\n\
             access_log stdio:{access}\n\
             cache_log stdio:{cache}\n\
             pid_filename {pid}\n\
             coredump_dir {dir}\n\
             shutdown_lifetime 0 seconds\n",
            access = squid_dir.join("access.log").display(),
            cache = squid_dir.join("cache.log").display(),
            pid = squid_dir.join("squid.pid").display(),
            dir = squid_dir.display(),
        ),
    )?;
    let child = ChildGuard(
        Command::new(squid)
            .args(["-N", "-f"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", squid.display()))?,
    );
    listening((Ipv4Addr::LOCALHOST, squid_port).into(), timeout, "squid").await?;
    Ok((child, squid_port))
}

/// The error line of a failed run (its last line), for the task's report.
fn first_line_of_error(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .find(|l| l.contains("certificate error"))
        .unwrap_or_default()
        .to_owned()
}
