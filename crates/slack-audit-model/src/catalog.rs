//! The action names Slack's `GET /actions` listed, bundled with the crate.
//!
//! Why bundled: the connector warns about a filter naming an action Slack never listed; the
//! generator must only emit names Slack really uses, and it derives the entity type of its
//! rarer actions from their category; tests check every generated action against the same
//! list. The file is a copy of the project's shared reference data
//! (`data/slack-audit-actions.json`, 762 names in 25 categories as of 2026-08-05), kept inside
//! the crate so the build never reaches outside the repository. Slack adds and retires names,
//! so this list describes, it does not validate real records.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;

/// The bundled `GET /actions` response: `{"source": …, "actions": {category: [name, …]}}`.
pub const ACTIONS_JSON: &str = include_str!("../data/slack-audit-actions.json");

/// Action names by category, as `GET https://api.slack.com/audit/v1/actions` lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionCatalog {
    source: String,
    categories: BTreeMap<String, Vec<String>>,
    names: BTreeSet<String>,
}

#[derive(Deserialize)]
struct CatalogFile {
    #[serde(default)]
    source: String,
    actions: BTreeMap<String, Vec<String>>,
}

impl ActionCatalog {
    /// The catalog bundled with the crate ([`ACTIONS_JSON`]), parsed once.
    pub fn bundled() -> &'static ActionCatalog {
        static BUNDLED: OnceLock<ActionCatalog> = OnceLock::new();
        // The bundled file is checked by a unit test; an empty catalog would only disable the
        // generator's long tail of rare actions, never fail a run.
        BUNDLED.get_or_init(|| Self::parse(ACTIONS_JSON).unwrap_or_default())
    }

    /// Parses a `GET /actions`-shaped document.
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        let file: CatalogFile = serde_json::from_str(json)?;
        let names = file.actions.values().flatten().cloned().collect();
        Ok(Self {
            source: file.source,
            categories: file.actions,
            names,
        })
    }

    /// Where the list came from, as recorded in the file.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether `action` is one of the listed names.
    pub fn contains(&self, action: &str) -> bool {
        self.names.contains(action)
    }

    /// Number of distinct action names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the catalog lists no action at all.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every distinct action name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The categories with their action names, sorted by category.
    pub fn categories(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.categories
            .iter()
            .map(|(category, names)| (category.as_str(), names.as_slice()))
    }

    /// The action names of `category`, as listed; `None` for a category the catalog does not
    /// have.
    pub fn category(&self, category: &str) -> Option<&[String]> {
        self.categories.get(category).map(Vec::as_slice)
    }

    /// The categories listing `action` (a few names appear in two).
    pub fn categories_of<'a>(&'a self, action: &'a str) -> impl Iterator<Item = &'a str> {
        self.categories()
            .filter(move |(_, names)| names.iter().any(|name| name == action))
            .map(|(category, _)| category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_catalog_is_complete() {
        let catalog = ActionCatalog::bundled();
        assert_eq!(catalog.len(), 762);
        assert_eq!(catalog.categories().count(), 25);
        assert!(catalog.contains("pref.sso_setting_changed"));
        assert!(catalog.contains("team.unsupportedVersions.start.success"));
        assert!(!catalog.contains("no_such_action"));
        let both: Vec<&str> = catalog
            .categories_of("connect_dm_invite_accepted")
            .collect();
        assert_eq!(both, ["channel", "user"]);
    }
}
