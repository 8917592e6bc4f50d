//! Runtime layer: the HTTP endpoint of `read --metrics-addr HOST:PORT`: `GET /metrics` and `GET /healthz`.
//!
//! hyper's HTTP/1.1 server (already in the tree through the HTTP client), bound only to the
//! address the operator gave. Bounded like everything that faces a network, and built so that
//! no client can starve the liveness probe (a probe that fails restarts a healthy connector):
//!
//! - at most [`MAX_CONNECTIONS`] connections at once; a connection arriving when all are taken
//!   **evicts the oldest** instead of being refused, so a new probe is always served, whatever
//!   other clients hold open;
//! - a request head must arrive within [`HEADER_TIMEOUT`] (a client trickling its head byte by
//!   byte is cut off), and a connection lives at most [`CONNECTION_LIFETIME`] whatever it does
//!   (a client that pipelines requests and never reads the answers blocks only its own
//!   connection's writes, until then);
//! - keep-alive is bounded: after [`MAX_REQUESTS_PER_CONNECTION`] requests the answer says
//!   `Connection: close`; no request body is ever read.
//!
//! - `/metrics`: `200`, every family in the Prometheus text format (version 0.0.4).
//! - `/healthz`: `200 ok: …` while the run is healthy, `503` and a fixed one-line reason when it
//!   is not (see [`super::Health`]; never text from the source or the config).
//! - Any other path: `404`; any method but `GET` and `HEAD`: `405`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::{AbortHandle, JoinHandle};
use tokio_util::sync::CancellationToken;

use super::health::HealthStatus;
use super::registry::Metrics;

/// Connections served at once; one more evicts the oldest.
pub const MAX_CONNECTIONS: usize = 16;
/// Time a client has to send a request head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a connection lives, whatever it does (a scrape takes milliseconds).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);
/// Requests answered on one connection before it is closed.
pub const MAX_REQUESTS_PER_CONNECTION: u32 = 100;

/// A running endpoint. Dropping it stops accepting; [`MetricsServer::shutdown`] also waits.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `addr` (`HOST:PORT`; port `0` picks a free one) and serves `metrics`.
    pub async fn bind(addr: &str, metrics: Metrics) -> std::io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(accept_loop(listener, metrics, stop.clone()));
        Ok(MetricsServer {
            local_addr,
            stop,
            task: Some(task),
        })
    }

    /// The address it listens on (with the port chosen when `0` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting and waits for the accept loop to end (connections in progress are
    /// dropped with it).
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(listener: TcpListener, metrics: Metrics, stop: CancellationToken) {
    let mut connections = tokio::task::JoinSet::new();
    // Live connections, oldest first.
    let mut live: VecDeque<AbortHandle> = VecDeque::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let (stream, peer) = match accepted {
            Ok(conn) => conn,
            Err(error) => {
                // Out of file descriptors and the like: say so, breathe, go on.
                tracing::warn!(message = "The metrics endpoint could not accept a connection.", %error);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Forget the connections that ended.
        while let Some(ended) = connections.try_join_next_with_id() {
            let id = match ended {
                Ok((id, ())) => id,
                Err(error) => error.id(),
            };
            live.retain(|handle| handle.id() != id);
        }
        while live.len() >= MAX_CONNECTIONS {
            if let Some(oldest) = live.pop_front() {
                tracing::debug!(message = "Too many metrics connections; closing the oldest.", %peer);
                oldest.abort();
            }
        }
        let metrics = metrics.clone();
        let handle = connections.spawn(serve(stream, peer, metrics));
        live.push_back(handle);
    }
    connections.abort_all();
}

/// One connection, for at most [`CONNECTION_LIFETIME`].
async fn serve(stream: tokio::net::TcpStream, peer: SocketAddr, metrics: Metrics) {
    let served = Arc::new(AtomicU32::new(0));
    let service = service_fn(move |request| {
        let count = served.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        respond(
            request,
            metrics.clone(),
            count >= MAX_REQUESTS_PER_CONNECTION,
        )
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(CONNECTION_LIFETIME, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::debug!(message = "A metrics connection ended with an error.", %peer, %error);
        }
        Err(_) => {
            tracing::debug!(message = "A metrics connection reached its lifetime; closed.", %peer);
        }
    }
}

async fn respond(
    request: Request<Incoming>,
    metrics: Metrics,
    last: bool,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = answer(&request, &metrics);
    if last {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}

fn answer(request: &Request<Incoming>, metrics: &Metrics) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".into());
    }
    match request.uri().path() {
        "/metrics" => {
            let mut response = Response::new(Full::new(Bytes::from(metrics.encode())));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(super::registry::CONTENT_TYPE),
            );
            response
        }
        "/healthz" => match metrics.health().status() {
            HealthStatus::Healthy(line) => text(StatusCode::OK, line + "\n"),
            HealthStatus::Unhealthy(reason) => text(StatusCode::SERVICE_UNAVAILABLE, reason + "\n"),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics or /healthz\n".into(),
        ),
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
