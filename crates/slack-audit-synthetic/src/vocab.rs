//! Word lists that make the synthetic organization look like a real company on Slack.
//!
//! `fake` supplies people's names and document titles; everything Slack-specific (channel
//! naming habits, the apps companies install and their OAuth scopes, the user agents of
//! Slack's clients, settings and their values) is curated here, because no general-purpose
//! faker knows it and believable detail matters more than volume.

/// Suffixes turning a surname into a company name.
pub(super) const COMPANY_SUFFIXES: &[&str] = &[
    "Logistics",
    "Health",
    "Labs",
    "Systems",
    "Analytics",
    "Industries",
    "Bank",
    "Robotics",
    "Foods",
    "Energy",
    "Insurance",
    "Media",
];

/// Time zones the organization may be headquartered in, with their standard UTC offset in
/// hours. Offsets are fixed (no daylight saving): the rhythm only needs "office hours".
pub(super) const TIME_ZONES: &[(&str, i64)] = &[
    ("America/New_York", -5),
    ("America/Chicago", -6),
    ("America/Los_Angeles", -8),
    ("Europe/London", 0),
    ("Europe/Berlin", 1),
    ("Asia/Tokyo", 9),
    ("Australia/Sydney", 10),
];

/// Departments that get their own workspace: (display suffix, domain suffix, channel prefix).
pub(super) const DEPARTMENTS: &[(&str, &str, &str)] = &[
    ("Engineering", "eng", "eng"),
    ("Sales", "sales", "sales"),
    ("Marketing", "marketing", "mktg"),
    ("Customer Success", "cs", "cs"),
    ("Operations", "ops", "ops"),
    ("People", "people", "people"),
    ("Finance", "finance", "fin"),
    ("Design", "design", "design"),
    ("Security", "security", "sec"),
    ("Support", "support", "support"),
];

/// Channel topics combined with a department prefix (`eng-releases`, `sales-emea`, …).
pub(super) const CHANNEL_TOPICS: &[&str] = &[
    "standup",
    "alerts",
    "oncall",
    "releases",
    "backend",
    "frontend",
    "mobile",
    "infra",
    "data",
    "ml",
    "hiring",
    "onboarding",
    "pipeline",
    "renewals",
    "deals",
    "emea",
    "apac",
    "amer",
    "launches",
    "content",
    "events",
    "help",
    "questions",
    "feedback",
    "incidents",
    "planning",
    "okrs",
    "reporting",
    "vendors",
    "contracts",
    "tooling",
    "deploys",
    "reviews",
    "docs",
    "research",
    "analytics",
    "budget",
    "compliance",
    "escalations",
    "tickets",
    "wins",
    "leads",
    "offsite",
    "random",
    "announcements",
    "ops",
    "triage",
    "roadmap",
    "metrics",
    "support",
];

/// Topics that are usually private channels.
pub(super) const PRIVATE_TOPICS: &[&str] = &[
    "hiring",
    "incidents",
    "budget",
    "compliance",
    "contracts",
    "escalations",
    "leads",
    "offsite",
];

/// Project code names (`proj-atlas`), also used for canvases and lists.
pub(super) const CODE_NAMES: &[&str] = &[
    "atlas", "phoenix", "orion", "nebula", "aurora", "falcon", "zephyr", "maple", "cobalt",
    "quartz", "juniper", "sequoia", "helix", "apollo", "tundra", "vega", "lumen", "borealis",
    "ember", "cascade", "granite", "kestrel", "mosaic", "polaris",
];

/// Organization-wide channels, shared with every workspace.
pub(super) const ORG_WIDE_CHANNELS: &[&str] = &[
    "announcements-global",
    "sec-alerts",
    "it-help",
    "all-hands",
    "kudos",
    "social",
    "benefits-questions",
    "security-awareness",
];

/// Suffixes of partner organizations reached through Slack Connect channels and guests.
pub(super) const PARTNER_SUFFIXES: &[&str] = &[
    "consulting",
    "partners",
    "agency",
    "legal",
    "solutions",
    "group",
];

/// Top-level domains of partner organizations.
pub(super) const PARTNER_TLDS: &[&str] = &["com", "io", "co", "net"];

/// (extension, filetype as Slack reports it, relative frequency).
pub(super) const FILE_TYPES: &[(&str, &str, f64)] = &[
    ("png", "png", 28.0),
    ("pdf", "pdf", 18.0),
    ("jpg", "jpg", 10.0),
    ("docx", "docx", 9.0),
    ("xlsx", "xlsx", 8.0),
    ("pptx", "pptx", 5.0),
    ("csv", "csv", 6.0),
    ("txt", "text", 4.0),
    ("zip", "zip", 3.0),
    ("mp4", "mp4", 3.0),
    ("json", "json", 2.0),
    ("key", "key", 1.0),
];

/// Report-like file title stems.
pub(super) const REPORT_TITLES: &[&str] = &[
    "forecast",
    "pipeline review",
    "board deck",
    "launch plan",
    "postmortem",
    "invoice",
    "contract draft",
    "security questionnaire",
    "architecture diagram",
    "org chart",
    "budget",
    "release notes",
    "customer list export",
    "interview notes",
    "roadmap",
];

/// A Slack app a company might install.
pub(super) struct AppTemplate {
    pub(super) name: &'static str,
    /// Published in the Slack Marketplace (false for the company's own apps).
    pub(super) is_distributed: bool,
    pub(super) is_workflow_app: bool,
    pub(super) scopes: &'static [&'static str],
    pub(super) bot_scopes: &'static [&'static str],
    /// Scopes a later version asks for (`app_scopes_expanded`).
    pub(super) extra_bot_scopes: &'static [&'static str],
    /// Username of the app's bot user, when it posts as a bot.
    pub(super) bot_user: Option<&'static str>,
}

const fn app(
    name: &'static str,
    is_distributed: bool,
    scopes: &'static [&'static str],
    bot_scopes: &'static [&'static str],
    extra_bot_scopes: &'static [&'static str],
    bot_user: Option<&'static str>,
) -> AppTemplate {
    AppTemplate {
        name,
        is_distributed,
        is_workflow_app: false,
        scopes,
        bot_scopes,
        extra_bot_scopes,
        bot_user,
    }
}

/// Apps the organization may have installed. The first entries are always installed.
pub(super) const APPS: &[AppTemplate] = &[
    app(
        "Google Drive",
        true,
        &["files:read", "links:read", "links:write"],
        &[
            "chat:write",
            "im:write",
            "links:read",
            "links:write",
            "users:read",
            "users:read.email",
        ],
        &["files:write", "channels:read"],
        None,
    ),
    app(
        "Jira Cloud",
        true,
        &["links:read", "links:write"],
        &[
            "chat:write",
            "commands",
            "app_mentions:read",
            "channels:read",
            "groups:read",
            "users:read",
        ],
        &["channels:history", "reactions:write"],
        Some("jira"),
    ),
    app(
        "GitHub",
        true,
        &["links:read", "links:write"],
        &[
            "chat:write",
            "commands",
            "channels:read",
            "groups:read",
            "im:write",
            "team:read",
            "users:read",
        ],
        &["channels:history", "files:write"],
        Some("github"),
    ),
    app(
        "Zoom",
        true,
        &["calls:read", "calls:write", "users:read"],
        &[
            "chat:write",
            "commands",
            "im:write",
            "users:read",
            "users:read.email",
        ],
        &["channels:read"],
        None,
    ),
    app(
        "PagerDuty",
        true,
        &[],
        &[
            "chat:write",
            "chat:write.public",
            "commands",
            "channels:read",
            "channels:join",
            "users:read",
        ],
        &["channels:manage", "usergroups:read"],
        Some("pagerduty"),
    ),
    app(
        "Expense Helper",
        false,
        &[],
        &[
            "chat:write",
            "commands",
            "im:history",
            "im:write",
            "users:read",
            "files:read",
        ],
        &["users:read.email"],
        Some("expense-helper"),
    ),
    app(
        "Audit Log Collector",
        false,
        &["auditlogs:read"],
        &[],
        &[],
        None,
    ),
    app(
        "Salesforce",
        true,
        &["links:read", "links:write"],
        &[
            "chat:write",
            "commands",
            "channels:read",
            "users:read",
            "users:read.email",
        ],
        &["channels:history", "groups:history"],
        None,
    ),
    app(
        "Datadog",
        true,
        &[],
        &[
            "chat:write",
            "chat:write.public",
            "commands",
            "channels:read",
            "files:write",
        ],
        &["channels:join"],
        Some("datadog"),
    ),
    app(
        "Asana",
        true,
        &["links:read", "links:write"],
        &["chat:write", "commands", "im:write", "users:read"],
        &["channels:read", "reactions:read"],
        None,
    ),
    app(
        "Loom",
        true,
        &["links:read", "links:write"],
        &["chat:write", "links:read", "links:write"],
        &["users:read"],
        None,
    ),
    app(
        "Polly",
        true,
        &[],
        &[
            "chat:write",
            "commands",
            "channels:read",
            "groups:read",
            "im:write",
            "reactions:write",
        ],
        &["channels:history", "users:read.email"],
        None,
    ),
    app(
        "Donut",
        true,
        &[],
        &[
            "chat:write",
            "channels:read",
            "im:write",
            "mpim:write",
            "users:read",
        ],
        &["channels:manage"],
        None,
    ),
    app(
        "Zendesk",
        true,
        &["links:read"],
        &[
            "chat:write",
            "commands",
            "channels:read",
            "users:read",
            "users:read.email",
        ],
        &["channels:history", "files:read"],
        None,
    ),
    app(
        "Figma",
        true,
        &["links:read", "links:write"],
        &["chat:write", "links:read", "links:write", "users:read"],
        &["im:write"],
        None,
    ),
    app(
        "Confluence Cloud",
        true,
        &["links:read", "links:write"],
        &["chat:write", "commands", "channels:read", "users:read"],
        &["channels:history"],
        None,
    ),
    app(
        "Deploy Bot",
        false,
        &[],
        &[
            "chat:write",
            "chat:write.public",
            "commands",
            "channels:read",
            "reactions:write",
        ],
        &["files:write", "channels:history"],
        Some("deploy-bot"),
    ),
    app(
        "Okta",
        true,
        &[],
        &["chat:write", "im:write", "users:read", "users:read.email"],
        &["users.profile:read"],
        None,
    ),
    AppTemplate {
        name: "Onboarding Buddy",
        is_distributed: false,
        is_workflow_app: true,
        scopes: &[],
        bot_scopes: &[
            "chat:write",
            "im:write",
            "users:read",
            "workflow.steps:execute",
        ],
        extra_bot_scopes: &["channels:manage"],
        bot_user: None,
    },
];

/// How many of [`APPS`] are always installed.
pub(super) const CORE_APP_COUNT: usize = 8;

/// Workflow Builder workflows.
pub(super) const WORKFLOWS: &[&str] = &[
    "New hire onboarding",
    "IT access request",
    "Expense approval",
    "PTO request",
    "Weekly standup",
    "Incident intake",
    "Office visitor sign-in",
    "Laptop return",
    "Feedback form",
    "Customer escalation",
    "Content review request",
    "Bug report",
    "Purchase request",
    "Shoutouts",
];

/// Workflows built on the newer platform.
pub(super) const WORKFLOWS_V2: &[&str] = &[
    "Triage incoming requests",
    "Daily digest",
    "Quarterly access review",
    "Deploy approval",
    "On-call handoff",
    "Vendor intake",
];

/// User groups (`@eng-oncall`).
pub(super) const USERGROUPS: &[&str] = &[
    "eng-oncall",
    "sec-team",
    "it-helpdesk",
    "people-leads",
    "design-crit",
    "sales-leads",
    "support-tier2",
    "data-team",
    "exec-staff",
    "finance-approvers",
    "release-managers",
    "new-hires",
    "managers",
    "legal",
];

/// System admin roles.
pub(super) const ROLES: &[&str] = &[
    "Channels Admin",
    "Users Admin",
    "Roles Admin",
    "Conversation Admin",
    "Audit Logs Admin",
    "Analytics Admin",
    "Security Admin",
];

/// Account-type roles.
pub(super) const ACCOUNT_TYPE_ROLES: &[&str] =
    &["Member", "Multi-Channel Guest", "Single-Channel Guest"];

/// Information barriers.
pub(super) const BARRIERS: &[&str] = &["Research / Sales", "Deal team / Public markets"];

/// Legal hold policies.
pub(super) const LEGAL_HOLDS: &[&str] = &["Litigation hold 2026-014", "Regulatory inquiry FIN-7"];

/// Channel and canvas templates.
pub(super) const TEMPLATES: &[&str] = &[
    "Project kickoff",
    "Incident response",
    "Deal room",
    "Team onboarding",
    "Event planning",
];

/// Custom functions of the workflow platform.
pub(super) const FUNCTIONS: &[&str] = &[
    "create_jira_issue",
    "lookup_customer",
    "page_oncall",
    "approve_expense",
    "notify_deploy",
];

/// Providers of external OAuth2 tokens used by workflows.
pub(super) const OAUTH_PROVIDERS: &[&str] =
    &["google", "microsoft", "github", "salesforce", "atlassian"];

/// Canvas title patterns (`{}` is a code name or a department).
pub(super) const CANVAS_TITLES: &[&str] = &[
    "{} project brief",
    "{} retro notes",
    "{} runbook",
    "{} launch checklist",
    "{} team charter",
    "{} weekly sync",
    "Onboarding: {}",
    "{} FAQ",
];

/// List title patterns.
pub(super) const LIST_TITLES: &[&str] = &[
    "{} launch tracker",
    "{} bug bash",
    "{} hiring pipeline",
    "{} vendor review",
    "{} content calendar",
    "{} feature requests",
];

/// Custom emoji names.
pub(super) const EMOJI: &[&str] = &[
    "shipit",
    "partyparrot",
    "lgtm",
    "thisisfine",
    "blobwave",
    "catjam",
    "this",
    "plus-one-hundred",
    "sparkles-party",
    "taco",
    "facepalm-cat",
    "big-brain",
    "coffee-parrot",
    "on-fire",
    "merged",
    "approved-stamp",
];

/// Cities an anomalous sign-in is attributed to.
pub(super) const ANOMALY_LOCATIONS: &[&str] = &[
    "Amsterdam, NL",
    "Sao Paulo, BR",
    "Lagos, NG",
    "Bucharest, RO",
    "Ho Chi Minh City, VN",
    "Frankfurt am Main, DE",
];

/// `details.reason` combinations of `anomaly` events.
pub(super) const ANOMALY_REASONS: &[&[&str]] = &[
    &["asn", "ip_address"],
    &["ip_address"],
    &["tor"],
    &["ua", "ip_address"],
    &["session_fingerprint"],
    &["excessive_downloads"],
    &["unexpected_client"],
    &["asn", "ua"],
];

/// Desktop clients: the Slack desktop app and browsers.
pub(super) const DESKTOP_USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.45.64 Chrome/136.0.7103.93 Electron/36.2.1 Safari/537.36 Sonic Slack_SSB/4.45.64",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.44.65 Chrome/134.0.6998.205 Electron/35.2.0 Safari/537.36 Sonic Slack_SSB/4.44.65",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.45.64 Chrome/136.0.7103.93 Electron/36.2.1 Safari/537.36 Sonic Slack_SSB/4.45.64",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.43.51 Chrome/132.0.6834.210 Electron/34.3.0 Safari/537.36 Sonic Slack_SSB/4.43.51",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.44.65 Chrome/134.0.6998.205 Electron/35.2.0 Safari/537.36 Sonic Slack_SSB/4.44.65",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36 Edg/137.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:139.0) Gecko/20100101 Firefox/139.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/137.0.0.0 Safari/537.36",
];

/// Relative frequency of each entry of [`DESKTOP_USER_AGENTS`].
pub(super) const DESKTOP_USER_AGENT_WEIGHTS: &[f64] =
    &[26.0, 8.0, 20.0, 6.0, 3.0, 14.0, 9.0, 4.0, 6.0, 2.0];

/// Mobile clients: Slack for iOS and Android.
pub(super) const MOBILE_USER_AGENTS: &[&str] = &[
    "com.tinyspeck.chatlyio/25.06.10 (iPhone; iOS 18.5; Scale/3.00)",
    "com.tinyspeck.chatlyio/25.05.20 (iPhone; iOS 18.4.1; Scale/3.00)",
    "com.tinyspeck.chatlyio/25.06.10 (iPad; iOS 18.5; Scale/2.00)",
    "Slack/25.06.10.0 (Linux; U; Android 15; Pixel 8 Build/AP4A.250605.001)",
    "Slack/25.05.20.0 (Linux; U; Android 14; SM-S918B Build/UP1A.231005.007)",
];

/// User agents of the HTTP clients apps use to call Slack.
pub(super) const APP_USER_AGENTS: &[&str] = &[
    "Python/3.12.4 slackclient/3.33.1 Linux/6.1.0-25-cloud-amd64",
    "@slack:bolt/4.2.1 @slack:web-api/7.9.1 node/20.18.1 linux/6.8.0-1019-aws",
    "Apache-HttpClient/4.5.14 (Java/17.0.12)",
];

/// Shape of a setting's values.
pub(super) enum PrefValues {
    /// Single values (`new_value` / `previous_value` are strings).
    Choice(&'static [&'static str]),
    /// "Who can …" settings: lists keyed by kind (`{"type": ["ADMINS_AND_OWNERS"]}`).
    WhoCan,
    /// Lists of workspace ids.
    Workspaces,
}

/// Where a setting lives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PrefScope {
    Enterprise,
    Workspace,
}

/// A `pref.*` setting-change action and the values it moves between.
pub(super) struct PrefTemplate {
    pub(super) action: &'static str,
    pub(super) scope: PrefScope,
    pub(super) values: PrefValues,
    /// Relative frequency among setting changes.
    pub(super) weight: f64,
}

const BOOLEAN: PrefValues = PrefValues::Choice(&["true", "false"]);
const RETENTION_DAYS: PrefValues = PrefValues::Choice(&["-1", "90", "365", "730", "2555"]);
const SESSION_MINUTES: PrefValues = PrefValues::Choice(&["720", "1440", "10080", "43200"]);

const fn pref(
    action: &'static str,
    scope: PrefScope,
    values: PrefValues,
    weight: f64,
) -> PrefTemplate {
    PrefTemplate {
        action,
        scope,
        values,
        weight,
    }
}

/// Setting changes the generator emits. One line per setting, hence no rustfmt.
#[rustfmt::skip]
pub(super) const PREFS: &[PrefTemplate] = &[
    pref("pref.sso_setting_changed", PrefScope::Enterprise, PrefValues::Choice(&["required", "optional", "disabled"]), 1.0),
    pref("pref.two_factor_auth_changed", PrefScope::Enterprise, PrefValues::Choice(&["required", "optional"]), 0.6),
    pref("pref.session_duration_changed", PrefScope::Enterprise, SESSION_MINUTES, 1.0),
    pref("pref.mobile_session_duration_changed", PrefScope::Enterprise, SESSION_MINUTES, 0.6),
    pref("pref.app_whitelist_enabled", PrefScope::Enterprise, BOOLEAN, 0.5),
    pref("pref.block_file_download_for_unapproved_ip", PrefScope::Enterprise, BOOLEAN, 0.4),
    pref("pref.ext_audit_log_retention_duration_changed", PrefScope::Enterprise, PrefValues::Choice(&["365", "730", "1095"]), 0.3),
    pref("pref.slack_connect_allowed_workspaces", PrefScope::Enterprise, PrefValues::Workspaces, 0.6),
    pref("pref.who_can_create_private_channels", PrefScope::Workspace, PrefValues::WhoCan, 1.0),
    pref("pref.who_can_archive_channels", PrefScope::Workspace, PrefValues::WhoCan, 0.8),
    pref("pref.who_can_manage_shared_channels", PrefScope::Workspace, PrefValues::WhoCan, 0.6),
    pref("pref.allow_calls", PrefScope::Workspace, BOOLEAN, 0.5),
    pref("pref.allow_huddles", PrefScope::Workspace, BOOLEAN, 0.5),
    pref("pref.display_real_names", PrefScope::Workspace, BOOLEAN, 0.8),
    pref("pref.msg_edit_window_mins", PrefScope::Workspace, PrefValues::Choice(&["-1", "0", "5", "60", "1440"]), 0.8),
    pref("pref.public_channel_retention_changed", PrefScope::Workspace, RETENTION_DAYS, 0.7),
    pref("pref.dm_retention_changed", PrefScope::Workspace, RETENTION_DAYS, 0.5),
    pref("pref.file_retention_changed", PrefScope::Workspace, RETENTION_DAYS, 0.5),
    pref("pref.emoji_only_admins", PrefScope::Workspace, BOOLEAN, 0.6),
    pref("pref.disallow_public_file_urls", PrefScope::Workspace, BOOLEAN, 0.4),
    pref("pref.allow_message_deletion", PrefScope::Workspace, BOOLEAN, 0.4),
    pref("pref.slack_ai_allow_recap_changed", PrefScope::Workspace, BOOLEAN, 0.5),
    pref("pref.dnd_start_hour", PrefScope::Workspace, PrefValues::Choice(&["22:00", "20:00", "21:00"]), 0.3),
];

/// Values of "who can …" settings.
pub(super) const WHO_CAN: &[&str] = &[
    "ORG_OWNERS",
    "ORG_ADMINS_AND_OWNERS",
    "ADMINS_AND_OWNERS",
    "EVERYONE_BUT_GUESTS",
    "EVERYONE",
];
