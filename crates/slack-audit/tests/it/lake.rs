//! The audit events in a lake: the tables (one per OCSF class, Security Lake's names), each
//! class's fixed schema derived from OCSF 1.3.0 holding every field the encoder writes, every
//! event back exactly from Parquet, NDJSON.gz byte for byte, and the targets a format cannot
//! go to refused with the setting to change.
//!
//! Inputs: the OCSF tests' (a synthetic day, every replay fixture entry, one entry per
//! catalogue action, hostile shapes), as OCSF 1.3.0 events with and without `raw_data`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::Arc;

use connector_sdk::contract::error::ConfigError;
use connector_sdk::contract::input::{Config, Input};
use connector_sdk::runtime::lake::column_list::{ColumnList, ColumnType};
use connector_sdk::runtime::lake::encode::ObjectEncoder;
use connector_sdk::runtime::lake::lake_config::{ObjectFormat, Target};
use connector_sdk::runtime::lake::layout::{LakeInput, LakeLayout};
use connector_sdk::runtime::lake::ndjson_gz::NdjsonGzEncoder;
use connector_sdk::runtime::lake::parquet::ParquetEncoder;
use connector_sdk::runtime::lake::parquet_read::records_of;
use connector_sdk::runtime::lake::row_shape::RowShape;
use parquet::basic::{Compression, PageType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use serde_json::Value;
use slack_audit::SlackAuditInput;
use slack_audit::lake::layout_for;
use slack_audit::lake::ocsf_tables::{LAKE_OCSF_VERSION, widest_schema_sets};
use slack_audit::ocsf::table::Table;
use slack_audit::ocsf::{OcsfVersion, WRITTEN_KEYS, schema_file, to_ocsf_in};
use slack_audit::query::Format;

use crate::ocsf::{all_inputs, root};

fn security_lake() -> Target {
    Target::SecurityLake {
        account_id: "external".to_owned(),
        locations: BTreeMap::new(),
        location_template: Some("s3://lake/ext/{source_name}/1.0/".to_owned()),
    }
}

fn s3(format: ObjectFormat) -> Target {
    Target::S3 {
        url: "s3://bucket/slack/".to_owned(),
        format,
    }
}

fn ocsf_layout() -> Arc<dyn LakeLayout> {
    layout_for(Format::Ocsf(OcsfVersion::V1_3_0), &security_lake()).unwrap()
}

/// Every input as an OCSF 1.3.0 event, with and without `raw_data`.
fn events() -> &'static [String] {
    static EVENTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    EVENTS.get_or_init(|| {
        let mut out = Vec::new();
        for (_, entry) in all_inputs() {
            for raw_data in [false, true] {
                let (event, _) = to_ocsf_in(OcsfVersion::V1_3_0, entry.as_bytes(), raw_data);
                out.push(String::from_utf8(event).unwrap());
            }
        }
        out
    })
}

#[test]
fn every_class_is_a_table_with_a_security_lake_source_and_a_fixed_schema() {
    let layout = ocsf_layout();
    let tables = layout.tables();
    let classes = Table::bundled().classes();
    assert_eq!(classes.len(), 10, "the mapping emits 10 classes");
    assert_eq!(tables.len(), classes.len());
    let mut sources = BTreeSet::new();
    for (table, class) in tables.iter().zip(&classes) {
        assert_eq!(&*table.table, class.name);
        let source = &table.source_name;
        assert!(
            source.len() <= 20
                && source.starts_with("slack-")
                && source
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{source:?}: Security Lake's source names have at most 20 characters"
        );
        assert!(sources.insert(source.clone()), "{source} twice");
        let event_class = &table.event_class;
        assert!(
            !event_class.is_empty()
                && event_class
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_'),
            "{event_class:?}"
        );
        let schema = table.schema.as_ref().expect("a fixed schema");
        for top in ["time", "class_uid", "metadata", "unmapped", "raw_data"] {
            assert!(
                schema.field_with_name(top).is_ok(),
                "{} lacks {top}",
                class.name
            );
        }
    }
    let names: BTreeMap<&str, &str> = tables
        .iter()
        .map(|t| (&*t.table, t.event_class.as_str()))
        .collect();
    assert_eq!(names["api_activity"], "API_ACTIVITY");
    assert_eq!(names["entity_management"], "ENTITY_MANAGEMENT_AUDIT");
    assert_eq!(names["authentication"], "AUTHENTICATION");
}

/// The column type at `path` (`a.b[].c`) in `columns`, or where a JSON-text column holds it.
fn column_of<'c>(
    columns: &'c BTreeMap<String, ColumnType>,
    path: &str,
) -> Option<(&'c str, ColumnType)> {
    let mut prefix = String::new();
    for segment in path.split('.') {
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(segment);
        // A list's items: `a[]`, then `a[][]`…
        let bare = prefix.trim_end_matches("[]").to_owned();
        for candidate in [prefix.as_str(), bare.as_str()] {
            if let Some((name, ty)) = columns.get_key_value(candidate)
                && (*ty == ColumnType::Json || candidate == path)
            {
                return Some((name.as_str(), *ty));
            }
        }
    }
    None
}

/// Every leaf path of `value` (`a.b[].c`), with `[]` for array items.
fn leaf_paths(value: &Value, path: String, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(members) if !members.is_empty() => {
            for (key, value) in members {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                leaf_paths(value, child, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                leaf_paths(item, format!("{path}[]"), out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

/// Whether `path` is, in the class's OCSF JSON Schema, an object with fixed properties (so a
/// JSON-text column there would be a cut, not a free-form value).
fn is_fixed_object_in(schema: &Value, path: &str) -> bool {
    let resolve = |node: &Value| {
        let mut node = node.clone();
        while let Some(r) = node.get("$ref").and_then(Value::as_str) {
            node = schema["$defs"][r.trim_start_matches("#/$defs/")].clone();
        }
        node
    };
    let mut node = schema.clone();
    for segment in path.split('.') {
        let name = segment.trim_end_matches("[]");
        node = resolve(&node["properties"][name]);
        for _ in 0..(segment.len() - name.len()) / 2 {
            node = resolve(&node["items"]);
        }
    }
    node["properties"]
        .as_object()
        .is_some_and(|p| !p.is_empty())
}

#[test]
fn every_field_the_encoder_writes_is_a_column_of_its_class_schema() {
    let layout = ocsf_layout();
    let mut columns: BTreeMap<String, BTreeMap<String, ColumnType>> = BTreeMap::new();
    let mut ocsf_schemas: BTreeMap<String, Value> = BTreeMap::new();
    for (class, profiles) in widest_schema_sets(LAKE_OCSF_VERSION) {
        let table = layout
            .tables()
            .iter()
            .find(|t| &*t.table == class.name)
            .unwrap();
        let list = ColumnList::from_schema(table.schema.as_ref().unwrap()).unwrap();
        columns.insert(class.name.to_owned(), list.columns.into_iter().collect());
        let file = root()
            .join("schemas/ocsf/1.3.0")
            .join(schema_file(class.name, profiles));
        ocsf_schemas.insert(
            class.name.to_owned(),
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap(),
        );
    }
    // The JSON-text columns that are cuts (a fixed object in OCSF), by table.
    let cuts: BTreeMap<String, BTreeSet<String>> = columns
        .iter()
        .map(|(table, list)| {
            let cut = list
                .iter()
                .filter(|(c, t)| {
                    **t == ColumnType::Json && is_fixed_object_in(&ocsf_schemas[table], c)
                })
                .map(|(c, _)| c.clone())
                .collect();
            (table.clone(), cut)
        })
        .collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = BTreeSet::new();
    for event in events() {
        let placement = layout.place(event.as_bytes()).unwrap();
        let table = &*placement.table;
        let parsed: Value = serde_json::from_str(event).unwrap();
        assert_eq!(placement.time_ms, parsed["time"].as_i64().unwrap());
        *seen.entry(table.to_owned()).or_default() += 1;
        let schema = layout
            .tables()
            .iter()
            .find(|t| &*t.table == table)
            .and_then(|t| t.schema.clone())
            .unwrap();
        let shape = RowShape::new(&schema);
        let mut rows = shape.rows(&schema).unwrap();
        if let Err(e) = rows.push(event.as_bytes()) {
            problems.insert(format!("{table}: {e}"));
            continue;
        }
        if rows.by_serde() > 0 {
            problems.insert(format!("{table}: the fast scan declined {event}"));
        }
        let mut paths = BTreeSet::new();
        leaf_paths(&parsed, String::new(), &mut paths);
        for path in paths {
            let container = |c: &String| {
                c.strip_prefix(path.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            };
            match column_of(&columns[table], &path) {
                // An empty object or array where the schema has a struct or list.
                None if columns[table].keys().any(container) => {}
                None => {
                    problems.insert(format!("{table}: {path} has no column"));
                }
                Some((column, ColumnType::Json)) if cuts[table].contains(column) => {
                    problems.insert(format!(
                        "{table}: {path} is below the depth cut at {column}"
                    ));
                }
                Some(_) => {}
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(seen.len(), 10, "every class has events: {seen:?}");
}

/// Every member name the mapping's source writes, outside its tests: the keys given to the
/// writer (`(out, "k"` and `(out, o, "k"`) and the keys of its JSON text (`"k":` in raw strings:
/// the constants and the classification header).
fn keys_in_mapping_source() -> BTreeSet<String> {
    fn name_at(text: &str) -> Option<&str> {
        let rest = text.strip_prefix('"')?;
        let end = rest.find('"')?;
        let name = &rest[..end];
        (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .then_some(name)
    }
    let mut keys = BTreeSet::new();
    let dir = root().join("crates/slack-audit/src/ocsf");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (at, _) in code.match_indices("(out, ") {
            let mut rest = &code[at + "(out, ".len()..];
            if let Some((ident, tail)) = rest.split_once(", ")
                && ident
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                rest = tail;
            }
            keys.extend(name_at(rest).map(str::to_owned));
        }
        for raw in code.split("r#\"").skip(1) {
            let raw = raw.split("\"#").next().unwrap();
            for (at, _) in raw.match_indices("\":") {
                let start = raw[..at].rfind('"').unwrap();
                keys.extend(name_at(&raw[start..=at]).map(str::to_owned));
            }
        }
    }
    keys
}

#[test]
fn every_member_name_the_mapping_writes_is_declared_for_the_lake_schemas() {
    let written = keys_in_mapping_source();
    let declared: BTreeSet<String> = WRITTEN_KEYS.iter().map(|k| (*k).to_owned()).collect();
    let undeclared: Vec<_> = written.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "the mapping writes {undeclared:?}, which WRITTEN_KEYS (ocsf/writer.rs) lacks: the lake \
         tables would have no column for them; add them and run `cargo xtask schema`"
    );
    let unwritten: Vec<_> = declared.difference(&written).collect();
    assert!(
        unwritten.is_empty(),
        "WRITTEN_KEYS names {unwritten:?}, which the mapping's source never writes"
    );
}

/// `records` of one table in time order (stable), as the uploader gives them.
fn by_table(layout: &dyn LakeLayout, records: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for record in records {
        let placement = layout.place(record.as_bytes()).unwrap();
        out.entry(placement.table.to_string())
            .or_default()
            .push((placement.time_ms, record.clone()));
    }
    out.into_iter()
        .map(|(table, mut rows)| {
            rows.sort_by_key(|(time, _)| *time);
            (table, rows.into_iter().map(|(_, r)| r).collect())
        })
        .collect()
}

#[test]
fn every_event_comes_back_exactly_from_parquet() {
    let layout = ocsf_layout();
    let encoder = ParquetEncoder::new(layout.clone());
    let mut total = 0;
    for (table, records) in by_table(layout.as_ref(), events()) {
        let body = encoder
            .encode(&table, &mut records.iter().map(|r| r.as_bytes()))
            .unwrap();
        let back = records_of(&body).unwrap();
        assert_eq!(back.len(), records.len(), "{table}");
        for (record, back) in records.iter().zip(&back) {
            let record: Value = serde_json::from_str(record).unwrap();
            assert_eq!(&record, back, "{table}");
        }
        total += back.len();
    }
    assert_eq!(total, events().len());
}

#[test]
fn objects_are_zstd_with_small_pages_and_sorted_by_time() {
    let layout = ocsf_layout();
    let encoder = ParquetEncoder::new(layout.clone());
    let tables = by_table(layout.as_ref(), events());
    let (table, records) = tables
        .iter()
        .max_by_key(|(_, records)| records.len())
        .unwrap();
    let body = encoder
        .encode(table, &mut records.iter().map(|r| r.as_bytes()))
        .unwrap();
    let reader = SerializedFileReader::new(bytes::Bytes::from(body)).unwrap();
    let metadata = reader.metadata();
    let schema = metadata.file_metadata().schema_descr();
    let time = schema
        .columns()
        .iter()
        .position(|c| c.path().parts() == ["time"])
        .unwrap();
    let mut pages = 0;
    for g in 0..reader.num_row_groups() {
        let group = metadata.row_group(g);
        let sorting = group.sorting_columns().expect("sorting columns");
        assert_eq!(sorting.len(), 1);
        assert_eq!(sorting[0].column_idx as usize, time);
        assert!(!sorting[0].descending);
        assert!(group.compressed_size() < 256_000_000);
        for column in group.columns() {
            assert!(matches!(column.compression(), Compression::ZSTD(_)));
        }
        let row_group = reader.get_row_group(g).unwrap();
        for c in 0..row_group.num_columns() {
            let mut reader = row_group.get_column_page_reader(c).unwrap();
            while let Some(page) = reader.get_next_page().unwrap() {
                if page.page_type() == PageType::DATA_PAGE {
                    let path = row_group.metadata().column(c).column_path().string();
                    let size = page.buffer().len();
                    assert!(size <= 1_000_000, "a data page of {size} bytes in {path}");
                    pages += 1;
                }
            }
        }
    }
    assert!(pages > 0);
}

#[test]
fn slack_entries_go_as_ndjson_gz_byte_for_byte() {
    let layout = layout_for(Format::Slack, &s3(ObjectFormat::NdjsonGz)).unwrap();
    assert_eq!(layout.tables().len(), 1);
    assert_eq!(&*layout.tables()[0].table, "audit_logs");
    assert!(layout.tables()[0].schema.is_none());
    let entries: Vec<String> = all_inputs().into_iter().map(|(_, e)| e).collect();
    for entry in &entries {
        assert_eq!(
            &*layout.place(entry.as_bytes()).unwrap().table,
            "audit_logs"
        );
    }
    let body = NdjsonGzEncoder::new()
        .encode("audit_logs", &mut entries.iter().map(|e| e.as_bytes()))
        .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    let expected: String = entries.iter().map(|e| format!("{e}\n")).collect();
    assert_eq!(text, expected);
    assert!(
        ParquetEncoder::new(layout)
            .encode("audit_logs", &mut entries.iter().map(|e| e.as_bytes()))
            .is_err()
    );
}

fn refusal(format: Format, target: Target) -> String {
    match layout_for(format, &target) {
        Err(ConfigError::Invalid(violations)) => violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("; "),
        Err(other) => panic!("not a config violation: {other}"),
        Ok(_) => panic!("{format:?} to {target:?} was accepted"),
    }
}

#[test]
fn a_target_the_format_cannot_go_to_is_refused_naming_the_setting() {
    let v1_8 = Format::Ocsf(OcsfVersion::V1_8_0);
    let said = refusal(v1_8, security_lake());
    assert!(
        said.contains(
            "Security Lake accepts OCSF 1.3 and earlier for custom sources; set \
             settings.ocsf_version to 1.3.0"
        ),
        "{said}"
    );
    assert!(refusal(v1_8, s3(ObjectFormat::Parquet)).contains("settings.ocsf_version"));
    let said = refusal(Format::Slack, security_lake());
    assert!(said.contains("settings.record_format"), "{said}");
    let said = refusal(Format::Slack, s3(ObjectFormat::Parquet));
    assert!(
        said.contains("cannot be Parquet") && said.contains("ndjson_gz"),
        "{said}"
    );

    // What can go: OCSF 1.8.0 as NDJSON.gz (tables without schemas).
    let layout = layout_for(v1_8, &s3(ObjectFormat::NdjsonGz)).unwrap();
    assert_eq!(layout.tables().len(), 10);
    assert!(layout.tables().iter().all(|t| t.schema.is_none()));

    // Through the input itself, from its settings.
    let input = |settings: Value| {
        SlackAuditInput::from_config(Config {
            settings: serde_json::from_value(settings).unwrap(),
            secrets: Default::default(),
        })
        .unwrap()
    };
    let slack = input(serde_json::json!({"use_synthetic_data": true}));
    assert!(slack.lake_layout(&security_lake()).is_err());
    assert!(slack.lake_layout(&s3(ObjectFormat::NdjsonGz)).is_ok());
    let ocsf = input(serde_json::json!({
        "use_synthetic_data": true, "record_format": "ocsf", "ocsf_version": "1.3.0"
    }));
    assert_eq!(
        ocsf.lake_layout(&security_lake()).unwrap().tables().len(),
        10
    );
    let ocsf_1_8 = input(serde_json::json!({"use_synthetic_data": true, "record_format": "ocsf"}));
    assert!(ocsf_1_8.lake_layout(&security_lake()).is_err());
}
