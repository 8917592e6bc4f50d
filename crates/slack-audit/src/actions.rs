//! Which action names and categories Slack lists (`GET /audit/v1/actions`, bundled in
//! `slack-audit-model`'s `data/slack-audit-actions.json` and parsed once by
//! [`slack_audit_model::ActionCatalog`]), and the closest one to a name it does not list.
//!
//! The settings' action filters are checked against it: a name there that Slack does not list
//! would be refused by Slack (`invalid_action`), or silently match nothing when the filter is
//! applied on our side, so it is refused at config time with the closest listed name. Never
//! used to drop an event: Slack adds actions without notice, and an entry's `action` is an open
//! string everywhere else in this crate (`slack-audit actions` says when the bundled list is
//! behind).

use std::collections::{BTreeSet, HashSet};

use slack_audit_model::ActionCatalog;

/// Whether Slack listed `action` (as of the bundled list).
pub fn is_known(action: &str) -> bool {
    ActionCatalog::bundled().contains(action)
}

/// Whether Slack lists a category of this name (as of the bundled list).
pub fn is_category(name: &str) -> bool {
    ActionCatalog::bundled().category(name).is_some()
}

/// The effective action filter against `catalog`: the included names (`include`'s explicit
/// ones, then each of its categories' in the catalogue's order, without repeats) minus the
/// excluded ones (`exclude`'s explicit ones and its categories'); and, when nothing is
/// included, the excluded names (sorted). A category the catalogue does not know adds nothing
/// (the settings' checks refuse it first). Each pair is (action names, category names).
pub fn effective_filter(
    catalog: &ActionCatalog,
    include: [&[String]; 2],
    exclude: [&[String]; 2],
) -> (Vec<String>, Vec<String>) {
    let category = |name: &String| catalog.category(name).unwrap_or_default().iter();
    let [exclude_names, exclude_categories] = exclude;
    let mut excluded: BTreeSet<&String> = exclude_names.iter().collect();
    excluded.extend(exclude_categories.iter().flat_map(category));
    let [include_names, include_categories] = include;
    let mut seen = HashSet::new();
    let included: Vec<String> = include_names
        .iter()
        .chain(include_categories.iter().flat_map(category))
        .filter(|name| seen.insert(name.as_str()))
        .cloned()
        .collect();
    if included.is_empty() {
        (Vec::new(), excluded.into_iter().cloned().collect())
    } else {
        let kept = included
            .into_iter()
            .filter(|name| !excluded.contains(name))
            .collect();
        (kept, Vec::new())
    }
}

/// The listed action name closest to `name`, if one is close enough to be a likely typo.
pub fn closest_action(name: &str) -> Option<&'static str> {
    closest(name, ActionCatalog::bundled().names())
}

/// The listed category closest to `name`, if one is close enough to be a likely typo.
pub fn closest_category(name: &str) -> Option<&'static str> {
    closest(
        name,
        ActionCatalog::bundled()
            .categories()
            .map(|(category, _)| category),
    )
}

/// The candidate nearest to `name` by edit distance (case ignored), within a third of the
/// name's length (at least 2 edits).
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lowered = name.to_ascii_lowercase();
    let limit = (name.len() / 3).max(2);
    candidates
        .map(|candidate| {
            (
                strsim::damerau_levenshtein(&lowered, &candidate.to_ascii_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_list_loads() {
        assert_eq!(ActionCatalog::bundled().len(), 762, "distinct action names");
        assert!(is_known("user_login"));
        assert!(is_known("pref.sso_setting_changed"));
        assert!(!is_known("no_such_action"));
        assert!(is_category("file"));
        assert!(!is_category("files"));
    }

    #[test]
    fn a_typo_gets_the_closest_listed_name() {
        assert_eq!(closest_action("user_logn"), Some("user_login"));
        assert_eq!(closest_action("USER_LOGIN"), Some("user_login"));
        assert_eq!(closest_category("files"), Some("file"));
        assert_eq!(closest_category("chanel"), Some("channel"));
        assert_eq!(closest_action("completely_unrelated_words"), None);
    }
}
