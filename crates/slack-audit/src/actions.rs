//! Whether an action name is one Slack lists (`GET /audit/v1/actions`, bundled in
//! `slack-audit-model`'s `data/slack-audit-actions.json` and parsed once by
//! [`slack_audit_model::ActionCatalog`]).
//!
//! Used to warn about a filter naming an action Slack never listed. Never used to reject or drop
//! an event: Slack adds actions without notice, and an `action` is an open string everywhere
//! else in this crate.

use slack_audit_model::ActionCatalog;

/// Whether Slack listed `action` (as of the bundled list).
pub fn is_known(action: &str) -> bool {
    ActionCatalog::bundled().contains(action)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bundled_list_loads() {
        assert_eq!(
            super::ActionCatalog::bundled().len(),
            762,
            "distinct action names"
        );
        assert!(super::is_known("user_login"));
        assert!(super::is_known("pref.sso_setting_changed"));
        assert!(!super::is_known("no_such_action"));
    }
}
