//! Behind a corporate network: a private-CA HTTPS upstream (the mock behind
//! `slack_mock::tls::TlsFront`) is refused plainly, with its own exit code and without a retry,
//! until its CA is given; and a token pasted into any setting is printed on no channel.
//! (mitmproxy and squid, real components, are driven by `cargo xtask network`.)

use serde_json::{Value, json};
use slack_mock::tls::{TEST_CA_PEM, TlsFront};

use crate::support::*;

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

/// No proxy from the test's own environment.
const NO_PROXIES: [(&str, &str); 4] = [
    ("HTTPS_PROXY", ""),
    ("https_proxy", ""),
    ("ALL_PROXY", ""),
    ("all_proxy", ""),
];

/// The operator's consent to CAs from the settings.
const ALLOW_SETTINGS_CA: (&str, &str) = ("SLACK_AUDIT_ALLOW_SETTINGS_CA", "1");

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
    let expected = entries("tls", 250, T0 - 3000, T0 - 10);
    let mock = mock_holding(&expected).await;
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
    let cat = work.write_catalog();
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

    // With the CA, as a file (the operator allowing CAs from the settings): read, exactly once;
    // again: nothing new.
    let allowed = [NO_PROXIES.as_slice(), &[ALLOW_SETTINGS_CA]].concat();
    let ca = work.dir.path().join("ca.pem");
    std::fs::write(&ca, TEST_CA_PEM).unwrap();
    let mut with_file = settings(&mock, base.clone());
    with_file["ca_bundle_file"] = json!(ca.to_str().unwrap());
    let path = work.write_config(&config(with_file));
    let args = ["read", "--config", path.to_str().unwrap(), "--state", state];
    let out = run_binary(&args, &allowed).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = ids_in(&out.stdout);
    assert_exactly_once(&ids, &expected);
    let again = run_binary(&args, &allowed).await;
    assert_eq!(again.status.code(), Some(0));
    assert!(again.stdout.is_empty(), "read twice");

    // With the CA as PEM text (pipeline hosts): check succeeds.
    let mut with_pem = settings(&mock, base);
    with_pem["ca_bundle_pem"] = json!(TEST_CA_PEM);
    let path = work.write_config(&config(with_pem));
    let out = run_source(&["check", "--config", path.to_str().unwrap()], &allowed).await;
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
    let cat = work.write_catalog();
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
    let expected = entries("direct", 40, T0 - 100, T0 - 1);
    let mock = mock_holding(&expected).await;
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

/// A listener on 127.0.0.1 standing in for a proxy: it records every byte that reaches it and
/// answers any request head with a 502, so a run sent through it fails fast.
struct RecordingProxy {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl RecordingProxy {
    async fn start() -> RecordingProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        head.extend_from_slice(&buf[..n]);
                        record.lock().unwrap().extend_from_slice(&buf[..n]);
                        if head.windows(4).any(|w| w == b"\r\n\r\n") {
                            let _ = stream
                                .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                                .await;
                            break;
                        }
                    }
                });
            }
        });
        RecordingProxy {
            url,
            seen,
            _task: task,
        }
    }

    fn seen(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }
}

/// A loopback `http` base URL, however it is spelled (the scheme in capitals, spaces around it,
/// a tab inside the scheme: URL parsing accepts them all), never goes through a proxy, whether
/// the proxy comes from `settings.proxy_url` or from `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`:
/// the proxy would read the bearer token in clear. Each `check`, of both binaries, reaches the
/// mock directly and succeeds; the recording proxy gets not one byte.
#[tokio::test]
async fn a_loopback_http_base_url_however_spelled_never_reaches_a_proxy_of_settings_or_environment()
{
    let mock = mock().await;
    let proxy = RecordingProxy::start().await;
    let work = Workdir::new();
    let port = mock.addr().port();
    let spellings = [
        format!("http://127.0.0.1:{port}"),
        format!("HTTP://127.0.0.1:{port}"),
        format!(" http://localhost:{port} "),
        format!("ht\ttp://127.0.0.1:{port}"),
        format!("Http://LOCALHOST:{port}/"),
    ];
    let no_proxies = [
        ("HTTP_PROXY", ""),
        ("http_proxy", ""),
        ("HTTPS_PROXY", ""),
        ("https_proxy", ""),
        ("ALL_PROXY", ""),
        ("all_proxy", ""),
        ("NO_PROXY", ""),
        ("no_proxy", ""),
    ];
    for spelling in &spellings {
        for via in [
            "settings.proxy_url",
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "ALL_PROXY",
        ] {
            let mut settings = settings(&mock, json!({"max_retries": 0}));
            settings["api_base_url"] = json!(spelling);
            let mut envs = no_proxies.to_vec();
            if via == "settings.proxy_url" {
                settings["proxy_url"] = json!(proxy.url);
            } else {
                envs.retain(|(k, _)| *k != via);
                envs.push((via, proxy.url.as_str()));
            }
            let path = work.write_config(&config(settings));
            let path = path.to_str().unwrap();
            let what = format!("{spelling:?} with a proxy from {via}");
            let before = mock.requests().len();

            let out = run_binary(&["check", "--config", path], &envs).await;
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "slack-audit, {what}: {stderr}");
            assert!(
                stdout.contains("check succeeded"),
                "slack-audit, {what}: {stdout}"
            );
            assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN), "{what}");

            let out = run_source(&["check", "--config", path], &envs).await;
            let status = message(&out.stdout, "CONNECTION_STATUS");
            assert_eq!(
                status["connectionStatus"]["status"],
                "SUCCEEDED",
                "source-slack-audit, {what}: {status} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains(TOKEN),
                "{what}"
            );

            assert_eq!(
                mock.requests().len(),
                before + 2,
                "{what}: the checks did not reach the mock directly"
            );
            let seen = proxy.seen();
            assert!(
                !seen.contains(TOKEN),
                "{what}: the proxy got the token:\n{seen}"
            );
            assert!(seen.is_empty(), "{what}: the proxy was reached:\n{seen}");
        }
    }
}

/// A CONNECT proxy on 127.0.0.1 (a tunnel, no inspection), counting the tunnels it opened.
struct TunnelProxy {
    url: String,
    tunnels: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl TunnelProxy {
    async fn start() -> TunnelProxy {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let tunnels = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = tunnels.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let count = count.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match client.read(&mut buf).await {
                            Ok(1) => head.push(buf[0]),
                            _ => return,
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let Some(target) = head
                        .strip_prefix("CONNECT ")
                        .and_then(|rest| rest.split(' ').next())
                    else {
                        let _ = client
                            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                            .await;
                        return;
                    };
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                        return;
                    };
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if client.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.is_ok() {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
        TunnelProxy {
            url,
            tunnels,
            _task: task,
        }
    }

    fn tunnels(&self) -> usize {
        self.tunnels.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The test CA as `openssl x509 -noout -subject -fingerprint -sha256` names it.
const TEST_CA_SHA256: &str = "97:AA:9A:CC:93:4E:03:FA:02:2E:82:BD:62:66:95:36:D8:CD:5D:B0:EB:05:8B:2A:8B:87:A9:82:16:34:95:44";

/// Trust changes are never silent: a run that trusts an extra CA names its subject and SHA-256
/// fingerprint, and one that goes through a proxy names the proxy's host and port (never its
/// credentials), in the log and in `check`'s answer, of both binaries; and a CA from the
/// settings is refused (exit 2, nothing sent) unless the operator's environment allows it.
#[tokio::test]
async fn a_ca_or_proxy_is_named_in_the_log_and_in_checks_answer_and_a_settings_ca_needs_the_operator()
 {
    let mock = mock().await;
    let front = TlsFront::start(mock.addr()).await.unwrap();
    let proxy = TunnelProxy::start().await;
    let proxy_host = proxy.url.trim_start_matches("http://").to_owned();
    let work = Workdir::new();
    let ca = work.dir.path().join("ca.pem");
    std::fs::write(&ca, TEST_CA_PEM).unwrap();
    let with_credentials = proxy
        .url
        .replace("http://", "http://proxyuser:proxy-pass-word@");

    for (what, extra, env_proxy, from) in [
        (
            "ca_bundle_pem + proxy_url",
            json!({"ca_bundle_pem": TEST_CA_PEM, "proxy_url": proxy.url}),
            None,
            ["settings.ca_bundle_pem", "settings.proxy_url"],
        ),
        (
            "ca_bundle_file + HTTPS_PROXY with credentials",
            json!({"ca_bundle_file": ca.to_str().unwrap()}),
            Some(with_credentials.as_str()),
            ["settings.ca_bundle_file", "HTTPS_PROXY"],
        ),
    ] {
        let mut s = settings(&mock, json!({"max_retries": 0}));
        s["api_base_url"] = json!(front.base_url());
        for (k, v) in extra.as_object().unwrap() {
            s[k] = v.clone();
        }
        let path = work.write_config(&config(s));
        let path = path.to_str().unwrap();
        let mut envs = NO_PROXIES.to_vec();
        envs.push(("NO_PROXY", ""));
        if let Some(p) = env_proxy {
            envs.retain(|(k, _)| *k != "HTTPS_PROXY");
            envs.push(("HTTPS_PROXY", p));
        }

        // Without the operator's consent: refused, nothing sent, the way to allow it said.
        let tunnels = proxy.tunnels();
        let out = run_binary(&["check", "--config", path], &envs).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(
            stderr.contains("SLACK_AUDIT_ALLOW_SETTINGS_CA=1"),
            "{what}: {stderr}"
        );
        assert_eq!(
            proxy.tunnels(),
            tunnels,
            "{what}: a refused config reached the proxy"
        );

        // With it: check succeeds through the proxy, and says what it trusted and used.
        envs.push(ALLOW_SETTINGS_CA);
        let out = run_binary(&["check", "--config", path], &envs).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{what}: {stderr}");
        assert!(proxy.tunnels() > tunnels, "{what}: the proxy was not used");
        let source = run_source(&["check", "--config", path], &envs).await;
        let status = message(&source.stdout, "CONNECTION_STATUS");
        assert_eq!(
            status["connectionStatus"]["status"], "SUCCEEDED",
            "{what}: {status}"
        );
        let source_log = String::from_utf8_lossy(&source.stdout).into_owned();
        for (channel, text) in [
            ("slack-audit check's answer", stdout.as_ref()),
            ("slack-audit's log", stderr.as_ref()),
            ("source-slack-audit's log and answer", source_log.as_str()),
        ] {
            for words in [
                "slack-audit test CA (private",
                TEST_CA_SHA256,
                proxy_host.as_str(),
                from[0],
                from[1],
            ] {
                assert!(
                    text.contains(words),
                    "{what}, {channel}: {words:?} not in:\n{text}"
                );
            }
            assert!(
                !text.contains("proxy-pass-word"),
                "{what}, {channel}: {text}"
            );
            assert!(!text.contains(TOKEN), "{what}, {channel}");
        }
        let answer = status["connectionStatus"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            answer.contains(TEST_CA_SHA256) && answer.contains(&proxy_host),
            "{what}: Airbyte check's answer: {answer}"
        );
    }
}
