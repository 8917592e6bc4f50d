//! `cargo xtask catalogue`: refreshes the bundled action catalogue and entity schemas
//! (`crates/slack-audit-model/data/`) from a recorded answer of Slack's `GET /audit/v1/actions`
//! and `GET /audit/v1/schemas` (saved with `curl https://api.slack.com/audit/v1/actions`, no
//! token needed), and says what changed and which actions still need a row in the OCSF
//! mapping (`crates/slack-audit/data/ocsf-mapping.csv`; the test suite refuses a bundled action
//! without one).
//!
//! The written files keep Slack's shape with a `source` line (where and when), sorted and
//! pretty-printed, so a refresh reads as a diff of names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use slack_audit_model::{ActionCatalog, EntitySchemas};

/// Arguments of `cargo xtask catalogue`.
#[derive(Debug, clap::Args)]
pub struct CatalogueArgs {
    /// A recorded answer of GET /audit/v1/actions.
    #[arg(long, value_name = "FILE")]
    pub actions: Option<PathBuf>,
    /// A recorded answer of GET /audit/v1/schemas.
    #[arg(long, value_name = "FILE")]
    pub schemas: Option<PathBuf>,
    /// What the `source` line says the answer is (such as `GET https://api.slack.com/audit/v1/actions, as of 2026-12-01`).
    #[arg(long)]
    pub source: String,
    /// Where the bundled files are (default: the model crate's `data/`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Runs the task.
pub fn run(args: &CatalogueArgs) -> anyhow::Result<()> {
    if args.actions.is_none() && args.schemas.is_none() {
        bail!(
            "give --actions FILE, --schemas FILE or both: recorded answers of Slack's GET /audit/v1/actions and /schemas"
        );
    }
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| crate::workspace_root().join("crates/slack-audit-model/data"));
    if let Some(path) = &args.actions {
        let (text, report) = refresh_actions(&read(path)?, &args.source)?;
        let target = dir.join("slack-audit-actions.json");
        std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
        println!("wrote {}: {report}", target.display());
    }
    if let Some(path) = &args.schemas {
        let (text, report) = refresh_schemas(&read(path)?, &args.source)?;
        let target = dir.join("slack-audit-schemas.json");
        std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
        println!("wrote {}: {report}", target.display());
    }
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The bundled actions file for the recorded answer `answer`, and what changed against the
/// bundled catalogue (and which new actions lack a mapping row).
pub fn refresh_actions(answer: &str, source: &str) -> anyhow::Result<(String, String)> {
    let value: serde_json::Value =
        serde_json::from_str(answer).context("the recorded GET /actions answer is not JSON")?;
    let mut actions: BTreeMap<String, Vec<String>> = serde_json::from_value(
        value
            .get("actions")
            .cloned()
            .context("the recorded GET /actions answer has no `actions` object")?,
    )
    .context("`actions` is not an object of arrays of names")?;
    for names in actions.values_mut() {
        names.sort();
        names.dedup();
    }
    let text = format!(
        "{{\n \"source\": {},\n \"actions\": {}\n}}",
        serde_json::to_string(source)?,
        nested(&pretty(&actions)?)
    );
    let fresh = ActionCatalog::parse(&text).context("the refreshed file does not parse")?;
    let bundled = ActionCatalog::bundled();
    let added: Vec<&str> = fresh.names().filter(|n| !bundled.contains(n)).collect();
    let removed: Vec<&str> = bundled.names().filter(|n| !fresh.contains(n)).collect();
    let table = slack_audit::ocsf::table::Table::bundled();
    let unmapped: Vec<&str> = fresh.names().filter(|n| table.get(n).is_none()).collect();
    Ok((
        text,
        format!(
            "{} actions in {} categories; added {}, removed {}; without a row in data/ocsf-mapping.csv: {}",
            fresh.len(),
            fresh.categories().count(),
            list(&added),
            list(&removed),
            list(&unmapped)
        ),
    ))
}

/// The bundled schemas file for the recorded answer `answer`, and what changed.
pub fn refresh_schemas(answer: &str, source: &str) -> anyhow::Result<(String, String)> {
    let value: serde_json::Value =
        serde_json::from_str(answer).context("the recorded GET /schemas answer is not JSON")?;
    let fresh = EntitySchemas::from_value(&value)
        .map_err(|e| anyhow::anyhow!("the recorded GET /schemas answer: {e}"))?;
    let schemas = value.get("schemas").cloned().unwrap_or_default();
    let text = format!(
        "{{\n \"source\": {},\n \"schemas\": {}\n}}",
        serde_json::to_string(source)?,
        nested(&pretty(&schemas)?)
    );
    let bundled = EntitySchemas::bundled();
    let added: Vec<String> = fresh
        .types()
        .flat_map(|(name, fields)| {
            let known = bundled.fields(name);
            fields
                .iter()
                .filter(move |f| known.is_none_or(|k| !k.contains(*f)))
                .map(move |f| format!("{name}.{f}"))
        })
        .collect();
    Ok((
        text,
        format!(
            "{} entity types; fields added: {}",
            fresh.types().count(),
            list(&added)
        ),
    ))
}

/// `value` as the bundled files write JSON: one space of indent per level.
fn pretty<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer)?;
    Ok(String::from_utf8(out)?)
}

/// `text` one level deeper: every line after the first indented by one space.
fn nested(text: &str) -> String {
    text.replace('\n', "\n ")
}

fn list<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_bundled_answer_refreshes_to_itself_and_a_new_action_is_named() {
        let (text, report) = refresh_actions(
            slack_audit_model::ACTIONS_JSON,
            ActionCatalog::bundled().source(),
        )
        .unwrap();
        assert!(
            text == slack_audit_model::ACTIONS_JSON,
            "the bundled file is not what a refresh writes"
        );
        assert!(report.contains("added none, removed none"), "{report}");
        assert!(report.ends_with("mapping.csv: none"), "{report}");

        let mut answer: serde_json::Value =
            serde_json::from_str(slack_audit_model::ACTIONS_JSON).unwrap();
        answer["actions"]["file"]
            .as_array_mut()
            .unwrap()
            .push("file_teleported".into());
        let (_, report) = refresh_actions(&answer.to_string(), "test").unwrap();
        assert!(report.contains("added file_teleported"), "{report}");
        assert!(report.ends_with("mapping.csv: file_teleported"), "{report}");
    }

    #[test]
    fn a_recorded_schemas_answer_keeps_slacks_shape() {
        let answer = r#"{"ok":true,"schemas":[{"type":"channel","channel":{"id":"string","is_frozen":"bool"}}]}"#;
        let (text, report) = refresh_schemas(answer, "test").unwrap();
        let parsed = EntitySchemas::parse(&text).unwrap();
        assert_eq!(parsed.source(), "test");
        assert!(parsed.fields("channel").unwrap().contains("is_frozen"));
        assert!(report.contains("channel.is_frozen"), "{report}");
        assert!(!text.contains("\"ok\""), "{text}");
    }
}
