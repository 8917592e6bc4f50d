//! One response body of `GET /audit/v1/logs`, parsed just enough.
//!
//! Records pass through as Slack sent them, so an entry is never turned into a typed struct:
//! the body is kept as bytes and each entry is a byte range into it, plus the two fields the
//! sync needs (`id`, `date_create`). Parsing here is also the validation step: a truncated or
//! non-JSON body, or a 200 carrying `"ok": false`, is an error for the retry layer, never an
//! empty page.

use std::borrow::Cow;
use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json_scan::{Flow, members, skip_ws, string_body};

/// A parsed page: the body bytes and where each entry is in them.
#[derive(Debug, Clone, Default)]
pub struct Page {
    body: Vec<u8>,
    entries: Vec<EntryRef>,
    next_cursor: Option<String>,
}

/// Where one entry is, and the keys the sync reads from it.
#[derive(Debug, Clone)]
pub struct EntryRef {
    raw: Range<usize>,
    id: Option<IdRef>,
    /// `date_create` as unix seconds, when present and an integer.
    pub date_create: Option<i64>,
}

#[derive(Debug, Clone)]
enum IdRef {
    Span(Range<usize>),
    Owned(Box<str>),
}

/// Why a body is not a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// Not JSON, or cut short.
    Malformed(String),
    /// A Slack error object (`{"ok": false, "error": …}`).
    Slack {
        /// Slack's error code, when it gave one.
        code: Option<String>,
    },
    /// JSON, but without `entries`.
    NoEntries,
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow, default)]
    entries: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    response_metadata: Option<Metadata>,
    #[serde(default)]
    ok: Option<bool>,
    #[serde(borrow, default)]
    error: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    next_cursor: Option<String>,
}

/// The keys, for the serde path. (An `Option<Cow<str>>` would not borrow: serde borrows only a
/// `Cow` field itself, so the id is owned whatever its type says.)
#[derive(Deserialize)]
struct Keys {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    date_create: Option<serde_json::Number>,
}

impl Page {
    /// Parses a response body.
    pub fn parse(body: Vec<u8>) -> Result<Page, PageError> {
        let (entries, next_cursor) = {
            let wire: Wire<'_> = serde_json::from_slice(&body).map_err(|e| {
                PageError::Malformed(if e.is_eof() {
                    "the response body is truncated".to_owned()
                } else {
                    format!("the response body is not the expected JSON ({e})")
                })
            })?;
            // An error object is `"ok": false`, or (without `ok`) a non-empty `error`. A page that
            // says `"ok": true` is a page, whatever empty `error` field rides along.
            let error_given = wire.error.as_deref().is_some_and(|e| !e.is_empty());
            if wire.ok == Some(false) || (wire.ok.is_none() && error_given) {
                return Err(PageError::Slack {
                    code: wire.error.filter(|e| !e.is_empty()).map(Cow::into_owned),
                });
            }
            let Some(raw_entries) = wire.entries else {
                return Err(PageError::NoEntries);
            };
            let base = body.as_ptr() as usize;
            let entries = raw_entries
                .iter()
                .map(|raw| {
                    let text = raw.get();
                    let start = text.as_ptr() as usize - base;
                    let (id, date_create) = read_keys(raw, base);
                    EntryRef {
                        raw: start..start + text.len(),
                        id,
                        date_create,
                    }
                })
                .collect();
            let next_cursor = wire
                .response_metadata
                .and_then(|m| m.next_cursor)
                .filter(|c| !c.is_empty());
            (entries, next_cursor)
        };
        Ok(Page {
            body,
            entries,
            next_cursor,
        })
    }

    /// The entries, in the order Slack sent them (newest first).
    pub fn entries(&self) -> &[EntryRef] {
        &self.entries
    }

    /// The raw JSON text of `entry`, exactly as Slack sent it.
    pub fn raw(&self, entry: &EntryRef) -> &[u8] {
        &self.body[entry.raw.clone()]
    }

    /// The `id` of `entry`, when it has a string id.
    pub fn id<'p>(&'p self, entry: &'p EntryRef) -> Option<&'p str> {
        match &entry.id {
            Some(IdRef::Span(r)) => std::str::from_utf8(&self.body[r.clone()]).ok(),
            Some(IdRef::Owned(s)) => Some(s),
            None => None,
        }
    }

    /// The `action` of `entry`, when it has a string one: read from the entry's top level
    /// without parsing the rest (Slack writes it third), or by serde for an escaped one.
    /// `None` for a missing, non-string or duplicated `action`.
    pub fn action<'p>(&'p self, entry: &'p EntryRef) -> Option<Cow<'p, str>> {
        let text = &self.body[entry.raw.clone()];
        match scan_string_member(text, b"action") {
            Scanned::Found(range) => std::str::from_utf8(&text[range]).ok().map(Cow::Borrowed),
            Scanned::Absent => None,
            Scanned::Declined => {
                #[derive(Deserialize)]
                struct ActionKey<'a> {
                    #[serde(borrow, default)]
                    action: Option<Cow<'a, str>>,
                }
                serde_json::from_slice::<ActionKey<'_>>(text)
                    .ok()
                    .and_then(|keys| keys.action)
                    .map(|action| Cow::Owned(action.into_owned()))
            }
        }
    }

    /// The cursor of the next page; `None` at the end (`""`, `null` and absent alike).
    pub fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }

    /// The body's allocation, for reuse.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// Size of the body in bytes.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }
}

/// How far from the end of a body [`peek_next_cursor`] looks.
const PEEK_WINDOW: usize = 16 * 1024;

/// The `next_cursor` of a complete body, read from its last bytes without parsing the rest.
///
/// Slack writes `response_metadata` after `entries`, so the cursor sits at the very end of a
/// page; reading it there lets the request for the next page leave while this one is still
/// being parsed. It is only a guess (a key of that name could sit in an entry, and the body is
/// not validated here): [`Page::parse`] stays the authority, and a guess it contradicts is
/// thrown away. `None` when the body does not end like a complete object, or the cursor is
/// absent, empty or escaped.
pub fn peek_next_cursor(body: &[u8]) -> Option<&str> {
    let mut end = body.len();
    while end > 0 && matches!(body[end - 1], b' ' | b'\n' | b'\r' | b'\t') {
        end -= 1;
    }
    if end == 0 || body[end - 1] != b'}' {
        return None;
    }
    let from = end.saturating_sub(PEEK_WINDOW);
    let tail = &body[from..end];
    let key = memchr::memmem::rfind(tail, b"\"next_cursor\"")?;
    let mut i = skip_ws(tail, key + b"\"next_cursor\"".len());
    if tail.get(i) != Some(&b':') {
        return None;
    }
    i = skip_ws(tail, i + 1);
    if tail.get(i) != Some(&b'"') {
        return None;
    }
    let cursor = string_body(tail, i)?;
    std::str::from_utf8(&tail[cursor])
        .ok()
        .filter(|c| !c.is_empty())
}

fn read_keys(raw: &RawValue, base: usize) -> (Option<IdRef>, Option<i64>) {
    let text = raw.get();
    let offset = text.as_ptr() as usize - base;
    if let Some((id, date)) = scan_keys(text.as_bytes()) {
        let id = id.map(|r| IdRef::Span(offset + r.start..offset + r.end));
        return (id, date);
    }
    read_keys_slow(text)
}

/// The general path: serde, for entries the scanner declines (escaped ids, float dates, …).
fn read_keys_slow(text: &str) -> (Option<IdRef>, Option<i64>) {
    let Ok(keys) = serde_json::from_str::<Keys>(text) else {
        return (None, None);
    };
    let id = keys
        .id
        .filter(|id| !id.is_empty())
        .map(|id| IdRef::Owned(id.into_boxed_str()));
    let date = keys.date_create.and_then(|n| {
        n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        })
    });
    (id, date)
}

/// The fast path: reads `id` and `date_create` from the top level of an entry that the page
/// parse has already validated, without parsing the rest. Slack writes `id` and `date_create`
/// first, so this usually stops after two members. Returns `None` (use serde) for anything it
/// does not handle simply: escapes in keys or the id, a non-integer date, duplicate keys.
fn scan_keys(text: &[u8]) -> Option<(Option<Range<usize>>, Option<i64>)> {
    let mut id: Option<Range<usize>> = None;
    let mut date: Option<i64> = None;
    let mut seen_id = false;
    let mut seen_date = false;
    members(text, |key, value| {
        let read = match key {
            b"id" if !seen_id => {
                seen_id = true;
                if text.get(value.start) == Some(&b'"') {
                    string_body(text, value.start).map(|body| {
                        if !body.is_empty() {
                            id = Some(body);
                        }
                    })
                } else {
                    (&text[value] == b"null").then_some(())
                }
            }
            b"date_create" if !seen_date => {
                seen_date = true;
                let digits = &text[value];
                if digits == b"null" {
                    Some(())
                } else {
                    std::str::from_utf8(digits)
                        .ok()
                        .and_then(|s| s.parse::<i64>().ok())
                        .map(|d| date = Some(d))
                }
            }
            b"id" | b"date_create" => None,
            _ => Some(()),
        };
        match read {
            None => Flow::Decline,
            Some(()) if seen_id && seen_date => Flow::Stop,
            Some(()) => Flow::Next,
        }
    })?;
    Some((id, date))
}

/// What [`scan_string_member`] found.
enum Scanned {
    /// The member's string value, without escapes: its range between the quotes.
    Found(Range<usize>),
    /// No such member at the top level, or its value is not a string.
    Absent,
    /// Something the scanner does not handle simply (escapes in a key or the value, the key
    /// twice): use serde.
    Declined,
}

/// The top-level member `key` of the entry `text` (valid JSON, checked by the page parse), as
/// a string.
fn scan_string_member(text: &[u8], key: &[u8]) -> Scanned {
    scan_member(text, key).unwrap_or(Scanned::Declined)
}

fn scan_member(text: &[u8], wanted: &[u8]) -> Option<Scanned> {
    let mut found: Option<Scanned> = None;
    members(text, |key, value| {
        if key != wanted {
            return Flow::Next;
        }
        if found.is_some() {
            return Flow::Decline;
        }
        found = if text.get(value.start) == Some(&b'"') {
            string_body(text, value.start).map(Scanned::Found)
        } else {
            Some(Scanned::Absent)
        };
        if found.is_some() {
            Flow::Next
        } else {
            Flow::Decline
        }
    })?;
    Some(found.unwrap_or(Scanned::Absent))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// What the fast scan of `text` answers for the member `action`: `found:<value>`,
    /// `absent`, or `declined` (left to serde).
    fn scanned(text: &str) -> String {
        match scan_string_member(text.as_bytes(), b"action") {
            Scanned::Found(range) => format!("found:{}", &text[range]),
            Scanned::Absent => "absent".to_owned(),
            Scanned::Declined => "declined".to_owned(),
        }
    }

    /// The scan must answer the common entries itself (serde is the slow path): each case
    /// is `(entry, answer)`; a declined answer here would be correct but slow, so the fast
    /// cases are pinned exactly.
    #[test]
    fn the_action_scan_answers_plain_entries_itself_and_declines_what_it_cannot_read() {
        let cases = [
            (r#"{"action":"user_login"}"#, "found:user_login"),
            (
                r#"{"id":"a","date_create":1,"action":"user_login"}"#,
                "found:user_login",
            ),
            (r#"  { "id" : "a" ,"action"	:	"x" , "n":null}"#, "found:x"),
            (
                r#"{"details":{"action":"inner"},"action":"outer"}"#,
                "found:outer",
            ),
            (r#"{"list":[{"action":"a"},"]}"],"action":"b"}"#, "found:b"),
            (r#"{"s":"quote \" and action","action":"c"}"#, "found:c"),
            (r#"{"action":""}"#, "found:"),
            (r#"{}"#, "absent"),
            (r#"{ }"#, "absent"),
            (r#"{"id":"a"}"#, "absent"),
            (r#"{"details":{"action":"x"}}"#, "absent"),
            (r#"{"action":7}"#, "absent"),
            (r#"{"action":null,"id":"a"}"#, "absent"),
            (r#"{"action":{"name":"x"}}"#, "absent"),
            (r#"{"action":"user_\u006cogin"}"#, "declined"),
            (r#"{"act\u0069on":"x"}"#, "declined"),
            (r#"{"action":"a","action":"b"}"#, "declined"),
            (r#"{"action":7,"action":"b"}"#, "declined"),
            (r#"["action","x"]"#, "declined"),
            (r#"{"action" "x"}"#, "declined"),
            (r#"{"action":"x" "id":1}"#, "declined"),
            (r#"{"action":"x""#, "declined"),
        ];
        for (text, want) in cases {
            assert_eq!(scanned(text), want, "scanning {text}");
        }
    }

    #[test]
    fn the_action_is_read_from_the_top_level_only() {
        let body = br#"{"entries":[
            {"id":"a","date_create":1,"action":"user_login","details":{"action":"x"}},
            {"id":"b","details":{"action":"x"},"action":"file_downloaded"},
            {"id":"c","action":"user_\u006cogout"},
            {"id":"d","details":{"action":"x"}},
            {"id":"e","action":7},
            {"id":"f","action":"a","action":"b"}
        ]}"#;
        let page = Page::parse(body.to_vec()).unwrap();
        let actions: Vec<Option<String>> = page
            .entries()
            .iter()
            .map(|e| page.action(e).map(Cow::into_owned))
            .collect();
        assert_eq!(
            actions,
            [
                Some("user_login".to_owned()),
                Some("file_downloaded".to_owned()),
                Some("user_logout".to_owned()),
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn a_number_too_large_for_f64_is_kept_as_sent() {
        // Valid JSON that `serde_json::Value` cannot hold (found by the hostile proptest): the
        // entry passes through byte for byte, without a date the sync could misread.
        let body = br#"{"entries":[{"id":"b","date_create":1e67225599,"x":2e400}],"response_metadata":{"next_cursor":""}}"#;
        let page = Page::parse(body.to_vec()).unwrap();
        let e = &page.entries()[0];
        assert_eq!(
            page.raw(e),
            br#"{"id":"b","date_create":1e67225599,"x":2e400}"#
        );
        assert_eq!(e.date_create, None);
    }

    #[test]
    fn the_cursor_is_peeked_from_the_tail_and_agrees_with_the_parse() {
        let body = br#"{"ok":true,"entries":[{"id":"a","date_create":5}],"response_metadata":{"next_cursor":"dXNlcjpVMEc5V0ZYTlo="}}
"#;
        assert_eq!(peek_next_cursor(body), Some("dXNlcjpVMEc5V0ZYTlo="));
        let page = Page::parse(body.to_vec()).unwrap();
        assert_eq!(page.next_cursor(), peek_next_cursor(body));
        // Spaces around the colon, as a pretty-printing proxy would write them.
        let spaced = br#"{"entries":[],"response_metadata": {"next_cursor" : "abc"} }"#;
        assert_eq!(peek_next_cursor(spaced), Some("abc"));
    }

    #[test]
    fn no_guess_without_a_complete_body_or_a_plain_cursor() {
        for body in [
            &br#"{"entries":[],"response_metadata":{"next_cursor":""}}"#[..],
            br#"{"entries":[],"response_metadata":{"next_cursor":null}}"#,
            br#"{"entries":[],"response_metadata":{"next_cursor":"ab"#,
            br#"{"entries":[],"response_metadata":{"next_cursor":"a\"b"}}"#,
            br#"{"ok":false,"error":"invalid_cursor"}"#,
            b"",
            b"   ",
            b"<html>}",
        ] {
            assert_eq!(
                peek_next_cursor(body),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn entries_are_byte_ranges_of_the_body() {
        let body = br#"{"entries":[{"id":"a","date_create":5,"x":{"id":"inner"}},{"date_create":4}, 7],"response_metadata":{"next_cursor":""}}"#;
        let page = Page::parse(body.to_vec()).unwrap();
        let e = page.entries();
        assert_eq!(e.len(), 3);
        assert_eq!(
            page.raw(&e[0]),
            br#"{"id":"a","date_create":5,"x":{"id":"inner"}}"#
        );
        assert_eq!(page.id(&e[0]), Some("a"));
        assert_eq!(e[0].date_create, Some(5));
        assert_eq!(page.id(&e[1]), None);
        assert_eq!(page.raw(&e[2]), b"7");
        assert_eq!(page.next_cursor(), None);
    }

    #[test]
    fn errors_are_not_empty_pages() {
        assert!(
            matches!(Page::parse(br#"{"ok":false,"error":"fatal_error"}"#.to_vec()), Err(PageError::Slack { code: Some(c) }) if c == "fatal_error")
        );
        assert!(
            matches!(Page::parse(br#"{"entries":[{"id":"#.to_vec()), Err(PageError::Malformed(m)) if m.contains("truncated"))
        );
        assert!(matches!(
            Page::parse(b"<html>".to_vec()),
            Err(PageError::Malformed(_))
        ));
        assert!(matches!(
            Page::parse(br#"{"response_metadata":{}}"#.to_vec()),
            Err(PageError::NoEntries)
        ));
        // An error beside an (empty) entries list is still an error, whichever half says it.
        for body in [
            &br#"{"ok":false,"entries":[]}"#[..],
            br#"{"error":"ratelimited","entries":[]}"#,
        ] {
            assert!(
                matches!(Page::parse(body.to_vec()), Err(PageError::Slack { .. })),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(matches!(
            Page::parse(Vec::new()),
            Err(PageError::Malformed(_))
        ));
    }

    /// `"ok": true` beside an empty `"error": ""` (some proxies and SDKs add the field) is a
    /// page, not an error whose message would claim `"ok": false`; an empty `error` alone is no
    /// error code either.
    #[test]
    fn ok_true_with_an_empty_error_is_a_page() {
        for body in [
            &br#"{"ok":true,"error":"","entries":[{"id":"a","date_create":5}]}"#[..],
            br#"{"error":"","entries":[{"id":"a","date_create":5}]}"#,
            br#"{"ok":true,"error":null,"entries":[{"id":"a","date_create":5}]}"#,
        ] {
            let page = Page::parse(body.to_vec())
                .unwrap_or_else(|e| panic!("{}: {e:?}", String::from_utf8_lossy(body)));
            assert_eq!(page.entries().len(), 1);
        }
        assert_eq!(
            Page::parse(br#"{"ok":false,"error":""}"#.to_vec()).unwrap_err(),
            PageError::Slack { code: None }
        );
    }

    /// The keys read from one entry, by the scanner (`None` when it declines) and by serde.
    fn keys_both_ways(text: &str) -> (Option<KeysRead>, KeysRead) {
        let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
        let show = |id: Option<IdRef>| match id {
            Some(IdRef::Span(r)) => Some(raw.get()[r].to_owned()),
            Some(IdRef::Owned(s)) => Some(s.to_string()),
            None => None,
        };
        let fast = scan_keys(raw.get().as_bytes())
            .map(|(id, date)| (id.map(|r| raw.get()[r].to_owned()), date));
        let (slow_id, slow_date) = read_keys_slow(raw.get());
        (fast, (show(slow_id), slow_date))
    }

    type KeysRead = (Option<String>, Option<i64>);

    /// Each entry's `id` and `date_create` as the sync must see them, and whether the fast
    /// scanner answers it itself (plain entries, which is nearly all of Slack's) or declines
    /// it to serde (escapes, non-integer dates, duplicate keys). Both paths must give the
    /// expected keys: a wrong id or date breaks de-duplication and the checkpoint.
    #[test]
    fn the_scanner_and_serde_read_the_same_keys() {
        let cases: &[(&str, bool, Option<&str>, Option<i64>)] = &[
            (r#"{"id":"a","date_create":5}"#, true, Some("a"), Some(5)),
            (
                r#"{ "x" : {"id":"no","date_create":1}, "date_create" : -7 , "id" : "b" }"#,
                true,
                Some("b"),
                Some(-7),
            ),
            (
                r#"{"nested":[{"a":"]}\"["}],"id":"c","s":"x\"y","date_create":9,"t":true}"#,
                true,
                Some("c"),
                Some(9),
            ),
            (
                r#"{"k:":"v","id":"d","date_create":6}"#,
                true,
                Some("d"),
                Some(6),
            ),
            (r#"{"id":null,"date_create":null}"#, true, None, None),
            (
                r#"{"note":"x, y }]","id":"l","date_create":8}"#,
                true,
                Some("l"),
                Some(8),
            ),
            (r#"{"id":"","date_create":3}"#, true, None, Some(3)),
            (r#"{"date_create":3}"#, true, None, Some(3)),
            (r#"{"action":"user_login","id":"e"}"#, true, Some("e"), None),
            (r#"{}"#, true, None, None),
            (
                r#"{"id":"a\u0062","date_create":1}"#,
                false,
                Some("ab"),
                Some(1),
            ),
            (r#"{"id":"f","date_create":1.0}"#, false, Some("f"), Some(1)),
            (
                r#"{"date_create":2.0,"x":"y","id":"g"}"#,
                false,
                Some("g"),
                Some(2),
            ),
            (r#"{"id":"h","date_create":1.5}"#, false, Some("h"), None),
            (
                r#"{"id":"i","date_create":999999999999999.0}"#,
                false,
                Some("i"),
                Some(999_999_999_999_999),
            ),
            (r#"{"id":"j","date_create":1e15}"#, false, Some("j"), None),
            // A key of the wrong type: no keys at all (the entry is delivered unkeyed).
            (r#"{"id":"k","date_create":"5"}"#, false, None, None),
            (r#"{"id":7,"date_create":1}"#, false, None, None),
            // A duplicated key is ambiguous: no keys either.
            (r#"{"id":"a","id":"b","date_create":1}"#, false, None, None),
            (r#"[1]"#, false, None, None),
        ];
        for (text, scanned, id, date) in cases {
            let expected = (id.map(str::to_owned), *date);
            let (fast, slow) = keys_both_ways(text);
            assert_eq!(slow, expected, "serde on {text}");
            match fast {
                Some(fast) => {
                    assert!(
                        *scanned,
                        "the scanner answered {text}, which it should decline"
                    );
                    assert_eq!(fast, expected, "the scanner on {text}");
                }
                None => assert!(!scanned, "the scanner declined {text}"),
            }
            // And through a page, whichever path it took.
            let body = format!(r#"{{"entries":[{text}]}}"#);
            let page = Page::parse(body.into_bytes()).unwrap();
            let e = &page.entries()[0];
            assert_eq!(
                (page.id(e).map(str::to_owned), e.date_create),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn escaped_ids_and_float_dates() {
        let page =
            Page::parse(br#"{"entries":[{"id":"a\u0062","date_create":7.0}]}"#.to_vec()).unwrap();
        let e = &page.entries()[0];
        assert_eq!(page.id(e), Some("ab"));
        assert_eq!(e.date_create, Some(7));
    }
}
