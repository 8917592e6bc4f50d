//! A tiny raw HTTP/1.1 client over tokio `TcpStream`, so the tests see exactly the bytes the
//! mock sends (and can notice truncation, drops and stalls) without a reqwest dependency.

use std::io;
use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response as received.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Whether the whole declared `Content-Length` arrived.
    pub(crate) complete: bool,
    pub(crate) declared_len: usize,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `(ids, next_cursor)` of a success page.
    pub(crate) fn page(&self) -> (Vec<String>, String) {
        assert_eq!(self.status, 200, "not a page: {}", self.text());
        let v = self.json();
        assert!(v.get("ok").is_none(), "a success has no ok field");
        let ids = v["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["id"].as_str().expect("id").to_owned())
            .collect();
        let cursor = v["response_metadata"]["next_cursor"]
            .as_str()
            .expect("next_cursor")
            .to_owned();
        (ids, cursor)
    }
}

/// One keep-alive connection.
pub(crate) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub(crate) async fn connect(addr: SocketAddr) -> io::Result<Self> {
        Ok(Self {
            stream: TcpStream::connect(addr).await?,
            buf: Vec::new(),
        })
    }

    /// Sends `GET target` with extra headers; `Ok(None)` if the connection closed before any
    /// byte of a response arrived.
    pub(crate) async fn get(
        &mut self,
        target: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<Option<Resp>> {
        let mut req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.stream.write_all(req.as_bytes()).await?;
        self.read_response().await
    }

    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 65536];
        let n = self.stream.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    async fn read_response(&mut self) -> io::Result<Option<Resp>> {
        let head_end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            if self.fill().await? == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof in head"));
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let declared_len = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .ok_or_else(|| io::Error::other("no content-length"))?;
        let mut complete = true;
        while self.buf.len() < declared_len {
            if self.fill().await? == 0 {
                complete = false;
                break;
            }
        }
        let take = declared_len.min(self.buf.len());
        let body = self.buf.drain(..take).collect();
        Ok(Some(Resp {
            status,
            headers,
            body,
            complete,
            declared_len,
        }))
    }

    /// Whether the peer has closed the connection (reads EOF).
    pub(crate) async fn is_closed(&mut self) -> bool {
        matches!(self.fill().await, Ok(0) | Err(_))
    }
}

/// One request on a fresh connection; panics if no response arrives.
pub(crate) async fn get(addr: SocketAddr, target: &str) -> Resp {
    get_with(addr, target, &[]).await
}

/// Like [`get`] with extra headers.
pub(crate) async fn get_with(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Resp {
    let mut conn = Conn::connect(addr).await.expect("connect");
    conn.get(target, headers)
        .await
        .expect("io")
        .expect("a response")
}
