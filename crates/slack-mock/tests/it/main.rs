//! Integration tests of the mock, driven by a raw HTTP client so that every byte the mock
//! sends (or does not send) is visible.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod dataset;
mod faults;
mod scripted;

use slack_mock::MockEntry;

/// A base time well in the past (2023-11-14).
pub(crate) const T: i64 = 1_700_000_000;

/// `n` entries `e00`, `e01`, … at `T + i`.
pub(crate) fn seq(n: usize) -> Vec<MockEntry> {
    (0..n)
        .map(|i| MockEntry::synthetic(&format!("e{i:02}"), T + i as i64, "user_login", "W1", "W2"))
        .collect()
}

pub(crate) fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}
