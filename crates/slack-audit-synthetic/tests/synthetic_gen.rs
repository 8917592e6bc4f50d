//! The synthetic audit-event generator, through the crate's public API only: determinism,
//! believability of a day of traffic, and conformance of every entry to the record schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use serde_json::Value;
use slack_audit_model::entry::{AuditEntry, record_schema};
use slack_audit_synthetic::{DEFAULT_EVENTS_PER_HOUR, SyntheticEvent, SyntheticOrg};

/// The action list the crate bundles, read independently of the generator.
const ACTIONS_JSON: &str = include_str!("../../slack-audit-model/data/slack-audit-actions.json");

/// Wednesday 2026-08-05 00:00:00 UTC.
const WEDNESDAY: i64 = 1_785_888_000;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// Local midnight of the Wednesday, as a unix second.
fn local_midnight(org: &SyntheticOrg) -> i64 {
    WEDNESDAY - org.utc_offset_seconds()
}

/// Events of `seconds`, checking on the way that each lands in the second it was asked for.
fn generate(org: &SyntheticOrg, seconds: std::ops::Range<i64>, rate: f64) -> Vec<SyntheticEvent> {
    let mut all = Vec::new();
    let mut one = Vec::new();
    for second in seconds {
        one.clear();
        org.events_in_second(second, rate, &mut one);
        for event in &one {
            assert_eq!(event.date_create, second, "{}", event.json);
        }
        all.append(&mut one);
    }
    all
}

struct Sample {
    events: Vec<SyntheticEvent>,
    entries: Vec<Value>,
}

impl Sample {
    fn new(events: Vec<SyntheticEvent>) -> Self {
        let entries = events
            .iter()
            .map(|event| serde_json::from_str(&event.json).unwrap())
            .collect();
        Self { events, entries }
    }
}

/// One local weekday of seed 42 at the default rate.
fn default_day() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let org = SyntheticOrg::new(42);
        let start = local_midnight(&org);
        Sample::new(generate(&org, start..start + DAY, DEFAULT_EVENTS_PER_HOUR))
    })
}

/// A busy hour (10:00 local) at a high rate, to reach the rare actions and shapes.
fn busy_hour() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let org = SyntheticOrg::new(7);
        let start = local_midnight(&org) + 10 * HOUR;
        Sample::new(generate(&org, start..start + HOUR, 15_000.0))
    })
}

fn both_samples() -> impl Iterator<Item = &'static Value> {
    default_day().entries.iter().chain(&busy_hour().entries)
}

fn catalog() -> BTreeMap<String, Vec<String>> {
    let file: Value = serde_json::from_str(ACTIONS_JSON).unwrap();
    serde_json::from_value(file["actions"].clone()).unwrap()
}

#[test]
fn same_seed_gives_the_same_bytes() {
    let first = SyntheticOrg::new(42);
    let second = SyntheticOrg::new(42);
    let start = local_midnight(&first) + 9 * HOUR;
    let a = generate(&first, start..start + HOUR, 5_000.0);
    let b = generate(&second, start..start + HOUR, 5_000.0);
    assert!(a.len() > 1_000, "{}", a.len());
    assert_eq!(a, b);
}

#[test]
fn any_second_can_be_generated_on_its_own() {
    let org = SyntheticOrg::new(42);
    let start = local_midnight(&org) + 11 * HOUR;
    let mut range = Vec::new();
    org.events_in_range(start, start + 599, 5_000.0, &mut range);
    let busiest = range
        .iter()
        .map(|event| event.date_create)
        .max_by_key(|&second| range.iter().filter(|e| e.date_create == second).count())
        .unwrap();
    let mut alone = Vec::new();
    org.events_in_second(busiest, 5_000.0, &mut alone);
    let from_range: Vec<&SyntheticEvent> = range
        .iter()
        .filter(|event| event.date_create == busiest)
        .collect();
    assert_eq!(alone.iter().collect::<Vec<_>>(), from_range);
}

#[test]
fn raising_the_rate_only_adds_events() {
    let org = SyntheticOrg::new(9);
    let start = local_midnight(&org) + 10 * HOUR;
    for second in start..start + 600 {
        let mut low = Vec::new();
        let mut high = Vec::new();
        org.events_in_second(second, 1_000.0, &mut low);
        org.events_in_second(second, 10_000.0, &mut high);
        assert!(high.len() >= low.len());
        assert_eq!(low[..], high[..low.len()]);
    }
}

#[test]
fn different_seeds_give_different_organizations_and_events() {
    let one = SyntheticOrg::new(1);
    let two = SyntheticOrg::new(2);
    assert_ne!(one.enterprise_id(), two.enterprise_id());
    let start = WEDNESDAY + 14 * HOUR;
    let a = generate(&one, start..start + HOUR, 5_000.0);
    let b = generate(&two, start..start + HOUR, 5_000.0);
    let ids_a: HashSet<&str> = a.iter().map(|event| event.id.as_str()).collect();
    assert!(b.iter().all(|event| !ids_a.contains(event.id.as_str())));
    assert_ne!(a, b);
}

#[test]
fn a_weekday_looks_like_a_busy_organization() {
    let sample = default_day();
    let count = sample.entries.len();
    assert!(
        (5_000..15_000).contains(&count),
        "{count} events in a weekday"
    );

    let actions: BTreeSet<&str> = sample
        .entries
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.len() >= 40,
        "{} distinct actions: {actions:?}",
        actions.len()
    );

    let actors: HashSet<&str> = sample
        .entries
        .iter()
        .map(|entry| entry["actor"]["user"]["id"].as_str().unwrap())
        .collect();
    assert!(actors.len() >= 30, "{} distinct actors", actors.len());

    let entity_types: BTreeSet<&str> = sample
        .entries
        .iter()
        .map(|entry| entry["entity"]["type"].as_str().unwrap())
        .collect();
    assert!(entity_types.len() >= 5, "{entity_types:?}");

    let locations: BTreeSet<&str> = sample
        .entries
        .iter()
        .map(|entry| entry["context"]["location"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(locations, BTreeSet::from(["enterprise", "workspace"]));

    // The most common actions are the everyday ones.
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for entry in &sample.entries {
        *counts.entry(entry["action"].as_str().unwrap()).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    let top: Vec<&str> = ranked.iter().take(3).map(|(action, _)| *action).collect();
    assert!(
        top.contains(&"user_login") && top.contains(&"file_downloaded"),
        "{top:?}"
    );
}

#[test]
fn working_hours_are_busy_nights_and_weekends_quiet() {
    let org = SyntheticOrg::new(42);
    let midnight = local_midnight(&org);
    let count_between = |from: i64, to: i64| {
        generate(
            &org,
            midnight + from..midnight + to,
            DEFAULT_EVENTS_PER_HOUR,
        )
        .len()
    };
    let morning = count_between(10 * HOUR, 12 * HOUR);
    let night = count_between(2 * HOUR, 4 * HOUR);
    assert!(
        morning > 8 * night.max(1),
        "morning {morning}, night {night}"
    );
    // Saturday, same hours.
    let saturday = count_between(3 * DAY + 10 * HOUR, 3 * DAY + 12 * HOUR);
    assert!(
        morning > 3 * saturday.max(1),
        "weekday {morning}, saturday {saturday}"
    );
    assert!(org.activity_factor(midnight + 10 * HOUR) > 2.0);
    assert!(org.activity_factor(midnight + 3 * HOUR) < 0.2);
}

#[test]
fn same_second_ties_happen() {
    let sample = default_day();
    let mut per_second: HashMap<i64, usize> = HashMap::new();
    for event in &sample.events {
        *per_second.entry(event.date_create).or_default() += 1;
    }
    let ties = per_second.values().filter(|&&count| count > 1).count();
    assert!(ties >= 20, "{ties} seconds with several events");
}

#[test]
fn ids_are_unique_uuid_v4_strings() {
    let mut seen = HashSet::new();
    for (event, entry) in default_day()
        .events
        .iter()
        .zip(&default_day().entries)
        .chain(busy_hour().events.iter().zip(&busy_hour().entries))
    {
        let id = event.id.as_str();
        assert_eq!(entry["id"], id);
        assert_eq!(entry["date_create"], event.date_create);
        let bytes = id.as_bytes();
        assert_eq!(bytes.len(), 36, "{id}");
        assert!(
            [8, 13, 18, 23].iter().all(|&dash| bytes[dash] == b'-'),
            "{id}"
        );
        assert_eq!(bytes[14], b'4', "not version 4: {id}");
        assert!(b"89ab".contains(&bytes[19]), "not RFC 4122 variant: {id}");
        assert!(
            id.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        );
        assert!(seen.insert(id.to_owned()), "duplicate id {id}");
    }
}

#[test]
fn every_action_is_a_listed_slack_action() {
    let listed: HashSet<String> = catalog().into_values().flatten().collect();
    assert_eq!(listed.len(), 762);
    for entry in both_samples() {
        let action = entry["action"].as_str().unwrap();
        assert!(listed.contains(action), "unknown action {action}");
    }
    let org = SyntheticOrg::new(3);
    for action in org.action_names() {
        assert!(listed.contains(action), "unknown action {action}");
    }
}

#[test]
fn entity_type_matches_the_action() {
    let expected_for_category = |category: &str| -> Option<&'static [&'static str]> {
        Some(match category {
            "user" | "anomaly" => &["user"],
            "file" => &["file"],
            "channel" => &["channel"],
            "app" => &["app"],
            "workflow_builder" => &["workflow"],
            "workflow_v2" => &["workflow_v2", "external_auth_oauth2_token"],
            "canvas" => &["canvas"],
            "list" => &["list"],
            "huddle" => &["huddle"],
            "subteam" => &["usergroup"],
            "role" => &["role"],
            "template" => &["template"],
            "function" => &["function"],
            "barrier" => &["barrier"],
            "legal_hold" => &["legal_hold_policy"],
            "account_type_role" => &["account_type_role"],
            "message" => &["message"],
            "workspace_or_org" => &["workspace", "enterprise"],
            _ => return None,
        })
    };
    let categories = catalog();
    for entry in both_samples() {
        let action = entry["action"].as_str().unwrap();
        let entity_type = entry["entity"]["type"].as_str().unwrap();
        let mut allowed = HashSet::new();
        let mut constrained = false;
        for (category, names) in &categories {
            if names.iter().any(|name| name == action)
                && let Some(types) = expected_for_category(category)
            {
                constrained = true;
                allowed.extend(types.iter().copied());
            }
        }
        if constrained {
            assert!(allowed.contains(entity_type), "{action} on a {entity_type}");
        }
        if action.starts_with("pref.") {
            assert!(
                ["workspace", "enterprise"].contains(&entity_type),
                "{action}"
            );
            assert_eq!(
                entry["context"]["location"]["type"],
                entry["entity"]["type"]
            );
        }
    }
}

#[test]
fn entity_and_actor_types_name_their_objects() {
    for entry in both_samples() {
        for key in ["entity", "actor"] {
            let object = &entry[key];
            let kind = object["type"].as_str().unwrap();
            assert!(object[kind].is_object(), "{key}.{kind} missing: {entry}");
        }
        let location = &entry["context"]["location"];
        assert!(["workspace", "enterprise"].contains(&location["type"].as_str().unwrap()));
    }
}

#[test]
fn every_event_validates_against_the_record_schema() {
    let schema = record_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for entry in both_samples() {
        let errors: Vec<String> = validator
            .iter_errors(entry)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:?} in {entry}");
    }
    // The schema stays open: an entry with unknown fields and a new entity type validates.
    let mut future = default_day().entries[0].clone();
    future["brand_new_field"] = Value::from(1);
    future["entity"] = serde_json::json!({"type": "robot", "robot": {"id": "X0"}});
    assert!(validator.is_valid(&future));
    // But a known entity type without its object does not.
    let mut broken = default_day().entries[0].clone();
    broken["entity"] = serde_json::json!({"type": "file"});
    assert!(!validator.is_valid(&broken));
}

#[test]
fn every_event_parses_as_an_audit_entry() {
    for event in &busy_hour().events {
        let entry: AuditEntry = serde_json::from_str(&event.json).unwrap();
        assert_eq!(entry.id, event.id);
        assert_eq!(serde_json::to_string(&entry).unwrap(), event.json);
    }
}

#[test]
fn a_session_keeps_its_user_agent_and_address() {
    let mut sessions: HashMap<(String, String), (String, String)> = HashMap::new();
    let mut checked = 0;
    for entry in both_samples() {
        let context = &entry["context"];
        let session = &context["session_id"];
        if session.is_null() {
            continue;
        }
        let key = (
            entry["actor"]["user"]["id"].as_str().unwrap().to_owned(),
            session.to_string(),
        );
        let client = (
            context["ua"].as_str().unwrap().to_owned(),
            context["ip_address"].as_str().unwrap().to_owned(),
        );
        match sessions.get(&key) {
            Some(known) => {
                assert_eq!(known, &client, "session {key:?} changed client");
                checked += 1;
            }
            None => {
                sessions.insert(key, client);
            }
        }
    }
    assert!(checked > 1_000, "only {checked} repeated sessions");
    // Sessions belong to one user each.
    let mut owners: HashMap<&str, &str> = HashMap::new();
    for (user, session) in sessions.keys() {
        assert_eq!(*owners.entry(session).or_insert(user), user.as_str());
    }
}

#[test]
fn entries_show_the_shapes_real_ones_have() {
    let entries: Vec<&Value> = both_samples().collect();
    let has = |predicate: &dyn Fn(&Value) -> bool| entries.iter().any(|entry| predicate(entry));
    assert!(has(&|e| e["context"]["session_id"].is_string()));
    assert!(has(&|e| e["context"]["session_id"].is_u64()));
    assert!(has(&|e| e["context"]["session_id"].is_null()));
    assert!(has(
        &|e| e["context"]["ua"] == "" && e["context"]["ip_address"] == ""
    ));
    assert!(has(&|e| e["context"]["ip_address"]
        .as_str()
        .unwrap()
        .contains(':')));
    assert!(has(&|e| e["context"]["app"]["id"].is_string()));
    assert!(has(&|e| e["actor"]["user"]["account_type"].is_string()));
    assert!(has(&|e| e["actor"]["user"]["id"] == "USLACKUSER"));
    assert!(has(&|e| e["details"]["new_value"].is_string()));
    assert!(has(&|e| e["details"]["new_value"].is_object()));
    assert!(has(&|e| e["details"]["new_value"].is_array()));
    assert!(has(&|e| e["details"].get("previous_value").is_some()));
    assert!(has(&|e| e["entity"]["channel"]["is_shared"] == true));
    assert!(has(&|e| e["entity"]["channel"]["is_org_shared"] == true));
    assert!(has(&|e| e["entity"]["app"]["bot_scopes"].is_array()));
    for anomaly in entries.iter().filter(|entry| entry["action"] == "anomaly") {
        let reason = anomaly["details"]["reason"].as_array().unwrap();
        assert!(!reason.is_empty());
        assert!(
            anomaly["details"]["action_timestamp"].as_i64().unwrap() / 1_000_000
                == anomaly["date_create"]
        );
    }
    assert!(
        has(&|e| e["action"] == "anomaly"),
        "no anomaly in the busy hour"
    );
}

#[test]
fn people_look_like_one_company() {
    let org = SyntheticOrg::new(42);
    let domain = format!("@{}", org.email_domain());
    assert!(org.enterprise_id().starts_with("E0"));
    assert!((4..=8).contains(&org.workspace_count()));
    assert!((150..=410).contains(&org.user_count()));
    for entry in &default_day().entries {
        let user = &entry["actor"]["user"];
        let id = user["id"].as_str().unwrap();
        if id.starts_with("USLACK") {
            continue;
        }
        assert!((9..=11).contains(&id.len()), "{id}");
        assert!(id.starts_with("W0") || id.starts_with("U0"), "{id}");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
            "{id}"
        );
        let Some(email) = user["email"].as_str() else {
            continue; // Bot users have no email address.
        };
        if user["account_type"].is_string() {
            assert!(
                !email.ends_with(&domain),
                "guest with a company address: {email}"
            );
        } else {
            assert!(email.ends_with(&domain), "{email} is not on {domain}");
        }
    }
}
