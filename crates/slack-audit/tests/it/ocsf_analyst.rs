//! The OCSF events read as a detection engineer reads them, in each supported OCSF version:
//! each rule of thumb (`tests/ocsf/analyst-cases.json`, with what a version expects
//! differently in `expect_by_version`) checked on real-shaped, pseudonymised entries, and the
//! rules that hold for every event (captions from OCSF's own enums of that version, no
//! placeholders, few activities 99, severities with reasons) checked on every catalogue
//! action and the replay fixtures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use connector_sdk::contract::input::RecordBuf;
use serde_json::Value;
use slack_audit::encode::Encoder;
use slack_audit::ocsf::table::{Table, class, severity};
use slack_audit::ocsf::{OcsfEncoder, OcsfVersion, to_ocsf_in};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The events of `entries`, pushed in order through one OCSF page as the sync does.
fn run(version: OcsfVersion, entries: &[&Value]) -> Vec<Value> {
    let mut page = OcsfEncoder::new(version, false);
    let mut records = RecordBuf::default();
    for entry in entries {
        page.push(&mut records, entry.to_string().as_bytes());
    }
    String::from_utf8_lossy(records.as_bytes())
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Whether `have` (at a pointer of the event) satisfies `want` from the cases file.
fn satisfies(have: Option<&Value>, want: &Value) -> bool {
    match want {
        Value::Object(op) if op.len() == 1 => {
            let (name, arg) = op.iter().next().unwrap();
            match name.as_str() {
                ">=" => have
                    .and_then(Value::as_f64)
                    .zip(arg.as_f64())
                    .is_some_and(|(h, a)| h >= a),
                "contains" => have
                    .and_then(Value::as_array)
                    .is_some_and(|items| items.contains(arg)),
                "not" => have != Some(arg),
                "absent" => have.is_none() == arg.as_bool().unwrap_or(true),
                _ => have == Some(want),
            }
        }
        _ => have == Some(want),
    }
}

#[test]
fn each_rule_of_thumb_holds_on_real_shaped_entries() {
    let path = root().join("crates/slack-audit/tests/ocsf/analyst-cases.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cases = file["cases"].as_array().unwrap();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let mut broken = Vec::new();
    let mut differing = 0;
    for version in OcsfVersion::ALL {
        for case in cases {
            let rule = case["rule"].as_str().unwrap();
            let mut entries: Vec<&Value> = case["before"]
                .as_array()
                .map(|b| b.iter().collect())
                .unwrap_or_default();
            entries.push(&case["entry"]);
            let event = run(version, &entries).pop().unwrap();
            // What this version expects differently replaces (or adds to) `expect`.
            let mut expect = case["expect"].as_object().unwrap().clone();
            if let Some(differs) = case["expect_by_version"][version.as_str()].as_object() {
                differing += 1;
                expect.extend(differs.clone());
            }
            for (pointer, want) in &expect {
                let have = event.pointer(pointer);
                if !satisfies(have, want) {
                    broken.push(format!(
                        "{version}: {rule}\n  {pointer}: want {want}, have {}\n  event: {event}",
                        have.map_or("nothing".to_owned(), Value::to_string)
                    ));
                }
            }
        }
    }
    assert!(
        differing > 0,
        "no case says what a version expects differently"
    );
    assert!(
        broken.is_empty(),
        "{} expectations broken:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

/// OCSF's captions of each class in `version` (`schemas/ocsf/<version>/captions.json`,
/// generated with the schemas from the compiled OCSF schema), by `class_uid`.
fn captions(version: OcsfVersion) -> BTreeMap<u64, Value> {
    let path = root()
        .join("schemas/ocsf")
        .join(version.as_str())
        .join("captions.json");
    let all: BTreeMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all.into_values()
        .map(|c| (c["uid"].as_u64().unwrap(), c))
        .collect()
}

/// One entry per catalogue action (a user entity; the common context), and the replay
/// fixtures' entries.
fn inputs() -> Vec<String> {
    let mut out = Vec::new();
    for (n, (action, _)) in Table::bundled().rows().enumerate() {
        out.push(format!(
            r#"{{"id":"00000000-0000-4000-8000-{n:012}","date_create":1767225600,"action":"{action}","actor":{{"type":"user","user":{{"id":"W0456EFGH","name":"bob"}}}},"entity":{{"type":"user","user":{{"id":"W0123ABCD","name":"ada"}}}},"context":{{"location":{{"type":"enterprise","id":"E0AAAAAAA","name":"Acme","domain":"acme"}},"ip_address":"203.0.113.9","session_id":0}}}}"#
        ));
    }
    let dir = root().join("fixtures/slack-audit");
    for case in std::fs::read_dir(dir).unwrap() {
        let pages = case.unwrap().path().join("pages");
        let Ok(pages) = std::fs::read_dir(pages) else {
            continue;
        };
        for page in pages {
            let body = std::fs::read_to_string(page.unwrap().path()).unwrap_or_default();
            if let Ok(body) = serde_json::from_str::<Value>(&body)
                && let Some(entries) = body["entries"].as_array()
            {
                out.extend(entries.iter().map(Value::to_string));
            }
        }
    }
    out
}

#[test]
fn every_caption_is_the_one_ocsf_gives_its_id_and_nothing_is_a_placeholder() {
    let mut wrong = Vec::new();
    let inputs = inputs();
    for version in OcsfVersion::ALL {
        let captions = captions(version);
        for raw in &inputs {
            let (bytes, _) = to_ocsf_in(version, raw.as_bytes(), false);
            let text = String::from_utf8(bytes).unwrap();
            let e: Value = serde_json::from_str(&text).unwrap();
            let class = &captions[&e["class_uid"].as_u64().unwrap()];
            let caption =
                |attr: &str, id: &str| class[attr][e[id].to_string()].as_str().map(str::to_owned);
            let activity = caption("activity_id", "activity_id").unwrap_or_default();
            let checks = [
                ("class_name", class["caption"].as_str().map(str::to_owned)),
                ("status", caption("status_id", "status_id")),
                ("severity", caption("severity_id", "severity_id")),
                (
                    "type_name",
                    Some(format!(
                        "{}: {activity}",
                        class["caption"].as_str().unwrap()
                    )),
                ),
            ];
            for (key, want) in checks {
                if want.is_none() || e[key].as_str() != want.as_deref() {
                    wrong.push(format!("{key} {} (want {want:?}) in {text}", e[key]));
                }
            }
            if e["activity_id"] != 99 && e["activity_name"].as_str() != Some(activity.as_str()) {
                wrong.push(format!("activity_name {} in {text}", e["activity_name"]));
            }
            // A finding is never "Success": its statuses are New, Resolved, Deleted…
            if matches!(e["class_uid"].as_u64(), Some(2004 | 2006)) && e["status"] == "Success" {
                wrong.push(format!("finding with an event status: {text}"));
            }
            // No invented values in searchable attributes.
            for bad in [r#""unknown""#, r#""session":{"uid":"0"}"#] {
                if text.contains(bad) {
                    wrong.push(format!("placeholder {bad} in {text}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong; first:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(5)].join("\n")
    );
}

#[test]
fn few_actions_are_other_and_each_says_why() {
    let table = Table::bundled();
    let other: Vec<(&str, &str)> = table
        .rows()
        .filter(|(_, row)| row.activity_id == 99)
        .map(|(action, row)| (action, row.reason))
        .collect();
    assert!(
        other.len() * 100 < table.len() * 5,
        "{} of {} actions are activity 99 (Other): {other:?}",
        other.len(),
        table.len()
    );
    for (action, reason) in other {
        assert!(reason.len() > 20, "{action}: {reason:?}");
    }
}

#[test]
fn the_slack_detections_keep_a_severity_above_informational() {
    // Every action public detection content (Panther, Sekoia) alerts on: at least Low.
    let path = root().join("crates/slack-audit/tests/ocsf/detected-actions.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let table = Table::bundled();
    let mut low = Vec::new();
    for action in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        match table.get(action) {
            Some(row) if row.severity_id >= 2 => {}
            Some(row) => low.push(format!("{action}: {}", severity(row.severity_id))),
            None => low.push(format!("{action}: not in the table")),
        }
    }
    assert!(low.is_empty(), "{low:?}");
}

/// Per class of `version`: actions, of which activity 99, above Informational.
fn counts(version: OcsfVersion) -> BTreeMap<u32, (usize, usize, usize)> {
    let mut per_class: BTreeMap<u32, (usize, usize, usize)> = BTreeMap::new();
    for (_, row) in Table::bundled().rows_in(version) {
        let n = per_class.entry(row.class_uid).or_default();
        n.0 += 1;
        n.1 += usize::from(row.activity_id == 99);
        n.2 += usize::from(row.severity_id > 1);
    }
    per_class
}

/// The numbers `docs/ocsf.md` states, made from the table: the same for each
/// version (the test says so), with the rows whose 1.3.0 choice differs counted.
fn numbers() -> String {
    let table = Table::bundled();
    let per_class = counts(OcsfVersion::V1_8_0);
    for version in OcsfVersion::ALL {
        assert_eq!(
            counts(version),
            per_class,
            "{version} counts differ from 1.8.0's: give the table of docs/ocsf.md a column per version"
        );
    }
    let mut differ: BTreeMap<u32, usize> = BTreeMap::new();
    for (action, row) in table.rows() {
        if table.get_in(OcsfVersion::V1_3_0, action) != Some(row) {
            *differ.entry(row.class_uid).or_default() += 1;
        }
    }
    let mut out = String::from(
        "| class | actions | of which activity 99 (Other) | above Informational | another choice in 1.3.0 |\n|---|---:|---:|---:|---:|\n",
    );
    let mut total = (0, 0, 0, 0);
    for (uid, (n, other, above)) in &per_class {
        let caption = class(*uid).map_or("?", |c| c.caption);
        let d = differ.get(uid).copied().unwrap_or(0);
        out.push_str(&format!(
            "| {caption} {uid} | {n} | {other} | {above} | {d} |\n"
        ));
        total = (total.0 + n, total.1 + other, total.2 + above, total.3 + d);
    }
    out.push_str(&format!(
        "| **all** | **{}** | **{}** ({:.1}%) | **{}** | **{}** |\n",
        total.0,
        total.1,
        total.1 as f64 * 100.0 / total.0 as f64,
        total.2,
        total.3
    ));
    out
}

#[test]
fn the_ocsf_page_states_the_tables_numbers() {
    let readme = std::fs::read_to_string(root().join("docs/ocsf.md")).unwrap();
    let want = numbers();
    let (start, end) = ("<!-- ocsf-numbers:start -->\n", "<!-- ocsf-numbers:end -->");
    let block = readme
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(block, _)| block);
    assert_eq!(
        block,
        Some(want.as_str()),
        "docs/ocsf.md's OCSF numbers are stale; between the markers put:\n{want}"
    );
}
