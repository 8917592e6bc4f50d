//! A loopback recording proxy for `cargo xtask record`.
//!
//! The connector is pointed at `http://127.0.0.1:PORT`; each request is forwarded to the real
//! API and the exchange is captured as the fixture needs it: the query (percent-decoded), the
//! status, the headers a replay needs (`Retry-After`, `Content-Type`) and the body bytes as
//! received. A body cut short upstream is captured with the length it declared and passed on
//! to the connector cut short the same way; a request that got no answer (timeout, reset) is
//! captured as a dropped connection and the connector's connection is closed unanswered.
//!
//! The token travels in the `Authorization` header from the connector through the proxy to
//! the API and is never captured.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Largest request head accepted from the connector.
const MAX_HEAD: usize = 64 * 1024;

/// One exchange as it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The query parameters, percent-decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// The status; `None` when no answer came (then `dropped`).
    pub status: Option<u16>,
    /// `Retry-After` and `Content-Type`, when the answer had them.
    pub headers: Vec<(String, String)>,
    /// The body bytes received (all of them, or those before the connection broke).
    pub body: Vec<u8>,
    /// The body broke off: the length the answer declared, if it declared one.
    pub truncated: Option<Option<u64>>,
    /// No answer at all.
    pub dropped: bool,
}

/// The running proxy.
pub struct RecordingProxy {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Captured>>>,
    task: JoinHandle<()>,
}

impl RecordingProxy {
    /// Listens on 127.0.0.1 and forwards to `upstream` (such as `https://api.slack.com`), each
    /// request abandoned after `timeout`.
    pub async fn start(upstream: &str, timeout: Duration) -> anyhow::Result<RecordingProxy> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let upstream = Arc::<str>::from(upstream.trim_end_matches('/'));
        let task = {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                // One connection at a time: the connector is sequential, and the order of the
                // log must be the order of the requests.
                while let Ok((stream, _)) = listener.accept().await {
                    serve(stream, &client, &upstream, &log).await;
                }
            })
        };
        Ok(RecordingProxy { addr, log, task })
    }

    /// The base URL to give the connector.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The exchanges so far, in order.
    pub fn captured(&self) -> Vec<Captured> {
        match self.log.lock() {
            Ok(log) => log.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Stops listening.
    pub fn stop(self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    client: &reqwest::Client,
    upstream: &str,
    log: &Mutex<Vec<Captured>>,
) {
    let Some((target, authorization)) = read_head(&mut stream).await else {
        return;
    };
    let query = reqwest::Url::parse(&format!("http://proxy{target}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut request = client.get(format!("{upstream}{target}"));
    if let Some(authorization) = authorization {
        request = request.header(AUTHORIZATION, authorization);
    }
    let mut captured = Captured {
        query,
        status: None,
        headers: Vec::new(),
        body: Vec::new(),
        truncated: None,
        dropped: false,
    };
    match request.send().await {
        Err(e) => {
            tracing::warn!(message = "No answer from the API; recorded as a dropped connection.", error = %e.without_url());
            captured.dropped = true;
        }
        Ok(mut response) => {
            captured.status = Some(response.status().as_u16());
            for name in [RETRY_AFTER, CONTENT_TYPE] {
                if let Some(value) = response.headers().get(&name).and_then(|v| v.to_str().ok()) {
                    let label = if name == RETRY_AFTER {
                        "Retry-After"
                    } else {
                        "Content-Type"
                    };
                    captured.headers.push((label.to_owned(), value.to_owned()));
                }
            }
            let declared = response.content_length();
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => captured.body.extend_from_slice(&chunk),
                    Ok(None) => break,
                    Err(_) => {
                        captured.truncated = Some(declared);
                        break;
                    }
                }
            }
        }
    }
    let reply = render_reply(&captured);
    match log.lock() {
        Ok(mut log) => log.push(captured),
        Err(poisoned) => poisoned.into_inner().push(captured),
    }
    if let Some(reply) = reply {
        let _ = stream.write_all(&reply).await;
    }
    let _ = stream.shutdown().await;
}

/// The answer to pass on to the connector: the same status, headers and body, cut short the
/// same way; `None` for a dropped connection.
fn render_reply(captured: &Captured) -> Option<Vec<u8>> {
    let status = captured.status?;
    let declared = match captured.truncated {
        Some(declared) => declared.map_or(captured.body.len() as u64 + 1, |d| {
            d.max(captured.body.len() as u64 + 1)
        }),
        None => captured.body.len() as u64,
    };
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    for (name, value) in &captured.headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!("Content-Length: {declared}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    out.extend_from_slice(&captured.body);
    Some(out)
}

/// The reason phrase of the status line the proxy writes (`Status` where the table has none).
fn reason(status: u16) -> &'static str {
    slack_mock::reason_phrase(status).unwrap_or("Status")
}

/// Reads the request head; returns the target and the `Authorization` header.
async fn read_head(stream: &mut TcpStream) -> Option<(String, Option<String>)> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if head.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    };
    let text = std::str::from_utf8(&head[..end]).ok()?;
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let _method = request_line.next()?;
    let target = request_line.next()?.to_owned();
    if !target.starts_with('/') {
        return None;
    }
    let authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim().to_owned());
    Some((target, authorization))
}
