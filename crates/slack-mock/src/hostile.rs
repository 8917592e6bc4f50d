//! Responses built to exhaust a client: a body that never ends, a gzip body that inflates a
//! thousandfold, a `Content-Length` of a terabyte, a head of megabytes, a body that trickles in.
//!
//! Each is what a broken proxy, a TLS-inspecting middlebox or a wrong `api_base_url` can send;
//! a client must survive all of them with bounded memory and bounded time. They are sent with
//! `Connection: close` and the connection ends when the client hangs up (a write fails).

use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// What a page looks like up to its first entry: a client has to read on to find the end.
const PAGE_START: &[u8] = b"{\"entries\":[";
/// One entry of an endless body (a valid entry, so only the size gives the game away).
const ENDLESS_ENTRY: &[u8] =
    b"{\"id\":\"endless\",\"date_create\":1767225600,\"action\":\"user_login\"},";
/// Size of each write of an endless body.
const CHUNK: usize = 64 * 1024;

/// A hostile response (see the module doc).
#[derive(Debug, Clone)]
pub(crate) enum Hostile {
    EndlessBody,
    GzipBomb { inflated: u64 },
    HugeContentLength,
    HugeHeaders { bytes: usize },
    Trickle(Duration),
}

impl Hostile {
    /// Sends the response on `stream` until it is complete or the client hangs up. `page` is
    /// the page the request would have got (head and body), for the kinds that send one.
    pub(crate) async fn serve(self, stream: &mut TcpStream, page: &[u8]) {
        let _ = match self {
            Hostile::EndlessBody => endless_body(stream).await,
            Hostile::GzipBomb { inflated } => gzip_bomb(stream, inflated).await,
            Hostile::HugeContentLength => huge_content_length(stream).await,
            Hostile::HugeHeaders { bytes } => huge_headers(stream, bytes).await,
            Hostile::Trickle(interval) => trickle(stream, page, interval).await,
        };
    }
}

async fn endless_body(stream: &mut TcpStream) -> std::io::Result<()> {
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        )
        .await?;
    let mut chunk = Vec::with_capacity(CHUNK + 64);
    chunk.extend_from_slice(format!("{:x}\r\n", PAGE_START.len()).as_bytes());
    chunk.extend_from_slice(PAGE_START);
    chunk.extend_from_slice(b"\r\n");
    stream.write_all(&chunk).await?;
    let mut body = Vec::with_capacity(CHUNK);
    while body.len() + ENDLESS_ENTRY.len() <= CHUNK {
        body.extend_from_slice(ENDLESS_ENTRY);
    }
    chunk.clear();
    chunk.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(b"\r\n");
    loop {
        stream.write_all(&chunk).await?;
    }
}

async fn huge_content_length(stream: &mut TcpStream) -> std::io::Result<()> {
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1099511627776\r\nConnection: close\r\n\r\n",
        )
        .await?;
    stream.write_all(PAGE_START).await?;
    let spaces = vec![b' '; CHUNK];
    loop {
        stream.write_all(&spaces).await?;
    }
}

async fn huge_headers(stream: &mut TcpStream, bytes: usize) -> std::io::Result<()> {
    let mut head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n".to_vec();
    let line_value = "x".repeat(1000);
    let mut n = 0usize;
    while n * 1024 < bytes {
        head.extend_from_slice(format!("X-Filler-{n:06}: {line_value}\r\n").as_bytes());
        n += 1;
        if head.len() >= CHUNK {
            stream.write_all(&head).await?;
            head.clear();
        }
    }
    let body = b"{\"entries\":[],\"response_metadata\":{\"next_cursor\":\"\"}}";
    head.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    head.extend_from_slice(body);
    stream.write_all(&head).await
}

async fn trickle(stream: &mut TcpStream, page: &[u8], interval: Duration) -> std::io::Result<()> {
    // The head at once, then the body byte by byte.
    let head_len = page
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |p| p + 4);
    stream.write_all(&page[..head_len]).await?;
    for byte in &page[head_len..] {
        stream.write_all(std::slice::from_ref(byte)).await?;
        stream.flush().await?;
        tokio::time::sleep(interval).await;
    }
    Ok(())
}

async fn gzip_bomb(stream: &mut TcpStream, inflated: u64) -> std::io::Result<()> {
    let body = bomb(inflated);
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body).await
}

/// Spaces inflated per repeated deflate block run (see [`bomb`]).
const BLOCK_INFLATED: usize = 8 << 20;

/// A gzip member that inflates to `PAGE_START` followed by whitespace, `inflated` bytes in all
/// (the whitespace rounded up to a multiple of 8 MiB), built without compressing it all: one run
/// of deflate blocks for 8 MiB of spaces is compressed once (sync-flushed, so it ends on a byte
/// boundary and refers to nothing before it) and repeated; the trailer carries the true CRC
/// and size of the whole.
fn bomb(inflated: u64) -> Vec<u8> {
    static BLOCK: OnceLock<(Vec<u8>, crc32fast::Hasher)> = OnceLock::new();
    let (block, block_crc) = BLOCK.get_or_init(|| {
        let spaces = vec![b' '; BLOCK_INFLATED];
        let mut crc = crc32fast::Hasher::new();
        crc.update(&spaces);
        (deflate_sync(&spaces), crc)
    });
    let repeats = inflated
        .saturating_sub(PAGE_START.len() as u64)
        .div_ceil(BLOCK_INFLATED as u64)
        .max(1);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(&deflate_sync(PAGE_START));
    let mut crc = crc32fast::Hasher::new();
    crc.update(PAGE_START);
    for _ in 0..repeats {
        out.extend_from_slice(block);
        crc.combine(block_crc);
    }
    // A final, empty block with fixed codes: BFINAL=1, BTYPE=01, end-of-block.
    out.extend_from_slice(&[0x03, 0x00]);
    let size = PAGE_START.len() as u64 + repeats * BLOCK_INFLATED as u64;
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out
}

/// Raw deflate of `data`, sync-flushed (not final; ends on a byte boundary).
fn deflate_sync(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail; `flush` is a sync flush, and the encoder is never finished
    // (that would write a final block).
    let _ = encoder.write_all(data).and_then(|()| encoder.flush());
    encoder.get_ref().clone()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Read;

    use super::*;

    #[test]
    fn the_bomb_is_small_and_inflates_to_what_it_says() {
        let body = bomb(24 << 20);
        assert!(body.len() < 100 * 1024, "{} bytes", body.len());
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated.len(), PAGE_START.len() + 3 * BLOCK_INFLATED);
        assert!(inflated.starts_with(PAGE_START));
        assert!(inflated[PAGE_START.len()..].iter().all(|b| *b == b' '));
    }
}
