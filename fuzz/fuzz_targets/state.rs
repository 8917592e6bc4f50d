//! The state decoder over arbitrary state files, then what a run and `status` do with a state
//! it accepts: `check`, `repair` at several clocks, `describe`. Never a panic.
#![no_main]

use std::path::Path;

use connector_sdk::contract::input::Input;
use libfuzzer_sys::fuzz_target;
use slack_audit::SlackAuditInput;
use slack_audit::collect::state::SyncState;

fuzz_target!(|data: &[u8]| {
    let decoded = connector_sdk::contract::state_rules::decode::<SyncState>(
        data,
        Path::new("fuzz.state.json"),
        SlackAuditInput::NAME,
        SlackAuditInput::STATE_VERSION,
        SlackAuditInput::migrate_state,
    );
    let Ok(state) = decoded else { return };
    let _ = state.check();
    for now in [0, 1_800_000_000, i64::MAX, i64::MIN] {
        let _ = slack_audit::state_report::describe(&state, now);
        if state.check().is_ok() {
            let mut repaired = state.clone();
            let _ = repaired.repair(now);
        }
    }
});
