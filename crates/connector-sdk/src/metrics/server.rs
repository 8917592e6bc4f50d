//! The HTTP endpoint of `read --metrics-addr HOST:PORT`: `GET /metrics` and `GET /healthz`.
//!
//! hyper's HTTP/1.1 server (already in the tree through the HTTP client), bound only to the
//! address the operator gave. Bounded like everything that faces a network: at most
//! [`MAX_CONNECTIONS`] connections at once (more are closed at accept), a request head must
//! arrive within [`HEADER_TIMEOUT`], and no request body is ever read.
//!
//! - `/metrics`: `200`, every family in the Prometheus text format (version 0.0.4).
//! - `/healthz`: `200 ok: …` while the run is healthy, `503` and a one-line reason when it is
//!   not (see [`super::Health`]).
//! - Any other path: `404`; any method but `GET` and `HEAD`: `405`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{HealthStatus, Metrics};

/// Connections served at once; more are closed as soon as they are accepted.
pub const MAX_CONNECTIONS: usize = 16;
/// Time a client has to send its request head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

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
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
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
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!(message = "Too many metrics connections; closing one.", %peer);
            continue;
        };
        let metrics = metrics.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| respond(request, metrics.clone()));
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(error) = served {
                tracing::debug!(message = "A metrics connection ended with an error.", %peer, %error);
            }
            drop(slot);
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

async fn respond(
    request: Request<Incoming>,
    metrics: Metrics,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n".into()));
    }
    let response = match request.uri().path() {
        "/metrics" => {
            let mut response = Response::new(Full::new(Bytes::from(metrics.encode())));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(super::CONTENT_TYPE));
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
    };
    Ok(response)
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
