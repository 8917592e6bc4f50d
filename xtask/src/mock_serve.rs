//! `cargo xtask mock-serve`: the loopback mock of Slack as a process, driven line by line, for
//! tests written in other languages (the PyAirbyte host tests of `cargo xtask hosts`).
//!
//! It starts a [`MockSlack`] on `127.0.0.1`, prints one JSON line `{"url": "http://127.0.0.1:PORT"}`
//! on stdout, then reads one JSON command a line on stdin and answers each with one JSON line
//! (`{"ok": true, …}` or `{"ok": false, "error": "…"}`). End of stdin stops it.
//!
//! | command | effect | answer |
//! |---|---|---|
//! | `{"cmd": "push", "entries": ["<entry JSON text>", …]}` | serves these entries, byte for byte | `count`: entries now held |
//! | `{"cmd": "fault", "status": 403, "error": "team_not_authorized"}` | the next request gets `status` with `{"ok":false,"error":…}` | |
//! | `{"cmd": "fault", "kind": "unauthorized_empty" \| "service_unavailable_html"}` | the next request gets a 401 with an empty body, or a 503 HTML page | |
//! | `{"cmd": "served"}` | | `ids`: every id served so far, with repeats, in order |
//! | `{"cmd": "stats"}` | | `requests`, `pages_ok`, `entries_served`, `pending_faults` |

use std::io::{BufRead, Write};

use anyhow::Context;
use serde::Deserialize;
use serde_json::{Value, json};
use slack_mock::{Fault, MockConfig, MockEntry, MockSlack};

/// Arguments of `cargo xtask mock-serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct MockServeArgs {
    /// The token requests must carry (`Authorization: Bearer …`); others get a 401.
    #[arg(long)]
    pub token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
enum Command {
    Push {
        entries: Vec<String>,
    },
    Fault {
        #[serde(default)]
        status: Option<u16>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        kind: Option<String>,
    },
    Served,
    Stats,
}

/// Runs the task until stdin ends.
pub fn run(args: &MockServeArgs) -> anyhow::Result<()> {
    let rt = crate::runtime("mock-serve", 1)?;
    let mock = rt
        .block_on(MockSlack::start(MockConfig {
            token: args.token.clone(),
            ..MockConfig::default()
        }))
        .context("cannot start the mock")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", json!({"url": mock.base_url()}))?;
    stdout.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading a command")?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Command>(&line) {
            Ok(command) => {
                apply(&mock, command).unwrap_or_else(|e| json!({"ok": false, "error": e}))
            }
            Err(e) => json!({"ok": false, "error": format!("unknown command: {e}")}),
        };
        writeln!(stdout, "{answer}")?;
        stdout.flush()?;
    }
    rt.block_on(mock.shutdown());
    Ok(())
}

fn apply(mock: &MockSlack, command: Command) -> Result<Value, String> {
    match command {
        Command::Push { entries } => {
            let parsed = entries
                .iter()
                .map(|text| MockEntry::from_json(text).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            mock.push_entries(parsed);
            Ok(json!({"ok": true, "count": mock.entry_count()}))
        }
        Command::Fault {
            status,
            error,
            kind,
        } => {
            let fault = match (status, error, kind.as_deref()) {
                (Some(status), Some(error), None) => Fault::json_error(status, &error),
                (None, None, Some("unauthorized_empty")) => Fault::unauthorized_empty(),
                (None, None, Some("service_unavailable_html")) => Fault::service_unavailable_html(),
                _ => {
                    return Err(
                        "a fault is either {status, error} or {kind: unauthorized_empty | service_unavailable_html}"
                            .into(),
                    );
                }
            };
            mock.enqueue_fault(fault);
            Ok(json!({"ok": true}))
        }
        Command::Served => Ok(json!({"ok": true, "ids": mock.served_ids()})),
        Command::Stats => {
            let stats = mock.stats();
            Ok(json!({
                "ok": true,
                "requests": stats.requests,
                "pages_ok": stats.pages_ok,
                "entries_served": stats.entries_served,
                "pending_faults": mock.pending_faults(),
            }))
        }
    }
}
