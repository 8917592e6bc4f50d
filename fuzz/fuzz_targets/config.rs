//! The config loader over arbitrary documents: UTF-8, JSON, the JSON Schema, deserialisation
//! and the input's semantic checks. An error or an input, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slack_audit::SlackAuditInput;

fuzz_target!(|data: &[u8]| {
    let _ = connector_sdk::contract::config::parse::<SlackAuditInput>(data);
});
