//! The action names Slack's `GET /actions` listed, and the entity shapes of `GET /schemas`,
//! bundled with the crate.
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

/// The bundled `GET /schemas` answer: `{"source": …, "schemas": [{"type": T, T: {field: …}}]}`.
/// Until a recorded answer replaces it (`cargo xtask catalogue`), it holds the entity types
/// and fields the typed model ([`crate::entry`]) knows.
pub const SCHEMAS_JSON: &str = include_str!("../data/slack-audit-schemas.json");

/// Entity types and their field names, as `GET https://api.slack.com/audit/v1/schemas` lists
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntitySchemas {
    source: String,
    types: BTreeMap<String, BTreeSet<String>>,
}

impl EntitySchemas {
    /// The bundled schemas ([`SCHEMAS_JSON`]), parsed once (checked by a unit test).
    pub fn bundled() -> &'static EntitySchemas {
        static BUNDLED: OnceLock<EntitySchemas> = OnceLock::new();
        BUNDLED.get_or_init(|| Self::parse(SCHEMAS_JSON).unwrap_or_default())
    }

    /// Parses a `GET /schemas`-shaped document: each item names its `type` and holds the
    /// type's fields under the key of that name.
    pub fn parse(json: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("not JSON ({e})"))?;
        Self::from_value(&value)
    }

    /// [`parse`](Self::parse), from a parsed document.
    pub fn from_value(value: &serde_json::Value) -> Result<Self, String> {
        let items = value
            .get("schemas")
            .and_then(serde_json::Value::as_array)
            .ok_or("no `schemas` array")?;
        let mut types = BTreeMap::new();
        for (i, item) in items.iter().enumerate() {
            let name = item
                .get("type")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| format!("schemas[{i}] has no string `type`"))?;
            let fields = match item.get(name) {
                Some(serde_json::Value::Object(fields)) => fields.keys().cloned().collect(),
                None => BTreeSet::new(),
                Some(_) => return Err(format!("schemas[{i}].{name} is not an object")),
            };
            types.insert(name.to_owned(), fields);
        }
        let source = value
            .get("source")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok(Self { source, types })
    }

    /// Where the list came from, as recorded in the file.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The entity types with their field names, sorted.
    pub fn types(&self) -> impl Iterator<Item = (&str, &BTreeSet<String>)> {
        self.types
            .iter()
            .map(|(name, fields)| (name.as_str(), fields))
    }

    /// The field names of entity type `name`, if listed.
    pub fn fields(&self, name: &str) -> Option<&BTreeSet<String>> {
        self.types.get(name)
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

    #[test]
    fn bundled_schemas_hold_every_entity_type_the_model_types() {
        let schemas = EntitySchemas::bundled();
        let entity = &crate::entry::record_schema()["$defs"]["Entity"]["properties"];
        let typed: Vec<&String> = entity
            .as_object()
            .map(|o| o.keys().filter(|k| *k != "type").collect())
            .unwrap_or_default();
        assert!(typed.len() >= 20, "{typed:?}");
        for name in typed {
            assert!(schemas.fields(name).is_some(), "{name} missing");
        }
        assert!(
            schemas
                .fields("channel")
                .is_some_and(|f| f.contains("is_org_shared"))
        );
        assert!(EntitySchemas::parse(r#"{"schemas":[{"name":"x"}]}"#).is_err());
    }
}
