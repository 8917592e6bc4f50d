//! The configured catalog parser of the Airbyte front end over arbitrary documents.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = connector_sdk::front::airbyte::catalog::parse_selected(data, slack_audit::STREAM);
});
