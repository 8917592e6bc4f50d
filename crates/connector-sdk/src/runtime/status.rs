//! Runtime layer: `NAME status --state FILE [--json]`: where a state file says a connector would resume, and
//! whether a reader is running on it, **without touching it**.
//!
//! Read-only and safe while a reader runs: the state file is read (never locked, never
//! written; commits replace it atomically, so the read sees one whole state), and the lock is
//! probed without waiting ([`crate::runtime::state_file::lock_is_held`]). The generic parts live here: the
//! envelope, the lock probe, the two renderings. What the state *means* is the input's to say,
//! through [`Input::describe_state`].

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::contract::error::StateError;
use crate::contract::input::Input;
use crate::contract::input::StateDescription;
use crate::contract::state_rules::Destination;
use crate::runtime::redact::printable;
use crate::runtime::state_file;

/// The report of `status` on one state file.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// The state file.
    pub path: String,
    /// Whether it exists.
    pub exists: bool,
    /// Whether another process (a `read`) holds its lock.
    pub reader_running: bool,
    /// The connector and the state version this build reads.
    pub connector: &'static str,
    /// The state version this build reads.
    pub version: u32,
    /// The input's description, when the file exists.
    pub description: Option<StateDescription>,
    /// Why a `read` would refuse this state ([`Input::check_state`]),
    /// if it would.
    pub problem: Option<String>,
    /// Where a read into a lake left its spool, when one committed this state.
    pub destination: Option<Destination>,
    /// The spool itself, when `status` was given the lake's file: `(label, value)` lines and
    /// their JSON.
    pub spool: Option<StateDescription>,
}

impl StatusReport {
    /// As JSON, for `--json`.
    pub fn to_json(&self) -> Value {
        json!({
            "state_file": self.path,
            "exists": self.exists,
            "connector": self.connector,
            "state_version": self.version,
            "reader_running": self.reader_running,
            "state": self.description.as_ref().map(|d| d.json.clone()),
            "problem": self.problem,
            "destination": self.destination,
            "spool": self.spool.as_ref().map(|d| d.json.clone()),
        })
    }

    /// As aligned lines, for people.
    pub fn to_text(&self) -> String {
        let mut lines: Vec<(String, String)> = vec![
            ("state file".into(), self.path.clone()),
            (
                "reader".into(),
                if self.reader_running {
                    "running: another process holds the lock (a `read` is in progress)".into()
                } else {
                    "none running (the lock is free)".into()
                },
            ),
        ];
        match &self.description {
            Some(d) => lines.extend(d.lines.iter().cloned()),
            None => lines.push((
                "state".into(),
                "none yet: no run has saved a position; the next `read` starts from the configured start point".into(),
            )),
        }
        if let Some(d) = &self.destination {
            lines.push((
                "lake spool".into(),
                format!(
                    "{} at segment {}, offset {} bytes committed",
                    d.spool_id, d.segment, d.offset
                ),
            ));
        }
        if let Some(spool) = &self.spool {
            lines.extend(spool.lines.iter().cloned());
        }
        if let Some(problem) = &self.problem {
            lines.push((
                "problem".into(),
                format!("a `read` would refuse this state: {problem}"),
            ));
        }
        let width = lines
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (label, value) in lines {
            let (label, value) = (printable(&label), printable(&value));
            let _ = writeln!(out, "{label:width$}  {value}");
        }
        out
    }
}

/// Describes the state file at `path` of input `I`, read-only.
pub fn status<I: Input>(path: &Path) -> Result<StatusReport, StateError> {
    // The lock first: a reader that finishes meanwhile leaves a state at least as new.
    let reader_running = state_file::lock_is_held(path)?;
    let loaded = state_file::read_unlocked_for::<I>(path)?;
    let (state, destination) = match loaded {
        Some((state, destination)) => (Some(state), destination),
        None => (None, None),
    };
    Ok(StatusReport {
        path: path.display().to_string(),
        exists: state.is_some(),
        reader_running,
        connector: I::NAME,
        version: I::STATE_VERSION,
        description: state.as_ref().map(I::describe_state),
        problem: state.as_ref().and_then(|s| I::check_state(s).err()),
        destination,
        spool: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a state file holds reaches the terminal with its control characters escaped.
    #[test]
    fn control_characters_from_a_state_are_escaped() {
        let report = StatusReport {
            path: "/x/state.json".into(),
            exists: true,
            reader_running: false,
            connector: "demo",
            version: 1,
            description: Some(StateDescription {
                lines: vec![("id".into(), "a\u{1b}[2Jb\u{9b}c".into())],
                json: Value::Null,
            }),
            problem: Some("bad \u{1b}]0;title\u{7}".into()),
            destination: None,
            spool: None,
        };
        let text = report.to_text();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{9b}'),
            "{text:?}"
        );
        assert!(text.contains("a\\u{1b}[2Jb\\u{9b}c"), "{text}");
    }

    #[test]
    fn text_is_aligned_and_says_when_there_is_no_state() {
        let report = StatusReport {
            path: "/x/state.json".into(),
            exists: false,
            reader_running: true,
            connector: "demo",
            version: 1,
            description: None,
            problem: None,
            destination: None,
            spool: None,
        };
        let text = report.to_text();
        assert!(
            text.starts_with("state file  /x/state.json\nreader      running"),
            "{text}"
        );
        assert!(text.contains("state       none yet"), "{text}");
        assert_eq!(report.to_json()["reader_running"], json!(true));
        assert_eq!(report.to_json()["state"], Value::Null);
    }
}
