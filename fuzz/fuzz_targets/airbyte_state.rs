//! The Airbyte front end's state parser (every form hosts send) over arbitrary documents,
//! with the input's state check. An error or a state, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use slack_audit::SlackAuditInput;

fuzz_target!(|data: &[u8]| {
    let _ = connector_sdk::front::airbyte::state_message::decode::<SlackAuditInput>(
        data,
        Path::new("fuzz.state.json"),
        slack_audit::STREAM,
    );
});
