//! Pseudonymisation of recorded response bodies, for fixtures users can share.
//!
//! A fixture must stay Slack's wire format byte for byte (that is the point of a replay), yet a
//! user's audit log names people, their emails and IP addresses. So bodies are rewritten at the
//! level of JSON tokens: every byte is copied as it was except the string values that identify
//! someone, which are replaced by pseudonyms. Keys, ids, timestamps, cursors, whitespace, key
//! order and escapes elsewhere stay as they were, so the sync sees the same pages.
//!
//! Replacement is consistent across every page of a recording: the same value always becomes
//! the same pseudonym, and a person (an object with an `id` and a `name` or `email`) keeps one
//! number across their name, real name and email (`user3`, `User 3`, `user3@example.com`).
//! What is replaced:
//! - the values of identifying keys (`name`, `real_name`, `display_name`, `email`,
//!   `ip_address`, `ua`, `domain`, `title`, …), wherever they are;
//! - any string that is an email address or an IP address, whatever its key;
//! - email and IPv4 addresses inside longer strings;
//! - a value already replaced elsewhere, wherever it appears again as a whole string.
//!
//! A truncated body is rewritten as far as it goes; an unterminated string at its end is
//! replaced too when it looks identifying.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// Keys whose string values identify a person, a place or an organization.
const IDENTIFYING_KEYS: &[&str] = &[
    "name",
    "real_name",
    "display_name",
    "first_name",
    "last_name",
    "username",
    "email",
    "ip_address",
    "ip",
    "ua",
    "user_agent",
    "domain",
    "title",
    "phone",
];

/// Keys under which an object is a person.
const PERSON_KEYS: &[&str] = &["user", "kicker", "inviter", "invitee", "actor_user"];

static EMAIL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+").ok());
static IPV4: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").ok());
static IPV6: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}").ok());

/// A consistent mapping from identifying values to pseudonyms.
#[derive(Debug, Default)]
pub struct Pseudonymiser {
    values: HashMap<String, String>,
    people: HashMap<String, u32>,
    counters: HashMap<String, u32>,
}

#[derive(Debug)]
enum Frame {
    Object {
        /// The key of this object in its parent.
        at: Option<String>,
        key: Option<String>,
        expect_key: bool,
    },
    Array {
        /// The key of this array in its parent.
        at: Option<String>,
    },
}

impl Pseudonymiser {
    /// A mapping with nothing in it yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many distinct values have been replaced so far.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing has been replaced yet.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The original emails and IP addresses replaced so far: none of them may be left anywhere
    /// in a rewritten body, even inside a longer string.
    pub fn must_not_remain(&self) -> impl Iterator<Item = &str> {
        self.values
            .keys()
            .map(String::as_str)
            .filter(|v| is_email(v) || v.trim().parse::<IpAddr>().is_ok())
    }

    /// Learns the people of a body (by id), so that every page, even one read before it or
    /// one cut short, gives them the same numbered pseudonyms. Call it on every body of a
    /// recording before rewriting any.
    pub fn learn(&mut self, body: &[u8]) {
        if let Ok(value) = serde_json::from_slice::<Value>(body) {
            self.learn_people(&value, None);
        }
    }

    /// Rewrites one response body.
    pub fn body(&mut self, body: &[u8]) -> Vec<u8> {
        self.learn(body);
        self.rewrite(body)
    }

    /// Gives each person (by id) one number, and maps their name and email to it.
    fn learn_people(&mut self, value: &Value, at: Option<&str>) {
        match value {
            Value::Object(map) => {
                let is_person = at.is_some_and(|k| PERSON_KEYS.contains(&k))
                    || map.get("email").is_some_and(Value::is_string);
                if is_person && let Some(id) = map.get("id").and_then(Value::as_str) {
                    let next = self.people.len() as u32 + 1;
                    let n = *self.people.entry(id.to_owned()).or_insert(next);
                    for (key, pseudonym) in [
                        ("name", format!("user{n}")),
                        ("real_name", format!("User {n}")),
                        ("display_name", format!("User {n}")),
                        ("email", format!("user{n}@example.com")),
                    ] {
                        if let Some(original) = map.get(key).and_then(Value::as_str)
                            && !original.is_empty()
                        {
                            self.values.entry(original.to_owned()).or_insert(pseudonym);
                        }
                    }
                }
                for (key, child) in map {
                    self.learn_people(child, Some(key));
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.learn_people(item, at);
                }
            }
            _ => {}
        }
    }

    fn next(&mut self, kind: &str) -> u32 {
        let n = self.counters.entry(kind.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    /// The pseudonym of a string value found under `key` (in an object that sits under
    /// `parent`), or `None` to keep it.
    fn replace_value(
        &mut self,
        original: &str,
        key: Option<&str>,
        parent: Option<&str>,
    ) -> Option<String> {
        if original.is_empty() {
            return None;
        }
        self.pseudonym(original, key, parent)
            .or_else(|| self.replace_inside(original))
    }

    /// The pseudonym of a whole value, if it is one to replace.
    fn pseudonym(
        &mut self,
        original: &str,
        key: Option<&str>,
        parent: Option<&str>,
    ) -> Option<String> {
        if let Some(known) = self.values.get(original) {
            return Some(known.clone());
        }
        let identifying = key.is_some_and(|k| IDENTIFYING_KEYS.contains(&k));
        let pseudonym = if let Ok(ip) = original.trim().parse::<IpAddr>() {
            let n = self.next("ip");
            match ip {
                IpAddr::V4(_) => format!("192.0.2.{}", n % 250 + 1),
                IpAddr::V6(_) => format!("2001:db8::{n:x}"),
            }
        } else if is_email(original) || key == Some("email") {
            let n = self.next("email");
            format!("person{n}@example.com")
        } else if identifying {
            let key = key.unwrap_or("value");
            let kind = match (key, parent) {
                ("name", Some(p)) => p.to_owned(),
                _ => key.to_owned(),
            };
            let n = self.next(&kind);
            match kind.as_str() {
                "ua" | "user_agent" => format!("Mozilla/5.0 (pseudonymised {n})"),
                _ => format!("{kind}-{n}"),
            }
        } else {
            return None;
        };
        self.values.insert(original.to_owned(), pseudonym.clone());
        Some(pseudonym)
    }

    /// Email and IP addresses inside a longer string.
    fn replace_inside(&mut self, text: &str) -> Option<String> {
        let mut found: Vec<String> = Vec::new();
        for re in [&*EMAIL, &*IPV4, &*IPV6].into_iter().flatten() {
            found.extend(
                re.find_iter(text)
                    .map(|m| m.as_str())
                    .filter(|m| is_email(m) || m.parse::<IpAddr>().is_ok())
                    .map(str::to_owned),
            );
        }
        // Longest first, so an address is never replaced inside a longer one.
        found.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let mut out = text.to_owned();
        for original in found {
            if let Some(pseudonym) = self.pseudonym(&original, None, None) {
                out = out.replace(&original, &pseudonym);
            }
        }
        (out != text).then_some(out)
    }

    fn rewrite(&mut self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len());
        let mut stack: Vec<Frame> = Vec::new();
        let mut i = 0;
        while i < body.len() {
            let b = body[i];
            match b {
                b'"' => {
                    let (end, terminated) = string_end(body, i);
                    let raw = &body[i..end];
                    let is_key = matches!(
                        stack.last(),
                        Some(Frame::Object {
                            expect_key: true,
                            ..
                        })
                    );
                    let decoded = decode(raw, terminated);
                    if is_key {
                        if let Some(Frame::Object {
                            key, expect_key, ..
                        }) = stack.last_mut()
                        {
                            *key = decoded;
                            *expect_key = false;
                        }
                        out.extend_from_slice(raw);
                    } else {
                        let (key, parent) = context(&stack);
                        let replaced = decoded.as_deref().and_then(|text| {
                            self.replace_value(text, key.as_deref(), parent.as_deref())
                        });
                        match (replaced, terminated) {
                            (Some(new), true) => out.extend_from_slice(encode(&new).as_bytes()),
                            (Some(new), false) => {
                                let encoded = encode(&new);
                                out.extend_from_slice(&encoded.as_bytes()[..encoded.len() - 1]);
                            }
                            (None, _) if !terminated && decoded.is_none() => {
                                // An unterminated string we could not read: keep nothing of it.
                                out.push(b'"');
                            }
                            (None, _) => out.extend_from_slice(raw),
                        }
                    }
                    i = end;
                    continue;
                }
                b'{' => {
                    let (key, _) = context(&stack);
                    stack.push(Frame::Object {
                        at: key,
                        key: None,
                        expect_key: true,
                    });
                }
                b'[' => {
                    let (key, _) = context(&stack);
                    stack.push(Frame::Array { at: key });
                }
                b'}' | b']' => {
                    stack.pop();
                }
                b',' => {
                    if let Some(Frame::Object { expect_key, .. }) = stack.last_mut() {
                        *expect_key = true;
                    }
                }
                _ => {}
            }
            out.push(b);
            i += 1;
        }
        out
    }
}

/// The key a value is found under, and the key of the object holding it.
fn context(stack: &[Frame]) -> (Option<String>, Option<String>) {
    match stack.last() {
        Some(Frame::Object { at, key, .. }) => (key.clone(), at.clone()),
        Some(Frame::Array { at }) => {
            let parent = match stack.len().checked_sub(2).and_then(|i| stack.get(i)) {
                Some(Frame::Object { at, .. }) => at.clone(),
                _ => None,
            };
            (at.clone(), parent)
        }
        None => (None, None),
    }
}

/// End (exclusive) of the string token starting at `start`, and whether it is terminated.
fn string_end(body: &[u8], start: usize) -> (usize, bool) {
    let mut j = start + 1;
    while j < body.len() {
        match body[j] {
            b'\\' => j += 2,
            b'"' => return (j + 1, true),
            _ => j += 1,
        }
    }
    (body.len(), false)
}

fn decode(raw: &[u8], terminated: bool) -> Option<String> {
    if terminated {
        return serde_json::from_slice::<String>(raw).ok();
    }
    // A string cut short: close it, dropping a half escape sequence if there is one.
    let mut text = raw.to_vec();
    for _ in 0..6 {
        let mut attempt = text.clone();
        attempt.push(b'"');
        if let Ok(s) = serde_json::from_slice::<String>(&attempt) {
            return Some(s);
        }
        text.pop();
    }
    None
}

fn encode(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

fn is_email(text: &str) -> bool {
    EMAIL
        .as_ref()
        .and_then(|re| re.find(text))
        .is_some_and(|m| m.start() == 0 && m.end() == text.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn rewrite(p: &mut Pseudonymiser, text: &str) -> String {
        String::from_utf8(p.body(text.as_bytes())).unwrap()
    }

    #[test]
    fn only_identifying_strings_change_and_bytes_elsewhere_stay() {
        let mut p = Pseudonymiser::new();
        let body = r#"{"entries":[ {"id":"e1" ,"date_create":5,"actor":{"type":"user","user":{"id":"W1","name":"ada","email":"ada@corp.io"}},"context":{"ip_address":"203.0.113.9","ua":"","session_id":12},"details":{"new_value":["x","ada@corp.io"],"note":"from 10.1.2.3 by ada@corp.io"}}],"response_metadata":{"next_cursor":"MTIzOmUx"}}"#;
        let out = rewrite(&mut p, body);
        assert_eq!(
            out,
            r#"{"entries":[ {"id":"e1" ,"date_create":5,"actor":{"type":"user","user":{"id":"W1","name":"user1","email":"user1@example.com"}},"context":{"ip_address":"192.0.2.2","ua":"","session_id":12},"details":{"new_value":["x","user1@example.com"],"note":"from 192.0.2.3 by user1@example.com"}}],"response_metadata":{"next_cursor":"MTIzOmUx"}}"#
        );
    }

    #[test]
    fn the_same_person_keeps_one_pseudonym_across_pages() {
        let mut p = Pseudonymiser::new();
        let a = rewrite(
            &mut p,
            r#"{"entries":[{"entity":{"type":"user","user":{"id":"W2","name":"bob","email":"bob@corp.io"}}}]}"#,
        );
        let b = rewrite(
            &mut p,
            r#"{"entries":[{"actor":{"user":{"id":"W2","name":"bob","email":"bob@corp.io"}},"context":{"location":{"name":"Corp","domain":"corp"}}}]}"#,
        );
        assert!(
            a.contains(r#""name":"user1","email":"user1@example.com""#),
            "{a}"
        );
        assert!(
            b.contains(r#""name":"user1","email":"user1@example.com""#),
            "{b}"
        );
        assert!(
            b.contains(r#""name":"location-1","domain":"domain-1""#),
            "{b}"
        );
    }

    #[test]
    fn truncated_bodies_are_rewritten_as_far_as_they_go() {
        let mut p = Pseudonymiser::new();
        let out = rewrite(
            &mut p,
            r#"{"entries":[{"id":"e1","actor":{"user":{"id":"W1","name":"ada","email":"ada@co"#,
        );
        assert!(!out.contains("ada"), "{out}");
        assert!(
            out.starts_with(r#"{"entries":[{"id":"e1","actor":{"user":{"id":"W1","name":"#),
            "{out}"
        );
    }
}
