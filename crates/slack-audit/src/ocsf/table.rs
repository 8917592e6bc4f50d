//! The mapping as data: one row per Slack action (`data/ocsf-mapping.csv`), and the few facts
//! of the OCSF classes it names (uids, captions, activities, and which of them OCSF 1.3.0
//! lacks).
//!
//! The CSV is the thing to review:
//! `action,class_uid,activity_id,status_id,severity_id,object,severity_reason,reason,ocsf_1_3_0`,
//! one line per action of the bundled catalogue, sorted by action. `status_id` and `severity_id` may be
//! empty (Success, Informational); `status_id` is one of the class's own statuses (a finding's
//! are New, Resolved, Deleted…). `object` says what the class's own object is, when Slack's
//! entity alone does not ([`Object`]). Every severity above Informational has its
//! `severity_reason`; `reason` says why, for the class and activity choices that are not obvious.
//! No cell holds a comma.
//!
//! The row is the OCSF 1.8.0 choice. Where that class's activity or status does not exist in
//! OCSF 1.3.0, `ocsf_1_3_0` names the closest 1.3.0 one and why
//! (`status_id=4: the reason`; `activity_id=N` likewise, both separated by a space), and only
//! then: a row whose 1.8.0 choice is missing from 1.3.0 without it is refused, and so is an
//! exception that is not needed. The captions below are copied from the compiled OCSF 1.8.0
//! schema (the same one `schemas/ocsf/1.8.0/` is generated from; 1.3.0 has the same captions
//! for the ids it has); the tests check every row of each version against that version's
//! committed class schemas and captions.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::version::OcsfVersion;

/// The bundled mapping table.
pub const MAPPING_CSV: &str = include_str!("../../data/ocsf-mapping.csv");

/// How a class's event is built: which object holds Slack's entity, and which of the common
/// slots (actor, source endpoint, HTTP request) the class has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `user` (the entity if it is a user, else the actor), `service`.
    Authentication,
    /// `user` (the entity if it is a user, else the actor).
    AccountChange,
    /// `group` (the entity), `user` (the entity if it is a user, else the member the row
    /// names), `privileges` for Assign/Revoke.
    GroupManagement,
    /// `user` (the entity if it is a user), `privileges`, the role as a resource.
    UserAccess,
    /// `entity` (a managed entity).
    EntityManagement,
    /// `file` (the entity); `actor` and `src_endpoint` required.
    FileHosting,
    /// `api` (the action), `resources` (the entity); `actor` and `src_endpoint` required.
    ApiActivity,
    /// `web_resources` (the entity, typed by the row's resource).
    WebResources,
    /// `finding_info`, `resources`, and the actor and client as `evidences`.
    DetectionFinding,
    /// `finding_info`, `resources`, `actor`, `src_endpoint`.
    DataSecurityFinding,
}

/// One OCSF class the mapping uses.
#[derive(Debug, Clone, Copy)]
pub struct Class {
    /// `class_uid`.
    pub uid: u32,
    /// The class's name in the OCSF schema (and the start of its files under
    /// `schemas/ocsf/<version>/`).
    pub name: &'static str,
    /// `class_name`.
    pub caption: &'static str,
    /// `category_uid`.
    pub category_uid: u32,
    /// `category_name`.
    pub category: &'static str,
    /// `activity_id` values and their captions (`activity_name`), 99 (Other) included.
    pub activities: &'static [(u32, &'static str)],
    /// `status_id` values the mapping may use and their captions (`status`).
    pub statuses: &'static [(u32, &'static str)],
    /// The `activity_id` values of [`Class::activities`] OCSF 1.3.0 does not have.
    pub activities_after_1_3: &'static [u32],
    /// The `status_id` values of [`Class::statuses`] OCSF 1.3.0 does not have.
    pub statuses_after_1_3: &'static [u32],
    /// The versions in which the class's top-level `actor` is an attribute of the `host`
    /// profile (so an event that carries it declares `host`).
    pub host_actor: &'static [OcsfVersion],
    /// How its events are built.
    pub shape: Shape,
}

impl Class {
    /// The caption of `activity_id`.
    pub fn activity(&self, activity_id: u32) -> Option<&'static str> {
        self.activities
            .iter()
            .find(|(id, _)| *id == activity_id)
            .map(|(_, caption)| *caption)
    }

    /// The caption of `status_id`.
    pub fn status(&self, status_id: u32) -> Option<&'static str> {
        self.statuses
            .iter()
            .find(|(id, _)| *id == status_id)
            .map(|(_, caption)| *caption)
    }

    /// The caption of `activity_id` where `version` has it.
    pub fn activity_in(&self, version: OcsfVersion, activity_id: u32) -> Option<&'static str> {
        let missing =
            version == OcsfVersion::V1_3_0 && self.activities_after_1_3.contains(&activity_id);
        self.activity(activity_id).filter(|_| !missing)
    }

    /// The caption of `status_id` where `version` has it.
    pub fn status_in(&self, version: OcsfVersion, status_id: u32) -> Option<&'static str> {
        let missing =
            version == OcsfVersion::V1_3_0 && self.statuses_after_1_3.contains(&status_id);
        self.status(status_id).filter(|_| !missing)
    }
}

/// Event statuses (every class but the findings).
const EVENT_STATUSES: &[(u32, &str)] = &[(1, "Success"), (2, "Failure")];
/// A finding's statuses (Detection and Data Security Finding).
const FINDING_STATUSES: &[(u32, &str)] = &[
    (1, "New"),
    (2, "In Progress"),
    (3, "Suppressed"),
    (4, "Resolved"),
    (5, "Archived"),
    (6, "Deleted"),
];

const IAM: (u32, &str) = (3, "Identity & Access Management");
const APPLICATION: (u32, &str) = (6, "Application Activity");
const FINDINGS: (u32, &str) = (2, "Findings");

/// The classes the mapping may name.
pub const CLASSES: &[Class] = &[
    Class {
        uid: 3001,
        name: "account_change",
        caption: "Account Change",
        category_uid: IAM.0,
        category: IAM.1,
        activities: &[
            (1, "Create"),
            (2, "Enable"),
            (3, "Password Change"),
            (4, "Password Reset"),
            (5, "Disable"),
            (6, "Delete"),
            (7, "Attach Policy"),
            (8, "Detach Policy"),
            (9, "Lock"),
            (10, "MFA Factor Enable"),
            (11, "MFA Factor Disable"),
            (12, "Unlock"),
            (99, "Other"),
        ],
        statuses: EVENT_STATUSES,
        activities_after_1_3: &[12],
        statuses_after_1_3: &[],
        host_actor: &[],
        shape: Shape::AccountChange,
    },
    Class {
        uid: 3002,
        name: "authentication",
        caption: "Authentication",
        category_uid: IAM.0,
        category: IAM.1,
        activities: &[
            (1, "Logon"),
            (2, "Logoff"),
            (3, "Authentication Ticket"),
            (4, "Service Ticket Request"),
            (5, "Service Ticket Renew"),
            (6, "Preauth"),
            (7, "Account Switch"),
            (99, "Other"),
        ],
        statuses: EVENT_STATUSES,
        activities_after_1_3: &[7],
        statuses_after_1_3: &[],
        host_actor: &[],
        shape: Shape::Authentication,
    },
    Class {
        uid: 3004,
        name: "entity_management",
        caption: "Entity Management",
        category_uid: IAM.0,
        category: IAM.1,
        activities: &[
            (1, "Create"),
            (2, "Read"),
            (3, "Update"),
            (4, "Delete"),
            (5, "Move"),
            (6, "Enroll"),
            (7, "Unenroll"),
            (8, "Enable"),
            (9, "Disable"),
            (10, "Activate"),
            (11, "Deactivate"),
            (12, "Suspend"),
            (13, "Resume"),
            (99, "Other"),
        ],
        statuses: EVENT_STATUSES,
        activities_after_1_3: &[],
        statuses_after_1_3: &[],
        host_actor: &[OcsfVersion::V1_3_0],
        shape: Shape::EntityManagement,
    },
    Class {
        uid: 3005,
        name: "user_access",
        caption: "User Access Management",
        category_uid: IAM.0,
        category: IAM.1,
        activities: &[
            (1, "Assign Privileges"),
            (2, "Revoke Privileges"),
            (99, "Other"),
        ],
        statuses: EVENT_STATUSES,
        activities_after_1_3: &[],
        statuses_after_1_3: &[],
        host_actor: &[OcsfVersion::V1_3_0],
        shape: Shape::UserAccess,
    },
    Class {
        uid: 3006,
        name: "group_management",
        caption: "Group Management",
        category_uid: IAM.0,
        category: IAM.1,
        activities: &[
            (1, "Assign Privileges"),
            (2, "Revoke Privileges"),
            (3, "Add User"),
            (4, "Remove User"),
            (5, "Delete"),
            (6, "Create"),
            (7, "Add Subgroup"),
            (8, "Remove Subgroup"),
            (99, "Other"),
        ],
        statuses: EVENT_STATUSES,
        activities_after_1_3: &[7, 8],
        statuses_after_1_3: &[],
        host_actor: &[OcsfVersion::V1_3_0],
        shape: Shape::GroupManagement,
    },
    Class {
        uid: 6001,
        name: "web_resources_activity",
        caption: "Web Resources Activity",
        category_uid: APPLICATION.0,
        category: APPLICATION.1,
        activities: &[
            (1, "Create"),
            (2, "Read"),
            (3, "Update"),
            (4, "Delete"),
            (5, "Search"),
            (6, "Import"),
            (7, "Export"),
            (8, "Share"),
            (99, "Other"),
        ],
        statuses: EVENT_STATUSES,
        activities_after_1_3: &[],
        statuses_after_1_3: &[],
        host_actor: &[OcsfVersion::V1_3_0, OcsfVersion::V1_8_0],
        shape: Shape::WebResources,
    },
    Class {
        uid: 6003,
        name: "api_activity",
        caption: "API Activity",
        category_uid: APPLICATION.0,
        category: APPLICATION.1,
        activities: &[
            (1, "Create"),
            (2, "Read"),
            (3, "Update"),
            (4, "Delete"),
            (99, "Other"),
        ],
        statuses: EVENT_STATUSES,
        activities_after_1_3: &[],
        statuses_after_1_3: &[],
        host_actor: &[],
        shape: Shape::ApiActivity,
    },
    Class {
        uid: 6006,
        name: "file_hosting",
        caption: "File Hosting Activity",
        category_uid: APPLICATION.0,
        category: APPLICATION.1,
        activities: &[
            (1, "Upload"),
            (2, "Download"),
            (3, "Update"),
            (4, "Delete"),
            (5, "Rename"),
            (6, "Copy"),
            (7, "Move"),
            (8, "Restore"),
            (9, "Preview"),
            (10, "Lock"),
            (11, "Unlock"),
            (12, "Share"),
            (13, "Unshare"),
            (14, "Open"),
            (15, "Sync"),
            (16, "Unsync"),
            (17, "Access Check"),
            (99, "Other"),
        ],
        statuses: EVENT_STATUSES,
        activities_after_1_3: &[17],
        statuses_after_1_3: &[],
        host_actor: &[],
        shape: Shape::FileHosting,
    },
    Class {
        uid: 2004,
        name: "detection_finding",
        caption: "Detection Finding",
        category_uid: FINDINGS.0,
        category: FINDINGS.1,
        activities: &[(1, "Create"), (2, "Update"), (3, "Close"), (99, "Other")],
        statuses: FINDING_STATUSES,
        activities_after_1_3: &[],
        statuses_after_1_3: &[5, 6],
        host_actor: &[OcsfVersion::V1_3_0, OcsfVersion::V1_8_0],
        shape: Shape::DetectionFinding,
    },
    Class {
        uid: 2006,
        name: "data_security_finding",
        caption: "Data Security Finding",
        category_uid: FINDINGS.0,
        category: FINDINGS.1,
        activities: &[
            (1, "Create"),
            (2, "Update"),
            (3, "Close"),
            (4, "Suppressed"),
            (99, "Other"),
        ],
        statuses: FINDING_STATUSES,
        activities_after_1_3: &[],
        statuses_after_1_3: &[5, 6],
        host_actor: &[OcsfVersion::V1_3_0],
        shape: Shape::DataSecurityFinding,
    },
];

/// The class of an action the table does not know: API Activity, the one class that holds
/// any Slack entry (an actor, a client, an operation on a resource) without claiming what the
/// operation did; its activity is 99 (Other), named by `activity_name`.
pub const FALLBACK: Row = Row {
    class_uid: 6003,
    activity_id: 99,
    status_id: 1,
    severity_id: 1,
    object: Object::None,
    severity_reason: "",
    reason: "an action the mapping does not know",
    in_1_3: None,
};

/// `severity_id` captions.
pub fn severity(severity_id: u32) -> &'static str {
    match severity_id {
        0 => "Unknown",
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        5 => "Critical",
        6 => "Fatal",
        _ => "Other",
    }
}

/// The class with `uid`.
pub fn class(uid: u32) -> Option<&'static Class> {
    CLASSES.iter().find(|c| c.uid == uid)
}

/// What the class's own object is when Slack's entity alone does not say it: the CSV's
/// `object` cell, `kind:value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// Empty: Slack's entity is the class's object.
    None,
    /// `privilege:NAME` (User Access Management, Group Management Assign/Revoke): the
    /// privilege granted or revoked; `privilege:` alone: the name of Slack's entity (a role).
    Privilege(&'static str),
    /// `policy:NAME` (Entity Management): the managed entity is the setting, a Policy named
    /// NAME; `details.previous_value` is its `entity.data`, `details.new_value` its
    /// `entity_result.data`.
    Policy(&'static str),
    /// `app:scopes` (Entity Management): the managed entity is the app; the previous scopes
    /// are its `entity.data`, the new ones its `entity_result.data`.
    AppScopes,
    /// `member:actor` (Group Management): the member who joined or left is the actor.
    MemberIsActor,
    /// `group:location` (Group Management): the group is the workspace the entry is located in.
    GroupIsLocation,
    /// `resource:TYPE` (Web Resources Activity): the web resource's type.
    Resource(&'static str),
}

impl Object {
    /// Parses the `object` cell of a row of `class`.
    fn parse(cell: &'static str, class: &Class) -> Result<Object, String> {
        if cell.is_empty() {
            return Ok(Object::None);
        }
        let plain = |v: &str| {
            v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        let (kind, value) = cell.split_once(':').unwrap_or((cell, ""));
        let object = match (kind, class.shape) {
            ("privilege", Shape::UserAccess | Shape::GroupManagement) => Object::Privilege(value),
            ("policy", Shape::EntityManagement) if !value.is_empty() => Object::Policy(value),
            ("app", Shape::EntityManagement) if value == "scopes" => Object::AppScopes,
            ("member", Shape::GroupManagement) if value == "actor" => Object::MemberIsActor,
            ("group", Shape::GroupManagement) if value == "location" => Object::GroupIsLocation,
            ("resource", Shape::WebResources) if !value.is_empty() => Object::Resource(value),
            _ => {
                return Err(format!(
                    "object {cell:?} means nothing for {}",
                    class.caption
                ));
            }
        };
        if !plain(value) {
            return Err(format!("object {cell:?}: the name is not lower_snake_case"));
        }
        Ok(object)
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// `class_uid`.
    pub class_uid: u32,
    /// `activity_id`.
    pub activity_id: u32,
    /// `status_id` (1 unless the row says otherwise: Success for events, New for findings).
    pub status_id: u32,
    /// `severity_id` (1 Informational unless the row says otherwise).
    pub severity_id: u32,
    /// What the class's own object is.
    pub object: Object,
    /// Why the severity is above Informational.
    pub severity_reason: &'static str,
    /// Why, for the choices that are not obvious.
    pub reason: &'static str,
    /// The OCSF 1.3.0 choice, where the 1.8.0 one does not exist there.
    pub in_1_3: Option<Exception>,
}

/// A row's choice for OCSF 1.3.0 where its 1.8.0 activity or status does not exist there (the
/// CSV's `ocsf_1_3_0` cell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exception {
    /// `activity_id` in 1.3.0, when it differs.
    pub activity_id: Option<u32>,
    /// `status_id` in 1.3.0, when it differs.
    pub status_id: Option<u32>,
    /// Why that one is the closest.
    pub reason: &'static str,
}

impl Exception {
    /// Parses `activity_id=N status_id=M: reason` (either id may be left out, not both).
    fn parse(cell: &'static str) -> Result<Option<Exception>, String> {
        if cell.is_empty() {
            return Ok(None);
        }
        let Some((ids, reason)) = cell.split_once(':') else {
            return Err(format!(
                "ocsf_1_3_0 {cell:?}: want `status_id=N: why` (or activity_id=N)"
            ));
        };
        let reason = reason.trim();
        let mut exception = Exception {
            activity_id: None,
            status_id: None,
            reason,
        };
        for assignment in ids.split_whitespace() {
            let parsed = assignment
                .split_once('=')
                .and_then(|(key, n)| Some((key, n.parse::<u32>().ok()?)));
            match parsed {
                Some(("activity_id", n)) if exception.activity_id.is_none() => {
                    exception.activity_id = Some(n);
                }
                Some(("status_id", n)) if exception.status_id.is_none() => {
                    exception.status_id = Some(n);
                }
                _ => {
                    return Err(format!(
                        "ocsf_1_3_0 {cell:?}: {assignment:?} is not activity_id=N or status_id=N"
                    ));
                }
            }
        }
        if exception.activity_id.is_none() && exception.status_id.is_none() || reason.is_empty() {
            return Err(format!(
                "ocsf_1_3_0 {cell:?}: an exception names an id and says why"
            ));
        }
        Ok(Some(exception))
    }
}

impl Row {
    /// The row as `version` has it.
    pub fn in_version(&self, version: OcsfVersion) -> Row {
        match (version, self.in_1_3) {
            (OcsfVersion::V1_3_0, Some(e)) => Row {
                activity_id: e.activity_id.unwrap_or(self.activity_id),
                status_id: e.status_id.unwrap_or(self.status_id),
                ..*self
            },
            _ => *self,
        }
    }
}

/// The classification members an event of `class` and `row` starts with (the event's `{`
/// included, no trailing comma). `action` is the action as it appears between the quotes of
/// its JSON string, for `activity_name` when the activity is 99 (Other); `type_name` follows
/// `type_uid` ("Class: Other" for 99).
pub fn header(class: &Class, row: &Row, action: Option<&str>) -> String {
    let caption = class.activity(row.activity_id).unwrap_or("Other");
    let activity = match (row.activity_id, action) {
        (99, Some(action)) => action,
        _ => caption,
    };
    format!(
        r#"{{"class_uid":{},"class_name":"{}","category_uid":{},"category_name":"{}","activity_id":{},"type_uid":{},"type_name":"{}: {caption}","activity_name":"{activity}","severity_id":{},"severity":"{}","status_id":{},"status":"{}""#,
        class.uid,
        class.caption,
        class.category_uid,
        class.category,
        row.activity_id,
        u64::from(class.uid) * 100 + u64::from(row.activity_id),
        class.caption,
        row.severity_id,
        severity(row.severity_id),
        row.status_id,
        class.status(row.status_id).unwrap_or("Other"),
    )
}

/// One action's row and the start of its events, for each version ([`OcsfVersion::ALL`]
/// order).
#[derive(Debug)]
struct Entry {
    rows: [Row; 2],
    headers: [Box<str>; 2],
}

fn index(version: OcsfVersion) -> usize {
    match version {
        OcsfVersion::V1_3_0 => 0,
        OcsfVersion::V1_8_0 => 1,
    }
}

/// The table, by action.
#[derive(Debug, Default)]
pub struct Table {
    rows: HashMap<&'static str, Entry>,
    order: Vec<&'static str>,
}

impl Table {
    /// The bundled table, parsed once. A unit test proves it parses; were it broken, every
    /// action would take the fallback (and be counted in warnings), never be dropped.
    pub fn bundled() -> &'static Table {
        static TABLE: OnceLock<Table> = OnceLock::new();
        TABLE.get_or_init(|| Table::parse(MAPPING_CSV).unwrap_or_default())
    }

    /// Parses a table in the bundled format, refusing anything it would have to guess about.
    pub fn parse(csv: &'static str) -> Result<Table, String> {
        let mut lines = csv.lines().enumerate();
        let columns = "action,class_uid,activity_id,status_id,severity_id,object,severity_reason,reason,ocsf_1_3_0";
        match lines.next() {
            Some((_, first)) if first == columns => {}
            _ => return Err(format!("the first line must be {columns:?}")),
        }
        let mut table = Table::default();
        for (index, line) in lines {
            // Line numbers as an editor shows them.
            let n = index + 1;
            let cells: Vec<&'static str> = line.split(',').collect();
            let [
                action,
                class_uid,
                activity_id,
                status_id,
                severity_id,
                object,
                severity_reason,
                reason,
                in_1_3,
            ] = cells[..]
            else {
                return Err(format!(
                    "line {n}: {} cells, 9 wanted (a reason holds no comma)",
                    cells.len()
                ));
            };
            let number = |cell: &str, what: &str, default: u32| -> Result<u32, String> {
                if cell.is_empty() && default > 0 {
                    return Ok(default);
                }
                cell.parse()
                    .map_err(|_| format!("line {n}: {what} {cell:?} is not a number"))
            };
            let class_uid = number(class_uid, "class_uid", 0)?;
            let Some(class) = class(class_uid) else {
                return Err(format!("line {n}: class {class_uid} is not one of CLASSES"));
            };
            let row = Row {
                class_uid,
                activity_id: number(activity_id, "activity_id", 0)?,
                status_id: number(status_id, "status_id", 1)?,
                severity_id: number(severity_id, "severity_id", 1)?,
                object: Object::parse(object, class).map_err(|e| format!("line {n}: {e}"))?,
                severity_reason,
                reason,
                in_1_3: Exception::parse(in_1_3).map_err(|e| format!("line {n}: {e}"))?,
            };
            if class.activity(row.activity_id).is_none() {
                return Err(format!(
                    "line {n}: {} has no activity {}",
                    class.caption, row.activity_id
                ));
            }
            if class.status(row.status_id).is_none() {
                return Err(format!(
                    "line {n}: {} has no status {}",
                    class.caption, row.status_id
                ));
            }
            let old = row.in_version(OcsfVersion::V1_3_0);
            let needed = class
                .activity_in(OcsfVersion::V1_3_0, row.activity_id)
                .is_none()
                || class
                    .status_in(OcsfVersion::V1_3_0, row.status_id)
                    .is_none();
            if class
                .activity_in(OcsfVersion::V1_3_0, old.activity_id)
                .is_none()
            {
                return Err(format!(
                    "line {n}: {} has no activity {} in OCSF 1.3.0: name the closest in ocsf_1_3_0",
                    class.caption, old.activity_id
                ));
            }
            if class
                .status_in(OcsfVersion::V1_3_0, old.status_id)
                .is_none()
            {
                return Err(format!(
                    "line {n}: {} has no status {} in OCSF 1.3.0: name the closest in ocsf_1_3_0",
                    class.caption, old.status_id
                ));
            }
            if row.in_1_3.is_some() && !needed {
                return Err(format!(
                    "line {n}: ocsf_1_3_0 is only for a choice OCSF 1.3.0 does not have"
                ));
            }
            if !matches!(row.severity_id, 1..=6) {
                return Err(format!("line {n}: severity_id must be 1 to 6"));
            }
            if (row.severity_id > 1) == row.severity_reason.is_empty() {
                return Err(format!(
                    "line {n}: a severity above Informational needs its severity_reason (and only then)"
                ));
            }
            if row.activity_id == 99 && row.reason.is_empty() {
                return Err(format!("line {n}: activity 99 (Other) needs its reason"));
            }
            // Action names are plain (letters, digits, `_`, `.`): they go into JSON unescaped.
            if !action
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            {
                return Err(format!("line {n}: action {action:?} is not a plain name"));
            }
            let entry = Entry {
                rows: [old, row],
                headers: [
                    header(class, &old, Some(action)).into_boxed_str(),
                    header(class, &row, Some(action)).into_boxed_str(),
                ],
            };
            if action.is_empty() || table.rows.insert(action, entry).is_some() {
                return Err(format!("line {n}: action {action:?} is empty or repeated"));
            }
            table.order.push(action);
        }
        Ok(table)
    }

    /// The row of `action`, as written (the OCSF 1.8.0 choice).
    pub fn get(&self, action: &str) -> Option<&Row> {
        self.get_in(OcsfVersion::V1_8_0, action)
    }

    /// The row of `action` in `version`.
    pub fn get_in(&self, version: OcsfVersion, action: &str) -> Option<&Row> {
        self.rows.get(action).map(|e| &e.rows[index(version)])
    }

    /// The row of `action` in `version` and the start of its events ([`header`]), made once.
    pub fn entry(&self, version: OcsfVersion, action: &str) -> Option<(&Row, &str)> {
        let i = index(version);
        self.rows.get(action).map(|e| (&e.rows[i], &*e.headers[i]))
    }

    /// Every action with its row, in the file's order (the OCSF 1.8.0 choices).
    pub fn rows(&self) -> impl Iterator<Item = (&'static str, &Row)> {
        self.rows_in(OcsfVersion::V1_8_0)
    }

    /// Every action with its row in `version`, in the file's order.
    pub fn rows_in(&self, version: OcsfVersion) -> impl Iterator<Item = (&'static str, &Row)> {
        self.order
            .iter()
            .filter_map(move |action| self.get_in(version, action).map(|row| (*action, row)))
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The classes the table and the fallback name, each once, in [`CLASSES`] order.
    pub fn classes(&self) -> Vec<&'static Class> {
        CLASSES
            .iter()
            .filter(|c| {
                c.uid == FALLBACK.class_uid
                    || self.rows.values().any(|e| e.rows[1].class_uid == c.uid)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses() {
        let table = Table::parse(MAPPING_CSV);
        assert!(table.is_ok(), "{:?}", table.err());
        assert!(!Table::bundled().is_empty());
    }

    #[test]
    fn a_broken_table_is_refused_with_the_line() {
        const HEAD: &str = "action,class_uid,activity_id,status_id,severity_id,object,severity_reason,reason,ocsf_1_3_0\n";
        let cases = [
            ("a,b\n", "first line"),
            ("x,3002,1,,,,,a, b,\n", "line 2: 10 cells"),
            ("x,3002,12,,,,,,\n", "Authentication has no activity 12"),
            ("x,4242,1,,,,,,\n", "class 4242"),
            (
                "x,3002,1,,,,,,\nx,3002,2,,,,,,\n",
                "line 3: action \"x\" is empty or repeated",
            ),
            ("x,3002,1,6,,,,,\n", "Authentication has no status 6"),
            ("x,2004,1,2,,,,,\n", ""),
            ("x,3002,1,,3,,,,\n", "needs its severity_reason"),
            ("x,3002,1,,,,why,,\n", "needs its severity_reason"),
            ("x,3002,99,,,,,,\n", "activity 99 (Other) needs its reason"),
            (
                "x,3002,1,,,policy:sso,,,\n",
                "means nothing for Authentication",
            ),
            ("x,3004,3,,,policy:Bad Name,,,\n", "not lower_snake_case"),
            (
                "x,2006,3,6,3,,w,r,\n",
                "no status 6 in OCSF 1.3.0: name the closest",
            ),
            ("x,2006,3,6,3,,w,r,status_id=4: closest\n", ""),
            (
                "x,2006,3,6,3,,w,r,status_id=6: same\n",
                "no status 6 in OCSF 1.3.0",
            ),
            ("x,3001,12,,,,,r,activity_id=2: near\n", ""),
            ("x,3001,12,,,,,r,\n", "no activity 12 in OCSF 1.3.0"),
            (
                "x,3002,1,,,,,,status_id=2: no\n",
                "only for a choice OCSF 1.3.0 does not have",
            ),
            ("x,2006,3,6,3,,w,r,status=4\n", "want `status_id=N: why`"),
            (
                "x,2006,3,6,3,,w,r,status=4: x\n",
                "is not activity_id=N or status_id=N",
            ),
            (
                "x,2006,3,6,3,,w,r,status_id=4:\n",
                "names an id and says why",
            ),
        ];
        for (rows, expected) in cases {
            let csv = if rows.starts_with("a,b") {
                rows.to_owned()
            } else {
                format!("{HEAD}{rows}")
            };
            let csv: &'static str = Box::leak(csv.into_boxed_str());
            if expected.is_empty() {
                assert!(Table::parse(csv).is_ok(), "{rows:?}");
                continue;
            }
            let err = Table::parse(csv).err().unwrap_or_default();
            assert!(err.contains(expected), "{rows:?}: {err:?}");
        }
    }
}
