//! The fixture format: one folder per case under `fixtures/slack-audit/<case>/`.
//!
//! A fixture is what Slack said, kept so it can be said again byte for byte: `case.json` holds
//! the config, an optional starting state and, for each run, the exchanges in order (the query
//! the connector must send, the response to give); every response body is a separate file
//! under `pages/`, never re-encoded, so empty, truncated and non-JSON bodies survive exactly.
//!
//! ```json
//! {
//!   "description": "What this case proves.",
//!   "config": {"settings": {"page_size": 3}, "secrets": {"user_oauth_token": "xoxp-1000000000-2000000000-300000000000-f1c7e5f1c7e5f1c7e5f1c7e5f1c7e5f1"}},
//!   "state": null,
//!   "runs": [{
//!     "now": 1767225600,
//!     "exchanges": [
//!       {"query": {"oldest": "1767222000", "latest": "1767225600", "limit": "3"},
//!        "status": 429, "headers": {"Retry-After": "1"}, "body": "pages/001.json"}
//!     ],
//!     "expect": {"outcome": "ok", "records": 3}
//!   }]
//! }
//! ```
//!
//! `settings.api_base_url` is replaced by the mock's address at run time. A query value `"*"`
//! matches any value. `truncate: true` sends the body file and closes the connection early:
//! with a `Content-Length` header the body file is what was received and the header is what
//! was declared; without one, half of the file is sent. `drop: true` closes the connection
//! without an answer (how a timeout or reset is recorded).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use slack_mock::{ScriptedExchange, ScriptedResponse};

/// The token every fixture carries: the mock accepts it and nothing else does.
pub const FIXTURE_TOKEN: &str =
    "xoxp-1000000000-2000000000-300000000000-f1c7e5f1c7e5f1c7e5f1c7e5f1c7e5f1";

/// The file that makes a folder a case.
pub const CASE_FILE: &str = "case.json";

/// The snapshot of a case, beside its `case.json`.
pub const SNAPSHOT_FILE: &str = "replay.snap";
/// The snapshot of the records in OCSF format (`settings.record_format = "ocsf"`), for cases
/// that deliver records.
pub const OCSF_SNAPSHOT_FILE: &str = "ocsf.snap";

/// One case: `case.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case proves, in a sentence or two.
    pub description: String,
    /// The connector's config document (`api_base_url` is set at run time).
    pub config: CaseConfig,
    /// The starting `SyncState` (the `state` inside the state file's envelope), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Value>,
    /// Runs of the connector, in order; the state file carries over from one to the next.
    pub runs: Vec<Run>,
}

/// `{"settings": {…}, "secrets": {…}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseConfig {
    /// The input's settings.
    #[serde(default)]
    pub settings: Map<String, Value>,
    /// The input's secrets; the token must be [`FIXTURE_TOKEN`].
    #[serde(default)]
    pub secrets: Map<String, Value>,
}

/// One run of the connector (`read` without `--follow`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// What this run shows, if the case has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The clock during the run, in unix seconds.
    pub now: i64,
    /// The requests the connector must make, in order, and their answers.
    pub exchanges: Vec<Exchange>,
    /// Facts about the outcome, checked besides the snapshot (a snapshot can be accepted by
    /// mistake; these cannot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
}

/// One request and its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// The query parameters the request must carry, exactly (`"*"`: any value).
    pub query: BTreeMap<String, String>,
    /// HTTP status of the answer.
    #[serde(default = "default_status")]
    pub status: u16,
    /// Headers of the answer (`Content-Length` only with `truncate`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The body file, relative to the case folder (absent: an empty body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Cut the body short and close the connection.
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncate: bool,
    /// Close the connection without answering.
    #[serde(default, skip_serializing_if = "is_false")]
    pub drop: bool,
}

/// Checked facts about a run's outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `ok`, `config`, `auth`, `transient` or `fatal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// How many records the run delivers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    /// The state file is byte for byte what it was before the run.
    #[serde(default, skip_serializing_if = "is_false")]
    pub state_unchanged: bool,
}

fn default_status() -> u16 {
    200
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Case {
    /// Reads `dir/case.json`.
    pub fn load(dir: &Path) -> anyhow::Result<Case> {
        let path = dir.join(CASE_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let case: Case = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid case", path.display()))?;
        if case.runs.is_empty() {
            bail!("{}: a case needs at least one run", path.display());
        }
        Ok(case)
    }

    /// Every body file the case refers to, relative to its folder.
    pub fn body_files(&self) -> Vec<PathBuf> {
        self.runs
            .iter()
            .flat_map(|run| &run.exchanges)
            .filter_map(|e| e.body.as_deref())
            .map(PathBuf::from)
            .collect()
    }
}

impl Exchange {
    /// The mock's form of this exchange, with the body read from `dir`.
    pub fn scripted(&self, dir: &Path) -> anyhow::Result<ScriptedExchange> {
        let body = match &self.body {
            Some(file) => {
                let path = dir.join(file);
                if Path::new(file).is_absolute() || file.contains("..") {
                    bail!("body {file:?} must be a path inside the case folder");
                }
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?
            }
            None => Vec::new(),
        };
        if let Some((_, declared)) = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            let declared: usize = declared
                .trim()
                .parse()
                .with_context(|| format!("Content-Length {declared:?} is not a number"))?;
            if !self.truncate {
                bail!("a Content-Length header is only for truncated bodies (truncate: true)");
            }
            if declared <= body.len() {
                bail!(
                    "a truncated body must be shorter than its Content-Length ({} >= {declared})",
                    body.len()
                );
            }
        }
        Ok(ScriptedExchange {
            expect_query: self
                .query
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            response: ScriptedResponse {
                status: self.status,
                headers: self
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                body,
                truncate: self.truncate,
                drop: self.drop,
            },
        })
    }
}
