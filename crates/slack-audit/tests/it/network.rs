//! Behind a corporate network: a private-CA HTTPS upstream (the mock behind
//! `slack_mock::tls::TlsFront`) is refused plainly, with its own exit code and without a retry,
//! until its CA is given; and a token pasted into any setting is printed on no channel.
//! (mitmproxy and squid, real components, are driven by `cargo xtask network`.)

use serde_json::{Value, json};
use slack_mock::tls::{TEST_CA_PEM, TlsFront};

use crate::support::*;

fn source_binary() -> &'static str {
    env!("CARGO_BIN_EXE_source-slack-audit")
}

async fn run_source(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(source_binary());
    cmd.args(args).kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

/// The first message of type `kind` on an Airbyte source's stdout.
fn message(stdout: &[u8], kind: &str) -> Value {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {}", String::from_utf8_lossy(stdout)))
}

fn catalog(work: &Workdir) -> std::path::PathBuf {
    let path = work.dir.path().join("catalog.json");
    let catalog = json!({"streams": [{
        "stream": {"name": "audit_logs", "json_schema": {}, "supported_sync_modes": ["incremental"]},
        "sync_mode": "incremental",
        "destination_sync_mode": "append",
    }]});
    std::fs::write(&path, catalog.to_string()).unwrap();
    path
}

/// No proxy from the test's own environment.
const NO_PROXIES: [(&str, &str); 4] = [
    ("HTTPS_PROXY", ""),
    ("https_proxy", ""),
    ("ALL_PROXY", ""),
    ("all_proxy", ""),
];

fn assert_plain_certificate_message(what: &str, text: &str) {
    for words in [
        "could not be verified",
        "its issuer is not a trusted CA",
        "slack-audit test CA",
        "TLS-inspecting proxy",
        "settings.ca_bundle_file",
        "ca_bundle_pem",
        "the token was not sent",
    ] {
        assert!(text.contains(words), "{what}: {words:?} not in: {text}");
    }
    assert!(!text.contains(TOKEN), "{what}: token leaked");
}

#[tokio::test]
async fn a_private_ca_upstream_is_refused_plainly_then_read_exactly_once_with_its_ca() {
    let mock = mock().await;
    let expected = entries("tls", 250, T0 - 3000, T0 - 10);
    mock.push_entries(expected.clone());
    let front = TlsFront::start(mock.addr()).await.unwrap();
    let work = Workdir::new();
    let base = json!({"api_base_url": front.base_url(), "backfill_start_time": "2025-12-31"});
    let untrusted = work.write_config(&config(settings(&mock, base.clone())));
    let state = work.state();
    let state = state.to_str().unwrap();
    let path = untrusted.to_str().unwrap();

    // Native: check, read, and read --follow all stop at once with exit 4 (not retried).
    for args in [
        vec!["check", "--config", path],
        vec!["read", "--config", path, "--state", state],
        vec![
            "read",
            "--config",
            path,
            "--state",
            state,
            "--follow",
            "--poll-interval",
            "0.1",
        ],
    ] {
        for format in ["human", "json"] {
            let mut envs = NO_PROXIES.to_vec();
            envs.push(("LOG_FORMAT", format));
            let out = run_binary(&args, &envs).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            let what = format!("{args:?} ({format})");
            assert_eq!(out.status.code(), Some(4), "{what}: {stderr}");
            assert_plain_certificate_message(&what, &stderr);
            assert!(stderr.contains("certificate error"), "{what}: {stderr}");
            assert!(out.stdout.is_empty(), "{what}");
        }
    }
    // Airbyte: a failed CONNECTION_STATUS, and a read that fails as a config_error, exit 4.
    let out = run_source(&["check", "--config", path], &NO_PROXIES).await;
    let status = message(&out.stdout, "CONNECTION_STATUS");
    assert_eq!(status["connectionStatus"]["status"], "FAILED");
    assert_plain_certificate_message(
        "airbyte check",
        status["connectionStatus"]["message"].as_str().unwrap(),
    );
    let cat = catalog(&work);
    let out = run_source(
        &["read", "--config", path, "--catalog", cat.to_str().unwrap()],
        &NO_PROXIES,
    )
    .await;
    assert_eq!(out.status.code(), Some(4));
    // The error TRACE (stream status TRACEs come before it).
    let trace: Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["type"] == "TRACE" && m["trace"]["type"] == "ERROR")
        .unwrap();
    assert_eq!(trace["trace"]["error"]["failure_type"], "config_error");
    assert_plain_certificate_message(
        "airbyte read",
        trace["trace"]["error"]["message"].as_str().unwrap(),
    );
    assert!(mock.requests().is_empty(), "a request got through");
    assert!(!work.state().exists(), "a refused upstream wrote a state");

    // With the CA, as a file: read, exactly once; again: nothing new.
    let ca = work.dir.path().join("ca.pem");
    std::fs::write(&ca, TEST_CA_PEM).unwrap();
    let mut with_file = settings(&mock, base.clone());
    with_file["ca_bundle_file"] = json!(ca.to_str().unwrap());
    let path = work.write_config(&config(with_file));
    let args = ["read", "--config", path.to_str().unwrap(), "--state", state];
    let out = run_binary(&args, &NO_PROXIES).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = ids_in(&out.stdout);
    assert_exactly_once(&ids, &expected);
    let again = run_binary(&args, &NO_PROXIES).await;
    assert_eq!(again.status.code(), Some(0));
    assert!(again.stdout.is_empty(), "read twice");

    // With the CA as PEM text (pipeline hosts): check succeeds.
    let mut with_pem = settings(&mock, base);
    with_pem["ca_bundle_pem"] = json!(TEST_CA_PEM);
    let path = work.write_config(&config(with_pem));
    let out = run_source(&["check", "--config", path.to_str().unwrap()], &NO_PROXIES).await;
    let status = message(&out.stdout, "CONNECTION_STATUS");
    assert_eq!(
        status["connectionStatus"]["status"], "SUCCEEDED",
        "{status}"
    );
}

/// A token pasted where no exact-value scrub can know it (the URL, a filter) is printed on no
/// channel: native stderr in both log formats at `trace`, stdout, Airbyte `LOG`, `TRACE` and
/// `CONNECTION_STATUS`.
#[tokio::test]
async fn a_token_pasted_into_the_url_or_a_setting_is_printed_nowhere() {
    const PASTED: &str = "xoxp-9999999999-pasted-elsewhere-do-not-print";
    let mock = mock().await;
    mock.push_entries(entries("p", 20, T0 - 100, T0 - 1));
    let work = Workdir::new();
    let cat = catalog(&work);
    let in_url = settings(
        &mock,
        json!({"api_base_url": format!("{}/?token={PASTED}", mock.base_url())}),
    );
    let in_filter = settings(
        &mock,
        json!({"entity": PASTED, "backfill_start_time": "2025-12-31", "max_retries": 0}),
    );
    let in_proxy = settings(
        &mock,
        json!({"proxy_url": format!("http://{PASTED}@proxy.example:3128")}),
    );
    let in_actions = settings(&mock, json!({"actions": ["user_login", PASTED]}));
    for (case, settings, code) in [
        ("actions", in_actions, 2),
        ("url", in_url, 2),
        ("filter", in_filter, 2),
        ("proxy", in_proxy, 2),
    ] {
        let path = work.write_config(&config(settings));
        let path = path.to_str().unwrap();
        let state = work.state();
        let state = state.to_str().unwrap();
        let mut outputs = Vec::new();
        for format in ["human", "json"] {
            for args in [
                vec!["check", "--config", path],
                vec!["read", "--config", path, "--state", state],
            ] {
                let mut envs = NO_PROXIES.to_vec();
                envs.extend([("LOG_FORMAT", format), ("RUST_LOG", "trace")]);
                let out = run_binary(&args, &envs).await;
                assert_eq!(
                    out.status.code(),
                    Some(code),
                    "{case} {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                outputs.push((format!("{case}: {args:?} {format}"), out));
            }
        }
        for args in [
            vec!["check", "--config", path],
            vec!["read", "--config", path, "--catalog", cat.to_str().unwrap()],
        ] {
            let mut envs = NO_PROXIES.to_vec();
            envs.push(("RUST_LOG", "trace"));
            let out = run_source(&args, &envs).await;
            outputs.push((format!("{case}: airbyte {args:?}"), out));
        }
        for (what, out) in outputs {
            for (channel, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                let text = String::from_utf8_lossy(bytes);
                assert!(
                    !text.contains("pasted-elsewhere"),
                    "{what} {channel}: {text}"
                );
                assert!(!text.contains(TOKEN), "{what} {channel}: {text}");
            }
        }
    }
}

/// A loopback `http` base URL never goes through a proxy, whatever the environment says: the
/// proxy would see the bearer token in clear. (A dead proxy address: a run through it fails.)
#[tokio::test]
async fn a_loopback_http_base_url_never_goes_through_a_proxy() {
    let mock = mock().await;
    let expected = entries("direct", 40, T0 - 100, T0 - 1);
    mock.push_entries(expected.clone());
    let work = Workdir::new();
    let path = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "max_retries": 0}),
    )));
    let dead = "http://127.0.0.1:9";
    let out = run_read(
        &path,
        &work.state(),
        &[],
        &[
            ("HTTP_PROXY", dead),
            ("http_proxy", dead),
            ("HTTPS_PROXY", dead),
            ("ALL_PROXY", dead),
            ("NO_PROXY", ""),
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = ids_in(&out.stdout);
    assert_exactly_once(&ids, &expected);
}
