//! The mock behind TLS: [`TlsFront`] accepts HTTPS on `127.0.0.1:<ephemeral port>` with a
//! certificate from a private test CA ([`TEST_CA_PEM`], `tls/` in this crate) and relays the
//! decrypted bytes to a plain mock, so the connector's trust store, CA bundle and proxies can
//! be tested against a real TLS server on loopback.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// The private test CA that issued the front's certificate (PEM). Trust it only in tests.
pub const TEST_CA_PEM: &str = include_str!("../tls/ca.pem");
/// The front's certificate (for `127.0.0.1`, `::1`, `localhost`), issued by [`TEST_CA_PEM`].
const SERVER_CERT_PEM: &str = include_str!("../tls/server.pem");
/// Its key (public: a test key).
const SERVER_KEY_PEM: &str = include_str!("../tls/server.key");

/// A TLS-terminating relay in front of a plain server on loopback. Dropping it stops accepting.
#[derive(Debug)]
pub struct TlsFront {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TlsFront {
    /// Listens on `127.0.0.1:0` and relays each connection, decrypted, to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<TlsFront> {
        let invalid = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
        let certs = CertificateDer::pem_slice_iter(SERVER_CERT_PEM.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(&e))?;
        let key =
            PrivateKeyDer::from_pem_slice(SERVER_KEY_PEM.as_bytes()).map_err(|e| invalid(&e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(&e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| invalid(&e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to relay.
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    if let Ok(mut plain) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                });
            }
        });
        Ok(TlsFront { addr, task })
    }

    /// `https://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
