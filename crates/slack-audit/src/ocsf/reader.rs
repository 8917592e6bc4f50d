//! Reading one entry in one pass, without copying it, and knowing which of its fields the
//! event used.
//!
//! The entry is scanned once into a tape of nodes (reused from entry to entry, so a page
//! allocates nothing after its first entries): one node per object member, each the byte span
//! of its key and of its value exactly as Slack sent them. Arrays and scalars are not looked
//! inside. A member the mapping uses is *taken*; an object it looks inside is *opened*. What
//! was never taken is, by construction, what goes under the event's `unmapped`, at the same
//! path and byte for byte: no value can be lost, whatever Slack adds, and no number is ever
//! rounded through `f64`.
//!
//! The entry was already validated as JSON by `Page::parse`; the scanner still refuses (with
//! `None`) anything that is not a well-formed object, and the caller then carries the entry
//! whole.

use std::borrow::Cow;

/// No node.
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    String,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not used by the event: goes under `unmapped`.
    Left,
    /// Carried by the event.
    Taken,
    /// An object the event looked inside.
    Opened,
}

/// One value: the span of its key (inside the quotes; empty for the root) and of its value.
#[derive(Debug, Clone, Copy)]
struct Node {
    key: (u32, u32),
    value: (u32, u32),
    kind: Kind,
    first: u32,
    next: u32,
    state: State,
}

/// The nodes of the entry being read (kept between entries for its allocation).
#[derive(Debug, Default)]
pub(crate) struct Tape {
    nodes: Vec<Node>,
}

/// A node of a [`Doc`].
pub(crate) type Id = u32;

/// One entry, scanned.
pub(crate) struct Doc<'a, 't> {
    json: &'a str,
    nodes: &'t mut Vec<Node>,
}

impl<'a, 't> Doc<'a, 't> {
    /// Scans `json`; `None` if it is not one JSON object (possibly with whitespace around).
    pub(crate) fn scan(json: &'a str, tape: &'t mut Tape) -> Option<(Doc<'a, 't>, Id)> {
        tape.nodes.clear();
        let mut scanner = Scanner {
            b: json.as_bytes(),
            i: 0,
        };
        scanner.ws();
        if scanner.peek() != Some(b'{') {
            return None;
        }
        let root = scanner.value(&mut tape.nodes, (0, 0), 0)?;
        scanner.ws();
        if scanner.i != json.len() {
            return None;
        }
        Some((
            Doc {
                json,
                nodes: &mut tape.nodes,
            },
            root,
        ))
    }

    fn node(&self, id: Id) -> &Node {
        &self.nodes[id as usize]
    }

    /// The value of `id` as sent (for a string, with its quotes and escapes).
    pub(crate) fn raw(&self, id: Id) -> &'a str {
        let (start, end) = self.node(id).value;
        &self.json[start as usize..end as usize]
    }

    fn key(&self, id: Id) -> &'a str {
        let (start, end) = self.node(id).key;
        &self.json[start as usize..end as usize]
    }

    /// Whether `id` is a string.
    pub(crate) fn is_string(&self, id: Id) -> bool {
        self.node(id).kind == Kind::String
    }

    /// Whether `id` is a JSON number.
    pub(crate) fn is_number(&self, id: Id) -> bool {
        self.node(id).kind == Kind::Other
            && self
                .raw(id)
                .as_bytes()
                .first()
                .is_some_and(|b| *b == b'-' || b.is_ascii_digit())
    }

    /// The content of the string `id`, decoded (borrowed when it has no escapes).
    pub(crate) fn text(&self, id: Id) -> Option<Cow<'a, str>> {
        if !self.is_string(id) {
            return None;
        }
        let raw = self.raw(id);
        let inner = &raw[1..raw.len() - 1];
        if inner.contains('\\') {
            serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(inner))
        }
    }

    /// The member `key` of the object `obj` (the first one, if Slack sent it twice).
    pub(crate) fn get(&self, obj: Id, key: &str) -> Option<Id> {
        let mut child = self.node(obj).first;
        while child != NONE {
            if self.key(child) == key {
                return Some(child);
            }
            child = self.node(child).next;
        }
        None
    }

    /// The string content of member `key`, whether the event uses it or not.
    pub(crate) fn str(&self, obj: Id, key: &str) -> Option<Cow<'a, str>> {
        self.get(obj, key).and_then(|id| self.text(id))
    }

    /// Takes member `key` for the event if it is still unused and passes `accept`.
    pub(crate) fn take_if(
        &mut self,
        obj: Id,
        key: &str,
        accept: impl FnOnce(&Self, Id) -> bool,
    ) -> Option<Id> {
        let id = self.get(obj, key)?;
        if self.node(id).state != State::Left || !accept(self, id) {
            return None;
        }
        self.nodes[id as usize].state = State::Taken;
        Some(id)
    }

    /// Takes member `key` if it is a non-empty string.
    pub(crate) fn take_text(&mut self, obj: Id, key: &str) -> Option<Id> {
        self.take_if(obj, key, |doc, id| {
            doc.is_string(id) && doc.raw(id).len() > 2
        })
    }

    /// Takes member `key` if it is a string whose content passes `accept`.
    pub(crate) fn take_text_if(
        &mut self,
        obj: Id,
        key: &str,
        accept: impl FnOnce(&str) -> bool,
    ) -> Option<Id> {
        self.take_if(obj, key, |doc, id| doc.text(id).is_some_and(|t| accept(&t)))
    }

    /// Opens the object at member `key` to take some of its members (the rest stays unmapped).
    pub(crate) fn open(&mut self, obj: Id, key: &str) -> Option<Id> {
        let id = self.get(obj, key)?;
        let node = &mut self.nodes[id as usize];
        if node.kind != Kind::Object || node.state == State::Taken {
            return None;
        }
        node.state = State::Opened;
        Some(id)
    }

    /// Writes what the event did not use of `obj` as an object at the same paths; writes
    /// nothing and returns `false` if it used everything.
    pub(crate) fn write_rest(&self, obj: Id, out: &mut Vec<u8>) -> bool {
        let start = out.len();
        out.push(b'{');
        let mut empty = true;
        let mut child = self.node(obj).first;
        while child != NONE {
            let node = *self.node(child);
            if node.state != State::Taken {
                let mark = out.len();
                if !empty {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(self.key(child).as_bytes());
                out.extend_from_slice(b"\":");
                // An opened object with no members at all is still a value (`{}`).
                let written = match node.state {
                    State::Opened if node.first != NONE => self.write_rest(child, out),
                    _ => {
                        out.extend_from_slice(self.raw(child).as_bytes());
                        true
                    }
                };
                if written {
                    empty = false;
                } else {
                    out.truncate(mark);
                }
            }
            child = node.next;
        }
        if empty {
            out.truncate(start);
            return false;
        }
        out.push(b'}');
        true
    }
}

/// A scanner of well-formed JSON (the entry was validated before): spans, not values.
struct Scanner<'b> {
    b: &'b [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.i += 1)
    }

    /// Past the string starting at `self.i` (a quote).
    fn string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            let at = memchr::memchr2(b'"', b'\\', self.b.get(self.i..)?)?;
            self.i += at;
            if self.b[self.i] == b'\\' {
                self.i += 2;
            } else {
                self.i += 1;
                return Some(());
            }
        }
    }

    /// Past an array (not looked inside beyond its brackets and strings).
    fn array(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => self.string()?,
                b'[' | b'{' => {
                    depth += 1;
                    self.i += 1;
                }
                b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    self.i += 1;
                    if depth == 0 {
                        return Some(());
                    }
                }
                _ => self.i += 1,
            }
        }
    }

    /// Past a number, `true`, `false` or `null`.
    fn scalar(&mut self) -> Option<()> {
        let start = self.i;
        while let Some(b) = self.peek() {
            if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            self.i += 1;
        }
        (self.i > start).then_some(())
    }

    /// The value at `self.i`, with `key`; objects get a node per member.
    fn value(&mut self, nodes: &mut Vec<Node>, key: (u32, u32), depth: usize) -> Option<Id> {
        // serde_json refuses deeper documents, so a page never holds one.
        if depth > 128 {
            return None;
        }
        let index = nodes.len();
        let start = self.i;
        nodes.push(Node {
            key,
            value: (0, 0),
            kind: Kind::Other,
            first: NONE,
            next: NONE,
            state: State::Left,
        });
        let kind = match self.peek()? {
            b'{' => {
                self.i += 1;
                self.ws();
                let mut last = NONE;
                if self.eat(b'}').is_none() {
                    loop {
                        let key_start = self.i + 1;
                        self.string()?;
                        let key = (
                            u32::try_from(key_start).ok()?,
                            u32::try_from(self.i - 1).ok()?,
                        );
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                        let child = self.value(nodes, key, depth + 1)?;
                        if last == NONE {
                            nodes[index].first = child;
                        } else {
                            nodes[last as usize].next = child;
                        }
                        last = child;
                        self.ws();
                        if self.eat(b',').is_some() {
                            self.ws();
                        } else {
                            self.eat(b'}')?;
                            break;
                        }
                    }
                }
                Kind::Object
            }
            b'[' => {
                self.array()?;
                Kind::Other
            }
            b'"' => {
                self.string()?;
                Kind::String
            }
            _ => {
                self.scalar()?;
                Kind::Other
            }
        };
        let node = &mut nodes[index];
        node.kind = kind;
        node.value = (u32::try_from(start).ok()?, u32::try_from(self.i).ok()?);
        u32::try_from(index).ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rest(doc: &Doc<'_, '_>, root: Id) -> String {
        let mut out = Vec::new();
        doc.write_rest(root, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn what_is_not_taken_is_left_byte_for_byte() {
        let json = r#"{"a":"x","b":{"c":1.0e-3,"d":"\u00e9"},"n":123456789012345678901234567890, "l" : [ {"x":"]"} ] }"#;
        let mut tape = Tape::default();
        let (mut doc, root) = Doc::scan(json, &mut tape).unwrap();
        let a = doc.take_text(root, "a").unwrap();
        assert_eq!(doc.raw(a), r#""x""#);
        let b = doc.open(root, "b").unwrap();
        assert!(doc.take_text(b, "c").is_none(), "a number is not a string");
        let d = doc.take_text(b, "d").unwrap();
        assert_eq!(doc.raw(d), r#""\u00e9""#);
        assert_eq!(doc.text(d).unwrap(), "é");
        assert_eq!(
            rest(&doc, root),
            r#"{"b":{"c":1.0e-3},"n":123456789012345678901234567890,"l":[ {"x":"]"} ]}"#
        );
    }

    #[test]
    fn empty_strings_and_non_objects_are_not_taken() {
        let mut tape = Tape::default();
        let (mut doc, root) = Doc::scan(r#"{"e":"","o":[1]}"#, &mut tape).unwrap();
        assert!(doc.take_text(root, "e").is_none());
        assert!(doc.open(root, "o").is_none());
        assert_eq!(rest(&doc, root), r#"{"e":"","o":[1]}"#);
        for not_an_object in ["[1,2]", "\"s\"", "{", "{\"a\":}", "{} x", "", "{\"a\":\"\\"] {
            assert!(
                Doc::scan(not_an_object, &mut tape).is_none(),
                "{not_an_object}"
            );
        }
    }

    #[test]
    fn an_empty_object_that_was_opened_is_kept() {
        let mut tape = Tape::default();
        let (mut doc, root) = Doc::scan(r#"{"entity":{},"x":1}"#, &mut tape).unwrap();
        assert!(doc.open(root, "entity").is_some());
        assert_eq!(rest(&doc, root), r#"{"entity":{},"x":1}"#);
    }

    #[test]
    fn everything_taken_leaves_no_rest() {
        let mut tape = Tape::default();
        let (mut doc, root) = Doc::scan(r#"{"a":"x","b":{"c":"y"}}"#, &mut tape).unwrap();
        doc.take_text(root, "a");
        let b = doc.open(root, "b").unwrap();
        doc.take_text(b, "c");
        assert_eq!(rest(&doc, root), "");
    }

    #[test]
    fn strings_with_escapes_are_decoded_for_reading() {
        let mut tape = Tape::default();
        let (doc, root) = Doc::scan(r#"{"s":"caf\u00e9 \"x\\"}"#, &mut tape).unwrap();
        assert_eq!(doc.str(root, "s").unwrap(), "café \"x\\");
    }
}
