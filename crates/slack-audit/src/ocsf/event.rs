//! One Slack entry to one OCSF event, of the version the settings name.
//!
//! The row of the entry's action (see [`super::table`]) gives the class, activity, status,
//! severity and, where Slack's entity alone does not say it, the class's own object (a
//! privilege, a Policy, the member of a group…); the class's [`Shape`] says where the entry's
//! entity goes. The rest is the same for every class:
//!
//! | OCSF | Slack |
//! |---|---|
//! | `time` | `date_create` × 1000 (the time the connector read it when Slack sent no usable time: then `metadata.original_time` is absent) |
//! | `metadata.uid`, `metadata.original_event_uid` (1.8.0) | `id` |
//! | `metadata.profiles` | the OCSF profiles whose attributes the event carries: `cloud` always, `host` where the class has its `actor` through it |
//! | `metadata.version` | the OCSF version of the settings |
//! | `metadata.event_code` | `action` (also `activity_name` when the activity is 99) |
//! | `metadata.original_time` | `date_create` as sent |
//! | `metadata.tenant_uid`, `cloud.org.uid`/`name` | the organization the connector reads: `context.location` of type `enterprise`, remembered for the entries located in one of its workspaces (never the actor's team) |
//! | `cloud.org.ou_uid`/`ou_name` | `context.location` of type `workspace` |
//! | `actor.user` | `actor.user`: `id` → `uid`, `name`, `email` → `email_addr`, `account_type` → `type` (and `type_id`) |
//! | `actor.session.uid` (and `session.uid` in Authentication) | `context.session_id` (a number becomes its decimal text; `0` and empty are no session) |
//! | `actor.app_uid`, `actor.app_name` | `context.app.id`, `context.app.name`; without an app, the agent that acted for the user (`acting_agent`, under `context` or at the top: its `id`, and its `name`, else its `type`, such as `slackbot`; or the string itself) |
//! | `message` | `agent_message` (under `context` or at the top): what the agent did, in Slack's words |
//! | `src_endpoint.ip` | `context.ip_address` |
//! | `http_request.user_agent` | `context.ua` (where the version's class has `http_request`) |
//!
//! An attribute the version's class lacks ([`OcsfVersion`] says which) is not written: its
//! Slack value stays under `unmapped`.
//!
//! A value is *taken* only when the event carries it whole and where OCSF's type allows it
//! (an empty string, an address that is not an IP, an email that OCSF's pattern refuses stay
//! behind); everything not taken goes under `unmapped` at its Slack path, byte for byte. Where
//! a class requires an object Slack did not provide (a file event without an IP address still
//! needs `src_endpoint`), the event carries OCSF's own Unknown: `type_id` 0 where the object
//! has one, and the name `"Unknown"` (its caption) where OCSF needs a name.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use super::reader::{Doc, Id, Tape};
use super::table::{self, Class, FALLBACK, Object, Row, Shape, Table};
use super::version::OcsfVersion;
use super::writer::{ObjW, escaped};

/// The OCSF profiles an event may use: `cloud` for `cloud` (every event: the organization
/// is `cloud.org`), `host` for the top-level `actor` of the classes that have it only through
/// that profile ([`Class::host_actor`]).
pub const PROFILES: &[&str] = &["cloud", "host"];
/// `metadata.profiles` of an event with only `cloud`.
const CLOUD_JSON: &str = r#"["cloud"]"#;
/// `metadata.profiles` of an event with `cloud` and `host`.
const CLOUD_HOST_JSON: &str = r#"["cloud","host"]"#;

/// The profile sets (`metadata.profiles`) events of `class` in `version` may declare, each
/// as the generated schema of that combination is named.
pub fn profile_sets(class: &Class, version: OcsfVersion) -> Vec<&'static [&'static str]> {
    let mut sets: Vec<&'static [&'static str]> = vec![&["cloud"]];
    if class.host_actor.contains(&version) && !Slots::of(class.shape, version).actor_in_evidence {
        sets.push(&["cloud", "host"]);
    }
    sets
}
/// `metadata.product.name`.
pub const PRODUCT: &str = "Slack Audit Logs";
/// `metadata.product.vendor_name`.
pub const VENDOR: &str = "Slack";
/// `metadata.product`.
const PRODUCT_JSON: &str = r#"{"name":"Slack Audit Logs","vendor_name":"Slack"}"#;
/// A `service` (Authentication) or `api.service`.
const SERVICE_JSON: &str = r#"{"name":"Slack"}"#;
/// `cloud.provider`.
const PROVIDER: &str = "Slack";
/// OCSF's Unknown (`type_id` 0, named by its caption) for a required user or endpoint the
/// entry does not provide.
const UNKNOWN_TYPED_JSON: &str = r#"{"name":"Unknown","type":"Unknown","type_id":0}"#;
/// The caption OCSF gives its Unknown values, for a required name the entry does not provide.
const UNKNOWN: &str = "Unknown";

/// What converting one entry found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapped {
    /// The action has a row in the table.
    Known,
    /// The action is not in the table (or the entry has none): the fallback class was used.
    Unknown,
}

/// Appends the OCSF event of the entry `raw` to `out` (compact JSON, no newline). `tape` is
/// scratch space, kept between calls for its allocation; `org` is the organization read so
/// far (its id as JSON text), updated from entries located in the organization and used for
/// those located in one of its workspaces.
pub(crate) fn write_event(
    table: &Table,
    version: OcsfVersion,
    tape: &mut Tape,
    raw: &[u8],
    raw_data: bool,
    org: &mut Option<String>,
    out: &mut Vec<u8>,
) -> Mapped {
    let Some((mut doc, root)) = std::str::from_utf8(raw)
        .ok()
        .and_then(|json| Doc::scan(json, tape))
    else {
        not_an_object(raw, version, out);
        return Mapped::Unknown;
    };
    let action = doc.get(root, "action").filter(|id| doc.is_string(*id));
    let (row, header, mapped) = row_of(table, version, &doc, action);
    let class = table::class(row.class_uid).unwrap_or(&table::CLASSES[0]);
    let slots = Slots::of(class.shape, version);

    // Read and take first; write in order afterwards.
    let taken = Taken::take(
        &mut doc,
        root,
        action,
        (class.shape, version),
        row.object,
        &slots,
        org,
    );
    let org: &Option<String> = org;
    let host = class.host_actor.contains(&version) && taken.has_top_level_actor(&slots);
    let profiles = if host { CLOUD_HOST_JSON } else { CLOUD_JSON };

    // Write.
    let start = out.len();
    out.extend_from_slice(header.as_bytes());
    let mut event = ObjW::continuing(start);
    let time = taken
        .date
        .and_then(|d| millis(&doc, d))
        .unwrap_or_else(now_millis);
    event.int(out, "time", time);
    write_metadata_and_cloud(out, &mut event, &doc, &taken, org, (version, profiles));
    write_class_objects(
        out,
        &mut event,
        &doc,
        (class.shape, version),
        row,
        &taken,
        time,
    );
    write_actor_and_source(out, &mut event, &doc, &slots, &taken);
    if let Some(message) = taken.message {
        event.raw(out, "message", doc.raw(message));
    }

    let mark = out.len();
    event.key(out, "unmapped");
    if !doc.write_rest(root, out) {
        event.undo_key(out, mark);
    }
    if raw_data {
        event.key(out, "raw_data");
        escaped(out, &String::from_utf8_lossy(raw));
    }
    event.close(out);
    mapped
}

/// The table's row for the entry's `action` and the event's header (class, activity, status,
/// severity…), or the fallback row and a header naming the action when the table has none.
fn row_of<'t>(
    table: &'t Table,
    version: OcsfVersion,
    doc: &Doc<'_, '_>,
    action: Option<Id>,
) -> (Row, Cow<'t, str>, Mapped) {
    let known = action
        .and_then(|id| doc.text(id))
        .and_then(|a| table.entry(version, &a));
    match known {
        Some((row, header)) => (*row, Cow::Borrowed(header), Mapped::Known),
        None => {
            let inner = action.map(|id| {
                let raw = doc.raw(id);
                &raw[1..raw.len() - 1]
            });
            let class = table::class(FALLBACK.class_uid).unwrap_or(&table::CLASSES[0]);
            (
                FALLBACK,
                Cow::Owned(table::header(class, &FALLBACK, inner)),
                Mapped::Unknown,
            )
        }
    }
}

/// What the event takes from the entry (taken: so not repeated under `unmapped`), and the
/// entry's `action` when it is a string (read, not taken).
struct Taken<'a> {
    action: Option<Id>,
    date: Option<Id>,
    id: Option<Id>,
    event_code: Option<Id>,
    actor_user: Option<UserNodes>,
    client: Client,
    place: Place,
    target: Target<'a>,
    values: Values,
    /// `agent_message`, for `message`.
    message: Option<Id>,
}

/// The agent that acted for the user (`acting_agent`, with `agent_message`), where Slackbot
/// did: under `context` (where Slack's documentation puts them) or at the top of the entry
/// (where entries were seen carrying them), the first found.
#[derive(Default)]
struct Agent {
    name: Option<Id>,
    uid: Option<Id>,
    message: Option<Id>,
}

impl Agent {
    /// Takes `agent_message` from `obj`, and `acting_agent` if `as_app` (the actor has no app
    /// of its own), unless already found. Only what the event carries is taken: an agent
    /// object's `name` (else its `type`) and `id`, or an agent given as a string; the rest
    /// stays under `unmapped`.
    fn take(&mut self, doc: &mut Doc<'_, '_>, obj: Id, as_app: bool) {
        if as_app && self.name.is_none() && self.uid.is_none() {
            if let Some(agent) = doc.open(obj, "acting_agent") {
                self.uid = doc.take_text(agent, "id");
                self.name = doc
                    .take_text(agent, "name")
                    .or_else(|| doc.take_text(agent, "type"));
            } else {
                self.name = doc.take_text(obj, "acting_agent");
            }
        }
        if self.message.is_none() {
            self.message = doc.take_text(obj, "agent_message");
        }
    }
}

impl<'a> Taken<'a> {
    /// Takes from the entry at `root` what an event of `shape` carries; remembers the
    /// organization in `org`.
    fn take(
        doc: &mut Doc<'a, '_>,
        root: Id,
        action: Option<Id>,
        (shape, version): (Shape, OcsfVersion),
        object: Object,
        slots: &Slots,
        org: &mut Option<String>,
    ) -> Taken<'a> {
        let date = doc.take_if(root, "date_create", |d, id| {
            d.is_number(id) || d.text(id).is_some_and(|t| t.parse::<f64>().is_ok())
        });
        let id = doc.take_text(root, "id");
        let event_code = doc.take_text(root, "action");
        let mut actor_user = None;
        if let Some(actor) = doc.open(root, "actor")
            && let Some(user) = doc.open(actor, "user")
        {
            actor_user = user_nodes(doc, user);
        }
        let mut client = Client::default();
        let mut place = Place::default();
        let mut agent = Agent::default();
        if let Some(context) = doc.open(root, "context") {
            if let Some(location) = doc.open(context, "location") {
                place = Place::take(doc, location, org);
            }
            client.session = doc.take_if(context, "session_id", |d, id| {
                let raw = d.raw(id);
                let number = d.is_number(id) && !raw.contains(['.', 'e', 'E', '-']);
                let text = d.is_string(id) && raw.len() > 2;
                // `0` (or "0") is Slack's way of saying there is no session.
                (number || text) && raw.trim_matches('"').bytes().any(|b| b != b'0')
            });
            if let Some(app) = doc.open(context, "app") {
                client.app_name = doc.take_text(app, "name");
                client.app_uid = doc.take_text(app, "id");
            }
            agent.take(
                doc,
                context,
                client.app_name.is_none() && client.app_uid.is_none(),
            );
            client.ip = doc.take_text_if(context, "ip_address", is_ocsf_ip);
            if slots.http_request {
                client.ua = doc.take_text(context, "ua");
            }
        }
        // The agent is the actor's app only when no app is named: `context.app` is Slack's own
        // answer to "which app", and the agent then stays under `unmapped`.
        let no_app = client.app_name.is_none() && client.app_uid.is_none();
        agent.take(doc, root, no_app);
        if no_app {
            client.app_name = agent.name;
            client.app_uid = agent.uid;
        }
        let message = agent.message;
        let target = Target::take(doc, root, (shape, version), object);
        let mut values = Values::default();
        if let Some(details) = doc.open(root, "details") {
            values = Values::take(doc, details, shape, object);
        }
        Taken {
            action,
            date,
            id,
            event_code,
            actor_user,
            client,
            place,
            target,
            values,
            message,
        }
    }

    /// Whether the event has a top-level `actor` (what [`write_actor_and_source`] writes).
    fn has_top_level_actor(&self, slots: &Slots) -> bool {
        let client = &self.client;
        !slots.actor_in_evidence
            && (slots.required
                || client.session.is_some()
                || client.app_name.is_some()
                || client.app_uid.is_some()
                || self.actor_user.is_some())
    }
}

/// `metadata` and `cloud`, the same for every class.
fn write_metadata_and_cloud(
    out: &mut Vec<u8>,
    event: &mut ObjW,
    doc: &Doc<'_, '_>,
    taken: &Taken<'_>,
    org: &Option<String>,
    (version, profiles): (OcsfVersion, &str),
) {
    let place = &taken.place;
    event.obj(out, "metadata", |out, m| {
        if let Some(id) = taken.id {
            m.raw(out, "uid", doc.raw(id));
            if version.has_original_event_uid() {
                m.raw(out, "original_event_uid", doc.raw(id));
            }
        }
        if let Some(code) = taken.event_code {
            m.raw(out, "event_code", doc.raw(code));
        }
        if let Some(date) = taken.date {
            quoted(out, m, "original_time", doc, date);
        }
        m.raw(out, "product", PRODUCT_JSON);
        m.raw(out, "profiles", profiles);
        if let Some(tenant) = place.tenant(doc, org) {
            m.raw(out, "tenant_uid", tenant);
        }
        m.text(out, "version", version.as_str());
    });
    event.obj(out, "cloud", |out, c| {
        c.text(out, "provider", PROVIDER);
        c.obj(out, "org", |out, o| place.write_org(out, o, doc, org));
    });
}

/// The class's own objects: the user, group, entity, file, API, web resources or finding the
/// event is about, placed as the class's [`Shape`] says.
fn write_class_objects(
    out: &mut Vec<u8>,
    event: &mut ObjW,
    doc: &Doc<'_, '_>,
    (shape, version): (Shape, OcsfVersion),
    row: Row,
    taken: &Taken<'_>,
    time: i64,
) {
    let target = &taken.target;
    match shape {
        Shape::Authentication | Shape::AccountChange => {
            let user = target.user.as_ref().or(taken.actor_user.as_ref());
            match user {
                Some(user) => event.obj(out, "user", |out, o| write_user(out, o, doc, user)),
                None => event.raw(out, "user", UNKNOWN_TYPED_JSON),
            }
            if shape == Shape::Authentication {
                event.raw(out, "service", SERVICE_JSON);
                if let Some(session) = taken.client.session {
                    event.obj(out, "session", |out, s| quoted(out, s, "uid", doc, session));
                }
            }
        }
        Shape::UserAccess => {
            // The user whose privileges changed: Slack's entity, never the actor who changed them.
            match &target.user {
                Some(user) => event.obj(out, "user", |out, o| write_user(out, o, doc, user)),
                None => event.raw(out, "user", UNKNOWN_TYPED_JSON),
            }
            write_privileges(out, event, doc, target, row.object);
            if version.user_access_has_resources() {
                target.write_resources(out, event, doc, shape);
            }
        }
        Shape::GroupManagement => write_group(out, event, doc, (row, version), taken),
        Shape::EntityManagement => write_managed_entity(out, event, doc, row.object, taken),
        Shape::FileHosting => {
            event.obj(out, "file", |out, o| target.write_named(out, o, doc, shape));
        }
        Shape::ApiActivity => {
            event.obj(out, "api", |out, api| {
                match taken.action {
                    Some(action) => api.raw(out, "operation", doc.raw(action)),
                    None => api.text(out, "operation", UNKNOWN),
                }
                api.raw(out, "service", SERVICE_JSON);
            });
            target.write_resources(out, event, doc, shape);
        }
        Shape::WebResources => {
            event.key(out, "web_resources");
            out.push(b'[');
            let mut resource = ObjW::begin(out);
            target.write_named(out, &mut resource, doc, shape);
            if let Object::Resource(kind) = row.object {
                resource.text(out, "type", kind);
            }
            resource.close(out);
            out.push(b']');
        }
        Shape::DetectionFinding | Shape::DataSecurityFinding => {
            write_finding_info(out, event, doc, taken, time);
            target.write_resources(out, event, doc, shape);
        }
    }
}

/// Group Management's `group` (Slack's entity, or the workspace the entry is located in), its
/// member and, when one is added or removed, the privileges. OCSF 1.3.0 requires a `user` or
/// `privileges`: there a member the entry does not name is OCSF's Unknown.
fn write_group(
    out: &mut Vec<u8>,
    event: &mut ObjW,
    doc: &Doc<'_, '_>,
    (row, version): (Row, OcsfVersion),
    taken: &Taken<'_>,
) {
    let target = &taken.target;
    event.obj(out, "group", |out, o| {
        if row.object == Object::GroupIsLocation && taken.place.write_workspace(out, o, doc) {
            o.text(out, "type", "workspace");
        } else {
            target.write_named(out, o, doc, Shape::GroupManagement);
        }
    });
    let member = match (&target.user, row.object) {
        (Some(user), _) => Some(user),
        (None, Object::MemberIsActor) => taken.actor_user.as_ref(),
        _ => None,
    };
    let privileges = matches!(row.activity_id, 1 | 2);
    match member {
        Some(user) => event.obj(out, "user", |out, o| write_user(out, o, doc, user)),
        None if !privileges && version.group_needs_user_or_privileges() => {
            event.raw(out, "user", UNKNOWN_TYPED_JSON);
        }
        None => {}
    }
    if privileges {
        write_privileges(out, event, doc, target, row.object);
    }
}

/// Entity Management's `entity` (and `entity_result` with the new value): a setting as a
/// Policy, an app whose scopes changed, or Slack's entity.
fn write_managed_entity(
    out: &mut Vec<u8>,
    event: &mut ObjW,
    doc: &Doc<'_, '_>,
    object: Object,
    taken: &Taken<'_>,
) {
    let (target, values, client) = (&taken.target, &taken.values, &taken.client);
    let shape = Shape::EntityManagement;
    match object {
        Object::Policy(name) => {
            event.obj(out, "entity", |out, e| {
                write_policy(out, e, name);
                if let Some(org) = &target.org {
                    e.obj(out, "org", |out, o| org.write(out, o, doc));
                }
                if let Some(v) = values.previous {
                    e.raw(out, "data", doc.raw(v));
                }
            });
            if let Some(v) = values.new {
                event.obj(out, "entity_result", |out, e| {
                    write_policy(out, e, name);
                    e.raw(out, "data", doc.raw(v));
                });
            }
        }
        Object::AppScopes => {
            let write_app = |out: &mut Vec<u8>, e: &mut ObjW| {
                if target.name.is_some() || target.uid.is_some() {
                    target.write_named(out, e, doc, shape);
                } else if client.app_name.is_some() || client.app_uid.is_some() {
                    // Slack located the change on a workspace: the app is the one that acted.
                    if let Some(name) = client.app_name {
                        e.raw(out, "name", doc.raw(name));
                    }
                    if let Some(uid) = client.app_uid {
                        e.raw(out, "uid", doc.raw(uid));
                    }
                    e.text(out, "type", "app");
                    e.int(out, "type_id", 99);
                } else {
                    target.write_named(out, e, doc, shape);
                }
            };
            event.obj(out, "entity", |out, e| {
                write_app(out, e);
                if let Some(v) = values.previous {
                    e.raw(out, "data", doc.raw(v));
                }
            });
            if let Some(v) = values.new {
                event.obj(out, "entity_result", |out, e| {
                    write_app(out, e);
                    e.raw(out, "data", doc.raw(v));
                });
            }
        }
        _ => event.obj(out, "entity", |out, o| {
            target.write_named(out, o, doc, shape)
        }),
    }
}

/// A finding's `finding_info`: its uid (the entry's id), a title from the action, when it was
/// first seen, and why (an anomaly's reasons).
fn write_finding_info(
    out: &mut Vec<u8>,
    event: &mut ObjW,
    doc: &Doc<'_, '_>,
    taken: &Taken<'_>,
    time: i64,
) {
    event.obj(out, "finding_info", |out, info| {
        match taken.id {
            Some(id) => info.raw(out, "uid", doc.raw(id)),
            None => info.text(out, "uid", UNKNOWN),
        }
        let title = taken
            .event_code
            .and_then(|a| doc.text(a))
            .map(|a| readable(&a));
        info.text(out, "title", title.as_deref().unwrap_or("Slack finding"));
        let first_seen = taken
            .values
            .action_timestamp
            .and_then(|t| micros_to_millis(doc, t))
            .unwrap_or(time);
        info.int(out, "first_seen_time", first_seen);
        if let Some(reasons) = taken.values.reasons {
            info.raw(out, "types", doc.raw(reasons));
        }
    });
}

/// `actor`, `src_endpoint` and `http_request` at the top, or in `evidences` (with the user the
/// finding is about) for a class without an actor.
fn write_actor_and_source(
    out: &mut Vec<u8>,
    event: &mut ObjW,
    doc: &Doc<'_, '_>,
    slots: &Slots,
    taken: &Taken<'_>,
) {
    let client = &taken.client;
    let write_actor = |out: &mut Vec<u8>, a: &mut ObjW| {
        if let Some(session) = client.session {
            a.obj(out, "session", |out, s| quoted(out, s, "uid", doc, session));
        }
        if let Some(name) = client.app_name {
            a.raw(out, "app_name", doc.raw(name));
        }
        if let Some(uid) = client.app_uid {
            a.raw(out, "app_uid", doc.raw(uid));
        }
        if let Some(user) = &taken.actor_user {
            a.obj(out, "user", |out, o| write_user(out, o, doc, user));
        }
        if a.is_empty() && slots.required {
            a.raw(out, "user", UNKNOWN_TYPED_JSON);
        }
    };
    let write_src = |out: &mut Vec<u8>, e: &mut ObjW| match client.ip {
        Some(ip) => e.raw(out, "ip", doc.raw(ip)),
        None if slots.required => {
            e.text(out, "name", UNKNOWN);
            e.text(out, "type", UNKNOWN);
            e.int(out, "type_id", 0);
        }
        None => {}
    };
    let write_http = |out: &mut Vec<u8>, h: &mut ObjW| {
        if let Some(ua) = client.ua {
            h.raw(out, "user_agent", doc.raw(ua));
        }
    };
    if slots.actor_in_evidence {
        let mark = out.len();
        event.key(out, "evidences");
        out.push(b'[');
        let mut evidence = ObjW::begin(out);
        evidence.obj(out, "actor", write_actor);
        evidence.obj(out, "src_endpoint", write_src);
        if slots.http_request {
            evidence.obj(out, "http_request", write_http);
        }
        // The user the finding is about.
        if let Some(user) = &taken.target.user {
            evidence.obj(out, "user", |out, o| write_user(out, o, doc, user));
        }
        if evidence.end(out) {
            out.push(b']');
        } else {
            event.undo_key(out, mark);
        }
    } else {
        event.obj(out, "actor", write_actor);
        event.obj(out, "src_endpoint", write_src);
        if slots.http_request {
            event.obj(out, "http_request", write_http);
        }
    }
}

/// `privileges`: the row's privilege, or the name of Slack's entity (a role) when the row
/// names none, or OCSF's Unknown when the entry has neither.
fn write_privileges(
    out: &mut Vec<u8>,
    event: &mut ObjW,
    doc: &Doc<'_, '_>,
    target: &Target<'_>,
    object: Object,
) {
    event.key(out, "privileges");
    out.push(b'[');
    match (object, target.name) {
        (Object::Privilege(name), _) if !name.is_empty() => escaped(out, name),
        (_, Some(name)) => out.extend_from_slice(doc.raw(name).as_bytes()),
        _ => escaped(out, UNKNOWN),
    }
    out.push(b']');
}

/// A setting as a managed entity: a Policy named by it.
fn write_policy(out: &mut Vec<u8>, e: &mut ObjW, name: &str) {
    e.text(out, "name", name);
    e.obj(out, "policy", |out, p| p.text(out, "name", name));
    e.text(out, "type", "Policy");
    e.int(out, "type_id", 5);
}

/// A finding's title from its action: `file_malicious_content_detected` → "Slack: file
/// malicious content detected".
fn readable(action: &str) -> String {
    format!("Slack: {}", action.replace(['_', '.'], " "))
}

/// Where the entry happened (`context.location`): the organization, or one of its workspaces.
#[derive(Default)]
struct Place {
    /// The enterprise's id and name, when the entry is located in the organization.
    enterprise_id: Option<Id>,
    enterprise_name: Option<Id>,
    /// The workspace's id and name, when it is located in a workspace.
    workspace_id: Option<Id>,
    workspace_name: Option<Id>,
}

impl Place {
    /// Takes the location's id and name; remembers the organization in `org`.
    fn take(doc: &mut Doc<'_, '_>, location: Id, org: &mut Option<String>) -> Place {
        let mut place = Place::default();
        match doc.str(location, "type").as_deref() {
            Some("enterprise") => {
                place.enterprise_id = doc.take_text(location, "id");
                if let Some(id) = place.enterprise_id {
                    let raw = doc.raw(id);
                    if org.as_deref() != Some(raw) {
                        *org = Some(raw.to_owned());
                    }
                    place.enterprise_name = doc.take_text(location, "name");
                }
            }
            Some("workspace") => {
                // Carried in `cloud.org` (so taken) only under the organization's id; read
                // anyway, for a group that is the workspace.
                let text =
                    |doc: &Doc<'_, '_>, id: &Id| doc.raw(*id).len() > 2 && doc.is_string(*id);
                if org.is_some() {
                    place.workspace_id = doc.take_text(location, "id");
                    place.workspace_name = doc.take_text(location, "name");
                } else {
                    place.workspace_id = doc.get(location, "id").filter(|id| text(doc, id));
                    place.workspace_name = doc.get(location, "name").filter(|id| text(doc, id));
                }
            }
            _ => {}
        }
        place
    }

    /// The organization's id as JSON text: this entry's, else the one read before.
    fn tenant<'s>(&self, doc: &Doc<'s, '_>, org: &'s Option<String>) -> Option<&'s str> {
        match self.enterprise_id {
            Some(id) => Some(doc.raw(id)),
            None => org.as_deref(),
        }
    }

    /// `cloud.org`: the organization (`uid`, `name`) and the workspace (`ou_uid`, `ou_name`).
    fn write_org(&self, out: &mut Vec<u8>, o: &mut ObjW, doc: &Doc<'_, '_>, org: &Option<String>) {
        let Some(tenant) = self.tenant(doc, org) else {
            // A workspace alone is not the organization: no `cloud.org` (the location stays
            // under `unmapped`).
            return;
        };
        o.raw(out, "uid", tenant);
        if let Some(name) = self.enterprise_name {
            o.raw(out, "name", doc.raw(name));
        }
        if let Some(uid) = self.workspace_id {
            o.raw(out, "ou_uid", doc.raw(uid));
        }
        if let Some(name) = self.workspace_name {
            o.raw(out, "ou_name", doc.raw(name));
        }
    }

    /// The workspace as a group (`uid`, `name`); `false` if the entry is not located in one.
    fn write_workspace(&self, out: &mut Vec<u8>, o: &mut ObjW, doc: &Doc<'_, '_>) -> bool {
        if self.workspace_id.is_none() && self.workspace_name.is_none() {
            return false;
        }
        if let Some(name) = self.workspace_name {
            o.raw(out, "name", doc.raw(name));
        }
        if let Some(uid) = self.workspace_id {
            o.raw(out, "uid", doc.raw(uid));
        }
        true
    }
}

/// The values of `details` the event carries.
#[derive(Default)]
struct Values {
    /// A setting's or an app's value before the change (`entity.data`).
    previous: Option<Id>,
    /// After the change (`entity_result.data`).
    new: Option<Id>,
    /// An anomaly's reasons (`finding_info.types`).
    reasons: Option<Id>,
    /// `details.action_timestamp` (microseconds), read for `first_seen_time` and left in
    /// place (its value is not carried as sent).
    action_timestamp: Option<Id>,
}

impl Values {
    fn take(doc: &mut Doc<'_, '_>, details: Id, shape: Shape, object: Object) -> Values {
        let mut values = Values::default();
        match (shape, object) {
            (Shape::EntityManagement, Object::Policy(_)) => {
                values.previous = doc.take_if(details, "previous_value", |_, _| true);
                values.new = doc.take_if(details, "new_value", |_, _| true);
            }
            (Shape::EntityManagement, Object::AppScopes) => {
                values.previous = doc.take_if(details, "previous_scopes", |_, _| true);
                values.new = doc
                    .take_if(details, "new_scopes", |_, _| true)
                    .or_else(|| doc.take_if(details, "bot_scopes", |_, _| true));
            }
            (Shape::DetectionFinding | Shape::DataSecurityFinding, _) => {
                values.reasons = doc.take_if(details, "reason", |d, id| {
                    serde_json::from_str::<Vec<String>>(d.raw(id)).is_ok_and(|v| !v.is_empty())
                });
                values.action_timestamp = doc
                    .get(details, "action_timestamp")
                    .filter(|id| doc.is_number(*id));
            }
            _ => {}
        }
        values
    }
}

/// `key`: the string `id` as sent, or the number `id` as its decimal text.
fn quoted(out: &mut Vec<u8>, o: &mut ObjW, key: &str, doc: &Doc<'_, '_>, id: Id) {
    if doc.is_string(id) {
        o.raw(out, key, doc.raw(id));
    } else {
        o.key(out, key);
        out.push(b'"');
        out.extend_from_slice(doc.raw(id).as_bytes());
        out.push(b'"');
    }
}

/// The context members the event carries.
#[derive(Default)]
struct Client {
    session: Option<Id>,
    app_name: Option<Id>,
    app_uid: Option<Id>,
    ip: Option<Id>,
    ua: Option<Id>,
}

/// Which common slots a class has (every class has a place for the actor and the source
/// endpoint, at the top or in `evidences`).
struct Slots {
    /// `http_request` is an attribute of the class (or of its evidence): else `ua` stays
    /// unmapped.
    http_request: bool,
    /// `actor` and `src_endpoint` are required.
    required: bool,
    /// The class has no `actor`: the actor and client go in `evidences`.
    actor_in_evidence: bool,
}

impl Slots {
    fn of(shape: Shape, version: OcsfVersion) -> Slots {
        match shape {
            Shape::FileHosting => Slots {
                http_request: version.file_hosting_has_http_request(),
                required: true,
                actor_in_evidence: false,
            },
            Shape::ApiActivity => Slots {
                http_request: true,
                required: true,
                actor_in_evidence: false,
            },
            Shape::DetectionFinding => Slots {
                http_request: version.evidence_has_http_request(),
                required: false,
                actor_in_evidence: true,
            },
            Shape::DataSecurityFinding => Slots {
                http_request: false,
                required: false,
                actor_in_evidence: false,
            },
            Shape::Authentication
            | Shape::AccountChange
            | Shape::UserAccess
            | Shape::GroupManagement
            | Shape::EntityManagement
            | Shape::WebResources => Slots {
                http_request: true,
                required: false,
                actor_in_evidence: false,
            },
        }
    }
}

/// A Slack user (`{id, name, email, account_type, …}`) as OCSF's `user`.
struct UserNodes {
    uid: Option<Id>,
    name: Option<Id>,
    email: Option<Id>,
    account_type: Option<Id>,
    type_id: Option<i64>,
}

/// Takes the user `user`, or nothing when it has neither a string `id` nor a `name`.
fn user_nodes(doc: &mut Doc<'_, '_>, user: Id) -> Option<UserNodes> {
    let has = |doc: &Doc<'_, '_>, key| doc.str(user, key).is_some_and(|s| !s.is_empty());
    if !has(doc, "id") && !has(doc, "name") {
        return None;
    }
    let uid = doc.take_text(user, "id");
    let name = doc.take_text(user, "name");
    let email = doc.take_text_if(user, "email", is_ocsf_email);
    let account_type = doc.take_text(user, "account_type");
    let type_id = match account_type.and_then(|id| doc.text(id)) {
        Some(t) => Some(account_type_id(&t)),
        None => uid
            .and_then(|id| doc.text(id))
            .filter(|id| id.starts_with("USLACK"))
            .map(|_| 3),
    };
    Some(UserNodes {
        uid,
        name,
        email,
        account_type,
        type_id,
    })
}

fn write_user(out: &mut Vec<u8>, o: &mut ObjW, doc: &Doc<'_, '_>, user: &UserNodes) {
    if let Some(uid) = user.uid {
        o.raw(out, "uid", doc.raw(uid));
    }
    if let Some(name) = user.name {
        o.raw(out, "name", doc.raw(name));
    }
    if let Some(email) = user.email {
        o.raw(out, "email_addr", doc.raw(email));
    }
    if let Some(account_type) = user.account_type {
        o.raw(out, "type", doc.raw(account_type));
    }
    if let Some(type_id) = user.type_id {
        o.int(out, "type_id", type_id);
    }
}

/// OCSF's `user.type_id` for Slack's `account_type` (User 1, Admin 2, Other 99).
fn account_type_id(account_type: &str) -> i64 {
    let t = account_type.to_ascii_lowercase();
    if t.contains("owner") || t.contains("admin") {
        2
    } else if ["user", "member", "guest", "restricted"]
        .iter()
        .any(|w| t.contains(w))
    {
        1
    } else {
        99
    }
}

/// Slack's entity, taken for the class's own object.
#[derive(Default)]
struct Target<'a> {
    /// `entity.type`, when taken.
    kind_node: Option<Id>,
    /// `entity.type`'s content.
    kind: Cow<'a, str>,
    /// The entity's `name` (a file's `title` when it has no name).
    name: Option<Id>,
    /// The entity's `id`.
    uid: Option<Id>,
    /// The entity as a user.
    user: Option<UserNodes>,
    /// The entity as the organization or workspace a setting belongs to.
    org: Option<OrgNodes>,
}

/// An enterprise or workspace as OCSF's `organization`.
struct OrgNodes {
    name: Option<Id>,
    uid: Option<Id>,
}

impl OrgNodes {
    fn write(&self, out: &mut Vec<u8>, o: &mut ObjW, doc: &Doc<'_, '_>) {
        if let Some(name) = self.name {
            o.raw(out, "name", doc.raw(name));
        }
        if let Some(uid) = self.uid {
            o.raw(out, "uid", doc.raw(uid));
        }
    }
}

impl<'a> Target<'a> {
    fn take(
        doc: &mut Doc<'a, '_>,
        root: Id,
        (shape, version): (Shape, OcsfVersion),
        object: Object,
    ) -> Target<'a> {
        let mut target = Target::default();
        let Some(entity) = doc.open(root, "entity") else {
            return target;
        };
        let Some(kind) = doc.str(entity, "type") else {
            return target;
        };
        let is_user = kind == "user";
        match shape {
            Shape::Authentication
            | Shape::AccountChange
            | Shape::GroupManagement
            | Shape::UserAccess
            | Shape::DetectionFinding
                if is_user =>
            {
                if let Some(user) = doc.open(entity, "user") {
                    target.user = user_nodes(doc, user);
                }
                return target;
            }
            Shape::Authentication | Shape::AccountChange => return target,
            Shape::EntityManagement if matches!(object, Object::Policy(_)) => {
                // The managed entity is the setting; Slack's entity is where it applies.
                if matches!(kind.as_ref(), "enterprise" | "workspace")
                    && let Some(org) = doc.open(entity, &kind)
                {
                    let name = doc.take_text(org, "name");
                    let uid = doc.take_text(org, "id");
                    if name.is_some() || uid.is_some() {
                        target.org = Some(OrgNodes { name, uid });
                    }
                }
                return target;
            }
            Shape::UserAccess if !version.user_access_has_resources() => {
                // No `resources`: the role is only the privilege, when the row names none.
                let named = matches!(object, Object::Privilege(name) if !name.is_empty());
                if !named && let Some(role) = doc.open(entity, &kind) {
                    target.name = doc.take_text(role, "name");
                }
                target.kind = kind;
                return target;
            }
            _ => {}
        }
        // A web resource's type is the row's (an export, a search…): Slack's stays unmapped.
        if shape != Shape::WebResources {
            target.kind_node = doc.take_text(entity, "type");
        }
        let Some(object) = doc.open(entity, &kind) else {
            target.kind = kind;
            return target;
        };
        if shape == Shape::EntityManagement && is_user {
            target.user = user_nodes(doc, object);
        } else {
            target.name = doc.take_text(object, "name");
            if target.name.is_none() && shape == Shape::FileHosting {
                target.name = doc.take_text(object, "title");
            }
            target.uid = doc.take_text(object, "id");
        }
        target.kind = kind;
        target
    }

    /// `name` and `uid`: of the user, for a user managed entity (a group about a user has
    /// neither: the user is the event's `user`, not its group).
    fn name_uid(&self, shape: Shape) -> (Option<Id>, Option<Id>) {
        match &self.user {
            Some(user) if shape == Shape::EntityManagement => (user.name, user.uid),
            _ => (self.name, self.uid),
        }
    }

    /// The class's object: a group, a managed entity, a file or a (web) resource. Where OCSF
    /// needs a name the entry lacks: its Unknown (never the id as a name).
    fn write_named(&self, out: &mut Vec<u8>, o: &mut ObjW, doc: &Doc<'_, '_>, shape: Shape) {
        let (name, uid) = self.name_uid(shape);
        let user_entity = shape == Shape::EntityManagement && self.user.is_some();
        match (name, uid, shape) {
            (Some(name), _, _) => o.raw(out, "name", doc.raw(name)),
            (None, Some(_), Shape::FileHosting) => o.text(out, "name", UNKNOWN),
            (None, None, _) if !user_entity => o.text(out, "name", UNKNOWN),
            _ => {}
        }
        if let Some(uid) = uid {
            o.raw(out, "uid", doc.raw(uid));
        }
        if shape == Shape::EntityManagement {
            let (type_id, nested) = match self.kind.as_ref() {
                "" => (0, ""),
                "user" => (2, "user"),
                "usergroup" => (3, "group"),
                "enterprise" | "workspace" => (4, "org"),
                "barrier" | "legal_hold_policy" => (5, "policy"),
                _ => (99, ""),
            };
            if let Some(user) = &self.user {
                o.obj(out, "user", |out, u| write_user(out, u, doc, user));
            } else if !nested.is_empty() {
                o.obj(out, nested, |out, n| {
                    if let Some(name) = name {
                        n.raw(out, "name", doc.raw(name));
                    }
                    if let Some(uid) = uid {
                        n.raw(out, "uid", doc.raw(uid));
                    }
                });
            }
            match self.kind_node {
                Some(kind) => o.raw(out, "type", doc.raw(kind)),
                None if type_id == 0 => o.text(out, "type", UNKNOWN),
                None => {}
            }
            o.int(out, "type_id", type_id);
        } else if shape == Shape::WebResources {
            // The row names the resource's type; Slack's entity type stays unmapped.
        } else if let Some(kind) = self.kind_node {
            o.raw(out, "type", doc.raw(kind));
        }
        if shape == Shape::FileHosting {
            let type_id = match self.kind.as_ref() {
                "file" | "canvas" | "list" => 1,
                "" => 0,
                _ => 99,
            };
            o.int(out, "type_id", type_id);
        }
    }

    /// `resources`: the entity as one resource, when the entry has one.
    fn write_resources(
        &self,
        out: &mut Vec<u8>,
        event: &mut ObjW,
        doc: &Doc<'_, '_>,
        shape: Shape,
    ) {
        if self.kind_node.is_none() && self.name.is_none() && self.uid.is_none() {
            return;
        }
        event.key(out, "resources");
        out.push(b'[');
        let mut resource = ObjW::begin(out);
        self.write_named(out, &mut resource, doc, shape);
        resource.close(out);
        out.push(b']');
    }
}

/// `date_create` in milliseconds.
fn millis(doc: &Doc<'_, '_>, id: Id) -> Option<i64> {
    let t = doc.text(id).unwrap_or(Cow::Borrowed(doc.raw(id)));
    if let Ok(seconds) = t.parse::<i64>() {
        return seconds.checked_mul(1000);
    }
    let seconds: f64 = t.parse().ok()?;
    let ms = (seconds * 1000.0).round();
    (ms.is_finite() && ms.abs() < 9.0e15).then_some(ms as i64)
}

/// `details.action_timestamp` (microseconds) in milliseconds.
fn micros_to_millis(doc: &Doc<'_, '_>, id: Id) -> Option<i64> {
    doc.raw(id).parse::<i64>().ok().map(|us| us / 1000)
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Whether OCSF's `ip_t` accepts `s` (its pattern allows what `std::net` parses, up to 40
/// characters).
fn is_ocsf_ip(s: &str) -> bool {
    s.len() <= 40 && s.parse::<std::net::IpAddr>().is_ok()
}

/// Whether OCSF's `email_t` pattern accepts `s`:
/// `^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$`.
fn is_ocsf_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+,-./=?^_`{|}~".contains(&b));
    let Some((label, rest)) = domain.split_once('.') else {
        return false;
    };
    local_ok
        && !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// An entry that is not a JSON object: an event of the fallback class that carries it whole.
fn not_an_object(raw: &[u8], version: OcsfVersion, out: &mut Vec<u8>) {
    let class = table::class(FALLBACK.class_uid).unwrap_or(&table::CLASSES[0]);
    let start = out.len();
    out.extend_from_slice(table::header(class, &FALLBACK, None).as_bytes());
    let mut event = ObjW::continuing(start);
    event.int(out, "time", now_millis());
    event.obj(out, "metadata", |out, m| {
        m.raw(out, "product", PRODUCT_JSON);
        m.raw(out, "profiles", CLOUD_JSON);
        m.text(out, "version", version.as_str());
    });
    event.raw(out, "cloud", r#"{"provider":"Slack"}"#);
    event.raw(out, "api", r#"{"operation":"Unknown"}"#);
    event.key(out, "actor");
    out.extend_from_slice(b"{\"user\":");
    out.extend_from_slice(UNKNOWN_TYPED_JSON.as_bytes());
    out.push(b'}');
    event.raw(out, "src_endpoint", UNKNOWN_TYPED_JSON);
    let text = String::from_utf8_lossy(raw);
    event.key(out, "unmapped");
    out.extend_from_slice(b"{\"entry\":");
    match serde_json::from_str::<&serde_json::value::RawValue>(&text) {
        Ok(json) => out.extend_from_slice(json.get().as_bytes()),
        Err(_) => escaped(out, &text),
    }
    out.push(b'}');
    event.key(out, "raw_data");
    escaped(out, &text);
    event.close(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_ips_follow_ocsf_patterns() {
        for ok in ["ada@example.com", "a.b+c@x-y.example.org", "o'neil@a.b"] {
            assert!(is_ocsf_email(ok), "{ok}");
        }
        for bad in [
            "",
            "ada",
            "ada@localhost",
            "@example.com",
            "ada@.com",
            "ad a@x.y",
        ] {
            assert!(!is_ocsf_email(bad), "{bad}");
        }
        for ok in ["203.0.113.42", "2001:db8::42", "::1"] {
            assert!(is_ocsf_ip(ok), "{ok}");
        }
        for bad in ["", "203.0.113", "not an ip", "203.0.113.042"] {
            assert!(!is_ocsf_ip(bad), "{bad}");
        }
    }

    #[test]
    fn account_types_are_normalised() {
        assert_eq!(account_type_id("primary_owner"), 2);
        assert_eq!(account_type_id("Admin"), 2);
        assert_eq!(account_type_id("Multi-Channel Guest"), 1);
        assert_eq!(account_type_id("user"), 1);
        assert_eq!(account_type_id("bot"), 99);
    }

    #[test]
    fn times_become_milliseconds() {
        let ms = |s: &str| {
            let json = format!(r#"{{"d":{s}}}"#);
            let mut tape = Tape::default();
            let (doc, root) = Doc::scan(&json, &mut tape)?;
            millis(&doc, doc.get(root, "d")?)
        };
        assert_eq!(ms("1767225600"), Some(1_767_225_600_000));
        assert_eq!(ms("1767225530.0"), Some(1_767_225_530_000));
        assert_eq!(ms("1767225530.5"), Some(1_767_225_530_500));
        assert_eq!(ms("\"1767225600\""), Some(1_767_225_600_000));
        assert_eq!(ms("1e400"), None);
    }
}
