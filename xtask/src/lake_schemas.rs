//! The lake's fixed Arrow schema of each OCSF class the Slack mapping emits, derived from the
//! committed OCSF class schema (`schemas/ocsf/<version>/<class>.<profiles>.schema.json`, with
//! the widest profile set the class's events may declare, so every event of the class fits)
//! and written as a column list (`connector_sdk::runtime::lake::column_list`) into
//! `schemas/lake/<version>/<class>.arrow.json` by `cargo xtask schema` (and checked by the test
//! suite like the other generated files), so a change of a derived schema shows in review.
//!
//! The derivation, never looking at data:
//! - an object with properties is a struct of them (sorted by name), an array a list of its
//!   items; `string`, `integer`, `number`, `boolean` are `utf8`, `int64` (OCSF's `int_t`,
//!   `long_t` and `timestamp_t`, milliseconds, all fit), `float64`, `boolean`;
//! - an object without fixed properties (`unmapped`, `object_t`, a value of any type) is
//!   `json`: JSON text;
//! - an object met again inside itself (a process's parent process, a user's manager…) is
//!   `json` there, and so is any object more than [`MAX_DEPTH`] objects deep: a row stays a
//!   few hundred to a few thousand columns, and what the mapping writes is all above the cut
//!   (`slack-audit`'s lake tests check every field the encoder emits is a column);
//! - then only the columns the mapping can fill are kept: those whose every path segment is a
//!   member name the mapping writes ([`slack_audit::ocsf::WRITTEN_KEYS`]). A class schema has
//!   686 to 1,451 leaf columns and an event fills 35 to 60 of them; Arrow and Parquet pay for
//!   every column on every row (and in every object's footer), so the full tables cost five
//!   times the CPU and twice the memory of these (BENCHMARKS.md). A column the mapping starts
//!   writing later is added to the table, which Glue's crawler takes as a new column.

use std::collections::HashMap;

use anyhow::{Context, bail};
use connector_sdk::runtime::lake::column_list::{ColumnList, ColumnType};
use serde_json::Value;
use slack_audit::ocsf::OcsfVersion;

/// How many objects deep a column may be (`actor.user.org` is three): deeper objects are JSON
/// text. The mapping's deepest object is three deep (`evidences[].actor.user` of a Detection
/// Finding); a fourth level would add half as many columns again (1,451 to 2,472 for Detection
/// Finding) that nothing fills.
pub const MAX_DEPTH: usize = 3;

/// The derived schema of every class the mapping emits in `version`: the file's name under
/// `schemas/`, and its content.
pub fn generated(version: OcsfVersion) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (class, profiles) in slack_audit::lake::ocsf_tables::widest_schema_sets(version) {
        let source = format!(
            "ocsf/{}/{}",
            version.as_str(),
            slack_audit::ocsf::schema_file(class.name, profiles)
        );
        let path = crate::workspace_root().join("schemas").join(&source);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let schema: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let columns = derive(&schema).with_context(|| format!("deriving from {source}"))?;
        let columns = keep_written(columns, slack_audit::ocsf::WRITTEN_KEYS);
        let name = slack_audit::lake::ocsf_tables::arrow_file(version, class.name);
        out.push((name, render(class.name, version, &source, &columns)));
    }
    Ok(out)
}

/// The file: what it is, where it comes from, and its columns.
fn render(table: &str, version: OcsfVersion, source: &str, columns: &ColumnList) -> String {
    let columns = columns.to_json().replace('\n', "\n  ");
    format!(
        "{{\n  \"table\": \"{table}\",\n  \"ocsf_version\": \"{}\",\n  \"derived_from\": \
         \"schemas/{source}\",\n  \"max_depth\": {MAX_DEPTH},\n  \"kept\": \"the columns made of member names the \
         mapping writes (slack_audit::ocsf::WRITTEN_KEYS)\",\n  \"columns\": {columns}\n}}\n",
        version.as_str()
    )
}

/// The columns of `columns` whose every path segment (`a`, `b` and `c` of `a.b[].c`) is one of
/// `keys`.
pub fn keep_written(columns: ColumnList, keys: &[&str]) -> ColumnList {
    ColumnList {
        columns: columns
            .columns
            .into_iter()
            .filter(|(path, _)| {
                path.split('.')
                    .all(|segment| keys.contains(&segment.trim_end_matches("[]")))
            })
            .collect(),
    }
}

/// The columns of the class whose JSON Schema is `schema`.
pub fn derive(schema: &Value) -> anyhow::Result<ColumnList> {
    let empty = serde_json::Map::new();
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut walk = Walk {
        defs: defs.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        bail!("the class schema has no properties");
    };
    walk.properties(properties, "")?;
    Ok(ColumnList { columns: walk.out })
}

struct Walk<'s> {
    defs: HashMap<&'s str, &'s Value>,
    /// The objects (`$defs` names) the current path goes through.
    stack: Vec<&'s str>,
    out: Vec<(String, ColumnType)>,
}

impl<'s> Walk<'s> {
    fn properties(
        &mut self,
        properties: &'s serde_json::Map<String, Value>,
        prefix: &str,
    ) -> anyhow::Result<()> {
        let mut names: Vec<&String> = properties.keys().collect();
        names.sort();
        for name in names {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            self.node(&properties[name], path)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &'s Value, path: String) -> anyhow::Result<()> {
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let Some(name) = reference.strip_prefix("#/$defs/") else {
                bail!("{path}: reference {reference} is not to $defs");
            };
            let Some(def) = self.defs.get(name).copied() else {
                bail!("{path}: $defs has no {name}");
            };
            let is_object = def.get("type").and_then(Value::as_str) == Some("object");
            let closed = def
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| !p.is_empty());
            if is_object && closed && (self.stack.contains(&name) || self.stack.len() >= MAX_DEPTH)
            {
                self.out.push((path, ColumnType::Json));
                return Ok(());
            }
            self.stack.push(name);
            let result = self.node(def, path);
            self.stack.pop();
            return result;
        }
        let column = match node.get("type") {
            Some(Value::String(t)) => match t.as_str() {
                "object" => match node.get("properties").and_then(Value::as_object) {
                    Some(properties) if !properties.is_empty() => {
                        return self.properties(properties, &path);
                    }
                    _ => ColumnType::Json,
                },
                "array" => {
                    let Some(items) = node.get("items") else {
                        bail!("{path}: an array without items");
                    };
                    return self.node(items, format!("{path}[]"));
                }
                "string" => ColumnType::Utf8,
                "integer" => ColumnType::Int64,
                "number" => ColumnType::Float64,
                "boolean" => ColumnType::Boolean,
                other => bail!("{path}: type {other:?} has no column type"),
            },
            // Any of several types (OCSF's `json_t`), or none said: JSON text.
            _ => ColumnType::Json,
        };
        self.out.push((path, column));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn columns(schema: Value) -> Vec<(String, &'static str)> {
        derive(&schema)
            .unwrap()
            .columns
            .into_iter()
            .map(|(p, t)| (p, t.as_str()))
            .collect()
    }

    #[test]
    fn objects_lists_types_and_free_form_values() {
        let schema = json!({
            "properties": {
                "time": {"type": "integer"},
                "name": {"type": "string"},
                "score": {"type": "number"},
                "ok": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "unmapped": {"$ref": "#/$defs/object"},
                "data": {"type": ["object", "string", "null"]},
                "user": {"$ref": "#/$defs/user"},
                "users": {"type": "array", "items": {"$ref": "#/$defs/user"}}
            },
            "$defs": {
                "object": {"type": "object", "properties": {}, "additionalProperties": true},
                "user": {"type": "object", "properties": {
                    "uid": {"type": "string"}, "attrs": {"$ref": "#/$defs/object"}
                }}
            }
        });
        assert_eq!(
            columns(schema),
            [
                ("data", "json"),
                ("name", "utf8"),
                ("ok", "boolean"),
                ("score", "float64"),
                ("tags[]", "utf8"),
                ("time", "int64"),
                ("unmapped", "json"),
                ("user.attrs", "json"),
                ("user.uid", "utf8"),
                ("users[].attrs", "json"),
                ("users[].uid", "utf8"),
            ]
            .map(|(p, t)| (p.to_owned(), t))
        );
    }

    #[test]
    fn only_columns_made_of_written_names_are_kept() {
        let columns = ColumnList {
            columns: [
                ("time", ColumnType::Int64),
                ("actor.user.uid", ColumnType::Utf8),
                ("actor.user.groups[].uid", ColumnType::Utf8),
                ("actor.process.pid", ColumnType::Int64),
                ("resources[].uid", ColumnType::Utf8),
                ("unmapped", ColumnType::Json),
                ("count", ColumnType::Int64),
            ]
            .into_iter()
            .map(|(p, t)| (p.to_owned(), t))
            .collect(),
        };
        let kept = keep_written(
            columns,
            &["time", "actor", "user", "uid", "resources", "unmapped"],
        );
        let paths: Vec<&str> = kept.columns.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["time", "actor.user.uid", "resources[].uid", "unmapped"]
        );
    }

    #[test]
    fn recursion_and_depth_are_cut_into_json_text() {
        // A process's parent is a process: one level of struct, then JSON text.
        let mut defs = serde_json::Map::new();
        defs.insert(
            "process".into(),
            json!({"type": "object", "properties": {
                "pid": {"type": "integer"},
                "parent_process": {"$ref": "#/$defs/process"},
                "d1": {"$ref": "#/$defs/d1"}
            }}),
        );
        // A chain d1 → d2 → … deeper than MAX_DEPTH.
        for i in 1..=MAX_DEPTH + 2 {
            defs.insert(
                format!("d{i}"),
                json!({"type": "object", "properties": {
                    "v": {"type": "string"},
                    "next": {"$ref": format!("#/$defs/d{}", i + 1)}
                }}),
            );
        }
        defs.insert(format!("d{}", MAX_DEPTH + 3), json!({"type": "string"}));
        let schema = json!({"properties": {"process": {"$ref": "#/$defs/process"}}, "$defs": defs});
        let got = columns(schema);
        assert!(
            got.contains(&("process.parent_process".to_owned(), "json")),
            "{got:?}"
        );
        assert!(got.contains(&("process.pid".to_owned(), "int64")));
        // process is depth 1, d1 depth 2, …: the object at depth MAX_DEPTH + 1 is JSON text.
        let deepest = format!("process.d1{}", ".next".repeat(MAX_DEPTH - 2));
        assert!(got.contains(&(format!("{deepest}.v"), "utf8")), "{got:?}");
        assert!(
            got.contains(&(format!("{deepest}.next"), "json")),
            "{got:?}"
        );
        assert_eq!(
            got.iter().filter(|(_, t)| *t == "json").count(),
            2,
            "{got:?}"
        );
    }
}
