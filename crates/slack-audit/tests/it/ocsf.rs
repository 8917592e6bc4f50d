//! OCSF output, in each supported version: every event valid against the schema of its class
//! with exactly the profiles it declares (the committed JSON Schemas generated from the
//! official compiled OCSF schema of that version, admitting a profile's attributes only when
//! it is declared, as OCSF's validator does), declaring exactly the profiles it uses, every
//! catalogue action mapped, nothing of an entry lost.
//!
//! Inputs: a synthetic day (every entity type, hundreds of actions), every entry of the replay
//! fixtures, one entry per catalogue action, and a handful of hostile shapes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;
use serde_json::value::RawValue;
use slack_audit::ocsf::table::{CLASSES, FALLBACK, MAPPING_CSV, Table};
use slack_audit::ocsf::{Mapped, OcsfVersion, schema_file, to_ocsf, to_ocsf_in};
use slack_audit_model::ActionCatalog;
use slack_audit_synthetic::SyntheticOrg;

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Wednesday 2026-08-05 00:00:00 UTC.
const WEDNESDAY: i64 = 1_785_888_000;

/// A synthetic day (seed 42, 500 events an hour before the office rhythm) and a busy hour
/// of another organization at a high rate, for the rare actions and shapes.
fn synthetic_entries() -> &'static [String] {
    static ENTRIES: OnceLock<Vec<String>> = OnceLock::new();
    ENTRIES.get_or_init(|| {
        let mut out = Vec::new();
        let mut events = Vec::new();
        let day = SyntheticOrg::new(42);
        let start = WEDNESDAY - day.utc_offset_seconds();
        for second in start..start + 86_400 {
            day.events_in_second(second, 500.0, &mut events);
        }
        let busy = SyntheticOrg::new(7);
        let start = WEDNESDAY - busy.utc_offset_seconds() + 10 * 3600;
        for second in start..start + 3600 {
            busy.events_in_second(second, 15_000.0, &mut events);
        }
        out.extend(events.into_iter().map(|e| e.json));
        out
    })
}

/// Every entry of every page of the replay fixtures, as its raw bytes.
fn fixture_entries() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let dir = root().join("fixtures/slack-audit");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("pages").is_dir())
        .collect();
    cases.sort();
    for case in cases {
        let mut pages: Vec<PathBuf> = std::fs::read_dir(case.join("pages"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        pages.sort();
        for page in pages {
            let body = std::fs::read_to_string(&page).unwrap_or_default();
            #[derive(serde::Deserialize)]
            struct Body<'a> {
                #[serde(borrow)]
                entries: Vec<&'a RawValue>,
            }
            if let Ok(body) = serde_json::from_str::<Body<'_>>(&body) {
                for entry in body.entries {
                    out.push((page.display().to_string(), entry.get().to_owned()));
                }
            }
        }
    }
    out
}

/// One entry per catalogue action, its entity of the type the action's category implies.
fn catalogue_entries() -> Vec<String> {
    let entity = |category: &str| -> String {
        let (kind, object) = match category {
            "user" | "anomaly" => (
                "user",
                r#"{"id":"W0123ABCD","name":"ada","email":"ada@example.com","team":"E0AAAAAAA","account_type":"Admin"}"#,
            ),
            "channel" => (
                "channel",
                r#"{"id":"C0CCCCCCC","name":"general","privacy":"public","is_shared":false}"#,
            ),
            "file" => (
                "file",
                r#"{"id":"F0F","name":"a.pdf","filetype":"pdf","title":"A"}"#,
            ),
            "workspace_or_org" => (
                "enterprise",
                r#"{"id":"E0AAAAAAA","name":"Example","domain":"example"}"#,
            ),
            "subteam" => ("usergroup", r#"{"id":"S0G","name":"oncall"}"#),
            "legal_hold" => ("legal_hold_policy", r#"{"id":"L0H","name":"hold"}"#),
            "slack_first_crm" | "sales_elevate" | "salesforce_mcp_server" | "slack_cli" => {
                ("app", r#"{"id":"A0A","name":"app"}"#)
            }
            other => (other, r#"{"id":"X0X","name":"thing"}"#),
        };
        format!(r#"{{"type":"{kind}","{kind}":{object}}}"#)
    };
    let mut out = Vec::new();
    for (category, names) in ActionCatalog::bundled().categories() {
        for name in names {
            out.push(format!(
                r#"{{"id":"00000000-0000-4000-8000-{n:012}","date_create":1767225600,"action":"{name}","actor":{{"type":"user","user":{{"id":"W0456EFGH","name":"bob","email":"bob@example.com","team":"E0AAAAAAA"}}}},"entity":{entity},"context":{{"location":{{"type":"workspace","id":"T0BBBBBBB","name":"R","domain":"r"}},"ua":"Mozilla/5.0","ip_address":"203.0.113.9","session_id":"123"}},"details":{{"reason":["asn"]}}}}"#,
                n = out.len(),
                entity = entity(category),
            ));
        }
    }
    out
}

/// Shapes Slack never promised not to send.
fn hostile_entries() -> Vec<String> {
    [
        r#"{"id":"h1","date_create":1767225600,"action":"brand_new_action","actor":{"type":"user","user":{"id":"W1"}},"entity":{"type":"gizmo","gizmo":{"id":"G1","spin":[1,2]}},"context":{"ua":"","ip_address":"not-an-ip","session_id":null}}"#,
        r#"{"id":"h2","date_create":1767225600,"action":"file_shared","actor":{"type":"user","user":{"id":"W1","email":"nobody"}},"entity":{"type":"file"},"context":{"ip_address":""}}"#,
        r#"{"id":"h3","action":"user_login","entity":{"type":"channel","channel":{"id":"C1"}}}"#,
        r#"{"id":7,"date_create":"1767225600","action":"anomaly","details":{"reason":"not an array"}}"#,
        r#"{"date_create":1e400,"action":42,"actor":"Slack","entity":[],"context":{"app":{"id":5}}}"#,
        r#"{"id":"h6","date_create":1767225600,"action":"user_channel_join","entity":{"type":"user","user":{"name":"ada"}}}"#,
        r#"{"id":"h7","date_create":1767225600,"action":"role_updated","entity":{"type":"user","user":{"id":"W2","name":"","email":""}}}"#,
        r#"{}"#,
        r#"[1,2,3]"#,
        r#""just a string""#,
        r#"{"id":"h8","date_create":-1.5,"action":"public_channel_created","context":{"session_id":-3,"ip_address":"::ffff:203.0.113.9","ua":"x\ny"}}"#,
        // No actor: events of the classes that have theirs through `host` declare `cloud` alone.
        r#"{"id":"h9","date_create":1767225600,"action":"role_change_to_admin","entity":{"type":"user","user":{"id":"W2","name":"jo"}}}"#,
        r#"{"id":"h10","date_create":1767225600,"action":"native_dlp_rule_action_applied"}"#,
        r#"{"id":"h11","date_create":1767225600,"action":"manual_export_started","context":{"ua":"x"}}"#,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

pub(crate) fn all_inputs() -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = synthetic_entries()
        .iter()
        .map(|e| ("synthetic".to_owned(), e.clone()))
        .collect();
    all.extend(fixture_entries());
    all.extend(
        catalogue_entries()
            .into_iter()
            .map(|e| ("catalogue".to_owned(), e)),
    );
    all.extend(
        hostile_entries()
            .into_iter()
            .map(|e| ("hostile".to_owned(), e)),
    );
    all
}

fn schema_dir(version: OcsfVersion) -> PathBuf {
    root().join("schemas/ocsf").join(version.as_str())
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask ocsf-schemas`", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The committed schema of a class with a set of profiles, in a version, by file name
/// (compiled once each).
fn validator(version: OcsfVersion, file: &str) -> Option<&'static jsonschema::Validator> {
    type Cache = Mutex<HashMap<(OcsfVersion, String), Option<&'static jsonschema::Validator>>>;
    static VALIDATORS: OnceLock<Cache> = OnceLock::new();
    let cache = VALIDATORS.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap();
    *cache.entry((version, file.to_owned())).or_insert_with(|| {
        let path = schema_dir(version).join(file);
        path.exists().then(|| {
            let validator = jsonschema::draft202012::new(&read_json(&path)).unwrap();
            &*Box::leak(Box::new(validator))
        })
    })
}

/// For one class (by its schema name): each profile it admits and the top-level attributes
/// that profile adds.
type ProfileAttributes = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// [`ProfileAttributes`] of each class of a version (`profiles.json`, generated with the
/// schemas).
fn profile_attributes(version: OcsfVersion) -> &'static ProfileAttributes {
    static ALL: OnceLock<BTreeMap<OcsfVersion, ProfileAttributes>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        OcsfVersion::ALL
            .into_iter()
            .map(|v| {
                let json = read_json(&schema_dir(v).join("profiles.json"));
                (v, serde_json::from_value(json).unwrap())
            })
            .collect()
    });
    &all[&version]
}

/// What is wrong with `event` as an event of `version`: its version, its declared profiles
/// against the profiles whose attributes it carries, and its validity against the schema of
/// its class with exactly the profiles it declares. Empty when nothing is.
fn problems(version: OcsfVersion, event: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if event["metadata"]["version"] != version.as_str() {
        out.push(format!("metadata.version {}", event["metadata"]["version"]));
    }
    let uid = event["class_uid"].as_u64().unwrap_or(0);
    let Some(class) = CLASSES.iter().find(|c| u64::from(c.uid) == uid) else {
        out.push(format!("class {uid} is not one of CLASSES"));
        return out;
    };
    let Some(declared) = event["metadata"]["profiles"].as_array() else {
        out.push("no metadata.profiles".to_owned());
        return out;
    };
    let declared: Vec<&str> = declared.iter().filter_map(Value::as_str).collect();
    let admitted = &profile_attributes(version)[class.name];
    let used: Vec<&str> = admitted
        .iter()
        .filter(|(_, attrs)| attrs.iter().any(|a| event.get(a).is_some()))
        .map(|(profile, _)| profile.as_str())
        .collect();
    let mut sorted = declared.clone();
    sorted.sort_unstable();
    if sorted != used {
        out.push(format!(
            "declares the profiles {declared:?} but carries attributes of {used:?}"
        ));
    }
    let file = schema_file(class.name, &declared);
    let Some(validator) = validator(version, &file) else {
        out.push(format!("no schema {version}/{file}"));
        return out;
    };
    out.extend(
        validator
            .iter_errors(event)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .take(3),
    );
    out
}

#[test]
fn every_event_is_valid_against_its_class_schema() {
    let inputs = all_inputs();
    let synthetic = synthetic_entries();
    let actions: BTreeSet<String> = synthetic
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|v| v["action"].as_str().map(str::to_owned))
        .collect();
    let entity_types: BTreeSet<String> = synthetic
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|v| v["entity"]["type"].as_str().map(str::to_owned))
        .collect();
    assert!(
        actions.len() >= 300,
        "{} actions in the synthetic day ({} entries)",
        actions.len(),
        synthetic.len()
    );
    assert!(entity_types.len() >= 20, "entity types: {entity_types:?}");

    let mut invalid = Vec::new();
    let mut checked = 0usize;
    let mut per_class: BTreeMap<(OcsfVersion, u64), usize> = BTreeMap::new();
    let mut per_profiles: BTreeMap<(OcsfVersion, String), usize> = BTreeMap::new();
    for version in OcsfVersion::ALL {
        for (source, raw) in &inputs {
            for raw_data in [false, true] {
                if raw_data && source == "synthetic" {
                    continue;
                }
                let (bytes, _) = to_ocsf_in(version, raw.as_bytes(), raw_data);
                checked += 1;
                let event: Value = serde_json::from_slice(&bytes)
                    .unwrap_or_else(|e| panic!("{source}: not JSON ({e}): {raw}"));
                let class = event["class_uid"].as_u64().unwrap_or(0);
                *per_class.entry((version, class)).or_default() += 1;
                let profiles = event["metadata"]["profiles"].to_string();
                *per_profiles
                    .entry((version, format!("{class} {profiles}")))
                    .or_default() += 1;
                let errors = problems(version, &event);
                if !errors.is_empty() {
                    invalid.push(format!(
                        "{version} {source}: {errors:?}\n  entry: {raw}\n  event: {event}"
                    ));
                }
            }
        }
    }
    assert!(
        invalid.is_empty(),
        "{} of {} events invalid; first:\n{}",
        invalid.len(),
        checked,
        invalid
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Every class the table names, and every profile set a schema was generated for, was
    // exercised in each version.
    for version in OcsfVersion::ALL {
        for (class, profiles) in slack_audit::ocsf::schema_sets(version) {
            assert!(
                per_class.contains_key(&(version, u64::from(class.uid))),
                "no event of {} in {version}",
                class.caption
            );
            let key = (
                version,
                format!("{} {}", class.uid, serde_json::json!(profiles)),
            );
            assert!(
                per_profiles.contains_key(&key),
                "no {version} event of {} declares {profiles:?}: {per_profiles:?}",
                class.caption
            );
        }
    }
}

/// The checker refuses what OCSF's validator refuses: a profile's attribute without the
/// profile declared, a profile declared but not used, no declaration at all.
#[test]
fn an_event_with_an_undeclared_or_unused_profile_is_refused() {
    let raw = br#"{"id":"p1","date_create":1767225600,"action":"manual_export_started","actor":{"type":"user","user":{"id":"W1","name":"ada"}},"entity":{"type":"workspace","workspace":{"id":"T1","name":"w"}},"context":{"location":{"type":"enterprise","id":"E1","name":"Acme","domain":"acme"},"ip_address":"203.0.113.9"}}"#;
    for version in OcsfVersion::ALL {
        let (bytes, _) = to_ocsf_in(version, raw, false);
        let event: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(event["class_uid"], 6001, "{event}");
        assert_eq!(
            event["metadata"]["profiles"],
            serde_json::json!(["cloud", "host"])
        );
        assert_eq!(problems(version, &event), Vec::<String>::new(), "{event}");
        let with = |profiles: Value| {
            let mut e = event.clone();
            e["metadata"]["profiles"] = profiles;
            problems(version, &e)
        };
        // `actor` is `host`'s in Web Resources Activity: the schema without it refuses it.
        let no_host = with(serde_json::json!(["cloud"]));
        assert!(
            no_host.iter().any(|p| p.contains("'actor' was unexpected")),
            "{no_host:?}"
        );
        let no_cloud = with(serde_json::json!(["host"]));
        assert!(
            no_cloud.iter().any(|p| p.contains("carries attributes of")),
            "{no_cloud:?}"
        );
        assert!(!with(serde_json::json!([])).is_empty());
        let mut undeclared = event.clone();
        undeclared["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("profiles");
        assert_eq!(problems(version, &undeclared), ["no metadata.profiles"]);
        // A profile the event does not use.
        let unused = with(serde_json::json!(["cloud", "datetime", "host"]));
        assert!(
            unused.iter().any(|p| p.contains("carries attributes of")),
            "{unused:?}"
        );
    }
}

#[test]
fn every_catalogue_action_has_a_row_naming_a_class() {
    let table = Table::bundled();
    let catalogue = ActionCatalog::bundled();
    assert_eq!(catalogue.len(), 762);
    let missing: Vec<&str> = catalogue
        .names()
        .filter(|a| table.get(a).is_none())
        .collect();
    assert!(missing.is_empty(), "actions without a row: {missing:?}");
    let extra: Vec<&str> = table
        .rows()
        .map(|(a, _)| a)
        .filter(|a| !catalogue.contains(a))
        .collect();
    assert!(
        extra.is_empty(),
        "rows for actions not in the catalogue: {extra:?}"
    );
    assert_eq!(table.len(), 762);
    // The file is sorted, one line per action, and says the class by its uid.
    let actions: Vec<&str> = MAPPING_CSV
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    let mut sorted = actions.clone();
    sorted.sort_unstable();
    assert_eq!(actions, sorted, "data/ocsf-mapping.csv is sorted by action");
}

/// The enum of the integer attribute `key` of a class schema.
fn enum_of(schema: &Value, key: &str) -> BTreeSet<u64> {
    schema["properties"][key]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{key} has no enum"))
        .iter()
        .filter_map(Value::as_u64)
        .collect()
}

#[test]
fn every_row_names_a_class_activity_status_and_severity_its_version_has() {
    for version in OcsfVersion::ALL {
        for class in Table::bundled().classes() {
            let path = schema_dir(version).join(schema_file(class.name, &["cloud"]));
            let schema = read_json(&path);
            assert_eq!(
                schema["properties"]["class_uid"]["const"], class.uid,
                "{version} {}",
                class.name
            );
            let (activities, statuses, severities) = (
                enum_of(&schema, "activity_id"),
                enum_of(&schema, "status_id"),
                enum_of(&schema, "severity_id"),
            );
            // What the table says each class has in each version is what the schema has.
            for (id, _) in class.activities {
                let has = activities.contains(&u64::from(*id));
                assert_eq!(
                    has,
                    class.activity_in(version, *id).is_some(),
                    "{version} {}: activity {id}",
                    class.name
                );
            }
            for (id, _) in class.statuses {
                let has = statuses.contains(&u64::from(*id));
                assert_eq!(
                    has,
                    class.status_in(version, *id).is_some(),
                    "{version} {}: status {id}",
                    class.name
                );
            }
            for (action, row) in Table::bundled().rows_in(version) {
                if row.class_uid != class.uid {
                    continue;
                }
                let what = format!("{version} {action}");
                assert!(
                    activities.contains(&u64::from(row.activity_id)),
                    "{what}: activity"
                );
                assert!(
                    statuses.contains(&u64::from(row.status_id)),
                    "{what}: status"
                );
                assert!(
                    severities.contains(&u64::from(row.severity_id)),
                    "{what}: severity"
                );
            }
        }
    }
    // The rows that differ in 1.3.0 are the ones the table gives a 1.3.0 choice, and it says why.
    let table = Table::bundled();
    let differ: Vec<&str> = table
        .rows()
        .filter(|(action, row)| table.get_in(OcsfVersion::V1_3_0, action) != Some(row))
        .map(|(action, row)| {
            assert!(row.in_1_3.is_some_and(|e| e.reason.len() > 20), "{action}");
            action
        })
        .collect();
    assert_eq!(differ, ["native_dlp_violation_deleted"]);
}

#[test]
fn an_unknown_action_takes_the_fallback_and_is_never_dropped() {
    let raw = br#"{"id":"u1","date_create":1767225600,"action":"hologram_beamed","actor":{"type":"user","user":{"id":"W1","name":"ada"}},"entity":{"type":"hologram","hologram":{"id":"H1","name":"beam"}},"context":{"ip_address":"203.0.113.9","ua":"Mozilla/5.0","session_id":"9"}}"#;
    let (bytes, mapped) = to_ocsf(raw, false);
    assert_eq!(mapped, Mapped::Unknown);
    let event: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(event["class_uid"], FALLBACK.class_uid);
    assert_eq!(event["activity_id"], 99);
    assert_eq!(event["activity_name"], "hologram_beamed");
    assert_eq!(event["type_name"], "API Activity: Other");
    assert_eq!(event["api"]["operation"], "hologram_beamed");
    assert_eq!(event["resources"][0]["uid"], "H1");
    assert_eq!(event["resources"][0]["type"], "hologram");
    assert_eq!(event["metadata"]["uid"], "u1");
    let (_, mapped) = to_ocsf(&raw[..].to_vec().replace_action("user_login"), false);
    assert_eq!(mapped, Mapped::Known);
}

trait ReplaceAction {
    fn replace_action(&self, action: &str) -> Vec<u8>;
}

impl ReplaceAction for Vec<u8> {
    fn replace_action(&self, action: &str) -> Vec<u8> {
        String::from_utf8_lossy(self)
            .replace("hologram_beamed", action)
            .into_bytes()
    }
}

#[test]
fn the_common_attributes_are_mapped() {
    let raw = br#"{"id":"0d7b","date_create":1767225600,"action":"user_login_failed","actor":{"type":"user","user":{"id":"W0123ABCD","name":"ada","email":"ada@example.com","team":"E0AAAAAAA","account_type":"primary_owner"}},"entity":{"type":"user","user":{"id":"W0123ABCD","name":"ada","email":"ada@example.com","team":"E0AAAAAAA"}},"context":{"location":{"type":"enterprise","id":"E0AAAAAAA","name":"Example Corp","domain":"examplecorp"},"ua":"Mozilla/5.0","ip_address":"203.0.113.42","session_id":8472881900921}}"#;
    let (bytes, _) = to_ocsf(raw, false);
    let e: Value = serde_json::from_slice(&bytes).unwrap();
    let expected = [
        ("/class_uid", serde_json::json!(3002)),
        ("/category_uid", serde_json::json!(3)),
        ("/activity_id", serde_json::json!(1)),
        ("/type_uid", serde_json::json!(300201)),
        ("/status_id", serde_json::json!(2)),
        ("/status", serde_json::json!("Failure")),
        ("/severity_id", serde_json::json!(2)),
        ("/time", serde_json::json!(1_767_225_600_000_i64)),
        ("/metadata/uid", serde_json::json!("0d7b")),
        ("/metadata/version", serde_json::json!("1.8.0")),
        (
            "/metadata/product/name",
            serde_json::json!("Slack Audit Logs"),
        ),
        ("/metadata/product/vendor_name", serde_json::json!("Slack")),
        ("/metadata/original_time", serde_json::json!("1767225600")),
        ("/metadata/tenant_uid", serde_json::json!("E0AAAAAAA")),
        (
            "/metadata/event_code",
            serde_json::json!("user_login_failed"),
        ),
        ("/actor/user/uid", serde_json::json!("W0123ABCD")),
        ("/actor/user/name", serde_json::json!("ada")),
        (
            "/actor/user/email_addr",
            serde_json::json!("ada@example.com"),
        ),
        ("/actor/user/type", serde_json::json!("primary_owner")),
        ("/actor/user/type_id", serde_json::json!(2)),
        ("/actor/session/uid", serde_json::json!("8472881900921")),
        ("/src_endpoint/ip", serde_json::json!("203.0.113.42")),
        ("/http_request/user_agent", serde_json::json!("Mozilla/5.0")),
        ("/user/uid", serde_json::json!("W0123ABCD")),
        ("/cloud/provider", serde_json::json!("Slack")),
        ("/cloud/org/uid", serde_json::json!("E0AAAAAAA")),
        ("/cloud/org/name", serde_json::json!("Example Corp")),
        ("/session/uid", serde_json::json!("8472881900921")),
    ];
    for (pointer, want) in expected {
        assert_eq!(e.pointer(pointer), Some(&want), "{pointer} in {e}");
    }
}

/// What 1.3.0 lacks is not written, and its Slack value stays under `unmapped` at its path.
#[test]
fn an_attribute_the_version_lacks_stays_under_unmapped() {
    let ua = "Mozilla/5.0 (X11)";
    let event = |version, raw: &str| -> Value {
        serde_json::from_slice(&to_ocsf_in(version, raw.as_bytes(), false).0).unwrap()
    };
    let context = format!(r#""context":{{"ip_address":"203.0.113.9","ua":"{ua}"}}"#);
    let file = format!(
        r#"{{"id":"v1","date_create":1767225600,"action":"file_downloaded","actor":{{"type":"user","user":{{"id":"W1","name":"ada"}}}},"entity":{{"type":"file","file":{{"id":"F1","name":"a.pdf"}}}},{context}}}"#
    );
    let role = format!(
        r#"{{"id":"v2","date_create":1767225600,"action":"role_assigned","actor":{{"type":"user","user":{{"id":"W1","name":"ada"}}}},"entity":{{"type":"role","role":{{"id":"Rl1","name":"Channels Admin"}}}},{context}}}"#
    );
    let anomaly = format!(
        r#"{{"id":"v3","date_create":1767225600,"action":"anomaly","actor":{{"type":"user","user":{{"id":"W1","name":"ada"}}}},"entity":{{"type":"user","user":{{"id":"W2","name":"bo"}}}},{context},"details":{{"reason":["asn"]}}}}"#
    );
    let new = OcsfVersion::V1_8_0;
    let old = OcsfVersion::V1_3_0;
    for (version, raw) in [(new, &file), (new, &role), (new, &anomaly)] {
        let e = event(version, raw);
        assert_eq!(e["metadata"]["version"], "1.8.0");
        assert_eq!(e["metadata"]["original_event_uid"], e["metadata"]["uid"]);
        assert!(e["unmapped"]["context"].get("ua").is_none(), "{e}");
    }
    assert_eq!(event(new, &file)["http_request"]["user_agent"], ua);
    assert_eq!(event(new, &role)["resources"][0]["uid"], "Rl1");
    assert_eq!(
        event(new, &anomaly)["evidences"][0]["http_request"]["user_agent"],
        ua
    );

    for raw in [&file, &role, &anomaly] {
        let e = event(old, raw);
        assert_eq!(e["metadata"]["version"], "1.3.0");
        assert!(e["metadata"].get("original_event_uid").is_none(), "{e}");
        assert_eq!(
            e["metadata"]["uid"],
            serde_json::from_str::<Value>(raw).unwrap()["id"]
        );
    }
    for raw in [&file, &anomaly] {
        let e = event(old, raw);
        assert_eq!(e["unmapped"]["context"]["ua"], ua, "{e}");
        assert!(!e.to_string().contains("http_request"), "{e}");
    }
    let e = event(old, &role);
    assert_eq!(
        e["http_request"]["user_agent"], ua,
        "User Access has it: {e}"
    );
    assert!(e.get("resources").is_none(), "{e}");
    assert_eq!(e["privileges"], serde_json::json!(["Channels Admin"]));
    assert_eq!(e["unmapped"]["entity"]["type"], "role");
    assert_eq!(e["unmapped"]["entity"]["role"]["id"], "Rl1");
    // 1.3.0 User Access Management has its actor through `host`.
    assert_eq!(
        e["metadata"]["profiles"],
        serde_json::json!(["cloud", "host"])
    );
    assert_eq!(
        event(new, &role)["metadata"]["profiles"],
        serde_json::json!(["cloud"])
    );
}

#[test]
fn raw_data_is_the_entry_as_slack_sent_it() {
    for (_, raw) in fixture_entries().iter().take(20) {
        let (with, _) = to_ocsf(raw.as_bytes(), true);
        let (without, _) = to_ocsf(raw.as_bytes(), false);
        let with: Value = serde_json::from_slice(&with).unwrap();
        let without: Value = serde_json::from_slice(&without).unwrap();
        assert_eq!(with["raw_data"].as_str(), Some(raw.as_str()));
        assert!(without.get("raw_data").is_none());
    }
}

/// A leaf: a string by its content, anything else by its JSON text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Leaf {
    Str(String),
    Other(String),
}

/// Every leaf of a JSON document (empty arrays and objects inside it count as leaves), read
/// from the text so that no number is rounded on the way.
fn leaves(raw: &RawValue, out: &mut Vec<Leaf>) {
    leaves_in(raw, true, out);
}

fn leaves_in(raw: &RawValue, root: bool, out: &mut Vec<Leaf>) {
    let text = raw.get().trim();
    match text.as_bytes().first() {
        Some(b'{') => {
            let fields: Vec<(String, Box<RawValue>)> =
                serde_json::from_str::<Ordered>(text).unwrap().0;
            if fields.is_empty() && !root {
                out.push(Leaf::Other("{}".into()));
            }
            for (_, value) in fields {
                leaves_in(&value, false, out);
            }
        }
        Some(b'[') => {
            let items: Vec<Box<RawValue>> = serde_json::from_str(text).unwrap();
            if items.is_empty() && !root {
                out.push(Leaf::Other("[]".into()));
            }
            for item in items {
                leaves_in(&item, false, out);
            }
        }
        Some(b'"') => out.push(Leaf::Str(serde_json::from_str(text).unwrap())),
        _ => out.push(Leaf::Other(text.to_owned())),
    }
}

/// An object's fields in order, duplicates kept.
struct Ordered(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Ordered, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    v.push((k, m.next_value()?));
                }
                Ok(Ordered(v))
            }
        }
        d.deserialize_map(V)
    }
}

#[test]
fn every_leaf_value_of_an_entry_is_in_its_event() {
    let mut checked = 0usize;
    let mut lost = Vec::new();
    let inputs = all_inputs();
    for (version, (source, raw)) in OcsfVersion::ALL
        .into_iter()
        .flat_map(|v| inputs.iter().map(move |input| (v, input)))
    {
        let Ok(entry) = serde_json::from_str::<Box<RawValue>>(raw) else {
            continue;
        };
        let (bytes, _) = to_ocsf_in(version, raw.as_bytes(), false);
        let event: Box<RawValue> = serde_json::from_slice(&bytes).unwrap();
        let mut want = Vec::new();
        leaves(&entry, &mut want);
        let mut have = Vec::new();
        leaves(&event, &mut have);
        let mut available: BTreeMap<Leaf, usize> = BTreeMap::new();
        for leaf in have {
            *available.entry(leaf).or_default() += 1;
        }
        for leaf in want {
            // A number may be carried as its text where OCSF wants a string (a numeric
            // `session_id` as `actor.session.uid`, `date_create` as `metadata.original_time`).
            let as_text = match &leaf {
                Leaf::Other(t) => Some(Leaf::Str(t.clone())),
                Leaf::Str(_) => None,
            };
            let slot = [Some(leaf.clone()), as_text]
                .into_iter()
                .flatten()
                .find(|l| available.get(l).is_some_and(|n| *n > 0));
            match slot {
                Some(l) => {
                    if let Some(n) = available.get_mut(&l) {
                        *n -= 1;
                    }
                }
                None => lost.push(format!("{version} {source}: {leaf:?} of {raw}")),
            }
            checked += 1;
        }
    }
    assert!(checked > 200_000, "only {checked} leaves checked");
    assert!(
        lost.is_empty(),
        "{} leaves lost; first: {:#?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
}

mod arbitrary {
    //! Whatever an entry holds, its event is one JSON object, of a class with a schema, that
    //! keeps every leaf; arbitrary bytes never panic.

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    /// Entry-like JSON: Slack's keys and others, at the levels the mapping reads.
    fn entry() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,10}".prop_map(Value::from),
            Just(Value::from("203.0.113.9")),
            Just(Value::from("ada@example.com")),
            Just(Value::from("user")),
            Just(Value::from("user_login")),
            Just(Value::from("file_shared")),
            Just(Value::from("anomaly")),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("id".to_owned()),
                        Just("date_create".to_owned()),
                        Just("action".to_owned()),
                        Just("actor".to_owned()),
                        Just("user".to_owned()),
                        Just("entity".to_owned()),
                        Just("type".to_owned()),
                        Just("file".to_owned()),
                        Just("name".to_owned()),
                        Just("email".to_owned()),
                        Just("context".to_owned()),
                        Just("ip_address".to_owned()),
                        Just("session_id".to_owned()),
                        Just("details".to_owned()),
                        Just("reason".to_owned()),
                        ".{0,5}"
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, .. ProptestConfig::default() })]

        #[test]
        fn any_entry_gives_a_valid_lossless_event(entry in entry(), old in any::<bool>()) {
            let version = if old { OcsfVersion::V1_3_0 } else { OcsfVersion::V1_8_0 };
            let raw = serde_json::to_string(&entry).unwrap();
            let (bytes, _) = to_ocsf_in(version, raw.as_bytes(), false);
            let event: Value = serde_json::from_slice(&bytes).unwrap();
            let errors = problems(version, &event);
            prop_assert!(errors.is_empty(), "{version} {errors:?}\n{raw}\n{event}");
            let mut want = Vec::new();
            leaves(&serde_json::from_str::<Box<RawValue>>(&raw).unwrap(), &mut want);
            let mut have: BTreeMap<Leaf, usize> = BTreeMap::new();
            let mut all = Vec::new();
            leaves(&serde_json::from_slice::<Box<RawValue>>(&bytes).unwrap(), &mut all);
            for leaf in all {
                *have.entry(leaf).or_default() += 1;
            }
            for leaf in want {
                let text = match &leaf { Leaf::Other(t) => Some(Leaf::Str(t.clone())), Leaf::Str(_) => None };
                let found = [Some(leaf.clone()), text].into_iter().flatten().find(|l| have.get(l).is_some_and(|n| *n > 0));
                prop_assert!(found.is_some(), "{leaf:?} lost\n{raw}\n{event}");
                if let Some(n) = found.and_then(|l| have.get_mut(&l)) { *n -= 1; }
            }
        }

        #[test]
        fn any_bytes_give_one_json_event(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let (out, _) = to_ocsf(&bytes, true);
            let event: Value = serde_json::from_slice(&out).unwrap();
            prop_assert!(event["class_uid"].is_u64());
        }
    }
}

/// The agent that acted for the user (Slackbot) is the actor's app, unless Slack names an app
/// (`context.app`), and its message is the event's `message`; wherever Slack puts them (under
/// `context`, or at the top), nothing else of them is lost, and the events stay valid.
#[test]
fn the_acting_agent_is_the_actors_app_and_its_message_the_events() {
    let entry = |context_extra: &str, top_extra: &str| {
        format!(
            r#"{{"id":"ag1","date_create":1767225600,"action":"user_channel_join","actor":{{"type":"user","user":{{"id":"W0123ABCD","name":"ada"}}}},"entity":{{"type":"channel","channel":{{"id":"C0CCCCCCC","name":"general"}}}},"context":{{"location":{{"type":"enterprise","id":"E0AAAAAAA","name":"Example Corp","domain":"examplecorp"}},"ip_address":"203.0.113.42"{context_extra}}}{top_extra}}}"#
        )
    };
    let event = |raw: String| -> Value {
        let (bytes, _) = to_ocsf(raw.as_bytes(), false);
        let event: Value = serde_json::from_slice(&bytes).unwrap();
        let problems = problems(OcsfVersion::V1_8_0, &event);
        assert!(problems.is_empty(), "{problems:?}: {event}");
        event
    };

    let top = event(entry(
        "",
        r#","acting_agent":{"type":"slackbot"},"agent_message":"joined on behalf of ada""#,
    ));
    assert_eq!(top["actor"]["app_name"], "slackbot", "{top}");
    assert_eq!(top["actor"]["user"]["uid"], "W0123ABCD");
    assert_eq!(top["message"], "joined on behalf of ada");
    assert!(top["unmapped"].get("acting_agent").is_none(), "{top}");
    assert!(top["unmapped"].get("agent_message").is_none(), "{top}");

    let in_context = event(entry(
        r#","acting_agent":{"id":"B0SLACKBOT","name":"Slackbot","mode":"assist"},"agent_message":"posted for ada""#,
        "",
    ));
    assert_eq!(in_context["actor"]["app_uid"], "B0SLACKBOT", "{in_context}");
    assert_eq!(in_context["actor"]["app_name"], "Slackbot");
    assert_eq!(in_context["message"], "posted for ada");
    assert_eq!(
        in_context["unmapped"]["context"]["acting_agent"],
        serde_json::json!({"mode": "assist"}),
        "what is not mapped stays: {in_context}"
    );

    let with_app = event(entry(
        r#","app":{"id":"A0DDDDDDD","name":"Onboarding Bot"}"#,
        r#","acting_agent":{"type":"slackbot"}"#,
    ));
    assert_eq!(
        with_app["actor"]["app_name"], "Onboarding Bot",
        "{with_app}"
    );
    assert_eq!(
        with_app["unmapped"]["acting_agent"],
        serde_json::json!({"type": "slackbot"}),
        "Slack's app wins; the agent is kept: {with_app}"
    );
    assert!(with_app.get("message").is_none());
}
