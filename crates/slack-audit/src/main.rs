//! The `slack-audit` binary: the connector SDK's command line around the Slack input, with
//! its own `actions` subcommand ([`slack_audit::catalogue`]).

use std::process::ExitCode;

fn main() -> ExitCode {
    connector_sdk::front::cli::run_with::<slack_audit::SlackAuditInput>(
        env!("CARGO_PKG_VERSION"),
        &[slack_audit::catalogue::command()],
    )
}
