//! One Slack entry to one OCSF 1.8.0 event.
//!
//! The row of the entry's action (see [`super::table`]) gives the class, activity, status and
//! severity; the class's [`Shape`] says where the entry's entity goes. The rest is the same for
//! every class:
//!
//! | OCSF | Slack |
//! |---|---|
//! | `time` | `date_create` × 1000 (the wall clock when Slack sent no usable time) |
//! | `metadata.uid`, `metadata.original_event_uid` | `id` |
//! | `metadata.event_code` | `action` (also `activity_name` when the activity is 99) |
//! | `metadata.original_time` | `date_create` as sent |
//! | `metadata.tenant_uid` | the enterprise id (`context.location` of type `enterprise`, else the actor's `team` when it is an enterprise id) |
//! | `actor.user` | `actor.user`: `id` → `uid`, `name`, `email` → `email_addr`, `account_type` → `type` (and `type_id`) |
//! | `actor.session.uid` | `context.session_id` (a number becomes its decimal text) |
//! | `actor.app_uid`, `actor.app_name` | `context.app.id`, `context.app.name` |
//! | `src_endpoint.ip` | `context.ip_address` |
//! | `http_request.user_agent` | `context.ua` |
//!
//! A value is *taken* only when the event carries it whole and where OCSF's type allows it
//! (an empty string, an address that is not an IP, an email that OCSF's pattern refuses stay
//! behind); everything not taken goes under `unmapped` at its Slack path, byte for byte. Where
//! a class requires an object Slack did not provide (a file event without an IP address still
//! needs `src_endpoint`), the event says `"name": "unknown"` rather than invent a value.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::value::RawValue;

use super::reader::{Fields, is_number, text};
use super::table::{self, Class, FALLBACK, Row, Shape, Table};
use super::writer::{Obj, Out};

/// The OCSF version the events follow.
pub const OCSF_VERSION: &str = "1.8.0";
/// `metadata.product.name`.
pub const PRODUCT: &str = "Slack Audit Logs";
/// `metadata.product.vendor_name`.
pub const VENDOR: &str = "Slack";

/// What converting one entry found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapped {
    /// The action has a row in the table.
    Known,
    /// The action is not in the table (or the entry has none): the fallback class was used.
    Unknown,
}

/// Appends the OCSF event of the entry `raw` to `out` (compact JSON, no newline).
pub fn write_event(
    table: &Table,
    raw: &[u8],
    raw_data: bool,
    out: &mut Vec<u8>,
) -> Result<Mapped, serde_json::Error> {
    let Some(mut entry) = Fields::parse(raw) else {
        return not_an_object(raw, out);
    };
    let action = entry.str("action");
    let (row, mapped) = match action.as_deref().and_then(|a| table.get(a)) {
        Some(row) => (*row, Mapped::Known),
        None => (FALLBACK, Mapped::Unknown),
    };
    let class = table::class(row.class_uid).unwrap_or(&table::CLASSES[4]);
    let mut event = classification(class, &row, action.clone());

    let tenant = tenant_of(&entry);
    let date = entry.take_if("date_create", |raw| {
        is_number(raw) || text(raw).is_some_and(|t| t.parse::<f64>().is_ok())
    });
    event.put(
        "time",
        Out::Int(date.and_then(millis).unwrap_or_else(now_millis)),
    );

    let mut metadata = Obj::with_capacity(8);
    let id = entry.take_text("id");
    metadata.put_some("uid", id.map(Out::Raw));
    metadata.put_some("original_event_uid", id.map(Out::Raw));
    metadata.put_some("event_code", entry.take_text("action").map(Out::Raw));
    metadata.put_some(
        "original_time",
        date.map(|raw| match text(raw) {
            Some(t) => Out::Str(t),
            None => Out::Str(Cow::Borrowed(raw.get())),
        }),
    );
    metadata.put(
        "product",
        Out::Obj({
            let mut product = Obj::with_capacity(2);
            product.put("name", Out::text(PRODUCT));
            product.put("vendor_name", Out::text(VENDOR));
            product
        }),
    );
    metadata.put_some("tenant_uid", tenant.map(Out::Str));
    metadata.put("version", Out::text(OCSF_VERSION));
    event.put("metadata", Out::Obj(metadata));

    // Who and from where.
    let mut actor = Obj::with_capacity(4);
    let mut actor_user: Option<Obj<'_>> = None;
    if let Some(user) = entry.open("actor").and_then(|a| a.open("user")) {
        actor_user = user_object(user);
    }
    let slots = Slots::of(class.shape);
    let (mut ip, mut ua) = (None, None);
    if let Some(context) = entry.open("context") {
        if let Some(session) = context.take_if("session_id", |raw| {
            (is_number(raw) && !raw.get().contains(['.', 'e', 'E', '-']))
                || text(raw).is_some_and(|t| !t.is_empty())
        }) {
            let uid = text(session).unwrap_or(Cow::Borrowed(session.get()));
            let mut s = Obj::with_capacity(1);
            s.put("uid", Out::Str(uid));
            actor.put("session", Out::Obj(s));
        }
        if let Some(app) = context.open("app") {
            actor.put_some("app_name", app.take_text("name").map(Out::Raw));
            actor.put_some("app_uid", app.take_text("id").map(Out::Raw));
        }
        ip = context.take_text_if("ip_address", is_ocsf_ip);
        if slots.http_request {
            ua = context.take_text("ua");
        }
    }
    if let Some(user) = &actor_user {
        actor.put("user", Out::Obj(user.clone()));
    }
    let mut src_endpoint = Obj::with_capacity(1);
    src_endpoint.put_some("ip", ip.map(Out::Raw));
    let mut http_request = Obj::with_capacity(1);
    http_request.put_some("user_agent", ua.map(Out::Raw));

    // What: the entity, in the class's own object.
    let target = Target::take(&mut entry, class.shape);
    match class.shape {
        Shape::Authentication | Shape::AccountChange => {
            let user = target
                .user
                .or_else(|| actor_user.clone())
                .unwrap_or_else(unknown);
            event.put("user", Out::Obj(user));
            if class.shape == Shape::Authentication {
                let mut service = Obj::with_capacity(1);
                service.put("name", Out::text(VENDOR));
                event.put("service", Out::Obj(service));
            }
        }
        Shape::GroupManagement => {
            event.put("group", Out::Obj(target.object.unwrap_or_else(unknown)));
            event.put_some("user", target.user.map(Out::Obj));
        }
        Shape::EntityManagement => {
            event.put("entity", Out::Obj(target.object.unwrap_or_else(unknown)));
        }
        Shape::FileHosting => {
            event.put("file", Out::Obj(target.object.unwrap_or_else(unknown_file)));
        }
        Shape::ApiActivity => {
            let mut api = Obj::with_capacity(2);
            api.put(
                "operation",
                action
                    .clone()
                    .map_or_else(|| Out::text("unknown"), Out::Str),
            );
            let mut service = Obj::with_capacity(1);
            service.put("name", Out::text(VENDOR));
            api.put("service", Out::Obj(service));
            event.put("api", Out::Obj(api));
            event.put_some(
                "resources",
                target.object.map(|o| Out::Arr(vec![Out::Obj(o)])),
            );
        }
        Shape::DetectionFinding | Shape::DataSecurityFinding => {
            let mut info = Obj::with_capacity(4);
            info.put("uid", id.map_or_else(|| Out::text("unknown"), Out::Raw));
            info.put_some("title", action.clone().map(Out::Str));
            let reasons = entry.open("details").and_then(|d| {
                d.take_if("reason", |raw| {
                    serde_json::from_str::<Vec<&str>>(raw.get()).is_ok_and(|v| !v.is_empty())
                })
            });
            info.put_some("types", reasons.map(Out::Raw));
            event.put("finding_info", Out::Obj(info));
            event.put_some(
                "resources",
                target.object.map(|o| Out::Arr(vec![Out::Obj(o)])),
            );
        }
    }

    if slots.actor_in_evidence {
        let mut evidence = Obj::with_capacity(3);
        evidence.put_obj("actor", actor);
        evidence.put_obj("src_endpoint", src_endpoint);
        evidence.put_obj("http_request", http_request);
        if !evidence.is_empty() {
            event.put("evidences", Out::Arr(vec![Out::Obj(evidence)]));
        }
    } else {
        if actor.is_empty() && slots.required {
            actor.put("user", Out::Obj(unknown()));
        }
        event.put_obj("actor", actor);
        if src_endpoint.is_empty() && slots.required {
            src_endpoint.put("name", Out::text("unknown"));
        }
        event.put_obj("src_endpoint", src_endpoint);
        if slots.http_request {
            event.put_obj("http_request", http_request);
        }
    }

    if let Some(rest) = entry.rest() {
        event.put("unmapped", Out::Obj(rest));
    }
    if raw_data {
        event.put("raw_data", Out::Str(String::from_utf8_lossy(raw)));
    }
    serde_json::to_writer(&mut *out, &Out::Obj(event))?;
    Ok(mapped)
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
    fn of(shape: Shape) -> Slots {
        match shape {
            Shape::FileHosting | Shape::ApiActivity => Slots {
                http_request: true,
                required: true,
                actor_in_evidence: false,
            },
            Shape::DetectionFinding => Slots {
                http_request: true,
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
            | Shape::GroupManagement
            | Shape::EntityManagement => Slots {
                http_request: true,
                required: false,
                actor_in_evidence: false,
            },
        }
    }
}

/// The classification attributes, first in every event.
fn classification<'a>(class: &Class, row: &Row, action: Option<Cow<'a, str>>) -> Obj<'a> {
    let mut event = Obj::with_capacity(24);
    let activity = class.activity(row.activity_id).unwrap_or("Other");
    let activity_name = match (row.activity_id, action) {
        (99, Some(action)) => action,
        _ => Cow::Borrowed(activity),
    };
    event.put("class_uid", Out::Int(i64::from(class.uid)));
    event.put("class_name", Out::text(class.caption));
    event.put("category_uid", Out::Int(i64::from(class.category_uid)));
    event.put("category_name", Out::text(class.category));
    event.put("activity_id", Out::Int(i64::from(row.activity_id)));
    event.put(
        "type_uid",
        Out::Int(i64::from(class.uid) * 100 + i64::from(row.activity_id)),
    );
    event.put(
        "type_name",
        Out::Str(Cow::Owned(format!("{}: {activity_name}", class.caption))),
    );
    event.put("activity_name", Out::Str(activity_name));
    event.put("severity_id", Out::Int(i64::from(row.severity_id)));
    event.put("severity", Out::text(table::severity(row.severity_id)));
    event.put("status_id", Out::Int(i64::from(row.status_id)));
    event.put("status", Out::text(table::status(row.status_id)));
    event
}

/// Slack's entity, in the object the class wants it as.
struct Target<'a> {
    /// The class's object (`group`, `entity`, `file`, a resource), when the entry has an entity.
    object: Option<Obj<'a>>,
    /// The entity as a user, for classes about a user.
    user: Option<Obj<'a>>,
}

impl<'a> Target<'a> {
    fn take(entry: &mut Fields<'a>, shape: Shape) -> Target<'a> {
        let mut target = Target {
            object: None,
            user: None,
        };
        let Some(entity) = entry.open("entity") else {
            return target;
        };
        let Some(kind) = entity.str("type") else {
            return target;
        };
        let is_user = kind == "user";
        match shape {
            Shape::Authentication | Shape::AccountChange => {
                if is_user && let Some(user) = entity.open("user") {
                    target.user = user_object(user);
                }
                return target;
            }
            Shape::GroupManagement if is_user => {
                if let Some(user) = entity.open("user") {
                    target.user = user_object(user);
                }
                return target;
            }
            _ => {}
        }
        let type_raw = entity.take_text("type");
        let Some(fields) = entity.open(&kind) else {
            // A type without its object: the type alone names the entity.
            target.object = type_raw.map(|t| {
                let mut o = Obj::with_capacity(1);
                o.put(type_key(shape), Out::Raw(t));
                if shape == Shape::FileHosting {
                    o.put("name", Out::text("unknown"));
                    o.put("type_id", Out::Int(0));
                }
                o
            });
            return target;
        };
        target.object = Some(match shape {
            Shape::EntityManagement => managed_entity(fields, &kind, type_raw),
            Shape::FileHosting => file(fields, &kind, type_raw),
            _ => {
                // group, resource_details: uid, name, type.
                let mut o = Obj::with_capacity(3);
                o.put_some("name", fields.take_text("name").map(Out::Raw));
                o.put_some("uid", fields.take_text("id").map(Out::Raw));
                o.put_some("type", type_raw.map(Out::Raw));
                if !o.has("name") && !o.has("uid") {
                    o.put("name", Out::text("unknown"));
                }
                o
            }
        });
        target
    }
}

/// The key a bare entity type goes to.
fn type_key(shape: Shape) -> &'static str {
    match shape {
        Shape::EntityManagement => "name",
        Shape::FileHosting => "type",
        _ => "name",
    }
}

/// A managed entity: `uid`, `name`, `type` (Slack's), `type_id`, and the typed object OCSF
/// asks for when the type is one it knows (a user, an organization, a group, a policy).
fn managed_entity<'a>(
    fields: &mut Fields<'a>,
    kind: &str,
    type_raw: Option<&'a RawValue>,
) -> Obj<'a> {
    let mut entity = Obj::with_capacity(6);
    let (type_id, nested) = match kind {
        "user" => (2, "user"),
        "usergroup" => (3, "group"),
        "enterprise" | "workspace" => (4, "org"),
        "barrier" | "legal_hold_policy" => (5, "policy"),
        _ => (99, ""),
    };
    if nested == "user" {
        let user = user_object(fields);
        if let Some(user) = user {
            entity.put_some("name", user.get("name").cloned());
            entity.put_some("uid", user.get("uid").cloned());
            entity.put("user", Out::Obj(user));
        }
    } else {
        let name = fields.take_text("name");
        let uid = fields.take_text("id");
        entity.put_some("name", name.map(Out::Raw));
        entity.put_some("uid", uid.map(Out::Raw));
        if !nested.is_empty() && (name.is_some() || uid.is_some()) {
            let mut o = Obj::with_capacity(2);
            o.put_some("name", name.map(Out::Raw));
            o.put_some("uid", uid.map(Out::Raw));
            entity.put(nested, Out::Obj(o));
        }
    }
    entity.put_some("type", type_raw.map(Out::Raw));
    entity.put("type_id", Out::Int(type_id));
    if !entity.has("name") && !entity.has("uid") && !entity.has("user") {
        entity.put("name", Out::text("unknown"));
    }
    entity
}

/// A file: Slack's files, canvases and lists are all files (ids `F…`).
fn file<'a>(fields: &mut Fields<'a>, kind: &str, type_raw: Option<&'a RawValue>) -> Obj<'a> {
    let mut file = Obj::with_capacity(5);
    let name = fields
        .take_text("name")
        .or_else(|| fields.take_text("title"));
    let uid = fields.take_text("id");
    file.put(
        "name",
        name.or(uid).map_or_else(|| Out::text("unknown"), Out::Raw),
    );
    file.put_some("uid", uid.map(Out::Raw));
    file.put_some("type", type_raw.map(Out::Raw));
    let regular = matches!(kind, "file" | "canvas" | "list");
    file.put("type_id", Out::Int(if regular { 1 } else { 0 }));
    file
}

/// A `user` object from Slack's `{id, name, email, account_type, …}`, or `None` (taking
/// nothing) when it has neither a string `id` nor a `name`.
fn user_object<'a>(user: &mut Fields<'a>) -> Option<Obj<'a>> {
    let has_id = user.str("id").is_some_and(|s| !s.is_empty());
    let has_name = user.str("name").is_some_and(|s| !s.is_empty());
    if !has_id && !has_name {
        return None;
    }
    let mut o = Obj::with_capacity(5);
    let id = user.take_text("id");
    o.put_some("uid", id.map(Out::Raw));
    o.put_some("name", user.take_text("name").map(Out::Raw));
    o.put_some(
        "email_addr",
        user.take_text_if("email", is_ocsf_email).map(Out::Raw),
    );
    let account_type = user.take_text("account_type");
    let type_id = match account_type.and_then(text) {
        Some(t) => Some(account_type_id(&t)),
        None => id
            .and_then(text)
            .filter(|id| id.starts_with("USLACK"))
            .map(|_| 3),
    };
    o.put_some("type", account_type.map(Out::Raw));
    o.put_some("type_id", type_id.map(Out::Int));
    Some(o)
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

/// `{"name": "unknown"}`: a required object Slack's entry does not provide.
fn unknown<'a>() -> Obj<'a> {
    let mut o = Obj::with_capacity(1);
    o.put("name", Out::text("unknown"));
    o
}

fn unknown_file<'a>() -> Obj<'a> {
    let mut o = unknown();
    o.put("type_id", Out::Int(0));
    o
}

/// The enterprise id, read (not taken) from the entry.
fn tenant_of<'a>(entry: &Fields<'a>) -> Option<Cow<'a, str>> {
    let context = entry
        .raw("context")
        .and_then(|raw| Fields::parse(raw.get().as_bytes()));
    if let Some(location) = context
        .as_ref()
        .and_then(|c| c.raw("location"))
        .and_then(|raw| Fields::parse(raw.get().as_bytes()))
        && location.str("type").as_deref() == Some("enterprise")
        && let Some(id) = location.str("id")
    {
        return Some(id);
    }
    let actor = entry
        .raw("actor")
        .and_then(|raw| Fields::parse(raw.get().as_bytes()))?;
    let user = actor
        .raw("user")
        .and_then(|raw| Fields::parse(raw.get().as_bytes()))?;
    user.str("team").filter(|team| team.starts_with('E'))
}

/// `date_create` in milliseconds.
fn millis(raw: &RawValue) -> Option<i64> {
    let t = text(raw).unwrap_or(Cow::Borrowed(raw.get()));
    if let Ok(seconds) = t.parse::<i64>() {
        return seconds.checked_mul(1000);
    }
    let seconds: f64 = t.parse().ok()?;
    let ms = (seconds * 1000.0).round();
    (ms.is_finite() && ms.abs() < 9.0e15).then_some(ms as i64)
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
fn not_an_object(raw: &[u8], out: &mut Vec<u8>) -> Result<Mapped, serde_json::Error> {
    let class = table::class(FALLBACK.class_uid).unwrap_or(&table::CLASSES[4]);
    let mut event = classification(class, &FALLBACK, None);
    event.put("time", Out::Int(now_millis()));
    let mut metadata = Obj::with_capacity(2);
    let mut product = Obj::with_capacity(2);
    product.put("name", Out::text(PRODUCT));
    product.put("vendor_name", Out::text(VENDOR));
    metadata.put("product", Out::Obj(product));
    metadata.put("version", Out::text(OCSF_VERSION));
    event.put("metadata", Out::Obj(metadata));
    let mut api = Obj::with_capacity(1);
    api.put("operation", Out::text("unknown"));
    event.put("api", Out::Obj(api));
    let mut actor = Obj::with_capacity(1);
    actor.put("user", Out::Obj(unknown()));
    event.put("actor", Out::Obj(actor));
    event.put("src_endpoint", Out::Obj(unknown()));
    let text = String::from_utf8_lossy(raw);
    let parsed: Option<&RawValue> = serde_json::from_slice(raw).ok();
    let mut unmapped = Obj::with_capacity(1);
    unmapped.put(
        "entry",
        parsed.map_or_else(|| Out::Str(text.clone()), Out::Raw),
    );
    event.put("unmapped", Out::Obj(unmapped));
    event.put("raw_data", Out::Str(text));
    serde_json::to_writer(&mut *out, &Out::Obj(event))?;
    Ok(Mapped::Unknown)
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
        let raw = |s: &str| serde_json::from_str::<Box<RawValue>>(s).ok();
        let ms = |s: &str| raw(s).and_then(|r| millis(&r));
        assert_eq!(ms("1767225600"), Some(1_767_225_600_000));
        assert_eq!(ms("1767225530.0"), Some(1_767_225_530_000));
        assert_eq!(ms("1767225530.5"), Some(1_767_225_530_500));
        assert_eq!(ms("\"1767225600\""), Some(1_767_225_600_000));
        assert_eq!(ms("1e400"), None);
    }
}
