//! `cargo xtask prometheus`: the metrics endpoint checked by the real thing.
//!
//! 1. Installs Debian's `prometheus` package unless `promtool` and `prometheus` are on the PATH
//!    (`xtask/prometheus/install.sh`).
//! 2. Runs the debug `slack-audit read --follow --metrics-addr 127.0.0.1:0` against a loopback
//!    mock holding a few thousand events, paced so the backfill takes a few seconds.
//! 3. **Exposition**: a scrape taken during the backfill (the window gauges present, the
//!    records counter between 1 and N-1) passes `promtool check metrics`.
//! 4. **Scraped by Prometheus**: once every record is written, a Prometheus server started here
//!    (`--config.file`, `--storage.tsdb.path` in a temporary folder, `--web.listen-address` on
//!    loopback, `scrape_interval: 1s`) scrapes the endpoint; `/api/v1/query` must show
//!    `slack_audit_records_delivered_total` equal to the records written (the connector waits
//!    an hour between polls, so the value is stable), and the alert rules of `docs/operating.md` pass
//!    `promtool check rules`, their unit tests `xtask/prometheus/alerts.test.yml` pass
//!    `promtool test rules` (a quiet night pages nobody, a stalled reader is paged), and they
//!    evaluate as they should here (events a day old but read to the end: neither the lag nor
//!    the no-poll alert pending).
//!
//! Not part of `cargo test` (it needs the Debian package); `.ci/run` runs it after the tests.
//! Every wait polls with a deadline; nothing sleeps a fixed time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::Value;
use slack_mock::{MockConfig, MockEntry, MockSlack};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::ChildGuard;

/// The token the mock expects (a fake: nothing leaves loopback).
const TOKEN: &str = "xoxp-0000000000-0000000000-000000000000-9e7c9e7c9e7c9e7c9e7c9e7c9e7c9e7c";
/// Events in the backfill.
const EVENTS: usize = 3000;
/// Entries per page (30 pages).
const PAGE_SIZE: u32 = 100;

/// Arguments of `cargo xtask prometheus`.
#[derive(Debug, Clone, clap::Args)]
pub struct PrometheusArgs {
    /// Do not run the install script (fail if `promtool` or `prometheus` is missing).
    #[arg(long)]
    pub no_install: bool,
    /// Longest wait for any one step, in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
}

/// Runs the task.
pub fn run(args: &PrometheusArgs) -> anyhow::Result<()> {
    if !args.no_install {
        let script = crate::workspace_root().join("xtask/prometheus/install.sh");
        let status = std::process::Command::new("bash")
            .arg(&script)
            .status()
            .with_context(|| format!("cannot run {}", script.display()))?;
        ensure!(status.success(), "{} failed ({status})", script.display());
    }
    for tool in ["promtool", "prometheus"] {
        let found = std::process::Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ensure!(
            found,
            "`{tool}` is not on the PATH (run xtask/prometheus/install.sh)"
        );
    }
    let binary = crate::build_binary("slack-audit", "slack-audit", false)?;
    let rt = crate::runtime("prometheus", 2)?;
    rt.block_on(checks(&binary, Duration::from_secs(args.timeout_secs)))
}

/// The checks, in order; each step fails the task with what it saw.
async fn checks(binary: &Path, timeout: Duration) -> anyhow::Result<()> {
    let mut passed = 0;
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let mock = start_mock().await?;
    let config = write_config(work.path(), &mock.base_url())?;
    let mut connector = start_connector(binary, &config, &work.path().join("state.json"))?;
    let endpoint = endpoint_address(&mut connector.0, timeout).await?;
    eprintln!("prometheus: slack-audit serves metrics on {endpoint}");
    let mut lines = BufReader::new(connector.0.stdout.take().context("no stdout")?).lines();
    let mut written = 0usize;

    // 1. promtool check metrics on a scrape taken during the backfill.
    read_records(&mut lines, &mut written, EVENTS / 3, timeout).await?;
    check_exposition_during_backfill(endpoint, work.path()).await?;
    passed += 1;

    // 2. A Prometheus server scrapes the endpoint and answers a query.
    read_records(&mut lines, &mut written, EVENTS, timeout).await?;
    // The first poll is over once its last checkpoint is in; the value is then stable for an
    // hour (the poll interval).
    poll(timeout, "the first poll to finish", || async {
        let scrape = http_get(&format!("http://{endpoint}/metrics")).await?;
        Ok(sample(&scrape, "slack_audit_polls_total{outcome=\"ok\"}").filter(|v| *v >= 1.0))
    })
    .await?;
    let rules = check_alert_rules(work.path())?;
    passed += 1;

    let listen = free_loopback_port()?;
    let _server = start_prometheus(work.path(), endpoint, &rules, listen)?;
    check_scraped(work.path(), listen, written, timeout).await?;
    passed += 1;

    // 3. The documented alerts evaluate as they should on this run: the events are a day old,
    // but the reader is caught up, so it is not lagging (the newest event's age is not lag).
    check_alerts_inactive(listen, timeout).await?;
    passed += 1;

    drop(connector);
    mock.shutdown().await;
    println!("prometheus: {passed} passed, 0 failed");
    Ok(())
}

/// A loopback mock holding [`EVENTS`] old events (an hour's worth, a day ago: read to the end,
/// they are not lag), paced so the backfill takes a few seconds.
async fn start_mock() -> anyhow::Result<MockSlack> {
    let mock = MockSlack::start(MockConfig {
        token: Some(TOKEN.into()),
        page_delay: Duration::from_millis(50),
        ..MockConfig::default()
    })
    .await
    .context("cannot start the mock")?;
    // Old events (an hour's worth, a day ago): read to the end, they are not lag.
    let now = chrono_now();
    let newest = now - 86_400;
    let entries: Vec<MockEntry> = (0..EVENTS)
        .map(|i| {
            MockEntry::synthetic(
                &format!("prom-{i:05}"),
                newest - (i as i64 % 3600),
                "user_login",
                "W0123ABCD",
                "W0123ABCD",
            )
        })
        .collect();
    mock.push_entries(entries);
    Ok(mock)
}

/// The connector's config file in `work`, reading from the mock at `base_url`.
fn write_config(work: &Path, base_url: &str) -> anyhow::Result<PathBuf> {
    let config = work.join("config.json");
    std::fs::write(
        &config,
        serde_json::to_vec_pretty(&serde_json::json!({
            "settings": {
                "api_base_url": base_url,
                "backfill_start_time": "2d",
                "page_size": PAGE_SIZE,
                "requests_per_minute": 600,
            },
            "secrets": {"user_oauth_token": TOKEN},
        }))?,
    )?;
    Ok(config)
}

/// `slack-audit read --follow` (an hour between polls) serving metrics on a loopback port.
fn start_connector(binary: &Path, config: &Path, state: &Path) -> anyhow::Result<ChildGuard> {
    Ok(ChildGuard(
        Command::new(binary)
            .args(["read", "--config"])
            .arg(config)
            .arg("--state")
            .arg(state)
            .args(["--follow", "--poll-interval", "3600"])
            .args(["--metrics-addr", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .env_remove("LOG_FORMAT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start slack-audit")?,
    ))
}

/// Reads the connector's output until `written` records have come out in all.
async fn read_records(
    lines: &mut Lines<BufReader<ChildStdout>>,
    written: &mut usize,
    until: usize,
    timeout: Duration,
) -> anyhow::Result<()> {
    while *written < until {
        match tokio::time::timeout(timeout, lines.next_line()).await {
            Ok(Ok(Some(_))) => *written += 1,
            other => bail!("the connector's output ended after {written} records: {other:?}"),
        }
    }
    Ok(())
}

/// Step 1: a scrape taken now (during the backfill) passes `promtool check metrics`.
async fn check_exposition_during_backfill(endpoint: SocketAddr, work: &Path) -> anyhow::Result<()> {
    let scrape = http_get(&format!("http://{endpoint}/metrics")).await?;
    let counted = sample(&scrape, "slack_audit_records_delivered_total")
        .context("no records counter in the scrape")?;
    ensure!(
        (1.0..EVENTS as f64).contains(&counted)
            && sample(&scrape, "slack_audit_window_position_timestamp_seconds").is_some(),
        "the scrape was not taken during the backfill (records counter {counted}):\n{scrape}"
    );
    let scrape_path = work.join("scrape.txt");
    std::fs::write(&scrape_path, &scrape)?;
    let lint = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&scrape_path)?)
        .output()
        .context("cannot run promtool")?;
    let problems = format!(
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    ensure!(
        lint.status.success() && problems.trim().is_empty(),
        "promtool check metrics failed ({}) on a scrape taken during the backfill:\n{problems}",
        lint.status
    );
    eprintln!(
        "prometheus: ok: `promtool check metrics` passes on a scrape taken during the backfill ({counted} of {EVENTS} records counted, {} lines)",
        scrape.lines().count()
    );
    Ok(())
}

/// Step 2, first half: the alert rules of `docs/operating.md`, written to `work/alerts.yml` (returned), pass
/// `promtool check rules`, and their unit tests pass `promtool test rules`.
fn check_alert_rules(work: &Path) -> anyhow::Result<PathBuf> {
    let rules = work.join("alerts.yml");
    std::fs::write(&rules, documented_alert_rules()?)?;
    let checked = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .context("cannot run promtool")?;
    ensure!(
        checked.status.success(),
        "promtool check rules failed on the alert rules of docs/operating.md:\n{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    // The rules' unit tests: a quiet night pages nobody, a stalled reader does.
    let cases = work.join("alerts.test.yml");
    std::fs::copy(
        crate::workspace_root().join("xtask/prometheus/alerts.test.yml"),
        &cases,
    )?;
    let tested = std::process::Command::new("promtool")
        .args(["test", "rules"])
        .arg(&cases)
        .current_dir(work)
        .output()
        .context("cannot run promtool")?;
    ensure!(
        tested.status.success(),
        "promtool test rules failed (xtask/prometheus/alerts.test.yml against the rules of docs/operating.md):\n{}{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
    eprintln!(
        "prometheus: ok: `promtool test rules` passes: a quiet night pages nobody, a stalled reader is paged and ticketed, a dead one paged"
    );
    Ok(rules)
}

/// A Prometheus server on `listen` scraping `endpoint` every second and evaluating `rules`,
/// its data and log in `work`.
fn start_prometheus(
    work: &Path,
    endpoint: SocketAddr,
    rules: &Path,
    listen: SocketAddr,
) -> anyhow::Result<ChildGuard> {
    let prometheus_config = work.join("prometheus.yml");
    std::fs::write(
        &prometheus_config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: slack-audit\n    static_configs:\n      - targets: ['{endpoint}']\n",
            rules.display()
        ),
    )?;
    let log = std::fs::File::create(work.join("prometheus.log"))?;
    Ok(ChildGuard(
        Command::new("prometheus")
            .arg(format!("--config.file={}", prometheus_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                work.join("data").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .context("cannot start prometheus")?,
    ))
}

/// An instant query to the Prometheus server on `listen`.
async fn query(listen: SocketAddr, q: &'static str) -> anyhow::Result<Option<f64>> {
    prom_query(&format!("http://{listen}/api/v1/query"), q).await
}

/// Step 2, second half: Prometheus scraped the endpoint, and its records counter equals the
/// `written` records.
async fn check_scraped(
    work: &Path,
    listen: SocketAddr,
    written: usize,
    timeout: Duration,
) -> anyhow::Result<()> {
    let scraped = poll(
        timeout,
        "Prometheus to have scraped the records counter",
        || query(listen, "slack_audit_records_delivered_total"),
    )
    .await
    .with_context(|| {
        format!(
            "Prometheus' log:\n{}",
            std::fs::read_to_string(work.join("prometheus.log")).unwrap_or_default()
        )
    })?;
    ensure!(
        scraped == written as f64 && written == EVENTS,
        "Prometheus has slack_audit_records_delivered_total = {scraped}, but {written} records were written ({EVENTS} served)"
    );
    let up = poll(timeout, "up{job=\"slack-audit\"}", || {
        query(listen, "up{job=\"slack-audit\"}")
    })
    .await?;
    ensure!(up == 1.0, "up = {up}");
    eprintln!(
        "prometheus: ok: Prometheus scraped the endpoint; /api/v1/query says slack_audit_records_delivered_total = {scraped}, the {written} records written"
    );
    Ok(())
}

/// Step 3: on day-old events read to the end, the lag is small and, two rule evaluations
/// later, neither the lag alert nor the no-poll alert is pending or firing.
async fn check_alerts_inactive(listen: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let age = poll(timeout, "the newest event's age", || {
        query(listen, "slack_audit_newest_event_age_seconds")
    })
    .await?;
    ensure!(
        age > 86_000.0,
        "newest event's age {age}, the events are a day old"
    );
    let lag = poll(timeout, "the lag", || {
        query(listen, "slack_audit_lag_seconds")
    })
    .await?;
    ensure!(lag < 120.0, "lag {lag} s on a caught-up reader");
    let states = alert_states_after_two_evaluations(listen, timeout).await?;
    for alert in ["SlackAuditLagging", "SlackAuditNoSuccessfulPoll"] {
        let state = states
            .iter()
            .find(|(name, _)| name == alert)
            .map(|(_, s)| s.as_str());
        ensure!(
            state == Some("inactive"),
            "{alert} is {state:?} on a caught-up reader (rules: {states:?})"
        );
    }
    eprintln!(
        "prometheus: ok: on day-old events read to the end, lag {lag:.0} s, newest event {age:.0} s old; neither the lag alert nor the no-poll alert is pending"
    );
    Ok(())
}

/// The alerting rules' `(name, state)` as Prometheus gives them after evaluating them twice
/// more from now (rules are evaluated every second).
async fn alert_states_after_two_evaluations(
    listen: SocketAddr,
    timeout: Duration,
) -> anyhow::Result<Vec<(String, String)>> {
    let rules_url = format!("http://{listen}/api/v1/rules?type=alert");
    let evaluation = |body: &str| -> Option<String> {
        let v: Value = serde_json::from_str(body).ok()?;
        v["data"]["groups"][0]["lastEvaluation"]
            .as_str()
            .map(str::to_owned)
    };
    let first = evaluation(&http_get(&rules_url).await?);
    let mut states = Vec::new();
    let mut seen = 0;
    let deadline = tokio::time::Instant::now() + timeout;
    while seen < 2 {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "Prometheus evaluated no rules within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let body = http_get(&rules_url).await?;
        if evaluation(&body) != first && evaluation(&body).is_some() {
            seen += 1;
            let v: Value = serde_json::from_str(&body)?;
            states = v["data"]["groups"][0]["rules"]
                .as_array()
                .map(|rules| {
                    rules
                        .iter()
                        .map(|r| {
                            (
                                r["name"].as_str().unwrap_or("").to_owned(),
                                r["state"].as_str().unwrap_or("").to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
        }
    }
    Ok(states)
}

/// Reads the connector's stderr until it logs the endpoint's address, then keeps draining it.
async fn endpoint_address(child: &mut Child, timeout: Duration) -> anyhow::Result<SocketAddr> {
    let mut stderr = BufReader::new(child.stderr.take().context("no stderr")?).lines();
    let mut seen = String::new();
    loop {
        let line = tokio::time::timeout(timeout, stderr.next_line())
            .await
            .context("slack-audit did not log its metrics address in time")??;
        let Some(line) = line else {
            bail!("slack-audit exited before serving metrics:\n{seen}");
        };
        seen.push_str(&line);
        seen.push('\n');
        if let Some(addr) = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("address="))
        {
            let addr = addr.parse().context("an unreadable address in the log")?;
            tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
            return Ok(addr);
        }
    }
}

async fn http_get(url: &str) -> anyhow::Result<String> {
    let response = reqwest::get(url)
        .await
        .with_context(|| format!("GET {url}"))?;
    ensure!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    Ok(response.text().await?)
}

/// The value of the sample `series` (name and labels as exposed) in an exposition.
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

/// The value of an instant query's first result, or `None` when it has none yet.
async fn prom_query(url: &str, query: &str) -> anyhow::Result<Option<f64>> {
    let response = reqwest::Client::new()
        .get(url)
        .query(&[("query", query)])
        .send()
        .await;
    let Ok(response) = response else {
        return Ok(None); // not listening yet
    };
    let body: Value = serde_json::from_slice(&response.bytes().await?)
        .context("the query API's answer is not JSON")?;
    ensure!(body["status"] == "success", "query {query}: {body}");
    Ok(body["data"]["result"]
        .as_array()
        .and_then(|r| r.first())
        .and_then(|first| first["value"][1].as_str())
        .and_then(|v| v.parse().ok()))
}

/// Calls `probe` every 200 ms until it gives a value, for at most `timeout`.
async fn poll<F, Fut>(timeout: Duration, what: &str, mut probe: F) -> anyhow::Result<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<f64>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A port free on 127.0.0.1 right now.
fn free_loopback_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// The example alert rules of `docs/operating.md` (its `yaml` block that starts with `groups:`).
pub fn documented_alert_rules() -> anyhow::Result<String> {
    let readme = std::fs::read_to_string(crate::workspace_root().join("docs/operating.md"))?;
    let start = readme
        .find("```yaml\ngroups:")
        .context("docs/operating.md has no ```yaml block of alert rules")?
        + "```yaml\n".len();
    let end = readme[start..]
        .find("```")
        .context("the alert rules block is not closed")?;
    Ok(readme[start..start + end].to_owned())
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
