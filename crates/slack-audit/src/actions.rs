//! The action names Slack lists (`GET /audit/v1/actions`), bundled from
//! `data/slack-audit-actions.json`.
//!
//! Used to warn about a filter naming an action Slack never listed, and by the synthetic
//! generator. Never used to reject or drop an event: Slack adds actions without notice, and an
//! `action` is an open string everywhere else in this crate.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use serde::Deserialize;

const ACTIONS_JSON: &str = include_str!("../data/slack-audit-actions.json");

#[derive(Deserialize)]
struct ActionsFile {
    actions: BTreeMap<String, Vec<String>>,
}

fn catalogue() -> &'static BTreeMap<String, Vec<String>> {
    static CATALOGUE: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        serde_json::from_str::<ActionsFile>(ACTIONS_JSON)
            .map(|f| f.actions)
            .unwrap_or_default()
    })
}

fn names() -> &'static HashSet<&'static str> {
    static NAMES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        catalogue()
            .values()
            .flat_map(|v| v.iter().map(String::as_str))
            .collect()
    })
}

/// Whether Slack listed `action` (as of the bundled list).
pub fn is_known(action: &str) -> bool {
    names().contains(action)
}

/// Action names by category.
pub fn by_category() -> &'static BTreeMap<String, Vec<String>> {
    catalogue()
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundled_list_loads() {
        assert_eq!(
            super::names().len(),
            762,
            "distinct action names in the bundled list"
        );
        assert!(super::is_known("user_login"));
        assert!(super::is_known("pref.sso_setting_changed"));
        assert!(!super::is_known("no_such_action"));
    }
}
