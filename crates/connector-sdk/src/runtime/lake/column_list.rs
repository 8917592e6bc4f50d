//! Runtime layer: a table's fixed Arrow schema written as the list of its leaf columns, one
//! `"path": "type"` pair a line, so a generated, committed schema reads (and diffs) column by
//! column.
//!
//! A path names struct fields with `.` and list items with `[]`: `actor.user.uid`,
//! `resources[].name`, `metadata.profiles[]`. The types are `utf8`, `int64`, `float64`,
//! `boolean`, and `json`: a `Utf8` column holding JSON text, for values with no fixed shape
//! (Arrow field metadata [`ENCODING_KEY`] = [`JSON_ENCODING`] marks it, in the Parquet file
//! too, so a reader knows to parse it). Every field is nullable. Structs and lists are implied
//! by the paths: fields keep the order of the list.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema};

/// The Arrow field metadata key saying how a `Utf8` column's text is to be read.
pub const ENCODING_KEY: &str = "lake.encoding";
/// [`ENCODING_KEY`]'s value for a column holding JSON text (a value with no fixed shape).
pub const JSON_ENCODING: &str = "json";

/// The type of one leaf column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// A string.
    Utf8,
    /// A 64-bit signed integer.
    Int64,
    /// A 64-bit float.
    Float64,
    /// A boolean.
    Boolean,
    /// JSON text (a `Utf8` column marked [`JSON_ENCODING`]).
    Json,
}

impl ColumnType {
    /// The type's name in a column list.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Utf8 => "utf8",
            ColumnType::Int64 => "int64",
            ColumnType::Float64 => "float64",
            ColumnType::Boolean => "boolean",
            ColumnType::Json => "json",
        }
    }

    fn parse(name: &str) -> Option<ColumnType> {
        [
            ColumnType::Utf8,
            ColumnType::Int64,
            ColumnType::Float64,
            ColumnType::Boolean,
            ColumnType::Json,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }
}

/// Why a column list does not describe a schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column list: {0}")]
pub struct ColumnListError(pub String);

/// A schema's leaf columns, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ColumnList {
    /// Each leaf column: its path and type.
    pub columns: Vec<(String, ColumnType)>,
}

/// A node of the tree the paths describe.
enum Node {
    Leaf(ColumnType),
    Struct(Vec<(String, Node)>),
    List(Box<Node>),
}

impl ColumnList {
    /// The list as JSON text: an object of `"path": "type"`, one column a line, in order.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\n");
        for (i, (path, ty)) in self.columns.iter().enumerate() {
            let comma = if i + 1 < self.columns.len() { "," } else { "" };
            // Writing a string's JSON form cannot fail.
            let key = serde_json::to_string(path).unwrap_or_default();
            out.push_str(&format!("  {key}: \"{}\"{comma}\n", ty.as_str()));
        }
        out.push('}');
        out
    }

    /// Reads a list written by [`ColumnList::to_json`] (any JSON object of `"path": "type"`),
    /// keeping its order.
    pub fn from_json(text: &str) -> Result<ColumnList, ColumnListError> {
        let pairs: OrderedPairs = serde_json::from_str(text)
            .map_err(|e| ColumnListError(format!("not an object of \"path\": \"type\": {e}")))?;
        let mut columns = Vec::with_capacity(pairs.0.len());
        for (path, ty) in pairs.0 {
            let Some(ty) = ColumnType::parse(&ty) else {
                return Err(ColumnListError(format!(
                    "{path}: unknown type {ty:?} (utf8, int64, float64, boolean or json)"
                )));
            };
            columns.push((path, ty));
        }
        Ok(ColumnList { columns })
    }

    /// The Arrow schema the columns describe (with `metadata` on the schema).
    pub fn to_schema(&self, metadata: HashMap<String, String>) -> Result<Schema, ColumnListError> {
        let mut root = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (path, ty) in &self.columns {
            if !seen.insert(path.as_str()) {
                return Err(ColumnListError(format!("{path}: listed twice")));
            }
            insert(&mut root, path, path, *ty)?;
        }
        let fields: Vec<Field> = root
            .into_iter()
            .map(|(name, node)| to_field(name, node))
            .collect();
        Ok(Schema::new_with_metadata(fields, metadata))
    }

    /// The leaf columns of `schema` (the inverse of [`ColumnList::to_schema`] for the types a
    /// column list has).
    pub fn from_schema(schema: &Schema) -> Result<ColumnList, ColumnListError> {
        let mut columns = Vec::new();
        for field in schema.fields() {
            leaves(field, field.name().clone(), &mut columns)?;
        }
        Ok(ColumnList { columns })
    }
}

/// A JSON object's members in document order (serde_json's own map may sort them).
struct OrderedPairs(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for OrderedPairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OrderedPairs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of \"path\": \"type\"")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedPairs, A::Error> {
                let mut out = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    out.push(pair);
                }
                Ok(OrderedPairs(out))
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// Adds the column `rest` (what is left of `path`) below `fields`.
fn insert(
    fields: &mut Vec<(String, Node)>,
    path: &str,
    rest: &str,
    ty: ColumnType,
) -> Result<(), ColumnListError> {
    let (segment, tail) = match rest.split_once('.') {
        Some((segment, tail)) => (segment, Some(tail)),
        None => (rest, None),
    };
    let name = segment.trim_end_matches("[]");
    let lists = (segment.len() - name.len()) / 2;
    if name.is_empty() || name.contains(['[', ']']) || segment.len() != name.len() + 2 * lists {
        return Err(ColumnListError(format!(
            "{path}: malformed segment {segment:?}"
        )));
    }
    let position = fields.iter().position(|(n, _)| n == name);
    let slot = match position {
        Some(i) => &mut fields[i].1,
        None => {
            let mut node = match tail {
                Some(_) => Node::Struct(Vec::new()),
                None => Node::Leaf(ty),
            };
            for _ in 0..lists {
                node = Node::List(Box::new(node));
            }
            fields.push((name.to_owned(), node));
            match fields.last_mut() {
                Some((_, node)) => node,
                None => return Err(ColumnListError(format!("{path}: cannot insert"))),
            }
        }
    };
    // Down through the lists the segment names, to the item.
    let mut node = slot;
    for _ in 0..lists {
        node = match node {
            Node::List(item) => item.as_mut(),
            _ => {
                return Err(ColumnListError(format!(
                    "{path}: {name} is a list here and not elsewhere"
                )));
            }
        };
    }
    match (node, tail) {
        (Node::Struct(children), Some(tail)) => insert(children, path, tail, ty),
        (Node::Leaf(_), None) if position.is_none() => Ok(()),
        _ => Err(ColumnListError(format!(
            "{path}: {name} is both a column and a struct, or a struct and a list"
        ))),
    }
}

fn to_field(name: String, node: Node) -> Field {
    let metadata = node.metadata();
    Field::new(name, data_type(node), true).with_metadata(metadata)
}

impl Node {
    /// The field metadata of a field of this node: the JSON marker on a JSON column.
    fn metadata(&self) -> HashMap<String, String> {
        match self {
            Node::Leaf(ColumnType::Json) => {
                HashMap::from([(ENCODING_KEY.to_owned(), JSON_ENCODING.to_owned())])
            }
            _ => HashMap::new(),
        }
    }
}

fn data_type(node: Node) -> DataType {
    match node {
        Node::Leaf(ColumnType::Utf8 | ColumnType::Json) => DataType::Utf8,
        Node::Leaf(ColumnType::Int64) => DataType::Int64,
        Node::Leaf(ColumnType::Float64) => DataType::Float64,
        Node::Leaf(ColumnType::Boolean) => DataType::Boolean,
        Node::Struct(children) => DataType::Struct(Fields::from(
            children
                .into_iter()
                .map(|(name, node)| to_field(name, node))
                .collect::<Vec<_>>(),
        )),
        Node::List(item) => {
            let metadata = item.metadata();
            DataType::List(Arc::new(
                Field::new("item", data_type(*item), true).with_metadata(metadata),
            ))
        }
    }
}

/// Whether `field` holds JSON text (a [`ColumnType::Json`] column).
pub fn is_json(field: &Field) -> bool {
    field.data_type() == &DataType::Utf8
        && field.metadata().get(ENCODING_KEY).map(String::as_str) == Some(JSON_ENCODING)
}

fn leaves(
    field: &Field,
    path: String,
    out: &mut Vec<(String, ColumnType)>,
) -> Result<(), ColumnListError> {
    match field.data_type() {
        DataType::Utf8 if is_json(field) => out.push((path, ColumnType::Json)),
        DataType::Utf8 => out.push((path, ColumnType::Utf8)),
        DataType::Int64 => out.push((path, ColumnType::Int64)),
        DataType::Float64 => out.push((path, ColumnType::Float64)),
        DataType::Boolean => out.push((path, ColumnType::Boolean)),
        DataType::Struct(children) => {
            for child in children {
                leaves(child, format!("{path}.{}", child.name()), out)?;
            }
        }
        DataType::List(item) => leaves(item, format!("{path}[]"), out)?,
        other => {
            return Err(ColumnListError(format!(
                "{path}: type {other} has no place in a column list"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn list(columns: &[(&str, ColumnType)]) -> ColumnList {
        ColumnList {
            columns: columns.iter().map(|(p, t)| ((*p).to_owned(), *t)).collect(),
        }
    }

    #[test]
    fn paths_become_nested_structs_and_lists_and_back() {
        let columns = list(&[
            ("time", ColumnType::Int64),
            ("actor.user.uid", ColumnType::Utf8),
            ("actor.user.type_id", ColumnType::Int64),
            ("actor.app_name", ColumnType::Utf8),
            ("resources[].name", ColumnType::Utf8),
            ("resources[].data", ColumnType::Json),
            ("metadata.profiles[]", ColumnType::Utf8),
            ("matrix[][]", ColumnType::Float64),
            ("unmapped", ColumnType::Json),
            ("is_alert", ColumnType::Boolean),
        ]);
        let schema = columns.to_schema(HashMap::new()).unwrap();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "time",
                "actor",
                "resources",
                "metadata",
                "matrix",
                "unmapped",
                "is_alert"
            ]
        );
        let DataType::Struct(actor) = schema.field(1).data_type() else {
            panic!("actor is a struct");
        };
        assert_eq!(actor.len(), 2, "user and app_name");
        let DataType::List(item) = schema.field(2).data_type() else {
            panic!("resources is a list");
        };
        let DataType::Struct(resource) = item.data_type() else {
            panic!("of structs");
        };
        assert!(is_json(&resource[1]), "resources[].data is JSON text");
        assert!(is_json(schema.field(5)));
        assert!(!is_json(schema.field(0)));
        assert_eq!(ColumnList::from_schema(&schema).unwrap(), columns);

        let text = columns.to_json();
        assert!(
            text.contains("\n  \"resources[].data\": \"json\",\n"),
            "{text}"
        );
        assert_eq!(ColumnList::from_json(&text).unwrap(), columns);
    }

    #[test]
    fn malformed_lists_are_refused_naming_the_column() {
        for (columns, word) in [
            (
                list(&[("a", ColumnType::Utf8), ("a.b", ColumnType::Utf8)]),
                "a.b",
            ),
            (
                list(&[("a.b", ColumnType::Utf8), ("a", ColumnType::Utf8)]),
                "a:",
            ),
            (
                list(&[("a[].b", ColumnType::Utf8), ("a.c", ColumnType::Utf8)]),
                "a.c",
            ),
            (
                list(&[("a", ColumnType::Utf8), ("a", ColumnType::Int64)]),
                "listed twice",
            ),
            (list(&[("a..b", ColumnType::Utf8)]), "malformed"),
            (list(&[("a[x]", ColumnType::Utf8)]), "malformed"),
        ] {
            let err = columns.to_schema(HashMap::new()).unwrap_err().to_string();
            assert!(err.contains(word), "{err} lacks {word}");
        }
        let err = ColumnList::from_json(r#"{"a": "int32"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown type \"int32\""), "{err}");
    }
}
