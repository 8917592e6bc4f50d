//! The OCSF writer over arbitrary entries: whatever the bytes, one complete JSON document,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for raw_data in [false, true] {
        let (event, _) = slack_audit::ocsf::to_ocsf(data, raw_data);
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&event) {
            panic!("not JSON ({e}): {}", String::from_utf8_lossy(&event));
        }
    }
});
