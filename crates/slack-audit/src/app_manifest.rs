//! The Slack app manifest this connector needs (`examples/slack-app-manifest.json`, written and
//! checked by `cargo xtask schema` like the other generated files): paste it in Slack's
//! *Create New App → From an app manifest* and the app is set up in one step.
//!
//! What it asks for, and why:
//!
//! - the **user** scope `auditlogs:read`: the Audit Logs API answers only a user token of an
//!   Org Owner with it (the connector refuses any other token shape);
//! - `settings.org_deploy_enabled`: the app must be installed on the organization, not on a
//!   workspace (`team_not_authorized` otherwise);
//! - a **bot user** with the bot scope `team:read`: Slack's guide to organization-ready apps
//!   has them configure a bot user, and an app with user scopes only is reported (by other
//!   collectors' setup guides) not to offer the organization-wide install. The connector never
//!   uses the bot token (`xoxb-…` is refused as its token); `team:read` is the narrowest bot
//!   scope (the workspace's name, domain and icon).
//!
//! The shape follows Slack's manifest reference as the official Node SDK types it
//! (`@slack/web-api` 8.2.0, `types/request/manifest.d.ts`); the unit tests check it field by
//! field against that.

use serde_json::{Value, json};

/// The user scopes of the app: what the connector's token needs.
pub const USER_SCOPES: [&str; 1] = ["auditlogs:read"];

/// The bot scopes of the app: only what an organization-wide install asks for (see the module
/// doc); the connector never uses a bot token.
pub const BOT_SCOPES: [&str; 1] = ["team:read"];

/// The app's name as it appears in Slack.
pub const APP_NAME: &str = "Audit log collector";

/// The manifest, as JSON.
pub fn manifest() -> Value {
    json!({
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": APP_NAME,
            "description": "Reads the organization's audit logs (slack-audit connector)",
            "background_color": "#1d1c1d"
        },
        "features": {
            "bot_user": {"display_name": "audit-log-collector", "always_online": false}
        },
        "oauth_config": {
            "scopes": {"user": USER_SCOPES, "bot": BOT_SCOPES}
        },
        "settings": {
            "org_deploy_enabled": true,
            "socket_mode_enabled": false,
            "token_rotation_enabled": false
        }
    })
}

/// The manifest file's text (pretty JSON, a final newline).
pub fn manifest_file() -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(&manifest()).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The keys Slack's manifest reference knows at each level this manifest uses
    /// (`@slack/web-api` 8.2.0's `Manifest` and its parts).
    const KNOWN: &[(&str, &[&str])] = &[
        (
            "",
            &[
                "_metadata",
                "display_information",
                "features",
                "oauth_config",
                "settings",
                "functions",
            ],
        ),
        ("/_metadata", &["major_version", "minor_version"]),
        (
            "/display_information",
            &[
                "name",
                "description",
                "long_description",
                "background_color",
            ],
        ),
        (
            "/features",
            &[
                "agent_view",
                "app_home",
                "assistant_view",
                "bot_user",
                "shortcuts",
                "slash_commands",
                "unfurl_domains",
            ],
        ),
        ("/features/bot_user", &["display_name", "always_online"]),
        (
            "/oauth_config",
            &["redirect_urls", "scopes", "token_management_enabled"],
        ),
        ("/oauth_config/scopes", &["bot", "user"]),
        (
            "/settings",
            &[
                "allowed_ip_address_ranges",
                "event_subscriptions",
                "incoming_webhooks",
                "interactivity",
                "org_deploy_enabled",
                "socket_mode_enabled",
                "token_rotation_enabled",
                "function_runtime",
            ],
        ),
    ];

    #[test]
    fn every_key_is_one_slacks_manifest_reference_knows() {
        let manifest = manifest();
        for (pointer, known) in KNOWN {
            let object = manifest.pointer(pointer).unwrap().as_object().unwrap();
            for key in object.keys() {
                assert!(
                    known.contains(&key.as_str()),
                    "{pointer}/{key} is not a manifest key"
                );
            }
        }
    }

    #[test]
    fn the_fields_have_slacks_types_and_limits() {
        let m = manifest();
        let text = |p: &str| m.pointer(p).and_then(Value::as_str).unwrap();
        // Required, at most 35 characters; the description at most 140; a bot's display name
        // at most 80, lowercase without spaces as Slack shows it.
        assert!((1..=35).contains(&text("/display_information/name").chars().count()));
        assert!(text("/display_information/description").chars().count() <= 140);
        let bot = text("/features/bot_user/display_name");
        assert!(bot.len() <= 80 && !bot.contains(' ') && bot == bot.to_lowercase());
        let color = text("/display_information/background_color");
        assert!(color.len() == 7 && color.starts_with('#'), "{color}");
        for flag in [
            "/settings/org_deploy_enabled",
            "/settings/socket_mode_enabled",
            "/settings/token_rotation_enabled",
            "/features/bot_user/always_online",
        ] {
            assert!(m.pointer(flag).unwrap().is_boolean(), "{flag}");
        }
        assert_eq!(
            m.pointer("/settings/org_deploy_enabled"),
            Some(&json!(true))
        );
        assert_eq!(m.pointer("/_metadata/major_version"), Some(&json!(1)));
    }

    /// Scopes from Slack's lists (`UserScope`, `BotScope`), and exactly the ones said.
    #[test]
    fn the_scopes_are_the_audit_user_scope_and_one_read_only_bot_scope() {
        let m = manifest();
        assert_eq!(
            m.pointer("/oauth_config/scopes/user"),
            Some(&json!(["auditlogs:read"]))
        );
        assert_eq!(
            m.pointer("/oauth_config/scopes/bot"),
            Some(&json!(["team:read"]))
        );
        assert!(manifest_file().ends_with("}\n"));
    }
}
