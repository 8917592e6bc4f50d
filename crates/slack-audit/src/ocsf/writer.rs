//! Writing the event straight into the output buffer, in order.
//!
//! Values taken from the entry are written as the bytes Slack sent (a string keeps its
//! escapes, a number its spelling); keys and constants are the mapping's own and need no
//! escaping; the rare string the mapping composes goes through `serde_json`'s escaping.

/// Every member name the mapping writes outside free-form values (`unmapped`, `data`…), at any
/// depth: the classification header, the constants, and every key given to the module's object
/// writer. The lake's Parquet schemas keep only the OCSF columns whose path is made of these
/// names (`cargo xtask schema`), so a table has the 64 to 120 columns the mapping can fill rather
/// than the class's 686 to 1,451. A test reads this module's and `event.rs`'s source and fails
/// when a key written there is missing here, or a name here is written nowhere.
pub const WRITTEN_KEYS: &[&str] = &[
    "activity_id",
    "activity_name",
    "actor",
    "api",
    "app_name",
    "app_uid",
    "category_name",
    "category_uid",
    "class_name",
    "class_uid",
    "cloud",
    "data",
    "email_addr",
    "entity",
    "entity_result",
    "event_code",
    "evidences",
    "file",
    "finding_info",
    "first_seen_time",
    "group",
    "http_request",
    "ip",
    "message",
    "metadata",
    "name",
    "operation",
    "org",
    "original_event_uid",
    "original_time",
    "ou_name",
    "ou_uid",
    "policy",
    "privileges",
    "product",
    "profiles",
    "provider",
    "raw_data",
    "resources",
    "service",
    "session",
    "severity",
    "severity_id",
    "src_endpoint",
    "status",
    "status_id",
    "tenant_uid",
    "time",
    "title",
    "type",
    "type_id",
    "type_name",
    "type_uid",
    "types",
    "uid",
    "unmapped",
    "user",
    "user_agent",
    "vendor_name",
    "version",
    "web_resources",
];

/// An object being written: commas between members, nothing at all if it stays empty.
pub(crate) struct ObjW {
    start: usize,
    empty: bool,
}

impl ObjW {
    /// Starts an object.
    pub(crate) fn begin(out: &mut Vec<u8>) -> ObjW {
        let start = out.len();
        out.push(b'{');
        ObjW { start, empty: true }
    }

    /// Continues the object whose first members a header (already in `out` from `start`)
    /// wrote.
    pub(crate) fn continuing(start: usize) -> ObjW {
        ObjW {
            start,
            empty: false,
        }
    }

    /// Takes back a key written at `mark` whose value turned out empty (only for an object
    /// that already had a member before it).
    pub(crate) fn undo_key(&mut self, out: &mut Vec<u8>, mark: usize) {
        out.truncate(mark);
    }

    /// Writes the key `key` (a plain ASCII name); the caller writes its value next.
    pub(crate) fn key(&mut self, out: &mut Vec<u8>, key: &str) {
        if !self.empty {
            out.push(b',');
        }
        self.empty = false;
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
    }

    /// A member whose value is JSON text.
    pub(crate) fn raw(&mut self, out: &mut Vec<u8>, key: &str, json: &str) {
        self.key(out, key);
        out.extend_from_slice(json.as_bytes());
    }

    /// A member whose value is a constant string that needs no escaping.
    pub(crate) fn text(&mut self, out: &mut Vec<u8>, key: &str, text: &str) {
        self.key(out, key);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }

    /// A member whose value is an integer.
    pub(crate) fn int(&mut self, out: &mut Vec<u8>, key: &str, n: i64) {
        self.key(out, key);
        int(out, n);
    }

    /// A member whose value is an object written by `write`; no member at all if `write`
    /// leaves that object empty.
    pub(crate) fn obj(
        &mut self,
        out: &mut Vec<u8>,
        key: &str,
        write: impl FnOnce(&mut Vec<u8>, &mut ObjW),
    ) {
        let mark = out.len();
        let was_empty = self.empty;
        self.key(out, key);
        let mut inner = ObjW::begin(out);
        write(out, &mut inner);
        if inner.end(out) {
            return;
        }
        out.truncate(mark);
        self.empty = was_empty;
    }

    /// Whether nothing was written into the object yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.empty
    }

    /// Ends the object: `false` (and nothing written) if it stayed empty.
    pub(crate) fn end(self, out: &mut Vec<u8>) -> bool {
        if self.empty {
            out.truncate(self.start);
            return false;
        }
        out.push(b'}');
        true
    }

    /// Ends the object even if it is empty (`{}`).
    pub(crate) fn close(self, out: &mut Vec<u8>) {
        out.push(b'}');
    }
}

/// An integer in decimal.
pub(crate) fn int(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

/// A string that may need escaping.
pub(crate) fn escaped(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_integers() {
        let mut out = Vec::new();
        let mut o = ObjW::begin(&mut out);
        o.int(&mut out, "a", -1_767_225_600_000);
        o.obj(&mut out, "empty", |_, _| {});
        o.obj(&mut out, "b", |out, b| b.text(out, "c", "d"));
        o.int(&mut out, "z", 0);
        o.close(&mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"a":-1767225600000,"b":{"c":"d"},"z":0}"#
        );
        let mut out = Vec::new();
        escaped(&mut out, "a\"b");
        assert_eq!(out, br#""a\"b""#);
    }
}
