//! `slack-audit actions`: Slack's live catalogue against the bundled one.
//!
//! Slack publishes its action names (`GET /audit/v1/actions`, by category) and its entity
//! shapes (`GET /audit/v1/schemas`) without a token. This command fetches both from
//! `api_base_url` (through the same trust and proxy as the audit log requests, with no
//! `Authorization` header) and says what differs from what this build bundles
//! ([`ActionCatalog::bundled`], [`EntitySchemas::bundled`]) and maps
//! ([`crate::ocsf::table::Table`]): new actions with their category and the OCSF class they fall
//! into today (the fallback, API Activity "Other", unless the mapping already has a row),
//! actions gone, new entity types and fields. It exits [`EXIT_SOMETHING_NEW`] when something is
//! new, for a scheduled job to alert on; `cargo xtask catalogue` refreshes the bundled files from
//! a recorded answer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches};
use connector_sdk::contract::error::{ErrorKind, InputError};
use connector_sdk::front::cli::ExtraCommand;
use serde::Serialize;
use slack_audit_model::{ActionCatalog, EntitySchemas};

use crate::ocsf::table::{self, FALLBACK, Table};
use crate::settings::{SlackConfig, SlackSettings};
use crate::source::http::HttpSource;

/// The exit code when Slack lists something this build does not know.
pub const EXIT_SOMETHING_NEW: u8 = 5;

/// The subcommand, for [`connector_sdk::front::cli::run_with`].
pub fn command() -> ExtraCommand {
    ExtraCommand {
        command: clap::Command::new("actions")
            .about("Compare Slack's live action catalogue and entity schemas with the bundled ones")
            .long_about(format!(
                "Fetch GET /audit/v1/actions and /audit/v1/schemas (no token is sent) and show what differs from the bundled catalogue and the OCSF mapping: new actions (their category, and the OCSF class they fall into today), actions gone, new entity types and fields. Exit 0: nothing new; {EXIT_SOMETHING_NEW}: something is new (for a scheduled job); otherwise an error, with the usual codes."
            ))
            .arg(
                Arg::new("config")
                    .long("config")
                    .value_name("FILE")
                    .value_parser(clap::value_parser!(PathBuf))
                    .help("The config document: its api_base_url, CA and proxy settings are used; no secret is read or sent")
                    .conflicts_with("api_base_url"),
            )
            .arg(
                Arg::new("api_base_url")
                    .long("api-base-url")
                    .value_name("URL")
                    .help("Slack's API instead of a config (default https://api.slack.com)"),
            )
            .arg(
                Arg::new("json")
                    .long("json")
                    .action(ArgAction::SetTrue)
                    .help("Print JSON instead of text"),
            ),
        run: |matches| Box::pin(run(matches)),
    }
}

async fn run(matches: ArgMatches) -> Result<ExitCode, InputError> {
    let settings = match (
        matches.get_one::<PathBuf>("config"),
        matches.get_one::<String>("api_base_url"),
    ) {
        (Some(path), _) => settings_of(path)?,
        (None, url) => {
            let mut document = serde_json::json!({});
            if let Some(url) = url {
                document["api_base_url"] = url.clone().into();
            }
            serde_json::from_value::<SlackSettings>(document)
                .map_err(|e| InputError::config(e.to_string()))?
        }
    };
    let now = chrono::Utc::now().timestamp();
    let config = SlackConfig::without_token(settings, now)?;
    let client =
        HttpSource::without_token(&config.base_url, config.request_timeout(), &config.network)
            .map_err(InputError::from)?;
    let fetch = |path: &'static str| {
        let client = &client;
        async move {
            client.public_document(path).await.map_err(|e| {
                let error = InputError::from(e);
                InputError::new(error.kind, format!("GET /{path}: {}", error.message))
            })
        }
    };
    let actions = fetch("audit/v1/actions").await?;
    let schemas = fetch("audit/v1/schemas").await?;
    let live = Live::from_documents(&actions, &schemas)
        .map_err(|e| InputError::new(ErrorKind::Fatal, e))?;
    let report = Report::compare(
        ActionCatalog::bundled(),
        EntitySchemas::bundled(),
        Table::bundled(),
        &live,
        config.base_url.as_str(),
    );
    let text = if matches.get_flag("json") {
        format!("{}\n", serde_json::json!(report))
    } else {
        report.to_text()
    };
    print(&text)?;
    Ok(if report.something_new {
        ExitCode::from(EXIT_SOMETHING_NEW)
    } else {
        ExitCode::SUCCESS
    })
}

/// The settings of the config document at `path`, checked against the schema; its secrets
/// are neither needed nor sent.
fn settings_of(path: &std::path::Path) -> Result<SlackSettings, InputError> {
    let bytes = connector_sdk::runtime::file::read_regular(
        path,
        connector_sdk::runtime::file::MAX_CONFIG_BYTES,
        "config",
    )
    .map_err(|e| InputError::config(format!("cannot read {}: {e}", path.display())))?;
    let document = connector_sdk::contract::config::document(&bytes)?;
    connector_sdk::runtime::redact::register_secrets(&connector_sdk::contract::config::secrets_of(
        &document,
    ));
    let violations = connector_sdk::contract::config::validate_against_schema::<
        crate::SlackAuditInput,
    >(&document);
    if !violations.is_empty() {
        return Err(connector_sdk::contract::error::ConfigError::Invalid(violations).into());
    }
    let settings = document.get("settings").cloned().unwrap_or_default();
    serde_json::from_value(settings).map_err(|e| InputError::config(format!("settings: {e}")))
}

fn print(text: &str) -> Result<(), InputError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(InputError::fatal(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// What Slack lists today.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// Action names by category.
    pub actions: BTreeMap<String, Vec<String>>,
    /// Entity types and their field names.
    pub schemas: EntitySchemas,
}

impl Live {
    /// From the answers of `GET /actions` (`{"actions": {category: [name, …]}}`) and
    /// `GET /schemas`.
    pub fn from_documents(
        actions: &serde_json::Value,
        schemas: &serde_json::Value,
    ) -> Result<Live, String> {
        let actions: BTreeMap<String, Vec<String>> = actions
            .get("actions")
            .cloned()
            .ok_or("GET /actions: the answer has no `actions` object")
            .and_then(|a| {
                serde_json::from_value(a)
                    .map_err(|_| "GET /actions: `actions` is not an object of arrays of names")
            })?;
        let schemas =
            EntitySchemas::from_value(schemas).map_err(|e| format!("GET /schemas: {e}"))?;
        Ok(Live { actions, schemas })
    }
}

/// An action Slack lists that the bundled catalogue does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewAction {
    /// Its name.
    pub action: String,
    /// Slack's categories for it.
    pub categories: Vec<String>,
    /// The OCSF class its entries fall into today (`class_uid`).
    pub class_uid: u32,
    /// That class's name.
    pub class_name: String,
    /// The activity (`activity_id`).
    pub activity_id: u32,
    /// Whether the mapping has a row for it (otherwise the fallback for unknown actions).
    pub mapped: bool,
}

/// What differs between Slack's live catalogue and this build's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Where the live catalogue came from.
    pub api_base_url: String,
    /// Actions Slack lists and the bundled catalogue does not.
    pub new_actions: Vec<NewAction>,
    /// Actions the bundled catalogue lists and Slack no longer does.
    pub gone_actions: Vec<String>,
    /// Entity types Slack describes and the bundled schemas do not, with their fields.
    pub new_entity_types: BTreeMap<String, BTreeSet<String>>,
    /// Fields of known entity types that the bundled schemas do not have, by type.
    pub new_fields: BTreeMap<String, BTreeSet<String>>,
    /// Entity types of the bundled schemas that Slack no longer describes.
    pub gone_entity_types: Vec<String>,
    /// Whether anything is new (the exit code says the same).
    pub something_new: bool,
}

impl Report {
    /// The difference between `live` and the bundled `catalog`, `schemas` and `table`.
    pub fn compare(
        catalog: &ActionCatalog,
        schemas: &EntitySchemas,
        table: &Table,
        live: &Live,
        api_base_url: &str,
    ) -> Report {
        let mut live_categories: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (category, names) in &live.actions {
            for name in names {
                live_categories
                    .entry(name.as_str())
                    .or_default()
                    .push(category.clone());
            }
        }
        let new_actions: Vec<NewAction> = live_categories
            .iter()
            .filter(|(name, _)| !catalog.contains(name))
            .map(|(name, categories)| {
                let row = table.get(name);
                let chosen = row.unwrap_or(&FALLBACK);
                NewAction {
                    action: (*name).to_owned(),
                    categories: categories.clone(),
                    class_uid: chosen.class_uid,
                    class_name: table::class(chosen.class_uid)
                        .map_or("?", |c| c.caption)
                        .to_owned(),
                    activity_id: chosen.activity_id,
                    mapped: row.is_some(),
                }
            })
            .collect();
        let gone_actions: Vec<String> = catalog
            .names()
            .filter(|name| !live_categories.contains_key(name))
            .map(str::to_owned)
            .collect();
        let mut new_entity_types = BTreeMap::new();
        let mut new_fields = BTreeMap::new();
        for (name, fields) in live.schemas.types() {
            match schemas.fields(name) {
                None => {
                    new_entity_types.insert(name.to_owned(), fields.clone());
                }
                Some(known) => {
                    let added: BTreeSet<String> = fields.difference(known).cloned().collect();
                    if !added.is_empty() {
                        new_fields.insert(name.to_owned(), added);
                    }
                }
            }
        }
        let gone_entity_types = schemas
            .types()
            .filter(|(name, _)| live.schemas.fields(name).is_none())
            .map(|(name, _)| name.to_owned())
            .collect();
        let something_new =
            !(new_actions.is_empty() && new_entity_types.is_empty() && new_fields.is_empty());
        Report {
            api_base_url: api_base_url.to_owned(),
            new_actions,
            gone_actions,
            new_entity_types,
            new_fields,
            gone_entity_types,
            something_new,
        }
    }

    /// The report for a human.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Slack's catalogue at {} against this build's ({} actions, {} entity types bundled):\n",
            self.api_base_url,
            ActionCatalog::bundled().len(),
            EntitySchemas::bundled().types().count()
        );
        let section = |out: &mut String, title: &str, lines: Vec<String>| {
            if !lines.is_empty() {
                out.push_str(&format!("\n{title} ({}):\n", lines.len()));
                for line in lines {
                    out.push_str(&format!("  {line}\n"));
                }
            }
        };
        section(
            &mut out,
            "New actions, not in the bundled catalogue",
            self.new_actions
                .iter()
                .map(|a| {
                    format!(
                        "{} (category {}): OCSF {} ({}), activity_id {}{}",
                        a.action,
                        a.categories.join(", "),
                        a.class_name,
                        a.class_uid,
                        a.activity_id,
                        if a.mapped {
                            ""
                        } else {
                            " (Other): the mapping has no row for it yet"
                        }
                    )
                })
                .collect(),
        );
        section(
            &mut out,
            "Actions gone, bundled but no longer listed by Slack",
            self.gone_actions.clone(),
        );
        section(
            &mut out,
            "New entity types",
            self.new_entity_types
                .iter()
                .map(|(name, fields)| format!("{name}: {}", join(fields)))
                .collect(),
        );
        section(
            &mut out,
            "New fields of known entity types",
            self.new_fields
                .iter()
                .map(|(name, fields)| format!("{name}: {}", join(fields)))
                .collect(),
        );
        section(
            &mut out,
            "Entity types gone",
            self.gone_entity_types.clone(),
        );
        out.push('\n');
        out.push_str(if self.something_new {
            "Something is new: this build does not know it yet (new actions become OCSF API Activity \"Other\" until the mapping has a row). Refresh the bundled catalogue with `cargo xtask catalogue` and add the rows to data/ocsf-mapping.csv, or update the connector.\n"
        } else {
            "Nothing new.\n"
        });
        out
    }
}

fn join(fields: &BTreeSet<String>) -> String {
    fields.iter().cloned().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn bundled_live() -> Live {
        let actions: serde_json::Value =
            serde_json::from_str(slack_audit_model::ACTIONS_JSON).unwrap();
        let schemas: serde_json::Value =
            serde_json::from_str(slack_audit_model::SCHEMAS_JSON).unwrap();
        Live::from_documents(&actions, &schemas).unwrap()
    }

    fn compare(live: &Live) -> Report {
        Report::compare(
            ActionCatalog::bundled(),
            EntitySchemas::bundled(),
            Table::bundled(),
            live,
            "http://x/",
        )
    }

    #[test]
    fn the_bundled_catalogue_against_itself_has_nothing_new() {
        let report = compare(&bundled_live());
        assert!(!report.something_new, "{report:?}");
        assert!(report.gone_actions.is_empty());
        assert!(report.to_text().ends_with("Nothing new.\n"));
    }

    #[test]
    fn a_new_action_gets_its_category_and_todays_class_and_a_gone_one_is_named() {
        let mut live = bundled_live();
        live.actions
            .get_mut("file")
            .unwrap()
            .push("file_teleported".to_owned());
        live.actions
            .get_mut("user")
            .unwrap()
            .retain(|a| a != "user_login");
        let report = compare(&live);
        assert!(report.something_new);
        assert_eq!(
            report.new_actions,
            [NewAction {
                action: "file_teleported".into(),
                categories: vec!["file".into()],
                class_uid: 6003,
                class_name: "API Activity".into(),
                activity_id: 99,
                mapped: false,
            }]
        );
        assert_eq!(report.gone_actions, ["user_login"]);
        let text = report.to_text();
        assert!(
            text.contains(
                "file_teleported (category file): OCSF API Activity (6003), activity_id 99 (Other)"
            ),
            "{text}"
        );
    }
}
