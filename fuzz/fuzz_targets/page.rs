//! The page parser over arbitrary response bodies: an error or a page whose entries are
//! in-bounds JSON texts (by JSON's grammar: a lone surrogate escape or a number beyond `f64`
//! is JSON, passed through as Slack sent it, though `serde_json::Value` would refuse it),
//! never a panic; the early cursor guess never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slack_audit::page::{Page, peek_next_cursor};

fuzz_target!(|data: &[u8]| {
    let _ = peek_next_cursor(data);
    if let Ok(page) = Page::parse(data.to_vec()) {
        for entry in page.entries() {
            let raw = page.raw(entry);
            assert!(serde_json::from_slice::<serde::de::IgnoredAny>(raw).is_ok());
            let _ = page.id(entry);
        }
        let _ = page.next_cursor();
    }
});
