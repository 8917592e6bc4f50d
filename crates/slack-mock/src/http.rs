//! A minimal HTTP/1.1 server side: reading request heads (keep-alive, pipelining-safe),
//! percent-decoding query strings, and writing response heads. Hand-rolled on purpose: the
//! faults need byte-level control over what is (not) sent.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest request head accepted; a larger one gets 431 and the connection is closed.
const MAX_HEAD: usize = 64 * 1024;

/// Body of a random or helper 503.
pub(crate) const HTML_503: &str = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n";

/// A parsed request head.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    /// Whether the connection may serve another request after this one.
    pub(crate) keep_alive: bool,
}

impl Request {
    /// First header of that name (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Last value of a query parameter (exact name).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `cursor` parameter, if present and non-empty.
    pub(crate) fn cursor(&self) -> Option<&str> {
        self.param("cursor").filter(|c| !c.is_empty())
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed (or reset) the connection; nothing to answer.
    Closed,
    /// The head exceeded [`MAX_HEAD`]: answer 431 and close.
    TooLarge,
    /// Not HTTP: answer 400 and close.
    Malformed,
}

/// Reads one request head from `stream`. `buf` carries bytes already read past the previous
/// request (keep-alive, pipelining) and must be reused across calls on one connection.
/// A request body announced by `Content-Length` is read and discarded.
pub(crate) async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<Request, ReadError> {
    let mut scanned = 0usize;
    loop {
        if let Some(pos) = find_head_end(buf, scanned) {
            let head = String::from_utf8_lossy(&buf[..pos]).into_owned();
            buf.drain(..pos + 4);
            let req = parse_head(&head).ok_or(ReadError::Malformed)?;
            let body_len = req
                .header("content-length")
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            discard(stream, buf, body_len).await?;
            return Ok(req);
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::TooLarge);
        }
        scanned = buf.len().saturating_sub(3);
        buf.reserve(8192);
        match stream.read_buf(buf).await {
            Ok(0) | Err(_) => return Err(ReadError::Closed),
            Ok(_) => {}
        }
    }
}

async fn discard<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    mut len: usize,
) -> Result<(), ReadError> {
    let take = len.min(buf.len());
    buf.drain(..take);
    len -= take;
    let mut scratch = [0u8; 4096];
    while len > 0 {
        let want = len.min(scratch.len());
        match stream.read(&mut scratch[..want]).await {
            Ok(0) | Err(_) => return Err(ReadError::Closed),
            Ok(n) => len -= n,
        }
    }
    Ok(())
}

fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + from)
}

fn parse_head(head: &str) -> Option<Request> {
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?;
    let mut parts = request_line.split(' ');
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let version = parts.next()?;
    if parts.next().is_some() || method.is_empty() || !version.starts_with("HTTP/1.") {
        return None;
    }
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let (raw_path, raw_query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target.as_str(), ""),
    };
    let path = raw_path.to_owned();
    let query = parse_query(raw_query);
    let connection = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("connection"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",");
    let keep_alive = if version == "HTTP/1.0" {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    Some(Request {
        method,
        target,
        path,
        query,
        headers,
        keep_alive,
    })
}

/// Splits a query string into decoded `(name, value)` pairs, in order.
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(part), String::new()),
        })
        .collect()
}

/// Form-style percent-decoding: `%XX` is a byte, `+` is a space; malformed escapes are kept
/// literally; invalid UTF-8 is replaced.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                    let h = std::str::from_utf8(h).ok()?;
                    u8::from_str_radix(h, 16).ok()
                });
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `{"ok":false,"error":"<error>"}`.
pub(crate) fn error_body(error: &str) -> String {
    let quoted = serde_json::to_string(error).unwrap_or_else(|_| "\"error\"".to_owned());
    format!("{{\"ok\":false,\"error\":{quoted}}}")
}

/// Appends a status line and headers, then `Content-Length` (and `Connection: close` if
/// `close`), then the blank line.
pub(crate) fn write_head<'a>(
    out: &mut Vec<u8>,
    status: u16,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    content_length: usize,
    close: bool,
) {
    out.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", reason(status)).as_bytes());
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {content_length}\r\n").as_bytes());
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// The mock's reason phrase of `status`: the standard one, `Script Mismatch` for the mock's own
/// 599, `Unknown` for the rest.
fn reason(status: u16) -> &'static str {
    match status {
        599 => "Script Mismatch",
        _ => reason_phrase(status).unwrap_or("Unknown"),
    }
}

/// The standard reason phrase of the statuses the mock and the recording proxy send (`None`
/// for any other status): the one table of them.
pub fn reason_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn decodes_queries() {
        assert_eq!(
            parse_query("a=1&b=x%2By+z&c&d=%zz%4"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x+y z".into()),
                ("c".into(), String::new()),
                ("d".into(), "%zz%4".into()),
            ]
        );
        assert_eq!(percent_decode("%C3%A9%"), "é%");
    }

    #[test]
    fn the_mock_keeps_its_reason_phrases_over_the_shared_table() {
        assert_eq!(reason(200), "OK");
        assert_eq!(reason(429), "Too Many Requests");
        assert_eq!(reason(503), "Service Unavailable");
        // The mock's own status and its fallback are not in the shared table.
        assert_eq!(reason(599), "Script Mismatch");
        assert_eq!(reason_phrase(599), None);
        assert_eq!(reason(418), "Unknown");
        assert_eq!(reason_phrase(418), None);
    }

    #[test]
    fn parses_heads() {
        let r = parse_head("GET /audit/v1/logs?limit=2 HTTP/1.1\r\nHost: x\r\nCONNECTION: Close")
            .unwrap();
        assert_eq!(r.path, "/audit/v1/logs");
        assert_eq!(r.param("limit"), Some("2"));
        assert_eq!(r.header("host"), Some("x"));
        assert!(!r.keep_alive);
        let r = parse_head("GET / HTTP/1.0").unwrap();
        assert!(!r.keep_alive);
        assert!(parse_head("garbage").is_none());
    }
}
