//! Front-end layer: JSON Schemas as Airbyte hosts read them.
//!
//! The generated schemas (config and record) are draft 2020-12 with shared definitions under
//! `$defs`. Airbyte hosts want less: the platform validates with a draft-07 validator and its UI
//! reads fields in place, and PyAirbyte's caches build table columns from each top-level
//! property's `type` without resolving references. [`for_airbyte`] therefore returns the same
//! constraints in that shape:
//!
//! - every local `$ref` (`#/$defs/Name`) is replaced by the definition it names (keywords beside
//!   the `$ref`, such as a `description`, win); `$defs` is dropped. A definition that refers to
//!   itself is left permissive (`{}`) below its first level rather than expanded forever;
//! - a nullable subschema `anyOf: [S, {"type": "null"}]`, where `S` has a `type`, becomes `S`
//!   with `"null"` added to its `type` (the same set of values, in the form hosts understand);
//! - every field marked `writeOnly` (a secret) also gets `"airbyte_secret": true`, so hosts mask
//!   it;
//! - `$schema` says draft-07: what remains uses only draft-07 keywords (the tests check it).
//!
//! Two more steps make a schema what Airbyte's acceptance rules accept, applied where the
//! schema is shown to a host (the native CLI keeps its strict schemas):
//!
//! - [`open`]: every `additionalProperties: false` becomes `true` (the connection
//!   specification and record schemas). A host must be able to keep a config written for a
//!   later version (a key removed must not make it invalid); the Airbyte front end ignores
//!   unknown config keys with a warning naming them ([`super::lenient_config`]).
//! - [`for_records`]: a record schema describes, it does not police: the conditional and
//!   negated parts (`allOf`, `if`/`then`/`else`, `not`) are dropped and an object-valued
//!   `additionalProperties` (a map's value schema) becomes `true`. Destinations build columns
//!   from `properties` and `type`; those stay as they were.

use serde_json::{Map, Value, json};

const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

/// The schema `schema` in the shape Airbyte hosts read (see the module doc).
pub fn for_airbyte(mut schema: Value) -> Value {
    let defs = match schema.as_object_mut() {
        Some(root) => {
            let mut defs = root
                .remove("$defs")
                .and_then(|d| d.as_object().cloned())
                .unwrap_or_default();
            if let Some(Value::Object(more)) = root.remove("definitions") {
                defs.extend(more);
            }
            defs
        }
        None => Map::new(),
    };
    let mut out = rewrite(&schema, &defs, &mut Vec::new());
    if let Some(root) = out.as_object_mut() {
        root.insert("$schema".into(), Value::String(DRAFT_07.into()));
    }
    out
}

/// `schema` with every `additionalProperties: false` turned into `true`, at any depth.
pub fn open(mut schema: Value) -> Value {
    open_in_place(&mut schema);
    schema
}

fn open_in_place(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.insert("additionalProperties".into(), Value::Bool(true));
            }
            map.values_mut().for_each(open_in_place);
        }
        Value::Array(items) => items.iter_mut().for_each(open_in_place),
        _ => {}
    }
}

/// Keywords of a record schema that constrain without describing a column, dropped by
/// [`for_records`].
const RECORD_CONDITIONALS: &[&str] = &["allOf", "if", "then", "else", "not"];

/// A record schema in the shape Airbyte hosts and their acceptance rules read: [`for_airbyte`],
/// then [`open`], without conditionals and with `additionalProperties` only ever `true` (see
/// the module doc).
pub fn for_records(schema: Value) -> Value {
    let mut schema = open(for_airbyte(schema));
    describe_only(&mut schema, true);
    schema
}

/// Drops the conditional keywords of a schema node and of every subschema below it. `is_schema`
/// is false for the maps whose values are schemas but whose keys are names (`properties`).
fn describe_only(node: &mut Value, is_schema: bool) {
    match node {
        Value::Object(map) => {
            if is_schema {
                for keyword in RECORD_CONDITIONALS {
                    map.remove(*keyword);
                }
                if map
                    .get("additionalProperties")
                    .is_some_and(Value::is_object)
                {
                    map.insert("additionalProperties".into(), Value::Bool(true));
                }
            }
            for (key, value) in map.iter_mut() {
                let names = is_schema && matches!(key.as_str(), "properties" | "patternProperties");
                describe_only(value, !names);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| describe_only(v, true)),
        _ => {}
    }
}

fn definition_name(reference: &str) -> Option<&str> {
    reference
        .strip_prefix("#/$defs/")
        .or_else(|| reference.strip_prefix("#/definitions/"))
}

fn rewrite(node: &Value, defs: &Map<String, Value>, stack: &mut Vec<String>) -> Value {
    match node {
        Value::Object(map) => {
            let mut out = match map.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let resolved = definition_name(reference)
                        .and_then(|name| defs.get(name).map(|def| (name, def)));
                    match resolved {
                        Some((name, _)) if stack.iter().any(|s| s == name) => Map::new(),
                        Some((name, def)) => {
                            stack.push(name.to_owned());
                            let expanded = rewrite(def, defs, stack);
                            stack.pop();
                            match expanded {
                                Value::Object(m) => m,
                                _ => Map::new(),
                            }
                        }
                        // Not a local definition: left as it is.
                        None => {
                            let mut m = Map::new();
                            m.insert("$ref".into(), Value::String(reference.into()));
                            m
                        }
                    }
                }
                None => Map::new(),
            };
            for (key, value) in map {
                if key == "$ref" {
                    continue;
                }
                out.insert(key.clone(), rewrite(value, defs, stack));
            }
            collapse_nullable(&mut out);
            if out.get("writeOnly") == Some(&Value::Bool(true)) {
                out.insert("airbyte_secret".into(), Value::Bool(true));
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| rewrite(v, defs, stack)).collect())
        }
        other => other.clone(),
    }
}

/// `anyOf: [S, {"type": "null"}]` (either order) → `S` with `"null"` in its `type`.
fn collapse_nullable(node: &mut Map<String, Value>) {
    let Some(Value::Array(options)) = node.get("anyOf") else {
        return;
    };
    if options.len() != 2 {
        return;
    }
    let is_null = |v: &Value| v == &json!({"type": "null"});
    let schema = match (is_null(&options[0]), is_null(&options[1])) {
        (true, false) => &options[1],
        (false, true) => &options[0],
        _ => return,
    };
    let Some(schema) = schema.as_object() else {
        return;
    };
    let types = match schema.get("type") {
        Some(Value::String(t)) => vec![Value::String(t.clone()), json!("null")],
        Some(Value::Array(ts)) => {
            let mut ts = ts.clone();
            if !ts.contains(&json!("null")) {
                ts.push(json!("null"));
            }
            ts
        }
        _ => return,
    };
    let schema = schema.clone();
    node.remove("anyOf");
    for (key, value) in schema {
        // The outer keywords (description, default, …) win over the inner ones.
        node.entry(key).or_insert(value);
    }
    node.insert("type".into(), Value::Array(types));
}

/// Every keyword a draft-07 schema may use (validation, annotations, and `airbyte_secret`).
const DRAFT_07_KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "readOnly",
    "writeOnly",
    "airbyte_secret",
    "type",
    "enum",
    "const",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "format",
    "items",
    "additionalItems",
    "maxItems",
    "minItems",
    "uniqueItems",
    "contains",
    "maxProperties",
    "minProperties",
    "required",
    "properties",
    "patternProperties",
    "additionalProperties",
    "dependencies",
    "propertyNames",
    "if",
    "then",
    "else",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "contentMediaType",
    "contentEncoding",
];

/// The keywords of `schema` (walked where subschemas sit) that draft-07 does not know, as
/// JSON pointers: empty for a schema every Airbyte host reads the same way.
pub fn keywords_outside_draft_07(schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(schema, "", &mut found);
    found
}

fn walk(schema: &Value, at: &str, found: &mut Vec<String>) {
    let Some(map) = schema.as_object() else {
        return;
    };
    for (key, value) in map {
        let here = format!("{at}/{key}");
        if !DRAFT_07_KEYWORDS.contains(&key.as_str()) {
            found.push(here.clone());
        }
        match key.as_str() {
            "properties" | "patternProperties" | "dependencies" => {
                if let Some(children) = value.as_object() {
                    for (name, child) in children {
                        walk(child, &format!("{here}/{name}"), found);
                    }
                }
            }
            "items" | "allOf" | "anyOf" | "oneOf" => match value {
                Value::Array(children) => {
                    for (i, child) in children.iter().enumerate() {
                        walk(child, &format!("{here}/{i}"), found);
                    }
                }
                child => walk(child, &here, found),
            },
            "additionalProperties"
            | "additionalItems"
            | "contains"
            | "propertyNames"
            | "not"
            | "if"
            | "then"
            | "else" => walk(value, &here, found),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn references_are_inlined_nullables_collapsed_and_secrets_marked() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "settings": {"$ref": "#/$defs/Settings"},
                "secrets": {"$ref": "#/$defs/Secrets", "description": "outer wins"},
                "maybe": {"anyOf": [{"$ref": "#/$defs/Inner"}, {"type": "null"}], "description": "d"},
                "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            },
            "$defs": {
                "Settings": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}},
                "Secrets": {"type": "object", "description": "inner", "properties": {
                    "token": {"type": ["string", "null"], "writeOnly": true}
                }},
                "Inner": {"type": "object", "properties": {"deep": {"$ref": "#/$defs/Settings"}}},
            }
        });
        let out = for_airbyte(schema);
        assert_eq!(out["$schema"], json!(DRAFT_07));
        assert!(out.get("$defs").is_none());
        assert!(!out.to_string().contains("$ref"), "{out}");
        assert_eq!(
            out["properties"]["settings"]["properties"]["n"],
            json!({"type": "integer", "minimum": 1})
        );
        assert_eq!(
            out["properties"]["secrets"]["description"],
            json!("outer wins")
        );
        assert_eq!(
            out["properties"]["secrets"]["properties"]["token"]["airbyte_secret"],
            json!(true)
        );
        let maybe = &out["properties"]["maybe"];
        assert_eq!(maybe["type"], json!(["object", "null"]));
        assert_eq!(maybe["description"], json!("d"));
        assert_eq!(
            maybe["properties"]["deep"]["properties"]["n"]["type"],
            json!("integer")
        );
        assert!(maybe.get("anyOf").is_none());
        // A true union stays a union.
        assert_eq!(
            out["properties"]["either"]["anyOf"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        assert_eq!(keywords_outside_draft_07(&out), Vec::<String>::new());
    }

    #[test]
    fn a_self_referencing_definition_terminates() {
        let schema = json!({
            "type": "object",
            "properties": {"node": {"$ref": "#/$defs/Node"}},
            "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}
        });
        let out = for_airbyte(schema);
        assert_eq!(out["properties"]["node"]["type"], json!("object"));
        assert_eq!(out["properties"]["node"]["properties"]["next"], json!({}));
    }

    #[test]
    fn the_keyword_check_sees_what_draft_07_lacks() {
        let schema =
            json!({"type": "object", "properties": {"a": {"prefixItems": [], "$defs": {}}}});
        assert_eq!(
            keywords_outside_draft_07(&schema),
            vec![
                "/properties/a/$defs".to_owned(),
                "/properties/a/prefixItems".to_owned()
            ]
        );
    }

    #[test]
    fn open_turns_every_closed_object_open() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "settings": {"type": "object", "additionalProperties": false, "properties": {}},
                "map": {"type": "object", "additionalProperties": {"type": "string"}},
            }
        });
        let out = open(schema);
        assert_eq!(out["additionalProperties"], json!(true));
        assert_eq!(
            out["properties"]["settings"]["additionalProperties"],
            json!(true)
        );
        // Only `false` is opened; a map's value schema is for [`for_records`] to judge.
        assert_eq!(
            out["properties"]["map"]["additionalProperties"],
            json!({"type": "string"})
        );
    }

    #[test]
    fn record_schemas_keep_their_columns_and_lose_their_conditions() {
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "kind": {"type": "string"},
                "not": {"type": "string", "description": "a column named like a keyword"},
                "if": {"type": "object", "properties": {"then": {"type": "integer"}}},
                "entity": {"$ref": "#/$defs/Entity"},
                "details": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "allOf": [{"if": {"properties": {"kind": {"const": "a"}}}, "then": {"required": ["a"]}}],
            "$defs": {"Entity": {
                "type": "object",
                "properties": {"user": {"type": "object", "properties": {"id": {"type": "string"}}}},
                "allOf": [{"if": {"properties": {"type": {"const": "user"}}}, "then": {"required": ["user"]}}],
                "not": {"required": ["both"]},
            }},
        });
        let out = for_records(schema);
        let text = out.to_string();
        assert!(
            !text.contains("allOf") && !text.contains("\"then\":{\"req"),
            "{out}"
        );
        assert!(out.get("allOf").is_none());
        assert!(out["properties"]["entity"].get("allOf").is_none());
        assert!(out["properties"]["entity"].get("not").is_none());
        // Columns named like keywords are columns, kept with their own properties.
        assert_eq!(out["properties"]["not"]["type"], json!("string"));
        assert_eq!(
            out["properties"]["if"]["properties"]["then"]["type"],
            json!("integer")
        );
        assert_eq!(
            out["properties"]["entity"]["properties"]["user"]["properties"]["id"]["type"],
            json!("string")
        );
        assert_eq!(out["additionalProperties"], json!(true));
        assert_eq!(
            out["properties"]["details"]["additionalProperties"],
            json!(true)
        );
        assert_eq!(keywords_outside_draft_07(&out), Vec::<String>::new());
    }
}
