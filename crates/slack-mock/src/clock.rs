//! The wall clock in Unix seconds: the soak stamps the events it produces with it, and the
//! server refuses or shifts entries relative to it (entries dated a year away).

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch now (0 if the clock is before it).
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
