//! The fast path of [`Rows::push`](super::Rows::push): one pass over a record's bytes that
//! appends its values straight to the columns of the table (no `serde_json::Value`, no JSON
//! text for arrow-json to parse again: a row costs one scan of the record).
//!
//! It answers only for records it reads without doubt: valid JSON (UTF-8, string escapes,
//! number grammar, literals, nesting at most [`MAX_DEPTH`]) whose every field is a column of
//! the schema, given once, with a value of the column's type. For anything else (an unknown
//! field, a `null`, an escaped key, a lone surrogate escape, a malformed value) it declines, and
//! the serde path ([`super::RowShape::to_row`]) reads the record and names what is wrong, or
//! writes its row as JSON text, which this scan then reads in [`Mode::Row`]. The columns are
//! what arrow-json decodes from that text (the tests compare both on every case).

use super::columns::Column;
use super::{Fields, Kind, Node, Scalar};

/// Deeper nesting is left to the serde path (and its own recursion limit).
const MAX_DEPTH: usize = 100;

/// What is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// A record: a JSON-text column takes any value, whose text it keeps.
    Record,
    /// A row the serde path wrote: a JSON-text column holds that text as a string.
    Row,
}

/// Appends the row of `record` (shaped by `root`, a struct) to `columns`; `None` when the scan
/// declines (then the columns may hold part of the row: the caller truncates them).
pub(super) fn push(root: &Node, columns: &mut Column, record: &[u8], mode: Mode) -> Option<()> {
    let mut scan = Scan {
        whole: simdutf8::basic::from_utf8(record).ok()?,
        text: record,
        at: 0,
        depth: 0,
        mode,
    };
    let Node::Struct(fields) = root else {
        return None;
    };
    scan.ws();
    scan.object(fields, columns)?;
    scan.ws();
    (scan.at == record.len()).then_some(())
}

struct Scan<'r> {
    /// The record, checked to be UTF-8 once.
    whole: &'r str,
    /// Its bytes.
    text: &'r [u8],
    at: usize,
    depth: usize,
    mode: Mode,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    /// Skips whitespace. Records that programs write have none between tokens, so this is
    /// one compare; the loop is out of line.
    #[inline(always)]
    fn ws(&mut self) {
        if self.peek().is_some_and(|b| b <= b' ') {
            self.skip_ws();
        }
    }

    #[inline(never)]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    /// Consumes `byte` (after whitespace), or declines.
    fn consume(&mut self, byte: u8) -> Option<()> {
        if self.peek() == Some(byte) {
            self.at += 1;
            return Some(());
        }
        self.ws();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn deeper(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// One value shaped by `node`, appended to `column` (its column, or a struct or list of
    /// them).
    fn shaped(&mut self, node: &Node, column: &mut Column) -> Option<()> {
        self.ws();
        match (node, column) {
            (Node::Json, Column::Text(text)) if self.mode == Mode::Record => {
                let start = self.at;
                self.value()?;
                // A valid value's ends are ASCII: its bytes are UTF-8 (no boundary to check).
                text.push(self.text.get(start..self.at)?);
                Some(())
            }
            (Node::Json | Node::Scalar(Scalar::Utf8), Column::Text(text)) => {
                self.string_into(|s| text.push(s))
            }
            (Node::Scalar(Scalar::Int64), Column::Int64(values)) => match self.number()? {
                Kind::Integer(i) => {
                    values.push(i);
                    Some(())
                }
                _ => None,
            },
            (Node::Scalar(Scalar::Float64), Column::Float64(values)) => {
                let start = self.at;
                let kind = self.number()?;
                let text = self.whole.get(start..self.at)?;
                if !Scalar::Float64.admits(kind, text) {
                    return None;
                }
                // From the text even for an integer: `-0` stays -0.0, as serde's row has it.
                values.push(text.parse().ok()?);
                Some(())
            }
            (Node::Scalar(Scalar::Boolean), Column::Boolean(values)) => {
                let value = match self.peek()? {
                    b't' => self.literal(b"true").map(|()| true),
                    b'f' => self.literal(b"false").map(|()| false),
                    _ => None,
                }?;
                values.push(value);
                Some(())
            }
            (Node::Struct(fields), column @ Column::Struct { .. }) => self.object(fields, column),
            (
                Node::List(item, _),
                Column::List {
                    item: items,
                    offsets,
                    valid,
                },
            ) => {
                self.enclosed(b'[', b']', |scan| scan.shaped(item, items))?;
                offsets.push(i32::try_from(items.len()).ok()?);
                valid.push(true);
                Some(())
            }
            _ => None,
        }
    }

    /// A string at the cursor, its value (unescaped) handed to `push`.
    fn string_into(&mut self, push: impl FnOnce(&[u8])) -> Option<()> {
        let (body, escaped) = self.string()?;
        if escaped {
            // Rare: serde unescapes (it pairs surrogates; the scan let none lone through).
            let text_of: String =
                serde_json::from_str(self.whole.get(body.start - 1..body.end + 1)?).ok()?;
            push(text_of.as_bytes());
        } else {
            // Bytes between two quotes of a UTF-8 record: UTF-8 (no boundary to check).
            push(self.text.get(body)?);
        }
        Some(())
    }

    /// An object shaped by `fields`, appended to the struct column `column`; the fields it does
    /// not have are null (left behind, padded when next written: [`Column::pad_to`]). A field
    /// given twice is seen by its column already holding this row.
    fn object(&mut self, fields: &Fields, column: &mut Column) -> Option<()> {
        let Column::Struct {
            children,
            valid,
            next,
        } = column
        else {
            return None;
        };
        let row = valid.len();
        let mut previous = children.len();
        self.enclosed(b'{', b'}', |scan| {
            let predicted = usize::from(*next.get(previous)?);
            let index = match fields.key_at(predicted, scan.text, scan.at) {
                Some(len) => {
                    scan.at += len;
                    predicted
                }
                None => {
                    let index = fields.find(scan.plain_key()?)?;
                    next[previous] = u16::try_from(index).ok()?;
                    index
                }
            };
            previous = index;
            let child = children.get_mut(index)?;
            if !child.open_row(row) {
                return None;
            }
            scan.consume(b':')?;
            scan.shaped(&fields.nodes[index], child)
        })?;
        valid.push(true);
        Some(())
    }

    /// An array's items or an object's members: `open`, then `item` for each (after
    /// whitespace), separated by commas, then `close`; the nesting is counted.
    fn enclosed(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        self.consume(open)?;
        self.deeper()?;
        self.ws();
        if self.peek()? == close {
            self.at += 1;
        } else {
            loop {
                self.ws();
                item(self)?;
                self.ws();
                match self.peek()? {
                    b',' => self.at += 1,
                    b if b == close => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// A key without escapes: its text between the quotes.
    fn plain_key(&mut self) -> Option<&str> {
        let (body, escaped) = self.string()?;
        if escaped {
            return None;
        }
        self.whole.get(body)
    }

    /// Skips one valid JSON value (checking it as serde_json would), or declines.
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => self.enclosed(b'{', b'}', |scan| {
                scan.string()?;
                scan.consume(b':')?;
                scan.ws();
                scan.value()
            }),
            b'[' => self.enclosed(b'[', b']', Scan::value),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(|_| ()),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.text.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// A string at the cursor: the range between its quotes, and whether it has escapes. No
    /// control characters, only JSON's escapes, surrogate escapes only in pairs (a lone one is
    /// left to the serde path: free-form text keeps it, a string column refuses it).
    fn string(&mut self) -> Option<(std::ops::Range<usize>, bool)> {
        if self.peek()? != b'"' {
            return None;
        }
        self.at += 1;
        let from = self.at;
        let mut escaped = false;
        loop {
            self.at += string_stop(self.text.get(self.at..)?)?;
            match self.text[self.at] {
                b'"' => {
                    self.at += 1;
                    return Some((from..self.at - 1, escaped));
                }
                b'\\' => {
                    escaped = true;
                    match *self.text.get(self.at + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
                        b'u' => match self.unit(self.at)? {
                            0xD800..=0xDBFF => {
                                // A pair, or the serde path decides.
                                let low = self.unit(self.at + 6)?;
                                if !(0xDC00..=0xDFFF).contains(&low) {
                                    return None;
                                }
                                self.at += 12;
                            }
                            0xDC00..=0xDFFF => return None,
                            _ => self.at += 6,
                        },
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    /// The UTF-16 unit of the escape `\uXXXX` at `at`.
    fn unit(&self, at: usize) -> Option<u16> {
        let escape = self.text.get(at..at + 6)?;
        if &escape[..2] != b"\\u" || !escape[2..].iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&escape[2..]).ok()?, 16).ok()
    }

    /// A number in JSON's grammar (`-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`),
    /// and what it is.
    fn number(&mut self) -> Option<Kind> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        // The integer part's value as its digits are read, negated (so that `i64::MIN` fits);
        // `None` past 64 bits.
        let mut negated = Some(0i64);
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                while let Some(digit @ b'0'..=b'9') = self.peek() {
                    negated = negated
                        .and_then(|n| n.checked_mul(10)?.checked_sub(i64::from(digit - b'0')));
                    self.at += 1;
                }
            }
            _ => return None,
        }
        let mut fraction = false;
        if self.peek() == Some(b'.') {
            fraction = true;
            self.at += 1;
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            fraction = true;
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        // What `Kind::of` answers for this text, without looking at it again.
        let integer = negated.and_then(|n| if negative { Some(n) } else { n.checked_neg() });
        Some(match (fraction, integer) {
            (true, _) => Kind::Fraction,
            (false, Some(i)) => Kind::Integer(i),
            (false, None) => Kind::BigInteger,
        })
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }
}

/// Where the first byte that ends a run of plain string text (`"`, `\` or a control
/// character) is in `bytes`. Eight bytes at a time: strings are most of a record.
fn string_stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of `word` below `n` (exact up to the first such byte, which is
    // all that is asked: bytes after it may be marked wrongly).
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut words {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).ok()?);
        let stops = below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
            | below(word, 0x20);
        if stops != 0 {
            return Some(at + (stops.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = words.remainder();
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::string_stop;

    /// What `string_stop` must answer: the byte-at-a-time search it replaces.
    fn one_at_a_time(bytes: &[u8]) -> Option<usize> {
        bytes
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
    }

    #[test]
    fn the_word_at_a_time_search_stops_where_the_byte_at_a_time_one_does() {
        // Every stop byte and its neighbours, at every offset of a word and past it, after
        // plain ASCII, UTF-8 (high bytes) or another stop, so borrows between bytes are tried.
        let stops_and_neighbours = [0x00, 0x1F, 0x20, 0x21, b'"', 0x23, 0x5B, b'\\', 0x5D, 0x7F];
        let fillers = [b'a', 0x80, 0xC3, 0xFF, 0x01, 0x21];
        let mut cases = 0;
        for len in 0..=19 {
            for &filler in &fillers {
                for at in 0..len {
                    for &stop in &stops_and_neighbours {
                        for &after in &stops_and_neighbours {
                            let mut bytes = vec![filler; len];
                            bytes[at] = stop;
                            if at + 1 < len {
                                bytes[at + 1] = after;
                            }
                            assert_eq!(string_stop(&bytes), one_at_a_time(&bytes), "{bytes:?}");
                            cases += 1;
                        }
                    }
                }
                let plain = vec![filler; len];
                assert_eq!(string_stop(&plain), one_at_a_time(&plain), "{plain:?}");
            }
        }
        assert!(cases > 10_000);
    }
}
