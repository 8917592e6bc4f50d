//! The `Retry-After` parser over arbitrary header values (seconds or an HTTP date), at clocks
//! far apart. `None` or a wait, never a panic.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use slack_audit::source::http::parse_retry_after;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    for now in [
        DateTime::<Utc>::MIN_UTC,
        DateTime::UNIX_EPOCH,
        Utc::now(),
        DateTime::<Utc>::MAX_UTC,
    ] {
        let _ = parse_retry_after(value, now);
    }
});
