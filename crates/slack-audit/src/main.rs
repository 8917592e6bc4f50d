//! The `slack-audit` binary: the connector SDK's command line around the Slack input, with
//! its own `actions` subcommand ([`slack_audit::catalogue`]) and delivery into a lake
//! (`read --lake`, `check --lake`, `status --lake`, `lake-setup`).

use std::process::ExitCode;

fn main() -> ExitCode {
    connector_sdk::front::cli::run_lake::<slack_audit::SlackAuditInput>(
        env!("CARGO_PKG_VERSION"),
        &[slack_audit::catalogue::command()],
    )
}
