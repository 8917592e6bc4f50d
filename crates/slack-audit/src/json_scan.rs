//! Reading a few top-level members of a JSON object without parsing the rest: the page's
//! `id`, `date_create` and `action` of every entry, the lake's `class_uid` and `time` of every
//! event. The text is valid JSON (a parse has checked it, or one will); anything the scan does
//! not handle simply (an escape in a key, a malformed member) makes it decline, and the caller
//! asks serde.

use std::ops::Range;

/// Whether [`members`] goes on after a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Next,
    Stop,
    /// The caller declines the object (a value it does not read simply): `members` answers
    /// `None`, as for a malformed object.
    Decline,
}

/// Calls `each` with every top-level member of the object `text` (its key, without quotes,
/// and its value's range), in order, until it says [`Flow::Stop`]. `None` when the scan
/// declines: `text` is not an object, a key has escapes, a member is malformed, or `each`
/// said [`Flow::Decline`].
pub(crate) fn members(
    text: &[u8],
    mut each: impl FnMut(&[u8], Range<usize>) -> Flow,
) -> Option<()> {
    let mut i = skip_ws(text, 0);
    if text.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(text, i);
        match text.get(i)? {
            b'}' => return Some(()),
            b'"' => {}
            _ => return None,
        }
        let key = string_body(text, i)?;
        i = skip_ws(text, key.end + 1);
        if text.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(text, i + 1);
        let value_start = i;
        let value_end = skip_value(text, i)?;
        match each(&text[key], value_start..value_end) {
            Flow::Next => {}
            Flow::Stop => return Some(()),
            Flow::Decline => return None,
        }
        i = skip_ws(text, value_end);
        match text.get(i)? {
            b',' => i += 1,
            b'}' => return Some(()),
            _ => return None,
        }
    }
}

pub(crate) fn skip_ws(text: &[u8], mut i: usize) -> usize {
    while matches!(text.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

/// The byte range between the quotes of the string starting at `start`, if it has no escapes.
pub(crate) fn string_body(text: &[u8], start: usize) -> Option<Range<usize>> {
    let from = start + 1;
    let len = memchr::memchr2(b'"', b'\\', text.get(from..)?)?;
    if text[from + len] == b'\\' {
        return None;
    }
    Some(from..from + len)
}

/// The end (exclusive) of the JSON value starting at `i` in valid JSON.
fn skip_value(text: &[u8], i: usize) -> Option<usize> {
    match *text.get(i)? {
        b'"' => skip_string(text, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match *text.get(j)? {
                    b'"' => {
                        j = skip_string(text, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while let Some(b) = text.get(j) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                    break;
                }
                j += 1;
            }
            Some(j)
        }
    }
}

/// The end (exclusive, after the closing quote) of the string starting at `i`.
fn skip_string(text: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let n = memchr::memchr2(b'"', b'\\', text.get(j..)?)?;
        j += n;
        if text[j] == b'\\' {
            j += 2;
        } else {
            return Some(j + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The members `members` reports until `stop_at` (a key), as `key=value` texts, or
    /// `declined`.
    fn seen(text: &str, stop_at: &str) -> String {
        let mut out = Vec::new();
        let scanned = members(text.as_bytes(), |key, value| {
            let key = std::str::from_utf8(key).unwrap();
            out.push(format!("{key}={}", &text[value]));
            if key == stop_at {
                Flow::Stop
            } else {
                Flow::Next
            }
        });
        match scanned {
            Some(()) => out.join(" "),
            None => "declined".to_owned(),
        }
    }

    #[test]
    fn members_are_read_in_order_until_told_to_stop() {
        for (text, stop_at, expected) in [
            (
                r#"{"a":1,"b":"x,\"}","c":{"d":[1,{"e":2}]}}"#,
                "",
                r#"a=1 b="x,\"}" c={"d":[1,{"e":2}]}"#,
            ),
            (r#" { "a" : 1 , "b" : [ ] } "#, "", "a=1 b=[ ]"),
            (r#"{"a":1,"b":2,"c":3}"#, "b", "a=1 b=2"),
            (r#"{"a":1,"b":2,"c":"#, "b", "a=1 b=2"),
            ("{}", "", ""),
            (r#"{"\u0061":1}"#, "", "declined"),
            ("[1]", "", "declined"),
            (r#"{"a" 1}"#, "", "declined"),
            (r#"{"a":1 "b":2}"#, "", "declined"),
            (r#"{"a":1,"b":2"#, "", "declined"),
        ] {
            assert_eq!(seen(text, stop_at), expected, "{text}");
        }
    }
}
