//! The `source-slack-audit` binary: the Slack input as an Airbyte source (spec, check, discover,
//! read; Airbyte messages on stdout), for pipeline hosts such as PyAirbyte and Airbyte's platform.

use std::process::ExitCode;

fn main() -> ExitCode {
    connector_sdk::front::airbyte::run::<slack_audit::SlackAuditInput>(env!("CARGO_PKG_VERSION"))
}
