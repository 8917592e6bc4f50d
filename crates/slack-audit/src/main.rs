//! The `slack-audit` binary: the connector SDK's command line around the Slack input.

use std::process::ExitCode;

fn main() -> ExitCode {
    connector_sdk::front::cli::run::<slack_audit::SlackAuditInput>(env!("CARGO_PKG_VERSION"))
}
