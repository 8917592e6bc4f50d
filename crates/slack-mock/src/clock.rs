//! The wall clock in Unix seconds: the server refuses or shifts entries relative to it (entries
//! dated a year away), and the soak (`test-support`) stamps the events it produces with it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch now (0 if the clock is before it).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
