//! Which actions happen, how often, by whom, to what, and where.
//!
//! Why a hand-written table: what makes an audit log believable is its proportions (sign-ins
//! and downloads everywhere, channel work all day, app installs and setting changes rare,
//! anomalies rarer still) and its coherence (a `file_*` action targets a file, a `pref.*`
//! change happens at workspace or organization level, only admins change roles). Those are
//! decisions, so they are written down here, one line per action. Behind the table, a thin
//! long tail of other real action names from the bundled catalog (about 0.6% of events) keeps
//! rarely seen names flowing, with the entity type implied by their catalog category.

use std::collections::HashSet;

use slack_audit_model::ActionCatalog;

use super::rng::{SplitMix64, WeightedIndex};
use super::vocab::{PREFS, PrefScope};

/// Who may perform an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ActorKind {
    /// Any human, guests included.
    Anyone,
    /// A full member (not a guest).
    Member,
    Guest,
    /// An admin or owner.
    Admin,
    /// An Org Owner.
    Owner,
    /// No user: Slack itself (`USLACKUSER`).
    Slack,
    /// Slack's security team (`USLACKSECURITY`).
    SlackSecurity,
}

/// What an action is performed on; decides `entity.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// The actor themself (`user`).
    Actor,
    /// Another member (`user`).
    Member,
    /// A guest (`user`).
    Guest,
    Channel,
    PublicChannel,
    PrivateChannel,
    OrgWideChannel,
    ExternalChannel,
    File,
    App,
    Workflow,
    WorkflowV2,
    Usergroup,
    Canvas,
    List,
    Huddle,
    Message,
    Role,
    AccountTypeRole,
    Barrier,
    LegalHold,
    Template,
    Function,
    OAuthToken,
    /// The workspace the actor works in.
    Workspace,
    Enterprise,
}

/// Where the action is located (`context.location`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// The organization.
    Enterprise,
    /// The workspace the target lives in (for users: their home workspace).
    Target,
}

/// Which `details` the action carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DetailKind {
    None,
    /// A setting change; index into [`PREFS`].
    Pref(usize),
    Anomaly,
    AppInstall,
    ScopesExpanded,
    ChannelRenamed,
    Emoji,
    EmojiRenamed,
    Export,
}

/// One action the generator emits.
#[derive(Debug, Clone, Copy)]
pub(super) struct ActionSpec {
    pub(super) name: &'static str,
    /// Relative frequency (events per 10,000 for the hand-written table).
    pub(super) weight: f64,
    pub(super) actor: ActorKind,
    pub(super) target: Target,
    pub(super) place: Place,
    pub(super) details: DetailKind,
    /// Chance that an app's bot user performs it instead (with `context.app`).
    pub(super) bot_share: f64,
    /// The event has no session (`session_id: null`), e.g. a failed sign-in.
    pub(super) sessionless: bool,
}

const fn action(
    name: &'static str,
    weight: f64,
    actor: ActorKind,
    target: Target,
    place: Place,
) -> ActionSpec {
    ActionSpec {
        name,
        weight,
        actor,
        target,
        place,
        details: DetailKind::None,
        bot_share: 0.0,
        sessionless: false,
    }
}

impl ActionSpec {
    const fn with_details(mut self, details: DetailKind) -> Self {
        self.details = details;
        self
    }

    const fn with_bots(mut self, bot_share: f64) -> Self {
        self.bot_share = bot_share;
        self
    }

    const fn without_session(mut self) -> Self {
        self.sessionless = true;
        self
    }
}

use ActorKind as A;
use DetailKind as D;
use Place as P;
use Target as T;

/// The common actions, weighted per 10,000 events. One line per action, hence no rustfmt.
#[rustfmt::skip]
const COMMON_ACTIONS: &[ActionSpec] = &[
    // Sign-in and sessions.
    action("user_login", 1500.0, A::Anyone, T::Actor, P::Enterprise),
    action("user_logout", 220.0, A::Anyone, T::Actor, P::Enterprise),
    action("user_login_failed", 60.0, A::Anyone, T::Actor, P::Enterprise).without_session(),
    action("user_session_invalidated", 12.0, A::Anyone, T::Actor, P::Enterprise),
    action("user_passkey_created", 3.0, A::Member, T::Actor, P::Enterprise),
    action("user_profile_updated", 60.0, A::Anyone, T::Actor, P::Enterprise),
    action("user_username_updated", 2.0, A::Member, T::Actor, P::Enterprise),
    action("user_joined_workspace", 12.0, A::Member, T::Actor, P::Target),
    // Files.
    action("file_downloaded", 2300.0, A::Anyone, T::File, P::Target).with_bots(0.02),
    action("file_uploaded", 520.0, A::Anyone, T::File, P::Target).with_bots(0.08),
    action("file_shared", 600.0, A::Anyone, T::File, P::Target).with_bots(0.05),
    action("file_deleted", 45.0, A::Member, T::File, P::Target),
    action("file_public_link_created", 8.0, A::Member, T::File, P::Target),
    action("file_public_link_revoked", 3.0, A::Member, T::File, P::Target),
    action("file_download_blocked", 4.0, A::Anyone, T::File, P::Target),
    action("file_malicious_content_detected", 0.3, A::Anyone, T::File, P::Target),
    action("slack_ai_file_summary_generated", 20.0, A::Member, T::File, P::Target),
    // Channels.
    action("user_channel_join", 900.0, A::Member, T::Channel, P::Target).with_bots(0.03),
    action("user_channel_leave", 180.0, A::Member, T::Channel, P::Target),
    action("guest_channel_join", 40.0, A::Guest, T::Channel, P::Target),
    action("guest_channel_leave", 8.0, A::Guest, T::Channel, P::Target),
    action("public_channel_created", 45.0, A::Member, T::PublicChannel, P::Target),
    action("private_channel_created", 35.0, A::Member, T::PrivateChannel, P::Target),
    action("channel_renamed", 12.0, A::Member, T::Channel, P::Target).with_details(D::ChannelRenamed),
    action("public_channel_archive", 10.0, A::Member, T::PublicChannel, P::Target),
    action("private_channel_archive", 6.0, A::Member, T::PrivateChannel, P::Target),
    action("public_channel_unarchive", 1.0, A::Admin, T::PublicChannel, P::Target),
    action("public_channel_converted_to_private", 1.5, A::Admin, T::PublicChannel, P::Target),
    action("private_channel_converted_to_public", 0.5, A::Admin, T::PrivateChannel, P::Target),
    action("channel_posting_permissions_updated", 2.0, A::Admin, T::Channel, P::Target),
    action("channel_retention_changed", 0.8, A::Admin, T::Channel, P::Target),
    action("channel_tab_added", 5.0, A::Member, T::Channel, P::Target),
    action("channel_workspaces_updated", 2.0, A::Admin, T::OrgWideChannel, P::Target),
    action("external_shared_channel_invite_sent", 4.0, A::Member, T::ExternalChannel, P::Target),
    action("external_shared_channel_invite_accepted", 3.0, A::Member, T::ExternalChannel, P::Target),
    action("external_shared_channel_connected", 2.0, A::Admin, T::ExternalChannel, P::Target),
    // Huddles.
    action("huddle_started", 90.0, A::Member, T::Huddle, P::Target),
    action("huddle_participant_joined", 260.0, A::Anyone, T::Huddle, P::Target),
    action("huddle_participant_left", 240.0, A::Anyone, T::Huddle, P::Target),
    action("huddle_ended", 85.0, A::Member, T::Huddle, P::Target),
    action("huddle_screenshare_on", 40.0, A::Member, T::Huddle, P::Target),
    action("slack_ai_huddle_notes_generated", 12.0, A::Member, T::Huddle, P::Target),
    // Canvases and lists.
    action("canvas_opened", 220.0, A::Anyone, T::Canvas, P::Target),
    action("canvas_edited", 150.0, A::Member, T::Canvas, P::Target),
    action("canvas_created", 40.0, A::Member, T::Canvas, P::Target),
    action("canvas_shared", 35.0, A::Member, T::Canvas, P::Target),
    action("canvas_downloaded", 6.0, A::Member, T::Canvas, P::Target),
    action("canvas_deleted", 4.0, A::Member, T::Canvas, P::Target),
    action("list_opened", 60.0, A::Member, T::List, P::Target),
    action("list_cell_updated", 50.0, A::Member, T::List, P::Target),
    action("list_row_created", 30.0, A::Member, T::List, P::Target),
    action("list_created", 8.0, A::Member, T::List, P::Target),
    action("list_shared", 6.0, A::Member, T::List, P::Target),
    // User groups.
    action("user_added_to_usergroup", 12.0, A::Member, T::Usergroup, P::Target),
    action("user_removed_from_usergroup", 5.0, A::Member, T::Usergroup, P::Target),
    action("usergroup_updated", 3.0, A::Admin, T::Usergroup, P::Target),
    // Workflows.
    action("workflow_created", 4.0, A::Member, T::Workflow, P::Target),
    action("workflow_modified", 6.0, A::Member, T::Workflow, P::Target),
    action("workflow_published", 6.0, A::Member, T::Workflow, P::Target),
    action("workflow_unpublished", 1.5, A::Member, T::Workflow, P::Target),
    action("workflow_responses_csv_download", 2.0, A::Member, T::Workflow, P::Target),
    action("workflow_v2_published", 3.0, A::Member, T::WorkflowV2, P::Target),
    action("workflow_trigger_permission_set", 1.0, A::Member, T::WorkflowV2, P::Target),
    action("external_auth_oauth2_token_fetched", 8.0, A::Member, T::OAuthToken, P::Target).with_bots(0.5),
    // Apps.
    action("app_installed", 4.0, A::Admin, T::App, P::Target).with_details(D::AppInstall),
    action("app_scopes_expanded", 2.0, A::Admin, T::App, P::Target).with_details(D::ScopesExpanded),
    action("app_uninstalled", 1.5, A::Admin, T::App, P::Target),
    action("app_approved", 2.5, A::Admin, T::App, P::Target),
    action("app_restricted", 0.6, A::Admin, T::App, P::Target),
    action("bot_token_upgraded", 0.4, A::Admin, T::App, P::Target),
    action("org_app_workspace_added", 1.5, A::Admin, T::App, P::Enterprise).with_details(D::AppInstall),
    action("app_collaborator_added", 0.5, A::Member, T::App, P::Target),
    action("app_deployed", 1.0, A::Member, T::App, P::Target),
    // People administration.
    action("user_created", 5.0, A::Admin, T::Member, P::Enterprise),
    action("user_deactivated", 2.5, A::Admin, T::Member, P::Enterprise),
    action("user_reactivated", 0.3, A::Admin, T::Member, P::Enterprise),
    action("user_email_updated", 1.0, A::Admin, T::Member, P::Enterprise),
    action("guest_created", 3.0, A::Admin, T::Guest, P::Target),
    action("guest_deactivated", 1.0, A::Admin, T::Guest, P::Target),
    action("guest_expired", 0.8, A::Slack, T::Guest, P::Target).without_session(),
    action("guest_expiration_set", 1.0, A::Admin, T::Guest, P::Target),
    action("role_change_to_admin", 0.6, A::Owner, T::Member, P::Enterprise),
    action("role_change_to_user", 0.4, A::Owner, T::Member, P::Enterprise),
    action("role_change_to_owner", 0.15, A::Owner, T::Member, P::Enterprise),
    action("role_change_to_guest", 0.2, A::Admin, T::Member, P::Enterprise),
    action("user_session_reset_by_admin", 1.0, A::Admin, T::Member, P::Enterprise),
    action("user_password_reset_by_admin", 0.3, A::Admin, T::Member, P::Enterprise),
    action("user_logout_compromised", 0.05, A::SlackSecurity, T::Member, P::Enterprise).without_session(),
    action("user_password_reset_slack_security", 0.03, A::SlackSecurity, T::Member, P::Enterprise).without_session(),
    // Roles and compliance.
    action("role_assigned", 0.6, A::Admin, T::Role, P::Enterprise),
    action("role_removed", 0.3, A::Admin, T::Role, P::Enterprise),
    action("barrier_updated", 0.05, A::Admin, T::Barrier, P::Enterprise),
    action("legal_hold_policy_updated", 0.05, A::Admin, T::LegalHold, P::Enterprise),
    // Emoji.
    action("emoji_added", 20.0, A::Member, T::Workspace, P::Target).with_details(D::Emoji),
    action("emoji_aliased", 2.0, A::Member, T::Workspace, P::Target).with_details(D::Emoji),
    action("emoji_removed", 2.0, A::Admin, T::Workspace, P::Target).with_details(D::Emoji),
    action("emoji_renamed", 0.5, A::Admin, T::Workspace, P::Target).with_details(D::EmojiRenamed),
    // Exports and audit.
    action("manual_export_started", 0.3, A::Owner, T::Enterprise, P::Enterprise).with_details(D::Export),
    action("manual_export_completed", 0.3, A::Slack, T::Enterprise, P::Enterprise).with_details(D::Export).without_session(),
    action("audit_logs_records_searched", 3.0, A::Admin, T::Enterprise, P::Enterprise),
    action("audit_logs_export_csv_started", 0.5, A::Admin, T::Enterprise, P::Enterprise),
    // Messages.
    action("message_flagged", 2.0, A::Anyone, T::Message, P::Target),
    action("thread_hidden", 0.5, A::Admin, T::Message, P::Target),
    // Security.
    action("anomaly", 1.0, A::Member, T::Actor, P::Enterprise).with_details(D::Anomaly),
];

/// Total weight (per 10,000 events) of all `pref.*` setting changes together.
const SETTING_CHANGES_WEIGHT: f64 = 8.0;

/// Total weight (per 10,000 events) of the long tail of other catalog actions.
const LONG_TAIL_WEIGHT: f64 = 60.0;

/// `workspace_or_org` actions in the long tail that happen in a workspace.
const WORKSPACE_TAIL_PREFIXES: &[&str] = &["emoji_", "mcp_slack_", "slack_ai_"];

/// `workspace_or_org` actions in the long tail that happen at organization level.
const ORGANIZATION_TAIL_PREFIXES: &[&str] = &[
    "audit_logs_",
    "apps_analytics_export_",
    "channel_audit_export_",
    "channels_export_",
    "security_settings_export_",
    "slackbot_analytics_export_",
    "workflow_analytics_export_",
];

/// How a long-tail action of `category` is performed, or `None` to leave it out (categories
/// whose entity type is not documented, and drastic one-off events such as deleting the
/// organization).
fn long_tail_rule(category: &str, name: &str) -> Option<(ActorKind, Target, Place)> {
    let rule = match category {
        "canvas" => (A::Member, T::Canvas, P::Target),
        "list" => (A::Member, T::List, P::Target),
        "huddle" => (A::Member, T::Huddle, P::Target),
        "subteam" => (A::Admin, T::Usergroup, P::Target),
        "workflow_builder" => (A::Member, T::Workflow, P::Target),
        "workflow_v2" if name.starts_with("external_auth_oauth2_token") => {
            (A::Member, T::OAuthToken, P::Target)
        }
        "workflow_v2" => (A::Member, T::WorkflowV2, P::Target),
        "template" => (A::Member, T::Template, P::Target),
        "function" => (A::Admin, T::Function, P::Target),
        "message" if !name.starts_with("permissions_") => (A::Member, T::Message, P::Target),
        "file" => (A::Member, T::File, P::Target),
        "channel" => (A::Member, T::Channel, P::Target),
        "app" if !name.starts_with("agentforce_") => (A::Admin, T::App, P::Target),
        "role" => (A::Admin, T::Role, P::Enterprise),
        "barrier" => (A::Admin, T::Barrier, P::Enterprise),
        "legal_hold" => (A::Admin, T::LegalHold, P::Enterprise),
        "account_type_role" => (A::Admin, T::AccountTypeRole, P::Enterprise),
        "workspace_or_org" => {
            if WORKSPACE_TAIL_PREFIXES
                .iter()
                .any(|prefix| name.starts_with(prefix))
            {
                (A::Member, T::Workspace, P::Target)
            } else if ORGANIZATION_TAIL_PREFIXES
                .iter()
                .any(|prefix| name.starts_with(prefix))
            {
                (A::Admin, T::Enterprise, P::Enterprise)
            } else {
                return None;
            }
        }
        _ => return None,
    };
    Some(rule)
}

/// All actions with their weights, ready to sample.
pub(super) struct Plan {
    actions: Vec<ActionSpec>,
    picker: WeightedIndex,
}

impl Plan {
    /// The plan for a catalog. Actions missing from a non-empty catalog are dropped, so every
    /// emitted name is one Slack lists.
    pub(super) fn new(catalog: &'static ActionCatalog) -> Self {
        let listed = |name: &str| catalog.is_empty() || catalog.contains(name);
        let mut actions: Vec<ActionSpec> = COMMON_ACTIONS
            .iter()
            .copied()
            .filter(|spec| listed(spec.name))
            .collect();

        let pref_weight_total: f64 = PREFS.iter().map(|pref| pref.weight).sum();
        for (index, pref) in PREFS.iter().enumerate() {
            let (actor, target, place) = match pref.scope {
                PrefScope::Enterprise => (A::Owner, T::Enterprise, P::Enterprise),
                PrefScope::Workspace => (A::Admin, T::Workspace, P::Target),
            };
            let weight = SETTING_CHANGES_WEIGHT * pref.weight / pref_weight_total;
            let spec =
                action(pref.action, weight, actor, target, place).with_details(D::Pref(index));
            if listed(spec.name) {
                actions.push(spec);
            }
        }

        let mut taken: HashSet<&str> = actions.iter().map(|spec| spec.name).collect();
        let mut tail = Vec::new();
        for (category, names) in catalog.categories() {
            for name in names {
                let name = name.as_str();
                if taken.contains(name) {
                    continue;
                }
                if let Some((actor, target, place)) = long_tail_rule(category, name) {
                    taken.insert(name);
                    tail.push(action(name, 0.0, actor, target, place));
                }
            }
        }
        let tail_weight = LONG_TAIL_WEIGHT / tail.len().max(1) as f64;
        actions.extend(tail.into_iter().map(|spec| ActionSpec {
            weight: tail_weight,
            ..spec
        }));

        let picker = WeightedIndex::new(actions.iter().map(|spec| spec.weight));
        Self { actions, picker }
    }

    /// Draws an action in proportion to the weights.
    pub(super) fn pick(&self, rng: &mut SplitMix64) -> Option<&ActionSpec> {
        self.actions.get(self.picker.sample(rng))
    }

    /// Every action the plan can emit.
    pub(super) fn actions(&self) -> &[ActionSpec] {
        &self.actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_planned_action_is_in_the_catalog() {
        let catalog = ActionCatalog::bundled();
        for spec in COMMON_ACTIONS {
            assert!(
                catalog.contains(spec.name),
                "{} is not a Slack action",
                spec.name
            );
        }
        for pref in PREFS {
            assert!(
                catalog.contains(pref.action),
                "{} is not a Slack action",
                pref.action
            );
        }
        let plan = Plan::new(catalog);
        assert!(
            plan.actions()
                .iter()
                .all(|spec| catalog.contains(spec.name))
        );
        let names: HashSet<&str> = plan.actions().iter().map(|spec| spec.name).collect();
        assert_eq!(
            names.len(),
            plan.actions().len(),
            "an action is planned twice"
        );
        assert!(
            plan.actions().len() > 200,
            "long tail missing: {}",
            plan.actions().len()
        );
    }
}
