//! Runtime layer: NDJSON.gz objects, the records exactly as the input emitted them, one a
//! line (each ended by a newline), gzip-compressed. Any table, schema or not: what feeds like
//! Google SecOps' and Panther's S3 sources read.
//!
//! The output is deterministic (gzip's header has no time or name), so the same records give
//! the same bytes.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::runtime::lake::encode::{EncodeError, ObjectBody, ObjectEncoder};

/// Writes records as gzip-compressed NDJSON.
#[derive(Debug, Clone, Copy)]
pub struct NdjsonGzEncoder {
    level: Compression,
}

impl Default for NdjsonGzEncoder {
    fn default() -> Self {
        NdjsonGzEncoder::new()
    }
}

impl NdjsonGzEncoder {
    /// An encoder at gzip's default level (6).
    pub fn new() -> NdjsonGzEncoder {
        NdjsonGzEncoder {
            level: Compression::default(),
        }
    }
}

impl ObjectEncoder for NdjsonGzEncoder {
    fn extension(&self) -> &'static str {
        "ndjson.gz"
    }

    fn start(&self, table: &str) -> Result<Box<dyn ObjectBody + '_>, EncodeError> {
        Ok(Box::new(NdjsonGzBody {
            table: table.to_owned(),
            gz: GzEncoder::new(Vec::new(), self.level),
            records: 0,
        }))
    }
}

/// One NDJSON.gz object being written.
struct NdjsonGzBody {
    table: String,
    gz: GzEncoder<Vec<u8>>,
    records: u64,
}

impl NdjsonGzBody {
    fn error(&self, message: String) -> EncodeError {
        EncodeError {
            table: self.table.clone(),
            message,
        }
    }
}

impl ObjectBody for NdjsonGzBody {
    fn push(&mut self, record: &[u8]) -> Result<(), EncodeError> {
        self.records += 1;
        if memchr::memchr(b'\n', record).is_some() {
            return Err(self.error(format!(
                "record {} of the object holds a newline (it would become two lines)",
                self.records
            )));
        }
        let written = self
            .gz
            .write_all(record)
            .and_then(|()| self.gz.write_all(b"\n"));
        written.map_err(|e| self.error(format!("cannot compress: {e}")))
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, EncodeError> {
        let table = self.table;
        self.gz.finish().map_err(|e| EncodeError {
            table,
            message: format!("cannot finish the object: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Read;

    use super::*;

    fn gunzip(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn records_come_back_byte_for_byte_one_a_line() {
        let records: Vec<&[u8]> = vec![
            br#"{"id":"1","date_create":1767225600,"action":"user_login"}"#,
            br#"{"s":"caf\u00e9 \"quoted\"","n":1.50}"#,
            "{\"raw\":\"é\"}".as_bytes(),
            b"",
        ];
        let encoder = NdjsonGzEncoder::new();
        let body = encoder
            .encode("audit_logs", &mut records.iter().copied())
            .unwrap();
        assert_eq!(&body[..2], [0x1f, 0x8b], "gzip");
        let mut expected = Vec::new();
        for record in &records {
            expected.extend_from_slice(record);
            expected.push(b'\n');
        }
        assert_eq!(gunzip(&body), expected);
        let again = encoder
            .encode("audit_logs", &mut records.iter().copied())
            .unwrap();
        assert_eq!(body, again, "deterministic");
        assert_eq!(encoder.extension(), "ndjson.gz");
        let empty = encoder
            .encode("audit_logs", &mut std::iter::empty())
            .unwrap();
        assert!(gunzip(&empty).is_empty());
    }

    #[test]
    fn a_record_with_a_newline_is_refused() {
        let records: Vec<&[u8]> = vec![b"{}", b"{\"a\":1}\n{\"b\":2}"];
        let err = NdjsonGzEncoder::new()
            .encode("t", &mut records.iter().copied())
            .unwrap_err()
            .to_string();
        assert!(err.contains("record 2") && err.contains("newline"), "{err}");
    }
}
