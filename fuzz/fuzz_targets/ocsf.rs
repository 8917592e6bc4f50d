//! The OCSF writer over arbitrary entries, in each OCSF version: never a panic, and for an
//! entry that is JSON (every entry is: the page parser admits nothing else), one complete JSON
//! document (by JSON's grammar: values copied from the entry, such as a number beyond `f64`,
//! stay as Slack sent them).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok();
    for (version, raw_data) in slack_audit::ocsf::OcsfVersion::ALL
        .into_iter()
        .flat_map(|v| [(v, false), (v, true)])
    {
        let (event, _) = slack_audit::ocsf::to_ocsf_in(version, data, raw_data);
        if !is_json {
            continue;
        }
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&event) {
            panic!("not JSON ({e}): {}", String::from_utf8_lossy(&event));
        }
    }
});
