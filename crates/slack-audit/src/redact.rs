//! Slack token shapes, redacted wherever they appear in a message: `xoxp-…`, `xoxb-…`, any
//! `xox?-…`, and app-level `xapp-…`. A token pasted into a URL (`?token=xoxp-…`), a filter or
//! any other setting is not under `secrets`, so no exact-value scrub can know it; its shape
//! gives it away. The prefix is kept (it says which kind of token it was), the rest becomes
//! `[redacted]`. Used for every message the host prints (`Secrets::redact`), never on records.

/// The token shapes in `text` replaced, or `None` when there is none.
pub fn slack_tokens(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(found) = memchr::memchr(b'x', &bytes[i..]) {
        let start = i + found;
        match token_len(&bytes[start..]) {
            Some((prefix, len)) => {
                let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
                out.push_str(&text[copied..start]);
                out.push_str(&text[start..start + prefix]);
                out.push_str("[redacted]");
                copied = start + len;
                i = copied;
            }
            None => i = start + 1,
        }
    }
    out.map(|mut out| {
        out.push_str(&text[copied..]);
        out
    })
}

/// At the start of `bytes`, a token's prefix length (`xoxp-`) and whole length, if one is there:
/// `xox` and one letter or `xapp`, a dash, then at least one token character.
fn token_len(bytes: &[u8]) -> Option<(usize, usize)> {
    let xox = bytes.len() > 5
        && bytes.starts_with(b"xox")
        && bytes[3].is_ascii_alphabetic()
        && bytes[4] == b'-';
    if !xox && !bytes.starts_with(b"xapp-") {
        return None;
    }
    let prefix = 5;
    let body = bytes[prefix..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b'_')
        .count();
    (body > 0).then_some((prefix, prefix + body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_shape_is_redacted_wherever_it_is() {
        let cases = [
            (
                "https://api.slack.com/?token=xoxp-1234-5678-abcdef&x=1",
                "https://api.slack.com/?token=xoxp-[redacted]&x=1",
            ),
            (
                "xoxb-1-2-3 and xapp-1-A0-99",
                "xoxb-[redacted] and xapp-[redacted]",
            ),
            ("\"xoxe-abc_DEF\"", "\"xoxe-[redacted]\""),
            (
                "host xoxp-42.evil.example",
                "host xoxp-[redacted].evil.example",
            ),
            ("ünïcode xoxs-9 é", "ünïcode xoxs-[redacted] é"),
        ];
        for (text, expected) in cases {
            assert_eq!(slack_tokens(text).as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn advice_that_names_a_token_kind_is_left_alone() {
        for text in [
            "a user OAuth token (xoxp-…) with the auditlogs:read scope",
            "does not match \"^xoxp-\"",
            "xox-1 xoxpp-1 xapp xbox-1 x",
            "",
        ] {
            assert_eq!(slack_tokens(text), None, "{text}");
        }
    }
}
